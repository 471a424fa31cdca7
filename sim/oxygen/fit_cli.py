"""``sim fit PROFILE.csv [MORE ...] --out DIR``: fit D_O (diffusion) and a core–shell front to profiles.

Writes ``DIR/fit.json`` (per file and model: D_O_cm2_s, ci95_cm2_s, surface/bulk values,
reduced_chi2, aic, bic), one ``DIR/<name>_fit.png`` per file, and prints a table. A 2D map
(``.npy``/``.tif``) is accepted in place of a CSV with ``--mask``, ``--pixel-size``,
``--cycles`` and ``--hours``; it is binned into ``DIR/<name>_profile.csv`` first.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

MAP_SUFFIXES = (".npy", ".tif", ".tiff")


def register(sub) -> None:
    p = sub.add_parser("fit", help="fit O-vacancy diffusion and core-shell models to Mn3+ / O-vacancy profiles")
    p.add_argument("profiles", nargs="+", help="profile CSV files (or 2D maps .npy/.tif with --mask)")
    p.add_argument("--out", required=True, help="results folder (fit.json, PNGs)")
    p.add_argument("--params", default="csernica2021", help="parameter set (blur, Arrhenius, stoichiometry)")
    p.add_argument("--fit-offset", action="store_true", help="also fit the lamella offset from the particle centre")
    g = p.add_argument_group("2D map input")
    g.add_argument("--mask", help="particle mask (.npy/.tif, nonzero inside) for map input")
    g.add_argument("--pixel-size", help='pixel size with unit, e.g. "5 nm"')
    g.add_argument("--cycles", type=float, help="cycles the imaged sample went through")
    g.add_argument("--hours", type=float, help="hours delithiated per cycle")
    g.add_argument("--quantity", default="mn3_fraction", help="what the map holds (mn3_fraction | o_vacancy_fraction)")
    g.add_argument("--radius", help='particle radius with unit (default: equivalent radius of the mask)')
    p.set_defaults(func=run)


def run(args) -> int:
    from sim.errors import InputError
    from sim.units import to_si

    map_options = None
    if any(Path(f).suffix in MAP_SUFFIXES for f in args.profiles):
        missing = [o for o in ("mask", "pixel_size", "cycles", "hours") if getattr(args, o) is None]
        if missing:
            raise InputError("map input needs " + ", ".join(f"--{m.replace('_', '-')}" for m in missing),
                             key=f"--{missing[0].replace('_', '-')}")
        map_options = {"mask": args.mask, "pixel_size": to_si(args.pixel_size, "nm", key="--pixel-size"),
                       "cycles": args.cycles, "hours": args.hours, "quantity": args.quantity,
                       "radius": to_si(args.radius, "nm", key="--radius") if args.radius else None}
    t0 = time.perf_counter()
    result = fit_profiles(args.profiles, args.out, params=args.params, fit_offset=args.fit_offset,
                          map_options=map_options)
    print(format_table(result))
    print(f"fit of {len(result['files'])} profile(s) in {time.perf_counter() - t0:.2f} s; "
          f"results in {Path(args.out) / 'fit.json'}")
    return 0


def fit_profiles(paths, out_dir, params="csernica2021", fit_offset: bool = False, map_options: dict | None = None) -> dict:
    """Fit both models to every profile; write ``out_dir/fit.json`` and one PNG per file; return the JSON dict.

    ``params``: parameter set name/path or a loaded :class:`~sim.params.ParameterSet`.
    ``map_options`` (for ``.npy``/``.tif`` inputs): mask, pixel_size (m), cycles, hours, quantity, radius (m).
    """
    from sim.io import write_text_atomic
    from sim.oxygen.fit import fit_profile
    from sim.oxygen.profiles import read_profile
    from sim.oxygen.protocol import mn3_per_vacancy
    from sim.params import ParameterSet, load_params

    pset = params if isinstance(params, ParameterSet) else load_params(params)
    pset.require("oxygen")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_vac = mn3_per_vacancy(pset.oxygen)
    profiles = []
    for path in paths:  # read and check everything before fitting anything
        if Path(path).suffix in MAP_SUFFIXES:
            profiles.append(replace(read_profile(_map_profile(path, out_dir, pset, map_options)), name=Path(path).stem))
        else:
            profiles.append(read_profile(path))
    result = {"params": pset.name, "fit_offset": fit_offset,
              "notes": {"D_O_cm2_s": "O chemical diffusivity in the delithiated state at the reference temperature",
                        "ci95_cm2_s": "95 % profile-likelihood interval on D_O; ci95_closed false = reaches the "
                                      "edge of the searched range",
                        "aic": "chi2 + 2k", "bic": "chi2 + k ln n"},
              "files": {}}
    names = set()
    for prof in profiles:
        t0 = time.perf_counter()
        fits = fit_profile(prof, pset, fit_offset=fit_offset)
        name = prof.name if prof.name not in names else f"{prof.name}_{len(names)}"
        names.add(name)
        entry = {"quantity": prof.quantity, "n_points": int(prof.value.size),
                 "particle_radius_nm": prof.particle_radius * 1e9, "lamella_thickness_nm": prof.lamella_thickness * 1e9,
                 "cycles": prof.cycles, "hours_delithiated_per_cycle": prof.hours_delithiated_per_cycle,
                 "models": {m: f.as_json(prof.quantity, per_vac) for m, f in fits.items()}}
        d_aic = fits["core_shell"].aic - fits["diffusion"].aic
        entry["preferred_model"] = "diffusion" if d_aic > 0 else "core_shell"
        entry["delta_aic_core_shell_minus_diffusion"] = d_aic
        entry["png"] = str(_plot(out_dir / f"{name}_fit.png", prof, fits))
        entry["fit_time_s"] = time.perf_counter() - t0
        result["files"][name] = entry
    write_text_atomic(out_dir / "fit.json", json.dumps(result, indent=2))
    return result


def _map_profile(path, out_dir: Path, pset, options) -> Path:
    from sim.errors import InputError
    from sim.oxygen.profiles import QUANTITIES, Profile, profile_from_map, read_map, write_profile

    if not options or options.get("mask") is None:
        raise InputError("a map needs a particle mask and a pixel size (--mask, --pixel-size)", file=str(path))
    if options.get("quantity", "mn3_fraction") not in QUANTITIES:
        raise InputError(f"unknown quantity; allowed: {', '.join(QUANTITIES)}", key="--quantity")
    values, mask = read_map(path), read_map(options["mask"], "mask")
    d, v, s, r_eq = profile_from_map(values, mask, options["pixel_size"], file=str(path))
    radius = options.get("radius") or r_eq
    keep = d <= radius
    prof = Profile(d[keep], v[keep], s[keep], options.get("quantity", "mn3_fraction"), radius,
                   pset.oxygen.lamella_thickness, options["cycles"], options["hours"], name=Path(path).stem)
    csv_path = out_dir / f"{Path(path).stem}_profile.csv"
    write_profile(csv_path, prof, comments=(f"binned from map {path} with mask {options['mask']} "
                                            f"(pixel {options['pixel_size'] * 1e9:g} nm)",))
    return csv_path


def _plot(path: Path, prof, fits) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.io import savefig_atomic
    from sim.oxygen.profiles import QUANTITIES

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(prof.distance * 1e9, prof.value, yerr=prof.sigma, fmt="o", ms=3, color="k", label="data")
    styles = {"diffusion": ("C0", "-", "vacancy diffusion"), "core_shell": ("C3", "--", "core-shell")}
    for model, f in fits.items():
        color, ls, label = styles[model]
        ax.plot(f.curve[0] * 1e9, f.curve[1], ls, color=color,
                label=f"{label}: D = {f.D_O * 1e4:.2g} cm²/s, χ²ᵣ = {f.reduced_chi2:.2g}, AIC = {f.aic:.1f}")
    ax.set_xlabel("distance from particle edge (nm)")
    ax.set_ylabel(f"{QUANTITIES[prof.quantity]} (-)")
    ax.set_title(f"{prof.name}: R = {prof.particle_radius * 1e9:.0f} nm, {prof.cycles:g} cycles", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    savefig_atomic(fig, path, dpi=120)
    plt.close(fig)
    return path


def format_table(result: dict) -> str:
    """Readable table of a ``fit_profiles`` result."""
    head = f"{'file':24s} {'model':10s} {'D_O (cm^2/s)':>12s} {'95% CI (cm^2/s)':>23s} {'surface':>8s} " \
           f"{'bulk':>8s} {'chi2_red':>8s} {'AIC':>8s} {'BIC':>8s}"
    lines = [head, "-" * len(head)]
    for name, entry in result["files"].items():
        q = entry["quantity"]
        for model, m in entry["models"].items():
            lo, hi = m["ci95_cm2_s"]
            open_lo, open_hi = (not c for c in m["ci95_closed"])
            ci = f"{'<' if open_lo else ''}{lo:.2e} – {hi:.2e}{'+' if open_hi else ''}"
            lines.append(f"{name[:24]:24s} {model:10s} {m['D_O_cm2_s']:12.3e} {ci:>23s} {m[f'surface_{q}']:8.3f} "
                         f"{m[f'bulk_{q}']:8.3f} {m['reduced_chi2']:8.2f} {m['aic']:8.1f} {m['bic']:8.1f}")
        lines.append(f"{'':24s} preferred: {entry['preferred_model']} (ΔAIC core-shell − diffusion = "
                     f"{entry['delta_aic_core_shell_minus_diffusion']:.1f})")
    return "\n".join(lines)
