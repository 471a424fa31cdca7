"""Result files of ``sim run``: JSON/CSV with units, VTX fields, maxima and point values.

Everything here is MPI-aware: collective calls are made on every rank, files are written by rank 0
(except VTX, which is collective); a run writes into a hidden sibling folder that is renamed to its
final name only at the end (:class:`sim.io.StagedDir`).
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from sim.io import write_text_atomic


# ----------------------------------------------------------------------------------------- JSON
def json_ready(obj):
    """Replace non-finite floats (not valid JSON) by strings and numpy scalars/arrays by Python values."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (temp file + rename). Call on one rank."""
    write_text_atomic(path, json.dumps(json_ready(data), indent=2, allow_nan=False) + "\n")


# ----------------------------------------------------------------------------------------- time series
class TimeSeriesCSV:
    """A CSV with unit-suffixed column names, one row per accepted time step, flushed as it goes
    (a failed run keeps its rows). Rank 0 writes; other ranks ignore the calls."""

    def __init__(self, path: Path, columns: list[str], comm):
        self.columns, self._file, self._writer = list(columns), None, None
        if comm.rank == 0:
            self._file = open(path, "w", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow(self.columns)
            self._file.flush()

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
class FieldWriter:
    """VTX (.bp, ADIOS2) time series in ``folder``: one file per function space, e.g. ``c.bp``,
    ``displacement.bp``, ``stress.bp``. Each write copies the source Functions into private copies
    with unit-labelled names (``hoop_Pa``), so the solver's own names stay untouched. Collective."""

    def __init__(self, folder: Path, fields: dict[str, dict[str, object]], comm):
        """``fields``: file stem -> {output name (e.g. "hoop_Pa"): source Function}."""
        from dolfinx import fem
        from dolfinx.io import VTXMeshPolicy, VTXWriter

        folder.mkdir(parents=True, exist_ok=True)   # every rank: the stage folder is shared
        self._pairs, self._writers = [], []
        for stem, group in fields.items():
            copies = [(src, fem.Function(src.function_space, name=name)) for name, src in group.items()]
            self._pairs += copies
            self._writers.append(VTXWriter(comm, folder / f"{stem}.bp", [c for _, c in copies], engine="BP4",
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
