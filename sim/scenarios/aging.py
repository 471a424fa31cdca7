"""Aged vs fresh particle (Wang 2021): one charge/discharge cycle of each, compare stresses and overpotential.

Wang 2021: after 200 cycles the unit-cell volume change over a cycle grows from 1.1 % to 2.0 %, GITT
D_Li drops, the reaction overpotential rises (up to ~100 mV), and deactivated (Mn-reduced) regions form
on particle surfaces and near pores. The two parameter sets (``wang2021``, ``wang2021_aged``) carry
ΔV/V0(x), D and i0; the deactivated shell is a region of thickness δ next to the outer surface and
the pore surfaces where D is multiplied by a factor f < 1 (:func:`shell_scale`).

Reported per particle: bridge-point hoop stress and domain maximum of von Mises stress over the
cycle, particle volume change over the cycle (small strain: ΔV/V = ∫ div u dV / V), and the
polarisation η̄ = φ_s − U(x̄) (particle potential minus the OCV at the mean Li fraction) averaged
over 40–60 % DOD of the discharge.
"""
from __future__ import annotations


import numpy as np

from sim.errors import InputError


def shell_scale(geometry, thickness: float, factor: float, kind: str):
    """D multiplier as a function of mesh coordinates X (3, N): ``factor`` within ``thickness`` (m) of the
    outer surface or of a pore surface, 1 elsewhere (Wang 2021: deactivated regions at surfaces and pores).

    ``kind`` is the mesh kind: radial X[0] = r; axisym (X[0], X[1]) = (r, z); 3d Cartesian.
    """
    def scale(X):
        if kind == "radial":
            pts = np.column_stack([X[0], 0 * X[0], 0 * X[0]])
        elif kind == "axisym":
            pts = np.column_stack([X[0], 0 * X[0], X[1]])
        else:
            pts = X[:3].T
        near = np.linalg.norm(pts, axis=1) > geometry.particle_radius - thickness
        if kind != "radial":
            for pore in geometry.pores:
                near |= np.linalg.norm(pts - np.asarray(pore.centre), axis=1) < pore.radius + thickness
        return np.where(near, factor, 1.0)

    return scale


class VolumeChange:
    """ΔV/V of the particle material from the displacement: ∫ w div u dx / ∫ w dx (geometry weights w)."""

    def __init__(self, problem):
        import ufl
        from dolfinx import fem

        from sim.lithium.transport import geometry_weights

        pm, u = problem.pmesh, problem.u
        X = ufl.SpatialCoordinate(pm.mesh)
        w = geometry_weights(pm).weight
        if pm.kind == "radial":     # r² div u = r² u' + 2 r u
            integrand = X[0] ** 2 * u.dx(0) + 2 * X[0] * u
        elif pm.kind == "axisym":   # r div u = r ∂r u_r + u_r + r ∂z u_z
            integrand = X[0] * u[0].dx(0) + u[0] + X[0] * u[1].dx(1)
        else:
            integrand = ufl.div(u)
        dx = ufl.Measure("dx", domain=pm.mesh, metadata={"quadrature_degree": 6})
        self._num, self._den = fem.form(integrand * dx), fem.form(w * dx)
        self.comm = pm.comm

    def __call__(self, problem=None) -> float:
        from dolfinx import fem

        num = self.comm.allreduce(fem.assemble_scalar(self._num))
        return num / self.comm.allreduce(fem.assemble_scalar(self._den))


def _max_field(problem, name: str) -> float:
    from mpi4py import MPI

    f = problem.stress_fields()[name]
    n = f.function_space.dofmap.index_map.size_local * f.function_space.dofmap.index_map_bs
    local = float(np.max(f.x.array[:n])) if n else -np.inf
    return problem.comm.allreduce(local, op=MPI.MAX)


def run_cycle(params, pmesh, *, c_rate: float, upper_voltage: float, lower_voltage: float, rest: float,
              scale=None):
    """Charge to full SOC (or ``upper_voltage``), rest, discharge back to the initial DOD (or ``lower_voltage``).

    Returns the trace arrays with probes ``overpotential_V``, ``volume_change``, ``von_mises_max_Pa``,
    ``hoop_max_Pa`` and, with a bridge point, ``hoop_bridge_Pa``.
    """
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Rest, Stop
    from sim.scenarios.trace import Trace

    kwargs = {"diffusivity_scale": scale} if scale is not None else {}
    problem = LithiumProblem(params, pmesh, dt_initial=1e-2, **kwargs)
    problem.initialise()
    ocv = params.kinetics.ocv
    volume = VolumeChange(problem)
    probes = {"overpotential_V": lambda p: p.potential - float(ocv(p.x_mean)), "volume_change": volume,
              "von_mises_max_Pa": lambda p: _max_field(p, "von_mises"),
              "hoop_max_Pa": lambda p: _max_field(p, "hoop")}
    bridge = problem.bridge_point()
    if bridge is not None:
        probes["hoop_bridge_Pa"] = lambda p: p.evaluate("hoop", bridge[None, :])[0]
    trace = Trace(probes)
    dod0 = problem.dod
    trace.begin(0)
    trace.record(problem)
    problem.run_step(Galvanostatic(c_rate, "charge", Stop(soc=1.0, voltage=upper_voltage)), on_step=trace)
    trace.begin(1)
    problem.run_step(Rest(Stop(time=rest)), on_step=trace)
    trace.begin(2)
    problem.run_step(Galvanostatic(c_rate, "discharge", Stop(dod=dod0, voltage=lower_voltage)), on_step=trace)
    data = trace.arrays()
    tr = params.transport
    data["dod"] = (data["x_mean"] - tr.x_min) / (tr.x_max - tr.x_min)
    return data, bridge


