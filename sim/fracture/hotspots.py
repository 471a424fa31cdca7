"""Hot spots: where a run's stresses peak, how far that is from the cavities and the outer surface, and
their stress histories (the generalisation of Liu 2024's bridge point to any mesh).

Coordinates: the mesh's own coordinates are radial r, axisymmetric (r, z) or 3D (x, y, z); everything
reported is physical (x, y, z) in m, with r -> (0, 0, r) for 1D radial and (r, z) -> (r, 0, z) for
axisymmetric meshes (:func:`to_physical`). Distances to a surface of revolution are measured in the
meridional plane, which contains the nearest point of the surface.

Boundaries are the mesh's named facet tags (``outer``, ``void``, ``pore_<i>``, or whatever a user's mesh
calls them); symmetry tags (``axis``, ``centre``) are not surfaces of the particle and are skipped.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SYMMETRY_TAGS = ("axis", "centre")
SEPARATION = 0.1        # hot spots of one stress are at least this fraction of the particle size apart


def to_physical(kind: str, points) -> np.ndarray:
    """Mesh coordinates (n, 3) (radial (r, ., .), axisym (r, z, .), 3D) -> physical (x, y, z) in m."""
    p = np.atleast_2d(np.asarray(points, dtype=float))
    out = np.zeros((len(p), 3))
    if kind == "radial":
        out[:, 2] = p[:, 0]
    elif kind == "axisym":
        out[:, 0], out[:, 2] = p[:, 0], p[:, 1]
    else:
        out[:] = p[:, :3]
    return out


def to_mesh(kind: str, points) -> np.ndarray:
    """Physical (x, y, z) (n, 3) in m -> mesh coordinates (n, 3): radial (|p|, 0, 0), axisym (√(x²+y²), z, 0)."""
    p = np.atleast_2d(np.asarray(points, dtype=float))
    out = np.zeros((len(p), 3))
    if kind == "radial":
        out[:, 0] = np.linalg.norm(p, axis=1)
    elif kind == "axisym":
        out[:, 0], out[:, 1] = np.hypot(p[:, 0], p[:, 1]), p[:, 2]
    else:
        out[:] = p
    return out


def centroid(pmesh) -> np.ndarray:
    """Volume-weighted centroid of the particle (physical (x, y, z), m), integrated on the mesh. Collective."""
    import ufl
    from dolfinx import fem
    from mpi4py import MPI

    from sim.lithium.transport import geometry_weights

    w = geometry_weights(pmesh).weight
    x = ufl.SpatialCoordinate(pmesh.mesh)
    dx = ufl.dx(domain=pmesh.mesh)

    def integral(expr) -> float:
        return pmesh.comm.allreduce(fem.assemble_scalar(fem.form(expr * dx)), op=MPI.SUM)

    volume = integral(w)
    gdim = pmesh.mesh.geometry.dim
    mesh_c = np.zeros(3)
    if pmesh.kind == "axisym":           # a body of revolution: on the axis, at the weighted mean z
        mesh_c[1] = integral(w * x[1]) / volume
    elif pmesh.kind == "3d":
        mesh_c[:gdim] = [integral(w * x[i]) / volume for i in range(gdim)]
    return to_physical(pmesh.kind, mesh_c)[0]   # radial: the centre of the sphere


class BoundaryDistance:
    """Distance from points to each named boundary of a :class:`~sim.mesh.ParticleMesh` (m).

    Each boundary is represented by its facets' geometry nodes and facet midpoints (curved order-2 facets
    included), gathered on every rank; the distance is to the nearest of those (exact at the nodes, within
    ~h²/(8 ρ) of the true surface of curvature radius ρ between them). Collective constructor.
    """

    def __init__(self, pmesh):
        from dolfinx.mesh import entities_to_geometry

        self.kind = pmesh.kind
        msh = pmesh.mesh
        fdim = msh.topology.dim - 1
        self.nodes: dict[str, np.ndarray] = {}
        for name, tag in sorted(pmesh.boundaries.items(), key=lambda kv: kv[1]):
            if name in SYMMETRY_TAGS:
                continue
            facets = pmesh.facet_tags.find(tag)
            n_owned = msh.topology.index_map(fdim).size_local
            facets = facets[facets < n_owned]
            if len(facets):
                nodes = msh.geometry.x[entities_to_geometry(msh, fdim, facets, False)]   # (n, nodes, 3)
                local = np.concatenate([nodes.reshape(-1, 3), nodes.mean(axis=1)])
            else:
                local = np.zeros((0, 3))
            points = np.concatenate(pmesh.comm.allgather(local))
            if len(points):
                self.nodes[name] = np.unique(points, axis=0)

    @property
    def names(self) -> list[str]:
        return list(self.nodes)

    def distances(self, points_physical) -> dict[str, np.ndarray]:
        """Boundary name -> distance (m) of each physical point (n, 3); brute force, for a few points."""
        mesh_points = to_mesh(self.kind, points_physical)
        return {name: np.array([np.sqrt(((nodes - p) ** 2).sum(axis=1).min()) for p in mesh_points])
                for name, nodes in self.nodes.items()}

    def describe(self, point_physical) -> dict:
        """Nearest boundary, nearest cavity (any named boundary other than ``outer``) and the outer surface
        of one physical point, with distances in m."""
        d = {n: float(v[0]) for n, v in self.distances(point_physical).items()}
        cavities = {n: v for n, v in d.items() if n != "outer"}
        nearest = min(d, key=d.get) if d else None
        cavity = min(cavities, key=cavities.get) if cavities else None
        return {"nearest_boundary": nearest, "distance_to_nearest_boundary_m": d.get(nearest),
                "nearest_cavity": cavity, "distance_to_cavity_m": cavities.get(cavity),
                "distance_to_outer_m": d.get("outer"), "distances_m": d}


@dataclass
class HotSpot:
    """One hot spot: the dof (on ``rank``) where stress ``stress`` peaked; ``value`` its peak (Pa)."""

    name: str
    stress: str
    value: float
    position: np.ndarray   # physical (x, y, z), m
    rank: int
    dof: int


class HotSpotTracker:
    """Running per-dof maxima of some scalar stress Functions (one space) and their full histories.

    Every :meth:`record` appends the owned values (float64) of all tracked fields to a per-rank scratch
    file (disk, not memory), so that once the run is over the histories of the hot spots can be read back
    at fixed dof indices without re-evaluating anything. :meth:`select` picks the hot spots, :meth:`histories`
    reads their columns. Collective (record, select, histories).
    """

    def __init__(self, fields: dict, kind: str, comm, *, scratch_dir: Path | None = None):
        self.names = list(fields)
        self.fields, self.kind, self.comm = fields, kind, comm
        V = next(iter(fields.values())).function_space
        self.n = V.dofmap.index_map.size_local * V.dofmap.index_map_bs
        self.coords = V.tabulate_dof_coordinates()[: self.n]
        self.peak = {name: np.full(self.n, -np.inf) for name in self.names}
        self._file = tempfile.NamedTemporaryFile(prefix=f"hotspots_{comm.rank}_", suffix=".f64",
                                                 dir=scratch_dir, delete=True)
        self.records = 0
        size = comm.allreduce(float(np.abs(self.coords).max()) if self.n else 0.0, op=_max())
        self.separation = SEPARATION * size

    def record(self) -> None:
        block = np.empty((len(self.names), self.n))
        for i, name in enumerate(self.names):
            values = self.fields[name].x.array[: self.n]
            np.maximum(self.peak[name], values, out=self.peak[name])
            block[i] = values
        self._file.write(block.tobytes())
        self.records += 1

    @property
    def scratch_path(self) -> Path:
        """This rank's scratch file of records (what a checkpoint names to take over on resume)."""
        return Path(self._file.name)

    def flush(self) -> None:
        """Push the records written so far to the scratch file (before a checkpoint)."""
        self._file.flush()

    def adopt(self, path: Path, records: int) -> None:
        """Take over the first ``records`` records of another tracker's scratch file ``path`` (same fields and
        dofs: a checkpoint of the same run), then remove it; peaks are restored by the caller."""
        size = records * len(self.names) * self.n * 8
        with open(path, "rb") as fh:
            while size > 0:
                chunk = fh.read(min(size, 1 << 24))
                if not chunk:
                    break
                self._file.write(chunk)
                size -= len(chunk)
        path.unlink()
        self.records = records

    def select(self, k: int) -> list[HotSpot]:
        """The ``k`` highest peaks of each field, greedily: each is the highest peak farther than
        ``separation`` from the ones chosen before (k rounds of one allgather each)."""
        spots = []
        for stress in self.names:
            peak = self.peak[stress]
            alive = np.isfinite(peak)
            for j in range(k):
                i = int(np.argmax(np.where(alive, peak, -np.inf))) if alive.any() else -1
                local = (float(peak[i]), self.coords[i], self.comm.rank, i) if i >= 0 else (-np.inf, None, -1, -1)
                value, xyz, rank, dof = max(self.comm.allgather(local), key=lambda c: c[0])
                if xyz is None:
                    break
                spots.append(HotSpot(f"{stress}_{j + 1}", stress, value, to_physical(self.kind, xyz)[0], rank, dof))
                alive &= np.linalg.norm(self.coords - xyz, axis=1) >= self.separation
        return spots

    def histories(self, spots: list[HotSpot]) -> dict[str, dict[str, np.ndarray]]:
        """Spot name -> {field name -> history (records,)} on every rank."""
        self._file.flush()
        mine = {}
        if self.records and any(s.rank == self.comm.rank for s in spots):
            data = np.memmap(self._file.name, dtype=np.float64, mode="r",
                             shape=(self.records, len(self.names), self.n))
            mine = {s.name: {f: np.array(data[:, i, s.dof]) for i, f in enumerate(self.names)}
                    for s in spots if s.rank == self.comm.rank}
            del data
        out = {}
        for part in self.comm.allgather(mine):
            out.update(part)
        return out

    def close(self) -> None:
        self._file.close()


def _max():
    from mpi4py import MPI
    return MPI.MAX
