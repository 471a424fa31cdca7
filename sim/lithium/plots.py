"""Section maps of stress and Li fraction: colour bars in MPa or GPa, µm axes, and the data behind them.

A map shows a full cross-section through the particle centre, on axes x (horizontal) and z:

* axisymmetric (r, z) meshes: the section mirrored about the z axis (x = ±r, so the left half is the
  reflection of the right; the figure says so), shaded from nodal values (:func:`nodal_average`) linearly
  interpolated in each triangle, i.e. Gouraud shading, rasterised to PIXELS² so vector files stay small;
* 1D radial meshes: the nodal radial profile revolved into a disk;
* 3D meshes: the mid-plane y = 0 (it contains the z axis, where the Liu 2024 pores sit), sampled on a grid
  from each field's linear (DG1) interpolant.

Colour bars have ``extend`` arrows where values leave the colour range and no offset notation; hot spots
(white circles, coincident ones merged), probes (gold diamonds, e.g. the bridge point) and the fracture
onset (cyan star) are marked. Style helpers: :mod:`sim.lithium.figures`.

:func:`section_data` is collective and returns the arrays on rank 0 (``None`` elsewhere); they are saved
as ``.npz`` next to each PNG so that figures (e.g. the Liu 2024 side-by-side) can be redrawn later.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.lithium.figures import (MIDPLANE_NOTE, MIRRORED_NOTE, REVOLVED_NOTE, colour_bar, save_figure,
                                 stress_scale)

# field name -> (panel title, colour-bar label (stresses: unit added, MPa or GPa), colour map, symmetric about 0)
PANELS = {
    "li_fraction": ("Li fraction", "x = c / c_max", "viridis", False),
    "hoop_Pa": ("hoop stress", "hoop stress σ_θθ", "RdBu_r", True),
    "radial_Pa": ("radial stress", "radial stress σ_rr", "RdBu_r", True),
    "von_mises_Pa": ("von Mises stress", "von Mises stress", "magma", False),
    "max_principal_over_strength": ("max principal / strength", "σ₁ / σ_f", "inferno", False),
    "damage": ("phase-field damage", "damage d", "inferno", False),
}
# drawn by default, those present in the section (σ₁/σ_f with a strength, d with a phase field)
MAP_PANELS = ("li_fraction", "hoop_Pa", "von_mises_Pa", "max_principal_over_strength", "damage")
# marker, face colour, size: the onset point, probes (the bridge point...); hot spots are white circles
MARKERS = {"onset": ("*", "cyan", 12), "probe": ("D", "gold", 6), "hot spot": ("o", "white", 5)}
NOTES = {"triangles": MIRRORED_NOTE, "radial": REVOLVED_NOTE, "3d": MIDPLANE_NOTE}


def _dg(f, degree: int):
    """``f`` interpolated into DG ``degree`` on its mesh: cell averages at midpoints (0) or, for 1, each
    cell's values at its vertices (exact for the P1 concentration and the DG1 stresses of degree_u = 2)."""
    from dolfinx import fem

    V = fem.functionspace(f.function_space.mesh, ("DG", degree))
    g = fem.Function(V)
    g.interpolate(f)
    return g


def nodal_average(corners: np.ndarray, values: np.ndarray, weights: np.ndarray):
    """Merge cell corners (n, k, d) into nodes and average per-cell corner ``values`` (n, k) at each node,
    weighted by ``weights`` (n,) (cell sizes): continuous nodal values for smooth (Gouraud-like) shading.

    Returns (nodes (N, d), cells (n, k) node indices, nodal values (N,)). Exact for continuous fields;
    for discontinuous (DG) stresses it is the lumped-mass L² projection onto P1.
    """
    n, k, d = corners.shape
    nodes, conn = np.unique(corners.reshape(-1, d), axis=0, return_inverse=True)
    conn = conn.reshape(n, k)
    w = np.repeat(weights, k)
    total = np.bincount(conn.ravel(), weights=w * values.ravel(), minlength=len(nodes))
    return nodes, conn, total / np.bincount(conn.ravel(), weights=w, minlength=len(nodes))


def _triangle_areas(tri: np.ndarray) -> np.ndarray:
    a, b = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    return 0.5 * np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])


OUTSIDE = 0.25     # smallest barycentric coordinate accepted for a point under a curved facet


