"""Fracture scenario ``cracking_liu2024`` (Liu 2024; docs/physics.md M3, M5): where and when does the voided
particle crack at 10C and at 0.1C?

The Liu 2024 particle (8 µm, 0.5 µm central void, 0.2 µm pores on the axis; finite strain, 2D axisymmetric)
is driven to 20 % of its capacity at each C-rate, on discharge (lithiation from the charged state: the
surface swells first, so the interior — the void and the bridge to a pore — is in tension: the situation of
Liu 2024's claim "cracks nucleate inside at 10C, not at 0.1C") and on charge (delithiation from the
discharged state: the surface contracts and the outer surface is in tension). Each run carries

* onset screening: max principal stress σ₁ over the particle; the first σ₁ ≥ σ_f (t, DOD by linear
  interpolation between steps, position, nearest named boundary);
* the phase field (AT2, spectral split; G_c and ℓ of the parameter set), with d_max, the crack area
  ∫ γ(d, ∇d) dV and the first d_max > 0.01.

The strength and toughness are assumed in the shipped sets, so the scenario also reports the values at
which the conclusion flips: the 10C discharge cracks by the strength criterion iff σ_f ≤ max σ₁(10C), and
0.1C does not iff σ_f > max σ₁(0.1C); with AT2, d ≈ 2ℓH/G_c for d ≪ 1, so d_max reaches 0.01 iff
G_c ≤ G_c d_max/0.01 (checked by a re-run at that value in the full scenario).
"""
from __future__ import annotations

import time

import numpy as np

DAMAGE_ONSET = 0.01          # the recorder's phase-field onset: first d_max > 0.01
CRACK_PATH_ITERATIONS = 1000  # staggered iterations per step of the crack path: a running crack needs ~1 per cell
RUNS = (("10C", 10.0), ("0.1C", 0.1))


# --------------------------------------------------------------------------- one run
class FieldMax:
    """Max of a Function's owned dofs over all ranks, with its mesh position (collective)."""

    def __init__(self, f):
        self.f = f
        n = f.function_space.dofmap.index_map.size_local * f.function_space.dofmap.index_map_bs
        self.n = n
        self.coords = f.function_space.tabulate_dof_coordinates()[:n]

    def __call__(self, comm) -> tuple[float, np.ndarray]:
        values = self.f.x.array[:self.n]
        i = int(np.argmax(values)) if self.n else -1
        local = (float(values[i]), self.coords[i].copy()) if self.n else (-np.inf, np.zeros(3))
        best = max(comm.allgather(local), key=lambda v: v[0])
        return best[0], best[1]


def phase_field_run(params, pmesh, step, *, dt_max: float, fracture=None, comm=None,
                    keep_failure: bool = False) -> dict:
    """One protocol ``step`` on ``pmesh`` with the phase-field mechanics; per-step history (SI).

    ``keep_failure``: a :class:`~sim.errors.SolverError` ends the run instead of propagating; the history
    so far is returned with "failure" = {"message", "time_s", "reason"} (None when it completed).

    Returns {"t_s", "dod", "potential_V", "max_principal_Pa", "max_principal_at" (mesh coords),
    "hoop_bridge_Pa", "damage_max", "damage_at", "crack_area_m2"} as arrays, plus "wall_time_s",
    "steps", "iterations" and "problem" (the :class:`LithiumProblem`, for maps).
    """
    from sim.errors import SolverError
    from sim.fracture.options import PhaseFieldOptions
    from sim.lithium.problem import LithiumProblem

    fracture = fracture or PhaseFieldOptions(variant="AT2", split="spectral")
    wall0 = time.perf_counter()
    # the problem commits the damage history on accepted steps and restores it on rejected ones
    problem = LithiumProblem(params, pmesh, dt_max=dt_max, fracture=fracture)
    problem.initialise()
    mech = problem.mechanics
    setup = time.perf_counter() - wall0
    comm = pmesh.comm if comm is None else comm
    s1 = FieldMax(mech.stress_fields()["max_principal"])
    dmax = FieldMax(mech.damage)
    bridge = problem.bridge_point()
    rows: dict[str, list] = {k: [] for k in ("t_s", "dod", "potential_V", "max_principal_Pa", "max_principal_at",
                                             "hoop_bridge_Pa", "damage_max", "damage_at", "crack_area_m2")}

    def record(pr):
        m = pr.mechanics
        # evaluate() refreshes the stress fields that s1 reads
        hoop = pr.evaluate("hoop", bridge[None])[0] if bridge is not None else (m.stress_fields(), np.nan)[1]
        s, at = s1(comm)
        d, d_at = dmax(comm)
        rows["t_s"].append(pr.t)
        rows["dod"].append(pr.dod)
        rows["potential_V"].append(pr.potential)
        rows["max_principal_Pa"].append(s)
        rows["max_principal_at"].append(at)
        rows["hoop_bridge_Pa"].append(hoop)
        rows["damage_max"].append(d)
        rows["damage_at"].append(d_at)
        rows["crack_area_m2"].append(m.crack_area())

    record(problem)
    failure = None
    try:
        problem.run_step(step, on_step=record)
    except SolverError as err:
        if not keep_failure:
            raise
        failure = {"message": str(err), "time_s": err.time, "reason": err.reason}
    out = {k: np.asarray(v) for k, v in rows.items()}
    out["failure"] = failure
    out.update(wall_time_s=time.perf_counter() - wall0, setup_time_s=setup, steps=problem.steps, iterations=mech.iterations,
               problem=problem)
    return out


