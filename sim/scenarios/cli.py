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
    line = result_line(summary)
    if line:
        print(line)
    print(f"scenario '{summary['scenario']}' finished in {summary['wall_time_s']:.1f} s; results in {args.out}/")
    return 0


def result_line(summary: dict) -> str | None:
    """The scenario's headline result in one line (cracking and fatigue print their own while they run)."""
    kind = summary.get("scenario")
    if kind == "gitt":
        parts = [f"{name} {p['median_ratio_WH_R3_to_input']:.3g}" for name, p in summary.get("particles", {}).items()
                 if p.get("median_ratio_WH_R3_to_input") is not None]
        return "GITT: median Weppner–Huggins D / input D (L = R/3): " + ", ".join(parts) if parts else None
    if kind == "thermal":
        parts = [f"rest at {label.replace('C', ' °C')}: surface x {r['x_surface_start']:.3g} → {r['x_surface_end']:.3g}, "
                 f"centre {r['x_centre_start']:.3g} → {r['x_centre_end']:.3g}" for label, r in summary.get("rests", {}).items()]
        return "thermal relaxation: " + "; ".join(parts) if parts else None
    if kind == "aging":
        fresh, aged = (summary.get("particles", {}).get(k, {}) for k in ("fresh", "aged"))
        if "volume_change_over_cycle_pct" not in fresh or "volume_change_over_cycle_pct" not in aged:
            return None
        dv = f"volume change over a cycle {fresh['volume_change_over_cycle_pct']:.3g} % → " \
             f"{aged['volume_change_over_cycle_pct']:.3g} %"
        eta = summary.get("overpotential_increase_mV")
        return f"aging: {dv}" + (f", overpotential +{eta:.3g} mV" if eta is not None else "")
    if kind == "coupling" and summary.get("exterior_to_interior_ratio") is not None:
        return (f"secondary → primary: O loss {summary['o_loss_exterior_at_pct']:.3g} at.% near the surface vs "
                f"{summary['o_loss_interior_at_pct']:.3g} at.% inside (ratio {summary['exterior_to_interior_ratio']:.3g})")
    return None