def _linear_values_at(fields: dict, points: np.ndarray, comm) -> dict[str, np.ndarray]:
    """Values of DG1 Functions (one mesh) at ``points`` (n, 3) on every rank, NaN outside; cells located once.

    Inside its cell each point takes the linear interpolant of the cell's vertex values in barycentric
    coordinates of the straight simplex through its vertices: exact for fields linear in x, and no Newton
    pull-back, which fails for candidate points just outside a curved (order-2) cell.
    """
    from dolfinx import geometry

    msh = next(iter(fields.values())).function_space.mesh
    tdim = msh.topology.dim
    points = np.ascontiguousarray(points, dtype=np.float64)
    tree = geometry.bb_tree(msh, tdim)
    found_cells = geometry.compute_colliding_cells(msh, geometry.compute_collisions_points(tree, points), points)
    # candidates (a curved-cell collision test returns several per point): keep the one the point is most
    # inside, i.e. with the largest smallest barycentric coordinate
    counts = np.diff(found_cells.offsets)
    pair_point = np.repeat(np.arange(len(points)), counts)
    pair_cell = np.asarray(found_cells.array, dtype=np.int32)
    V = msh.geometry.x[msh.geometry.dofmaps[0][pair_cell, :tdim + 1], :tdim]        # (pairs, tdim + 1, tdim)
    T = np.transpose(V[:, 1:] - V[:, :1], (0, 2, 1))                                # columns: edges from vertex 0
    lam = np.linalg.solve(T, (points[pair_point, :tdim] - V[:, 0])[..., None])[..., 0]
    lam = np.column_stack([1.0 - lam.sum(axis=1), lam])
    inside = lam.min(axis=1)
    order = np.lexsort((-inside, pair_point))                                         # best candidate first
    best = order[np.r_[True, pair_point[order][1:] != pair_point[order][:-1]]] if len(order) else order
    # a point under a curved facet lies slightly outside its cell's straight simplex (small negative
    # coordinates; the unclipped weights still reproduce linear fields exactly); far-off candidates are not cells
    best = best[inside[best] >= -OUTSIDE]
    found, first, weights = pair_point[best], pair_cell[best], lam[best]
    out = {}
    for name, g in fields.items():
        local = np.full(len(points), np.nan)
        if len(found):
            local[found] = np.einsum("ij,ij->i", weights, g.x.array[g.function_space.dofmap.list[first]])
        merged = np.full(len(points), np.nan)
        for arr in comm.allgather(local):
            merged = np.where(np.isnan(merged), arr, merged)
        out[name] = merged
    return out


