"""Result files of ``sim run``: JSON/CSV with units, VTX fields, maxima and point values.

Everything here is MPI-aware: collective calls are made on every rank, files are written by rank 0
(except VTX, which is collective); a run writes into a hidden sibling folder that is renamed to its
final name only at the end (:class:`sim.io.StagedDir`).
"""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np

from sim.io import json_ready



# ----------------------------------------------------------------------------------------- time series
class TimeSeriesCSV:
    """A CSV with unit-suffixed column names, one row per accepted time step, flushed as it goes
    (a failed run keeps its rows). Rank 0 writes; other ranks ignore the calls.

    ``offset``: continue an existing file (``--resume``) after its first ``offset`` bytes (what
    :meth:`tell` returned at the checkpoint), dropping the rows written after it."""

    def __init__(self, path: Path, columns: list[str], comm, *, offset: int | None = None):
        self.columns, self._file, self._writer = list(columns), None, None
        if comm.rank == 0:
            if offset is None:
                self._file = open(path, "w", newline="")
            else:
                self._file = open(path, "r+", newline="")
                self._file.truncate(offset)
                self._file.seek(offset)
            self._writer = csv.writer(self._file)
            if offset is None:
                self._writer.writerow(self.columns)
            self._file.flush()

    def tell(self) -> int | None:
        """Bytes written so far (rank 0; None elsewhere)."""
        return None if self._file is None else self._file.tell()

    def write(self, row: dict) -> None:
        if self._writer is None:
            return
        self._writer.writerow([_cell(row.get(c)) for c in self.columns])
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    return f"{float(v):.10g}"


# ----------------------------------------------------------------------------------------- VTX fields
# ----------------------------------------------------------------------------------------- checkpoints
CHECKPOINT = "checkpoint"        # folder inside the staging folder; swapped in whole, never half-written


def write_checkpoint(folder: Path, comm, state: dict, arrays: dict[str, np.ndarray]) -> None:
    """Save a checkpoint into ``folder/checkpoint``: each rank's ``arrays`` as ``rank<r>.npz``, rank 0's
    ``state`` (JSON) last; written as ``checkpoint.new`` and renamed, so a kill leaves the previous one
    (``checkpoint`` or, mid-swap, ``checkpoint.old``) intact. Collective."""
    import shutil

    new, cur, old = (folder / f"{CHECKPOINT}{tag}" for tag in (".new", "", ".old"))
    if comm.rank == 0:
        shutil.rmtree(new, ignore_errors=True)
        new.mkdir()
    comm.barrier()
    with open(new / f"rank{comm.rank}.npz", "wb") as fh:
        np.savez(fh, **arrays)
    comm.barrier()
    if comm.rank == 0:
        (new / "state.json").write_text(json.dumps(json_ready(state, finite=False)))
        shutil.rmtree(old, ignore_errors=True)
        if cur.exists():
            os.replace(cur, old)
        os.replace(new, cur)
        shutil.rmtree(old, ignore_errors=True)
    comm.barrier()


def checkpoint_dir(folder: Path) -> Path | None:
    """The complete checkpoint in ``folder`` (``checkpoint``, else ``checkpoint.old``), or None."""
    for name in (CHECKPOINT, f"{CHECKPOINT}.old"):
        if (folder / name / "state.json").is_file():
            return folder / name
    return None


