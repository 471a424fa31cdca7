"""Benchmark of the sweep layer: cases per hour with 1 and 2 local workers, and its per-case overhead.

Runs ``--cases`` copies of the small 2D axisymmetric lithium case (``bridge_case.toml``, C-rates
spread over 2-10C) with ``sim.sweep.run_sweep`` and prints a Markdown table:

- cases/h: cases / sweep wall time (including cluster start-up and shutdown);
- case wall: mean of the runners' own ``wall_time_s`` (summary.json);
- overhead/case: sweep wall x workers / cases - case wall (worker-seconds per case spent outside
  the case: process start, imports, JIT look-ups, scheduling, writing the table).

    python validation/sweeps/bench_sweep.py [--cases 4] [--workers 1 2]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from sim.sweep import run_sweep

CASE = Path(__file__).resolve().parent / "bridge_case.toml"


def bench(cases: int, workers: int, root: Path) -> dict:
    sweep = root / f"bench_{workers}.toml"
    sweep.write_text(f'[sweep]\ncase = "{CASE}"\n[axes]\n"protocol[0].c_rate" = {{ linear = [2.0, 10.0], num = {cases} }}\n')
    report = run_sweep(sweep, root / f"out_{workers}", workers=workers, progress=False)
    table = pd.read_parquet(report.table.with_suffix(".parquet"))
    if report.ok != cases:
        raise SystemExit(f"bench: {report.failed} cases failed: {list(table['status'])}")
    case_wall = float(table["case.wall_time_s"].mean())
    return {"workers": workers, "cases": cases, "sweep wall (s)": report.wall_time_s,
            "cases/h": cases / report.wall_time_s * 3600, "case wall (s)": case_wall,
            "overhead/case (worker-s)": report.wall_time_s * workers / cases - case_wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [bench(args.cases, n, Path(tmp)) for n in args.workers]
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()) + " |")


if __name__ == "__main__":  # Dask starts worker processes by spawning: keep the guard
    main()
