"""Sweep plots: a quantity vs one axis (one line per value of a second axis) and a heat map over two axes.

What is drawn comes from the sweep file's ``[plot]`` table: ``quantities`` (table columns; default:
every numeric quantity of the summaries), ``x`` and ``hue`` (axis keys; default: the first two axes
with more than one value) and ``xscale`` ("linear" or "log"; default: log for a log-spaced axis).
Further axes with several values give one figure per combination (``..._<axis>=<value>.png``).
Only ``ok`` cases are drawn; a quantity with the same value in every one of them is not drawn
(:func:`constant_quantities`; a line at one height says nothing).

Labels are written from the axis definitions and the column names, with units: the axis
``protocol[0].c_rate`` is "C-rate (h⁻¹)", ``geometry.void_radius`` in um is "void radius (µm)"; the
column ``probes.bridge.maxima.hoop_Pa.value`` is "max hoop stress at the bridge point (MPa)", drawn in
MPa (GPa from 1 GPa). Figures carry the sweep file's ``[sweep] title``; ``formats=("png", "pdf")`` adds
vector copies.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.lithium.figures import STRESS_LABELS, new_figure, plain_ticks, pretty_unit, save_figure, stress_scale
from sim.sweep.spec import Axis, Sweep
from sim.sweep.table import OWN_COLUMNS

#: last segment of an axis key -> its name on an axis
KEY_NAMES = {"c_rate": "C-rate", "diffusivity": "D_O", "cycles": "cycles", "void_radius": "void radius",
             "particle_radius": "particle radius", "fit_offset": "fit offset", "profile": "profile file"}
#: column stem (unit suffix and qualifier removed) -> its name on an axis
QUANTITY_NAMES = {**STRESS_LABELS, "max_principal_over_strength": "σ₁ / σ_f", "g_max_over_g_c": "G_max / G_c",
                  "critical_c_rate": "critical C-rate", "o_loss": "O loss", "D_O": "D_O",
                  "delta_aic_core_shell_minus_diffusion": "ΔAIC (core–shell − diffusion)",
                  "surface_mn3_fraction": "surface Mn³⁺ fraction", "cracks": "cracks", "soc": "SOC", "dod": "DOD",
                  "potential": "potential"}
_QUALIFIERS = {"maxima": "max", "minima": "min", "final": "final"}
_GROUPS = ("models", "fracture")        # summary sections that add nothing to a label
_TRAILING = {"max": "max", "min": "min", "final": "final"}


def _label(axis: Axis) -> str:
    """An axis from its definition: readable name of the key's last segment, unit as typeset."""
    leaf = re.sub(r"\[\d+\]", "", axis.key.rsplit(".", 1)[-1])
    name = KEY_NAMES.get(leaf, leaf.replace("_", " "))
    unit = axis.unit or ("h⁻¹" if leaf == "c_rate" else "")
    return f"{name} ({pretty_unit(unit)})" if unit else name


def quantity_label(column: str, values=()) -> tuple[str, float]:
    """(label with unit, factor to multiply the column by) of a results-table column.

    ``probes.bridge.maxima.hoop_Pa.value`` -> ("max hoop stress σ_θθ at the bridge point (MPa)", 1e-6);
    ``o_loss_at_pct_final`` -> ("final O loss (at.%)", 1); stresses are shown in MPa or GPa
    (:func:`sim.lithium.figures.stress_scale` of ``values``).
    """
    from sim.results import SUFFIX_UNITS

    parts = column.split(".")
    if parts[-1] == "value" and len(parts) > 1:
        parts = parts[:-1]
    leaf, context = parts[-1], parts[:-1]
    words = [_QUALIFIERS[c] for c in context if c in _QUALIFIERS]
    head, _, tail = leaf.rpartition("_")
    if head and tail in _TRAILING:
        leaf, words = head, words + [_TRAILING[tail]]
    unit = next((u for suffix, u in SUFFIX_UNITS.items() if leaf.endswith(suffix) and len(leaf) > len(suffix)), "")
    if unit:
        leaf = leaf[: -len(next(s for s, u in SUFFIX_UNITS.items() if u == unit and leaf.endswith(s)))]
    name = QUANTITY_NAMES.get(leaf, leaf.replace("_", " "))
    probe = context[context.index("probes") + 1] if "probes" in context[:-1] else None
    where = "" if probe is None else " at the bridge point" if probe == "bridge" else f" at {probe.replace('_', ' ')}"
    rest = [c.replace("_", " ") for c in context if c not in _QUALIFIERS and c not in ("probes", probe, *_GROUPS)]
    label = " ".join(words + [name]) + where + (f", {' '.join(rest)}" if rest else "")
    factor = 1.0
    if unit == "Pa":
        factor, unit = stress_scale(values)
    return (f"{label} ({pretty_unit(unit)})" if unit else label), factor


