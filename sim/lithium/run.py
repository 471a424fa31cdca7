"""``sim run CASE.toml --out DIR``: run a Li transport + stress case and write a results folder.

The folder (written to a hidden sibling and renamed at the end; an existing non-empty folder is
refused unless ``--overwrite``) holds::

    summary.json       status, final SOC/potential, maxima over domain and time (hoop, von Mises,
                       max principal) and at the probe points, with times and DODs; hot spots, centroid;
                       fracture (onset, failure probability, flaw criterion, fatigue); maps; wall time;
                       warnings (e.g. an SOC outside [0, 1], clamped); resumed (where --resume picked up);
                       adapt ([fracture] adapt: each refinement level's cells, h/l in the damaged zone, damage)
    timeseries.csv     one row per accepted time step; unit-suffixed columns (t_s, potential_V, hoop_bridge_Pa ...);
                       newton_iterations is that step's count (the total is in summary.json)
    params.json        resolved parameters in the units users write (value, unit, value_si, source), the case
                       as run, sim version
    hotspots.csv       stress histories at the hot spots
    fatigue.csv        Paris-law crack length per hot spot vs cycle (cases with [fatigue])
    cycles.csv         phase-field fatigue ([fatigue] model = "phase-field"): per computed cycle the cycle number,
                       max d, crack area (m²), max fatigue variable (J/m³) and min fatigue factor
    fields/damage.bp   the phase-field damage d (cases with [fracture] model = "phase-field")
    fields/*.bp        VTX (ADIOS2) time series for ParaView: c.bp, displacement.bp, stress.bp (after a
                       --resume the rest follows in c_resume1.bp, ...)
    fields/fields.pvd  with output.vtk = true: the same times as VTK .vtu files (Li fraction, displacement,
                       hoop, von Mises) for PyVista, meshio and ParaView
    maps/dod_20.png    section maps (Li fraction, hoop, von Mises in MPa, σ₁/σ_f, µm axes) at the case's DODs,
                       hot spots marked; maps/onset.png at the strength onset
    maps/dod_20.npz    the data behind each map

``--outputs minimal`` (or ``output.outputs = "minimal"``) writes summary.json, timeseries.csv and
params.json only: no VTX, maps, hotspots.csv or fatigue.csv (for sweeps). What is recorded per step is
in :mod:`sim.lithium.recorder`.

A :class:`~sim.errors.SolverError` keeps everything written so far, with ``status: "failed"``, the
reason and the time in summary.json, and is re-raised (``sim run`` exits with 3).

``--resume``: a run killed (even by kill -9) leaves its hidden staging folder ``.OUT.tmp-*`` with the last
checkpoint (``output.checkpoint_every`` steps / ``output.checkpoint_seconds`` of wall time); the same
command with ``--resume`` takes that folder over and continues from the checkpoint, with the time steps
an uninterrupted run would have taken. Without ``--resume`` the next run of the same ``--out`` removes it.
"""
from __future__ import annotations

import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from sim import resources
from sim.errors import InputError, SolverError

VALIDATION_CASES = resources.data_dir("cases")


def register(sub) -> None:
    from sim.params_cli import add_set_option

    p = sub.add_parser("run", help="run a Li transport + stress case file; write a results folder")
    p.add_argument("case", help="case file (TOML), e.g. validation/cases/liu2024_10C.toml, or the name of a shipped "
                                f"case ({', '.join(resources.listing('cases'))})")
    p.add_argument("--out", required=True, help="results folder (refused if it exists and is not empty)")
    add_set_option(p, 'override a parameter (geometry.void_radius="0.3 um") or a case entry '
                      '(solver.dt_max="2 s", geometry=radial, protocol[0].c_rate=5); repeatable')
    p.add_argument("--overwrite", action="store_true", help="replace an existing results folder")
    p.add_argument("--outputs", choices=("full", "minimal"), default=None,
                   help="full (default: the case's output.outputs) or minimal: summary.json and timeseries.csv "
                        "only, no maps or VTX (for sweeps)")
    p.add_argument("--resume", action="store_true", help="continue a killed run of the same --out from its last "
                                                          "checkpoint (start afresh if there is none)")
    p.add_argument("--mesh", metavar="FILE", help="run on this mesh (gmsh .msh with physical groups outer, void, "
                                                  "pore_<i>; or STEP/STL) instead of one built from the parameter "
                                                  "set; the same as [mesh] file in the case")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no report")
    p.set_defaults(func=run)


