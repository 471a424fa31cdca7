"""Forward O-loss simulation from a case file: ``run_oxygen_case`` and ``sim oxygen CASE.toml``.

Case file (TOML)::

    model = "oxygen"
    params = "csernica2021"          # parameter set name or path
    geometry = "radial"              # radial (1D sphere) | axisym (2D (r, z)) | 3d
    [protocol]
    cycles = 500                     # 1 .. 1e6
    hours_delithiated_per_cycle = 1.2   # > 0 and <= 1e4 h (bare number: hours)
    temperature = "25 degC"          # optional, default [conditions] temperature
    [solver]                         # optional
    degree = 1                       # Lagrange degree, 1 or 2
    surface_size = "0.24 nm"         # radial: element size at the surface (default R/500); else element size
    grading = 25                     # radial: interior/surface element size, 1 .. 1e4
    steps_per_level = 8              # time steps per halving window (Δt <= t/8)
    linear_solver = "auto"           # auto | lu | cg
    [output]                         # optional
    lamella_offset = "0 nm"          # >= 0 and < radius + lamella thickness / 2
    profile_points = 200             # radial samples, 2 .. 1e5
    [set]                            # optional parameter overrides, as --set
    "oxygen.surface_vacancy_fraction" = 0.06

Overrides (``--set`` or ``overrides=``) with keys ``protocol.*``, ``solver.*``, ``output.*``,
``geometry`` or ``params`` change the case; any other key (``oxygen.diffusivity``, ...) is a
parameter override. Unknown keys are refused everywhere, and :func:`prepare_oxygen_case` checks the
whole case (and the mesh's cost, :func:`sim.case.check_cost`) before anything is built or written.
"""
from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.case import Entries, Layers, check_cost, estimate_cost, read_toml
from sim.errors import InputError, SolverError

GEOMETRIES = ("radial", "axisym", "3d")
CASE_KEYS = ("model", "params", "geometry", "protocol", "solver", "output", "set", "title")
PROTOCOL_KEYS = ("cycles", "hours_delithiated_per_cycle", "temperature")
SOLVER_KEYS = ("degree", "surface_size", "grading", "steps_per_level", "linear_solver")
OUTPUT_KEYS = ("lamella_offset", "profile_points")
CASE_TABLES = ("protocol", "solver", "output")
MAX_CYCLES = 1_000_000          # one record per cycle; far beyond any cell's life
MAX_PROFILE_POINTS = 100_000


@dataclass(frozen=True)
class OxygenSpec:
    """A validated oxygen case (SI): everything a run needs, checked before anything is built or written."""

    file: str
    pset: Any
    geometry: str
    cycles: int
    hours: float                 # s delithiated per cycle (SI despite the name of the key)
    temperature: float           # K
    degree: int
    linear_solver: str
    surface_size: float          # m (radial: at the surface; axisym/3d: element size)
    grading: float
    steps_per_level: int
    lamella_offset: float        # m
    profile_points: int
    raw: dict


# --------------------------------------------------------------------------- case reading
def load_case(case, overrides: dict | None = None, origin: str = "--set") -> tuple[dict, str, Layers]:
    """Read a case (path or dict), apply overrides; returns (case dict, file name, parameter overrides).

    Overrides with keys ``protocol.*``, ``solver.*``, ``output.*``, ``geometry`` or ``params`` edit
    the case; others are parameter overrides, layered over the case's ``[set]`` table with their
    origin (``origin``, e.g. ``--set`` or a sweep file's axis) so errors name where a value came from.
    """
    if isinstance(case, dict):
        data, file = copy.deepcopy(case), "<case>"
    else:
        data, file = read_toml(case, "case file"), str(case)
    Entries(data, file=file).allow(CASE_KEYS)
    own = data.get("set", {})
    if not isinstance(own, dict):
        raise InputError('[set] must map "section.key" to a value with units', file=file, key="set")
    layers = Layers().add(own, f"{file} [set]")
    case_origins: dict[str, str] = {}
    origins = origin if isinstance(origin, dict) else {}
    for key, value in (overrides or {}).items():
        head, _, tail = key.partition(".")
        where = origins.get(key, origin if isinstance(origin, str) else "--set")
        if key in ("geometry", "params") or head in CASE_TABLES:
            if tail:
                if not isinstance(data.setdefault(head, {}), dict):
                    raise InputError(f"[{head}] must be a table", file=file, key=head)
                data[head][tail] = value
            else:
                data[key] = value
            case_origins[key] = where
        else:
            layers.add({key: value}, where)
    data["set"] = layers.values
    data["_origins"] = case_origins
    model = data.get("model", "oxygen")
    if model != "oxygen":
        raise InputError(f"model {model!r} is not run by 'sim oxygen'; allowed: oxygen", file=file, key="model")
    return data, file, layers