def _mesh(kind: str, params, comm):
    from sim.mesh import mesh_from_params

    if kind not in ("radial", "hollow", "axisym"):
        raise InputError(f"geometry {kind!r} not allowed; choose radial, hollow or axisym", key="aging.geometry")
    return mesh_from_params(params, kind, comm=comm)


def run(case, out, comm) -> dict:
    """``sim scenario`` for kind = "aging"."""
    from sim.params import load_params
    from sim.scenarios.case import write_csv

    fresh = case.load_params()
    aged_name = case.settings.get("aged_params")
    if not isinstance(aged_name, str):
        raise InputError('aged_params must name the aged parameter set, e.g. "wang2021_aged"', file=case.file,
                         key="aging.aged_params")
    aged = load_params(aged_name, case.overrides or None)
    kind = case.choice("geometry", ("radial", "hollow", "axisym"), "axisym")
    mesh_overrides = {k: v for k, v in case.settings.items() if k in ("size_outer", "size_inner")}
    kw = dict(c_rate=case.quantity("c_rate", ""), upper_voltage=case.quantity("upper_voltage", "V"),
              lower_voltage=case.quantity("lower_voltage", "V"), rest=case.quantity("rest", "s", 0.0) or 1.0)
    thickness = case.quantity("shell_thickness", "m", 0.0)
    factor = case.quantity("shell_diffusivity_factor", "", 1.0)
    if thickness > 0 and not 0 < factor <= 1:
        raise InputError(f"shell_diffusivity_factor must be in (0, 1], got {factor:g}", file=case.file,
                         key="aging.shell_diffusivity_factor")
    summary = {"geometry": kind, "shell_thickness_m": thickness, "shell_diffusivity_factor": factor,
               "particles": {}}
    runs = {}
    for label, pset in (("fresh", fresh), ("aged", aged)):
        if mesh_overrides:
            pset = pset.override({f"mesh.{k}": v for k, v in mesh_overrides.items()})
        pmesh = _mesh(kind, pset, comm)
        scale = shell_scale(pset.geometry, thickness, factor, pmesh.kind) if thickness > 0 and label == "aged" \
            else None
        data, bridge = run_cycle(pset, pmesh, scale=scale, **kw)
        runs[label] = data
        dis = data["step"] == 2
        mid = dis & (data["dod"] > 0.4) & (data["dod"] < 0.6)
        entry = {"von_mises_max_Pa": float(data["von_mises_max_Pa"].max()),
                 "hoop_max_Pa": float(data["hoop_max_Pa"].max()),
                 "volume_change_over_cycle_pct": float(np.ptp(data["volume_change"]) * 100),
                 "overpotential_discharge_mid_V": float(np.mean(data["overpotential_V"][mid])) if mid.any() else None,
                 "final_dod": float(data["dod"][-1]), "final_potential_V": float(data["potential_V"][-1])}
        if bridge is not None:
            entry["bridge_point_m"] = bridge.tolist()
            entry["hoop_bridge_max_Pa"] = float(data["hoop_bridge_Pa"].max())
        summary["particles"][label] = entry
        if comm.rank == 0:
            write_csv(out / f"cycle_{label}.csv", data)
    f, a = summary["particles"]["fresh"], summary["particles"]["aged"]
    if f["overpotential_discharge_mid_V"] is not None and a["overpotential_discharge_mid_V"] is not None:
        summary["overpotential_increase_mV"] = 1e3 * abs(a["overpotential_discharge_mid_V"]
                                                         - f["overpotential_discharge_mid_V"])
    summary["von_mises_ratio_aged_to_fresh"] = a["von_mises_max_Pa"] / f["von_mises_max_Pa"]
    if comm.rank == 0:
        _plot(runs, fresh, out, case.title)
    return summary


def _plot(runs, params, out, title) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    xs = np.linspace(params.transport.x_min, params.transport.x_max, 200)
    axes[0].plot(xs, params.kinetics.ocv(xs), "k:", label="OCV U(x)")
    for (label, d), colour in zip(runs.items(), ("C0", "C3")):
        axes[0].plot(d["x_mean"], d["potential_V"], color=colour, label=label)
        th = d["t_s"] / 3600
        axes[1].plot(th, d["von_mises_max_Pa"] / 1e6, color=colour, label=f"{label}: max von Mises")
        if "hoop_bridge_Pa" in d:
            axes[1].plot(th, d["hoop_bridge_Pa"] / 1e6, "--", color=colour, label=f"{label}: hoop at bridge point")
        axes[2].plot(th, d["volume_change"] * 100, color=colour, label=label)
    axes[0].set_xlabel("mean Li fraction x")
    axes[0].set_ylabel("particle potential (V vs Li/Li+)")
    axes[1].set_xlabel("time (h)")
    axes[1].set_ylabel("stress (MPa)")
    axes[2].set_xlabel("time (h)")
    axes[2].set_ylabel("particle volume change ΔV/V (%)")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "aged_vs_fresh.png", dpi=120)
    plt.close(fig)