def run(args) -> int:
    from sim.params_cli import parse_overrides

    overrides = parse_overrides(args.overrides)
    if args.mesh is not None:
        overrides["mesh.file"] = str(Path(args.mesh).expanduser().resolve())
    summary = run_case(args.case, args.out, overrides, progress=not args.quiet,
                       overwrite=args.overwrite, outputs=args.outputs, resume=args.resume)
    if not args.quiet and _world(None).rank == 0:
        print(report(summary, args.out))
    return 0


def report(summary: dict, out) -> str:
    """A few human-readable lines about a finished run."""
    f = summary["final"]
    resumed = f" (resumed at t = {summary['resumed'][-1]['t_s']:.4g} s)" if summary.get("resumed") else ""
    lines = [f"{summary['status']}{resumed}: {summary['time_steps']} time steps, {summary['newton_iterations']} Newton "
             f"iterations, {summary['wall_time_s']:.1f} s wall; results in {out}/",
             f"  final: t = {f['t_s']:.4g} s, SOC = {f['soc']:.4f}, potential = {f['potential_V']:.4f} V"]
    for name, m in summary["maxima"].items():
        lines.append(f"  max {name:18s} {m['value']:.4g} Pa at t = {m['t_s']:.4g} s (DOD {m['dod']:.4f})")
    for probe, entry in summary["probes"].items():
        for kind, m in (("max", entry["maxima"].get("hoop_Pa")), ("min", entry["minima"].get("hoop_Pa"))):
            if m is not None:
                lines.append(f"  {probe}: {kind} hoop {m['value']:.4g} Pa at t = {m['t_s']:.4g} s (DOD {m['dod']:.4f})")
    for spot in summary.get("hot_spots", [])[:1]:
        lines.append(f"  hot spot {spot['name']}: {spot['value_Pa']:.4g} Pa at {_um(spot['position_m'])}, "
                     f"{_um([spot['distance_to_cavity_m']]) if spot['nearest_cavity'] else '-'} from "
                     f"{spot['nearest_cavity'] or 'any cavity'}, {_um([spot['distance_to_outer_m']])} from outer")
    fr = summary.get("fracture") or {}
    if "tensile_strength_Pa" in fr:
        onset = fr["onset"]
        where = "never" if onset is None else (f"at t = {onset['t_s']:.4g} s (DOD {onset['dod']:.4f}) near "
                                                f"{onset['location']}, {_um(onset['position_m'])}")
        lines.append(f"  fracture onset (max principal >= {fr['tensile_strength_Pa']:.3g} Pa): {where}; "
                     f"max sigma1/sigma_f {fr['max_principal_over_strength_max']:.3g}"
                     + ("" if fr["failure_probability_max"] is None else
                        f", max Weibull P_f {fr['failure_probability_max']:.3g}"))
    if "flaw" in fr:
        f = fr["flaw"]
        crit = "n/a" if f["critical_c_rate"] is None else f"{f['critical_c_rate']:.3g}C"
        lines.append(f"  flaw {f['flaw_size_m'] * 1e9:.3g} nm: G_max/G_c = {f['g_max_over_g_c']:.3g}, critical C-rate {crit}")
    if "fatigue" in fr and "hot_spots" in fr["fatigue"]:
        n = fr["fatigue"]["cycles_to_failure_min"]
        lines.append(f"  Paris-law cycles to failure (first hot spot to fail): {'> any' if n is None else f'{n:.4g}'}")
    if (fr.get("fatigue") or {}).get("model") == "phase-field":
        f = fr["fatigue"]

        def when(n, after):
            return f"> {f['cycles_run']}" if n is None else f"{n} (after cycle {after})"
        lines.append(f"  phase-field fatigue: {f['cycles_run']} cycles ({f['computed_cycles']} computed); cycles to "
                     f"onset (max d > {f['onset_damage']:g}) {when(f['cycles_to_onset'], f['cycles_to_onset_after'])}, "
                     f"to failure (max d >= {f['failure_damage']:g}) "
                     f"{when(f['cycles_to_failure'], f['cycles_to_failure_after'])}")
    if "adapt" in summary:
        a = summary["adapt"]
        h = "no damage" if a["final_h_over_ell"] is None else f"h/l = {a['final_h_over_ell']:.3g} in the damaged zone"
        lines.append(f"  adaptive refinement: {a['refinements']} refinements, {summary['mesh']['cells']} cells, {h} "
                     f"({'resolved' if a['resolved'] else 'NOT resolved'}: target <= {a['target_h_over_ell']:g})")
    lines += [f"  warning: {w}" for w in summary.get("warnings", [])]
    return "\n".join(lines)


