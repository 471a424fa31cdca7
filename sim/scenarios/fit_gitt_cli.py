"""``sim fit-gitt CURVE.csv --params SET --knots X1,X2 --pulse T --rest T --out DIR``: fit D(x) (and i0).

The command line of :func:`sim.scenarios.gitt_fit.fit_gitt` (the Li model's counterpart of ``sim fit`` for
D_O). CURVE.csv has a header and two columns, time (s) and particle voltage (V) (``t_s``, ``voltage_V``;
``#`` lines are comments). Writes ``DIR/fit_gitt.json`` (D at the knots with 95 % intervals, i0, reduced χ²,
residual RMS, the forward model's discretisation error in units of σ, the protocol and the inputs) and prints
a table and a one-line verdict.
"""
from __future__ import annotations

import time
from pathlib import Path

_CHI2_BAND = (0.5, 2.0)     # reduced χ² outside: the model or the stated σ does not describe the curve
_MODEL_ERROR_MAX = 0.5      # ‖δ‖/σ above: the discretisation bias (≤ ‖δ‖/σ standard errors) rivals the noise


def register(sub) -> None:
    p = sub.add_parser("fit-gitt", help="fit Li diffusivity D(x) (and i0) to a GITT or relaxation voltage curve")
    p.add_argument("curve", help="CSV with columns t_s, voltage_V")
    p.add_argument("--out", required=True, help="results folder (fit_gitt.json)")
    p.add_argument("--params", required=True, help="parameter set of the particle (radius, c_max, OCV, kinetics)")
    p.add_argument("--knots", required=True, help="Li fractions of the log-D knots, e.g. 0.6,0.95")
    p.add_argument("--c-rate", required=True, help="pulse current as a C-rate of the particle (1/h)")
    p.add_argument("--pulse", required=True, help='pulse length with unit, e.g. "300 s"')
    p.add_argument("--rest", required=True, help='rest after each pulse with unit, e.g. "10 min"')
    p.add_argument("--pulses", required=True, help="number of pulses in the curve")
    p.add_argument("--initial-rest", default="60 s", help='rest before the first pulse (default "60 s")')
    p.add_argument("--upper-voltage", default="4.8 V", help='voltage cut-off of the pulses (default "4.8 V")')
    p.add_argument("--sigma", default="1 mV", help='voltage noise of the curve (default "1 mV")')
    p.add_argument("--window", default="all", help="all: the whole curve (D and i0); relaxation: the rests only (D)")
    p.add_argument("--fix-i0", action="store_true", help="keep i0 at the parameter set's value")
    p.add_argument("--initial-d", help='starting D at the knots, e.g. "3e-15 m^2/s,6e-15 m^2/s" (default: the set)')
    p.add_argument("--mesh-cells", default="16", help="P1 cells of the forward model's 1D sphere (default 16)")
    p.add_argument("--steps-per-pulse", default="20", help="largest time step of the forward model: pulse / this "
                                                            "(default 20)")
    p.add_argument("--rtol", default="1e-5", help="local time-error tolerance of the forward model's Li fraction "
                                                  "(default 1e-5)")
    p.add_argument("--overwrite", action="store_true", help="replace a results folder this toolkit wrote")
    p.set_defaults(func=run)


def options_from_args(args) -> dict:
    """The fit's inputs in SI, each checked and named by its option."""
    from sim.case import to_choice, to_integer, to_quantity
    from sim.errors import InputError
    from sim.scenarios.gitt import GittProtocol

    def floats(text, option, unit=None):
        parts = [s.strip() for s in str(text).split(",") if s.strip()]
        if not parts:
            raise InputError(f"got {text!r}; allowed: a comma-separated list", key=option)
        if unit is None:
            return [to_quantity(s, "", key=option, ge=0, le=1) for s in parts]
        return [to_quantity(s, unit, key=option, gt=0, le=1e-6) for s in parts]

    knots = floats(args.knots, "--knots")
    protocol = GittProtocol(c_rate=to_quantity(args.c_rate, "", key="--c-rate", gt=0, le=1000),
                            pulse=to_quantity(args.pulse, "s", key="--pulse", gt=0, le=1e9),
                            rest=to_quantity(args.rest, "s", key="--rest", gt=0, le=1e9),
                            upper_voltage=to_quantity(args.upper_voltage, "V", key="--upper-voltage", gt=0, le=10),
                            max_pulses=to_integer(_number(args.pulses), key="--pulses", ge=1, le=10_000),
                            initial_rest=to_quantity(args.initial_rest, "s", key="--initial-rest", gt=0, le=1e9))
    initial = None
    if args.initial_d:
        d0 = floats(args.initial_d, "--initial-d", "m^2/s")
        if len(d0) != len(knots):
            raise InputError(f"{len(d0)} values for {len(knots)} knots", key="--initial-d")
        initial = (d0,)
    return {"knots": knots, "protocol": protocol, "initial": initial,
            "sigma": to_quantity(args.sigma, "V", key="--sigma", gt=0, le=1),
            "window": to_choice(args.window, ("all", "relaxation"), key="--window"), "fit_i0": not args.fix_i0,
            "mesh_cells": to_integer(_number(args.mesh_cells), key="--mesh-cells", ge=2, le=10_000),
            "steps_per_pulse": to_integer(_number(args.steps_per_pulse), key="--steps-per-pulse", ge=1, le=100_000),
            "rtol": to_quantity(args.rtol, "", key="--rtol", ge=1e-12, le=1e-2)}


def _number(text):
    try:
        return float(text)
    except ValueError:
        return text          # refused by the converter, naming the option


