"""PNG pictures of particle meshes (:meth:`sim.mesh.ParticleMesh.plot`, ``sim mesh --reference``).

1D: element size vs r; 2D: the (r, z) mesh with boundary facets coloured by tag;
3D: boundary facets coloured by tag (outer surface translucent) and the cut z = 0.
Axes in µm, or nm for particles smaller than 1 µm. Cells and facets are gathered to rank 0.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

_FIXED = {"outer": "tab:blue", "void": "tab:red", "axis": "0.45", "centre": "0.45"}
_PORES = ("tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")


def _colour(name: str) -> str:
    return _FIXED.get(name) or _PORES[int(name.split("_")[1]) % len(_PORES)]


def _gather(pm):
    """Corner coordinates of owned cells (n, nv, 3) and of tagged owned facets (m, tdim, 3) with tags."""
    from dolfinx.mesh import entities_to_geometry

    msh = pm.mesh
    tdim = msh.topology.dim
    x = msh.geometry.x
    n_cells = msh.topology.index_map(tdim).size_local
    cells = x[msh.geometry.dofmaps[0][:n_cells, : tdim + 1]]  # simplices: vertex nodes come first
    n_facets = msh.topology.index_map(tdim - 1).size_local
    owned = pm.facet_tags.indices < n_facets
    idx, tags = pm.facet_tags.indices[owned], pm.facet_tags.values[owned]
    facets = x[entities_to_geometry(msh, tdim - 1, idx)[:, :tdim]] if len(idx) else np.zeros((0, tdim, 3))
    parts = pm.comm.gather((cells, facets, tags), root=0)
    if pm.comm.rank != 0:
        return None
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


def plot(pm, path: Path, title: str = "") -> Path:
    """Draw ``pm`` into ``path`` (PNG); collective, rank 0 draws."""
    data = _gather(pm)
    if pm.comm.rank == 0:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from sim.io import savefig_atomic

        cells, facets, tags = data
        extent = float(np.abs(cells).max())
        scale, unit = (1e6, "µm") if extent >= 1e-6 else (1e9, "nm")
        names = {t: n for n, t in pm.boundaries.items()}
        q = "n/a" if pm.min_quality is None else f"{pm.min_quality:.3f}"
        head = f"{title}\n{pm.num_cells} cells, {pm.num_vertices} vertices, min quality (minSICN) {q}".strip()
        draw = {1: _draw_1d, 2: _draw_2d, 3: _draw_3d}[pm.mesh.topology.dim]
        fig = draw(plt, cells * scale, facets * scale, tags, names, unit)
        fig.suptitle(head, fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.94))
        savefig_atomic(fig, path, dpi=130)
        plt.close(fig)
    pm.comm.barrier()
    return path


def _draw_1d(plt, cells, facets, tags, names, unit):
    r = np.sort(cells[:, :, 0], axis=1)
    order = np.argsort(r[:, 0])
    mid, h = r[order].mean(axis=1), np.diff(r[order], axis=1)[:, 0]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(mid, h * (1e3 if unit == "µm" else 1.0), "k.-", ms=3, lw=0.8)
    for (pt,), t in zip(facets[:, :, 0], tags):
        ax.axvline(pt, color=_colour(names[t]), lw=2, label=f"{names[t]} ({t})")
    ax.set_xlabel(f"r ({unit})")
    ax.set_ylabel("element size (nm)")
    ax.legend(fontsize=8)
    return fig


def _draw_2d(plt, cells, facets, tags, names, unit):
    from matplotlib.collections import LineCollection, PolyCollection

    width = np.ptp(cells[:, :, 0]) / np.ptp(cells[:, :, 1])
    fig, ax = plt.subplots(figsize=(min(10.0, max(4.0, 6 * width + 1.5)), 7))
    ax.add_collection(PolyCollection(cells[:, :, :2], facecolors="0.95", edgecolors="0.55", linewidths=0.15))
    for t in sorted(set(tags.tolist())):
        ax.add_collection(LineCollection(facets[tags == t][:, :, :2], colors=_colour(names[t]), linewidths=1.5,
                                         label=f"{names[t]} ({t})"))
    ax.autoscale()
    ax.set_aspect("equal")
    ax.set_xlabel(f"r ({unit})")
    ax.set_ylabel(f"z ({unit})")
    ax.legend(fontsize=8, loc="upper right")
    return fig


def _draw_3d(plt, cells, facets, tags, names, unit):
    from matplotlib.collections import LineCollection, PolyCollection
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    fig = plt.figure(figsize=(11, 5.5))
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    inner = any(names[t] != "outer" for t in set(tags.tolist()))
    for t in sorted(set(tags.tolist())):
        outer = names[t] == "outer" and inner  # see-through when it hides voids or pores
        ax3.add_collection3d(Poly3DCollection(facets[tags == t], facecolors=_colour(names[t]),
                                              edgecolors="none" if outer else "k", linewidths=0.05,
                                              alpha=0.06 if outer else 0.9, label=f"{names[t]} ({t})"))
    lim = np.abs(cells).max()
    ax3.set(xlim=(-lim, lim), ylim=(-lim, lim), zlim=(-lim, lim), xlabel=f"x ({unit})", ylabel=f"y ({unit})",
            zlabel=f"z ({unit})")
    ax3.set_box_aspect((1, 1, 1))
    ax3.legend(fontsize=7, loc="upper left")
    ax3.set_title("boundary facets" + (" (outer surface translucent)" if inner else ""), fontsize=8)

    ax = fig.add_subplot(1, 2, 2)
    z0 = 1e-7 * lim  # a plane through no vertex
    ax.add_collection(PolyCollection(_cut_polygons(cells, z0), facecolors="0.95", edgecolors="0.55",
                                     linewidths=0.15))
    for t in sorted(set(tags.tolist())):
        segs = _cut_polygons(facets[tags == t], z0)
        ax.add_collection(LineCollection(segs, colors=_colour(names[t]), linewidths=1.5, label=f"{names[t]} ({t})"))
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel=f"x ({unit})", ylabel=f"y ({unit})")
    ax.set_aspect("equal")
    ax.set_title("cut z = 0", fontsize=8)
    return fig


def _cut_polygons(simplices, z0):
    """Intersections of simplices (n, k, 3) with the plane z = z0, as (x, y) polygons
    (segments for triangles, triangles/quads for tetrahedra), corners in angular order."""
    d = simplices[:, :, 2] - z0
    hit = (d.min(axis=1) < 0) & (d.max(axis=1) > 0)
    s, d = simplices[hit], d[hit]
    k = s.shape[1]
    out = []
    for i in range(len(s)):
        pts = [s[i, a, :2] + d[i, a] / (d[i, a] - d[i, b]) * (s[i, b, :2] - s[i, a, :2])
               for a in range(k) for b in range(a + 1, k) if d[i, a] * d[i, b] < 0]
        pts = np.array(pts)
        c = pts.mean(axis=0)
        out.append(pts[np.argsort(np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0]))])
    return out
