"""Section maps of stress and Li fraction: PNGs with MPa colour bars and µm axes, and the data behind them.

A map shows a full cross-section through the particle centre:

* axisymmetric (r, z) meshes: the cell triangulation mirrored to r < 0 (a full section through the axis);
* 1D radial meshes: the radial profile revolved into a disk;
* 3D meshes: the mid-plane y = 0 (it contains the z axis, where the Liu 2024 pores sit), sampled on a grid.

:func:`section_data` is collective and returns the arrays on rank 0 (``None`` elsewhere); they are saved
as ``.npz`` next to each PNG so that figures (e.g. the Liu 2024 side-by-side) can be redrawn later.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.lithium.exports import cell_values_at

# field name -> (panel title, display scale, colour-bar label, colour map, symmetric about 0)
PANELS = {
    "li_fraction": ("Li fraction", 1.0, "x = c / c_max", "viridis", False),
    "hoop_Pa": ("hoop stress", 1e-6, "hoop stress (MPa)", "RdBu_r", True),
    "von_mises_Pa": ("von Mises stress", 1e-6, "von Mises stress (MPa)", "magma", False),
    "max_principal_over_strength": ("max principal / strength", 1.0, "σ1 / σf", "inferno", False),
}
MARKERS = {"onset": ("*", "cyan", 12)}        # marker, colour, size; others (hot spots): white circles


def _dg0(f):
    """``f`` interpolated into cell averages at midpoints (DG0) on its mesh."""
    from dolfinx import fem

    V0 = fem.functionspace(f.function_space.mesh, ("DG", 0))
    g = fem.Function(V0)
    g.interpolate(f)
    return g


def section_data(kind: str, fields: dict, comm, *, radius: float, n_grid: int = 161,
                 zoom: float | None = None) -> dict | None:
    """Arrays of a section map of scalar ``fields`` (name -> Function, SI) on a ``kind`` mesh. Collective.

    Returns on rank 0 ``{"layout": "triangles" | "image", "radius_m", ...coordinates (m)..., <name>: values}``;
    images (1D and 3D meshes) with ``zoom`` (m) also hold a finer ``zoom_<name>`` image of |x|, |z| <= zoom.
    """
    names = list(fields)
    cells = {name: _dg0(f) for name, f in fields.items()}
    msh = next(iter(cells.values())).function_space.mesh
    tdim = msh.topology.dim
    n_local = msh.topology.index_map(tdim).size_local
    local = {n: cells[n].x.array[cells[n].function_space.dofmap.list[:n_local, 0]] for n in names}
    if kind == "axisym":
        nodes = msh.geometry.x[msh.geometry.dofmaps[0][:n_local, :3], :2]     # vertices come first in each cell
        parts = comm.gather((nodes, local), root=0)
        if comm.rank != 0:
            return None
        data = {"layout": "triangles", "radius_m": radius,
                "triangles_m": np.concatenate([p[0] for p in parts])}
        data.update({n: np.concatenate([p[1][n] for p in parts]) for n in names})
        return data
    if kind not in ("radial", "3d"):
        raise ValueError(f"unknown mesh kind {kind!r}")
    if kind == "radial":   # the radial profile (cell midpoints, sorted) on rank 0
        r_mid = msh.geometry.x[msh.geometry.dofmaps[0][:n_local], 0].mean(axis=1)
        parts = comm.gather((r_mid, msh.geometry.x[:, 0].min(), local), root=0)
        if comm.rank == 0:
            r_mid = np.concatenate([p[0] for p in parts])
            order = np.argsort(r_mid)
            inner = min(p[1] for p in parts)
            profile = {n: np.concatenate([p[2][n] for p in parts])[order] for n in names}
    data = {"layout": "image", "radius_m": radius}
    for prefix, half in [("", radius)] + ([("zoom_", zoom)] if zoom else []):
        s = np.linspace(-half, half, n_grid)
        X, Z = np.meshgrid(s, s)
        data[f"{prefix}extent_m"] = np.array([-half, half, -half, half])
        if kind == "3d":     # the mid-plane y = 0
            pts = np.column_stack([X.ravel(), np.zeros(X.size), Z.ravel()])
            data.update({prefix + n: v.reshape(X.shape) for n, v in cell_values_at(cells, pts, comm).items()})
        elif comm.rank == 0:  # the profile revolved into a disk
            R = np.hypot(X, Z)
            outside = (R > radius) | (R < inner)
            data.update({prefix + n: np.where(outside, np.nan, np.interp(R, r_mid[order], v))
                         for n, v in profile.items()})
    return data if comm.rank == 0 else None


def save_section(path: Path, data: dict) -> None:
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in data.items() if not k.startswith("_")})


def load_section(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: (z[k].item() if z[k].ndim == 0 else z[k]) for k in z.files}


PIXELS = 400     # pixels across a rasterised axisymmetric panel


def _pixel_cells(data: dict, half: float) -> np.ndarray:
    """Index of the (r, z) triangle under each pixel of a PIXELS² image of |x|, |z| <= half mirrored about
    the axis (-1 outside the mesh); one point location per section and window, reused by every field."""
    from matplotlib.tri import Triangulation

    cache = data.setdefault("_pixels", {})
    if half not in cache:
        tri = np.asarray(data["triangles_m"])
        nodes, conn = np.unique(tri.reshape(-1, 2), axis=0, return_inverse=True)
        triang = Triangulation(nodes[:, 0], nodes[:, 1], conn.reshape(-1, 3))
        s = (np.arange(PIXELS) + 0.5) / PIXELS * 2 * half - half      # pixel centres
        X, Z = np.meshgrid(s, s)
        cache[half] = triang.get_trifinder()(np.abs(X), Z)
    return cache[half]


def _draw(ax, fig, data: dict, name: str, title: str, window: float | None = None, markers=None) -> None:
    """One panel; ``window`` (m): show only |x|, |z| <= window, with the colour range of what is shown.
    ``markers``: label -> physical (x, y, z) in m, drawn at (x, z) (axisymmetric: (r, z)) if in view."""
    from matplotlib.colors import Normalize
    from matplotlib.ticker import MaxNLocator

    label, scale, cbar_label, cmap, symmetric = PANELS[name]
    prefix = "zoom_" if window is not None and f"zoom_{name}" in data else ""   # a finer image of the window
    v = np.asarray(data[prefix + name], dtype=float) * scale
    half = float(window if window is not None else 1.02 * float(data["radius_m"]))
    if data["layout"] == "triangles":
        tri = np.asarray(data["triangles_m"])
        shown = np.all(np.abs(tri).max(axis=2) <= half, axis=1) if window is not None else np.ones(len(v), bool)
    else:
        s = np.linspace(*np.asarray(data[prefix + "extent_m"])[:2], v.shape[1])
        X, Z = np.meshgrid(s, s)
        shown = (np.abs(X) <= half) & (np.abs(Z) <= half)
    finite = v[shown & np.isfinite(v)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if symmetric:
        lo, hi = -max(abs(lo), abs(hi), 1e-12), max(abs(lo), abs(hi), 1e-12)
    elif hi <= lo:
        lo, hi = lo - 1e-12 - 1e-9 * abs(lo), hi + 1e-12 + 1e-9 * abs(hi)
    norm = Normalize(lo, hi)
    um = 1e6
    if data["layout"] == "triangles":   # cells rasterised to pixels: cheaper to draw than 10⁴–10⁵ polygons
        cell = _pixel_cells(data, half)
        image = np.where(cell >= 0, v[np.maximum(cell, 0)], np.nan)
        art = ax.imshow(np.ma.masked_invalid(image), extent=np.array([-half, half, -half, half]) * um, origin="lower",
                        cmap=cmap, norm=norm, interpolation="nearest")
    else:
        art = ax.imshow(np.ma.masked_invalid(v), extent=np.asarray(data[prefix + "extent_m"]) * um, origin="lower",
                        cmap=cmap, norm=norm, interpolation="nearest")
    ax.set_aspect("equal")
    ax.locator_params(nbins=5)         # fewer tick artists: ticks are most of a panel's drawing time
    ax.set_xlim(-half * um, half * um)
    ax.set_ylim(-half * um, half * um)
    ax.set_xlabel("r (µm)" if data["layout"] == "triangles" else "x (µm)")
    ax.set_ylabel("z (µm)")
    ax.set_title(title or label, fontsize=10)
    # a colour bar in an inset of its panel: no gridspec to re-partition (the costly part of colorbar(ax=))
    bar = fig.colorbar(art, cax=ax.inset_axes([1.04, 0.08, 0.05, 0.84]), label=cbar_label)
    bar.locator = MaxNLocator(6)
    for text, (x, y, z) in (markers or {}).items():
        h = np.hypot(x, y) if data["layout"] == "triangles" else x
        if abs(h) <= half and abs(z) <= half:
            m, colour, size = MARKERS.get(text, ("o", "white", 5))
            ax.plot([h * um], [z * um], m, color=colour, markersize=size, markeredgecolor="k", markeredgewidth=0.6)
            ax.annotate(text, (h * um, z * um), xytext=(3, 3), textcoords="offset points", fontsize=6, color=colour)


def _figure(rows: int, columns: int, width: float):
    """A Figure (Agg canvas, no pyplot) with a fixed grid: no layout engine, whose solve costs more than
    the drawing itself."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * columns, 4.2 * rows + 0.5))
    FigureCanvasAgg(fig)
    top = 1.0 - 0.55 / fig.get_figheight()
    fig.subplots_adjust(left=0.9 / fig.get_figwidth(), right=1.0 - 1.2 / fig.get_figwidth(), bottom=0.5 / fig.get_figheight(), top=top,
                        wspace=0.75, hspace=0.35)
    return fig, fig.subplots(rows, columns, squeeze=False)