def read_checkpoint(folder: Path, comm) -> tuple[dict, dict[str, np.ndarray]]:
    """(state, this rank's arrays) of the checkpoint in ``folder``. Collective."""
    where = checkpoint_dir(folder) if comm.rank == 0 else None
    where = comm.bcast(where, root=0)
    state = comm.bcast(json.loads((where / "state.json").read_text()) if comm.rank == 0 else None, root=0)
    with np.load(where / f"rank{comm.rank}.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return state, arrays


def problem_state(problem) -> tuple[dict, dict[str, np.ndarray]]:
    """Everything :class:`~sim.lithium.problem.LithiumProblem` carries from one accepted time step to the next:
    scalars (t, step count, Newton count, next Δt, current, potential, Li balance, temperature, and where the
    solver has them the drive and the multistep history) and this rank's part of every Function, Constant and
    float array of the transport, the mechanics and its phase field (c, c_n, φ_s, u, stress, damage, history)."""
    scalars = {name: getattr(problem, name) for name in _PROBLEM_SCALARS + _OPTIONAL_SCALARS if hasattr(problem, name)}
    arrays = {"problem._u_accepted": problem._u_accepted} if problem._u_accepted is not None else {}
    if hasattr(problem, "_history"):     # multistep time stepping: (t, c, Li inserted) of recent steps
        scalars["_history"] = [(t, inserted) for t, _, inserted in problem._history]
        arrays.update({f"problem._history.{i}": c for i, (_, c, _) in enumerate(problem._history)})
    for prefix, part in _parts(problem):
        for name, value in _state_objects(part):
            arrays[f"{prefix}.{name}"] = _values(value).copy()
    return scalars, arrays


_PROBLEM_SCALARS = ("t", "steps", "iterations", "dt", "current", "potential", "_amount0", "_inserted",
                    "temperature", "_phi_accepted")
_OPTIONAL_SCALARS = ("rejected", "_drive")


def _parts(problem):
    mech = problem.mechanics
    return [("transport", problem.transport), ("mechanics", mech),
            ("mechanics.phase_field", getattr(mech, "phase_field", None))]


def _state_objects(part):
    from dolfinx import fem

    if part is None:
        return []
    return [(n, v) for n, v in sorted(vars(part).items())
            if isinstance(v, (fem.Function, fem.Constant)) or (isinstance(v, np.ndarray) and v.dtype.kind == "f")]


def _values(obj) -> np.ndarray:
    """The array behind a Function (``x.array``), a Constant (``value``) or a float array."""
    if hasattr(obj, "x"):
        return obj.x.array
    return np.asarray(obj.value if hasattr(obj, "value") else obj)


def restore_problem(problem, scalars: dict, arrays: dict[str, np.ndarray]) -> None:
    """Put a :func:`problem_state` back into an initialised problem built from the same case on as many ranks."""
    from sim.errors import InputError

    def misfit(what: str):
        return InputError(f"the checkpoint does not fit this mesh ({what}); it was written by another mesh or number "
                          f"of MPI ranks: run without --resume", key="--resume")

    for name, value in scalars.items():
        if name != "_history":
            setattr(problem, name, tuple(value) if name == "_drive" and value is not None else value)
    if problem._u_accepted is not None:
        problem._u_accepted = arrays["problem._u_accepted"].copy()
    if "_history" in scalars:
        problem._history = [(t, arrays[f"problem._history.{i}"].copy(), inserted)
                            for i, (t, inserted) in enumerate(scalars["_history"])]
    for prefix, part in _parts(problem):
        for name, value in _state_objects(part):
            saved, target = arrays.get(f"{prefix}.{name}"), _values(value)
            if saved is None or saved.shape != np.shape(target):
                raise misfit(f"{prefix}.{name}")
            if hasattr(value, "x"):
                value.x.array[:] = saved
            elif hasattr(value, "value"):
                value.value = saved
            else:
                setattr(part, name, saved.copy())
    problem._update_state()


class FieldWriter:
    """VTX (.bp, ADIOS2) time series in ``folder``: one file per function space, e.g. ``c.bp``,
    ``displacement.bp``, ``stress.bp``. Each write copies the source Functions into private copies
    with unit-labelled names (``hoop_Pa``), so the solver's own names stay untouched. Collective."""

    def __init__(self, folder: Path, fields: dict[str, dict[str, object]], comm, *, suffix: str = ""):
        """``fields``: file stem -> {output name (e.g. "hoop_Pa"): source Function}; ``suffix`` is appended to
        each stem (``c_resume1.bp`` after a ``--resume``: VTX files cannot be appended to)."""
        from dolfinx import fem
        from dolfinx.io import VTXMeshPolicy, VTXWriter

        folder.mkdir(parents=True, exist_ok=True)   # every rank: the stage folder is shared
        self._pairs, self._writers = [], []
        for stem, group in fields.items():
            copies = [(src, fem.Function(src.function_space, name=name)) for name, src in group.items()]
            self._pairs += copies
            self._writers.append(VTXWriter(comm, folder / f"{stem}{suffix}.bp", [c for _, c in copies], engine="BP4",
                                           mesh_policy=VTXMeshPolicy.reuse))

    def write(self, t: float) -> None:
        for src, copy in self._pairs:
            copy.x.array[:] = src.x.array
        for w in self._writers:
            w.write(t)

    def close(self) -> None:
        for w in self._writers:
            w.close()
        self._writers = []


# ----------------------------------------------------------------------------------------- field maxima
def field_extremes(f, comm, coords: np.ndarray | None = None) -> tuple[tuple[float, np.ndarray], ...]:
    """((max, where), (min, where)) of a scalar Function's dof values over all ranks; ``where`` in m.

    ``coords``: the owned dof coordinates (``V.tabulate_dof_coordinates()[:n_owned]``) if cached. Collective.
    """
    V = f.function_space
    n = V.dofmap.index_map.size_local
    values = f.x.array[:n]
    if n:
        xyz = coords if coords is not None else V.tabulate_dof_coordinates()
        hi, lo = int(np.argmax(values)), int(np.argmin(values))
        local = ((float(values[hi]), xyz[hi]), (float(values[lo]), xyz[lo]))
    else:
        local = ((-math.inf, np.full(3, np.nan)), (math.inf, np.full(3, np.nan)))
    everyone = comm.allgather(local)
    return max((e[0] for e in everyone), key=lambda p: p[0]), min((e[1] for e in everyone), key=lambda p: p[0])


class Extremes:
    """Running maxima and minima over time of named quantities, with the time, DOD and (optionally) position."""

    def __init__(self):
        self.maxima: dict[str, dict] = {}
        self.minima: dict[str, dict] = {}

    def update(self, name: str, value: float, t: float, dod: float, position=None, *, which: str = "both") -> None:
        if not math.isfinite(value):
            return
        entry = {"value": float(value), "t_s": float(t), "dod": float(dod)}
        if position is not None:
            entry["position_m"] = [float(p) for p in position]
        if which in ("both", "max") and (name not in self.maxima or value > self.maxima[name]["value"]):
            self.maxima[name] = entry
        if which in ("both", "min") and (name not in self.minima or value < self.minima[name]["value"]):
            self.minima[name] = entry


# ----------------------------------------------------------------------------------------- point values
def cell_values_at(fields: dict, points: np.ndarray, comm) -> dict[str, np.ndarray]:
    """Values of cell-wise constant (DG0) Functions (name -> Function, one mesh) at ``points`` (n, 3) in m,
    on every rank, NaN outside the mesh. Reads the containing cell's value, so curved (order-2) cells need
    no Newton pull-back; the cells are located once for all fields. Collective."""
    from dolfinx import geometry

    msh = next(iter(fields.values())).function_space.mesh
    points = np.ascontiguousarray(points, dtype=np.float64)
    tree = geometry.bb_tree(msh, msh.topology.dim)
    cells = geometry.compute_colliding_cells(msh, geometry.compute_collisions_points(tree, points), points)
    found = np.array([i for i in range(len(points)) if len(cells.links(i))], dtype=np.int64)
    first = np.array([cells.links(i)[0] for i in found], dtype=np.int32)
    out = {}
    for name, g in fields.items():
        local = np.full(len(points), np.nan)
        if len(found):
            local[found] = g.x.array[g.function_space.dofmap.list[first, 0]]
        merged = np.full(len(points), np.nan)
        for arr in comm.allgather(local):
            merged = np.where(np.isnan(merged), arr, merged)
        out[name] = merged
    return out
