"""What ``sim run`` records while it runs, and what it writes when the run ends.

Per accepted time step (cheap, whatever ``output.outputs``): a ``timeseries.csv`` row; running maxima;
probe values (points located once per mesh, :class:`PointSampler`); the onset screening when the set
gives a tensile strength (max principal σ₁/σ_f and the Weibull P_f, :mod:`sim.fracture.criteria`); the
stresses of every dof for the hot spots (:class:`~sim.fracture.hotspots.HotSpotTracker`, on disk).

``outputs = "full"`` adds VTX fields every ``output.vtx_every`` steps (and, with ``output.vtk``, the same
fields as VTK ``.vtu`` files listed in ``fields/fields.pvd``), and the data of section maps at the map
DODs (and at the strength onset), saved as ``.npz``; the PNGs are drawn from those arrays once the run
is over, so they can mark the hot spots and the onset point. ``"minimal"`` (sweeps) writes only
summary.json and timeseries.csv.

Checkpoints (for ``sim run --resume``) are written every ``output.checkpoint_every`` accepted steps
and every ``output.checkpoint_seconds`` of wall time into ``checkpoint/`` of the staging folder:
the solver state (:func:`~sim.lithium.exports.problem_state`) and the recorder's own (:meth:`Recorder.state`:
extremes, pending maps, the bytes of timeseries.csv written, hot-spot records, ...). A recorder built
with ``resume=`` continues from one as if the run had never stopped.

Coordinates in everything written: physical (x, y, z) in m; a 1D radial r is (0, 0, r), an axisymmetric
(r, z) is (r, 0, z).
"""
from __future__ import annotations

import csv
import math
import sys
import time
from pathlib import Path

import numpy as np

STRESSES = ("hoop", "radial", "von_mises", "max_principal")   # recorded as maxima and at probes
SIGNED = ("hoop", "radial", "max_principal")                     # ... and as minima (most compressive)
HOT_SPOT_STRESSES = ("max_principal", "hoop")
DAMAGE_ONSET = 0.01                                 # phase field: onset when max d first exceeds this
COORDINATES = "physical (x, y, z) in m; 1D radial r -> (0, 0, r); axisymmetric (r, z) -> (r, 0, z)"
_DOD_TOL = 1e-7
BAR_DELAY = 2.0                                     # s before the progress bar appears (short runs show none)


class PointSampler:
    """Values of Functions on one mesh at fixed points, with the points located once.

    A point inside the mesh takes the mean over all owned cells containing it (summed over ranks, so a
    DG field on a cell boundary gives the same value for any partition); a point just outside the faceted
    or curved mesh takes the value of the nearest cell at its node nearest to the point, nudged inside.
    ``points``: mesh coordinates (n, 3) in m. Collective (constructor and call).
    """

    def __init__(self, msh, points: np.ndarray):
        from dolfinx import geometry
        from mpi4py import MPI

        comm, tdim = msh.comm, msh.topology.dim
        self.comm, self.n = comm, len(points)
        points = np.ascontiguousarray(points, dtype=np.float64)
        n_cells = msh.topology.index_map(tdim).size_local
        length = comm.allreduce(float(np.abs(msh.geometry.x).max()) if msh.geometry.x.size else 0.0, op=MPI.MAX)
        inside: list[list[int]] = [[] for _ in range(self.n)]
        nearest = [(np.inf, None, None)] * self.n
        if n_cells and self.n:
            cells = np.arange(n_cells, dtype=np.int32)
            tree = geometry.bb_tree(msh, tdim, entities=cells)
            colliding = geometry.compute_colliding_cells(msh, geometry.compute_collisions_points(tree, points), points)
            closest = geometry.compute_closest_entity(tree, geometry.create_midpoint_tree(msh, tdim, cells), msh, points)
            for i in range(self.n):
                cands = np.unique(np.append(colliding.links(i), closest[i])).astype(np.int32)
                d = np.sqrt(geometry.squared_distance(msh, tdim, cands, np.repeat(points[i][None], len(cands), axis=0)))
                inside[i] = [int(c) for c in cands[d <= 1e-12 * length]]
                if not inside[i]:
                    cell = int(cands[np.argmin(d)])
                    nodes = msh.geometry.x[msh.geometry.dofmaps[0][cell]]
                    node = nodes[np.argmin(np.linalg.norm(nodes - points[i], axis=1))]
                    nearest[i] = (float(d.min()), cell, node + 1e-6 * (nodes.mean(axis=0) - node))
        counts = comm.allreduce(np.array([len(c) for c in inside], dtype=float), op=MPI.SUM)
        best = np.array(comm.allgather([nearest[i][0] for i in range(self.n)])).reshape(comm.size, self.n)
        owner = np.argmin(best, axis=0)
        at, cells_, target, weight = [], [], [], []
        for i in range(self.n):
            if counts[i] > 0:
                for c in inside[i]:
                    at.append(points[i]), cells_.append(c), target.append(i), weight.append(1.0 / counts[i])
            elif owner[i] == comm.rank and nearest[i][1] is not None:
                at.append(nearest[i][2]), cells_.append(nearest[i][1]), target.append(i), weight.append(1.0)
        self._at = np.array(at, dtype=np.float64).reshape(-1, 3)
        self._cells = np.array(cells_, dtype=np.int32)
        self._target, self._weight = np.array(target, dtype=np.int64), np.array(weight)

    def __call__(self, f) -> np.ndarray:
        """Values (n,) of the scalar Function ``f`` at the points, on every rank."""
        from mpi4py import MPI

        local = np.zeros(self.n)
        if len(self._cells):
            values = np.reshape(f.eval(self._at, self._cells), (len(self._cells), -1))[:, 0]
            local = np.bincount(self._target, self._weight * values, minlength=self.n)
        return self.comm.allreduce(local, op=MPI.SUM)