def plot_section(data: dict, path: Path, *, title: str = "", names=None, zoom: float | None = None,
                 markers: dict | None = None) -> Path:
    """One PNG with a panel per field (Li fraction, hoop, von Mises, σ₁/σ_f where present); with ``zoom`` (m)
    a second row shows |x|, |z| <= zoom (e.g. the void and pores); ``markers``: label -> physical point (m)
    (hot spots, onset). Call on rank 0."""
    names = [n for n in (names or PANELS) if n in data]
    windows = [None] + ([zoom] if zoom else [])
    fig, axes = _figure(len(windows), len(names), 4.6)
    for row, window in zip(axes, windows):
        for ax, name in zip(row, names):
            _draw(ax, fig, data, name, PANELS[name][0] + (" (near the void)" if window else ""), window, markers)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=110)
    return path


def plot_side_by_side(sections: dict[str, dict], path: Path, *, title: str = "",
                      names=("hoop_Pa", "von_mises_Pa"), zoom: float | None = None) -> Path:
    """Rows = runs (label -> section data), columns = fields (and, with ``zoom`` in m, the same fields
    near the centre); each panel with its own MPa colour bar. Call on rank 0."""
    columns = [(n, None) for n in names] + ([(n, zoom) for n in names] if zoom else [])
    fig, axes = _figure(len(sections), len(columns), 4.8)
    for row, (label, data) in zip(axes, sections.items()):
        for ax, (name, window) in zip(row, columns):
            where = f", |r|, |z| <= {window * 1e6:g} µm" if window else ""
            _draw(ax, fig, data, name, f"{label}: {PANELS[name][0]}{where}", window)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=110)
    return path
