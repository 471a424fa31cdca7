"""``sim run CASE.toml --out DIR``: run a Li transport + stress case and write a results folder.

The folder (written to a hidden sibling and renamed at the end; an existing non-empty folder is
refused unless ``--overwrite``) holds::

    summary.json       status, final SOC/potential, maxima over domain and time (hoop, von Mises,
                       max principal) and at the probe points, with times and DODs; maps; wall time
    timeseries.csv     one row per accepted time step; unit-suffixed columns (t_s, potential_V, hoop_bridge_Pa ...)
    params.json        resolved parameters (SI) with their sources, the case as run, sim version
    fields/*.bp        VTX (ADIOS2) time series for ParaView: c.bp, displacement.bp, stress.bp
    maps/dod_20.png    section maps (Li fraction, hoop, von Mises in MPa, µm axes) at the case's DODs
    maps/dod_20.npz    the data behind each map

A :class:`~sim.errors.SolverError` keeps everything written so far, with ``status: "failed"``, the
reason and the time in summary.json, and is re-raised (``sim run`` exits with 3).
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from sim import resources
from sim.errors import InputError, SolverError

VALIDATION_CASES = resources.data_dir("cases")
STRESSES = ("hoop", "von_mises", "max_principal")   # recorded as maxima and at probes
SIGNED = ("hoop", "max_principal")                  # ... and as minima (most compressive)
_DOD_TOL = 1e-7


def register(sub) -> None:
    from sim.params_cli import add_set_option

    p = sub.add_parser("run", help="run a Li transport + stress case file; write a results folder")
    p.add_argument("case", help="case file (TOML), e.g. validation/cases/liu2024_10C.toml")
    p.add_argument("--out", required=True, help="results folder (refused if it exists and is not empty)")
    add_set_option(p, 'override a parameter (geometry.void_radius="0.3 um") or a case entry '
                      '(solver.dt_max="2 s", geometry=radial, protocol[0].c_rate=5); repeatable')
    p.add_argument("--overwrite", action="store_true", help="replace an existing results folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no report")
    p.set_defaults(func=run)


def run(args) -> int:
    from sim.params_cli import parse_overrides

    summary = run_case(args.case, args.out, parse_overrides(args.overrides), progress=not args.quiet,
                       overwrite=args.overwrite)
    if not args.quiet and _world(None).rank == 0:
        print(report(summary, args.out))
    return 0


def report(summary: dict, out) -> str:
    """A few human-readable lines about a finished run."""
    f = summary["final"]
    lines = [f"{summary['status']}: {summary['time_steps']} time steps, {summary['newton_iterations']} Newton "
             f"iterations, {summary['wall_time_s']:.1f} s wall; results in {out}/",
             f"  final: t = {f['t_s']:.4g} s, SOC = {f['soc']:.4f}, potential = {f['potential_V']:.4f} V"]
    for name, m in summary["maxima"].items():
        lines.append(f"  max {name:18s} {m['value']:.4g} Pa at t = {m['t_s']:.4g} s (DOD {m['dod']:.4f})")
    for probe, entry in summary["probes"].items():
        for kind, m in (("max", entry["maxima"].get("hoop_Pa")), ("min", entry["minima"].get("hoop_Pa"))):
            if m is not None:
                lines.append(f"  {probe}: {kind} hoop {m['value']:.4g} Pa at t = {m['t_s']:.4g} s (DOD {m['dod']:.4f})")
    return "\n".join(lines)


def _world(comm):
    if comm is not None:
        return comm
    import dolfinx_solver  # noqa: F401  (loads MPI before mpi4py)
    from mpi4py import MPI

    return MPI.COMM_WORLD


def run_case(case, out_dir, overrides: dict | None = None, comm=None, progress: bool = True,
             overwrite: bool = False) -> dict:
    """Run a case (file path or dict) into ``out_dir``; return the summary (the content of summary.json).

    ``overrides``: ``--set`` entries, parameter (``"geometry.void_radius": "0.3 um"``) or case
    (``"solver.dt_max": "2 s"``). ``comm`` defaults to ``MPI.COMM_WORLD``. Bad input raises
    :class:`InputError` before anything is written. A :class:`SolverError` is re-raised after the
    partial results are saved (``status: "failed"``); the summary is attached as ``err.summary``.
    """
    from sim import __version__
    from sim.lithium.case import load_case
    from sim.io import StagedDir, check_out_dir
    from sim.lithium.exports import write_json
    from sim.lithium.problem import LithiumProblem

    comm = _world(comm)
    wall0 = time.perf_counter()
    spec = load_case(case, overrides)
    params = spec.load_params()
    out = Path(out_dir)
    check_out_dir(out, overwrite)          # fail before the (slow) set-up
    pmesh = _build_mesh(spec, params, comm)
    try:
        problem = LithiumProblem(params, pmesh, coupling=spec.solver.coupling, dt_initial=spec.solver.dt_initial,
                                 dt_max=spec.solver.dt_max, mechanics=spec.solver.mechanics,
                                 degree_c=spec.solver.degree_c, degree_u=spec.solver.degree_u)
    except InputError as err:
        if err.file is not None:
            raise
        raise InputError(err.detail, file=spec.file, key=f"solver.{err.key}") from None
    problem.initialise()
    probes = _resolve_probes(spec, problem, params)
    folder = StagedDir(out, comm=comm, overwrite=overwrite)
    recorder = Recorder(folder.path, spec, problem, probes, comm, progress=progress)
    status, error, failure = "completed", None, None
    try:
        recorder.start()
        for index, step in enumerate(spec.protocol):
            recorder.run_step(index, step)
    except SolverError as err:
        status, failure = "failed", err
        error = {"message": str(err), "time_s": err.time, "reason": err.reason}
    except KeyboardInterrupt:
        status, error = "interrupted", {"message": "interrupted by the user", "time_s": problem.t, "reason": None}
    except BaseException as err:
        recorder.close()
        folder.discard()
        if isinstance(err, InputError) and err.file is None:   # e.g. a step that cannot reach its DOD
            raise InputError(err.detail, file=spec.file, key=f"protocol[{recorder.step_index}].{err.key}") from None
        raise
    recorder.close()
    summary = recorder.summary(status, error, wall_time=time.perf_counter() - wall0, version=__version__)
    if comm.rank == 0:
        write_json(folder.path / "summary.json", summary)
        write_json(folder.path / "params.json", {"sim_version": __version__, "case": spec.raw,
                                                 "case_file": spec.file, "overrides": dict(overrides or {}),
                                                 "parameters": params.as_dict()})
    folder.publish()
    if failure is not None:
        failure.summary = summary
        raise failure
    if status == "interrupted":
        raise KeyboardInterrupt
    return summary


def _build_mesh(spec, params, comm):
    from sim.mesh import mesh_from_params, radial_mesh

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
    if probes is None:   # default: the bridge point where there is one, and the outer pole
        probes = ((Probe("bridge", "bridge"),) if problem.bridge_point() is not None else ()) + \
                 (Probe("surface", "surface"),)
    out = {}
    for probe in probes:
        key = f"output.probes.{probe.name}"
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


class Recorder:
    """Everything a run writes while it runs: CSV rows, maxima, probe values, VTX fields, maps, progress.

    :meth:`run_step` splits galvanostatic steps at pending map DODs so that the solver lands on them.
    """

    def __init__(self, folder: Path, spec, problem, probes: dict[str, np.ndarray], comm, *, progress: bool):
        from sim.lithium.exports import Extremes, FieldWriter, TimeSeriesCSV

        self.folder, self.spec, self.problem, self.comm = folder, spec, problem, comm
        self.probe_names = list(probes)
        self.probe_points = np.array([probes[n] for n in self.probe_names]).reshape(-1, 3)
        self.mech = spec.solver.mechanics
        self.extremes = Extremes()
        self.pending = list(spec.output.maps_at_dod)
        self.maps: list[dict] = []
        self.steps: list[dict] = []
        self.step_index = 0
        self._last_dod = problem.dod
        self._last_t = problem.t
        self._since_vtx, self._vtx_t = 0, None
        columns = ["t_s", "step", "dt_s", "dod", "soc", "x_mean", "potential_V", "current_A", "newton_iterations"]
        if self.mech:
            columns += [f"{s}_{m}_Pa" for s in STRESSES for m in ("max", "min") if m == "max" or s in SIGNED]
            columns += [f"{s}_{p}_Pa" for p in self.probe_names for s in STRESSES]
        columns += [f"li_fraction_{p}" for p in self.probe_names]
        self.csv = TimeSeriesCSV(folder / "timeseries.csv", columns, comm)
        self.vtx = FieldWriter(folder / "fields", self._vtx_fields(), comm) if spec.output.vtx else None
        self._coords = {}
        self.bar = self._progress_bar(progress)

    # ------------------------------------------------------------------ progress
    def _progress_bar(self, progress: bool):
        from tqdm import tqdm

        disabled = not progress or self.comm.rank != 0 or not sys.stderr.isatty()
        return tqdm(total=len(self.spec.protocol), unit="step", file=sys.stderr, disable=disabled, delay=2.0,
                    bar_format="{l_bar}{bar}| {n:.2f}/{total} steps [{elapsed}<{remaining}{postfix}]")

    def _step_fraction(self, step, t0: float, dod0: float) -> float:
        """How far the current protocol step is (0..1) by its time/DOD/SOC targets (voltage: unknown)."""
        p, u, done = self.problem, step.until, 0.0
        if u.time is not None:
            done = max(done, (p.t - t0) / u.time)
        for target in (u.dod, None if u.soc is None else 1.0 - u.soc):
            if target is not None and abs(target - dod0) > 0:
                done = max(done, (p.dod - dod0) / (target - dod0))
        return min(max(done, 0.0), 1.0)

    # ------------------------------------------------------------------ fields
    def _vtx_fields(self) -> dict:
        p = self.problem
        fields = {"c": {"c_mol_m3": p.c}}
        if self.mech:
            s = p.stress_fields()
            fields["displacement"] = {"displacement_m": p.u}
            fields["stress"] = {"hoop_Pa": s["hoop"], "von_mises_Pa": s["von_mises"],
                                "max_principal_Pa": s["max_principal"]}
        return fields

    def _write_vtx(self, force: bool = False) -> None:
        every = self.spec.output.vtx_every
        if self.vtx is None or not (force or (every and self._since_vtx >= every)) or self.problem.t == self._vtx_t:
            return
        if self.mech:
            self.problem.stress_fields()   # refresh the cached stress functions
        self.vtx.write(self.problem.t)
        self._since_vtx, self._vtx_t = 0, self.problem.t

    # ------------------------------------------------------------------ per accepted step
    def start(self) -> None:
        """Record the initial state (t = 0)."""
        self._record()
        self._write_vtx(force=True)
        self._maps_due()

    def _record(self) -> dict:
        from sim.lithium.exports import field_extremes

        p = self.problem
        row = {"t_s": p.t, "step": self.step_index, "dt_s": p.t - self._last_t, "dod": p.dod, "soc": p.soc,
               "x_mean": p.x_mean, "potential_V": p.potential, "current_A": p.current,
               "newton_iterations": p.iterations}
        if self.mech:
            fields = p.stress_fields()
            for s in STRESSES:
                f = fields[s]
                (hi, at_hi), (lo, at_lo) = field_extremes(f, self.comm, self._coords.setdefault(s, _owned_coords(f)))
                row[f"{s}_max_Pa"] = hi
                self.extremes.update(f"{s}_Pa", hi, p.t, p.dod, at_hi, which="max")
                if s in SIGNED:
                    row[f"{s}_min_Pa"] = lo
                    self.extremes.update(f"{s}_Pa", lo, p.t, p.dod, at_lo, which="min")
        for s, values in self._probe_values().items():
            for name, v in zip(self.probe_names, values):
                row[f"{s}_{name}_Pa" if s != "li_fraction" else f"li_fraction_{name}"] = v
                if s != "li_fraction":
                    self.extremes.update(f"{name}.{s}_Pa", v, p.t, p.dod, which="both" if s in SIGNED else "max")
        self.csv.write(row)
        self._last_t = p.t
        return row

    def _probe_values(self) -> dict[str, np.ndarray]:
        if not self.probe_names:
            return {}
        names = (STRESSES if self.mech else ()) + ("x",)
        return {("li_fraction" if n == "x" else n): self.problem.evaluate(n, self.probe_points) for n in names}

    def _on_step(self, problem) -> None:
        self._record()
        self._since_vtx += 1
        self._write_vtx()
        self._maps_due()
        self.bar.n = self.step_index + self._step_fraction(self._step, self._t0, self._dod0)
        self.bar.set_postfix_str(f"t={problem.t:.4g} s DOD={problem.dod:.3f} U={problem.potential:.3f} V",
                                 refresh=False)
        self.bar.refresh()

    def _maps_due(self) -> None:
        dod = self.problem.dod
        due = [m for m in self.pending if abs(dod - m) <= _DOD_TOL or (self._last_dod - m) * (dod - m) < 0]
        for m in due:
            self.pending.remove(m)
            self._make_map(m)
        self._last_dod = dod

    def _make_map(self, target: float) -> None:
        from sim.lithium.plots import plot_section, save_section, section_data

        p = self.problem
        fields = {"li_fraction": _li_fraction(p)}
        if self.mech:
            s = p.stress_fields()
            fields.update({"hoop_Pa": s["hoop"], "von_mises_Pa": s["von_mises"]})
        zoom = _zoom(p)
        data = section_data(p.pmesh.kind, fields, self.comm, radius=p.params.geometry.particle_radius, zoom=zoom)
        stem = f"dod_{100 * target:g}".replace(".", "p")
        probes = {name: {} for name in self.probe_names}
        for s, values in self._probe_values().items():
            for name, v in zip(self.probe_names, values):
                probes[name][f"{s}_Pa" if s != "li_fraction" else s] = float(v)
        if self.comm.rank == 0:
            (self.folder / "maps").mkdir(exist_ok=True)
            save_section(self.folder / "maps" / f"{stem}.npz", data)
            plot_section(data, self.folder / "maps" / f"{stem}.png", zoom=zoom,
                         title=f"{self.spec.title or Path(self.spec.file).stem}: DOD {100 * p.dod:.3g} %, "
                               f"t = {p.t:.4g} s")
        self._write_vtx(force=True)
        self.maps.append({"dod_target": target, "dod": p.dod, "t_s": p.t, "png": f"maps/{stem}.png",
                          "data": f"maps/{stem}.npz", "probes": probes})

    # ------------------------------------------------------------------ protocol steps
    def run_step(self, index: int, step) -> None:
        """Run one protocol step, split at map DODs inside a galvanostatic step."""
        from sim.lithium.case import describe_step

        p = self.problem
        self.step_index, self._step, self._t0, self._dod0 = index, step, p.t, p.dod
        while True:
            part = self._segment(step)
            reason = p.run_step(part, on_step=self._on_step)
            if part is step or reason != "dod":
                break
        self._write_vtx(force=True)
        self.steps.append({"index": index, "step": describe_step(step), "stop_reason": reason, "t_end_s": p.t,
                           "dod_end": p.dod, "potential_end_V": p.potential})
        self.bar.n = index + 1
        self.bar.refresh()

    def _segment(self, step):
        """``step`` itself, or a galvanostatic part of it that stops at the next pending map DOD."""
        from sim.lithium.protocol import Galvanostatic, Stop

        if not isinstance(step, Galvanostatic):
            return step
        p, u = self.problem, step.until
        sign = 1.0 if step.direction == "discharge" else -1.0   # discharge raises the DOD
        ends = [d for d in (u.dod, None if u.soc is None else 1.0 - u.soc) if d is not None]
        ahead = [m for m in self.pending if sign * (m - p.dod) > _DOD_TOL
                 and all(sign * (end - m) > _DOD_TOL for end in ends)]
        if not ahead:
            return step
        remaining = None if u.time is None else u.time - (p.t - self._t0)
        if remaining is not None and remaining <= 0:
            return step
        target = min(ahead, key=lambda m: sign * (m - p.dod))
        return Galvanostatic(step.c_rate, step.direction, Stop(dod=target, soc=u.soc, voltage=u.voltage,
                                                               time=remaining))

    def close(self) -> None:
        self.csv.close()
        if self.vtx is not None:
            self.vtx.close()
            self.vtx = None
        self.bar.close()

    # ------------------------------------------------------------------ summary
    def summary(self, status: str, error: dict | None, *, wall_time: float, version: str) -> dict:
        from sim.lithium.case import describe_step

        p, spec = self.problem, self.spec
        hi, lo = self.extremes.maxima, self.extremes.minima
        probes = {}
        for name, point in zip(self.probe_names, self.probe_points):
            probes[name] = {"position_m": point.tolist(),
                            "maxima": {f"{s}_Pa": hi[f"{name}.{s}_Pa"] for s in STRESSES if f"{name}.{s}_Pa" in hi},
                            "minima": {f"{s}_Pa": lo[f"{name}.{s}_Pa"] for s in SIGNED if f"{name}.{s}_Pa" in lo}}
        files = {"timeseries": "timeseries.csv", "params": "params.json", "maps": [m["png"] for m in self.maps]}
        if spec.output.vtx:
            files["fields"] = [f"fields/{stem}.bp" for stem in self._vtx_fields()]
        return {
            "status": status, "error": error, "sim_version": version,
            "case": {"file": spec.file, "title": spec.title, "params": p.params.name, "geometry": spec.geometry,
                     "protocol": [describe_step(s) for s in spec.protocol]},
            "final": {"t_s": p.t, "dod": p.dod, "soc": p.soc, "x_mean": p.x_mean, "potential_V": p.potential,
                      "current_A": p.current},
            "maxima": {f"{s}_Pa": hi[f"{s}_Pa"] for s in STRESSES if f"{s}_Pa" in hi},
            "minima": {f"{s}_Pa": lo[f"{s}_Pa"] for s in SIGNED if f"{s}_Pa" in lo},
            "probes": probes, "maps": self.maps, "steps": self.steps,
            "time_steps": p.steps, "newton_iterations": p.iterations,
            "mass_balance_error": p.mass_balance_error, "mesh": p.pmesh.summary(),
            "wall_time_s": wall_time, "mpi_ranks": self.comm.size, "files": files,
        }


def _zoom(problem) -> float | None:
    """Half-width (m) of a close-up of the void and pores, or None for meshes without them."""
    g = problem.params.geometry
    pores = [np.linalg.norm(q.centre) + q.radius for i, q in enumerate(g.pores)
             if f"pore_{i}" in problem.pmesh.boundaries]
    if not pores and "void" not in problem.pmesh.boundaries:
        return None
    return 1.5 * max(pores + [g.void_radius])


def _owned_coords(f) -> np.ndarray:
    V = f.function_space
    return V.tabulate_dof_coordinates()[: V.dofmap.index_map.size_local]


def _li_fraction(problem):
    """c / c_max as a Function in c's space (for maps)."""
    from dolfinx import fem

    x = fem.Function(problem.c.function_space, name="li_fraction")
    x.x.array[:] = problem.c.x.array / problem.params.transport.c_max
    return x


# ----------------------------------------------------------------------------------------- demo (issue item 8)
LIU_TARGET_HOOP_PA = 3.17e8     # Liu 2024: hoop stress at the bridge point, 10C, 20 % DOD


def demo_liu2024(out_dir, *, comm=None, progress: bool = True, overwrite: bool = True) -> dict:
    """Run the shipped Liu 2024 cases (10C and 0.1C to 20 % DOD), draw their hoop and von Mises maps at
    20 % DOD side by side, and print the bridge-point hoop stresses and their ratio.

    Returns ``{"bridge_hoop_Pa": {"10C": ..., "0.1C": ...}, "ratio": ..., "png": ..., "runs": {...}}``.
    """
    from sim.lithium.exports import write_json
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