def prepare_oxygen_case(case, overrides: dict | None = None, origin: str | dict = "--set") -> OxygenSpec:
    """Read, check and resolve a case without building anything (a sweep validates every case this way).

    Every bad entry raises InputError naming the file (or the override's origin), the key, what
    was found and what is allowed; the cost of the mesh is estimated and refused over the limit.
    """
    from sim.params import load_params

    data, file, layers = load_case(case, overrides, origin)
    origins = data.pop("_origins")
    top = Entries({k: v for k, v in data.items() if k not in CASE_TABLES + ("set",)}, file=file, origins=origins)
    geometry = top.choice("geometry", GEOMETRIES, "radial")
    params = top.raw("params", "csernica2021")
    if not isinstance(params, str):
        raise InputError(f"got {params!r}; allowed: a parameter set name or a .toml path", file=top.origin("params"),
                         key="params")
    if params.endswith(".toml") and not Path(params).is_absolute() and file != "<case>":
        params = str(Path(file).parent / params)
    pset = load_params(params, layers.values or None, layers.origins)
    pset.require("oxygen", "primary")
    pr, sv, out = (Entries(data.get(t), file=file, prefix=t, origins=origins, bare_units=True).allow(keys)
                   for t, keys in zip(CASE_TABLES, (PROTOCOL_KEYS, SOLVER_KEYS, OUTPUT_KEYS)))
    if not (pr.has("cycles") and pr.has("hours_delithiated_per_cycle")):
        raise InputError("missing [protocol] cycles and hours_delithiated_per_cycle", file=file, key="protocol")
    ox, R = pset.oxygen, pset.primary.radius
    default_t = pset.conditions.temperature if pset.conditions else ox.reference_temperature
    if geometry == "radial" and pset.primary.aspect_ratio != 1.0:
        raise InputError("a radial (1D) run needs a sphere; use geometry axisym or 3d for aspect_ratio != 1",
                         file=top.origin("geometry"), key="geometry")
    default_size = R / 500 if geometry == "radial" else pset.mesh.size_primary
    spec = OxygenSpec(
        file=file, pset=pset, geometry=geometry,
        cycles=pr.integer("cycles", ge=1, le=MAX_CYCLES),
        hours=pr.quantity("hours_delithiated_per_cycle", "h", gt=0, le=1e4),
        temperature=pr.quantity("temperature", "K", default_t, gt=0, le=2000),
        degree=sv.integer("degree", 1, ge=1, le=2),
        linear_solver=sv.choice("linear_solver", ("auto", "lu", "cg"), "auto"),
        surface_size=sv.quantity("surface_size", "nm", default_size, gt=0, le=R * 1e9),
        grading=sv.quantity("grading", "", 25.0, ge=1, le=1e4),
        steps_per_level=sv.integer("steps_per_level", 8, ge=1, le=1000),
        lamella_offset=out.quantity("lamella_offset", "nm", 0.0, ge=0,
                                    lt=(R + ox.lamella_thickness / 2) * 1e9),
        profile_points=out.integer("profile_points", 200, ge=2, le=MAX_PROFILE_POINTS),
        raw=data)
    dim = {"radial": 1, "axisym": 2, "3d": 3}[geometry]
    measure = {1: R, 2: math.pi * R * R / 2, 3: 4 / 3 * math.pi * R**3}[dim]
    check_cost(estimate_cost(dim, measure, spec.surface_size, degree=spec.degree), file=sv.origin("surface_size"),
               key="solver.surface_size" if sv.has("surface_size") else "mesh.size_primary",
               what=f"this {geometry} oxygen run")
    return spec


# --------------------------------------------------------------------------- the run
def run_oxygen_case(case, out_dir, overrides: dict | None = None, comm=None, *, overwrite: bool = False,
                    origin: str | dict = "--set") -> dict:
    """Run a forward O-vacancy simulation and write summary.json, o_loss.csv, profile CSVs and PNGs.

    ``case``: path to a TOML case file or an equivalent dict; ``overrides``: {"key": value} as
    ``--set``. The whole case and ``out_dir`` are checked before any work (bad input: InputError,
    nothing written); results are staged and renamed into ``out_dir`` at the end. A SolverError
    keeps the cycles done so far in ``out_dir`` (``o_loss.csv``, ``summary.json`` with status failed).
    Returns the summary dict (also in ``out_dir/summary.json``).
    """
    import dolfinx_solver  # noqa: F401
    from mpi4py import MPI

    from sim.io import StagedDir, check_out_dir
    from sim.oxygen.diffusion import VacancyDiffusion
    from sim.oxygen.formation import FormationLayer
    from sim.oxygen.protocol import CyclingProtocol, mn3_per_vacancy

    comm = MPI.COMM_WORLD if comm is None else comm
    started = time.perf_counter()
    spec = prepare_oxygen_case(case, overrides, origin)
    out_dir = Path(out_dir)
    check_out_dir(out_dir, overwrite)
    pset, file, geometry = spec.pset, spec.file, spec.geometry
    ox, R = pset.oxygen, pset.primary.radius
    protocol = CyclingProtocol(spec.cycles, spec.hours, spec.temperature)
    pm = _mesh(geometry, pset, spec, comm)
    solver = VacancyDiffusion(pm, ox.diffusivity, ox.surface_vacancy_fraction, ox.bulk_vacancy_fraction,
                              surface_exchange_rate=ox.surface_exchange_rate, degree=spec.degree,
                              linear_solver=spec.linear_solver, formation=FormationLayer.from_oxygen(ox))
    t_cycle = protocol.effective_cycle_time(ox)
    per_vac = mn3_per_vacancy(ox)
    stage = StagedDir(out_dir, comm=comm, overwrite=overwrite, command="sim oxygen")
    try:
        summary = _solve_and_write(spec, stage, solver, protocol, pm, t_cycle, per_vac, comm, started)
    except SolverError:
        raise                     # partial results already kept in out_dir
    except BaseException:
        stage.discard()
        raise
    stage.publish()
    return summary