def strength_onset(history: dict, strength: float, kind: str, boundaries) -> dict | None:
    """First σ₁ >= ``strength`` (Pa) in a run's history: t, DOD (linear interpolation between the two steps
    around it), position (physical, m) and the nearest named boundary; None when never."""
    from sim.fracture.criteria import first_crossing
    from sim.fracture.hotspots import to_physical

    ratio = history["max_principal_Pa"] / strength
    hit = np.flatnonzero(ratio >= 1.0)
    if not len(hit):
        return None
    i = int(hit[0])
    where = to_physical(kind, history["max_principal_at"][i])[0]
    place = boundaries.describe(where)
    interp = i > 0
    return {"criterion": "max principal stress >= tensile strength", "tensile_strength_Pa": strength,
            "t_s": first_crossing(history["t_s"][i - 1], ratio[i - 1], history["t_s"][i], ratio[i]) if interp
            else float(history["t_s"][i]),
            "dod": first_crossing(history["dod"][i - 1], ratio[i - 1], history["dod"][i], ratio[i]) if interp
            else float(history["dod"][i]),
            "position_m": [float(v) for v in where], "location": place["nearest_boundary"],
            "distance_to_location_m": place["distance_to_nearest_boundary_m"]}


def bridge_gaps(geometry) -> dict[str, float]:
    """Pore name -> width (m) of its bridge to the central void, |c_i| − r_i − a (empty without a void)."""
    if geometry.void_radius <= 0:
        return {}
    return {f"pore_{i}": float(np.linalg.norm(p.centre) - p.radius - geometry.void_radius)
            for i, p in enumerate(geometry.pores)}


def in_bridge(place: dict, gaps: dict[str, float], slack: float = 0.05) -> str | None:
    """The pore whose bridge to the central void holds the point (``place``: ``BoundaryDistance.describe``),
    or None. A point of the bridge (the straight void–pore segment) has d_void + d_pore = the gap; ``slack``
    allows for the faceted surfaces and the stress sampling points."""
    d = place["distances_m"]
    sums = {n: d["void"] + d[n] for n in gaps if n in d and "void" in d}
    if not sums:
        return None
    pore = min(sums, key=lambda n: sums[n] / gaps[n])
    return pore if sums[pore] <= (1 + slack) * gaps[pore] else None


def damage_onset(history: dict, kind: str, boundaries, level: float = DAMAGE_ONSET) -> dict | None:
    """First step with d_max > ``level``: t, DOD, position and nearest boundary; None when never."""
    from sim.fracture.hotspots import to_physical

    hit = np.flatnonzero(history["damage_max"] > level)
    if not len(hit):
        return None
    i = int(hit[0])
    where = to_physical(kind, history["damage_at"][i])[0]
    place = boundaries.describe(where)
    return {"criterion": f"phase field d_max > {level:g}", "t_s": float(history["t_s"][i]),
            "dod": float(history["dod"][i]), "position_m": [float(v) for v in where],
            "location": place["nearest_boundary"], "distance_to_location_m": place["distance_to_nearest_boundary_m"]}