def _um(xyz) -> str:
    return "(" + ", ".join(f"{1e6 * v:.4g}" for v in xyz) + ") um" if len(xyz) > 1 else f"{1e6 * xyz[0]:.4g} um"


def _world(comm):
    if comm is not None:
        return comm
    import dolfinx_solver  # noqa: F401  (loads MPI before mpi4py)
    from mpi4py import MPI

    return MPI.COMM_WORLD


def run_case(case, out_dir, overrides: dict | None = None, comm=None, progress: bool = True,
             overwrite: bool = False, outputs: str | None = None, resume: bool = False,
             origin: str | dict = "--set") -> dict:
    """Run a case (file path, shipped case name or dict) into ``out_dir``; return the summary (summary.json).

    ``outputs``: "full" or "minimal" (summary.json, timeseries.csv and params.json only); None: the
    case's ``output.outputs``. ``resume``: continue from the checkpoint of a killed run of the same
    ``out_dir`` (see the module docstring); without one the run starts from the beginning.

    ``overrides``: ``--set`` entries, parameter (``"geometry.void_radius": "0.3 um"``) or case
    (``"solver.dt_max": "2 s"``); ``origin`` names where they came from in errors. ``comm`` defaults
    to ``MPI.COMM_WORLD``. Bad input (also a mesh too large for the machine, :meth:`Case.check_cost`)
    raises :class:`InputError` before anything is written. A :class:`SolverError` is re-raised after the
    partial results are saved (``status: "failed"``); the summary is attached as ``err.summary``.
    """
    from sim.io import check_out_dir
    from sim.lithium.case import load_case

    if outputs not in (None, "full", "minimal"):
        raise InputError(f"outputs {outputs!r} is not allowed; choose full or minimal", key="outputs")
    comm = _world(comm)
    wall0 = time.perf_counter()
    spec = load_case(case_path(case), overrides, origin)
    params = spec.load_params()
    out = Path(out_dir)
    check_out_dir(out, overwrite)          # fail before the (slow) set-up
    spec.check_cost(params)
    outputs = outputs or spec.output.outputs
    if resume and spec.fatigue is not None and spec.fatigue.model == "phase-field":
        raise InputError("a phase-field fatigue run is not checkpointed (the cycle jumps are not saved): run it "
                         "again without --resume", key="--resume")
    adapt = spec.fracture is not None and spec.fracture.adapt
    if resume and adapt:
        raise InputError("an adaptive run reruns the case on refined meshes and is not checkpointed: run it again "
                         "without --resume", key="--resume")
    digest = _digest(spec, params, overrides, outputs, comm)
    previous = _find_checkpoint(out, digest, comm) if resume else None
    pmesh = _build_mesh(spec, params, comm)
    run = {"overrides": overrides, "comm": comm, "progress": progress, "overwrite": overwrite, "outputs": outputs,
           "wall0": wall0}
    if adapt:
        return _run_adaptive(spec, params, pmesh, out, run)
    return _run_on_mesh(spec, params, pmesh, out, previous=previous, digest=digest, **run)[0]


