"""``sim sweep SWEEP.toml --out DIR [--workers N] [--scheduler ADDRESS] [--plot]``."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a parameter sweep of a case in parallel (Dask), resumable, into one table")
    p.add_argument("sweep", help="sweep file (TOML): [sweep] case = base case, [axes] key = values")
    p.add_argument("--out", required=True, help="results folder; re-run the same command to resume")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: number of cores; ignored with --scheduler)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing Dask cluster, e.g. tcp://host:8786 (it must see --out at the same path)")
    p.add_argument("--plot", action="store_true", help="draw plots (also done when the sweep file has [plot])")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from sim.sweep.driver import run_sweep

    try:
        report = run_sweep(args.sweep, args.out, workers=args.workers, scheduler=args.scheduler,
                           progress=not args.no_progress, plot=args.plot)
    except KeyboardInterrupt:
        print(f"sim sweep: interrupted; finished cases are kept in {args.out}, re-run the same command to resume")
        raise
    print(f"sim sweep: {report.total} cases: {report.ok} ok, {report.failed} failed"
          + (f", {report.pending} not run" if report.pending else "")
          + f" ({report.ran} run now) in {report.wall_time_s:.1f} s; table: {report.table} (+ .parquet)")
    if report.failed:
        print("sim sweep: failed cases are listed in the status column; re-run the same command to retry them")
    return 1 if report.failed or report.pending else 0
