"""Seeds × porosity of random pore packings → the distribution of the maximum hoop stress (``sim microstructure --sweep``).

The shipped sweep ``validation/sweeps/microstructure_hoop.toml`` runs its base case (3D, 10C discharge
from the charged state) once per parameter set ``microstructures/phi<porosity>_seed<seed>.toml`` (made
by ``validation/sweeps/make_microstructures.py``; each case meshes its own packing). :func:`run` hands it
to :func:`sim.sweep.driver.run_sweep` (Dask, resumable) and :func:`write_distribution` turns the sweep's
results table into, per porosity, the spread over seeds that one idealised particle cannot give:

- ``distribution_cases.csv``: one row per packing (porosity, seed, max hoop stress with its DOD and the
  boundary nearest to its hot spot, max σ₁/σ_f, onset DOD when σ₁ reaches σ_f);
- ``distribution.csv`` and ``distribution.md``: per porosity the number of packings, mean, sample
  standard deviation, min and max of the max hoop stress and of max σ₁/σ_f, and how many crack;
- ``distribution.png``: each packing a dot, the mean ± one standard deviation per porosity.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from sim.errors import InputError

SWEEP = "microstructure_hoop"
_PACKING = re.compile(r"phi(?P<porosity>[0-9.eE+-]+)_seed(?P<seed>\d+)")
HOOP, RATIO, ONSET = "maxima.hoop_Pa.value", "fracture.max_principal_over_strength_max", "fracture.onset.dod"


def _hot_spot_boundary(case_dir: Path) -> str | None:
    """Nearest boundary of the hoop hot spot of highest stress (from the case's summary.json), or None."""
    try:
        summary = json.loads((case_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    spots = [s for s in summary.get("hot_spots", []) if s.get("stress") == "hoop"]
    return max(spots, key=lambda s: s["value_Pa"]).get("nearest_boundary") if spots else None


def packing_table(sweep_out: Path):
    """One row per finished (ok) case of the sweep results in ``sweep_out``, sorted by porosity and seed."""
    import pandas as pd

    table = sweep_out / "results.parquet"
    if not table.is_file():
        raise InputError("no sweep results table (results.parquet) here; run the sweep first", file=str(sweep_out))
    df = pd.read_parquet(table)
    ok = df[df["status"] == "ok"]
    if ok.empty:
        raise InputError(f"no case finished ok ({len(df)} cases; see the status column of results.csv)",
                         file=str(sweep_out))
    rows = []
    for _, case in ok.iterrows():
        match = _PACKING.search(str(case["params"]))
        if match is None:
            raise InputError(f"parameter file {case['params']!r} is not named phi<porosity>_seed<seed>",
                             file=str(table), key="params")
        onset = case.get(ONSET)
        rows.append({"porosity": float(match["porosity"]), "seed": int(match["seed"]),
                     "max_hoop_MPa": case[HOOP] / 1e6, "max_hoop_dod": case.get("maxima.hoop_Pa.dod", math.nan),
                     "hoop_hot_spot_near": _hot_spot_boundary(sweep_out / "cases" / case["case_id"]),
                     "max_principal_over_strength": case.get(RATIO, math.nan),
                     "onset_dod": math.nan if onset is None else float(onset),
                     "cells": case.get("mesh.cells", math.nan), "wall_time_s": case["wall_time_s"]})
    return pd.DataFrame(rows).sort_values(["porosity", "seed"], ignore_index=True)


def distribution(packings):
    """Per porosity: packings, mean / std (ddof 1) / min / max of the max hoop stress and max σ₁/σ_f, cracked."""
    import pandas as pd

    rows = []
    for phi, group in packings.groupby("porosity"):
        hoop, ratio = group["max_hoop_MPa"].to_numpy(), group["max_principal_over_strength"].to_numpy()
        onset = group["onset_dod"].dropna().to_numpy()
        rows.append({"porosity": phi, "packings": len(group),
                     "max_hoop_mean_MPa": hoop.mean(), "max_hoop_std_MPa": hoop.std(ddof=1) if len(hoop) > 1 else math.nan,
                     "max_hoop_min_MPa": hoop.min(), "max_hoop_max_MPa": hoop.max(),
                     "ratio_mean": ratio.mean(), "ratio_min": ratio.min(), "ratio_max": ratio.max(),
                     "cracked": len(onset), "onset_dod_mean": onset.mean() if len(onset) else math.nan})
    return pd.DataFrame(rows)


def _markdown(dist, packings) -> str:
    from sim.io import MarkdownTable

    table = MarkdownTable(["porosity", "packings", "max hoop σ_θθ (MPa): mean ± std", "min – max",
                           "max σ₁/σ_f: mean (min – max)", "reach σ_f", "onset DOD"])
    for r in dist.itertuples():
        spread = "" if math.isnan(r.max_hoop_std_MPa) else f" ± {r.max_hoop_std_MPa:.1f}"
        table.add(f"{r.porosity * 100:.3g} %", r.packings, f"{r.max_hoop_mean_MPa:.1f}{spread}",
                  f"{r.max_hoop_min_MPa:.1f} – {r.max_hoop_max_MPa:.1f}",
                  f"{r.ratio_mean:.3f} ({r.ratio_min:.3f} – {r.ratio_max:.3f})", f"{r.cracked} of {r.packings}",
                  None if math.isnan(r.onset_dod_mean) else f"{r.onset_dod_mean * 100:.3g} %")
    near = packings["hoop_hot_spot_near"].fillna("?").value_counts()
    return table.render() + "\n\nhoop hot spot nearest to: " + ", ".join(f"{n} ({c})" for n, c in near.items()) + "\n"


def _figure(packings, dist, path: Path) -> Path:
    from sim.lithium.figures import new_figure, save_figure

    fig = new_figure(8.0, 3.4)
    axes = fig.subplots(1, 2)
    for ax, column, mean, spread, label in (
            (axes[0], "max_hoop_MPa", "max_hoop_mean_MPa", "max_hoop_std_MPa", "max hoop stress σ_θθ (MPa)"),
            (axes[1], "max_principal_over_strength", "ratio_mean", None, "max σ₁ / σ_f")):
        x = packings["porosity"].to_numpy() * 100
        ax.scatter(x, packings[column], s=18, color="tab:blue", zorder=3, label="one packing (seed)")
        std = dist[spread].fillna(0) if spread else None
        ax.errorbar(dist["porosity"] * 100, dist[mean], yerr=std, fmt="_", ms=18, color="k", capsize=4,
                    label="mean ± std" if spread else "mean")
        ax.set_xlabel("porosity (%)")
        ax.set_ylabel(label)
        ax.set_xticks(sorted(set(np.round(x, 6))))
        ax.grid(alpha=0.3)
    axes[1].axhline(1.0, color="tab:red", lw=0.8, ls="--", label="σ₁ = σ_f")
    axes[1].legend(fontsize=7)
    fig.suptitle("random pore packings, 3D, 10C from the charged state: spread over seeds", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)[0]


def write_distribution(sweep_out: str | Path) -> dict[str, Path]:
    """Write the per-packing table, the per-porosity distribution (CSV, Markdown) and the figure into
    ``sweep_out`` (a finished ``sim sweep`` of :data:`SWEEP`); returns the paths."""
    from sim.io import write_atomic, write_text_atomic

    out = Path(sweep_out)
    packings = packing_table(out)
    dist = distribution(packings)
    paths = {"cases": write_atomic(out / "distribution_cases.csv", lambda t: packings.to_csv(t, index=False)),
             "csv": write_atomic(out / "distribution.csv", lambda t: dist.to_csv(t, index=False)),
             "md": write_text_atomic(out / "distribution.md", _markdown(dist, packings))}
    paths["png"] = _figure(packings, dist, out / "distribution.png")
    return paths


def run(out: str | Path, *, sweep: str | None = None, workers: int | None = None, progress: bool = True) -> int:
    """``sim microstructure --sweep [SWEEP] --out DIR``: run the sweep (default the shipped :data:`SWEEP`),
    then :func:`write_distribution`; prints the Markdown table. Exit status 1 if a case failed."""
    from sim import resources
    from sim.sweep.driver import run_sweep

    path = Path(sweep) if sweep and (sweep.endswith(".toml") or Path(sweep).exists()) else resources.sweep(sweep or SWEEP)
    report = run_sweep(path, out, workers=workers, progress=progress)
    print(f"sim microstructure --sweep: {report.total} cases: {report.ok} ok, {report.failed} failed "
          f"({report.ran} run now) in {report.wall_time_s:.1f} s; table {report.table}")
    paths = write_distribution(report.out_dir)
    print(paths["md"].read_text(), end="")
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 1 if report.failed or report.pending else 0