# --------------------------------------------------------------------------- the scenario
def _sizes(case, params, three_d: bool):
    """(ℓ, inner size, outer size) in m; the 3D variant reads ``size_inner_3d``/``size_outer_3d``."""
    ell = params.mechanics.phase_field_length
    suffix = "_3d" if three_d else ""
    inner = case.quantity(f"size_inner{suffix}", "m", 0.3e-6 if three_d else params.mesh.size_inner)
    outer = case.quantity(f"size_outer{suffix}", "m", 2e-6 if three_d else params.mesh.size_outer)
    return ell, inner, outer


def run(case, out, comm) -> dict:
    """``sim scenario`` for kind = "cracking" (``geometry = "3d"``: the discharge only, order-1 tetrahedra of
    ``size_inner_3d``/``size_outer_3d`` with ℓ = ``phase_field_length_3d``, pores at ``pores_3d``; slow, run it
    under ``mpiexec -n 2``)."""
    from sim.errors import InputError
    from sim.fracture.hotspots import BoundaryDistance
    from sim.fracture.options import PhaseFieldOptions
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.mesh import mesh_from_params
    from sim.scenarios.case import write_csv

    params = case.load_params()
    params.require("transport", "kinetics", "mechanics")
    mech = params.mechanics
    for key in ("tensile_strength", "fracture_energy", "phase_field_length"):
        if getattr(mech, key) is None:
            raise InputError("the cracking scenario needs this parameter (a value > 0)", file=case.file,
                             key=f"mechanics.{key}")
    geometry = case.choice("geometry", ("axisym", "3d"), "axisym")
    three_d = geometry == "3d"
    ell, inner, outer = _sizes(case, params, three_d)
    params = params.override({"mesh.size_inner": f"{inner} m", "mesh.size_outer": f"{outer} m"})
    if three_d:
        # a 3D mesh cannot reach h <= l/2 at l = 0.1 um in minutes: a larger l (stated in the summary)
        ell = case.quantity("phase_field_length_3d", "m", ell)
        params = params.override({"mechanics.phase_field_length": f"{ell} m",
                                  **({"geometry.pores": case.settings["pores_3d"]} if "pores_3d" in case.settings
                                     else {})}, f"{case.file} [cracking]")
    fraction = case.quantity("capacity_fraction", "", 0.2)
    dt_max_10c = case.quantity("dt_max", "s", 2.0)
    directions = case.settings.get("directions", ["discharge", "charge"]) if not three_d else ["discharge"]
    if not isinstance(directions, list) or not directions or any(d not in ("discharge", "charge") for d in directions):
        raise InputError(f"got {directions!r}; allowed: a list of \"discharge\", \"charge\"", file=case.file,
                         key="cracking.directions")
    verify, path = (_flag(case, key) and not three_d for key in ("verify_critical_toughness", "crack_path"))
    fracture = PhaseFieldOptions(variant=case.choice("variant", ("AT1", "AT2"), "AT2"),
                                 split=case.choice("split", ("none", "spectral", "volumetric-deviatoric"), "spectral"))
    pmesh = mesh_from_params(params, geometry, order=1 if three_d else case.integer("order", 2), comm=comm)
    boundaries = BoundaryDistance(pmesh)
    gaps = bridge_gaps(params.geometry)
    sigma_f, g_c = mech.tensile_strength, mech.fracture_energy
    src = params.sources
    summary = {"geometry": geometry, "strain_model": mech.strain_model,
               "capacity_fraction": fraction,
               "tensile_strength_Pa": sigma_f, "tensile_strength_source": src.get("mechanics.tensile_strength"),
               "fracture_energy_J_m2": g_c,
               "fracture_energy_source": src.get("mechanics.fracture_energy", src.get("mechanics.fracture_toughness")),
               "fracture_toughness_source": src.get("mechanics.fracture_toughness"),
               "phase_field_length_m": ell, "phase_field_length_source": src.get("mechanics.phase_field_length"),
               "phase_field": {"variant": fracture.variant, "split": fracture.split},
               "mesh": {"size_inner_m": inner, "size_outer_m": outer, "ell_over_h_inner": ell / inner,
                        "ell_over_h_outer": ell / outer, "cells": _cells(pmesh)},
               "runs": {}}
    histories = {}
    for direction in directions:
        tr = params.transport
        # the charge starts 0.1 % below full: from exactly zero elastic strain the spectral-split SNES stalls
        soc0 = 0.0 if direction == "discharge" else 1e-3
        x0 = tr.x_min if direction == "discharge" else tr.x_max - soc0 * (tr.x_max - tr.x_min)
        p_dir = params.override({"transport.x_initial": f"{x0!r}"})
        for label, rate in RUNS:
            stop = Stop(dod=fraction) if direction == "discharge" else Stop(soc=soc0 + fraction)
            step = Galvanostatic(rate, direction, stop)
            h = phase_field_run(p_dir, pmesh, step, dt_max=dt_max_10c * 10.0 / rate, fracture=fracture, comm=comm)
            key = f"{direction}_{label}"
            histories[key] = h
            summary["runs"][key] = _run_summary(h, sigma_f, geometry, boundaries, direction, gaps)
            if comm.rank == 0:
                write_csv(out / f"timeseries_{key}.csv", _columns(h, sigma_f))
            if rate == 10.0:
                _damage_map(h["problem"], out / f"damage_{key}.png", comm,
                            title=f"{case.title}: {direction} at {label} to {100 * fraction:.0f} % of capacity")
    summary["critical"] = _critical(summary, histories, sigma_f, g_c, geometry, boundaries)
    if verify and "discharge_10C" in histories:
        summary["critical"]["discharge"]["verification"] = _verify_gc(
            params, pmesh, summary, fraction, dt_max_10c, fracture, comm)
    if path:
        summary["crack_path"] = _crack_path(params, pmesh, case, fraction, dt_max_10c, fracture, comm, out,
                                            boundaries, gaps)
    summary["conclusion"] = _conclusion(summary)
    if comm.rank == 0:
        _plot_histories(histories, out / "cracking_histories.png", sigma_f, case.title)
        print(summary["conclusion"]["line"])
    return summary