def section_data(kind: str, fields: dict, comm, *, radius: float, n_grid: int | None = None,
                 zoom: float | None = None) -> dict | None:
    """Arrays of a section map of scalar ``fields`` (name -> Function, SI) on a ``kind`` mesh. Collective.

    Returns on rank 0 ``{"layout": "triangles" | "image", "radius_m", ...coordinates (m)..., <name>: values}``.
    Axisymmetric meshes: the cell triangles ``triangles_m`` with cell averages ``<name>`` and the nodal
    values ``nodal_<name>`` on ``nodes_m`` / ``cells`` (:func:`nodal_average`) that the maps are shaded from.
    1D radial meshes: the nodal profile ``profile_r_m`` / ``profile_<name>`` and its revolved image; 3D
    meshes: an image of the mid-plane y = 0 sampled from the fields' linear (DG1) interpolants. Images with
    ``zoom`` (m) also hold a finer ``zoom_<name>`` image of |x|, |z| <= zoom. ``n_grid``: pixels across an
    image (default 401 for a revolved profile, which is cheap, and 161 for a 3D mid-plane, located cell by cell).
    """
    n_grid = n_grid or (401 if kind == "radial" else 161)
    names = list(fields)
    cells = {name: _dg(f, 0) for name, f in fields.items()}
    corners = {name: _dg(f, 1) for name, f in fields.items()}
    msh = next(iter(cells.values())).function_space.mesh
    tdim = msh.topology.dim
    n_local = msh.topology.index_map(tdim).size_local
    local = {n: cells[n].x.array[cells[n].function_space.dofmap.list[:n_local, 0]] for n in names}
    at_corners = {n: corners[n].x.array[corners[n].function_space.dofmap.list[:n_local]] for n in names}
    vertices = msh.geometry.x[msh.geometry.dofmaps[0][:n_local, :tdim + 1]]     # vertices come first in each cell
    if kind == "axisym":
        parts = comm.gather((vertices[:, :, :2], local, at_corners), root=0)
        if comm.rank != 0:
            return None
        tri = np.concatenate([p[0] for p in parts])
        data = {"layout": "triangles", "radius_m": radius, "triangles_m": tri}
        data.update({n: np.concatenate([p[1][n] for p in parts]) for n in names})
        for n in names:
            nodes, conn, data[f"nodal_{n}"] = nodal_average(tri, np.concatenate([p[2][n] for p in parts]),
                                                            _triangle_areas(tri))
        data["nodes_m"], data["cells"] = nodes, conn
        return data
    if kind not in ("radial", "3d"):
        raise ValueError(f"unknown mesh kind {kind!r}")
    data = {"layout": "image", "kind": kind, "radius_m": radius}
    if kind == "radial":   # the nodal profile on rank 0
        parts = comm.gather((vertices[:, :, :1], at_corners), root=0)
        if comm.rank == 0:
            seg = np.concatenate([p[0] for p in parts])
            lengths = np.abs(seg[:, 1, 0] - seg[:, 0, 0])
            for n in names:
                r_nodes, _, data[f"profile_{n}"] = nodal_average(seg, np.concatenate([p[1][n] for p in parts]), lengths)
            data["profile_r_m"] = r_nodes[:, 0]
    else:
        linear = {n: corners[n] for n in names}
    for prefix, half in [("", radius)] + ([("zoom_", zoom)] if zoom else []):
        s = np.linspace(-half, half, n_grid)
        X, Z = np.meshgrid(s, s)
        data[f"{prefix}extent_m"] = np.array([-half, half, -half, half])
        if kind == "3d":     # the mid-plane y = 0
            pts = np.column_stack([X.ravel(), np.zeros(X.size), Z.ravel()])
            beyond = (np.hypot(X, Z) > radius * (1 + 1e-9))
            data.update({prefix + n: np.where(beyond, np.nan, v.reshape(X.shape))
                         for n, v in _linear_values_at(linear, pts, comm).items()})
        elif comm.rank == 0:  # the profile revolved into a disk
            r = data["profile_r_m"]
            R = np.hypot(X, Z)
            outside = (R > r.max() * (1 + 1e-12)) | (R < r.min() * (1 - 1e-12))
            data.update({prefix + n: np.where(outside, np.nan, np.interp(R, r, data[f"profile_{n}"]))
                         for n in names})
    return data if comm.rank == 0 else None


def save_section(path: Path, data: dict) -> None:
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in data.items() if not k.startswith("_")})


def load_section(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: (z[k].item() if z[k].ndim == 0 else z[k]) for k in z.files}


PIXELS = 400     # pixels across a rasterised axisymmetric panel


def _pixel_weights(data: dict, half: float) -> tuple[np.ndarray, np.ndarray]:
    """For a PIXELS² image of |x|, |z| <= half mirrored about the axis: the triangle under each pixel
    (-1 outside the mesh) and the pixel centre's barycentric coordinates in it. One point location per
    section and window, reused by every field; shading the nodal values with these weights is the linear
    (Gouraud) interpolant, rasterised, so that PDFs stay small."""
    from matplotlib.tri import Triangulation

    cache = data.setdefault("_pixels", {})
    if half not in cache:
        nodes, conn = _nodes(data)
        triang = Triangulation(nodes[:, 0], nodes[:, 1], conn)
        s = (np.arange(PIXELS) + 0.5) / PIXELS * 2 * half - half      # pixel centres
        X, Z = np.meshgrid(s, s)
        P = np.column_stack([np.abs(X).ravel(), Z.ravel()])
        cell = triang.get_trifinder()(P[:, 0], P[:, 1])
        A = nodes[conn[np.maximum(cell, 0)]]                         # (P, 3, 2)
        e1, e2, e = A[:, 1] - A[:, 0], A[:, 2] - A[:, 0], P - A[:, 0]
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        det = np.where(det == 0, 1.0, det)
        l1 = (e[:, 0] * e2[:, 1] - e[:, 1] * e2[:, 0]) / det
        l2 = (e1[:, 0] * e[:, 1] - e1[:, 1] * e[:, 0]) / det
        cache[half] = (cell.reshape(X.shape), np.stack([1 - l1 - l2, l1, l2], axis=-1).reshape(*X.shape, 3))
    return cache[half]


