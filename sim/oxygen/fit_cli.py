"""``sim fit PROFILE.csv [MORE ...] --out DIR``: fit D_O (diffusion) and a core–shell front to profiles.

Writes ``DIR/fit.json`` (per file and model: D_O_cm2_s, ci95_cm2_s, surface/bulk values,
reduced_chi2, aic, bic; per file the verdict: preferred model or "indistinguishable" when |ΔAIC| < 2,
Akaike weights, the likelihood ratio, warnings), one ``DIR/<name>_fit.png`` per file, and prints a table. A 2D map
(``.npy``/``.tif``) is accepted in place of a CSV with ``--mask``, ``--pixel-size``,
``--cycles`` and ``--hours``; it is binned into ``DIR/<name>_profile.csv`` first.
"""
from __future__ import annotations

import time
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
    p.add_argument("--overwrite", action="store_true", help="replace a results folder this toolkit wrote")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from sim.io import quiet_broken_pipe

    map_options = map_options_from_args(args) if any(Path(f).suffix in MAP_SUFFIXES for f in args.profiles) else None
    t0 = time.perf_counter()
    result = fit_profiles(args.profiles, args.out, params=args.params, fit_offset=args.fit_offset,
                          map_options=map_options, overwrite=args.overwrite)
    for name, entry in result["files"].items():
        for warning in entry["warnings"]:
            print(f"sim fit: warning: {name}: {warning}", file=sys.stderr)
    with quiet_broken_pipe():
        print(format_table(result))
        print(f"fit of {len(result['files'])} profile(s) in {time.perf_counter() - t0:.2f} s; "
              f"results in {Path(args.out) / 'fit.json'}")
    return 0


def map_options_from_args(args) -> dict:
    """The map options (SI), each checked against its bound and named by its option."""
    from sim.case import check_bounds, to_choice, to_quantity
    from sim.errors import InputError
    from sim.oxygen.profiles import MAX_CYCLES, MAX_HOURS, MAX_LENGTH_NM, QUANTITIES

    missing = [o for o in ("mask", "pixel_size", "cycles", "hours") if getattr(args, o) is None]
    if missing:
        raise InputError("map input needs " + ", ".join(f"--{m.replace('_', '-')}" for m in missing),
                         key=f"--{missing[0].replace('_', '-')}")
    return {"mask": args.mask,
            "pixel_size": to_quantity(args.pixel_size, "nm", key="--pixel-size", gt=0, le=MAX_LENGTH_NM),
            "cycles": check_bounds(args.cycles, key="--cycles", ge=1, le=MAX_CYCLES),
            "hours": check_bounds(args.hours, key="--hours", gt=0, le=MAX_HOURS, unit="h"),
            "quantity": to_choice(args.quantity, QUANTITIES, key="--quantity"),
            "radius": to_quantity(args.radius, "nm", key="--radius", gt=0, le=MAX_LENGTH_NM) if args.radius else None}


def fit_profiles(paths, out_dir, params="csernica2021", fit_offset: bool = False, map_options: dict | None = None,
                 *, overwrite: bool = False) -> dict:
    """Fit both models to every profile; write ``out_dir/fit.json`` and one PNG per file; return the JSON dict.

    ``params``: parameter set name/path or a loaded :class:`~sim.params.ParameterSet`.
    ``map_options`` (for ``.npy``/``.tif`` inputs): mask, pixel_size (m), cycles, hours, quantity, radius (m).
    Every input and ``out_dir`` are checked before anything is written (an existing non-empty
    ``out_dir`` is refused unless ``overwrite`` and written by this toolkit); the folder is staged
    and appears complete.
    """
    from sim.io import StagedDir, check_out_dir, write_json
    from sim.oxygen.fit import fit_profile
    from sim.oxygen.profiles import read_profile, write_profile
    from sim.oxygen.protocol import mn3_per_vacancy
    from sim.params import ParameterSet, load_params

    pset = params if isinstance(params, ParameterSet) else load_params(params)
    pset.require("oxygen")
    out_dir = Path(out_dir)
    check_out_dir(out_dir, overwrite)
    per_vac = mn3_per_vacancy(pset.oxygen)
    profiles, binned = [], []
    for path in paths:  # read and check everything before writing or fitting anything
        if Path(path).suffix in MAP_SUFFIXES:
            profiles.append(_map_profile(path, pset, map_options))
            binned.append(len(profiles) - 1)
        else:
            profiles.append(read_profile(path))
    stage = StagedDir(out_dir, overwrite=overwrite, command="sim fit")
    try:
        for i in binned:
            prof = profiles[i]
            write_profile(stage.path / f"{prof.name}_profile.csv", prof, comments=(prof.header["_binned"],))
        result = _fit_all(profiles, pset, fit_offset, per_vac, stage.path, out_dir, fit_profile)
        write_json(stage.path / "fit.json", result)
    except BaseException:
        stage.discard()
        raise
    stage.publish()
    return result


NOTES = {"D_O_cm2_s": "O chemical diffusivity in the delithiated state at the reference temperature",
         "ci95_cm2_s": "95 % profile-likelihood interval on D_O; ci95_closed false = reaches the edge of the "
                       "searched range",
         "aic": "chi2 + 2k", "bic": "chi2 + k ln n",
         "preferred_model": "the model with the lower AIC, or 'indistinguishable' when |ΔAIC| < 2",
         "akaike_weights": "exp(-ΔAIC_i/2) / Σ exp(-ΔAIC_j/2): the relative support of each model",
         "log10_likelihood_ratio_diffusion_over_core_shell": "(chi2_core_shell - chi2_diffusion) / (2 ln 10)",
         "warnings": "reduced chi2 outside the central 99 % of its distribution for n - k degrees of freedom"}
