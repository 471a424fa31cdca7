"""Mesh refinement where the phase-field damage grows (docs/physics.md M5; issue 9: "mesh size <= l/2 there").

The regularised crack is a band of width ~ℓ; its energy is right only where the mesh resolves it, h <= ℓ/2
(Bourdin et al. 2008: the effective toughness is G_c (1 + h/(c ℓ)) on a mesh of size h). After a run,
:func:`cells_to_refine` marks the cells within ``halo`` (default 2ℓ) of a node where d > ``threshold`` whose
size h (longest edge) is above ℓ/2; :func:`refine_particle_mesh` bisects them with ``dolfinx.mesh.refine``
(Plaza) and carries the named boundaries over to the refined mesh; the case is then run again on it (the
restart approach: a crack's history is path dependent, so the damage is recomputed, not interpolated).
:func:`damage_zone_resolution` is the largest h/ℓ over the damaged cells, the quantity the loop drives
to <= 1/2.

Straight-sided cells only (geometry order 1): DOLFINx refines the affine cell, so a new node on a curved
boundary sits on the chord of its parent facet, not on the sphere (an O(h²/ρ) error at curvature radius ρ).
"""
from __future__ import annotations

import numpy as np

RESOLVED = 0.5          # h/ℓ at or below which the crack band is resolved


def _owned_cells(msh) -> np.ndarray:
    return np.arange(msh.topology.index_map(msh.topology.dim).size_local, dtype=np.int32)


def cell_sizes(msh) -> np.ndarray:
    """Longest edge (m) of each owned cell (the length of a 1D cell)."""
    return msh.h(msh.topology.dim, _owned_cells(msh))


def _damaged_points(d, threshold: float) -> np.ndarray:
    """Mesh coordinates (n, 3) of the nodes where d > ``threshold``, gathered on every rank."""
    V = d.function_space
    n = V.dofmap.index_map.size_local
    local = V.tabulate_dof_coordinates()[:n][d.x.array[:n] > threshold]
    return np.concatenate(V.mesh.comm.allgather(local))


def _near_damage(msh, d, threshold: float, halo: float) -> np.ndarray:
    """Owned cells (bool) whose midpoint lies within ``halo`` (m) of a node with d > ``threshold``."""
    from dolfinx.mesh import compute_midpoints
    from scipy.spatial import cKDTree

    points = _damaged_points(d, threshold)
    cells = _owned_cells(msh)
    if not len(points) or not len(cells):
        return np.zeros(len(cells), dtype=bool)
    distance, _ = cKDTree(points).query(compute_midpoints(msh, msh.topology.dim, cells))
    return distance <= halo


def cells_to_refine(pmesh, d, ell: float, *, threshold: float, halo: float | None = None) -> np.ndarray:
    """Owned cells within ``halo`` (default 2ℓ) of d > ``threshold`` with h > ℓ/2 (local indices)."""
    msh = pmesh.mesh
    near = _near_damage(msh, d, threshold, 2 * ell if halo is None else halo)
    return _owned_cells(msh)[near & (cell_sizes(msh) > RESOLVED * ell)]


def damage_zone_resolution(pmesh, d, ell: float, *, threshold: float) -> float | None:
    """max h/ℓ over the cells holding a node with d > ``threshold`` (None: no such node). Collective."""
    from mpi4py import MPI

    msh = pmesh.mesh
    tdim = msh.topology.dim
    V = d.function_space
    cells = _owned_cells(msh)
    damaged = np.zeros(len(cells), dtype=bool)
    if len(cells):
        dofs = V.dofmap.list[cells]                    # P1: the cell's vertex values
        damaged = (d.x.array[dofs] > threshold).any(axis=1)
    local = float(msh.h(tdim, cells[damaged]).max()) / ell if damaged.any() else -1.0
    worst = msh.comm.allreduce(local, op=MPI.MAX)
    return None if worst < 0 else worst


def refine_particle_mesh(pmesh, cells: np.ndarray):
    """A :class:`~sim.mesh.ParticleMesh` with ``cells`` (owned, local) bisected (their edges split; Plaza keeps
    the mesh conforming) and the facet tags (the named boundaries) and cell tags carried over. Collective."""
    import dataclasses

    from dolfinx import mesh as dmesh

    msh = pmesh.mesh
    tdim = msh.topology.dim
    if msh.geometry.cmaps[0].degree != 1:
        raise ValueError("mesh refinement needs a straight-sided (order 1) mesh")
    if tdim == 1:     # an interval: the marked cells are the edges; no parent facets in 1D (vertices kept)
        edges = np.asarray(cells, dtype=np.int32)
        new, parent_cell, _ = dmesh.refine(msh, edges, option=dmesh.RefinementOption.parent_cell)
        facet_tags = _vertex_tags(pmesh.facet_tags, msh, new)
    else:
        msh.topology.create_entities(1)
        edges = dmesh.compute_incident_entities(msh.topology, np.asarray(cells, dtype=np.int32), tdim, 1)
        new, parent_cell, parent_facet = dmesh.refine(msh, edges,
                                                      option=dmesh.RefinementOption.parent_cell_and_facet)
        new.topology.create_connectivity(tdim - 1, tdim)
        facet_tags = dmesh.transfer_meshtag(pmesh.facet_tags, new, parent_cell, parent_facet)
    cell_tags = dmesh.transfer_meshtag(pmesh.cell_tags, new, parent_cell)
    facet_tags.name, cell_tags.name = pmesh.facet_tags.name, pmesh.cell_tags.name
    info = {**pmesh.info, "refinements": pmesh.info.get("refinements", 0) + 1}
    # bisection changes the cells' shape: gmsh's quality figure no longer applies
    return dataclasses.replace(pmesh, mesh=new, cell_tags=cell_tags, facet_tags=facet_tags, min_quality=None,
                               msh=None, info=info)


def _vertex_tags(tags, parent, child):
    """Facet (vertex) tags of a refined 1D mesh: the parent's tagged vertices, found by their coordinates
    (refinement keeps every parent vertex and adds midpoints)."""
    from dolfinx.mesh import entities_to_geometry, meshtags
    from scipy.spatial import cKDTree

    where = parent.geometry.x[entities_to_geometry(parent, 0, tags.indices, False)[:, 0]]
    child.topology.create_connectivity(0, 1)
    n = child.topology.index_map(0).size_local + child.topology.index_map(0).num_ghosts
    vertices = np.arange(n, dtype=np.int32)
    xyz = child.geometry.x[entities_to_geometry(child, 0, vertices, False)[:, 0]]
    found = []
    if len(where) and len(xyz):
        tol = 1e-9 * float(np.abs(xyz).max())
        distance, index = cKDTree(where).query(xyz)
        hit = distance <= tol
        found = [(int(v), int(tags.values[i])) for v, i in zip(vertices[hit], index[hit])]
    found.sort()
    idx = np.array([v for v, _ in found], dtype=np.int32)
    val = np.array([t for _, t in found], dtype=np.int32)
    return meshtags(child, 0, idx, val)