class Recorder:
    """Everything a run records: CSV rows, maxima, probes, onset screening, hot spots, VTX, maps, progress.

    :meth:`run_step` splits galvanostatic steps at pending map DODs so that the solver lands on them;
    :meth:`finish` (after the last step, or after a solver failure) draws the maps and writes hotspots.csv
    and fatigue.csv; :meth:`summary` is the content of summary.json.
    """

    def __init__(self, folder: Path, spec, problem, probes: dict[str, np.ndarray], comm, *, progress: bool,
                 outputs: str = "full", resume: tuple[dict, dict] | None = None):
        """``resume``: (state, arrays) of a checkpoint (:func:`sim.lithium.exports.read_checkpoint`) whose solver
        state the caller has put back into ``problem``; the recorder then continues its files from there."""
        from sim.fracture.hotspots import BoundaryDistance, HotSpotTracker, to_mesh
        from sim.lithium.exports import Extremes, FieldWriter, TimeSeriesCSV

        self.folder, self.spec, self.problem, self.comm = folder, spec, problem, comm
        self.full = outputs == "full"
        self.probe_names = list(probes)
        self.probe_points = np.array([probes[n] for n in self.probe_names]).reshape(-1, 3)
        self.mech = spec.solver.mechanics
        self.extremes = Extremes()
        self.pending = list(spec.output.maps_at_dod) if self.full else []
        self.maps: list[dict] = []
        self._sections: dict[str, dict] = {}      # map stem -> section data (rank 0), drawn in finish()
        self.steps: list[dict] = []
        self.step_index = 0
        self._last_dod = problem.dod
        self._last_t = problem.t
        self._since_vtx, self._vtx_t = 0, None
        self._last_iterations = problem.iterations
        self._t0, self._dod0 = problem.t, problem.dod
        self.resumes: list[dict] = []           # where each --resume picked up
        self.warnings: list[str] = []
        self._wall_before = 0.0                 # wall time (s) of the runs before the last resume
        self._since_checkpoint, self._checkpoint_wall = 0, time.monotonic()
        self.times, self.dods, self.c_rates, self.step_of = [], [], [], []
        mech_params = problem.params.mechanics if self.mech else None
        self.strength = getattr(mech_params, "tensile_strength", None) if mech_params else None
        self.boundaries = BoundaryDistance(problem.pmesh)
        self.centroid = problem.centroid
        self.sampler = (PointSampler(problem.pmesh.mesh, to_mesh(problem.pmesh.kind, self.probe_points))
                        if self.probe_names else None)
        self.phase_field = getattr(spec, "fracture", None) is not None
        fatigue = getattr(spec, "fatigue", None)
        self.pf_fatigue = fatigue is not None and fatigue.model == "phase-field"
        self.cycle_number, self.cycle_rows, self._jumper = 0, [], None
        columns = (["cycle"] if self.pf_fatigue else []) + ["t_s", "step", "dt_s", "dod", "soc", "x_mean", "potential_V", "current_A", "newton_iterations"]
        self.weibull, self.tracker = None, None
        if self.mech:
            columns += [f"{s}_{m}_Pa" for s in STRESSES for m in ("max", "min") if m == "max" or s in SIGNED]
            columns += [f"{s}_{p}_Pa" for p in self.probe_names for s in STRESSES]
            fields = problem.stress_fields()
            self.tracker = HotSpotTracker({s: fields[s] for s in HOT_SPOT_STRESSES}, problem.pmesh.kind, comm,
                                          scratch_dir=folder)
            if self.strength is not None:
                columns += ["max_principal_over_strength", "failure_probability"]
                self.weibull = self._weibull(fields["max_principal"], mech_params)
            if self.phase_field:
                columns += ["damage_max", "crack_area_m2"]
        columns += [f"li_fraction_{p}" for p in self.probe_names]
        self.onset, self.damage_onset = None, None
        self.damage_peak = self.crack_area_end = None     # phase field: largest d_max of the run, last crack area
        self._ratio_prev = None
        self.ratio_max, self.pf_max = None, None
        state = None if resume is None else resume[0]
        if state is not None:
            self._restore(*resume)
        self.csv = TimeSeriesCSV(folder / "timeseries.csv", columns, comm,
                                 offset=None if state is None else state["csv_bytes"])
        suffix = f"_resume{len(self.resumes)}" if self.resumes else ""
        self.vtx = (FieldWriter(folder / "fields", self._vtx_fields(), comm, suffix=suffix)
                    if self.full and spec.output.vtx else None)
        self.vtk = self._vtk_series(None if state is None else state["vtk_steps"])
        self._coords = {}
        self.bar = self._progress_bar(progress)
        self.bar.update(self.step_index)

    def _weibull(self, sigma1, mech):
        from sim.fracture.criteria import WeibullIntegral

        if mech.weibull_modulus is None or mech.weibull_reference_volume is None:
            return None
        return WeibullIntegral(sigma1, self.problem.pmesh, strength=self.strength, modulus=mech.weibull_modulus,
                               reference_volume=mech.weibull_reference_volume)

    # ------------------------------------------------------------------ progress
    def _progress_bar(self, progress: bool):
        from tqdm import tqdm

        disabled = not progress or self.comm.rank != 0 or not sys.stderr.isatty()
        # advanced with update() only: tqdm then knows the bar was shown and ends its line on close(), so
        # the report after it starts on a line of its own (a bar moved by refresh() is left unterminated)
        if self.pf_fatigue:     # cycles (jumped ones included), not protocol steps
            return tqdm(total=self._fatigue_plan()[3], unit="cycle", file=sys.stderr, disable=disabled,
                        delay=BAR_DELAY, bar_format="{l_bar}{bar}| {n:.0f}/{total} cycles [{elapsed}{postfix}]")
        return tqdm(total=len(self.spec.protocol), unit="step", file=sys.stderr, disable=disabled, delay=BAR_DELAY,
                    bar_format="{l_bar}{bar}| {n:.2f}/{total} steps [{elapsed}<{remaining}{postfix}]")

    def _advance_bar(self, steps_done: float) -> None:
        """Move the bar to ``steps_done`` protocol steps (cycles under phase-field fatigue)."""
        self.bar.update((self.cycle_number if self.pf_fatigue else steps_done) - self.bar.n)

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
    def _vtk_series(self, steps):
        """``fields/fields.pvd`` (VTK, :class:`sim.vtk.FieldSeries`) when ``output.vtk``; ``steps``: the (t, file)
        entries already written before a resume."""
        from sim.vtk import FieldSeries

        if not (self.full and self.spec.output.vtk):
            return None
        series = FieldSeries(self.folder / "fields", "fields", self.problem.pmesh.mesh, comm=self.comm)
        series.steps = [(float(t), str(name)) for t, name in (steps or [])]
        return series

    def _vtk_fields(self) -> dict:
        p = self.problem
        fields = {"li_fraction": _li_fraction(p)}
        if self.mech:
            s = p.stress_fields()
            fields.update({"displacement_m": p.u, "hoop_Pa": s["hoop"], "von_mises_Pa": s["von_mises"]})
        return fields

    def _vtx_fields(self) -> dict:
        p = self.problem
        fields = {"c": {"c_mol_m3": p.c}}
        if self.mech:
            s = p.stress_fields()
            fields["displacement"] = {"displacement_m": p.u}
            fields["stress"] = {"hoop_Pa": s["hoop"], "radial_Pa": s["radial"], "von_mises_Pa": s["von_mises"],
                                "max_principal_Pa": s["max_principal"]}
            if self.phase_field:
                fields["damage"] = {"damage": p.mechanics.damage}
        return fields

    def _write_vtx(self, force: bool = False) -> None:
        """VTX (and VTK) fields every ``output.vtx_every`` steps, or now (``force``); once per time."""
        every = self.spec.output.vtx_every
        if (self.vtx is None and self.vtk is None) or not (force or (every and self._since_vtx >= every)) \
                or self.problem.t == self._vtx_t:
            return
        if self.mech:
            self.problem.stress_fields()   # refresh the cached stress functions
        if self.vtx is not None:
            self.vtx.write(self.problem.t)
        if self.vtk is not None:
            self.vtk.write(self.problem.t, self._vtk_fields())
        self._since_vtx, self._vtx_t = 0, self.problem.t

    # ------------------------------------------------------------------ per accepted step
    def start(self) -> None:
        """Record the initial state (t = 0); after a resume, nothing (its rows are in timeseries.csv)."""
        self._started = time.monotonic()
        if self.resumes:
            return
        self._record()
        self._write_vtx(force=True)
        self._maps_due()

    def _record(self) -> dict:
        from sim.fracture.hotspots import to_physical
        from sim.lithium.exports import field_extremes

        p = self.problem
        kind = p.pmesh.kind
        dod = _clamp(p.dod)      # reported DOD/SOC within [0, 1]; x_mean keeps the raw state (see _state_warnings)
        row = {"cycle": self.cycle_number, "t_s": p.t, "step": self.step_index, "dt_s": p.t - self._last_t, "dod": dod, "soc": 1.0 - dod,
               "x_mean": p.x_mean, "potential_V": p.potential, "current_A": p.current,
               "newton_iterations": p.iterations - self._last_iterations}   # this step's, failed tries included
        if self.mech:
            fields = p.stress_fields()
            at_max = None
            for s in STRESSES:
                f = fields[s]
                (hi, at_hi), (lo, at_lo) = field_extremes(f, self.comm, self._coords.setdefault(s, _owned_coords(f)))
                at_hi, at_lo = to_physical(kind, at_hi)[0], to_physical(kind, at_lo)[0]
                row[f"{s}_max_Pa"] = hi
                self.extremes.update(f"{s}_Pa", hi, p.t, dod, at_hi, which="max")
                if s in SIGNED:
                    row[f"{s}_min_Pa"] = lo
                    self.extremes.update(f"{s}_Pa", lo, p.t, dod, at_lo, which="min")
                if s == "max_principal":
                    at_max = at_hi
            self.tracker.record()
            if self.strength is not None:
                self._screen(row, at_max)
            if self.phase_field:
                self._damage(row)
        if self.sampler is not None:
            for s, values in self._probe_values().items():
                for name, v in zip(self.probe_names, values):
                    row[f"{s}_{name}_Pa" if s != "li_fraction" else f"li_fraction_{name}"] = v
                    if s != "li_fraction":
                        self.extremes.update(f"{name}.{s}_Pa", v, p.t, dod, which="both" if s in SIGNED else "max")
        self.times.append(p.t), self.dods.append(dod), self.step_of.append(self.step_index)
        self.c_rates.append(abs(p.current) * 3600.0 / p.capacity)
        self.csv.write(row)
        self._last_t, self._last_iterations = p.t, p.iterations
        return row

    def _screen(self, row: dict, where: np.ndarray) -> None:
        """Strength criterion and Weibull P_f for this step; the first σ₁ >= σ_f is the onset."""
        from sim.fracture.criteria import first_crossing

        p = self.problem
        ratio = row["max_principal_max_Pa"] / self.strength
        row["max_principal_over_strength"] = ratio
        self.ratio_max = ratio if self.ratio_max is None else max(self.ratio_max, ratio)
        if self.weibull is not None:
            pf = self.weibull.probability()
            row["failure_probability"] = pf
            self.pf_max = pf if self.pf_max is None else max(self.pf_max, pf)
        if self.onset is None and ratio >= 1.0:
            t0, r0, d0 = self._ratio_prev if self._ratio_prev is not None else (p.t, ratio, p.dod)
            place = self.boundaries.describe(where)
            self.onset = {"criterion": "max principal stress >= tensile strength",
                          "t_s": first_crossing(t0, r0, p.t, ratio) if r0 < 1.0 else p.t,
                          "dod": first_crossing(d0, r0, p.dod, ratio) if r0 < 1.0 else p.dod,
                          "position_m": [float(v) for v in where], "location": place["nearest_boundary"],
                          "distance_to_location_m": place["distance_to_nearest_boundary_m"],
                          "step_t_s": p.t, "max_principal_Pa": row["max_principal_max_Pa"]}
            if self.full:
                self._section("onset", {"max_principal_over_strength": self._ratio_field(),
                                        "hoop_Pa": p.stress_fields()["hoop"]})
        self._ratio_prev = (p.t, ratio, p.dod)

    def _damage(self, row: dict) -> None:
        """Phase-field columns, when the mechanics provides them (``damage_max()``, ``crack_area()``)."""
        mech = self.problem.mechanics
        if not (hasattr(mech, "damage_max") and hasattr(mech, "crack_area")):
            return
        from sim.fracture.hotspots import to_physical
        from sim.lithium.exports import field_extremes

        row["damage_max"], row["crack_area_m2"] = mech.damage_max(), mech.crack_area()
        self.damage_peak = max(self.damage_peak or 0.0, row["damage_max"])
        self.crack_area_end = row["crack_area_m2"]
        if self.damage_onset is None and row["damage_max"] > DAMAGE_ONSET:
            p = self.problem
            (_, at), _ = field_extremes(mech.damage, self.comm, self._coords.setdefault("damage", _owned_coords(mech.damage)))
            where = to_physical(p.pmesh.kind, at)[0]
            place = self.boundaries.describe(where)
            self.damage_onset = {"criterion": f"phase field d_max > {DAMAGE_ONSET:g}", "t_s": p.t, "dod": p.dod,
                                 "position_m": [float(v) for v in where], "location": place["nearest_boundary"],
                                 "distance_to_location_m": place["distance_to_nearest_boundary_m"]}

    def _ratio_field(self):
        from dolfinx import fem

        s1 = self.problem.stress_fields()["max_principal"]
        g = fem.Function(s1.function_space, name="max_principal_over_strength")
        g.x.array[:] = s1.x.array / self.strength
        return g

    def _probe_values(self) -> dict[str, np.ndarray]:
        fields = self.problem.stress_fields() if self.mech else {}
        out = {s: self.sampler(fields[s]) for s in (STRESSES if self.mech else ())}
        out["li_fraction"] = self.sampler(self.problem.c) / self.problem.params.transport.c_max
        return out

    def _on_step(self, problem) -> None:
        self._record()
        self._since_vtx += 1
        self._write_vtx()
        self._maps_due()
        self.bar.set_postfix_str(f"t={problem.t:.4g} s DOD={problem.dod:.3f} U={problem.potential:.3f} V",
                                 refresh=False)
        self._advance_bar(self.step_index + self._step_fraction(self._step, self._t0, self._dod0))
        if self.pf_fatigue:     # the cycle jumper's state is not checkpointed: no --resume of fatigue runs
            return
        self._since_checkpoint += 1
        o = self.spec.output
        every, seconds = o.checkpoint_every, o.checkpoint_seconds
        due = (every and self._since_checkpoint >= every) or \
            (seconds and time.monotonic() - self._checkpoint_wall >= seconds)
        if self.comm.bcast(bool(due), root=0):        # one decision for all ranks (wall clocks differ)
            self.checkpoint()

    # ------------------------------------------------------------------ checkpoints
    _STATE = ("pending", "maps", "steps", "step_index", "_last_dod", "_last_t", "_since_vtx", "_vtx_t", "times",
              "dods", "c_rates", "step_of", "onset", "damage_onset", "damage_peak", "crack_area_end", "_ratio_prev",
              "ratio_max", "pf_max",
              "_last_iterations", "_t0", "_dod0", "resumes", "warnings")

    def checkpoint(self) -> None:
        """Write the solver's and the recorder's state into ``checkpoint/`` of the results folder. Collective."""
        from sim.lithium.exports import problem_state, write_checkpoint

        scalars, arrays = problem_state(self.problem)
        state = {name: getattr(self, name) for name in self._STATE}
        state.update(problem=scalars, maxima=self.extremes.maxima, minima=self.extremes.minima,
                     sections=sorted(self._sections), csv_bytes=self.csv.tell(), dt_next=self.problem.dt,
                     vtk_steps=None if self.vtk is None else self.vtk.steps, records=0,
                     wall_s=self._wall_before + time.monotonic() - self._started)
        if self.tracker is not None:
            self.tracker.flush()
            state["records"] = self.tracker.records
            arrays["tracker.file"] = np.array(self.tracker.scratch_path.name)
            arrays.update({f"tracker.peak.{n}": v for n, v in self.tracker.peak.items()})
        write_checkpoint(self.folder, self.comm, state, arrays)
        self._since_checkpoint, self._checkpoint_wall = 0, time.monotonic()

    def _restore(self, state: dict, arrays: dict) -> None:
        """Take over a checkpoint's recorder state; the hot-spot records are copied into this run's scratch file."""
        from sim.lithium.plots import load_section

        for name in self._STATE:
            setattr(self, name, state[name])
        self._ratio_prev = None if self._ratio_prev is None else tuple(self._ratio_prev)
        self.extremes.maxima, self.extremes.minima = state["maxima"], state["minima"]
        self._wall_before = state["wall_s"]
        self.resumes.append({"t_s": self.problem.t, "step": self.step_index, "time_steps": self.problem.steps})
        if self.comm.rank == 0:
            self._sections = {stem: load_section(self.folder / "maps" / f"{stem}.npz") for stem in state["sections"]}
        if self.tracker is not None:
            self.tracker.adopt(self.folder / str(arrays["tracker.file"]), state["records"])
            for name in self.tracker.names:
                self.tracker.peak[name] = arrays[f"tracker.peak.{name}"].copy()

    # ------------------------------------------------------------------ maps
    def _maps_due(self) -> None:
        dod = self.problem.dod
        due = [m for m in self.pending if abs(dod - m) <= _DOD_TOL or (self._last_dod - m) * (dod - m) < 0]
        for m in due:
            self.pending.remove(m)
            self._make_map(m)
        self._last_dod = dod

    def _section(self, stem: str, fields: dict) -> None:
        """Section data of ``fields`` now, saved as maps/<stem>.npz (drawn in :meth:`finish`). Collective."""
        from sim.lithium.plots import save_section, section_data

        p = self.problem
        data = section_data(p.pmesh.kind, fields, self.comm, radius=p.params.geometry.particle_radius, zoom=_zoom(p))
        if self.comm.rank == 0:
            (self.folder / "maps").mkdir(exist_ok=True)
            data["t_s"], data["dod"] = p.t, p.dod
            save_section(self.folder / "maps" / f"{stem}.npz", data)
            self._sections[stem] = data

    def _make_map(self, target: float) -> None:
        p = self.problem
        fields = {"li_fraction": _li_fraction(p)}
        if self.mech:
            s = p.stress_fields()
            fields.update({"hoop_Pa": s["hoop"], "radial_Pa": s["radial"], "von_mises_Pa": s["von_mises"]})
            if self.strength is not None:
                fields["max_principal_over_strength"] = self._ratio_field()
            if p.mechanics.damage is not None:
                fields["damage"] = p.mechanics.damage
        stem = f"dod_{100 * target:g}".replace(".", "p")
        self._section(stem, fields)
        probes = {name: {} for name in self.probe_names}
        if self.sampler is not None:
            for s, values in self._probe_values().items():
                for name, v in zip(self.probe_names, values):
                    probes[name][f"{s}_Pa" if s != "li_fraction" else s] = float(v)
        self._write_vtx(force=True)
        self.maps.append({"dod_target": target, "dod": p.dod, "t_s": p.t, "png": f"maps/{stem}.png",
                          "data": f"maps/{stem}.npz", "probes": probes})

    # ------------------------------------------------------------------ protocol steps
    def run_step(self, index: int, step, *, resume_dt: float | None = None) -> None:
        """Run one protocol step, split at map DODs inside a galvanostatic step.

        ``resume_dt``: continue step ``index`` from a checkpoint taken inside it (its start time and DOD come
        from the checkpoint), with this next Δt (s), so the time steps are those of an uninterrupted run."""
        p = self.problem
        self._step = step
        if resume_dt is None:
            self.step_index, self._t0, self._dod0 = index, p.t, p.dod
        reason = "time"
        while True:
            part, split = self._segment(step)
            if part is None:               # resumed exactly at the end of a timed step
                break
            dt_initial = p.dt_initial
            if resume_dt is not None:      # the solver starts a step with dt_initial: continue with the saved Δt
                p.dt_initial, resume_dt = resume_dt, None
            try:
                reason = p.run_step(part, on_step=self._on_step)
            finally:
                p.dt_initial = dt_initial
            if not split or reason != "dod":
                break
        self._write_vtx(force=True)
        self.steps.append({"index": index, "step": self.spec.describe(index), "stop_reason": reason, "t_end_s": p.t,
                           "dod_end": _clamp(p.dod), "potential_end_V": p.potential})
        if _clamp(p.dod) != p.dod:
            self.steps[-1]["dod_end_raw"] = p.dod
        self._advance_bar(index + 1)

    # ------------------------------------------------------------------ phase-field fatigue
    def _fatigue_plan(self) -> tuple[int, int, int, int]:
        """(first step of the first repetition of the load cycle, its steps per cycle, ..., cycles to run):
        the protocol's repeated group (the whole protocol without one), ``[fatigue] cycles`` or its repeat."""
        spec = self.spec
        first, end = spec.cycle if spec.cycle is not None else (0, len(spec.protocol))
        length = end - first
        start = first - (spec.cycle_repeats - 1) * length
        return start, length, end, spec.fatigue.cycles or spec.cycle_repeats

    def run_cycles(self) -> None:
        """Phase-field fatigue (``[fatigue] model = "phase-field"``, Carrara et al. 2020): the protocol steps
        before the repeated group once, then the group as the load cycle up to N cycles, with cycle jumping
        (:class:`~sim.fracture.pf_fatigue.CycleJumper`: skipped cycles extrapolate the fatigue variable), until
        max d >= ``failure_damage``. One row of cycles.csv per computed cycle."""
        from sim.fracture.pf_fatigue import CycleJumper

        spec, mech = self.spec, self.problem.mechanics
        opts = spec.fatigue
        start, length, _, n_cycles = self._fatigue_plan()
        for index in range(start):
            self.run_step(index, spec.protocol[index])

        def cycle():
            self.cycle_number = jumper.cycle_number
            for index in range(start, start + length):
                self.run_step(index, spec.protocol[index])
            self._cycle_row()

        jumper = CycleJumper(mech.phase_field, cycle, failed=lambda: mech.damage_max() >= opts.failure_damage,
                             jump=opts.jump, max_change=opts.max_change)
        self._jumper = jumper
        jumper.run(n_cycles)

    def _cycle_row(self) -> None:
        """Damage, crack area and the fatigue state after a computed cycle. Collective."""
        from sim.fracture.phase_field import fatigue_factor

        pf = self.problem.mechanics.phase_field
        alpha = pf.alpha_bar_max()      # ᾱ >= 0, so its max norm is its max
        self.cycle_rows.append({"cycle": self.cycle_number, "computed_cycles": self._jumper.computed_cycles + 1,
                                "t_s": self.problem.t, "damage_max": pf.damage_max(),
                                "crack_area_m2": pf.crack_area(), "alpha_bar_max_J_m3": alpha,
                                "fatigue_factor_min": float(fatigue_factor(alpha, pf.alpha_t))})

    def _phase_field_fatigue(self) -> dict:
        """summary.json fracture.fatigue of a phase-field fatigue run; writes cycles.csv (full outputs)."""
        opts, rows = self.spec.fatigue, self.cycle_rows
        start, length, _, n_cycles = self._fatigue_plan()

        def first(reached):
            """(first computed cycle after which reached(d_max), the computed cycle before it): the event lies
            in (before, first] (jumped cycles are not seen); (None, None) if never."""
            for i, r in enumerate(rows):
                if reached(r["damage_max"]):
                    return r["cycle"], rows[i - 1]["cycle"] if i else 0
            return None, None

        onset, onset_before = first(lambda d: d > DAMAGE_ONSET)
        failure, failure_before = first(lambda d: d >= opts.failure_damage)
        if self.comm.rank == 0 and self.full:
            with open(self.folder / "cycles.csv", "w", newline="") as fh:
                w = csv.writer(fh)
                columns = list(rows[0]) if rows else ["cycle"]
                w.writerow(columns)
                for r in rows:
                    w.writerow([f"{r[c]:.10g}" if isinstance(r[c], float) else r[c] for c in columns])
        last = rows[-1] if rows else {}
        return {"model": "phase-field", "law": "Carrara et al. 2020: G_c f(alpha_bar), alpha_bar = sum of the positive "
                "increments of g(d) psi+, f = 1 up to alpha_T and (2 alpha_T / (alpha_bar + alpha_T))^2 above",
                "alpha_threshold_J_m3": self.problem.mechanics.phase_field.alpha_t, "cycles": n_cycles,
                "cycle_steps": [start, start + length], "jump": opts.jump, "max_change": opts.max_change,
                "computed_cycles": self._jumper.computed_cycles if self._jumper else 0,
                "cycles_run": last.get("cycle", 0),
                "onset_damage": DAMAGE_ONSET, "cycles_to_onset": onset, "cycles_to_onset_after": onset_before,
                "failure_damage": opts.failure_damage, "cycles_to_failure": failure,
                "cycles_to_failure_after": failure_before, "fails_within_cycles": failure is not None,
                "damage_max_end": last.get("damage_max"), "crack_area_end_m2": last.get("crack_area_m2"),
                "fatigue_factor_min_end": last.get("fatigue_factor_min")}

    def _segment(self, step):
        """(part, split): ``step`` itself, or the part of it that is left (after a map DOD or a resume); for a
        galvanostatic step stopping at the next pending map DOD (``split``). Part None: a timed step has no
        time left."""
        import dataclasses

        from sim.lithium.protocol import Galvanostatic

        p, u = self.problem, step.until
        if not isinstance(step, Galvanostatic):
            if u.time is None or p.t == self._t0:
                return step, False
            remaining = u.time - (p.t - self._t0)
            if remaining <= 1e-12 * max(1.0, abs(p.t)):
                return None, False
            return dataclasses.replace(step, until=dataclasses.replace(u, time=remaining)), False
        sign = 1.0 if step.direction == "discharge" else -1.0   # discharge raises the DOD
        ends = [d for d in (u.dod, None if u.soc is None else 1.0 - u.soc) if d is not None]
        ahead = [m for m in self.pending if sign * (m - p.dod) > _DOD_TOL
                 and all(sign * (end - m) > _DOD_TOL for end in ends)]
        remaining = None if u.time is None else u.time - (p.t - self._t0)
        if remaining is not None and p.t > self._t0 and remaining <= 1e-12 * max(1.0, abs(p.t)):
            return None, False
        if not ahead:
            return (step if remaining is None or p.t == self._t0 else
                    dataclasses.replace(step, until=dataclasses.replace(u, time=remaining))), False
        target = min(ahead, key=lambda m: sign * (m - p.dod))
        return Galvanostatic(step.c_rate, step.direction, dataclasses.replace(u, dod=target, time=remaining)), True

    def close(self) -> None:
        self.csv.close()
        if self.vtx is not None:
            self.vtx.close()
            self.vtx = None
        self.bar.close()

    # ------------------------------------------------------------------ after the run
    def finish(self) -> None:
        """Hot spots, fracture results, hotspots.csv, fatigue.csv and the map PNGs. Collective."""
        self.close()
        self.hot_spots, self.fracture = [], None
        if self.tracker is not None:
            self._hot_spots()
            self.fracture = self._fracture()
            self.tracker.close()
        if self.comm.rank == 0 and self.full:
            self._draw_maps()

    def _hot_spots(self) -> None:
        spots = self.tracker.select(self.spec.output.hot_spots)
        self._histories = self.tracker.histories(spots)
        t, dod = np.array(self.times), np.array(self.dods)
        for s in spots:
            history = self._histories[s.name][s.stress]
            i = int(np.nanargmax(history))
            entry = {"name": s.name, "stress": s.stress, "value_Pa": s.value, "t_s": float(t[i]), "dod": float(dod[i]),
                     "c_rate": float(self.c_rates[i]), "position_m": [float(v) for v in s.position]}
            entry.update(self.boundaries.describe(s.position))
            self.hot_spots.append(entry)
        if self.comm.rank == 0 and self.full and spots:
            with open(self.folder / "hotspots.csv", "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["t_s", "dod"] + [f"{s.name}_{f}_Pa" for s in spots for f in HOT_SPOT_STRESSES])
                cols = [self._histories[s.name][f] for s in spots for f in HOT_SPOT_STRESSES]
                for i in range(len(t)):
                    w.writerow([f"{t[i]:.10g}", f"{dod[i]:.10g}"] + [f"{c[i]:.10g}" for c in cols])

    def _fracture(self) -> dict | None:
        mech = self.problem.params.mechanics
        out: dict = {}
        if self.strength is not None:
            out.update({"criterion": "max principal stress >= tensile strength", "tensile_strength_Pa": self.strength,
                        "max_principal_over_strength_max": self.ratio_max, "onset": self.onset,
                        "failure_probability_max": self.pf_max,
                        "weibull": None if self.weibull is None else {
                            "modulus": self.weibull.modulus, "reference_volume_m3": self.weibull.reference_volume,
                            "particle_volume_m3": self.weibull.volume}})
        if self.phase_field:
            out.update({"damage_onset": self.damage_onset, "damage_max": self.damage_peak,
                        "crack_area_end_m2": self.crack_area_end})
        flaw = self._flaw(mech)
        if flaw is not None:
            out["flaw"] = flaw
        fatigue = self._fatigue(mech)
        if fatigue is not None:
            out["fatigue"] = fatigue
        if not out:
            return None
        out["cracks"] = bool(self.onset is not None or self.damage_onset is not None
                             or (flaw is not None and flaw["g_max_over_g_c"] >= 1.0)
                             or (self.pf_fatigue and fatigue["fails_within_cycles"]))
        return out

    def _flaw(self, mech) -> dict | None:
        """Energy release rate of a flaw of depth a₀ at each max-principal hot spot at its peak stress; a spot
        within a₀ of a named boundary carries a surface flaw, others an embedded (penny) one."""
        from sim.fracture import criteria

        a0, g_c = mech.flaw_size, mech.fracture_energy
        spots = [s for s in self.hot_spots if s["stress"] == "max_principal"]
        if a0 is None or g_c is None or not spots:
            return None
        E, nu = mech.youngs_modulus, mech.poisson_ratio
        rows, best = [], None
        for s in spots:
            g_surface = float(criteria.surface_flaw_energy_release_rate(s["value_Pa"], a0, E, nu))
            g_embedded = float(criteria.embedded_flaw_energy_release_rate(s["value_Pa"], a0, E, nu))
            surface = s["distance_to_nearest_boundary_m"] is not None and s["distance_to_nearest_boundary_m"] <= a0
            row = {"hot_spot": s["name"], "sigma_Pa": s["value_Pa"], "flaw": "surface" if surface else "embedded",
                   "g_surface_J_m2": g_surface, "g_embedded_J_m2": g_embedded,
                   "g_J_m2": g_surface if surface else g_embedded, "c_rate": s["c_rate"]}
            rows.append(row)
            if best is None or row["g_J_m2"] > best["g_J_m2"]:
                best = row
        # no current at the peak (a rest, an ended hold): the scaling with C says nothing
        c_crit = criteria.critical_c_rate(best["c_rate"], best["g_J_m2"], g_c) if best["c_rate"] > 0 else math.inf
        return {"flaw_size_m": a0, "fracture_energy_J_m2": g_c, "g_max_J_m2": best["g_J_m2"],
                "g_max_over_g_c": best["g_J_m2"] / g_c, "hot_spot": best["hot_spot"], "c_rate": best["c_rate"],
                "critical_c_rate": c_crit if math.isfinite(c_crit) else None,
                "critical_c_rate_method": "stress proportional to current (quasi-steady galvanostatic): "
                                          "C_crit = C sqrt(G_c / G_max), C the C-rate at the peak",
                "hot_spots": rows}

    def _fatigue(self, mech) -> dict | None:
        """Paris law at each max-principal hot spot from the stress range of the cycle (the case's last
        repetition, or the whole protocol); writes fatigue.csv."""
        from sim.fracture import fatigue

        opts = getattr(self.spec, "fatigue", None)
        if self.pf_fatigue:
            return self._phase_field_fatigue()
        spots = [s for s in self.hot_spots if s["stress"] == "max_principal"]
        if opts is None or not spots:
            return None
        need = {"flaw_size": mech.flaw_size, "paris_coefficient": mech.paris_coefficient,
                "paris_exponent": mech.paris_exponent, "fracture_toughness": mech.fracture_toughness}
        missing = [k for k, v in need.items() if v is None]
        if missing:
            return {"error": f"the parameter set lacks mechanics.{', mechanics.'.join(missing)}"}
        first, end = self.spec.cycle if self.spec.cycle is not None else (0, len(self.spec.protocol))
        steps = np.array(self.step_of)
        in_cycle = (steps >= first) & (steps < end)
        cycles = fatigue.report_cycles(opts.cycles)
        Y, a0 = opts.geometry_factor, mech.flaw_size
        kw = {"coefficient": mech.paris_coefficient, "exponent": mech.paris_exponent, "geometry_factor": Y}
        result, lengths = {}, {}
        for s in spots:
            d_sigma, s_max = fatigue.stress_range(self._histories[s["name"]]["max_principal"][in_cycle])
            a_c = fatigue.critical_size(mech.fracture_toughness, s_max, Y)
            n_f = fatigue.cycles_to_failure(a0, a_c, d_sigma, **kw)
            lengths[s["name"]], _ = fatigue.crack_growth(a0, d_sigma, cycles, a_c=a_c, **kw)
            result[s["name"]] = {"stress_range_Pa": d_sigma, "sigma_max_Pa": s_max,
                                 "critical_size_m": a_c if math.isfinite(a_c) else None,
                                 "cycles_to_failure": n_f if math.isfinite(n_f) else None,
                                 "crack_length_end_m": _finite(lengths[s["name"]][-1])}
        if self.comm.rank == 0 and self.full:
            with open(self.folder / "fatigue.csv", "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["cycle"] + [f"crack_length_{n}_m" for n in lengths])
                for i, n in enumerate(cycles):
                    w.writerow([int(n)] + ["" if not np.isfinite(a[i]) else f"{a[i]:.10g}" for a in lengths.values()])
        finite = [r["cycles_to_failure"] for r in result.values() if r["cycles_to_failure"] is not None]
        return {"law": "Paris: da/dN = C (Y dsigma sqrt(pi a))^m", "cycles": opts.cycles, "geometry_factor": Y,
                "flaw_size_m": a0, "cycle_steps": [first, end], "hot_spots": result,
                "cycles_to_failure_min": min(finite) if finite else None,
                "fails_within_cycles": bool(finite and min(finite) <= opts.cycles)}

    def _draw_maps(self) -> None:
        from sim.lithium.plots import plot_section

        marks = {s["name"]: s["position_m"] for s in self.hot_spots}
        if self.onset is not None:
            marks["onset"] = self.onset["position_m"]
        probes = {n: q.tolist() for n, q in zip(self.probe_names, self.probe_points)}   # e.g. the bridge point
        title = self.spec.title or Path(self.spec.file).stem
        for stem, data in self._sections.items():
            what = "onset of fracture (max principal >= strength)" if stem == "onset" else f"DOD {100 * data['dod']:.3g} %"
            plot_section(data, self.folder / "maps" / f"{stem}.png", zoom=_zoom(self.problem), markers=marks,
                         probes=probes, title=f"{title}: {what}, t = {data['t_s']:.4g} s")

    # ------------------------------------------------------------------ summary
    def summary(self, status: str, error: dict | None, *, wall_time: float, version: str) -> dict:
        p, spec = self.problem, self.spec
        hi, lo = self.extremes.maxima, self.extremes.minima
        probes = {}
        for name, point in zip(self.probe_names, self.probe_points):
            probes[name] = {"position_m": point.tolist(),
                            "maxima": {f"{s}_Pa": hi[f"{name}.{s}_Pa"] for s in STRESSES if f"{name}.{s}_Pa" in hi},
                            "minima": {f"{s}_Pa": lo[f"{name}.{s}_Pa"] for s in SIGNED if f"{name}.{s}_Pa" in lo}}
        files = {"timeseries": "timeseries.csv", "params": "params.json", "maps": [m["png"] for m in self.maps]}
        if self.full and spec.output.vtx:   # a resumed run continues in new VTX files (.bp cannot be appended to)
            files["fields"] = [f"fields/{stem}{'' if k == 0 else f'_resume{k}'}.bp" for k in range(len(self.resumes) + 1)
                               for stem in self._vtx_fields()]
        if self.vtk is not None:
            files["vtk"] = "fields/fields.pvd"
        if self.full and self.hot_spots:
            files["hot_spots"] = "hotspots.csv"
        fracture = getattr(self, "fracture", None)
        if self.full and fracture and "fatigue" in fracture and "hot_spots" in fracture["fatigue"]:
            files["fatigue"] = "fatigue.csv"
        if self.full and self.pf_fatigue:
            files["cycles"] = "cycles.csv"
        if self.full and self.onset is not None:
            files["onset_map"] = "maps/onset.png"
        return {
            "status": status, "error": error, "sim_version": version, "coordinates": COORDINATES,
            "case": {"file": spec.file, "title": spec.title, "params": p.params.name, "geometry": spec.geometry,
                     "protocol": [spec.describe(i) for i in range(len(spec.protocol))]},
            "final": self._final(),
            "maxima": {f"{s}_Pa": hi[f"{s}_Pa"] for s in STRESSES if f"{s}_Pa" in hi},
            "minima": {f"{s}_Pa": lo[f"{s}_Pa"] for s in SIGNED if f"{s}_Pa" in lo},
            "probes": probes, "centroid_m": [float(v) for v in self.centroid],
            "hot_spots": getattr(self, "hot_spots", []), "fracture": fracture,
            "cracks": None if fracture is None else fracture["cracks"],
            "maps": self.maps, "steps": self.steps,
            "time_steps": p.steps, "newton_iterations": p.iterations,
            "mass_balance_error": p.mass_balance_error, "mesh": p.pmesh.summary(),
            "wall_time_s": self._wall_before + wall_time, "mpi_ranks": self.comm.size,
            "outputs": "full" if self.full else "minimal", "files": files, "resumed": self.resumes,
            "warnings": self.warnings + self._state_warnings(),
        }

    def _final(self) -> dict:
        """The final state; SOC and DOD clamped to [0, 1] (``soc_raw``/``dod_raw`` hold the computed values)."""
        p = self.problem
        final = {"t_s": p.t, "dod": _clamp(p.dod), "soc": _clamp(p.soc), "x_mean": p.x_mean,
                 "potential_V": p.potential, "current_A": p.current}
        if final["soc"] != p.soc:
            final.update(soc_raw=p.soc, dod_raw=p.dod)
        return final

    def _state_warnings(self) -> list[str]:
        """Physically impossible states: an SOC outside [0, 1] at the end of a step (e.g. after a hold that
        pushed x̄ past the capacity window [x_min, x_max] of the parameter set)."""
        tr = self.problem.params.transport
        out = []
        for st in self.steps:
            soc = 1.0 - st.get("dod_end_raw", st["dod_end"])
            if not -1e-9 <= soc <= 1 + 1e-9:
                out.append(f"SOC {soc:.4f} after step {st['index']} ({st['step']}) is outside [0, 1]: the mean Li "
                           f"fraction left the capacity window [{tr.x_min:g}, {tr.x_max:g}] of the parameter set; "
                           f"reported SOC and DOD are clamped to [0, 1] (raw values: final.soc_raw, steps[].dod_end_raw "
                           f"and x_mean in timeseries.csv)")
        return out


def _clamp(v: float) -> float:
    return min(max(float(v), 0.0), 1.0)


def _finite(v):
    return float(v) if np.isfinite(v) else None


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