def _cells(pmesh) -> int:
    msh = pmesh.mesh
    return pmesh.comm.allreduce(msh.topology.index_map(msh.topology.dim).size_local)


def _columns(h, sigma_f) -> dict:
    return {"t_s": h["t_s"], "dod": h["dod"], "potential_V": h["potential_V"],
            "max_principal_max_Pa": h["max_principal_Pa"], "max_principal_over_strength": h["max_principal_Pa"] / sigma_f,
            "hoop_bridge_Pa": h["hoop_bridge_Pa"], "damage_max": h["damage_max"], "crack_area_m2": h["crack_area_m2"]}


def _run_summary(h, sigma_f, kind, boundaries, direction, gaps) -> dict:
    from sim.fracture.hotspots import to_physical

    i = int(np.argmax(h["max_principal_Pa"]))
    where = to_physical(kind, h["max_principal_at"][i])[0]
    place = boundaries.describe(where)
    return {"direction": direction, "final_dod": float(h["dod"][-1]), "time_steps": int(h["steps"]),
            "staggered_iterations": int(h["iterations"]), "wall_time_s": h["wall_time_s"],
            "setup_time_s": h["setup_time_s"], "time_loop_s": h["wall_time_s"] - h["setup_time_s"],
            "max_principal_max_Pa": float(h["max_principal_Pa"][i]), "max_principal_at_dod": float(h["dod"][i]),
            "max_principal_position_m": [float(v) for v in where], "max_principal_location": place["nearest_boundary"],
            "max_principal_distance_to_location_m": place["distance_to_nearest_boundary_m"],
            "max_principal_in_bridge_of": in_bridge(place, gaps),
            "max_principal_final_Pa": float(h["max_principal_Pa"][-1]),
            "hoop_bridge_final_Pa": float(h["hoop_bridge_Pa"][-1]),
            "max_principal_over_strength_max": float(h["max_principal_Pa"][i] / sigma_f),
            "onset": strength_onset(h, sigma_f, kind, boundaries),
            "damage_max": float(h["damage_max"][-1]), "crack_area_m2": float(h["crack_area_m2"][-1]),
            "damage_onset": damage_onset(h, kind, boundaries),
            "damage_max_in_bridge_of": in_bridge(boundaries.describe(to_physical(kind, h["damage_at"][-1])[0]), gaps),
            "damage_max_position_m": [float(v) for v in to_physical(kind, h["damage_at"][-1])[0]],
            "damage_max_location": boundaries.describe(to_physical(kind, h["damage_at"][-1])[0])["nearest_boundary"]}


