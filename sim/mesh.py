"""Particle meshes: 1D radial, 2D axisymmetric (r, z), 3D, and primary particles; ``sim mesh``.

Every mesh is built with gmsh on rank 0 and distributed with ``dolfinx.io.gmsh.model_to_mesh``.
Boundaries are named physical groups, the same names for every kind of mesh:

========== ===== ==========================================================
name       tag   where
========== ===== ==========================================================
outer      1     outer particle surface (r = R, or the spheroid surface)
void       2     central void surface (r = a > 0)
axis       3     symmetry axis r = 0 of an axisymmetric (r, z) section
centre     4     r = 0 of a solid 1D radial mesh (a symmetry point)
pore_<i>   10+i  surface of ``geometry.pores[i]``
========== ===== ==========================================================

The cells carry tag 1 ("particle"). Coordinates are SI (m). gmsh works in units of the
particle radius (its OCC tolerances are absolute, ~1e-7, far too coarse in metres) and the
finished mesh is scaled to metres before it is handed to DOLFINx.

Element sizes come from ``[mesh]``: ``size_outer`` in the bulk and on the outer surface,
``size_inner`` on void and pore surfaces, blended with a gmsh Distance + Threshold field
(size_inner up to a distance 2 size_inner, then growing by ``GROWTH`` per unit distance).
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim import resources
from sim.errors import InputError

TAGS = {"outer": 1, "void": 2, "axis": 3, "centre": 4}
PORE_TAG0 = 10          # pore_i has tag PORE_TAG0 + i
DOMAIN_TAG = 1          # cell tag of the particle
GROWTH = 0.3            # element-size increase per unit distance away from void/pore surfaces
KINDS = ("radial", "hollow", "axisym", "3d", "primary")
REFERENCE_RECIPE = resources.mesh_recipe("reference")


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

    def summary(self) -> dict:
        """Counts, quality and boundary names (JSON-ready; lengths in m)."""
        return {"kind": self.kind, "order": self.order, "cells": self.num_cells, "vertices": self.num_vertices,
                "nodes": self.num_nodes, "min_quality_minSICN": self.min_quality,
                "boundaries": dict(self.boundaries), "cell_tag": DOMAIN_TAG, "length_unit": "m"}

    def write(self, folder: str | Path, name: str) -> dict[str, Path]:
        """Write ``<name>.msh`` (gmsh), ``<name>.xdmf`` + ``.h5`` (mesh, cell and facet tags) and
        ``<name>.json`` (boundary names -> tags, counts) into ``folder``. Collective.

        Files are staged in a temporary sibling folder and moved in at the end, so a failure
        leaves nothing half-written.
        """
        from dolfinx.io import XDMFFile

        from sim.io import StagedDir

        folder = Path(folder)
        with StagedDir(folder, comm=self.comm, merge=True) as stage:  # other meshes in folder stay
            tdim = self.mesh.topology.dim
            self.mesh.topology.create_connectivity(tdim - 1, tdim)
            with XDMFFile(self.comm, stage / f"{name}.xdmf", "w") as xdmf:
                xdmf.write_mesh(self.mesh)
                xdmf.write_meshtags(self.facet_tags, self.mesh.geometry)
                if self.cell_tags is not None:
                    xdmf.write_meshtags(self.cell_tags, self.mesh.geometry)
            info = self.summary()
            if self.comm.rank == 0:
                (stage / f"{name}.msh").write_bytes(self.msh)
                (stage / f"{name}.json").write_text(json.dumps(info, indent=2) + "\n")
        return {ext: folder / f"{name}.{ext}" for ext in ("msh", "xdmf", "h5", "json")}

    def plot(self, path: str | Path, title: str = "") -> Path:
        """Save a PNG: 1D element size vs r; 2D mesh with boundaries coloured by tag;
        3D boundary facets coloured by tag and a mid-plane (z = 0) cut. Collective."""
        from sim import mesh_plot

        return mesh_plot.plot(self, Path(path), title)


# --------------------------------------------------------------------------- gmsh session
def _mesh_from_gmsh(build, *, gdim: int, kind: str, comm, name: str) -> ParticleMesh:
    """Run ``build(gmsh) -> (boundaries, scale)`` on rank 0, scale to metres, distribute.

    ``build`` must create the geometry, physical groups and the mesh. Errors on rank 0 are
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
            boundaries, scale = build(gmsh)
            dim = gmsh.model.getDimension()
            quality = _min_quality(gmsh, dim)
            gmsh.model.mesh.affineTransform([scale, 0, 0, 0, 0, scale, 0, 0, 0, 0, scale, 0])
            msh = _msh_bytes(gmsh)
            payload = (boundaries, quality)
        except Exception as exc:  # re-raised below, after the other ranks know
            error = exc
    failed = comm.bcast(None if error is None else f"{type(error).__name__}: {error}", root=0)
    try:
        if failed:
            if error is not None:
                raise error
            raise RuntimeError(f"mesh generation failed on rank 0: {failed}")
        data = gmshio.model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=gdim)
    finally:
        if comm.rank == 0:
            gmsh.model.remove()
            if own_session:
                gmsh.finalize()
    boundaries, quality = comm.bcast(payload, root=0)
    return ParticleMesh(data.mesh, data.cell_tags, data.facet_tags, boundaries, kind, comm,
                        min_quality=quality, msh=msh if comm.rank == 0 else None)


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


