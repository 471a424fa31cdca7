"""Paper figures from ``sim run`` result folders, and the style shared by every figure of the toolkit.

* :func:`plot_stress_vs_dod` — hoop, radial and von Mises stress at the probes (the bridge point) and hot
  spots against depth of discharge, several runs overlaid (10C solid, 0.1C dashed), as in Liu 2024 Fig. 5d–e;
* :func:`plot_radial_profiles` — the same stresses along a ray from the particle centre at each saved map
  DOD, as in Liu 2024 Fig. 5f–g (from ``maps/*.npz``).

Style (used by :mod:`sim.lithium.plots` and :mod:`sim.sweep.plots` too): stresses in MPa, or GPa once a
peak reaches 1 GPa; tick labels without offset notation (``ScalarFormatter(useOffset=False)``: a reader
sees 0.4718, never ``1e-5+4.717e-1``); colour bars with ``extend`` arrows where the data leave the colour
range; a mirrored axisymmetric section is drawn on an x axis with the note :data:`MIRRORED_NOTE`
(x = ±r: the left half is the (r, z) solution reflected about the z axis); vector output on request
(``formats=("png", "pdf")``). Equations and sign conventions: ``docs/physics.md`` (M3).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.io import savefig_atomic

MIRRORED_NOTE = "axisymmetric (r, z) section mirrored about the z axis: x = ±r"
REVOLVED_NOTE = "radial (1D) solution revolved about the centre: x, z with x² + z² = r²"
MIDPLANE_NOTE = "mid-plane y = 0 of the 3D particle"
#: stress name (as in summary.json and timeseries.csv) -> label on an axis
STRESS_LABELS = {"hoop": "hoop stress σ_θθ", "radial": "radial stress σ_rr", "von_mises": "von Mises stress",
                 "max_principal": "max principal stress σ₁"}
FORMATS = ("png", "pdf", "svg", "eps")
LINESTYLES = ("-", "--", ":", "-.")


# ------------------------------------------------------------------------------------------- style
_UNIT_TEXT = {"um": "µm", "cm^2/s": "cm²/s", "m^2/s": "m²/s", "degC": "°C", "mol/m^3": "mol/m³", "A/m^2": "A/m²",
              "1/h": "h⁻¹"}


def pretty_unit(unit: str) -> str:
    """A unit as typeset on an axis: ``um`` -> µm, ``cm^2/s`` -> cm²/s (others unchanged)."""
    return _UNIT_TEXT.get(unit, unit)


def stress_scale(values_Pa) -> tuple[float, str]:
    """(factor, unit) to show stresses ``values_Pa`` (Pa): GPa once the largest |value| reaches 1 GPa, else MPa."""
    v = np.abs(np.asarray(values_Pa, dtype=float))
    peak = float(np.nanmax(v)) if v.size and np.isfinite(v).any() else 0.0
    return (1e-9, "GPa") if peak >= 1e9 else (1e-6, "MPa")


def plain_ticks(*axes) -> None:
    """Tick labels of matplotlib ``axes`` (Axis objects, e.g. ``ax.yaxis`` or a colour bar's) without offset."""
    from matplotlib.ticker import ScalarFormatter

    for axis in axes:
        axis.set_major_formatter(ScalarFormatter(useOffset=False))


def extend_for(values, lo: float, hi: float) -> str:
    """The colour bar ``extend`` for ``values`` shown on the range [lo, hi]: an arrow at each clipped end."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    tol = 1e-9 * max(abs(lo), abs(hi), 1e-300)
    low, high = bool(v.size and v.min() < lo - tol), bool(v.size and v.max() > hi + tol)
    return {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}[(low, high)]


def colour_bar(fig, art, cax, label: str, values):
    """A colour bar of ``art`` in ``cax``: ``extend`` arrows where ``values`` leave the norm, at most 6 ticks,
    no offset notation."""
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    norm = art.norm
    bar = fig.colorbar(art, cax=cax, label=label, extend=extend_for(values, norm.vmin, norm.vmax))
    bar.locator = MaxNLocator(6)
    bar.formatter = ScalarFormatter(useOffset=False)
    bar.update_ticks()
    return bar


def new_figure(width: float, height: float):
    """A Figure on an Agg canvas (no pyplot state: safe in workers and notebooks)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def output_paths(path: str | Path, formats=None) -> list[Path]:
    """``path`` with each suffix of ``formats`` (default: ``path``'s own suffix, else png)."""
    path = Path(path)
    formats = tuple(formats) if formats else ((path.suffix.lstrip(".") or "png"),)
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise InputError(f"figure format {bad[0]!r} is not one of {', '.join(FORMATS)}", key="formats")
    return [path.with_suffix(f".{f}") for f in formats]


def save_figure(fig, path: str | Path, formats=None, *, dpi: int = 150, **kw) -> list[Path]:
    """Write ``fig`` to ``path`` in each of ``formats`` (e.g. ``("png", "pdf")``), atomically; return the paths."""
    out = []
    for p in output_paths(path, formats):
        p.parent.mkdir(parents=True, exist_ok=True)
        out.append(savefig_atomic(fig, p, dpi=dpi, **kw))
    return out


def protocol_title(summary: dict) -> str:
    """A title from what was run (``summary["case"]``): parameter set, geometry and the protocol steps as
    run (not the case file's title, which a ``--set`` of the protocol leaves stale), and, for a run that
    stopped early, where it stopped."""
    case = summary.get("case", {})
    head = ", ".join(str(case[k]) for k in ("params", "geometry") if case.get(k))
    steps = "; ".join(case.get("protocol", []))
    title = f"{head}: {steps}" if head and steps else head or steps
    if summary.get("status") not in (None, "completed"):
        final = summary.get("final", {})
        title += f" ({summary.get('status')} at t = {final.get('t_s', float('nan')):.4g} s)"
    return title


def point_label(name: str) -> str:
    """``bridge`` -> "bridge point", ``surface_equator`` -> "surface equator", ``hoop_1`` -> "hoop hot spot 1"."""
    if name == "bridge":
        return "bridge point"
    head, _, tail = name.rpartition("_")
    if tail.isdigit() and head in STRESS_LABELS:
        return f"{head.replace('_', ' ')} hot spot {tail}"
    return name.replace("_", " ")


# ------------------------------------------------------------------------------------------- stress vs DOD
def _point_series(result, quantity: str, point: str):
    """(DOD, stress Pa) of ``quantity`` at probe or hot spot ``point`` of ``result``, or None if not recorded."""
    ts = result.timeseries
    column = f"{quantity}_{point}_Pa"
    if column in ts.columns:
        return np.asarray(ts["dod"], float), np.asarray(ts[column], float)
    hs = result.path / "hotspots.csv"
    if hs.is_file():
        from sim.results import read_table

        table = read_table(hs)
        column = f"{point}_{quantity}_Pa"
        if column in table.columns:
            return np.asarray(table["dod"], float), np.asarray(table[column], float)
    return None


def plot_stress_vs_dod(results: dict, path: str | Path, *, points=("bridge",),
                       quantities=("hoop", "radial", "von_mises"), formats=None, title: str | None = None,
                       twin_ratio: float = 20.0) -> list[Path]:
    """Write :func:`stress_vs_dod_figure` to ``path`` in ``formats`` (e.g. ``("png", "pdf")``); return the files."""
    fig = stress_vs_dod_figure(results, points=points, quantities=quantities, title=title, twin_ratio=twin_ratio)
    return save_figure(fig, path, formats)


def stress_vs_dod_figure(results: dict, *, points=("bridge",), quantities=("hoop", "radial", "von_mises"),
                         title: str | None = None, twin_ratio: float = 20.0):
    """Stress against DOD (%) at ``points`` for every run of ``results`` (label -> :class:`sim.results.Result`).

    One panel per quantity (hoop σ_θθ, radial σ_rr, von Mises; spherical components about the particle
    centre, ``docs/physics.md`` M3); colour = point (a probe such as ``bridge`` from the case's
    ``output.probes``, or a hot spot such as ``max_principal_1``), line style = run. A run whose peak is
    below 1/``twin_ratio`` of the largest (0.1C next to 10C: ~100× less) is drawn on a right-hand axis of
    its own, marked "(right axis)" in the legend. Quantities no run recorded are left out and named in a
    note.
    """
    if not results:
        raise InputError("no results to plot", key="results")
    panels, missing = [], []
    for q in quantities:
        curves = [(label, point, s) for label, r in results.items() for point in points
                  if (s := _point_series(r, q, point)) is not None]
        (panels.append((q, curves)) if curves else missing.append(q))
    if not panels:
        first = next(iter(results.values()))
        raise InputError(f"none of {list(quantities)} recorded at {list(points)}; timeseries columns: "
                         f"{', '.join(c for c in first.timeseries.columns if c.endswith('_Pa'))}",
                         file=str(first.path), key="points")
    fig = new_figure(4.6 * len(panels), 4.2)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    fig.subplots_adjust(left=0.6 / fig.get_figwidth(), right=1 - 0.75 / fig.get_figwidth(), bottom=0.3, top=0.82,
                        wspace=0.45)
    colours = {p: f"C{i}" for i, p in enumerate(points)}
    styles = {label: LINESTYLES[i % len(LINESTYLES)] for i, label in enumerate(results)}
    legend = {}
    for ax, (q, curves) in zip(axes, panels):
        peaks = {label: max(np.nanmax(np.abs(s[1])) for lb, _, s in curves if lb == label)
                 for label in dict.fromkeys(lb for lb, _, _ in curves)}
        top = max(peaks.values())
        small = {lb for lb, pk in peaks.items() if pk * twin_ratio < top}
        right = ax.twinx() if small else None
        sides = ((ax, [c for c in curves if c[0] not in small]), (right, [c for c in curves if c[0] in small]))
        for side, chosen in sides:
            if not chosen:
                continue
            scale, unit = stress_scale(np.concatenate([s[1] for _, _, s in chosen]))
            for label, point, (dod, sigma) in chosen:
                name = label + (" (right axis)" if side is right else "")
                name += f", {point_label(point)}" if len(points) > 1 else ""
                (line,) = side.plot(100 * dod, sigma * scale, styles[label], color=colours[point], lw=1.4)
                legend.setdefault(name, line)
            runs_here = f" — {', '.join(sorted(small))}" if side is right else ""
            side.set_ylabel(f"{STRESS_LABELS.get(q, q)} ({unit}){runs_here}")
            plain_ticks(side.yaxis)
        ax.axhline(0.0, color="0.6", lw=0.6, zorder=0)
        ax.set_xlabel("depth of discharge (%)")
        ax.set_xlim(left=0)
        plain_ticks(ax.xaxis)
    fig.legend(list(legend.values()), list(legend), loc="lower center", bbox_to_anchor=(0.5, 0.05),
               ncol=min(len(legend), 4), fontsize="small", frameon=False)
    where = ", ".join(point_label(p) for p in points)
    runs = "; ".join(f"{label}: {'; '.join(r.summary.get('case', {}).get('protocol', []))}"
                     for label, r in results.items())
    fig.suptitle(title or f"stress at the {where} vs depth of discharge\n{runs}", fontsize=10)
    if missing:
        fig.text(0.01, 0.01, f"not recorded at these points: {', '.join(STRESS_LABELS.get(q, q) for q in missing)}",
                 fontsize=7, color="0.3")
    return fig


# ------------------------------------------------------------------------------------------- radial profiles
def _ray_direction(result, through: str | None, angle_deg: float | None) -> np.ndarray:
    """Unit vector (x, z) of the ray: from ``angle_deg`` off the +z axis, else through probe ``through``."""
    if angle_deg is not None:
        a = np.radians(angle_deg)
        return np.array([np.sin(a), np.cos(a)])
    probes = result.summary.get("probes", {})
    if through in probes:
        x, y, z = probes[through]["position_m"]
        v = np.array([np.hypot(x, y), z])
        if np.linalg.norm(v) > 0:
            return v / np.linalg.norm(v)
    if through is not None and through != "bridge":
        raise InputError(f"no probe {through!r}; probes: {', '.join(probes) or 'none'}", file=str(result.path),
                         key="through")
    return np.array([1.0, 0.0])       # the equator


def plot_radial_profiles(result, path: str | Path, *, quantities=("hoop", "radial", "von_mises"),
                         dods=None, through: str | None = "bridge", angle_deg: float | None = None,
                         n_points: int = 400, formats=None, title: str | None = None) -> list[Path]:
    """Write :func:`radial_profiles_figure` to ``path`` in ``formats``; return the files."""
    fig = radial_profiles_figure(result, quantities=quantities, dods=dods, through=through, angle_deg=angle_deg,
                                 n_points=n_points, title=title)
    return save_figure(fig, path, formats)


def radial_profiles_figure(result, *, quantities=("hoop", "radial", "von_mises"), dods=None,
                           through: str | None = "bridge", angle_deg: float | None = None, n_points: int = 400,
                           title: str | None = None):
    """Stresses along a ray from the particle centre to its surface at several DODs, one panel per quantity.

    The ray runs through the probe ``through`` (default the bridge point: along the axis through the void,
    the bridge and the pore in Liu 2024) or at ``angle_deg`` from the +z axis; with neither, along the
    equator. Values come from the saved maps (``maps/*.npz``, nodal values interpolated linearly; gaps
    where the ray crosses the void or a pore, shaded grey); ``dods`` (fractions) picks maps, default all.
    """
    from sim.lithium.plots import sample_ray

    maps = sorted(result.maps, key=lambda m: m["dod"])
    if dods is not None:
        maps = sorted({id(m): m for m in (min(maps, key=lambda m: abs(m["dod_target"] - d)) for d in dods)}.values(),
                      key=lambda m: m["dod"]) if maps else []
    if not maps:
        raise InputError("no maps saved (set output.maps_at_dod in the case)", file=str(result.path))
    direction = _ray_direction(result, through, angle_deg)
    sections = [(m, result.map(m["dod_target"])) for m in maps]
    radius = float(sections[0][1]["radius_m"])
    s = np.linspace(0.0, radius, n_points)
    present = [q for q in quantities if any(f"{q}_Pa" in d for _, d in sections)]
    if not present:
        raise InputError(f"the maps hold none of {list(quantities)}", file=str(result.path), key="quantities")
    fig = new_figure(4.2 * len(present), 3.8)
    axes = fig.subplots(1, len(present), squeeze=False)[0]
    fig.subplots_adjust(left=0.6 / fig.get_figwidth(), right=1 - 0.2 / fig.get_figwidth(), bottom=0.25, top=0.84,
                        wspace=0.32)
    colours = _sequential(len(sections))
    for ax, q in zip(axes, present):
        profiles = [(m, sample_ray(d, f"{q}_Pa", direction, s)) for m, d in sections if f"{q}_Pa" in d]
        scale, unit = stress_scale(np.concatenate([v for _, v in profiles]))
        for (m, v), colour in zip(profiles, colours):
            ax.plot(s * 1e6, v * scale, color=colour, lw=1.4, label=f"DOD {100 * m['dod']:.3g} %")
        for a, b in _gaps(s, profiles[-1][1]):     # the ray crosses the void or a pore
            ax.axvspan(a * 1e6, b * 1e6, color="0.9", lw=0, zorder=0)
        ax.axhline(0.0, color="0.6", lw=0.6, zorder=0)
        ax.set_xlabel("distance from the centre (µm)")
        ax.set_ylabel(f"{STRESS_LABELS.get(q, q)} ({unit})")
        ax.set_xlim(0, radius * 1e6)
        plain_ticks(ax.xaxis, ax.yaxis)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.02), ncol=min(len(labels), 6),
               fontsize="small", frameon=False)
    ray = f"{np.degrees(np.arctan2(direction[0], direction[1])):.0f}° from the +z axis"
    if angle_deg is None and through in result.summary.get("probes", {}):
        ray += f", through the {point_label(through)}"
    fig.suptitle(title or f"{protocol_title(result.summary)}\nalong the ray {ray} (grey: void or pore)", fontsize=10)
    return fig


