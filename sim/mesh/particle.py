"""The mesh record, boundary names and tags, and the gmsh → DOLFINx hand-over shared by every builder.

Every mesh is built with gmsh on rank 0 and distributed with ``dolfinx.io.gmsh.model_to_mesh``.
Boundaries are named physical groups, the same names for every kind of mesh:

========== ===== ==========================================================
name       tag   where
========== ===== ==========================================================
outer      1     outer particle surface (r = R, the spheroid or the imaged surface)
void       2     central void surface (r = a > 0), or the largest closed cavity of an image
axis       3     symmetry axis r = 0 of an axisymmetric (r, z) section
centre     4     r = 0 of a solid 1D radial mesh (a symmetry point)
pore_<i>   10+i  surface of ``geometry.pores[i]``, or of the i-th other closed cavity
========== ===== ==========================================================

The cells carry tag 1 ("particle"). Coordinates are SI (m).
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError

TAGS = {"outer": 1, "void": 2, "axis": 3, "centre": 4}
PORE_TAG0 = 10          # pore_i has tag PORE_TAG0 + i
DOMAIN_TAG = 1          # cell tag of the particle


def _world(comm):
    if comm is not None:
        return comm
    import dolfinx_solver  # noqa: F401  (loads MPI before mpi4py)
    from mpi4py import MPI

    return MPI.COMM_WORLD


# --------------------------------------------------------------------------- the mesh record
@dataclass
class ParticleMesh:
    """A distributed DOLFINx mesh with named boundaries.

    ``kind`` is "radial" (1D, coordinate r), "axisym" (2D, (r, z), r >= 0) or "3d".
    ``boundaries`` maps names ("outer", "void", "pore_0", ..., "axis", "centre") to facet tags.
    ``min_quality`` is gmsh's minimum scaled inverse condition number (minSICN, 1 = ideal,
    <= 0 = inverted) over all cells, ``None`` for 1D. ``msh`` holds the gmsh file (rank 0 only).
    """

    mesh: Any
    cell_tags: Any
    facet_tags: Any
    boundaries: dict[str, int]
    kind: str
    comm: Any
    min_quality: float | None = None
    msh: bytes | None = field(default=None, repr=False)
    info: dict = field(default_factory=dict)   # extra JSON-ready facts (image statistics, centroid shift)

    @property
    def num_cells(self) -> int:
        return self.mesh.topology.index_map(self.mesh.topology.dim).size_global

    @property
    def num_vertices(self) -> int:
        return self.mesh.topology.index_map(0).size_global

    @property
    def num_nodes(self) -> int:
        """Geometry nodes (vertices plus edge midpoints for curved order-2 meshes)."""
        return self.mesh.geometry.index_map().size_global

    @property
    def order(self) -> int:
        return self.mesh.geometry.cmaps[0].degree

    def volume(self) -> float:
        """Particle volume (m³): ∫ dx in 3D, 2π ∫ r dA for (r, z), 4π ∫ r² dr in 1D. Collective."""
        import ufl
        from dolfinx import fem
        from mpi4py import MPI

        x = ufl.SpatialCoordinate(self.mesh)
        weight = {"3d": 1.0, "axisym": 2 * np.pi * x[0], "radial": 4 * np.pi * x[0] ** 2}[self.kind]
        dx = ufl.dx(domain=self.mesh, metadata={"quadrature_degree": 2 + 2 * self.order})
        return self.comm.allreduce(fem.assemble_scalar(fem.form(weight * dx)), op=MPI.SUM)

    def summary(self) -> dict:
        """Counts, quality, boundary names and volume (JSON-ready; lengths in m). Collective."""
        return {"kind": self.kind, "order": self.order, "cells": self.num_cells, "vertices": self.num_vertices,
                "nodes": self.num_nodes, "min_quality_minSICN": self.min_quality,
                "boundaries": dict(self.boundaries), "cell_tag": DOMAIN_TAG, "length_unit": "m",
                "volume_m3": self.volume(), **self.info}

    def write(self, folder: str | Path, name: str) -> dict[str, Path]:
        """Write ``<name>.msh`` (gmsh), ``<name>.xdmf`` + ``.h5`` (mesh, cell and facet tags, for DOLFINx),
        ``<name>_mesh.xdmf`` + ``.h5`` (the mesh alone: one grid, which meshio and VTK's XDMF reader need),
        ``<name>.vtu`` + ``<name>_facets.vtu`` (VTK with the tags as cell data: ParaView, PyVista, meshio) and
        ``<name>.json`` (boundary names -> tags, counts) into ``folder``. Collective.

        Files are staged in a temporary sibling folder and moved in at the end, so a failure
        leaves nothing half-written.
        """
        from dolfinx.io import XDMFFile

        from sim.io import StagedDir, write_json
        from sim.vtk import write_mesh

        folder = Path(folder)
        with StagedDir(folder, comm=self.comm, merge=True) as stage:  # other meshes in folder stay
            tdim = self.mesh.topology.dim
            self.mesh.topology.create_connectivity(tdim - 1, tdim)
            with XDMFFile(self.comm, stage / f"{name}.xdmf", "w") as xdmf:
                xdmf.write_mesh(self.mesh)
                xdmf.write_meshtags(self.facet_tags, self.mesh.geometry)
                if self.cell_tags is not None:
                    xdmf.write_meshtags(self.cell_tags, self.mesh.geometry)
            with XDMFFile(self.comm, stage / f"{name}_mesh.xdmf", "w") as xdmf:
                xdmf.write_mesh(self.mesh)
            write_mesh(stage / f"{name}.vtu", self.mesh, self.cell_tags, self.facet_tags, comm=self.comm)
            info = self.summary()
            if self.comm.rank == 0:
                (stage / f"{name}.msh").write_bytes(self.msh)
                write_json(stage / f"{name}.json", info)
        paths = {ext: folder / f"{name}.{ext}" for ext in ("msh", "xdmf", "h5", "json", "vtu")}
        return paths | {"mesh_xdmf": folder / f"{name}_mesh.xdmf"}

    def plot(self, path: str | Path, title: str = "") -> Path:
        """Save a PNG: 1D element size vs r; 2D mesh with boundaries coloured by tag;
        3D boundary facets coloured by tag and a mid-plane (z = 0) cut. Collective."""
        from sim.mesh import plot as mesh_plot

        return mesh_plot.plot(self, Path(path), title)


# --------------------------------------------------------------------------- gmsh session
def _mesh_from_gmsh(build, *, gdim: int, kind: str, comm, name: str) -> ParticleMesh:
    """Run ``build(gmsh) -> (boundaries, scale[, info])`` on rank 0, scale to metres, distribute.

    ``build`` must create the geometry, physical groups and the mesh; ``info`` (optional, JSON-ready)
    becomes :attr:`ParticleMesh.info` on every rank. Errors on rank 0 are
    broadcast so the other ranks raise instead of waiting in ``model_to_mesh``. An already
    initialised gmsh session is reused (and keeps the options set here); otherwise one is
    opened and closed.
    """
    from dolfinx.io import gmsh as gmshio

    gmsh = msh = None
    payload, error = None, None
    if comm.rank == 0:
        import gmsh

        own_session = not gmsh.isInitialized()
        if own_session:
            gmsh.initialize(interruptible=False)
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.option.setNumber("General.NumThreads", 1)  # reproducible meshes; the cores are shared anyway
        gmsh.option.setNumber("Mesh.Algorithm3D", 10)  # HXT: here faster than Delaunay, min quality 0.34 vs 0.05
        gmsh.model.add(name)
        try:
            boundaries, scale, *extra = build(gmsh)
            dim = gmsh.model.getDimension()
            quality = _min_quality(gmsh, dim)
            gmsh.model.mesh.affineTransform([scale, 0, 0, 0, 0, scale, 0, 0, 0, 0, scale, 0])
            msh = _msh_bytes(gmsh)
            payload = (boundaries, quality, extra[0] if extra else {})
        except Exception as exc:  # re-raised below, after the other ranks know
            error = exc
    failed = comm.bcast(None if error is None else (f"{type(error).__name__}: {error}",
                                                    isinstance(error, InputError) and
                                                    (error.detail, error.file, error.key)), root=0)
    try:
        if failed:
            if error is not None:
                raise error
            if failed[1]:   # bad input: the same one-line error on every rank
                raise InputError(failed[1][0], file=failed[1][1], key=failed[1][2])
            raise RuntimeError(f"mesh generation failed on rank 0: {failed[0]}")
        data = gmshio.model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=gdim)
    finally:
        if comm.rank == 0:
            gmsh.model.remove()
            if own_session:
                gmsh.finalize()
    boundaries, quality, info = comm.bcast(payload, root=0)
    return ParticleMesh(data.mesh, data.cell_tags, data.facet_tags, boundaries, kind, comm,
                        min_quality=quality, msh=msh if comm.rank == 0 else None, info=info)


def _min_quality(gmsh, dim: int) -> float | None:
    if dim < 2:
        return None  # minSICN is not defined for line elements
    _, tags, _ = gmsh.model.mesh.getElements(dim)
    return float(np.min(gmsh.model.mesh.getElementQualities(np.concatenate(tags), "minSICN")))


def _msh_bytes(gmsh) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mesh.msh")
        gmsh.write(path)
        return Path(path).read_bytes()


def _tag(name: str) -> int:
    return PORE_TAG0 + int(name.split("_")[1]) if name.startswith("pore_") else TAGS[name]


def _finish(gmsh, dim: int, volume: int, groups: dict[str, list[int]], order: int) -> dict[str, int]:
    """Physical groups (one per boundary name), mesh generation, optional curved order 2."""
    boundaries = {}
    for name in sorted(groups, key=_tag):
        boundaries[name] = gmsh.model.addPhysicalGroup(dim - 1, groups[name], _tag(name), name=name)
    gmsh.model.addPhysicalGroup(dim, [volume], DOMAIN_TAG, name="particle")
    gmsh.model.mesh.generate(dim)
    if order == 2:
        gmsh.model.mesh.setOrder(2)
        _straighten_inverted(gmsh, dim)
    return boundaries


# edge mid-node -> its end vertices, gmsh ordering of the 6-node triangle and 10-node tetrahedron
_MID_NODES = {2: ((3, 0, 1), (4, 1, 2), (5, 2, 0)),
              3: ((4, 0, 1), (5, 1, 2), (6, 2, 0), (7, 3, 0), (8, 3, 2), (9, 3, 1))}


def _straighten_inverted(gmsh, dim: int, threshold: float = 0.1) -> None:
    """Curving can invert a flat cell whose vertices all lie on one curved surface (seen at the
    poles of OCC spheres); move the edge mid-nodes of cells with minSICN < ``threshold`` back
    onto the straight edges (the straight cell has its order-1 quality). Only those few edges
    lose their curvature; gmsh's "HighOrder" optimiser fixes the same cells but takes seconds."""
    mesh = gmsh.model.mesh
    _, tags, nodes = mesh.getElements(dim)
    rows = nodes[0].reshape(len(tags[0]), -1)
    done = np.zeros(len(tags[0]), dtype=bool)
    while True:
        bad = np.flatnonzero((mesh.getElementQualities(tags[0], "minSICN") < threshold) & ~done)
        if not len(bad):
            return
        done[bad] = True
        for row in rows[bad]:
            for mid, a, b in _MID_NODES[dim]:
                mesh.setNode(int(row[mid]), (mesh.getNode(int(row[a]))[0] + mesh.getNode(int(row[b]))[0]) / 2, [])


def _check_order(order) -> None:
    if order not in (1, 2):
        raise InputError(f"mesh order {order!r} not supported; allowed: 1 (straight) or 2 (curved)", key="order")