def _solve_and_write(spec: OxygenSpec, stage, solver, protocol, pm, t_cycle, per_vac, comm, started) -> dict:
    """Run the cycles, sample the profiles and write every output into the staged folder; returns the summary."""
    from sim.oxygen.formation import penetration_depth

    pset, geometry, file = spec.pset, spec.geometry, spec.file
    ox, R = pset.oxygen, pset.primary.radius
    history: list[tuple[int, float, float]] = []

    def record(index, s):
        history.append((index + 1, (index + 1) * protocol.delithiated_time_per_cycle, s.mean()))

    try:
        solver.run(t_cycle * np.arange(1, protocol.cycles + 1), record, steps_per_level=spec.steps_per_level)
    except SolverError as err:
        if comm.rank == 0:  # keep what the run had
            _write_history(stage.path, history, per_vac)
            _write_json(stage.path / "summary.json", {"status": "failed", "case": spec.file, "error": str(err),
                                                       "time_s": err.time, "cycles_done": len(history)})
        stage.keep_as(stage.out)
        raise
    r, y = solver.radial_samples(spec.profile_points)
    offset = spec.lamella_offset
    lamella = None
    if pset.primary.aspect_ratio == 1.0:
        from sim.oxygen.projection import LamellaProjection

        d = np.linspace(0.0, R, 121)
        lamella = (d, LamellaProjection(R, ox.lamella_thickness, d, offset=offset, blur_fwhm=ox.blur_fwhm)
                   .matrix(r) @ y)
    summary = {
        "status": "completed",
        "model": "oxygen", "case": file, "params": pset.name, "geometry": geometry, "mesh_kind": pm.kind,
        "cells": pm.num_cells, "dofs": solver.V.dofmap.index_map.size_global, "degree": spec.degree,
        "cycles": protocol.cycles, "hours_delithiated_per_cycle": protocol.delithiated_time_per_cycle / 3600,
        "temperature_K": spec.temperature, "D_O_cm2_s": ox.diffusivity * 1e4,
        "effective_time_per_cycle_s": t_cycle, "tau_final": ox.diffusivity * t_cycle * protocol.cycles / R**2,
        "particle_radius_nm": R * 1e9, "surface_o_vacancy_fraction": ox.surface_vacancy_fraction,
        "bulk_o_vacancy_fraction": ox.bulk_vacancy_fraction,
        "surface_exchange_rate_m_s": ox.surface_exchange_rate if math.isfinite(ox.surface_exchange_rate) else None,
        "o_loss_at_pct_cycle_1": 100 * history[0][2], "o_loss_at_pct_final": 100 * history[-1][2],
        "mean_mn3_fraction_final": per_vac * history[-1][2],
        "surface_mn3_fraction_final": per_vac * float(y[-1]), "centre_mn3_fraction_final": per_vac * float(y[0]),
        "mn3_per_vacancy": per_vac, "factorisations_or_preconditioners": solver.factorisations,
        "formation_layer_thickness_nm": ox.formation_layer_thickness * 1e9,
        "penetration_depth_10pct_nm": _nm(penetration_depth(R - r, y - ox.bulk_vacancy_fraction)),
        "wall_time_s": time.perf_counter() - started,
    }
    if lamella is not None:
        summary["lamella_edge_mn3_fraction_final"] = per_vac * float(lamella[1][0])
        summary["lamella_thickness_nm"] = ox.lamella_thickness * 1e9
        summary["lamella_offset_nm"] = offset * 1e9
    if comm.rank == 0:
        _write_outputs(stage.path, summary, history, per_vac, r, y, lamella, pset, protocol, ox)
    return summary


def _nm(length_m: float | None) -> float | None:
    return None if length_m is None else length_m * 1e9


def _write_json(path: Path, data: dict) -> None:
    from sim.io import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=2, default=str))


def _mesh(geometry, pset, spec: OxygenSpec, comm):
    from sim.mesh import primary_particle_mesh, radial_mesh

    R = pset.primary.radius
    if geometry == "radial":
        return radial_mesh(R, size=spec.surface_size, grading=spec.grading, comm=comm)
    return primary_particle_mesh(R, aspect_ratio=pset.primary.aspect_ratio, dim=2 if geometry == "axisym" else 3,
                                 size=spec.surface_size, comm=comm)


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
    write_text_atomic(out_dir / "params.json", json.dumps(pset.as_dict("display"), indent=2, default=str))
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
