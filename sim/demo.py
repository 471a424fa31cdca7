"""``sim demo``: the main job of the README — build and picture the reference meshes, fit the bundled
oxygen profile, run the Liu 2024 particle at 10C and 0.1C with its stress maps, and take the shipped
segmented volume of an imaged particle through meshing to a 10C run with its hot spots.

Each stage writes into its own sub-folder of ``--out`` (a re-run replaces the sub-folders an earlier
demo wrote) and prints what it made.
"""
from __future__ import annotations

import time
from pathlib import Path

from sim import resources

EXAMPLE_PROFILE = resources.example_profile()
STAGES = ("meshes", "fit", "liu2024", "imaged")


def register(sub) -> None:
    p = sub.add_parser("demo", help="build the reference meshes, fit the example O profile, run the Liu 2024 particle and an imaged one")
    p.add_argument("--out", default="demo-output", help="results folder (default: demo-output)")
    p.add_argument("--only", default=",".join(STAGES), help=f"comma-separated stages out of {', '.join(STAGES)}")
    p.set_defaults(func=run)


def run(args) -> int:
    from sim.case import check_out
    from sim.errors import InputError

    out = check_out(args.out, merge=True)   # a file, under a file, not writable: refused before any stage
    stages = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        raise InputError(f"unknown stage(s) {', '.join(unknown)}; allowed: {', '.join(STAGES)}", key="--only")
    for stage in stages:
        t0 = time.perf_counter()
        print(f"== demo stage '{stage}' ==", flush=True)
        globals()[f"_stage_{stage}"](out / stage)
        print(f"   ({time.perf_counter() - t0:.1f} s)\n", flush=True)
    print(f"demo finished; results in {out}/")
    return 0


def _stage_meshes(out: Path) -> None:
    from sim.mesh import build_reference_meshes

    for m in build_reference_meshes(out):
        quality = "n/a (1D)" if m["min_quality_minSICN"] is None else f"{m['min_quality_minSICN']:.3f}"
        print(f"   {m['name']:38s} {m['cells']:>7d} cells {m['vertices']:>7d} vertices  "
              f"min quality {quality:>8s}  -> {m['paths']['png']}")


def _stage_fit(out: Path) -> None:
    from sim.oxygen import fit_profiles
    from sim.oxygen.fit_cli import format_table

    result = fit_profiles([EXAMPLE_PROFILE], out, overwrite=True)   # replaces an earlier demo's fit/ only
    print("\n".join("   " + line for line in format_table(result).splitlines()))
    print(f"   fit results: {out / 'fit.json'} and PNG plots in {out}/")


def _stage_liu2024(out: Path) -> None:
    from sim.lithium.run import demo_liu2024

    demo_liu2024(out)


def _stage_imaged(out: Path) -> None:
    """Segmented volume (meshes/example_particle.npy) → tetrahedra → the shipped case imaged_10C on that mesh."""
    from sim.lithium.run import run_case
    from sim.mesh.image import load_volume, mesh_from_image

    volume, voxel = load_volume(resources.mesh_data("example_particle.npy"))
    pmesh = mesh_from_image(volume, voxel, size=0.8e-6, source="example_particle.npy")
    paths = pmesh.write(out / "mesh", "example_particle")
    print(f"   mesh: {pmesh.num_cells} tetrahedra, boundaries {', '.join(pmesh.boundaries)} -> {paths['msh']}")
    summary = run_case(resources.case("imaged_10C"), out / "run", {"mesh.file": str(Path(paths["msh"]).resolve())},
                       progress=False, overwrite=True)
    for spot in summary["hot_spots"][:3]:
        print(f"   hot spot {spot['name']}: {spot['value_Pa'] / 1e6:.3g} MPa, "
              f"{spot['distance_to_cavity_m'] * 1e6:.2f} µm from {spot['nearest_cavity']}, "
              f"{spot['distance_to_outer_m'] * 1e6:.2f} µm from the outer surface")
    print(f"   results: {out / 'run'}/ (summary.json, hotspots.csv, maps/)")
