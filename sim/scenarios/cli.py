"""``sim scenario CASE.toml --out DIR [--quick]``: run a paper scenario from ``validation/scenarios/``."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("scenario", help="run a paper scenario (GITT, thermal relaxation, aged vs fresh, "
                                        "secondary->primary coupling) from a case file")
    p.add_argument("case", help="scenario case file, e.g. validation/scenarios/gitt_li2019.toml "
                                "(or its name without .toml)")
    p.add_argument("--out", required=True, help="results folder (replaced atomically when the run finishes)")
    p.add_argument("--quick", action="store_true", help="shortened protocol on a coarse mesh ([quick] table)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from sim.scenarios import CASES_DIR, run_scenario

    from sim.case import check_out

    check_out(args.out, overwrite=True)      # a results folder this toolkit wrote is replaced at the end
    case = Path(args.case)
    if not case.exists() and (CASES_DIR / f"{args.case}.toml").exists():
        case = CASES_DIR / f"{args.case}.toml"
    summary = run_scenario(case, args.out, quick=args.quick)
    print(f"scenario '{summary['scenario']}' finished in {summary['wall_time_s']:.1f} s; results in {args.out}/")
    return 0