def _nodes(data: dict) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, cells) of an axisymmetric section; maps saved before nodal values were kept: one node per corner."""
    if "nodes_m" in data:
        return np.asarray(data["nodes_m"], float), np.asarray(data["cells"], int)
    tri = np.asarray(data["triangles_m"], float)
    return tri.reshape(-1, 2), np.arange(3 * len(tri)).reshape(-1, 3)


def _nodal(data: dict, name: str) -> np.ndarray:
    """Nodal values of ``name`` on :func:`_nodes` (older maps: each cell's value at its three corners)."""
    if f"nodal_{name}" in data:
        return np.asarray(data[f"nodal_{name}"], float)
    return np.repeat(np.asarray(data[name], float), 3)


def sample_ray(data: dict, name: str, direction, s) -> np.ndarray:
    """Values of map ``name`` (SI) at distances ``s`` (m) from the centre along ``direction`` = (x, z) in the
    section plane (axisymmetric: x = r, the sign ignored), linear in the nodal values; NaN outside the
    particle (void, pores)."""
    if not np.linalg.norm(direction) > 0:
        raise ValueError("a ray needs a non-zero direction")
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    s = np.asarray(s, float)
    x, z = s * d[0], s * d[1]
    if data["layout"] == "triangles":
        from matplotlib.tri import LinearTriInterpolator, Triangulation

        nodes, conn = _nodes(data)
        f = LinearTriInterpolator(Triangulation(nodes[:, 0], nodes[:, 1], conn), _nodal(data, name))
        radius = float(data["radius_m"])
        r = np.maximum(np.abs(x), 1e-9 * radius)   # on the axis r = 0 is the mesh's edge
        v = np.ma.filled(f(r, z).astype(float), np.nan)
        # the straight-sided triangles of curved (order-2) cells leave slivers under the surface: samples
        # there (within 2 % of R) take the value of the outermost sample inside the mesh
        order = np.argsort(s)
        finite = order[np.isfinite(v[order])]
        if finite.size:
            last = finite[-1]
            sliver = (s > s[last]) & (s <= radius * (1 + 1e-12)) & (s >= 0.98 * radius)
            v[sliver] = v[last]
        return v
    if f"profile_{name}" in data:        # 1D radial: the nodal profile itself
        r = np.asarray(data["profile_r_m"], float)
        inside = (s >= r.min() * (1 - 1e-12)) & (s <= r.max() * (1 + 1e-12))
        return np.where(inside, np.interp(s, r, np.asarray(data[f"profile_{name}"], float)), np.nan)
    from scipy.interpolate import RegularGridInterpolator

    image = np.asarray(data[name], float)
    e = np.asarray(data["extent_m"], float)
    f = RegularGridInterpolator((np.linspace(e[2], e[3], image.shape[0]), np.linspace(e[0], e[1], image.shape[1])),
                                image, bounds_error=False, fill_value=np.nan)
    return f(np.column_stack([z, x]))


def _scale(name: str, values) -> tuple[float, str]:
    """(factor, colour-bar label) of panel ``name`` for its shown ``values`` (SI)."""
    label = PANELS[name][1]
    if name.endswith("_Pa"):
        factor, unit = stress_scale(values)
        return factor, f"{label} ({unit})"
    return 1.0, label


def _draw(ax, fig, data: dict, name: str, title: str, window: float | None = None, markers=None,
          probes=None, limits=None, labels: bool = True) -> None:
    """One panel; ``window`` (m): show only |x|, |z| <= window, with the colour range of what is shown,
    or ``limits`` (lo, hi) in SI (then ``extend`` arrows mark clipped values). ``markers``: label ->
    physical (x, y, z) in m (hot spots, ``onset``), ``probes`` likewise (the bridge point), drawn at (x, z)
    (axisymmetric: (r, z)) if in view, named unless ``labels`` is False."""
    from matplotlib.colors import Normalize

    _, _, cmap, symmetric = PANELS[name]
    prefix = "zoom_" if window is not None and f"zoom_{name}" in data else ""   # a finer image of the window
    half = float(window if window is not None else 1.02 * float(data["radius_m"]))
    um = 1e6
    if data["layout"] == "triangles":
        cell, weights = _pixel_weights(data, half)
        _, conn = _nodes(data)
        image = np.where(cell >= 0, np.einsum("ijk,ijk->ij", weights, _nodal(data, name)[conn[np.maximum(cell, 0)]]),
                         np.nan)
        extent = np.array([-half, half, -half, half])
    else:
        image = np.asarray(data[prefix + name], dtype=float)
        extent = np.asarray(data[prefix + "extent_m"])
    s = np.linspace(extent[0], extent[1], image.shape[1])
    X, Z = np.meshgrid(s, s)
    shown = image[(np.abs(X) <= half) & (np.abs(Z) <= half) & np.isfinite(image)]
    factor, bar_label = _scale(name, shown)
    shown = shown * factor
    if limits is not None:
        lo, hi = (float(v) * factor for v in limits)
    else:
        lo, hi = (float(shown.min()), float(shown.max())) if shown.size else (0.0, 1.0)
        if symmetric:
            lo, hi = -max(abs(lo), abs(hi), 1e-12), max(abs(lo), abs(hi), 1e-12)
    if hi <= lo:
        lo, hi = lo - 1e-12 - 1e-9 * abs(lo), hi + 1e-12 + 1e-9 * abs(hi)
    art = ax.imshow(np.ma.masked_invalid(image * factor), extent=extent * um, origin="lower", cmap=cmap,
                    norm=Normalize(lo, hi), interpolation="nearest")
    ax.set_aspect("equal")
    ax.locator_params(nbins=5)         # fewer tick artists: ticks are most of a panel's drawing time
    ax.set_xlim(-half * um, half * um)
    ax.set_ylim(-half * um, half * um)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("z (µm)")
    ax.set_title(title or PANELS[name][0], fontsize=10)
    # a colour bar in an inset of its panel: no gridspec to re-partition (the costly part of colorbar(ax=))
    colour_bar(fig, art, ax.inset_axes([1.04, 0.08, 0.05, 0.84]), bar_label, shown)
    axisym = data["layout"] == "triangles"
    groups = _group(markers or {}, data) + [(text, p, "probe") for text, p in (probes or {}).items()]
    for text, (x, y, z), kind in groups:
        h = np.hypot(x, y) if axisym else x
        if abs(h) <= half and abs(z) <= half:
            m, colour, size = MARKERS["onset" if text == "onset" else kind]
            ax.plot([h * um], [z * um], m, color=colour, markersize=size, markeredgecolor="k", markeredgewidth=0.6)
            if labels:      # names kept inside the panel: not into the colour bar or the title
                left, below = h > 0.6 * half, z > 0.8 * half
                ax.annotate(_short(text), (h * um, z * um), xytext=(-4 if left else 4, -4 if below else 3),
                            textcoords="offset points", fontsize=6, color="k", ha="right" if left else "left",
                            va="top" if below else "bottom", annotation_clip=True,
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})