def _critical(summary, histories, sigma_f, g_c, kind, boundaries) -> dict:
    """The strength / toughness windows in which 10C cracks and 0.1C does not, per direction."""
    out = {}
    for direction in ("discharge", "charge"):
        fast, slow = histories.get(f"{direction}_10C"), histories.get(f"{direction}_0.1C")
        if fast is None or slow is None:
            continue
        s_fast, s_slow = float(fast["max_principal_Pa"].max()), float(slow["max_principal_Pa"].max())
        d_fast, d_slow = float(fast["damage_max"].max()), float(slow["damage_max"].max())
        # AT2 with d ≪ 1: d ≈ 2ℓH/G_c, so d_max = 0.01 at G_c* = G_c d_max / 0.01
        gc_fast, gc_slow = g_c * d_fast / DAMAGE_ONSET, g_c * d_slow / DAMAGE_ONSET
        out[direction] = {
            "critical_strength_10C_Pa": s_fast, "critical_strength_0p1C_Pa": s_slow,
            "strength_window_Pa": [s_slow, s_fast],
            "onset_10C_at_critical_strength": strength_onset(fast, s_fast * (1 - 1e-9), kind, boundaries),
            "onset_0p1C_at_critical_strength": strength_onset(slow, s_fast * (1 - 1e-9), kind, boundaries),
            "stress_ratio_10C_to_0p1C_final": float(fast["max_principal_Pa"][-1] / slow["max_principal_Pa"][-1]),
            "bridge_hoop_ratio_10C_to_0p1C_final": float(fast["hoop_bridge_Pa"][-1] / slow["hoop_bridge_Pa"][-1]),
            "critical_fracture_energy_10C_J_m2": gc_fast, "critical_fracture_energy_0p1C_J_m2": gc_slow,
            "fracture_energy_window_J_m2": [gc_slow, gc_fast],
            "estimate": "G_c* = G_c d_max / 0.01 (AT2, d = 2 l H / G_c to first order in d)"}
    return out


def _verify_gc(params, pmesh, summary, fraction, dt_max, fracture, comm) -> dict:
    """Re-run the 10C discharge with G_c = the critical estimate: d_max at the end (≈ 0.01 if the estimate holds)."""
    from sim.lithium.protocol import Galvanostatic, Stop

    gc = summary["critical"]["discharge"]["critical_fracture_energy_10C_J_m2"]
    p = params.override({"transport.x_initial": f"{params.transport.x_min}", "mechanics.fracture_energy": f"{gc} J/m^2"},
                        "cracking scenario: critical G_c")
    h = phase_field_run(p, pmesh, Galvanostatic(10.0, "discharge", Stop(dod=fraction)), dt_max=dt_max,
                        fracture=fracture, comm=comm)
    return {"fracture_energy_J_m2": gc, "damage_max": float(h["damage_max"].max()), "wall_time_s": h["wall_time_s"]}


def _flag(case, key: str) -> bool:
    from sim.errors import InputError

    value = case.settings.get(key, True)
    if not isinstance(value, bool):
        raise InputError(f"got {value!r}; allowed: true or false", file=case.file, key=f"cracking.{key}")
    return value