INDISTINGUISHABLE = 2.0     # |ΔAIC| below this: no model is preferred (Burnham & Anderson's rule of thumb)
CHI2_TAIL = 0.005           # two-sided 1 % test of χ² against its distribution with n - k degrees of freedom


def _fit_all(profiles, pset, fit_offset, per_vac, stage_dir: Path, out_dir: Path, fit_profile) -> dict:
    result = {"params": pset.name, "fit_offset": fit_offset, "notes": NOTES, "files": {}}
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
        entry.update(model_verdict(fits))
        _plot(stage_dir / f"{name}_fit.png", prof, fits)
        entry["png"] = str(out_dir / f"{name}_fit.png")
        entry["fit_time_s"] = time.perf_counter() - t0
        result["files"][name] = entry
    return result


def model_verdict(fits: dict) -> dict:
    """ΔAIC, Akaike weights, the likelihood ratio, the preferred model ('indistinguishable' when
    |ΔAIC| < 2) and warnings for a reduced χ² far from 1 (two-sided 1 % test) or an unidentifiable offset."""
    import math

    from scipy.special import gammainc, gammaincc   # χ² cdf/sf = regularised Γ(k/2, x/2); scipy.stats costs 0.6 s

    def chi2_sf(x, k):
        return float(gammaincc(k / 2, x / 2))

    def chi2_cdf(x, k):
        return float(gammainc(k / 2, x / 2))

    d, c = fits["diffusion"], fits["core_shell"]
    d_aic = c.aic - d.aic
    best = min(d.aic, c.aic)
    w = {m: math.exp(-(f.aic - best) / 2) for m, f in fits.items()}
    total = sum(w.values())
    log10_lr = (c.chi2 - d.chi2) / (2 * math.log(10))
    preferred = "indistinguishable" if abs(d_aic) < INDISTINGUISHABLE else ("diffusion" if d_aic > 0 else "core_shell")
    warnings = []
    for m, f in fits.items():
        dof = max(f.n - f.k, 1)
        if chi2_sf(f.chi2, dof) < CHI2_TAIL:
            warnings.append(f"{m}: reduced chi2 = {f.reduced_chi2:.3g} for {dof} degrees of freedom (p = "
                            f"{chi2_sf(f.chi2, dof):.1e}): the model does not describe the data within the "
                            f"stated sigma, so its D_O interval is only indicative")
        elif chi2_cdf(f.chi2, dof) < CHI2_TAIL:
            warnings.append(f"{m}: reduced chi2 = {f.reduced_chi2:.3g} for {dof} degrees of freedom: the scatter is "
                            f"far below the stated sigma (sigma overstated?), so intervals are too wide")
        if f.offset_identifiable is False:
            warnings.append(f"{m}: lamella offset not identifiable from this profile; give it if it is known")
    return {"preferred_model": preferred, "delta_aic_core_shell_minus_diffusion": d_aic,
            "akaike_weights": {m: v / total for m, v in w.items()},
            "log10_likelihood_ratio_diffusion_over_core_shell": log10_lr,
            "likelihood_ratio_diffusion_over_core_shell": 10.0**log10_lr if abs(log10_lr) < 300 else None,
            "warnings": warnings}


def _map_profile(path, pset, options):
    """A map binned into a checked profile in memory (its CSV is written with the results)."""
    from sim.errors import InputError
    from sim.oxygen.profiles import Profile, check_profile, profile_from_map, read_map

    if not options or options.get("mask") is None:
        raise InputError("a map needs a particle mask and a pixel size (--mask, --pixel-size)", file=str(path))
    values, mask = read_map(path), read_map(options["mask"], "mask")
    d, v, s, r_eq = profile_from_map(values, mask, options["pixel_size"], file=str(path))
    radius = options.get("radius") or r_eq
    keep = d <= radius
    note = f"binned from map {path} with mask {options['mask']} (pixel {options['pixel_size'] * 1e9:g} nm)"
    prof = Profile(d[keep], v[keep], s[keep], options.get("quantity", "mn3_fraction"), radius,
                   pset.oxygen.lamella_thickness, options["cycles"], options["hours"], name=Path(path).stem,
                   header={"_binned": note})
    return check_profile(prof, str(path))


def _plot(path: Path, prof, fits) -> Path:
    from matplotlib.figure import Figure      # no pyplot: it alone costs a third of a second at start-up

    from sim.io import savefig_atomic
    from sim.oxygen.profiles import QUANTITIES

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
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
        w = entry["akaike_weights"]
        verdict = ("models indistinguishable" if entry["preferred_model"] == "indistinguishable"
                   else f"preferred: {entry['preferred_model']}")
        lines.append(f"{'':24s} {verdict} (ΔAIC core-shell − diffusion = "
                     f"{entry['delta_aic_core_shell_minus_diffusion']:.1f}; Akaike weights diffusion "
                     f"{w['diffusion']:.2f}, core-shell {w['core_shell']:.2f})")
        for model, m in entry["models"].items():
            if "lamella_offset_note" in m:
                lines.append(f"{'':24s} {model} lamella offset {m['lamella_offset_nm']:.0f} nm: "
                             f"{m['lamella_offset_note']}")
    return "\n".join(lines)
