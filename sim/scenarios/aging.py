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

from dataclasses import dataclass

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
              scales=None):
    """Charge to full SOC (or ``upper_voltage``), rest, discharge back to the initial DOD (or ``lower_voltage``).

    ``scales``: the spatial multipliers of :class:`~sim.lithium.problem.LithiumProblem` (``diffusivity_scale``,
    ``capacity_scale``, ``exchange_current_scale``, ``volume_change_scale``), e.g. of a degraded particle.
    Returns the trace arrays with probes ``overpotential_V``, ``volume_change``, ``von_mises_max_Pa``,
    ``hoop_max_Pa`` and, with a bridge point, ``hoop_bridge_Pa``.
    """
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Rest, Stop
    from sim.scenarios.trace import Trace

    problem = LithiumProblem(params, pmesh, dt_initial=1e-2, **(scales or {}))
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
    """``sim scenario`` for kind = "aging": the degradation loop when the case has ``loop_cycles``,
    otherwise fresh vs aged parameter sets with a hand-set shell."""
    from sim.params import load_params
    from sim.scenarios.case import write_csv

    if "loop_cycles" in case.settings:
        return run_loop_scenario(case, out, comm)
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
        scales = {"diffusivity_scale": shell_scale(pset.geometry, thickness, factor, pmesh.kind)} \
            if thickness > 0 and label == "aged" else None
        data, bridge = run_cycle(pset, pmesh, scales=scales, **kw)
        runs[label] = data
        entry = {"von_mises_max_Pa": float(data["von_mises_max_Pa"].max()),
                 "hoop_max_Pa": float(data["hoop_max_Pa"].max()),
                 "volume_change_over_cycle_pct": float(np.ptp(data["volume_change"]) * 100),
                 "overpotential_discharge_mid_V": discharge_overpotential_at(data, 0.5),
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


# --------------------------------------------------------------------------- degradation loop
@dataclass(frozen=True)
class DegradationRules:
    """How the O-vacancy field y(X) of M1 changes the Li particle (docs/physics.md M1 → M2/M3).

    The Mn³⁺ excess is m = (Mn³⁺ per vacancy) · y (charge neutrality, M1); material is deactivated by the
    fraction θ = min(1, m / ``mn3_deactivated``). Locally (the multipliers of
    :class:`~sim.lithium.problem.LithiumProblem`): the Li site density by s_c = 1 − (1 − ``capacity_factor``) θ,
    which also multiplies ΔV/V0 (rule of mixtures: the inactive fraction neither stores Li nor swells); D by
    1 − (1 − ``diffusivity_factor``) θ; i0 at a surface point by 1 − (1 − ``exchange_current_factor``) θ̄, θ̄ the
    mean θ within ``kinetic_depth`` (m) below that point. Particle-wide, the ΔV/V0(x) amplitude of the active
    material by 1 + ``volume_change_per_mn3`` · (m̄_p − m̄_p,1), m̄_p the mean Mn³⁺ excess of a primary
    particle (M1 on the Csernica primary particle; the lattice change XRD sees) and m̄_p,1 its value in cycle 1.
    ``exposed``: the boundaries O leaves through (outer surface, pores, void). The values and their sources
    are the ``[degradation]`` section of the parameter set (:meth:`from_params`).
    """

    mn3_deactivated: float
    capacity_factor: float
    diffusivity_factor: float
    exchange_current_factor: float
    kinetic_depth: float
    volume_change_per_mn3: float
    exposed: tuple[str, ...] = ("outer",)

    @classmethod
    def from_params(cls, params, exposed=("outer",)) -> "DegradationRules":
        params.require("degradation")
        d = params.degradation
        return cls(d.mn3_deactivated, d.capacity_factor, d.diffusivity_factor, d.exchange_current_factor,
                   d.kinetic_depth, d.volume_change_per_mn3, tuple(exposed))


class DegradationState:
    """O-vacancy fields of the loop: y(X) on the Li particle mesh and the mean y of a primary particle.

    ``oxygen_params``: a set with ``[oxygen]`` and ``[primary]`` (e.g. csernica2021: D_O, y_s and its
    formation layer). :meth:`advance` adds delithiated time (s, at the reference temperature): D_O acts
    only while delithiated (Csernica 2021), so N identical cycles are one window of N t_d (cycle jumping).
    """

    def __init__(self, pmesh, oxygen_params, rules: DegradationRules, comm):
        from sim.mesh import radial_mesh
        from sim.oxygen.diffusion import VacancyDiffusion
        from sim.oxygen.formation import FormationLayer
        from sim.oxygen.protocol import mn3_per_vacancy

        ox, R = oxygen_params.oxygen, oxygen_params.primary.radius
        layer = FormationLayer.from_oxygen(ox)
        exposed = tuple(b for b in rules.exposed if b in pmesh.boundaries or b == "pores")
        names = tuple(b for b in pmesh.boundaries if b in exposed or ("pores" in exposed and b.startswith("pore_")))
        if not names:
            raise InputError(f"none of the exposed boundaries {rules.exposed} is on the mesh "
                             f"(has {', '.join(pmesh.boundaries)})", key="aging.exposed")
        args = (ox.diffusivity, ox.surface_vacancy_fraction, ox.bulk_vacancy_fraction)
        self.field = VacancyDiffusion(pmesh, *args, boundary=names, formation=layer)
        self.primary = VacancyDiffusion(radial_mesh(R, size=R / 500, grading=25.0, comm=comm), *args,
                                        formation=layer)
        self.rules, self.pmesh, self.per_vac = rules, pmesh, mn3_per_vacancy(ox)
        self.kind = pmesh.kind
        self._geometry()
        self.time = 0.0

    def _geometry(self) -> None:
        """Every dof of the vacancy field on every rank: coordinates, nodal volume (∫ φ_i w dx, so Σ weights is
        the volume) and depth below the outer surface; and, per outer-surface dof, the dofs within the kinetic
        depth below it (the i0 rule)."""
        import ufl
        from dolfinx import fem
        from dolfinx.fem.petsc import assemble_vector
        from petsc4py import PETSc
        from scipy.spatial import cKDTree

        from sim.oxygen.diffusion import WEIGHTS

        V, fdim, comm = self.field.V, self.pmesh.mesh.topology.dim - 1, self.field.comm
        n = V.dofmap.index_map.size_local
        x = ufl.SpatialCoordinate(self.pmesh.mesh)
        w = x[0] ** WEIGHTS[self.kind] if WEIGHTS[self.kind] else 1.0
        mass = assemble_vector(fem.form(w * ufl.TestFunction(V) * ufl.dx))
        mass.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)   # owned dofs: whole ∫ φ_i w
        self._owned = n
        self._xyz = np.concatenate(comm.allgather(V.tabulate_dof_coordinates()[:n]))
        self._weight = np.concatenate(comm.allgather(mass.array[:n].copy()))
        outer = fem.locate_dofs_topological(V, fdim, self.pmesh.facet_tags.find(self.pmesh.boundaries["outer"]))
        outer = np.concatenate(comm.allgather(V.tabulate_dof_coordinates()[outer[outer < n]]))
        self._surface = outer
        self.depth_all = cKDTree(outer).query(self._xyz)[0]
        self.outer_depth = cKDTree(outer).query(V.tabulate_dof_coordinates())[0]   # local dofs (ghosts too)
        tree = cKDTree(self._xyz)
        self._kinetic = [np.asarray(ids, dtype=int) for ids in tree.query_ball_point(outer, self.rules.kinetic_depth)]

    def advance(self, delithiated_time: float) -> None:
        for solver in (self.field, self.primary):
            solver.run([delithiated_time])
        self.time += delithiated_time

    def _theta_of(self, phi) -> np.ndarray:
        y = self.field.y_s + (self.field.y_b - self.field.y_s) * phi
        return np.clip(self.per_vac * (y - self.field.y_b) / self.rules.mn3_deactivated, 0.0, 1.0)

    def theta(self) -> np.ndarray:
        """Deactivated fraction θ at the (local) dofs of the vacancy field."""
        return self._theta_of(self.field.phi.x.array)

    def _theta_all(self) -> np.ndarray:
        return np.concatenate(self.field.comm.allgather(self._theta_of(self.field.phi.x.array[:self._owned])))

    def primary_mn3(self) -> float:
        return self.per_vac * (self.primary.mean() - self.primary.y_b)

    def _field(self, values):
        """s(X) from values at all dofs: piecewise linear in r (radial), else the nearest dof's value."""
        if self.kind == "radial":
            order = np.argsort(self._xyz[:, 0])
            r, vals = self._xyz[order, 0], values[order]
            return lambda X: np.interp(X[0], r, vals)
        from scipy.spatial import cKDTree

        pts = self._xyz[:, :2] if self.kind == "axisym" else self._xyz
        tree = cKDTree(pts)
        return lambda X: values[tree.query((X[:2] if self.kind == "axisym" else X[:3]).T)[1]]

    def surface_thetas(self) -> np.ndarray:
        """θ̄ per outer-surface dof: the volume-weighted mean θ within the kinetic depth below it."""
        theta = self._theta_all()
        return np.array([np.sum(self._weight[i] * theta[i]) / np.sum(self._weight[i]) for i in self._kinetic])

    def surface_theta(self) -> float:
        """Mean over the outer-surface dofs of θ̄ (the one value of a 1D particle)."""
        return float(np.mean(self.surface_thetas()))

    def scales(self) -> dict:
        """The multipliers s(X) of :class:`~sim.lithium.problem.LithiumProblem` for the present state."""
        from scipy.spatial import cKDTree

        r = self.rules
        theta = self._theta_all()
        sites = 1.0 - (1.0 - r.capacity_factor) * theta
        i0 = 1.0 - (1.0 - r.exchange_current_factor) * self.surface_thetas()
        surface = cKDTree(self._surface[:, :2] if self.kind == "axisym" else self._surface)
        pick = (lambda X: X[:2].T) if self.kind == "axisym" else (lambda X: X[:3].T)
        return {"diffusivity_scale": self._field(1.0 - (1.0 - r.diffusivity_factor) * theta),
                "capacity_scale": self._field(sites), "volume_change_scale": self._field(sites),
                "exchange_current_scale": lambda X: i0[surface.query(pick(X))[1]]}

    def active_fraction(self) -> float:
        """Active Li sites / fresh ones, ∫ s_c dV / V (the capacity left)."""
        sites = 1.0 - (1.0 - self.rules.capacity_factor) * self._theta_all()
        return float(np.sum(self._weight * sites) / np.sum(self._weight))

    def shell_thickness(self, level: float = 0.5) -> float | None:
        """Depth below the outer surface (m) where θ falls to ``level`` (None if it never does)."""
        from sim.oxygen.formation import penetration_depth

        order = np.argsort(self.outer_depth)
        d, t = self.outer_depth[order], self.theta()[order]
        return penetration_depth(d, t, level=level / t[0]) if t[0] > level else 0.0