def _crack_path(params, pmesh, case, fraction, dt_max, fracture, comm, out, boundaries, gaps) -> dict:
    """The 10C discharge with ``crack_path_fracture_energy``: where d reaches 0.5 first and how far the band
    runs (map ``damage_path_discharge_10C.png``). Once the bridges break the crack runs unstably at a fixed
    load, and alternate minimisation advances its tip by about a cell per iteration: the staggered solve gets
    :data:`CRACK_PATH_ITERATIONS` instead of the model's 100. A solver failure ends the run
    there: reported with the results and the map so far."""
    import dataclasses

    from sim.fracture.hotspots import to_physical
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.scenarios.case import write_csv

    gc = case.quantity("crack_path_fracture_energy", "J/m^2", 5e-4)
    fracture = dataclasses.replace(fracture, max_iterations=max(fracture.max_iterations, CRACK_PATH_ITERATIONS))
    p = params.override({"transport.x_initial": f"{params.transport.x_min!r}", "mechanics.fracture_energy": f"{gc} J/m^2"},
                        f"{case.file} [cracking] crack_path_fracture_energy")
    h = phase_field_run(p, pmesh, Galvanostatic(10.0, "discharge", Stop(dod=fraction)), dt_max=dt_max,
                        fracture=fracture, comm=comm, keep_failure=True)
    kind = pmesh.kind
    onset = damage_onset(h, kind, boundaries)
    half = damage_onset(h, kind, boundaries, level=0.5)
    if half is not None:
        half["in_bridge_of"] = in_bridge(boundaries.describe(half["position_m"]), gaps)
    d = h["problem"].mechanics.damage
    n = d.function_space.dofmap.index_map.size_local
    xyz = to_physical(kind, d.function_space.tabulate_dof_coordinates()[:n])
    cracked = np.linalg.norm(xyz[d.x.array[:n] >= 0.5], axis=1)
    reach = comm.allreduce(float(cracked.max()) if len(cracked) else 0.0, op=_mpi_max())
    if comm.rank == 0:
        write_csv(out / "timeseries_crack_path_discharge_10C.csv", _columns(h, params.mechanics.tensile_strength))
    _damage_map(h["problem"], out / "damage_path_discharge_10C.png", comm,
                title=f"10C discharge with G_c = {gc:.3g} J/m^2 (crack path), t = {h['t_s'][-1]:.3g} s, "
                      f"DOD {100 * h['dod'][-1]:.3g} %" + (" (solver stopped)" if h["failure"] else ""))
    return {"fracture_energy_J_m2": gc, "status": "completed" if h["failure"] is None else "failed",
            "failure": h["failure"], "t_end_s": float(h["t_s"][-1]), "dod_end": float(h["dod"][-1]),
            "damage_max": float(h["damage_max"][-1]),
            "crack_area_m2": float(h["crack_area_m2"][-1]), "damage_onset": onset, "d_half_onset": half,
            "d_half_reach_from_centre_m": reach, "wall_time_s": h["wall_time_s"], "time_steps": int(h["steps"]),
            "staggered_iterations": int(h["iterations"])}


def _mpi_max():
    from mpi4py import MPI
    return MPI.MAX


def _conclusion(summary) -> dict:
    runs = summary["runs"]
    parts, out = [], {}
    for key, r in runs.items():
        onset = r["onset"]
        where = "no onset" if onset is None else (f"onset at DOD {100 * onset['dod'] if r['direction'] == 'discharge' else 100 * (1 - onset['dod']):.3g} % "
                                                  f"near {onset['location']}")
        spot = r["max_principal_location"] + (" (bridge)" if r["max_principal_in_bridge_of"] else "")
        parts.append(f"{key}: max s1 {r['max_principal_max_Pa'] / 1e6:.3g} MPa at {spot}, "
                     f"{where}, d_max {r['damage_max']:.2g}")
        out[key] = {"cracks_strength": onset is not None, "cracks_phase_field": r["damage_onset"] is not None}
    crit = summary["critical"].get("discharge")
    if crit:
        a, b = crit["strength_window_Pa"]
        parts.append(f"discharge cracks at 10C and not at 0.1C iff sigma_f in ({a / 1e6:.3g}, {b / 1e6:.3g}] MPa "
                     f"(set: {summary['tensile_strength_Pa'] / 1e6:.3g} MPa)")
    out["line"] = "cracking_liu2024: " + "; ".join(parts)
    return out