SYMBOLS = {"max_principal": "σ₁", "hoop": "σ_θθ", "von_mises": "σ_vM", "radial": "σ_rr"}


def _short(text: str) -> str:
    """A marker's name as shown: hot spot ``max_principal_1`` -> "σ₁ #1"; ``surface_pole`` -> "surface pole"."""
    parts = []
    for name in text.split(" / "):
        head, _, tail = name.rpartition("_")
        parts.append(f"{SYMBOLS[head]} #{tail}" if tail.isdigit() and head in SYMBOLS else name.replace("_", " "))
    return " / ".join(parts)


def draw_map(ax, data: dict, name: str, *, window: float | None = None, title: str = "", markers=None,
             probes=None, limits=None) -> None:
    """Draw map ``name`` of section ``data`` on the matplotlib Axes ``ax`` (its colour bar in an inset),
    as a panel of :func:`plot_section` is drawn: e.g. for :meth:`sim.results.Result.plot_map`."""
    _draw(ax, ax.figure, data, name, title, window, markers, probes, limits)


def _group(markers: dict, data: dict) -> list[tuple[str, tuple, str]]:
    """Markers at (nearly) the same point as one marker, their labels joined (hot spots of σ₁ and σ_θθ
    often coincide); a 1 % of the radius tolerance."""
    tol = 0.01 * float(data["radius_m"])
    groups: list[list] = []
    for text, p in markers.items():
        p = np.asarray(p, float)
        for g in groups:
            if np.linalg.norm(g[1] - p) <= tol and (text == "onset") == (g[0][0] == "onset"):
                g[0].append(text)
                break
        else:
            groups.append([[text], p])
    return [(" / ".join(names), tuple(p), "hot spot") for names, p in groups]