def degraded_params(params, state: DegradationState, mn3_first: float):
    """``params`` with the ΔV/V0(x) amplitude of the active material grown by the primary-particle Mn³⁺ (the
    particle-wide rule; the local ones are :meth:`DegradationState.scales`)."""
    r = state.rules
    vc = params.mechanics.volume_change
    amp = 1.0 + r.volume_change_per_mn3 * max(0.0, state.primary_mn3() - mn3_first)
    table = {"x": vc.x.tolist(), "y": (vc.y * amp).tolist(), "x_unit": "", "y_unit": "", "interpolation":
             vc.interpolation, "source": f"degradation loop: fresh table x {amp:.4f}"}
    return params.override({"mechanics.volume_change": table})


def delithiated_time(data, params) -> float:
    """Time (s) of a cycle trace with the mean SOC above 50 % (Csernica rule: D_O acts while delithiated)."""
    tr = params.transport
    x_half = 0.5 * (tr.x_min + tr.x_max)
    t = data["t_s"]
    dt = np.diff(t)
    return float(np.sum(dt * (data["x_mean"][1:] < x_half)))



def discharge_overpotential_at(data, dod: float) -> float | None:
    """Overpotential (V) of the discharge step (step 2) at ``dod``, interpolated linearly in DOD between the
    accepted time steps (error-controlled steps may jump over any fixed DOD window); None if not reached."""
    dis = data["step"] == 2
    d, eta = data["dod"][dis], data["overpotential_V"][dis]
    if len(d) < 2 or not d.min() <= dod <= d.max():
        return None
    order = np.argsort(d)
    return float(np.interp(dod, d[order], eta[order]))


