"""Forward O-loss simulation from a case file: ``run_oxygen_case`` and ``sim oxygen CASE.toml``.

Case file (TOML)::

    model = "oxygen"
    params = "csernica2021"          # parameter set name or path
    geometry = "radial"              # radial (1D sphere) | axisym (2D (r, z)) | 3d
    [protocol]
    cycles = 500
    hours_delithiated_per_cycle = 1.2
    temperature = "25 degC"          # optional, default [conditions] temperature
    [solver]                         # optional
    degree = 1                       # Lagrange degree
    surface_size = "0.24 nm"         # radial: element size at the surface (default R/500)
    grading = 25                     # radial: interior/surface element size
    steps_per_level = 8              # time steps per halving window (Δt <= t/8)
    [output]                         # optional
    lamella_offset = "0 nm"
    [set]                            # optional parameter overrides, as --set
    "oxygen.surface_vacancy_fraction" = 0.06

Overrides (``--set`` or ``overrides=``) with keys ``protocol.*``, ``solver.*``, ``output.*``,
``geometry`` or ``params`` change the case; any other key (``oxygen.diffusivity``, ...) is a
parameter override.
"""
from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path

import numpy as np

from sim.errors import InputError, SolverError
from sim.io import read_toml

GEOMETRIES = ("radial", "axisym", "3d")
CASE_KEYS = {"model", "params", "geometry", "protocol", "solver", "output", "set", "title"}
PROTOCOL_KEYS = {"cycles", "hours_delithiated_per_cycle", "temperature"}
SOLVER_KEYS = {"degree", "surface_size", "grading", "steps_per_level", "linear_solver"}
OUTPUT_KEYS = {"lamella_offset", "profile_points"}


# --------------------------------------------------------------------------- case reading
def load_case(case, overrides: dict | None = None) -> tuple[dict, str]:
    """Read a case (path or dict), apply overrides; returns (case dict, file name for messages)."""
    if isinstance(case, dict):
        data, file = copy.deepcopy(case), "<case>"
    else:
        data, file = read_toml(case, "case file"), str(case)
    params_set = dict(data.get("set", {}))
    for key, value in (overrides or {}).items():
        head, _, tail = key.partition(".")
        if key in ("geometry", "params") or head in ("protocol", "solver", "output"):
            if tail:
                data.setdefault(head, {})[tail] = value
            else:
                data[key] = value
        else:
            params_set[key] = value
    data["set"] = params_set
    unknown = set(data) - CASE_KEYS
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(CASE_KEYS))}",
                         file=file, key=sorted(unknown)[0])
    if data.get("model", "oxygen") != "oxygen":
        raise InputError(f"model {data['model']!r} is not run by 'sim oxygen'; allowed: oxygen", file=file, key="model")
    if data.get("geometry", "radial") not in GEOMETRIES:
        raise InputError(f"geometry {data['geometry']!r} not allowed; choose {', '.join(GEOMETRIES)}",
                         file=file, key="geometry")
    for table, allowed in (("protocol", PROTOCOL_KEYS), ("solver", SOLVER_KEYS), ("output", OUTPUT_KEYS)):
        bad = set(data.get(table, {})) - allowed
        if bad:
            raise InputError(f"unknown key; allowed in [{table}]: {', '.join(sorted(allowed))}",
                             file=file, key=f"{table}.{sorted(bad)[0]}")
    if "protocol" not in data or "cycles" not in data["protocol"] or \
            "hours_delithiated_per_cycle" not in data["protocol"]:
        raise InputError("missing [protocol] cycles and hours_delithiated_per_cycle", file=file, key="protocol")
    return data, file


def _positive(value, unit, file, key, *, integer=False):
    from sim.units import to_si

    if integer:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 1:
            raise InputError(f"got {value!r}; allowed: a whole number >= 1", file=file, key=key)
        return int(value)
    v = to_si(value if not (unit and isinstance(value, (int, float))) else f"{value} {unit}", unit, file=file, key=key)
    if not (v > 0 and math.isfinite(v)):
        raise InputError(f"got {value!r}; allowed: > 0", file=file, key=key)
    return v


