"""Users' own meshes and geometry: gmsh ``.msh`` with named physical groups; STEP and STL through gmsh.

:func:`read_mesh` is the one entry point (``sim mesh --from-file``, ``sim run --mesh FILE``, ``mesh = "FILE"``
in a case). A ``.msh`` must name its boundary groups with the toolkit's names (``outer`` required;
``void``, ``pore_<i>``; ``axis`` for a 2D (r, z) section; ``centre`` for 1D) — tags are the file's own.
The kind follows from the mesh: tetrahedra → "3d", triangles with an ``axis`` group → "axisym",
lines → "radial". Cells without a physical group are all taken as the particle.

STEP/STP (OpenCASCADE) and STL (triangulated surfaces) carry no names: the closed shells are named by
size — the one with the largest bounding box is ``outer``, the others, by decreasing enclosed volume,
``void``, ``pore_0``, ... — and the volume is tetrahedralised with element size ``size`` (m; default
a 25th of the bounding-box diagonal; half of it on cavity surfaces).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.mesh.particle import DOMAIN_TAG, ParticleMesh, _mesh_from_gmsh, _tag, _world

BOUNDARY_NAME = re.compile(r"^(outer|void|axis|centre|pore_\d+)$")
GEOMETRY_SUFFIXES = (".step", ".stp", ".stl")


def read_mesh(path: str | Path, comm=None, *, size: float | None = None, unit_scale: float = 1.0) -> ParticleMesh:
    """A :class:`ParticleMesh` from a user's ``.msh`` / ``.step`` / ``.stp`` / ``.stl`` file. Collective.

    ``unit_scale``: metres per file length unit (1 for files in m, 1e-6 for µm). ``size`` (m) is used
    only for STEP/STL. A missing or misnamed boundary group raises :class:`InputError` naming the file
    and listing the groups found.
    """
    comm = _world(comm)
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError("no such mesh file", file=str(path))
    if suffix not in (".msh",) + GEOMETRY_SUFFIXES:
        raise InputError(f"unknown mesh format {path.suffix!r}; allowed: .msh (gmsh), .step, .stp, .stl",
                         file=str(path))
    if not unit_scale > 0:
        raise InputError(f"unit scale must be > 0 m, got {unit_scale}", key="--unit")
    if size is not None and not size > 0:
        raise InputError(f"element size must be > 0 m, got {size}", key="--size")
    if suffix == ".msh":
        dim = comm.bcast(_inspect_msh(path) if comm.rank == 0 else None, root=0)
        if isinstance(dim, InputError):
            raise dim
        kind = {3: "3d", 2: "axisym", 1: "radial"}[dim]

        def build(gmsh):
            gmsh.merge(str(path))
            return _msh_groups(gmsh, dim), unit_scale, {"source": str(path)}

        return _mesh_from_gmsh(build, gdim=dim, kind=kind, comm=comm, name="user")

    def build_geometry(gmsh):
        h = None if size is None else size / unit_scale
        boundaries = (_step_volume if suffix in (".step", ".stp") else _stl_volume)(gmsh, path, h)
        return boundaries, unit_scale, {"source": str(path)}

    return _mesh_from_gmsh(build_geometry, gdim=3, kind="3d", comm=comm, name="user")


# --------------------------------------------------------------------------- .msh
def _inspect_msh(path: Path):
    """Dimension of the mesh in ``path`` after checking its groups; an InputError (returned) if bad."""
    import gmsh

    own = not gmsh.isInitialized()
    if own:
        gmsh.initialize(interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("inspect")
    try:
        try:
            gmsh.merge(str(path))
        except Exception as exc:
            return InputError(f"gmsh cannot read it ({exc})", file=str(path))
        dims = [d for d in (3, 2, 1) if len(gmsh.model.mesh.getElements(d)[0])]
        if not dims:
            return InputError("the file holds no mesh elements", file=str(path))
        dim = dims[0]
        groups = {(d, t): gmsh.model.getPhysicalName(d, t) for d, t in gmsh.model.getPhysicalGroups()}
        found = ", ".join(f"{n or '(unnamed)'} (dim {d}, tag {t})" for (d, t), n in sorted(groups.items())) or "none"
        names = [n for (d, _), n in groups.items() if d == dim - 1]
        bad = [n or "(unnamed)" for n in names if not BOUNDARY_NAME.match(n)]
        if "outer" not in names or bad:
            what = (f"boundary group name(s) {', '.join(bad)} not allowed" if bad
                    else "no boundary group named 'outer'")
            return InputError(f"{what}; groups found: {found}; allowed boundary names (dimension {dim - 1}): outer, "
                              "void, pore_<i>, axis (2D r-z), centre (1D)", file=str(path))
        if len(set(names)) != len(names):
            return InputError(f"boundary names used twice; groups found: {found}", file=str(path))
        types = set(gmsh.model.mesh.getElements(dim)[0].tolist())
        if dim == 3 and not types <= {4, 11}:
            return InputError(f"3D cells must be tetrahedra (gmsh types 4, 11), found types {sorted(types)}",
                              file=str(path))
        if dim == 2:
            if "axis" not in names:
                return InputError(f"a 2D mesh must be an axisymmetric (r, z) section with an 'axis' boundary group; "
                                  f"groups found: {found}", file=str(path))
            xyz = gmsh.model.mesh.getNodes()[1].reshape(-1, 3)
            if np.abs(xyz[:, 2]).max() > 0 or xyz[:, 0].min() < -1e-12 * np.abs(xyz).max():
                return InputError("a 2D (r, z) mesh needs z-coordinate 0 and r = x >= 0", file=str(path))
        return dim
    finally:
        gmsh.model.remove()
        if own:
            gmsh.finalize()


def _msh_groups(gmsh, dim: int) -> dict[str, int]:
    """name → tag of the boundary groups; a particle cell group if the file has none."""
    m = gmsh.model
    boundaries = {m.getPhysicalName(d, t): t for d, t in m.getPhysicalGroups(dim - 1)}
    if not m.getPhysicalGroups(dim):
        m.addPhysicalGroup(dim, [t for _, t in m.getEntities(dim)], DOMAIN_TAG, name="particle")
    return boundaries


# --------------------------------------------------------------------------- STEP / STL
def _shells(faces_of: dict[int, set]) -> list[list[int]]:
    """Group surfaces that share a curve (or a node) into connected shells."""
    parent = {s: s for s in faces_of}

    def find(s):
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    owner: dict = {}
    for s, keys in faces_of.items():
        for k in keys:
            if k in owner:
                parent[find(s)] = find(owner[k])
            else:
                owner[k] = s
    shells: dict[int, list[int]] = {}
    for s in faces_of:
        shells.setdefault(find(s), []).append(s)
    return list(shells.values())


def _name_shells(boxes: list[np.ndarray], volumes: list[float]) -> list[str]:
    """Largest bounding box → outer; the rest by decreasing volume → void, pore_0, ..."""
    diag = [float(np.linalg.norm(b[3:] - b[:3])) for b in boxes]
    outer = int(np.argmax(diag))
    rest = sorted((i for i in range(len(boxes)) if i != outer), key=lambda i: -volumes[i])
    names = [""] * len(boxes)
    names[outer] = "outer"
    for j, i in enumerate(rest):
        names[i] = "void" if j == 0 else f"pore_{j - 1}"
    return names


def _step_volume(gmsh, path: Path, h: float | None) -> dict[str, int]:
    m = gmsh.model
    try:
        m.occ.importShapes(str(path))
        m.occ.synchronize()
    except Exception as exc:
        raise InputError(f"gmsh cannot import it ({exc})", file=str(path)) from None
    vols = m.getEntities(3)
    if len(vols) != 1:
        raise InputError(f"need exactly one solid (the particle, cavities cut out), found {len(vols)}", file=str(path))
    surfaces = [t for _, t in m.getBoundary(vols, oriented=False)]
    curves = {s: {t for _, t in m.getBoundary([(2, s)], oriented=False)} for s in surfaces}
    shells = _shells(curves)
    boxes = [np.array([min(m.getBoundingBox(2, s)[k] for s in sh) for k in range(3)] +
                      [max(m.getBoundingBox(2, s)[k] for s in sh) for k in range(3, 6)]) for sh in shells]
    names = _name_shells(boxes, [float(np.prod(b[3:] - b[:3])) for b in boxes])
    groups = dict(zip(names, shells))
    diag = float(np.linalg.norm(np.array(m.getBoundingBox(3, vols[0][1])[3:]) - m.getBoundingBox(3, vols[0][1])[:3]))
    h = h or diag / 25
    boundaries = {n: m.addPhysicalGroup(2, groups[n], _tag(n), name=n) for n in sorted(groups, key=_tag)}
    m.addPhysicalGroup(3, [vols[0][1]], DOMAIN_TAG, name="particle")
    for opt in ("MeshSizeExtendFromBoundary", "MeshSizeFromPoints", "MeshSizeFromCurvature"):
        gmsh.option.setNumber(f"Mesh.{opt}", 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", h)
    m.mesh.generate(3)
    return boundaries


def _stl_volume(gmsh, path: Path, h: float | None) -> dict[str, int]:
    import meshio
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from sim.mesh.image import _tetrahedralise, enclosed_volume

    try:
        stl = meshio.read(path)
        tri = np.concatenate([c.data for c in stl.cells if c.type == "triangle"])
    except Exception as exc:
        raise InputError(f"cannot read the STL surface ({type(exc).__name__}: {exc})", file=str(path)) from None
    # STL repeats vertices per triangle: merge coincident ones, then split into connected shells
    pts, inverse = np.unique(np.round(stl.points, 12), axis=0, return_inverse=True)
    tri = inverse.reshape(-1)[tri]
    n = len(pts)
    graph = coo_matrix((np.ones(2 * len(tri)), (tri[:, [0, 1]].ravel(), tri[:, [1, 2]].ravel())), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    parts = []
    for k in np.unique(label[tri[:, 0]]):
        f = tri[label[tri[:, 0]] == k]
        used, local = np.unique(f, return_inverse=True)
        parts.append((pts[used], local.reshape(-1, 3)))
    boxes = [np.concatenate([v.min(axis=0), v.max(axis=0)]) for v, _ in parts]
    names = _name_shells(boxes, [enclosed_volume(v, f) for v, f in parts])
    diag = float(np.linalg.norm(np.max([b[3:] for b in boxes], axis=0) - np.min([b[:3] for b in boxes], axis=0)))
    h = h or diag / 25
    surf = {name: parts[i] for i, name in sorted(enumerate(names), key=lambda p: _tag(p[1]))}
    return _tetrahedralise(gmsh, surf, h, h / 2)[0]
