"""Fatigue scenario ``fatigue_wang2021`` (Wang 2021; docs/physics.md M5): cycles to crack onset of a fresh and
an aged particle under repeated 1C cycles, by two models.

(a) **Paris law at the hot spots** — a ``sim run`` case with ``[fatigue] cycles = N`` whose protocol is one
    1C cycle (charge to ``upper_voltage``, discharge to ``lower_voltage``) repeated ``paris_repeats`` times so
    that it is periodic: at each max-principal hot spot a flaw a₀ (``mechanics.flaw_size``) grows by
    da/dN = C (Y Δσ √(πa))^m, Δσ = σ_max − max(σ_min, 0) of the last repetition, up to
    a_c = (K_Ic/(Y σ_max))²/π (:mod:`sim.fracture.fatigue`). Cycles to onset = the first hot spot's N_f.
(b) **Phase-field fatigue** — AT2 (spectral split) on a coarse radial mesh of the same particle (hollow:
    the central void; 1D, so pores are not represented), with the Carrara et al. 2020 degradation
    G_c → f(ᾱ) G_c, and cycle jumping (:class:`~sim.fracture.pf_fatigue.CycleJumper`). Cycles to onset =
    the first cycle after which d_max ≥ ``pf_onset_damage`` (default 0.01, the recorder's onset).

Aged = the ``aged_params`` set (``wang2021_aged``: ΔV/V0 2.0 % instead of 1.1 %, D and i0 / 5). The
toughness, strength, Paris constants, flaw size and fatigue threshold are assumed in the shipped sets, so
the absolute cycle counts are not predictions; the fresh/aged ratio depends on them less (it follows from
the stress ranges: N_f ∝ Δσ^−m for the Paris law with a_c ≫ a₀).
"""
from __future__ import annotations

import time

import numpy as np


def cycle_steps(c_rate: float, upper: float, lower: float):
    """One cycle from the discharged state: charge to ``upper`` V (or full), discharge to ``lower`` V (or empty)."""
    from sim.lithium.protocol import Galvanostatic, Stop

    return (Galvanostatic(c_rate, "charge", Stop(voltage=upper, soc=1.0)),
            Galvanostatic(c_rate, "discharge", Stop(voltage=lower, dod=1.0)))


def pf_fatigue_life(params, pmesh, steps, *, n_cycles: int, onset: float = 0.01, jump: bool = True,
                    max_change: float = 0.1, dt_max: float | None = None, dt_initial: float = 1e-3) -> dict:
    """Cycles to d_max >= ``onset`` under repeated ``steps`` with phase-field fatigue (AT2, spectral).

    Returns {"cycles_to_onset" (None if not within ``n_cycles``), "computed_cycles", "table" [(N, d_max)],
    "wall_time_s", "alpha_threshold_J_m3"}.
    """
    from sim.fracture.options import PhaseFieldOptions
    from sim.fracture.pf_fatigue import CycleJumper
    from sim.lithium.problem import LithiumProblem

    wall0 = time.perf_counter()
    # the problem commits ᾱ, H and d on every accepted step (restores them on rejected ones)
    problem = LithiumProblem(params, pmesh, dt_max=dt_max, dt_initial=dt_initial,
                             fracture=PhaseFieldOptions(variant="AT2", split="spectral", fatigue=True))
    problem.initialise()
    mech = problem.mechanics

    def cycle():
        for step in steps:
            problem.run_step(step)

    jumper = CycleJumper(mech.phase_field, cycle, failed=lambda: mech.damage_max() >= onset, jump=jump,
                         max_change=max_change)
    table = jumper.run(n_cycles)
    return {"cycles_to_onset": jumper.cycles_to_failure, "computed_cycles": jumper.computed_cycles,
            "table": table, "wall_time_s": time.perf_counter() - wall0,
            "alpha_threshold_J_m3": float(mech.phase_field.alpha_t)}


def paris_case(params_name: str, overrides: dict, *, geometry: str, c_rate: float, upper: float, lower: float,
               repeats: int, cycles: int, sizes: dict, dt_max: float) -> dict:
    """The ``sim run`` case (dict) of one Paris-law fatigue run."""
    mesh = {"n_cells": sizes["n_cells"]} if geometry == "hollow" else {
        "size_inner": f"{sizes['size_inner']} m", "size_outer": f"{sizes['size_outer']} m", "order": 1}
    return {"model": "lithium", "title": f"1C cycles, Paris law ({params_name})", "params": params_name,
            "geometry": geometry, "parameters": dict(overrides), "mesh": mesh,
            "solver": {"dt_max": f"{dt_max} s"},
            "output": {"vtx": False, "maps_at_dod": [], "probes": {}},
            "fatigue": {"cycles": cycles, "geometry_factor": 1.12},
            "protocol": [{"repeat": repeats,
                          "steps": [f"charge at {c_rate:g}C to {upper:g} V or 100 % SOC",
                                    f"discharge at {c_rate:g}C to {lower:g} V or 100 % DOD"]}]}


