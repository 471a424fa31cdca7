"""Secondary -> primary coupling (Csernica 2021): does the secondary-particle state explain why primary
particles near the exterior lose more O than interior ones?

1. One cycle of the Csernica 2021 protocol (1C charge, CV hold, rest, 2C discharge) on a radial
   secondary particle with mechanics; at each depth d (distance from the outer surface / R) record
   the Li fraction x(t) and the hydrostatic stress σ_h(t).
2. Per depth: delithiated time t_d = ∫ [x < x_half] dt (x_half: mid-window, SOC 50 %, as in the
   Csernica validation) and the mean σ_h while delithiated.
3. A rule maps that state onto the primary particle at that depth (``rule``):
   - ``"delithiated_time"``: hours delithiated per cycle = t_d (D_O acts only while delithiated);
   - ``"stress"``: the same hours and D_O · exp(Ω_O σ̄_h / (R T)) (Ω_O: ``activation_volume``, m³/mol,
     tensile σ_h > 0 speeds O-vacancy diffusion);
   - ``"surface_value"``: y_s · t_d / max_d t_d with the reference hours at every depth.
4. The primary-particle O-vacancy model (:func:`sim.oxygen.run_oxygen_case`, 1D radial) gives the O
   loss (at.%) after ``cycles`` cycles at each depth.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.units import GAS_CONSTANT

RULES = ("delithiated_time", "stress", "surface_value")


def secondary_cycle(params, pmesh, depths, *, charge_rate, discharge_rate, upper_voltage, hold, rest,
                    lower_voltage):
    """Run one cycle; return the trace with ``x_d<i>`` and ``sigma_h_d<i>_Pa`` probes at ``depths`` (fractions)."""
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Potentiostatic, Rest, Stop
    from sim.scenarios.trace import Trace

    radius = params.geometry.particle_radius
    points = np.array([[radius * (1 - d), 0.0, 0.0] for d in depths])
    cache = {}

    def values(p, name):
        key = (name, p.steps, p.t)
        if key not in cache:
            cache.clear()
            cache[key] = p.evaluate(name, points)
        return cache[key]

    probes = {}
    for i in range(len(depths)):
        probes[f"x_d{i}"] = lambda p, i=i: values(p, "x")[i]
        probes[f"sigma_h_d{i}_Pa"] = lambda p, i=i: values(p, "hydrostatic")[i]
    problem = LithiumProblem(params, pmesh, dt_initial=1e-2)
    problem.initialise()
    dod0 = problem.dod
    trace = Trace(probes)
    trace.begin(0)
    trace.record(problem)
    steps = [Galvanostatic(charge_rate, "charge", Stop(soc=1.0, voltage=upper_voltage)),
             Potentiostatic(upper_voltage, Stop(time=hold)), Rest(Stop(time=rest)),
             Galvanostatic(discharge_rate, "discharge", Stop(dod=dod0, voltage=lower_voltage)), Rest(Stop(time=rest))]
    for k, step in enumerate(steps):
        if k == 1 and problem.potential < upper_voltage - 1e-3:
            continue   # the charge ended on SOC before the voltage limit: no CV hold
        trace.begin(k)
        problem.run_step(step, on_step=trace)
    return trace.arrays()


def depth_state(data, n_depths: int, x_half: float) -> list[dict]:
    """Delithiated time (s) and mean hydrostatic stress while delithiated (Pa) at each depth (rectangle rule
    on the accepted steps: each interval takes the state at its end, as backward Euler does)."""
    dt = np.diff(data["t_s"])
    out = []
    for i in range(n_depths):
        deli = data[f"x_d{i}"][1:] < x_half
        t_d = float(np.sum(dt[deli]))
        sig = float(np.sum(dt[deli] * data[f"sigma_h_d{i}_Pa"][1:][deli]) / t_d) if t_d > 0 else 0.0
        out.append({"delithiated_time_s": t_d, "mean_sigma_h_delithiated_Pa": sig})
    return out


def run(case, out, comm) -> dict:
    """``sim scenario`` for kind = "coupling"."""
    from sim.mesh import radial_mesh
    from sim.oxygen import run_oxygen_case
    from sim.scenarios.case import write_csv

    params = case.load_params()
    params.require("transport", "kinetics", "mechanics", "oxygen", "primary")
    radius = case.quantity("secondary_radius", "m")
    params = params.override({"geometry.particle_radius": f"{radius} m", "geometry.void_radius": "0 m",
                              "geometry.pores": {"value": []}})
    depths = case.settings.get("depths")
    if not isinstance(depths, list) or not depths or not all(isinstance(d, (int, float)) and 0 <= d < 1
                                                              for d in depths):
        raise InputError("depths must be a list of fractions of the radius in [0, 1) (0 = outer surface)",
                         file=case.file, key="coupling.depths")
    rule = case.choice("rule", RULES, "delithiated_time")
    omega = case.quantity("activation_volume", "m^3/mol", 0.0)
    cycles = case.integer("cycles", 100)
    pmesh = radial_mesh(radius, 0.0, n_cells=case.integer("n_cells", 60), grading=case.quantity("grading", "", 1.0),
                        comm=comm)
    data = secondary_cycle(params, pmesh, depths, charge_rate=case.quantity("charge_rate", ""),
                           discharge_rate=case.quantity("discharge_rate", ""),
                           upper_voltage=case.quantity("upper_voltage", "V"), hold=case.quantity("hold", "s"),
                           rest=case.quantity("rest", "s"), lower_voltage=case.quantity("lower_voltage", "V"))
    tr, ox = params.transport, params.oxygen
    x_half = tr.x_min + 0.5 * (tr.x_max - tr.x_min)
    states = depth_state(data, len(depths), x_half)
    t_ref = max(s["delithiated_time_s"] for s in states)
    if t_ref <= 0:
        raise InputError("no depth of the secondary particle was delithiated (x < mid-window) in the cycle; "
                         "raise hold or lower the C-rates", file=case.file, key="coupling.hold")
    temperature = params.conditions.temperature
    params_ref = str(Path(case.file).parent / case.params) if case.params.endswith(".toml") else case.params
    rows = []
    for i, (d, s) in enumerate(zip(depths, states)):
        hours = (s["delithiated_time_s"] if rule != "surface_value" else t_ref) / 3600
        overrides = {}
        if rule == "stress":
            overrides["oxygen.diffusivity"] = f"{ox.diffusivity * np.exp(omega * s['mean_sigma_h_delithiated_Pa'] / (GAS_CONSTANT * temperature))} m^2/s"
        if rule == "surface_value":
            overrides["oxygen.surface_vacancy_fraction"] = ox.surface_vacancy_fraction * s["delithiated_time_s"] / t_ref
        row = {"depth": d, "depth_um": d * radius * 1e6, **s, "hours_delithiated_per_cycle": hours}
        if hours <= 0:
            row.update(o_loss_at_pct=0.0, D_O_cm2_s=ox.diffusivity * 1e4,
                       surface_vacancy_fraction=0.0 if rule == "surface_value" else ox.surface_vacancy_fraction)
        else:
            o = run_oxygen_case({"model": "oxygen", "params": params_ref, "geometry": "radial",
                                 "protocol": {"cycles": cycles, "hours_delithiated_per_cycle": hours,
                                              "temperature": f"{temperature} K"}, "set": dict(case.overrides)},
                                out / f"primary_depth_{i}", overrides=overrides, comm=comm)
            row.update(o_loss_at_pct=o["o_loss_at_pct_final"], D_O_cm2_s=o["D_O_cm2_s"],
                       surface_vacancy_fraction=o["surface_o_vacancy_fraction"])
        rows.append(row)
    losses = np.array([r["o_loss_at_pct"] for r in rows])
    outer, inner = int(np.argmin(depths)), int(np.argmax(depths))
    summary = {"rule": rule, "cycles": cycles, "secondary_radius_m": radius, "x_half": x_half,
               "activation_volume_m3_mol": omega, "depths": rows,
               "o_loss_exterior_at_pct": float(losses[outer]), "o_loss_interior_at_pct": float(losses[inner]),
               "exterior_to_interior_ratio": float(losses[outer] / losses[inner]) if losses[inner] > 0 else None}
    if comm.rank == 0:
        write_csv(out / "secondary_cycle.csv", data)
        write_csv(out / "depths.csv", {k: [r[k] for r in rows] for k in
                                       ("depth", "depth_um", "delithiated_time_s", "mean_sigma_h_delithiated_Pa",
                                        "hours_delithiated_per_cycle", "D_O_cm2_s", "surface_vacancy_fraction",
                                        "o_loss_at_pct")})
        _plot(data, depths, rows, radius, x_half, out, case.title, rule)
    return summary


def _plot(data, depths, rows, radius, x_half, out, title, rule) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(13, 4))
    th = data["t_s"] / 3600
    for i, d in enumerate(depths):
        ax1.plot(th, data[f"x_d{i}"], label=f"depth {d * radius * 1e6:.2f} µm")
        ax2.plot(th, data[f"sigma_h_d{i}_Pa"] / 1e6, label=f"depth {d * radius * 1e6:.2f} µm")
    ax1.axhline(x_half, color="k", ls=":", lw=0.8, label="delithiated below")
    depth_um = [r["depth_um"] for r in rows]
    ax3.plot(depth_um, [r["o_loss_at_pct"] for r in rows], "o-", color="C3")
    ax3b = ax3.twinx()
    ax3b.plot(depth_um, [r["hours_delithiated_per_cycle"] for r in rows], "s--", color="C0")
    ax1.set_xlabel("time (h)")
    ax1.set_ylabel("Li fraction x")
    ax2.set_xlabel("time (h)")
    ax2.set_ylabel("hydrostatic stress (MPa)")
    ax3.set_xlabel("depth of the primary particle below the secondary surface (µm)")
    ax3.set_ylabel("O loss of the primary particle (at.%)", color="C3")
    ax3b.set_ylabel("hours delithiated per cycle", color="C0")
    ax3.set_title(f"rule: {rule}", fontsize=8)
    ax1.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "secondary_to_primary.png", dpi=120)
    plt.close(fig)