def _size_field(gmsh, dim: int, targets: list[int], h_bulk: float, h_fine: float) -> None:
    """h_bulk everywhere, h_fine on the target curves (2D) / surfaces (3D), graded in between."""
    for opt in ("MeshSizeExtendFromBoundary", "MeshSizeFromPoints", "MeshSizeFromCurvature"):
        gmsh.option.setNumber(f"Mesh.{opt}", 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", h_bulk)
    if not targets or h_fine >= h_bulk:
        return
    fld = gmsh.model.mesh.field
    dist = fld.add("Distance")
    fld.setNumbers(dist, "CurvesList" if dim == 2 else "SurfacesList", targets)
    fld.setNumber(dist, "Sampling", 200 if dim == 2 else 60)
    thr = fld.add("Threshold")
    fld.setNumber(thr, "InField", dist)
    fld.setNumber(thr, "SizeMin", h_fine)
    fld.setNumber(thr, "SizeMax", h_bulk)
    fld.setNumber(thr, "DistMin", 2 * h_fine)
    fld.setNumber(thr, "DistMax", 2 * h_fine + (h_bulk - h_fine) / GROWTH)
    fld.setAsBackgroundMesh(thr)


def _classify(gmsh, dim: int, entities: list[int], spheres: dict[str, tuple]) -> dict[str, list[int]]:
    """Name boundary entities: "axis" for straight curves on r = 0 (2D), else the sphere/circle
    (name -> (centre, radius)) whose surface passes closest to a point of the entity."""
    groups: dict[str, list[int]] = {}
    for tag in entities:
        lo, hi = gmsh.model.getParametrizationBounds(dim, tag)
        p = gmsh.model.getValue(dim, tag, [(a + b) / 2 for a, b in zip(lo, hi)])
        if dim == 1 and gmsh.model.getType(1, tag) == "Line" and abs(p[0]) < 1e-9:
            name = "axis"
        else:
            name = min(spheres, key=lambda n: abs(np.linalg.norm(p - np.asarray(spheres[n][0])) - spheres[n][1]))
        groups.setdefault(name, []).append(tag)
    return groups


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


# --------------------------------------------------------------------------- 1D radial
def _radial_nodes(L: float, n_cells, size, grading: float, both_ends: bool) -> np.ndarray:
    """Node positions s in [0, L], element size ``size`` at the surface(s), ``grading`` x larger
    in the interior (h ∝ 1 + (g-1) sin(π s/L) for a shell, 1 + (g-1) cos(π s/(2L)) for a sphere)."""
    s = np.linspace(0.0, 1.0, 2001)
    shape = 1 + (grading - 1) * (np.sin(np.pi * s) if both_ends else np.cos(np.pi * s / 2))
    inv = np.concatenate([[0.0], np.cumsum(0.5 * (1 / shape[1:] + 1 / shape[:-1]) * np.diff(s))])
    if n_cells is None:
        n_cells = max(2, math.ceil(L / size * inv[-1]))
    return L * np.interp(np.linspace(0.0, inv[-1], n_cells + 1), inv, s)


def radial_mesh(outer_radius: float, inner_radius: float = 0.0, *, n_cells: int | None = None,
                size: float | None = None, grading: float = 1.0, comm=None) -> ParticleMesh:
    """1D interval [inner_radius, outer_radius] (m) for spherically symmetric problems.

    Give ``n_cells`` or ``size`` (element size at the surfaces, m). ``grading`` >= 1 makes
    interior elements up to that factor larger (refined towards r = R, and r = a for a shell).
    Tags: "outer" at r = R; "void" at r = a > 0, or "centre" at r = 0. Integrals need the
    weight 4π r² (physics.md M1/M3).
    """
    comm = _world(comm)
    if not (outer_radius > inner_radius >= 0):
        raise InputError(f"need 0 <= inner radius < outer radius, got {inner_radius:g} m and {outer_radius:g} m",
                         key="geometry.void_radius")
    if (n_cells is None) == (size is None):
        raise InputError("give exactly one of n_cells and size", key="n_cells")
    if n_cells is not None and n_cells < 1 or size is not None and not size > 0:
        raise InputError("n_cells must be >= 1 and size > 0 m", key="n_cells" if n_cells is not None else "size")
    if not grading >= 1:
        raise InputError(f"grading must be >= 1 (interior/surface element size), got {grading:g}", key="grading")
    inner_name = "void" if inner_radius > 0 else "centre"
    r = inner_radius + _radial_nodes(outer_radius - inner_radius, n_cells, size, grading, inner_radius > 0)

    def build(gmsh):
        m = gmsh.model
        n = len(r)
        m.addDiscreteEntity(0, 1)
        m.addDiscreteEntity(0, 2)
        m.addDiscreteEntity(1, 1, [1, 2])
        m.mesh.addNodes(0, 1, [1], [r[0], 0, 0])
        m.mesh.addNodes(0, 2, [n], [r[-1], 0, 0])
        m.mesh.addNodes(1, 1, list(range(2, n)), np.column_stack([r[1:-1], 0 * r[1:-1], 0 * r[1:-1]]).ravel())
        m.mesh.addElementsByType(1, 1, list(range(1, n)), np.column_stack([np.arange(1, n), np.arange(2, n + 1)]).ravel())
        m.mesh.addElementsByType(1, 15, [n], [1])
        m.mesh.addElementsByType(2, 15, [n + 1], [n])
        boundaries = {"outer": m.addPhysicalGroup(0, [2], TAGS["outer"], name="outer"),
                      inner_name: m.addPhysicalGroup(0, [1], TAGS[inner_name], name=inner_name)}
        m.addPhysicalGroup(1, [1], DOMAIN_TAG, name="particle")
        return boundaries, 1.0

    return _mesh_from_gmsh(build, gdim=1, kind="radial", comm=comm, name="radial")


# --------------------------------------------------------------------------- 2D axisymmetric, 3D
def check_axisymmetric(geometry) -> None:
    """Axisymmetry needs every pore centred on the axis (x = y = 0)."""
    for i, p in enumerate(geometry.pores):
        if math.hypot(p.centre[0], p.centre[1]) > 1e-9 * geometry.particle_radius:
            raise InputError(f"pore {i} is off the axis (centre x = {p.centre[0]:g} m, y = {p.centre[1]:g} m); "
                             "an axisymmetric mesh needs pores centred on the axis (x = y = 0); "
                             "use the 3d kind for pores anywhere", key=f"geometry.pores[{i}]")


def _inner_spheres(geometry, R: float) -> dict[str, tuple]:
    """Void and pores in units of R: name -> (centre (x, y, z), radius)."""
    spheres = {"void": ((0.0, 0.0, 0.0), geometry.void_radius / R)} if geometry.void_radius > 0 else {}
    for i, p in enumerate(geometry.pores):
        spheres[f"pore_{i}"] = (tuple(c / R for c in p.centre), p.radius / R)
    return spheres


def axisymmetric_mesh(geometry, sizes, *, order: int = 1, comm=None) -> ParticleMesh:
    """Half section r >= 0 of an axisymmetric particle in (r, z) (m): disk of radius R minus the
    central void and the pores on the axis. Tags outer, void, pore_i, axis. Integrals need the
    weight 2π r (volume = 2π ∫ r dA)."""
    comm = _world(comm)
    check_axisymmetric(geometry)
    _check_order(order)
    R = geometry.particle_radius
    holes = _inner_spheres(geometry, R)

    def build(gmsh):
        occ = gmsh.model.occ
        half, _ = occ.intersect([(2, occ.addDisk(0, 0, 0, 1, 1))], [(2, occ.addRectangle(0, -1, 0, 1, 2))])
        tools = [(2, occ.addDisk(0, c[2], 0, r, r)) for c, r in holes.values()]
        body = occ.cut(half, tools)[0] if tools else half
        occ.synchronize()
        # (r, z) plane: a hole centred at (0, 0, z) in 3D is a circle centred at (0, z) here
        circles = {"outer": ((0, 0, 0), 1.0)} | {n: ((0, c[2], 0), r) for n, (c, r) in holes.items()}
        groups = _classify(gmsh, 1, [t for _, t in gmsh.model.getBoundary(body, oriented=False)], circles)
        _size_field(gmsh, 2, sum((groups.get(n, []) for n in holes), []), sizes.size_outer / R, sizes.size_inner / R)
        return _finish(gmsh, 2, body[0][1], groups, order), R

    return _mesh_from_gmsh(build, gdim=2, kind="axisym", comm=comm, name="axisym")


def particle_mesh_3d(geometry, sizes, *, order: int = 1, comm=None) -> ParticleMesh:
    """3D ball of radius R (m) minus the central void and pores anywhere. Tags outer, void, pore_i."""
    comm = _world(comm)
    _check_order(order)
    R = geometry.particle_radius
    holes = _inner_spheres(geometry, R)

    def build(gmsh):
        occ = gmsh.model.occ
        ball = [(3, occ.addSphere(0, 0, 0, 1))]
        tools = [(3, occ.addSphere(*c, r)) for c, r in holes.values()]
        body = occ.cut(ball, tools)[0] if tools else ball
        occ.synchronize()
        groups = _classify(gmsh, 2, [t for _, t in gmsh.model.getBoundary(body, oriented=False)],
                           {"outer": ((0, 0, 0), 1.0)} | holes)
        _size_field(gmsh, 3, sum((groups.get(n, []) for n in holes), []), sizes.size_outer / R, sizes.size_inner / R)
        return _finish(gmsh, 3, body[0][1], groups, order), R

    return _mesh_from_gmsh(build, gdim=3, kind="3d", comm=comm, name="particle3d")


# --------------------------------------------------------------------------- primary particle
def primary_particle_mesh(radius: float, *, aspect_ratio: float = 1.0, dim: int = 3, size: float,
                          order: int = 1, comm=None) -> ParticleMesh:
    """Primary particle (m): a sphere, or a spheroid with polar/equatorial semi-axis ratio
    ``aspect_ratio`` = c/a and the sphere's volume (a = R ar^(-1/3), c = R ar^(2/3), polar axis z).

    dim=3: solid; dim=2: axisymmetric (r, z) half section, tags "outer" and "axis";
    dim=1: radial interval [0, R] (sphere only), tags "outer" and "centre".
    """
    comm = _world(comm)
    if dim not in (1, 2, 3):
        raise InputError(f"dim {dim!r} not supported; allowed: 1, 2 or 3", key="dim")
    if not (radius > 0 and size > 0):
        raise InputError(f"need radius > 0 m and element size > 0 m, got {radius:g} m and {size:g} m",
                         key="mesh.size_primary")
    if dim == 1:
        if aspect_ratio != 1.0:
            raise InputError(f"a 1D radial mesh is a sphere; aspect ratio {aspect_ratio:g} needs dim 2 or 3",
                             key="primary.aspect_ratio")
        return radial_mesh(radius, size=size, comm=comm)
    _check_order(order)
    a, c = aspect_ratio ** (-1 / 3), aspect_ratio ** (2 / 3)  # semi-axes in units of R

    def build(gmsh):
        occ = gmsh.model.occ
        if dim == 3:
            body = [(3, occ.addSphere(0, 0, 0, 1))]
            occ.dilate(body, 0, 0, 0, a, a, c)
        else:
            disk = [(2, occ.addDisk(0, 0, 0, 1, 1))]
            occ.dilate(disk, 0, 0, 0, a, c, 1)
            body, _ = occ.intersect(disk, [(2, occ.addRectangle(0, -c, 0, a, 2 * c))])
        occ.synchronize()
        entities = [t for _, t in gmsh.model.getBoundary(body, oriented=False)]
        groups = _classify(gmsh, dim - 1, entities, {"outer": ((0, 0, 0), 1.0)})
        _size_field(gmsh, dim, [], size / radius, size / radius)
        return _finish(gmsh, dim, body[0][1], groups, order), radius

    return _mesh_from_gmsh(build, gdim=dim, kind="3d" if dim == 3 else "axisym", comm=comm, name="primary")


# --------------------------------------------------------------------------- from a parameter set
def mesh_from_params(pset, kind: str, *, dim: int = 3, order: int = 1, comm=None) -> ParticleMesh:
    """The mesh of ``kind`` (radial | hollow | axisym | 3d | primary) for a loaded parameter set.

    radial: solid sphere [0, R]; hollow: shell [void_radius, R] (pores ignored in 1D); both with
    size_inner at the surface(s) growing to size_outer inside. primary: ``[primary]`` with
    size_primary, ``dim`` 1/2/3. Errors name the parameter file and key.
    """
    if kind not in KINDS:
        raise InputError(f"unknown mesh kind {kind!r}; allowed: {', '.join(KINDS)}", key="--kind")
    try:
        if kind == "primary":
            pset.require("primary", "mesh")
            pr = pset.primary
            return primary_particle_mesh(pr.radius, aspect_ratio=pr.aspect_ratio, dim=dim,
                                         size=pset.mesh.size_primary, order=order, comm=comm)
        pset.require("geometry", "mesh")
        g, s = pset.geometry, pset.mesh
        if kind in ("radial", "hollow"):
            if kind == "hollow" and g.void_radius <= 0:
                raise InputError("a hollow sphere needs void_radius > 0 m (this set has a solid particle)",
                                 key="geometry.void_radius")
            inner = g.void_radius if kind == "hollow" else 0.0
            return radial_mesh(g.particle_radius, inner, size=s.size_inner,
                               grading=max(1.0, s.size_outer / s.size_inner), comm=comm)
        build = axisymmetric_mesh if kind == "axisym" else particle_mesh_3d
        return build(g, s, order=order, comm=comm)
    except InputError as err:
        if err.file is not None:
            raise
        entry = (err.key or "").split("[")[0]
        if "." not in entry:  # not a parameter (e.g. --order): no file to name
            raise
        file = pset.raw.get(entry, {}).get("_file", pset.files[0] if pset.files else pset.name)
        raise InputError(err.detail, file=str(file), key=err.key) from None


# --------------------------------------------------------------------------- reference meshes
def _reference_recipe(path: Path = REFERENCE_RECIPE) -> list[dict]:
    try:
        entries = tomllib.loads(path.read_text()).get("mesh", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read the reference recipe ({exc})", file=str(path)) from None
    for i, e in enumerate(entries):
        missing = {"name", "kind", "params"} - set(e)
        if missing:
            raise InputError(f"missing {', '.join(sorted(missing))}", file=str(path), key=f"mesh[{i}]")
    return entries


def build_reference_meshes(out_dir: str | Path, comm=None, recipe: str | Path = REFERENCE_RECIPE) -> list[dict]:
    """Build every mesh of ``meshes/reference.toml`` into ``out_dir`` with a PNG picture each.

    Returns one dict per mesh: name, kind, paths (msh, xdmf, json, png), cells, vertices,
    min_quality_minSICN, seconds (build time). Collective.
    """
    from sim.params import load_params

    comm = _world(comm)
    out_dir = Path(out_dir)
    # load and validate everything first: a bad recipe writes nothing
    jobs = [(e, load_params(e["params"], e.get("overrides"))) for e in _reference_recipe(Path(recipe))]
    results = []
    for entry, pset in jobs:
        t0 = time.perf_counter()
        pm = mesh_from_params(pset, entry["kind"], dim=entry.get("dim", 3), order=entry.get("order", 1), comm=comm)
        seconds = comm.allreduce(time.perf_counter() - t0, op=_max_op())
        paths = pm.write(out_dir, entry["name"])
        paths["png"] = pm.plot(out_dir / f"{entry['name']}.png", title=entry["name"])
        results.append({"name": entry["name"], "kind": entry["kind"], "params": entry["params"],
                        "paths": {k: str(v) for k, v in paths.items()}, "cells": pm.num_cells,
                        "vertices": pm.num_vertices, "min_quality_minSICN": pm.min_quality,
                        "boundaries": sorted(pm.boundaries, key=_tag), "seconds": seconds})
    return results


def _max_op():
    from mpi4py import MPI

    return MPI.MAX


# --------------------------------------------------------------------------- CLI
def register(sub) -> None:
    from sim.params_cli import add_set_option

    p = sub.add_parser("mesh", help="build a particle mesh (gmsh) and write .msh + .xdmf",
                       description="Build a particle mesh from a parameter set, or all reference meshes "
                                   "(--reference), and write DIR/<name>.msh, .xdmf(+.h5), .json.")
    p.add_argument("params", nargs="?", help="parameter set name in params/ (e.g. liu2024) or a .toml path")
    p.add_argument("--kind", choices=KINDS, help="radial (solid sphere, 1D), hollow (1D shell), axisym (2D r-z), "
                                                  "3d, primary (primary particle; see --dim)")
    p.add_argument("--dim", type=int, choices=(1, 2, 3), default=3, help="dimension of a primary-particle mesh")
    add_set_option(p, 'override a parameter, e.g. --set mesh.size_outer="0.2 um"')
    p.add_argument("--order", type=int, choices=(1, 2), default=1, help="geometry order (2: curved)")
    p.add_argument("--name", help="file name stem (default <params>_<kind>)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--reference", action="store_true", help="build all meshes of meshes/reference.toml")
    p.set_defaults(func=run)


def run(args) -> int:
    from sim.params import load_params
    from sim.params_cli import parse_overrides

    if args.reference and (args.params or args.kind):
        raise InputError("--reference builds the recipe in meshes/reference.toml; give no PARAMS or --kind",
                         key="--reference")
    if not args.reference and not (args.params and args.kind):
        raise InputError("give PARAMS and --kind (or --reference)", key="PARAMS" if not args.params else "--kind")
    # parameters are checked before MPI and DOLFINx are loaded: bad input fails fast
    pset = None if args.reference else load_params(args.params, parse_overrides(args.overrides))
    comm = _world(None)
    say = print if comm.rank == 0 else (lambda *a, **k: None)
    if args.reference:
        for r in build_reference_meshes(args.out, comm):
            say(f"{r['name']:38s} {r['kind']:8s} {r['cells']:7d} cells {r['vertices']:7d} vertices  "
                f"min quality {_q(r['min_quality_minSICN'])}  {r['seconds']:.2f} s  -> {r['paths']['png']}")
        return 0
    name = args.name or f"{pset.name}_{args.kind}" + (f"{args.dim}d" if args.kind == "primary" else "")
    pm = mesh_from_params(pset, args.kind, dim=args.dim, order=args.order, comm=comm)
    paths = pm.write(args.out, name)
    say(f"{name}: {pm.kind} mesh, order {pm.order}: {pm.num_cells} cells, {pm.num_vertices} vertices, "
        f"min quality (minSICN) {_q(pm.min_quality)}")
    say("boundaries: " + ", ".join(f"{n}={t}" for n, t in sorted(pm.boundaries.items(), key=lambda kv: kv[1])))
    say("wrote " + ", ".join(str(paths[k]) for k in ("msh", "xdmf", "json")))
    return 0


def _q(quality) -> str:
    return "n/a (1D)" if quality is None else f"{quality:.3f}"