def _run_on_mesh(spec, params, pmesh, out: Path, *, overrides, comm, progress: bool, overwrite: bool, outputs: str,
                 wall0: float, previous: Path | None = None, digest: str = "", extra: dict | None = None):
    """The run of ``spec`` on ``pmesh`` into ``out`` (``previous``: the staging folder of a checkpoint to resume);
    returns (summary, the :class:`LithiumProblem` at the end). ``extra``: entries added to summary.json."""
    from sim import __version__
    from sim.io import StagedDir, write_json
    from sim.lithium.exports import read_checkpoint, restore_problem
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.recorder import Recorder

    try:
        problem = LithiumProblem(params, pmesh, coupling=spec.solver.coupling, dt_initial=spec.solver.dt_initial,
                                 dt_max=spec.solver.dt_max, mechanics=spec.solver.mechanics,
                                 degree_c=spec.solver.degree_c, degree_u=spec.solver.degree_u, fracture=spec.fracture,
                                 rtol=spec.solver.rtol, atol=spec.solver.atol)
    except InputError as err:
        if err.file is not None:
            raise
        raise InputError(err.detail, file=spec.file, key=f"solver.{err.key}") from None
    problem.initialise()
    spec = spec.resolve(problem.capacity, params)      # currents in A or mA/g -> C-rates of this particle
    probes = _resolve_probes(spec, problem, params)
    adopted = _set_aside(previous, out, comm)
    folder = StagedDir(out, comm=comm, overwrite=overwrite, command="sim run")
    state = None
    if adopted is not None:
        _take_over(adopted, folder.path, comm)
        state = read_checkpoint(folder.path, comm)
        restore_problem(problem, state[0]["problem"], state[1])
    recorder = Recorder(folder.path, spec, problem, probes, comm, progress=progress, outputs=outputs, resume=state)
    first = 0 if state is None else state[0]["step_index"]
    status, error, failure = "completed", None, None
    try:
        recorder.start()
        if comm.rank == 0:
            (folder.path / "digest").write_text(digest)   # which case a checkpoint belongs to (--resume)
        if recorder.pf_fatigue:
            recorder.run_cycles()
        else:
            for index in range(first, len(spec.protocol)):
                resumed = state is not None and index == first
                recorder.run_step(index, spec.protocol[index], resume_dt=state[0]["dt_next"] if resumed else None)
    except SolverError as err:
        status, failure = "failed", err
        error = {"message": str(err), "time_s": err.time, "reason": err.reason}
    except KeyboardInterrupt:
        status, error = "interrupted", {"message": "interrupted by the user", "time_s": problem.t, "reason": None}
    except BaseException as err:
        recorder.close()
        if recorder.tracker is not None:
            recorder.tracker.close()
        folder.discard()
        if isinstance(err, InputError) and err.file is None:   # e.g. a step that cannot reach its DOD
            raise InputError(err.detail, file=spec.file, key=f"protocol[{recorder.step_index}].{err.key}") from None
        raise
    recorder.finish()
    summary = recorder.summary(status, error, wall_time=time.perf_counter() - wall0, version=__version__)
    summary.update(extra or {})
    if comm.rank == 0:
        write_json(folder.path / "summary.json", summary)
        write_json(folder.path / "params.json", {"sim_version": __version__, "case": spec.raw,
                                                 "case_file": spec.file, "overrides": dict(overrides or {}),
                                                 "parameters": params.as_dict("display")})
        for name in ("checkpoint", "checkpoint.old", "checkpoint.new"):   # only for --resume of this run
            shutil.rmtree(folder.path / name, ignore_errors=True)
        (folder.path / "digest").unlink(missing_ok=True)
    folder.publish()
    if failure is not None:
        failure.summary = summary
        raise failure
    if status == "interrupted":
        raise KeyboardInterrupt
    return summary, problem