def run(case, out, comm) -> dict:
    """``sim scenario`` for kind = "fatigue"."""
    from sim.lithium.run import run_case
    from sim.mesh import radial_mesh
    from sim.params import load_params
    from sim.scenarios.case import write_csv

    fresh = case.load_params()
    aged_name = case.settings.get("aged_params", "wang2021_aged")
    aged = load_params(aged_name, case.overrides or None, f"{case.file} [set]")
    geometry = case.choice("geometry", ("hollow", "axisym"), "hollow")
    c_rate = case.quantity("c_rate", "", 1.0)
    upper, lower = case.quantity("upper_voltage", "V", 4.6), case.quantity("lower_voltage", "V", 2.8)
    sizes = {"n_cells": case.integer("n_cells", 60), "size_inner": case.quantity("size_inner", "m", 0.06e-6),
             "size_outer": case.quantity("size_outer", "m", 0.8e-6)}
    dt_max = case.quantity("dt_max", "s", 60.0)
    n_paris = case.integer("cycles", 1_000_000)
    n_pf = case.integer("pf_cycles", 100_000)
    onset = case.quantity("pf_onset_damage", "", 0.01)
    max_change = case.quantity("pf_max_change", "", 0.1)
    threshold = case.settings.get("pf_fatigue_threshold")
    summary = {"c_rate": c_rate, "upper_voltage_V": upper, "lower_voltage_V": lower,
               "params": {"fresh": fresh.name, "aged": aged.name}, "paris": {}, "phase_field": {},
               "assumptions": _assumptions(fresh)}
    for label, params, name in (("fresh", fresh, case.params), ("aged", aged, aged_name)):
        spec = paris_case(name, case.overrides, geometry=geometry, c_rate=c_rate, upper=upper, lower=lower,
                          repeats=case.integer("paris_repeats", 2), cycles=n_paris, sizes=sizes, dt_max=dt_max)
        s = run_case(spec, out / f"paris_{label}", comm=comm, progress=False, overwrite=True)
        fat = (s.get("fracture") or {}).get("fatigue") or {}
        spots = fat.get("hot_spots", {})
        first = min(spots, key=lambda n: spots[n]["cycles_to_failure"] or np.inf) if spots else None
        summary["paris"][label] = {
            "cycles_to_onset": fat.get("cycles_to_failure_min"), "hot_spot": first,
            "stress_range_Pa": spots[first]["stress_range_Pa"] if first else None,
            "sigma_max_Pa": spots[first]["sigma_max_Pa"] if first else None,
            "critical_size_m": spots[first]["critical_size_m"] if first else None,
            "hot_spot_position_m": next((h["position_m"] for h in s["hot_spots"] if h["name"] == first), None),
            "hot_spot_location": next((_nearest(h) for h in s["hot_spots"] if h["name"] == first), None),
            "cycle_time_s": s["final"]["t_s"] / case.integer("paris_repeats", 2), "folder": f"paris_{label}"}
        p_pf = params.override({"transport.x_initial": f"{params.transport.x_max - 0.01 * (params.transport.x_max - params.transport.x_min)}",
                                **({"mechanics.fatigue_threshold": threshold} if threshold is not None else {})},
                               f"{case.file} [fatigue]")
        g = p_pf.geometry
        # h = l/2 at the void and the outer surface, graded to ~20 l inside: coarse but the crack band is resolved
        pmesh = radial_mesh(g.particle_radius, g.void_radius, size=p_pf.mechanics.phase_field_length / 2,
                            grading=case.quantity("pf_grading", "", 20.0), comm=comm)
        life = pf_fatigue_life(p_pf, pmesh, cycle_steps(c_rate, upper, lower), n_cycles=n_pf, onset=onset,
                               max_change=max_change, dt_max=dt_max)
        summary["phase_field"][label] = {k: v for k, v in life.items() if k != "table"}
        if comm.rank == 0:
            n, d = zip(*life["table"])
            write_csv(out / f"pf_fatigue_{label}.csv", {"cycle": n, "damage_max": d})
        summary["phase_field"][label]["table"] = life["table"]
    summary["ratio_fresh_to_aged"] = {m: _ratio(summary[m]["fresh"]["cycles_to_onset"], summary[m]["aged"]["cycles_to_onset"])
                                      for m in ("paris", "phase_field")}
    line = "fatigue_wang2021: cycles to crack onset fresh / aged: " + "; ".join(
        f"{m} {_n(summary[m]['fresh']['cycles_to_onset'])} / {_n(summary[m]['aged']['cycles_to_onset'])}"
        f" (ratio {_n(summary['ratio_fresh_to_aged'][m])})" for m in ("paris", "phase_field"))
    summary["line"] = line
    if comm.rank == 0:
        _plot(summary, out / "fatigue_damage.png", case.title)
        print(line)
    return summary


def _assumptions(p) -> dict:
    m, src = p.mechanics, p.sources
    keys = ("fracture_toughness", "flaw_size", "paris_coefficient", "paris_exponent", "phase_field_length",
            "fatigue_threshold")
    return {k: {"value": getattr(m, k, None), "source": src.get(f"mechanics.{k}", "default")} for k in keys}


def _nearest(spot: dict) -> str:
    """"outer" or the nearest cavity of a ``sim run`` hot spot, whichever is closer."""
    cavity, d_cav, d_out = spot.get("nearest_cavity"), spot.get("distance_to_cavity_m"), spot.get("distance_to_outer_m")
    if cavity is None or d_cav is None or (d_out is not None and d_out < d_cav):
        return "outer"
    return cavity


def _ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def _n(v) -> str:
    return "none" if v is None else f"{v:.4g}"


def _plot(summary, path, title) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, colour in (("fresh", "C0"), ("aged", "C3")):
        n, d = zip(*summary["phase_field"][label]["table"])
        ax.loglog(n, np.maximum(d, 1e-12), "o-", ms=3, color=colour, label=f"{label}: phase-field d_max")
        nf = summary["paris"][label]["cycles_to_onset"]
        if nf is not None:
            ax.axvline(nf, color=colour, ls=":", label=f"{label}: Paris-law N_f {nf:.3g}")
    ax.set_xlabel("cycle N")
    ax.set_ylabel("max damage d")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
