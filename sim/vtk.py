"""VTK output that meshio, ParaView and PyVista read: meshes and nodal fields as ``.vtu``, time series as ``.pvd``.

The VTX (``.bp``) files of ``sim run`` need ADIOS2, and DOLFINx's XDMF mesh files hold several grids in
one file, which meshio refuses ("Only supports one grid"). This module writes the plain VTK XML format
instead, through meshio, on rank 0 after gathering the distributed mesh:

- :func:`write_mesh`: ``<name>.vtu`` with the cell tags as cell data ``cell_tag``, and
  ``<name>_facets.vtu`` with the boundary facets and their tags (``facet_tag``, see the README's table).
- :class:`FieldSeries`: ``<stem>_<k>.vtu`` per output time and ``<stem>.pvd`` listing them with their
  times (s). Fields are nodal (interpolated into P1 of the same value shape), so a viewer shades them
  smoothly; order-2 geometry is written with straight cells (vertices only).

Coordinates are SI (m); a 2D (r, z) section is written with z as the second coordinate and 0 as the third.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

#: DOLFINx cell name -> (meshio cell type, vertex permutation DOLFINx -> VTK)
CELLS = {"point": ("vertex", None), "interval": ("line", None), "triangle": ("triangle", None),
         "tetrahedron": ("tetra", None), "quadrilateral": ("quad", [0, 1, 3, 2]),
         "hexahedron": ("hexahedron", [0, 1, 3, 2, 4, 5, 7, 6])}


def _world(comm, mesh):
    return mesh.comm if comm is None else comm


def _gather_p1(V, comm):
    """Owned dof coordinates (global order) and cells (global dof indices) of a P1 space, on rank 0."""
    imap = V.dofmap.index_map
    n_own = imap.size_local
    tdim = V.mesh.topology.dim
    n_cells = V.mesh.topology.index_map(tdim).size_local
    cells = V.dofmap.list[:n_cells]
    glob_cells = imap.local_to_global(cells.ravel().astype(np.int32)).reshape(cells.shape)
    start = imap.local_range[0]
    parts = comm.gather((start, V.tabulate_dof_coordinates()[:n_own], glob_cells), root=0)
    if comm.rank != 0:
        return None, None
    points = np.zeros((imap.size_global, 3))
    for s, x, _ in parts:
        points[s:s + len(x)] = x
    return points, np.vstack([c for _, _, c in parts])


def _gather_values(f, comm):
    """Owned nodal values of a P1 Function, shape (n_global, block size), on rank 0."""
    imap, bs = f.function_space.dofmap.index_map, f.function_space.dofmap.index_map_bs
    n_own = imap.size_local
    parts = comm.gather((imap.local_range[0], f.x.array.reshape(-1, bs)[:n_own].copy()), root=0)
    if comm.rank != 0:
        return None
    out = np.zeros((imap.size_global, bs))
    for s, v in parts:
        out[s:s + len(v)] = v
    return out


def _cell_block(mesh, cells):
    kind, perm = CELLS[mesh.topology.cell_name()]
    return kind, cells if perm is None else cells[:, perm]


def write_mesh(path: str | Path, mesh, cell_tags=None, facet_tags=None, *, comm=None) -> Path:
    """Write ``mesh`` (a DOLFINx mesh) to ``path`` (``.vtu``) with its tags; return ``path``.

    ``cell_tags``/``facet_tags`` are DOLFINx ``MeshTags``; the facets go to ``<stem>_facets.vtu``.
    Collective: every rank calls it, rank 0 writes.
    """
    import meshio
    from dolfinx import fem

    comm = _world(comm, mesh)
    path = Path(path)
    V = fem.functionspace(mesh, ("Lagrange", 1))
    points, cells = _gather_p1(V, comm)
    tdim = mesh.topology.dim
    data = {}
    if cell_tags is not None:
        tag = fem.Function(fem.functionspace(mesh, ("DG", 0)))
        tag.x.array[cell_tags.indices] = cell_tags.values
        n_cells = mesh.topology.index_map(tdim).size_local
        vals = comm.gather(tag.x.array[:n_cells].copy(), root=0)
        data = {"cell_tag": [np.concatenate(vals).astype(np.int32)]} if comm.rank == 0 else {}
    facets = _gather_facets(mesh, V, facet_tags, comm) if facet_tags is not None else None
    if comm.rank == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        meshio.write(path, meshio.Mesh(points, [_cell_block(mesh, cells)], cell_data=data))
        if facets is not None:
            fcells, fvals = facets
            kind = CELLS[{1: "point", 2: "interval", 3: "triangle"}[tdim]][0]
            meshio.write(path.with_name(path.stem + "_facets.vtu"),
                         meshio.Mesh(points, [(kind, fcells)], cell_data={"facet_tag": [fvals]}))
    comm.barrier()
    return path


def _gather_facets(mesh, V, facet_tags, comm):
    """Tagged facets owned by this rank as global P1 vertex indices, with their tags, on rank 0."""
    from dolfinx import mesh as dmesh

    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim - 1, tdim)
    n_own = mesh.topology.index_map(tdim - 1).size_local
    keep = facet_tags.indices < n_own
    facets, values = facet_tags.indices[keep], facet_tags.values[keep]
    # vertex -> P1 dof: the closure dofs of each facet, in the facet's vertex order
    vert = dmesh.entities_to_geometry(mesh, tdim - 1, facets) if len(facets) else np.zeros((0, tdim), np.int32)
    geom_to_dof = _geometry_to_dof(mesh, V)
    local = geom_to_dof[vert[:, :tdim]] if len(facets) else vert[:, :tdim]   # vertex nodes come first
    glob = V.dofmap.index_map.local_to_global(local.ravel().astype(np.int32)).reshape(local.shape)
    parts = comm.gather((glob, values), root=0)
    if comm.rank != 0:
        return None
    return np.vstack([g for g, _ in parts]).astype(np.int64), np.concatenate([v for _, v in parts]).astype(np.int32)


def _geometry_to_dof(mesh, V) -> np.ndarray:
    """Map geometry node index -> P1 dof index (vertices only; higher-order nodes map to -1)."""
    gdofs = mesh.geometry.dofmaps[0]
    n_vert = V.dofmap.list.shape[1]
    out = np.full(mesh.geometry.x.shape[0], -1, dtype=np.int64)
    out[gdofs[:, :n_vert].ravel()] = V.dofmap.list[: gdofs.shape[0]].ravel()
    return out


class FieldSeries:
    """Nodal fields at several times: ``<stem>_<k>.vtu`` + ``<stem>.pvd`` in ``folder``.

        >>> series = FieldSeries(out / "fields", "li", mesh)
        >>> series.write(t, {"li_fraction": x, "stress": sigma})
        >>> series.close()

    Each Function is interpolated into P1 of its value shape; vectors of a 2D mesh are padded to 3
    components and tensors flattened row-major to 9 (ParaView's layout). Collective.
    """

    def __init__(self, folder: str | Path, stem: str, mesh, *, comm=None):
        from dolfinx import fem

        self.folder, self.stem, self.mesh = Path(folder), stem, mesh
        self.comm = _world(comm, mesh)
        self._p1 = {}
        self._points, self._cells = _gather_p1(fem.functionspace(mesh, ("Lagrange", 1)), self.comm)
        self.steps: list[tuple[float, str]] = []

    def _nodal(self, f):
        from dolfinx import fem

        shape = f.function_space.value_shape
        if shape not in self._p1:
            self._p1[shape] = fem.functionspace(self.mesh, ("Lagrange", 1, shape) if shape else ("Lagrange", 1))
        g = fem.Function(self._p1[shape])
        g.interpolate(f)
        return _gather_values(g, self.comm), shape

    def write(self, t: float, functions: dict) -> None:
        """Add the fields ``{name: dolfinx Function}`` at time ``t`` (s)."""
        import meshio

        data = {}
        for name, f in functions.items():
            values, shape = self._nodal(f)
            if self.comm.rank == 0:
                if len(shape) == 1 and shape[0] == 2:
                    values = np.hstack([values, np.zeros((len(values), 1))])
                elif len(shape) == 2 and shape == (2, 2):
                    full = np.zeros((len(values), 3, 3))
                    full[:, :2, :2] = values.reshape(-1, 2, 2)
                    values = full.reshape(-1, 9)
                data[name] = values[:, 0] if values.shape[1] == 1 else values
        if self.comm.rank == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{self.stem}_{len(self.steps):06d}.vtu"
            meshio.write(self.folder / name, meshio.Mesh(self._points, [_cell_block(self.mesh, self._cells)],
                                                         point_data=data))
            self.steps.append((float(t), name))
            self._write_pvd()
        self.comm.barrier()

    def _write_pvd(self) -> None:
        root = ET.Element("VTKFile", type="Collection", version="0.1")
        coll = ET.SubElement(root, "Collection")
        for t, name in self.steps:
            ET.SubElement(coll, "DataSet", timestep=repr(t), group="", part="0", file=name)
        tmp = self.folder / f".{self.stem}.pvd.tmp"
        ET.ElementTree(root).write(tmp, xml_declaration=True, encoding="utf-8")
        tmp.replace(self.folder / f"{self.stem}.pvd")

    def close(self) -> None:
        """Nothing is held open (each write is complete); kept so it can replace a VTXWriter."""


def read_pvd(path: str | Path) -> list[tuple[float, Path]]:
    """``(time s, .vtu path)`` of every data set in a ``.pvd`` collection, in file order."""
    path = Path(path)
    root = ET.parse(path).getroot()
    return [(float(d.get("timestep", "0")), path.parent / d.get("file")) for d in root.iter("DataSet")]