# --------------------------------------------------------------------------- the run
def run_oxygen_case(case, out_dir, overrides: dict | None = None, comm=None) -> dict:
    """Run a forward O-vacancy simulation and write summary.json, o_loss.csv, profile CSVs and PNGs.

    ``case``: path to a TOML case file or an equivalent dict; ``overrides``: {"key": value} as
    ``--set``. Returns the summary dict (also in ``out_dir/summary.json``).
    """
    import dolfinx_solver  # noqa: F401
    from mpi4py import MPI

    from sim.oxygen.diffusion import VacancyDiffusion
    from sim.oxygen.protocol import CyclingProtocol, mn3_per_vacancy
    from sim.params import load_params

    comm = MPI.COMM_WORLD if comm is None else comm
    started = time.perf_counter()
    data, file = load_case(case, overrides)
    pset = load_params(data.get("params", "csernica2021"), data["set"] or None)
    pset.require("oxygen", "primary")
    ox, geometry = pset.oxygen, data.get("geometry", "radial")
    pr, sv, out = data["protocol"], data.get("solver", {}), data.get("output", {})
    temperature = (_positive(pr["temperature"], "K", file, "protocol.temperature") if "temperature" in pr else
                   (pset.conditions.temperature if pset.conditions else ox.reference_temperature))
    protocol = CyclingProtocol(_positive(pr["cycles"], "", file, "protocol.cycles", integer=True),
                               _positive(pr["hours_delithiated_per_cycle"], "h", file,
                                         "protocol.hours_delithiated_per_cycle"), temperature)
    degree = sv.get("degree", 1)
    if degree not in (1, 2):
        raise InputError(f"got {degree!r}; allowed: 1 or 2", file=file, key="solver.degree")
    linear_solver = sv.get("linear_solver", "auto")
    if linear_solver not in ("auto", "lu", "cg"):
        raise InputError(f"got {linear_solver!r}; allowed: auto, lu, cg", file=file, key="solver.linear_solver")
    R = pset.primary.radius
    pm = _mesh(geometry, pset, sv, file, comm)
    solver = VacancyDiffusion(pm, ox.diffusivity, ox.surface_vacancy_fraction, ox.bulk_vacancy_fraction,
                              surface_exchange_rate=ox.surface_exchange_rate, degree=degree,
                              linear_solver=linear_solver)
    t_cycle = protocol.effective_cycle_time(ox)
    per_vac = mn3_per_vacancy(ox)
    history: list[tuple[int, float, float]] = []

    def record(index, s):
        history.append((index + 1, (index + 1) * protocol.delithiated_time_per_cycle, s.mean()))

    out_dir = Path(out_dir)
    try:
        solver.run(t_cycle * np.arange(1, protocol.cycles + 1), record,
                   steps_per_level=_positive(sv.get("steps_per_level", 8), "", file, "solver.steps_per_level",
                                             integer=True))
    except SolverError:
        if comm.rank == 0:
            _write_history(out_dir, history, per_vac)  # keep what the run had
        raise
    r, y = solver.radial_samples(int(out.get("profile_points", 200)))
    offset = _positive(out["lamella_offset"], "nm", file, "output.lamella_offset") \
        if out.get("lamella_offset") not in (None, 0, "0 nm") else 0.0
    lamella = None
    if pset.primary.aspect_ratio == 1.0:
        from sim.oxygen.projection import LamellaProjection

        d = np.linspace(0.0, R, 121)
        lamella = (d, LamellaProjection(R, ox.lamella_thickness, d, offset=offset, blur_fwhm=ox.blur_fwhm)
                   .matrix(r) @ y)
    summary = {
        "model": "oxygen", "case": file, "params": pset.name, "geometry": geometry, "mesh_kind": pm.kind,
        "cells": pm.num_cells, "dofs": solver.V.dofmap.index_map.size_global, "degree": degree,
        "cycles": protocol.cycles, "hours_delithiated_per_cycle": protocol.delithiated_time_per_cycle / 3600,
        "temperature_K": temperature, "D_O_cm2_s": ox.diffusivity * 1e4,
        "effective_time_per_cycle_s": t_cycle, "tau_final": ox.diffusivity * t_cycle * protocol.cycles / R**2,
        "particle_radius_nm": R * 1e9, "surface_o_vacancy_fraction": ox.surface_vacancy_fraction,
        "bulk_o_vacancy_fraction": ox.bulk_vacancy_fraction,
        "surface_exchange_rate_m_s": ox.surface_exchange_rate if math.isfinite(ox.surface_exchange_rate) else None,
        "o_loss_at_pct_cycle_1": 100 * history[0][2], "o_loss_at_pct_final": 100 * history[-1][2],
        "mean_mn3_fraction_final": per_vac * history[-1][2],
        "surface_mn3_fraction_final": per_vac * float(y[-1]), "centre_mn3_fraction_final": per_vac * float(y[0]),
        "mn3_per_vacancy": per_vac, "factorisations_or_preconditioners": solver.factorisations,
        "wall_time_s": time.perf_counter() - started,
    }
    if lamella is not None:
        summary["lamella_edge_mn3_fraction_final"] = per_vac * float(lamella[1][0])
        summary["lamella_thickness_nm"] = ox.lamella_thickness * 1e9
        summary["lamella_offset_nm"] = offset * 1e9
    if comm.rank == 0:
        _write_outputs(out_dir, summary, history, per_vac, r, y, lamella, pset, protocol, ox)
    return summary