# --------------------------------------------------------------------------- plots
def _in_cavity(geometry, x, z, mirrored: bool) -> np.ndarray:
    """Points (x, z) of the section y = 0 (m) inside the void or a pore, or outside the particle (the
    Delaunay triangulation of the nodes spans them); ``mirrored``: an axisymmetric section, x = ±r."""
    rho = np.hypot(x, z)
    out = (rho < geometry.void_radius) | (rho > geometry.particle_radius)
    for p in geometry.pores:
        cx = np.hypot(p.centre[0], p.centre[1]) if mirrored else p.centre[0]
        out |= np.hypot((np.abs(x) if mirrored else x) - cx, z - p.centre[2]) < p.radius
    return out


def _damage_map(problem, path, comm, *, title: str, zoom: float = 2.0e-6) -> None:
    """Damage d on the (r, z) section, mirrored to r < 0, with the d = 0.5 contour (axisym); 3D: the y ≈ 0
    nodes. Collective (gathers the P1 damage to rank 0)."""
    d = problem.mechanics.damage
    n = d.function_space.dofmap.index_map.size_local
    xy = d.function_space.tabulate_dof_coordinates()[:n]
    values = d.x.array[:n]
    pts, vals = comm.gather(xy, root=0), comm.gather(values, root=0)
    if comm.rank != 0:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.tri as mtri

    xy, values = np.concatenate(pts), np.concatenate(vals)
    if problem.pmesh.kind == "3d":
        keep = np.abs(xy[:, 1]) < 0.05 * np.abs(xy).max()
        xy, values = xy[keep][:, [0, 2]], values[keep]
    r, z = xy[:, 0], xy[:, 1]
    geometry = problem.params.geometry
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, window in zip(axes, (None, zoom)):
        mirrored = problem.pmesh.kind == "axisym"
        rr, zz = (np.concatenate([r, -r]), np.concatenate([z, z])) if mirrored else (r, z)
        vv = np.concatenate([values, values]) if mirrored else values
        tri = mtri.Triangulation(rr * 1e6, zz * 1e6)
        tri.set_mask(_in_cavity(geometry, rr[tri.triangles].mean(axis=1), zz[tri.triangles].mean(axis=1), mirrored))
        pcm = ax.tripcolor(tri, vv, shading="gouraud", cmap="inferno", vmin=0, vmax=max(float(vv.max()), 1e-12))
        if vv.max() >= 0.5:
            ax.tricontour(tri, vv, levels=[0.5], colors="cyan", linewidths=1.2)
        fig.colorbar(pcm, ax=ax, label="damage d")
        ax.set_aspect("equal")
        if window:
            ax.set_xlim(-window * 1e6, window * 1e6)
            ax.set_ylim(-window * 1e6, window * 1e6)
        ax.set_xlabel("x (um)")
        ax.set_ylabel("z (um)")
    axes[0].set_title(f"d (max {values.max():.3g}); cyan: d = 0.5" if values.max() >= 0.5 else
                      f"d (max {values.max():.3g}; no d >= 0.5)", fontsize=8)
    axes[1].set_title(f"zoom +-{zoom * 1e6:.3g} um (void and pores)", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_histories(histories, path, sigma_f, title) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for key, h in histories.items():
        frac = h["dod"] if key.startswith("discharge") else 1 - h["dod"]
        a1.semilogy(100 * frac, np.maximum(h["max_principal_Pa"], 1.0) / 1e6, label=key)
        a2.semilogy(100 * frac, np.maximum(h["damage_max"], 1e-12), label=key)
    a1.axhline(sigma_f / 1e6, color="k", ls=":", label="sigma_f (set)")
    a1.set_xlabel("capacity passed (% DOD on discharge, % SOC on charge)")
    a1.set_ylabel("max principal stress (MPa)")
    a2.axhline(DAMAGE_ONSET, color="k", ls=":", label="onset d = 0.01")
    a2.set_xlabel("capacity passed (%)")
    a2.set_ylabel("max damage d")
    for ax in (a1, a2):
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
