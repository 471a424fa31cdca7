"""Sweep plots: a quantity vs one axis (one line per value of a second axis) and a heat map over two axes.

What is drawn comes from the sweep file's ``[plot]`` table: ``quantities`` (table columns; default:
every numeric quantity of the summaries), ``x`` and ``hue`` (axis keys; default: the first two axes
with more than one value) and ``xscale`` ("linear" or "log"; default: log for a log-spaced axis).
Further axes with several values give one figure per combination (``..._<axis>=<value>.png``).
Only ``ok`` cases are drawn.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.io import savefig_atomic
from sim.sweep.spec import Axis, Sweep
from sim.sweep.table import OWN_COLUMNS


def _label(axis: Axis) -> str:
    return f"{axis.key} ({axis.unit})" if axis.unit else axis.key


def _fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, (float, np.floating)) else Path(str(v)).name


def _save(fig, path: Path) -> Path:
    return savefig_atomic(fig, path, dpi=120, bbox_inches="tight")


def choose(sweep: Sweep, df: pd.DataFrame) -> tuple[list[str], Axis | None, Axis | None]:
    """(quantities, x axis, hue axis) from ``[plot]`` or the defaults above."""
    by_key = {a.key: a for a in sweep.axes}
    inputs = {a.column for a in sweep.axes}
    numeric = [c for c in df.columns if c not in OWN_COLUMNS and c not in inputs
               and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    if not (df["status"] == "ok").any():
        return [], None, None       # nothing to draw (and no summary columns to check names against)
    quantities = sweep.plot.get("quantities", numeric)
    missing = [q for q in quantities if q not in df.columns]
    if missing:
        raise InputError(f"no table column(s) {missing}; numeric columns are: {', '.join(numeric)}",
                         file=str(sweep.file), key="plot.quantities")
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


def _line_plot(plt, rows: pd.DataFrame, q: str, x: Axis, hue: Axis | None, xscale: str, title: str,
               path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    for h in range(len(hue.values)) if hue else [None]:
        sel = rows if h is None else rows[rows[hue.column] == hue.display(h)]
        idx = _index(x, sel[x.column])
        order = np.argsort(idx)
        xs = np.asarray(x.numbers)[idx] if x.numbers is not None else idx
        ax.plot(xs[order], np.asarray(sel[q], dtype=float)[order], "o-", label=None if h is None else f"{_label(hue)} = {_fmt(hue.display(h))}")
    if x.numbers is None:
        ax.set_xticks(range(len(x.values)), _ticks(x), rotation=30, ha="right")
    if xscale == "log":
        ax.set_xscale("log")
    ax.set(xlabel=_label(x), ylabel=q, title=title)
    if hue:
        ax.legend(fontsize="small")
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def _heat_map(plt, rows: pd.DataFrame, q: str, x: Axis, hue: Axis, title: str, path: Path) -> Path:
    grid = np.full((len(hue.values), len(x.values)), np.nan)
    grid[_index(hue, rows[hue.column]), _index(x, rows[x.column])] = np.asarray(rows[q], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    for (j, i), v in np.ndenumerate(grid):
        if np.isfinite(v):  # dark text on the bright end of viridis
            ax.text(i, j, f"{v:.3g}", ha="center", va="center", fontsize="small",
                    color="k" if image.norm(v) > 0.6 else "w")
    ax.set_xticks(range(len(x.values)), _ticks(x), rotation=30, ha="right")
    ax.set_yticks(range(len(hue.values)), _ticks(hue))
    ax.set(xlabel=_label(x), ylabel=_label(hue), title=title)
    fig.colorbar(image, ax=ax, label=q)
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def plot_sweep(sweep: Sweep, df: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write the PNGs into ``out_dir``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    quantities, x, hue = choose(sweep, df)
    if x is None:
        return []
    xscale = sweep.plot.get("xscale", x.scale if x.numbers is not None else "linear")
    out_dir.mkdir(parents=True, exist_ok=True)
    ok = df[df["status"] == "ok"]
    rest = [a for a in sweep.axes if a not in (x, hue) and len(a.values) > 1] if sweep.combine == "cartesian" else []
    written = []
    for fixed in itertools.product(*(range(len(a.values)) for a in rest)):
        rows = ok
        for a, i in zip(rest, fixed):
            rows = rows[rows[a.column] == a.display(i)]
        suffix = "".join(f"_{a.key}={_fmt(a.display(i))}" for a, i in zip(rest, fixed))
        title = ", ".join(f"{_label(a)} = {_fmt(a.display(i))}" for a, i in zip(rest, fixed))
        for q in quantities:
            line, heat = (re.sub(r"[^A-Za-z0-9_.=+-]", "_", f"{q}{suffix}_{kind}") + ".png"
                          for kind in (f"vs_{x.key}", "map"))
            written.append(_line_plot(plt, rows, q, x, hue, xscale, title, out_dir / line))
            if hue is not None:
                written.append(_heat_map(plt, rows, q, x, hue, title, out_dir / heat))
    return written