def _mesh(geometry, pset, sv, file, comm):
    from sim.mesh import primary_particle_mesh, radial_mesh

    R = pset.primary.radius
    if geometry == "radial":
        if pset.primary.aspect_ratio != 1.0:
            raise InputError("a radial (1D) run needs a sphere; use geometry axisym or 3d for aspect_ratio != 1",
                             file=file, key="geometry")
        size = _positive(sv["surface_size"], "nm", file, "solver.surface_size") if "surface_size" in sv else R / 500
        grading = float(sv.get("grading", 25.0))
        return radial_mesh(R, size=size, grading=grading, comm=comm)
    size = _positive(sv["surface_size"], "nm", file, "solver.surface_size") if "surface_size" in sv \
        else pset.mesh.size_primary
    return primary_particle_mesh(R, aspect_ratio=pset.primary.aspect_ratio, dim=2 if geometry == "axisym" else 3,
                                 size=size, comm=comm)


def _write_history(out_dir: Path, history, per_vac) -> None:
    from sim.io import write_text_atomic

    rows = ["cycle,t_delithiated_s,o_loss_at_pct,mean_mn3_fraction"] + [
        f"{c},{t:.6g},{100 * m:.8g},{per_vac * m:.8g}" for c, t, m in history]
    write_text_atomic(out_dir / "o_loss.csv", "\n".join(rows) + "\n")


def _write_outputs(out_dir: Path, summary, history, per_vac, r, y, lamella, pset, protocol, ox) -> None:
    from sim.io import write_text_atomic

    R = pset.primary.radius
    _write_history(out_dir, history, per_vac)
    rows = ["r_nm,distance_from_surface_nm,o_vacancy_fraction,mn3_fraction"] + [
        f"{ri * 1e9:.6g},{(R - ri) * 1e9:.6g},{yi:.8g},{per_vac * yi:.8g}" for ri, yi in zip(r, y)]
    write_text_atomic(out_dir / "radial_profile.csv", "\n".join(rows) + "\n")
    if lamella is not None:
        head = ["# forward simulation (sim oxygen): lamella-projected profile, no noise, no sigma",
                f"# particle_radius_nm: {R * 1e9:.6g}", f"# lamella_thickness_nm: {ox.lamella_thickness * 1e9:.6g}",
                f"# cycles: {protocol.cycles}",
                f"# hours_delithiated_per_cycle: {protocol.delithiated_time_per_cycle / 3600:.6g}",
                "# quantity: mn3_fraction", f"# lamella_offset_nm: {summary['lamella_offset_nm']:.6g}",
                f"# blur_fwhm_nm: {ox.blur_fwhm * 1e9:.6g}", "distance_nm,mn3_fraction,o_vacancy_fraction"]
        rows = [f"{d * 1e9:.6g},{per_vac * v:.8g},{v:.8g}" for d, v in zip(*lamella)]
        write_text_atomic(out_dir / "lamella_profile.csv", "\n".join(head + rows) + "\n")
    write_text_atomic(out_dir / "params.json", json.dumps(pset.as_dict(), indent=2, default=str))
    _plot(out_dir, summary, history, per_vac, r, y, lamella, R)
    write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=2))


def _plot(out_dir, summary, history, per_vac, r, y, lamella, R) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.io import savefig_atomic

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot((R - r) * 1e9, per_vac * y, label="radial (r = R − distance)")
    if lamella is not None:
        a1.plot(lamella[0] * 1e9, per_vac * lamella[1], label=f"lamella {summary['lamella_thickness_nm']:.0f} nm, blurred")
    a1.set_xlabel("distance from particle edge (nm)")
    a1.set_ylabel("Mn3+ fraction of Mn (-)")
    a1.set_title(f"after {summary['cycles']} cycles")
    a1.legend()
    cyc = [h[0] for h in history]
    a2.plot(cyc, [100 * h[2] for h in history])
    a2.set_xlabel("cycle number (-)")
    a2.set_ylabel("O loss (at.% of O)")
    a2.set_xscale("log")
    fig.tight_layout()
    savefig_atomic(fig, out_dir / "profile.png", dpi=120)
    plt.close(fig)