def _run_adaptive(spec, params, pmesh, out: Path, run: dict) -> dict:
    """``[fracture] adapt``: run, refine the cells within 2ℓ of d > ``adapt_damage`` whose size exceeds ℓ/2
    (:mod:`sim.fracture.adapt`), run again on the refined mesh from the start, until no cell needs refining
    or ``adapt_levels`` refinements are done. Every run writes ``out`` (the last one stays); summary.json's
    ``adapt`` lists each level's mesh, h/ℓ in the damaged zone, damage and crack area."""
    from sim.fracture.adapt import RESOLVED, cells_to_refine, damage_zone_resolution, refine_particle_mesh
    from sim.io import write_json

    opts, ell = spec.fracture, params.mechanics.phase_field_length
    levels: list[dict] = []
    for level in range(opts.adapt_levels + 1):
        done = level == opts.adapt_levels
        summary, problem = _run_on_mesh(spec, params, pmesh, out, **{**run, "overwrite": run["overwrite"] or level > 0})
        mech = problem.mechanics
        resolution = damage_zone_resolution(pmesh, mech.damage, ell, threshold=opts.adapt_damage)
        marked = cells_to_refine(pmesh, mech.damage, ell, threshold=opts.adapt_damage)
        n_marked = pmesh.comm.allreduce(len(marked))
        levels.append({"level": level, "cells": pmesh.num_cells, "cells_to_refine": n_marked,
                       "damage_zone_h_over_ell": resolution, "damage_max": mech.damage_max(),
                       "crack_area_m2": mech.crack_area(), "max_principal_max_Pa":
                       summary["maxima"].get("max_principal_Pa", {}).get("value"),
                       "wall_time_s": summary["wall_time_s"] - sum(v["wall_time_s"] for v in levels)})
        if n_marked == 0 or done:
            break
        try:
            pmesh = refine_particle_mesh(pmesh, marked)
        except ValueError as err:       # a curved mesh read from a file
            raise InputError(f"{err}; the mesh file has curved cells", file=spec.file, key="fracture.adapt") from None
    resolved = levels[-1]["damage_zone_h_over_ell"]
    adapt = {"damage_threshold": opts.adapt_damage, "halo_m": 2 * ell, "target_h_over_ell": RESOLVED,
             "refinements": len(levels) - 1, "max_levels": opts.adapt_levels,
             "resolved": resolved is None or resolved <= RESOLVED + 1e-12, "final_h_over_ell": resolved,
             "levels": levels}
    summary["adapt"] = adapt
    if not adapt["resolved"]:
        summary["warnings"].append(f"the damaged zone is not resolved after {adapt['refinements']} refinements: "
                                   f"h/l = {resolved:.3g} > {RESOLVED:g}; raise fracture.adapt_levels")
    if pmesh.comm.rank == 0:
        write_json(out / "summary.json", summary)
    return summary


def case_path(case):
    """A case file path, a dict, or the name of a shipped case (``liu2024_10C``, :func:`sim.resources.case`)."""
    if isinstance(case, dict) or Path(case).exists():
        return case
    name = str(case)
    if "/" in name or name.endswith(".toml"):
        return case                        # a missing file: load_case says so, naming it
    try:
        return resources.case(name)
    except InputError as err:
        raise InputError(f"no case file {name!r} and {err}", key="case") from None


# ----------------------------------------------------------------------------------------- --resume
def _digest(spec, params, overrides, outputs: str, comm) -> str:
    """What a checkpoint must match to be resumed: the case as run, the resolved parameters, the outputs and ranks."""
    import hashlib
    import json

    from sim.case import parameter_digest

    text = json.dumps({"case": spec.raw, "overrides": overrides or {}, "outputs": outputs, "ranks": comm.size},
                      sort_keys=True, default=str)
    return hashlib.sha256((text + parameter_digest(params)).encode()).hexdigest()


def _find_checkpoint(out: Path, digest: str, comm) -> Path | None:
    """The newest staging folder of ``out`` left by a dead run with a checkpoint of this case (rank 0 looks)."""
    from sim.case import OWNER, owner_alive
    from sim.lithium.exports import checkpoint_dir

    found, other = None, None
    if comm.rank == 0:
        candidates = []
        for p in [*out.parent.glob(f".{out.name}.tmp-*"), *out.parent.glob(f".{out.name}.resume-*")]:
            ckpt = checkpoint_dir(p) if p.is_dir() else None
            if ckpt is None or owner_alive(p / OWNER):
                continue
            mine = (p / "digest").is_file() and (p / "digest").read_text() == digest
            candidates.append((mine, (ckpt / "state.json").stat().st_mtime, p))
        ours = sorted(c for c in candidates if c[0])
        found = ours[-1][2] if ours else None
        other = candidates[0][2] if candidates and not ours else None
    found, other = comm.bcast((found, other), root=0)
    if other is not None:
        raise InputError(f"the checkpoint in {other} was written by a different case, parameter set, --set, "
                         f"--outputs or number of MPI ranks; run without --resume to start again (the old staging "
                         f"folder is then removed)", key="--resume")
    if found is None and comm.rank == 0:
        print(f"sim run: no checkpoint of this case for {out}; starting from the beginning", file=sys.stderr)
    return found


