"""``sim oxygen CASE.toml --out DIR [--overwrite] [--set key=value ...]``: forward O-vacancy simulation (M1)."""
from __future__ import annotations


def register(sub) -> None:
    from sim.params_cli import add_set_option

    p = sub.add_parser("oxygen", help="simulate O-vacancy diffusion and O loss in a primary particle over cycling")
    p.add_argument("case", help="case file (TOML, model = \"oxygen\")")
    p.add_argument("--out", required=True, help="results folder (an existing non-empty one is refused unless "
                                                "--overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace a results folder this toolkit wrote")
    add_set_option(p, 'override a case or parameter entry, e.g. --set protocol.cycles=125 '
                      '--set oxygen.diffusivity="3e-17 cm^2/s"')
    p.set_defaults(func=run)


def run(args) -> int:
    import dolfinx_solver  # noqa: F401  (loads MPI first)
    from mpi4py import MPI

    from sim.oxygen.run import run_oxygen_case
    from sim.params_cli import parse_overrides

    s = run_oxygen_case(args.case, args.out, parse_overrides(args.overrides), comm=MPI.COMM_WORLD,
                        overwrite=args.overwrite)
    if MPI.COMM_WORLD.rank != 0:
        return 0
    print(f"{s['geometry']} mesh, {s['cells']} cells, {s['dofs']} dofs; D_O = {s['D_O_cm2_s']:.3g} cm^2/s, "
          f"{s['cycles']} cycles x {s['hours_delithiated_per_cycle']:.3g} h delithiated (tau = {s['tau_final']:.3g})")
    print(f"O loss: {s['o_loss_at_pct_cycle_1']:.3g} at.% after cycle 1, {s['o_loss_at_pct_final']:.3g} at.% after "
          f"cycle {s['cycles']}; Mn3+ surface {s['surface_mn3_fraction_final']:.3f}, mean "
          f"{s['mean_mn3_fraction_final']:.3f}  ({s['wall_time_s']:.1f} s)")
    print(f"results in {args.out}/ (summary.json, o_loss.csv, radial_profile.csv, lamella_profile.csv, profile.png)")
    return 0