def _fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, (float, np.floating)) else Path(str(v)).name


def constant_quantities(df: pd.DataFrame, quantities) -> list[str]:
    """Those of ``quantities`` with one value (to 1e-12 relative, NaN ignored) over the ``ok`` rows of ``df``."""
    ok = df[df["status"] == "ok"]
    out = []
    for q in quantities:
        v = pd.to_numeric(ok[q], errors="coerce").to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if v.size == 0 or np.ptp(v) <= 1e-12 * np.max(np.abs(v)):
            out.append(q)
    return out


def choose(sweep: Sweep, df: pd.DataFrame) -> tuple[list[str], Axis | None, Axis | None]:
    """(quantities, x axis, hue axis) from ``[plot]`` or the defaults above; constant quantities left out,
    and by default also columns that repeat an axis (``cycles`` next to ``protocol.cycles``) and run times."""
    by_key = {a.key: a for a in sweep.axes}
    inputs = {a.column for a in sweep.axes}
    numeric = [c for c in df.columns if c not in OWN_COLUMNS and c not in inputs
               and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    if not (df["status"] == "ok").any():
        return [], None, None       # nothing to draw (and no summary columns to check names against)
    if "quantities" not in sweep.plot:      # by default not the inputs again, nor the run times
        axes_values = [pd.to_numeric(df[c], errors="coerce").to_numpy(float) for c in inputs if c in df.columns]
        numeric = [c for c in numeric if not c.endswith("wall_time_s")
                   and not any(np.allclose(pd.to_numeric(df[c], errors="coerce").to_numpy(float), v, rtol=1e-9,
                                           atol=0.0, equal_nan=True) for v in axes_values)]
    quantities = sweep.plot.get("quantities", numeric)
    missing = [q for q in quantities if q not in df.columns]
    if missing:
        raise InputError(f"no table column(s) {missing}; numeric columns are: {', '.join(numeric)}",
                         file=str(sweep.file), key="plot.quantities")
    constant = set(constant_quantities(df, quantities))
    quantities = [q for q in quantities if q not in constant]
    varying = [a for a in sweep.axes if len(a.values) > 1]
    x = by_key.get(sweep.plot.get("x")) or (varying[0] if varying else None)
    hue = by_key.get(sweep.plot.get("hue")) or next((a for a in varying if a is not x), None)
    if sweep.combine == "zip":
        hue = None  # zipped axes move together: there is no second independent axis
    return quantities, x, hue


def _index(axis: Axis, shown) -> np.ndarray:
    """Position of each table value in the axis (works for numeric and categorical axes)."""
    values = [axis.display(i) for i in range(len(axis.values))]
    return np.array([values.index(v) for v in shown], dtype=int)


def _ticks(axis: Axis) -> list[str]:
    return [_fmt(axis.display(i)) for i in range(len(axis.values))]


def _line_plot(rows: pd.DataFrame, q: str, x: Axis, hue: Axis | None, xscale: str, title: str,
               path: Path, formats) -> list[Path]:
    label, factor = quantity_label(q, rows[q])
    fig = new_figure(6, 4)
    ax = fig.subplots()
    for h in range(len(hue.values)) if hue else [None]:
        sel = rows if h is None else rows[rows[hue.column] == hue.display(h)]
        idx = _index(x, sel[x.column])
        order = np.argsort(idx)
        xs = np.asarray(x.numbers)[idx] if x.numbers is not None else idx
        ax.plot(xs[order], factor * np.asarray(sel[q], dtype=float)[order], "o-",
                label=None if h is None else f"{_label(hue)} = {_fmt(hue.display(h))}")
    if x.numbers is None:
        ax.set_xticks(range(len(x.values)), _ticks(x), rotation=30, ha="right")
    if xscale == "log":
        ax.set_xscale("log")
    else:
        plain_ticks(ax.xaxis)
    plain_ticks(ax.yaxis)
    ax.set(xlabel=_label(x), ylabel=label, title=title)
    ax.title.set_fontsize(10)
    if hue:
        ax.legend(fontsize="small")
    return save_figure(fig, path, formats, dpi=120, bbox_inches="tight")


def _heat_map(rows: pd.DataFrame, q: str, x: Axis, hue: Axis, title: str, path: Path, formats) -> list[Path]:
    label, factor = quantity_label(q, rows[q])
    grid = np.full((len(hue.values), len(x.values)), np.nan)
    grid[_index(hue, rows[hue.column]), _index(x, rows[x.column])] = factor * np.asarray(rows[q], dtype=float)
    fig = new_figure(6, 4)
    ax = fig.subplots()
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    for (j, i), v in np.ndenumerate(grid):
        if np.isfinite(v):  # dark text on the bright end of viridis
            ax.text(i, j, f"{v:.3g}", ha="center", va="center", fontsize="small",
                    color="k" if image.norm(v) > 0.6 else "w")
    ax.set_xticks(range(len(x.values)), _ticks(x), rotation=30, ha="right")
    ax.set_yticks(range(len(hue.values)), _ticks(hue))
    ax.set(xlabel=_label(x), ylabel=_label(hue), title=title)
    ax.title.set_fontsize(10)
    bar = fig.colorbar(image, ax=ax, label=label)
    plain_ticks(bar.ax.yaxis)
    return save_figure(fig, path, formats, dpi=120, bbox_inches="tight")


def sweep_title(sweep: Sweep) -> str:
    """The ``[sweep] title`` of the sweep file, or its name."""
    from sim.io import read_toml

    try:
        title = read_toml(sweep.file).get("sweep", {}).get("title")
    except (OSError, ValueError):
        title = None
    return str(title) if title else Path(sweep.file).stem


def plot_sweep(sweep: Sweep, df: pd.DataFrame, out_dir: Path, *, formats=None) -> list[Path]:
    """Write the figures into ``out_dir`` (PNG; ``formats`` e.g. ``("png", "pdf")``); return their paths."""
    quantities, x, hue = choose(sweep, df)
    if x is None:
        return []
    xscale = sweep.plot.get("xscale", x.scale if x.numbers is not None else "linear")
    out_dir.mkdir(parents=True, exist_ok=True)
    ok = df[df["status"] == "ok"]
    rest = [a for a in sweep.axes if a not in (x, hue) and len(a.values) > 1] if sweep.combine == "cartesian" else []
    head = sweep_title(sweep)
    written = []
    for fixed in itertools.product(*(range(len(a.values)) for a in rest)):
        rows = ok
        for a, i in zip(rest, fixed):
            rows = rows[rows[a.column] == a.display(i)]
        suffix = "".join(f"_{a.key}={_fmt(a.display(i))}" for a, i in zip(rest, fixed))
        where = ", ".join(f"{_label(a)} = {_fmt(a.display(i))}" for a, i in zip(rest, fixed))
        title = f"{head}\n{where}" if where else head
        for q in quantities:
            line, heat = (re.sub(r"[^A-Za-z0-9_.=+-]", "_", f"{q}{suffix}_{kind}") + ".png"
                          for kind in (f"vs_{x.key}", "map"))
            written += _line_plot(rows, q, x, hue, xscale, title, out_dir / line, formats)
            if hue is not None:
                written += _heat_map(rows, q, x, hue, title, out_dir / heat, formats)
    return written