def _set_aside(previous: Path | None, out: Path, comm) -> Path | None:
    """Rename the staging folder to resume to ``.OUT.resume-*`` so that the new stage's orphan clean-up keeps it."""
    from sim.io import hidden_sibling

    if previous is None:
        return None
    target = None
    if comm.rank == 0:
        target = previous if ".resume-" in previous.name else hidden_sibling(out, "resume")
        if target != previous:
            os.replace(previous, target)
    return comm.bcast(target, root=0)


def _take_over(old: Path, stage: Path, comm) -> None:
    """Move the killed run's files into the new staging folder (keeping the new marker and owner)."""
    from sim.case import MARKER, OWNER

    if comm.rank == 0:
        for entry in old.iterdir():
            if entry.name not in (MARKER, OWNER):
                os.replace(entry, stage / entry.name)
        shutil.rmtree(old, ignore_errors=True)
    comm.barrier()


def _build_mesh(spec, params, comm):
    from sim.mesh import mesh_from_params, radial_mesh, read_mesh

    if spec.mesh.file is not None:
        pmesh = read_mesh(spec.mesh.file, comm)
        if pmesh.kind != spec.geometry:
            raise InputError(f"{spec.mesh.file} is a {pmesh.kind} mesh but the case says geometry = "
                             f"{spec.geometry!r}", file=spec.file, key="geometry")
        return pmesh

    if spec.mesh.n_cells is not None:
        g = params.geometry
        if spec.geometry == "hollow" and g.void_radius <= 0:
            raise InputError("a hollow sphere needs geometry.void_radius > 0", file=spec.file, key="geometry")
        inner = g.void_radius if spec.geometry == "hollow" else 0.0
        return radial_mesh(g.particle_radius, inner, n_cells=spec.mesh.n_cells, comm=comm)
    try:
        return mesh_from_params(params, spec.geometry, order=spec.mesh.order, comm=comm)
    except InputError as err:
        if err.file is None:
            raise InputError(err.detail, file=spec.file, key=f"mesh.{err.key}") from None
        raise


def _resolve_probes(spec, problem, params) -> dict[str, np.ndarray]:
    """Probe name -> physical point (3,) in m; "bridge" from the solver, "surface" = the pole (0, 0, R)."""
    from sim.lithium.case import Probe

    g = params.geometry
    R = g.particle_radius
    probes = spec.output.probes
    if probes is None and spec.mesh.file is not None:
        probes = ()      # a user's mesh: the parameter set's void and pores are not its cavities; hot spots instead
    if probes is None:   # default: the bridge point where there is one, and the outer pole
        probes = ((Probe("bridge", "bridge"),) if problem.bridge_point() is not None else ()) + \
                 (Probe("surface", "surface"),)
    out = {}
    for probe in probes:
        key = f"output.probes.{probe.name}"
        if spec.mesh.file is not None and probe.where in ("bridge", "surface"):
            raise InputError(f"probe {probe.where!r} is placed from the parameter set's spheres, which do not "
                             f"describe the mesh file {spec.mesh.file.name}; give coordinates, or rely on the "
                             f"hot spots (output.hot_spots)", file=spec.file, key=key)
        if probe.where == "bridge":
            point = problem.bridge_point()
            if point is None:
                raise InputError(f"the {spec.geometry} geometry has no bridge point (it needs a central void and a "
                                 f"meshed pore: geometry axisym or 3d)", file=spec.file, key=key)
        elif probe.where == "surface":
            point = np.array([0.0, 0.0, R])
        else:
            c = probe.where   # radial [r] -> (0, 0, r); axisym [r, z] -> (r, 0, z); 3d [x, y, z]
            point = np.array((0.0, 0.0, c[0]) if len(c) == 1 else (c[0], 0.0, c[1]) if len(c) == 2 else c)
            if spec.mesh.file is None:      # the parameter set's spheres describe only meshes built from it
                _check_inside(spec, g, point, key)
        out[probe.name] = np.asarray(point, dtype=float)
    return out


