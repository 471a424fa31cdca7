"""Particle builders: 1D radial, 2D axisymmetric (r, z), 3D voided particles and primary particles.

gmsh works in units of the particle radius (its OCC tolerances are absolute, ~1e-7, far too coarse
in metres) and the finished mesh is scaled to metres before it is handed to DOLFINx.

Element sizes come from ``[mesh]``: ``size_outer`` in the bulk and on the outer surface,
``size_inner`` on void and pore surfaces, blended with a gmsh Distance + Threshold field
(size_inner up to a distance 2 size_inner, then growing by ``GROWTH`` per unit distance).
"""
from __future__ import annotations

import math

import numpy as np

from sim.errors import InputError
from sim.mesh.particle import (DOMAIN_TAG, TAGS, ParticleMesh, _check_order, _finish, _mesh_from_gmsh,
                               _world)

GROWTH = 0.3            # element-size increase per unit distance away from void/pore surfaces
KINDS = ("radial", "hollow", "axisym", "3d", "primary")


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