def run_loop(params, oxygen_params, pmesh, rules: DegradationRules, cycles, cycle_kw: dict, comm,
             on_cycle=None) -> list[dict]:
    """The multi-cycle degradation loop: at each cycle number in ``cycles`` (increasing, from 1) one Li cycle
    is solved with the current degradation state; the O-vacancy fields then advance by (N_next − N) times the
    delithiated time of that cycle (cycle jumping). Returns one record per solved cycle."""
    state = DegradationState(pmesh, oxygen_params, rules, comm)
    mn3_first = state.primary_mn3()
    records = []
    for k, n in enumerate(cycles):
        p = degraded_params(params, state, mn3_first)
        scales = state.scales()
        data, bridge = run_cycle(p, pmesh, scales=scales, **cycle_kw)
        t_d = delithiated_time(data, params)
        shell = state.shell_thickness()
        theta_s = state.surface_theta()
        rec = {"cycle": n, "volume_change_over_cycle_pct": float(np.ptp(data["volume_change"]) * 100),
               "overpotential_discharge_mid_V": discharge_overpotential_at(data, 0.5),
               "von_mises_max_Pa": float(data["von_mises_max_Pa"].max()),
               "exchange_current_density_A_m2": p.kinetics.exchange_current_density
               * (1.0 - (1.0 - rules.exchange_current_factor) * theta_s),
               "active_capacity_fraction": state.active_fraction(),
               "surface_deactivated_fraction": theta_s,
               "shell_thickness_m": shell, "primary_mn3_excess": state.primary_mn3(),
               "delithiated_time_s": t_d, "final_dod": float(data["dod"][-1])}
        records.append(rec)
        if on_cycle is not None:
            on_cycle(rec, data, p, state, scales)
        if k + 1 < len(cycles):
            state.advance((cycles[k + 1] - n) * t_d)
    return records