def read_curve(path) -> tuple:
    """(times s, voltage V) of a two-column CSV with a header; every bad row is an InputError naming the file."""
    import numpy as np

    from sim.case import read_text
    from sim.errors import InputError

    lines = [ln for ln in read_text(path, "voltage curve").splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 4:
        raise InputError("expected a header (t_s, voltage_V) and at least 3 rows", file=str(path))
    head = [h.strip() for h in lines[0].split(",")]
    if head[:2] != ["t_s", "voltage_V"]:
        raise InputError(f"header {lines[0]!r}; allowed: t_s, voltage_V", file=str(path))
    rows = []
    for k, ln in enumerate(lines[1:], start=2):
        try:
            t, v = (float(c) for c in ln.split(",")[:2])
        except ValueError:
            raise InputError(f"row {k}: {ln!r} is not two numbers", file=str(path)) from None
        rows.append((t, v))
    data = np.array(rows)
    if not np.all(np.isfinite(data)) or np.any(np.diff(data[:, 0]) <= 0) or data[0, 0] < 0:
        raise InputError("times must be finite, >= 0 and increasing, voltages finite", file=str(path))
    if np.any((data[:, 1] <= 0) | (data[:, 1] > 10)):
        raise InputError("voltages must be in (0, 10] V", file=str(path))
    return data[:, 0], data[:, 1]


def run(args) -> int:
    from sim.io import quiet_broken_pipe

    t0 = time.perf_counter()
    result = fit_curve(args.curve, args.out, args.params, options_from_args(args), overwrite=args.overwrite)
    with quiet_broken_pipe():
        print(format_result(result))
        print(f"fit in {time.perf_counter() - t0:.1f} s ({result['evaluations']} FEM solves); "
              f"results in {Path(args.out) / 'fit_gitt.json'}")
    return 0


def fit_curve(curve, out_dir, params, options: dict, *, overwrite: bool = False) -> dict:
    """Read and check everything, fit, write ``out_dir/fit_gitt.json`` (staged: nothing on bad input)."""
    from sim.io import StagedDir, check_out_dir, write_json
    from sim.params import ParameterSet, load_params
    from sim.scenarios.gitt_fit import fit_gitt

    pset = params if isinstance(params, ParameterSet) else load_params(params)
    pset.require("geometry", "transport", "kinetics")
    out_dir = Path(out_dir)
    check_out_dir(out_dir, overwrite)
    times, voltage = read_curve(curve)
    fit = fit_gitt(times, voltage, pset, options["protocol"], options["knots"], sigma=options["sigma"],
                   fit_i0=options["fit_i0"], window=options["window"], initial=options["initial"],
                   mesh_cells=options["mesh_cells"], steps_per_pulse=options["steps_per_pulse"], rtol=options["rtol"])
    p = options["protocol"]
    result = {"curve": str(curve), "params": pset.name, "sigma_V": options["sigma"],
              "forward_model": {"mesh_cells": options["mesh_cells"], "steps_per_pulse": options["steps_per_pulse"],
                                "rtol": options["rtol"]},
              "protocol": {"c_rate_per_h": p.c_rate, "pulse_s": p.pulse, "rest_s": p.rest, "pulses": p.max_pulses,
                           "initial_rest_s": p.initial_rest, "upper_voltage_V": p.upper_voltage},
              **fit.as_dict(), "verdict": verdict(fit)}
    with StagedDir(out_dir, overwrite=overwrite, command="sim fit-gitt") as stage:
        write_json(stage / "fit_gitt.json", result)
    return result


def verdict(fit) -> str:
    """One line: whether the model describes the curve within σ, how well D is pinned, and whether the forward
    model's discretisation error is small against the noise."""
    widest = max(hi / lo for lo, hi in fit.diffusivity_ci95)
    lo, hi = _CHI2_BAND
    fits = lo <= fit.reduced_chi2 <= hi
    model_error = fit.extra["model_error_sigma"]
    coarse = (f"; forward model error {model_error:.2g} sigma (> {_MODEL_ERROR_MAX}): the intervals include its "
              f"bias, refine --mesh-cells/--steps-per-pulse/--rtol" if model_error > _MODEL_ERROR_MAX else "")
    return (f"{'fits' if fits else 'does NOT fit'} the curve within the stated sigma (reduced chi2 "
            f"{fit.reduced_chi2:.2f}{'' if fits else f', outside {lo}-{hi}: intervals only indicative'}); "
            f"widest D interval a factor {widest:.2g}{coarse}")


def format_result(result: dict) -> str:
    lines = [f"{'x (knot)':>9s} {'D (m^2/s)':>11s} {'95% CI (m^2/s)':>25s}"]
    for x, d, (lo, hi) in zip(result["knots_x"], result["D_m2_s"], result["D_ci95_m2_s"]):
        lines.append(f"{x:9.3f} {d:11.3e} {lo:11.3e} – {hi:11.3e}")
    ci = result["i0_ci95_A_m2"]
    lines.append(f"i0 = {result['i0_A_m2']:.3g} A/m^2" + (f" (95% CI {ci[0]:.3g} – {ci[1]:.3g})" if ci else " (fixed)"))
    fine = result["refined_model"]
    lines.append(f"forward model error {result['model_error_sigma']:.2g} sigma (against {fine['mesh_cells']} cells, "
                 f"pulse/{fine['steps_per_pulse']}, rtol {fine['rtol']:.2g}; the intervals include its bias)")
    lines.append(f"verdict: {result['verdict']}")
    return "\n".join(lines)