def redraw_maps(result, folder: str | Path | None = None, *, formats=("png", "pdf"), limits: dict | None = None,
                zoom: float | None = None) -> list[Path]:
    """Redraw every saved map of ``result`` (``maps/*.npz``) with its hot spots, probes and onset marked,
    into ``folder`` (default: the result's ``maps/``) in ``formats``; ``limits``: name -> (lo, hi) in SI,
    e.g. one colour range for several runs; ``zoom`` (m): half-width of the close-up row. Returns the files."""
    from sim.lithium.plots import load_section, section_figure

    s = result.summary
    markers = {h["name"]: h["position_m"] for h in s.get("hot_spots", [])}
    onset = (s.get("fracture") or {}).get("onset")
    if onset and onset.get("position_m") is not None:
        markers["onset"] = onset["position_m"]
    probes = {k: v["position_m"] for k, v in s.get("probes", {}).items()}
    folder = Path(folder) if folder else result.path / "maps"
    out = []
    for m in result.maps:
        data = load_section(result.path / m["data"])
        fig = section_figure(data, title=f"{protocol_title(s)}: DOD {100 * m['dod']:.3g} %, t = {m['t_s']:.4g} s",
                             zoom=zoom, markers=markers, probes=probes, limits=limits)
        out += save_figure(fig, folder / Path(m["data"]).with_suffix(".png").name, formats, dpi=110)
    return out


def _gaps(s: np.ndarray, v: np.ndarray) -> list[tuple[float, float]]:
    """Stretches of ``s`` where ``v`` is NaN (outside the solid), as (start, end) pairs."""
    out, start = [], None
    for a, missing in zip(s, ~np.isfinite(v)):
        if missing and start is None:
            start = a
        elif not missing and start is not None:
            out.append((start, a))
            start = None
    return out + ([(start, s[-1])] if start is not None else [])


def _sequential(n: int) -> list:
    """``n`` colours from light to dark (early to late DOD)."""
    from matplotlib import colormaps

    return [colormaps["viridis"](v) for v in np.linspace(0.85, 0.1, n)] if n > 1 else ["C0"]