def _loop_rules(case, params) -> DegradationRules:
    """The rules from the parameter set's ``[degradation]`` section, the exposed boundaries from the case."""
    exposed = case.settings.get("exposed", ["outer"])
    if not (isinstance(exposed, list) and exposed and all(isinstance(e, str) for e in exposed)):
        raise InputError(f"expected a list of boundary names (outer, void, pores), got {exposed!r}",
                         file=case.file, key="aging.exposed")
    return DegradationRules.from_params(params, exposed)


def _loop_cycles(case) -> list[int]:
    cycles = case.settings["loop_cycles"]
    ok = isinstance(cycles, list) and cycles and all(isinstance(c, int) and not isinstance(c, bool) for c in cycles)
    if not ok or cycles[0] != 1 or any(b <= a for a, b in zip(cycles, cycles[1:])):
        raise InputError(f"expected increasing whole cycle numbers starting at 1, got {cycles!r}", file=case.file,
                         key="aging.loop_cycles")
    return cycles


def gitt_diffusivity(params, pmesh, scales, case) -> float:
    """Apparent D (m²/s) of the first pulse of a short GITT on the (degraded) particle, Weppner–Huggins with the
    true V/S, as an experimentalist would read it. ``scales``: the particle's multipliers (ΔV/V0 aside: no
    mechanics in a GITT)."""
    from sim.scenarios.gitt import GittProtocol, find_pulses, hollow_volume_to_surface, run_gitt

    protocol = GittProtocol(c_rate=case.quantity("gitt_c_rate", "", 0.1), pulse=case.quantity("gitt_pulse", "s", 60.0),
                            rest=case.quantity("gitt_rest", "s", 1800.0), upper_voltage=4.8, max_pulses=1,
                            initial_rest=60.0)
    trace = run_gitt(params, pmesh, protocol,
                     scales={k: v for k, v in scales.items() if k != "volume_change_scale"}).arrays()
    pulse = find_pulses(trace["t_s"], trace["potential_V"], trace["current_A"], trace["x_mean"])[0]
    g = params.geometry
    return pulse.diffusivity(hollow_volume_to_surface(g.particle_radius, g.void_radius if pmesh.kind == "hollow" else 0))