def _figure(rows: int, columns: int, width: float):
    """A Figure (Agg canvas, no pyplot) with a fixed grid: no layout engine, whose solve costs more than
    the drawing itself."""
    from sim.lithium.figures import new_figure

    fig = new_figure(width * columns, 4.2 * rows + 0.8)
    top = 1.0 - 0.55 / fig.get_figheight()
    fig.subplots_adjust(left=0.9 / fig.get_figwidth(), right=1.0 - 1.2 / fig.get_figwidth(),
                        bottom=0.8 / fig.get_figheight(), top=top, wspace=0.75, hspace=0.35)
    return fig, fig.subplots(rows, columns, squeeze=False)


def _note(fig, data: dict) -> None:
    """What the horizontal axis is: the mirrored (r, z) section, the revolved profile or the 3D mid-plane."""
    key = "triangles" if data["layout"] == "triangles" else str(data.get("kind", "3d"))
    fig.text(0.01, 0.01, NOTES.get(key, ""), fontsize=7, color="0.3", ha="left", va="bottom")


def _save(fig, path: Path, formats) -> Path:
    """Write ``path`` (and its siblings in ``formats``); return the first file written."""
    return save_figure(fig, path, formats, dpi=110)[0]


def section_figure(data: dict, *, title: str = "", names=None, zoom: float | None = None,
                   markers: dict | None = None, probes: dict | None = None, limits: dict | None = None):
    """The Figure of :func:`plot_section` (for notebooks and tests)."""
    names = [n for n in (names or MAP_PANELS) if n in data]
    windows = [None] + ([zoom] if zoom else [])
    fig, axes = _figure(len(windows), len(names), 4.6)
    for row, window in zip(axes, windows):
        for ax, name in zip(row, names):
            # names only where they can be read: in the close-up when there is one
            _draw(ax, fig, data, name, PANELS[name][0] + (" (near the void)" if window else ""), window, markers,
                  probes, (limits or {}).get(name), labels=window is not None or len(windows) == 1)
    if title:
        fig.suptitle(title)
    _note(fig, data)
    return fig


def plot_section(data: dict, path: Path, *, title: str = "", names=None, zoom: float | None = None,
                 markers: dict | None = None, probes: dict | None = None, limits: dict | None = None,
                 formats=None) -> Path:
    """One figure with a panel per field (Li fraction, hoop, von Mises, σ₁/σ_f where present); with ``zoom`` (m)
    a second row shows |x|, |z| <= zoom (e.g. the void and pores); ``markers``: label -> physical point (m)
    (hot spots, ``onset``); ``probes``: label -> physical point (m) (the bridge point), gold diamonds;
    ``limits``: name -> (lo, hi) colour range in SI (clipped values get ``extend`` arrows); ``formats``:
    e.g. ``("png", "pdf")`` writes ``path`` with each suffix. Shading: the nodal values, linearly
    interpolated. Call on rank 0; returns the first file written."""
    fig = section_figure(data, title=title, names=names, zoom=zoom, markers=markers, probes=probes, limits=limits)
    return _save(fig, path, formats)


def side_by_side_figure(sections: dict[str, dict], *, title: str = "", names=("hoop_Pa", "von_mises_Pa"),
                        zoom: float | None = None, probes: dict | None = None):
    """The Figure of :func:`plot_side_by_side`."""
    columns = [(n, None) for n in names] + ([(n, zoom) for n in names] if zoom else [])
    fig, axes = _figure(len(sections), len(columns), 4.8)
    for row, (label, data) in zip(axes, sections.items()):
        for ax, (name, window) in zip(row, columns):
            where = f", |x|, |z| <= {window * 1e6:g} µm" if window else ""
            _draw(ax, fig, data, name, f"{label}: {PANELS[name][0]}{where}", window, probes=probes)
    if title:
        fig.suptitle(title)
    _note(fig, next(iter(sections.values())))
    return fig


def plot_side_by_side(sections: dict[str, dict], path: Path, *, title: str = "",
                      names=("hoop_Pa", "von_mises_Pa"), zoom: float | None = None, probes: dict | None = None,
                      formats=None) -> Path:
    """Rows = runs (label -> section data), columns = fields (and, with ``zoom`` in m, the same fields
    near the centre); each panel with its own colour bar (MPa or GPa); ``probes`` as in :func:`plot_section`.
    Call on rank 0; returns the first file written."""
    fig = side_by_side_figure(sections, title=title, names=names, zoom=zoom, probes=probes)
    return _save(fig, path, formats)