def _check_inside(spec, g, point, key) -> None:
    d = float(np.linalg.norm(point))
    tol = 1e-9 * g.particle_radius
    holes = []
    if spec.geometry != "radial" and g.void_radius > 0:
        holes.append(("the central void", np.zeros(3), g.void_radius))
    if spec.geometry in ("axisym", "3d"):
        holes += [(f"pore {i}", np.asarray(p.centre), p.radius) for i, p in enumerate(g.pores)]
    if d > g.particle_radius + tol:
        raise InputError(f"probe at {d:g} m from the centre lies outside the particle (radius {g.particle_radius:g} m)",
                         file=spec.file, key=key)
    for name, centre, radius in holes:
        if np.linalg.norm(point - centre) < radius - tol:
            raise InputError(f"probe lies inside {name}", file=spec.file, key=key)


# ----------------------------------------------------------------------------------------- demo (issue item 8)
LIU_TARGET_HOOP_PA = 3.17e8     # Liu 2024: hoop stress at the bridge point, 10C, 20 % DOD


def demo_liu2024(out_dir, *, comm=None, progress: bool = True, overwrite: bool = True) -> dict:
    """Run the shipped Liu 2024 cases (10C and 0.1C to 20 % DOD), draw their hoop and von Mises maps at
    20 % DOD side by side, and print the bridge-point hoop stresses and their ratio.

    Returns ``{"bridge_hoop_Pa": {"10C": ..., "0.1C": ...}, "ratio": ..., "png": ..., "runs": {...}}``.
    """
    from sim.io import write_json
    from sim.lithium.plots import load_section, plot_side_by_side

    comm = _world(comm)
    out = Path(out_dir)
    runs = {"10C": VALIDATION_CASES / "liu2024_10C.toml", "0.1C": VALIDATION_CASES / "liu2024_0p1C.toml"}
    results, bridge = {}, {}
    for label, case in runs.items():
        folder = out / case.stem
        summary = run_case(case, folder, comm=comm, progress=progress, overwrite=overwrite)
        at20 = [m for m in summary["maps"] if abs(m["dod_target"] - 0.2) < 1e-9]
        if not at20 or "bridge" not in at20[0]["probes"]:
            raise InputError("the case must map 20 % DOD and probe the bridge point", file=str(case),
                             key="output")
        bridge[label] = at20[0]["probes"]["bridge"]["hoop_Pa"]
        results[label] = {"folder": folder, "summary": summary, "map": folder / at20[0]["data"]}
    ratio = bridge["10C"] / bridge["0.1C"] if bridge["0.1C"] != 0 else math.inf
    png = out / "liu2024_maps_20pct_DOD.png"
    info = {"bridge_hoop_Pa": bridge, "ratio_10C_to_0p1C": ratio, "target_10C_Pa": LIU_TARGET_HOOP_PA,
            "target_ratio": 100.0, "png": png, "runs": {k: v["folder"] for k, v in results.items()}}
    if comm.rank == 0:
        sections = {f"{label}, 20 % DOD": load_section(r["map"]) for label, r in results.items()}
        plot_side_by_side(sections, png, title="Liu 2024 particle at 20 % DOD: 10C vs 0.1C", zoom=1.5e-6)
        write_json(out / "liu2024_comparison.json", info)
        print(f"   bridge-point hoop stress at 20 % DOD: 10C {bridge['10C']:.3e} Pa "
              f"(Liu 2024: {LIU_TARGET_HOOP_PA:.3e} Pa), 0.1C {bridge['0.1C']:.3e} Pa; "
              f"ratio 10C/0.1C = {ratio:.3g} (Liu 2024: >= 100)")
        print(f"   maps: {png}")
    comm.barrier()
    return info