def run_loop_scenario(case, out, comm) -> dict:
    """The aging scenario through the degradation loop (:func:`run_loop`), GITT D and overpotential at the
    first and last solved cycles."""
    from sim.mesh import radial_mesh
    from sim.params import load_params
    from sim.scenarios.case import write_csv

    params = case.load_params()
    oxygen = load_params(case.settings.get("oxygen_params", "csernica2021"))
    oxygen.require("oxygen", "primary")
    kind = case.choice("geometry", ("radial", "hollow"), "hollow")
    g = params.geometry
    pmesh = radial_mesh(g.particle_radius, g.void_radius if kind == "hollow" else 0.0,
                        size=case.quantity("surface_size", "m", 10e-9), grading=case.quantity("grading", "", 40.0),
                        comm=comm)
    kw = dict(c_rate=case.quantity("c_rate", ""), upper_voltage=case.quantity("upper_voltage", "V"),
              lower_voltage=case.quantity("lower_voltage", "V"), rest=case.quantity("rest", "s", 0.0) or 1.0)
    cycles, rules = _loop_cycles(case), _loop_rules(case, params)
    gitt, profiles = {}, {}

    def on_cycle(rec, data, p, state, scales):
        if rec["cycle"] in (cycles[0], cycles[-1]):
            gitt[rec["cycle"]] = gitt_diffusivity(p, pmesh, scales, case)
        depth = state.outer_depth
        profiles[rec["cycle"]] = (depth, state.theta())
        if comm.rank == 0:
            write_csv(out / f"cycle_{rec['cycle']:04d}.csv", data)

    records = run_loop(params, oxygen, pmesh, rules, cycles, kw, comm, on_cycle=on_cycle)
    first, last = records[0], records[-1]
    for rec in records:
        rec["gitt_D_m2_s"] = gitt.get(rec["cycle"])
    summary = {"geometry": kind, "mode": "degradation loop", "cycles_solved": cycles, "oxygen_params": oxygen.name,
               "rules": {k: v for k, v in rules.__dict__.items()}, "loop": records,
               "particles": {"fresh": first, "aged": last},
               "gitt_D_ratio_aged_to_fresh": gitt[cycles[-1]] / gitt[cycles[0]]}
    if first["overpotential_discharge_mid_V"] is not None and last["overpotential_discharge_mid_V"] is not None:
        summary["overpotential_increase_mV"] = 1e3 * abs(last["overpotential_discharge_mid_V"]
                                                         - first["overpotential_discharge_mid_V"])
    summary["von_mises_ratio_aged_to_fresh"] = last["von_mises_max_Pa"] / first["von_mises_max_Pa"]
    if comm.rank == 0:
        cols = {k: np.array([np.nan if r[k] is None else r[k] for r in records], dtype=float)
                for k in records[0] if k != "cycle"}
        write_csv(out / "loop.csv", {"cycle": np.array(cycles, dtype=float), **cols})
        _plot_loop(records, profiles, out, case.title)
    return summary


def _plot_loop(records, profiles, out, title) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for n, (depth, theta) in profiles.items():
        order = np.argsort(depth)
        axes[0].plot(depth[order] * 1e9, theta[order], label=f"cycle {n}")
    axes[0].set_xlim(0, 300)
    axes[0].set_xlabel("depth below the outer surface (nm)")
    axes[0].set_ylabel("deactivated fraction θ (-)")
    cyc = [r["cycle"] for r in records]
    axes[1].plot(cyc, [1e3 * r["overpotential_discharge_mid_V"] for r in records], "o-")
    axes[1].set_xlabel("cycle")
    axes[1].set_ylabel("mid-discharge polarisation φ_s − U(x̄) (mV)")
    axes[2].plot(cyc, [r["volume_change_over_cycle_pct"] for r in records], "o-")
    axes[2].set_xlabel("cycle")
    axes[2].set_ylabel("particle volume change over the cycle (%)")
    for ax in axes[1:]:
        ax.set_xscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "degradation_loop.png", dpi=120)
    plt.close(fig)
