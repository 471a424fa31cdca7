"""``sim scenario CASE.toml --out DIR [--quick]``: run a paper scenario from ``validation/scenarios/``."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("scenario", help="run a paper scenario (GITT, thermal relaxation, aged vs fresh, "
                                        "secondary->primary coupling, cracking, fatigue) from a case file")
    p.add_argument("case", help="scenario case file, e.g. validation/scenarios/gitt_li2019.toml "
                                "(or its name without .toml)")
    p.add_argument("--out", required=True, help="results folder (replaced atomically when the run finishes)")
    p.add_argument("--quick", action="store_true", help="shortened protocol on a coarse mesh ([quick] table)")
    p.add_argument("--3d", dest="three_d", action="store_true",
                   help="3D variant with off-axis pores (cracking_liu2024; slow, run under mpiexec -n 2)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from sim.scenarios import CASES_DIR, run_scenario

    from sim.case import check_out

    check_out(args.out, overwrite=True)      # a results folder this toolkit wrote is replaced at the end
    case = Path(args.case)
    if not case.exists() and (CASES_DIR / f"{args.case}.toml").exists():
        case = CASES_DIR / f"{args.case}.toml"
    summary = run_scenario(case, args.out, quick=args.quick, settings={"geometry": "3d"} if args.three_d else None)
    print(f"scenario '{summary['scenario']}' finished in {summary['wall_time_s']:.1f} s; results in {args.out}/")
    return 0
