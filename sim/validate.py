"""``sim validate [--full] --out DIR``: run the validation cases and write ``DIR/report.md``.

Two tables: the published targets of docs/physics.md ("Published targets": paper, quantity, published
value, ours, difference, within tolerance or not) and the verification checks (closed-form errors
and measured convergence orders). A missed target is a result, not an error: the command exits 0;
it exits 1 only when a check itself failed to run (its row then says why).

The default run is a fast subset (coarse meshes, shortened protocols, about a minute on 2 cores);
``--full`` runs every case at its shipped resolution (tens of minutes). Every row says which mode
produced it ("fast", "full", or "both" when the two modes compute the same thing), so a number quoted
from one mode is never mistaken for the other. ``--full --readme`` also rewrites the tables of
README.md between ``<!-- validate:NAME -->`` and ``<!-- /validate:NAME -->`` from the run (see
:func:`update_readme`), so the README cannot drift from what the code gives.

The fracture checks (:data:`FRACTURE_CHECKS`) compute their closed-form comparisons with
:mod:`sim.fracture.verification` (the functions the tests call; the same in both modes) and run the
``cracking_liu2024`` and ``fatigue_wang2021`` scenarios (their ``--quick`` settings in the fast run); ``--full``
adds the ℓ/h convergence of the Liu 10C phase-field case and the crack-map sweep. The README gets them as
tables of their own: ``fracture``, ``fracture_targets`` and ``crack_map``.
"""
from __future__ import annotations

import json
import math
import re
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from sim import resources
from sim.io import MarkdownTable, write_json

REPO = Path(__file__).resolve().parent.parent      # the clone: only --readme writes there
LIU_CASES = resources.data_dir("cases")
SCENARIOS = resources.data_dir("scenarios")
CSERNICA = resources.data_dir("csernica2021") / "validate.py"
LIU_CONVERGENCE = resources.data_dir("liu2024") / "convergence.py"
README = REPO / "README.md"


@dataclass
class Row:
    """One line of a report table; ``ok`` is None when the comparison could not be made."""

    paper: str
    quantity: str
    published: object
    ours: object
    unit: str
    tolerance: str
    ok: bool | None
    note: str = ""
    mode: str = ""        # "fast", "full" or "both"; filled in by the driver when a check leaves it empty
    check: str = ""       # the CHECKS name that produced the row (filled in by the driver)
    values: dict | None = None   # structured results for a table of its own (the crack map)


def register(sub) -> None:
    p = sub.add_parser("validate", help="run the validation cases and write a Markdown report with figures")
    p.add_argument("--out", required=True, help="report folder (report.md, figures, per-case results)")
    p.add_argument("--full", action="store_true", help="all cases at full resolution (slow); default: fast subset")
    p.add_argument("--readme", action="store_true",
                   help="with --full: rewrite the README tables between the validate markers from this run")
    p.set_defaults(func=run)


def run(args) -> int:
    from sim.errors import InputError

    if getattr(args, "readme", False) and not args.full:
        raise InputError("the README tables come from the full run; add --full", key="--readme")
    result = validate(args.out, full=args.full)
    if getattr(args, "readme", False) and not result["errors"]:
        print(f"README tables rewritten: {', '.join(update_readme(result))}")
    missed = sum(r["ok"] is False for r in result["targets"] + result["verification"])
    print(f"report: {result['report']}  ({len(result['targets'])} targets, {len(result['verification'])} checks, "
          f"{missed} outside tolerance, {len(result['errors'])} errors)")
    return 1 if result["errors"] else 0


# --------------------------------------------------------------------------- driver
def validate(out_dir, *, full: bool = False, comm=None, only: tuple[str, ...] | None = None) -> dict:
    """Run the checks (all, or the names in ``only``) into ``out_dir``; write ``report.md``; return the rows.

    Returns ``{"targets": [...], "verification": [...], "errors": [...], "report": path}``; a check
    that raises is recorded in ``errors`` with its traceback and the others still run.
    """
    import dolfinx_solver  # noqa: F401  (loads MPI before mpi4py)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD if comm is None else comm
    out = Path(out_dir)
    if comm.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    targets, verification, errors, timings = [], [], [], {}
    for name, (kind, check) in CHECKS.items():
        if only is not None and name not in only:
            continue
        t0 = time.perf_counter()
        try:
            rows = check(out / name, full, comm)
        except Exception as err:  # a broken check is reported, the others still run
            errors.append({"check": name, "error": f"{type(err).__name__}: {err}",
                           "traceback": traceback.format_exc()})
            rows = []
        timings[name] = time.perf_counter() - t0
        for r in rows:
            r.mode, r.check = r.mode or ("full" if full else "fast"), name
            r.ok = None if r.ok is None else bool(r.ok)   # numpy booleans would not survive report.json
        (targets if kind == "target" else verification).extend(asdict(r) for r in rows)
    report = out / "report.md"
    result = {"targets": targets, "verification": verification, "errors": errors, "report": str(report),
              "full": full, "timings": timings}
    if comm.rank == 0:
        _write_report(report, targets, verification, errors, timings, full)
        write_json(out / "report.json", result)
    return result


# --------------------------------------------------------------------------- verification checks
def _check_wh_closed_form(out: Path, full: bool, comm) -> list[Row]:
    """Weppner–Huggins extractor on Crank's galvanostatic sphere: bias and its order in ε = √(Dτ)/R."""
    import numpy as np

    from sim.scenarios.gitt import closed_form_wh_ratio

    eps = np.array([0.02, 0.01, 0.005])
    bias = closed_form_wh_ratio(eps) - 1
    order = math.log(bias[-2] / bias[-1]) / math.log(2)
    return [Row("verification", "WH extractor vs Crank sphere: D_WH/D - 1 at eps = 0.005 (L = R/3)",
                "-sqrt(pi) eps = -0.0089", f"{bias[-1]:.4g}", "-", "|bias| < 1 %, order 1 +- 0.05",
                abs(bias[-1]) < 0.01 and abs(order - 1) < 0.05,
                f"order in eps {order:.3f}; bias at eps = 0.02/0.01: {bias[0]:.4f}/{bias[1]:.4f}")]


def _check_wh_fe(out: Path, full: bool, comm) -> list[Row]:
    """GITT simulated by the Li solver on a solid sphere with constant D: WH vs the closed-form ratio."""
    from sim.scenarios.gitt import wh_on_fe_solver

    eps, steps = 0.01, ((50, 100, 200) if full else (50, 100))
    expected, ratios, _ = wh_on_fe_solver(steps, comm, eps=eps)
    errors = [abs(r - expected) for r in ratios]
    # BDF2 with error control: the time error sits below a ≈ 5e-4 floor at every step count (no order to read)
    return [Row("verification", f"GITT on the FE Li solver (solid sphere, eps = {eps}): |D_WH/D - closed form|",
                f"{expected:.5f} (closed form)", f"{max(errors):.3g}", "-", "< 1e-3 at every step count",
                max(errors) < 1e-3,
                f"{', '.join(map(str, steps))} steps per pulse (BDF2); errors {[float(f'{e:.3g}') for e in errors]}")]


def _check_li_sphere(out: Path, full: bool, comm) -> list[Row]:
    """Li solver: galvanostatic solid sphere vs Crank + Timoshenko surface hoop stress, mesh order."""
    import numpy as np

    from sim.lithium.closed_form import galvanostatic_sphere_stresses
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.lithium.transport import arrhenius
    from sim.units import FARADAY
    from sim.mesh import radial_mesh
    from sim.params import load_params

    radius, d_ref = 1e-6, 1e-14
    pset = load_params("lmr_default", {"transport.diffusivity": f"{d_ref} m^2/s", "transport.x_initial": 0.9,
                                       "kinetics.exchange_current_density": "1000 A/m^2",
                                       "geometry.void_radius": "0 um", "geometry.pores": {"value": []},
                                       "geometry.particle_radius": f"{radius} m"})
    tr, mech = pset.transport, pset.mechanics
    d = d_ref * arrhenius(tr, pset.conditions.temperature)   # the solver runs at 298.15 K, the table is at 298 K
    omega = float(np.diff(mech.volume_change.y)[-1] / np.diff(mech.volume_change.x)[-1]) / tr.c_max
    t_end = radius ** 2 / d   # tau = 1: transients decayed, so backward Euler's time error is gone too
    cells = (8, 16, 32) if full else (8, 16)
    errors = []
    for n in cells:
        problem = LithiumProblem(pset, radial_mesh(radius, 0.0, n_cells=n, comm=comm), dt_initial=1e-4)
        problem.initialise()
        problem.run_step(Galvanostatic(1.0, "charge", Stop(time=t_end)))
        flux = problem.current / (FARADAY * 4 * np.pi * radius ** 2)   # inward molar flux
        exact = galvanostatic_sphere_stresses(np.array([radius]), t_end, radius=radius, diffusivity=d, flux=flux,
                                              omega=omega, youngs_modulus=mech.youngs_modulus,
                                              poisson_ratio=mech.poisson_ratio)["hoop"][0]
        ours = problem.evaluate("hoop", np.array([[radius, 0.0, 0.0]]))[0]
        errors.append(abs(ours - exact) / abs(exact))
    order = float(np.log(errors[-2] / errors[-1]) / np.log(2))
    return [Row("verification", "Li solver: surface hoop stress, galvanostatic sphere vs Crank/Timoshenko",
                "closed form", f"{errors[-1]:.3g}", "relative", "< 1 %", errors[-1] < 0.01,
                f"{cells[-1]} P1 cells (P2 displacement); order {order:.2f}, errors {['%.3g' % e for e in errors]}")]


def _check_oxygen_crank(out: Path, full: bool, comm) -> list[Row]:
    """O-vacancy FEM vs Crank eq. 6.18 (sphere, fixed surface value): max profile error and order."""
    import numpy as np

    from sim.mesh import radial_mesh
    from sim.oxygen.closed_form import sphere_fixed_surface
    from sim.oxygen.diffusion import VacancyDiffusion

    tau = 0.05
    cells = (10, 20, 40) if full else (10, 20)
    errors = []
    for n in cells:
        solver = VacancyDiffusion(radial_mesh(1.0, 0.0, n_cells=n, comm=comm), 1.0, 1.0, 0.0)
        solver.run([tau], steps_per_level=256)
        r, y = solver.radial_samples()
        errors.append(float(np.max(np.abs(y - sphere_fixed_surface(r, tau)))))
    order = float(np.log(errors[-2] / errors[-1]) / np.log(2))
    return [Row("verification", f"O-vacancy FEM vs Crank 6.18 (sphere, tau = {tau}): max |y - y_exact|",
                "closed form", f"{errors[-1]:.3g}", "fraction of y_s", "< 1 %, mesh order > 1.5",
                errors[-1] < 0.01 and order > 1.5, f"{cells[-1]} P1 cells, order {order:.2f}")]


def _check_oxygen_formation(out: Path, full: bool, comm) -> list[Row]:
    """O-vacancy FEM with a formation layer vs the layered-sphere series: max profile error and mesh order."""
    import numpy as np

    from sim.mesh import radial_mesh
    from sim.oxygen.closed_form import sphere_with_layer
    from sim.oxygen.diffusion import VacancyDiffusion
    from sim.oxygen.formation import FormationLayer

    tau, a = 0.01, 0.8
    cells = (20, 40, 80)
    errors = []
    for n in cells:
        solver = VacancyDiffusion(radial_mesh(1.0, 0.0, n_cells=n, comm=comm), 1.0, 1.0, 0.0,
                                  formation=FormationLayer(1 - a, 1.0))
        solver.run([tau], steps_per_level=16)
        r, y = solver.radial_samples()
        errors.append(float(np.max(np.abs(y - sphere_with_layer(r, tau, a)))))
    order = float(np.log(errors[-2] / errors[-1]) / np.log(2))
    return [Row("verification", f"O-vacancy FEM with a formation layer (δ = 0.2 R) vs the layered-sphere series, "
                f"tau = {tau}: max |y - y_exact|", "closed form", f"{errors[-1]:.3g}", "fraction of y_s",
                "< 1 %, mesh order > 1.8", errors[-1] < 0.01 and order > 1.8,
                f"{cells[-1]} P1 cells, order {order:.2f}", "both")]


def _check_li_fit(out: Path, full: bool, comm) -> list[Row]:
    """GITT inverse problem: log-D knots (and i0 in --full) recovered from a synthetic curve of a hidden D(x)."""
    import numpy as np

    from sim.mesh import radial_mesh
    from sim.params import load_params
    from sim.scenarios.gitt import GittProtocol
    from sim.scenarios.gitt_fit import fit_gitt, simulate, with_diffusivity

    base = {"geometry.particle_radius": "1 um", "geometry.void_radius": "0 um", "geometry.pores": {"value": []},
            "transport.x_initial": 0.95, "kinetics.exchange_current_density": "1 A/m^2"}
    p = load_params("lmr_default", base)
    knots, hidden, sigma = [0.6, 0.95], [2e-15, 1e-14], 5e-4
    pulses = 4 if full else 3
    protocol = GittProtocol(c_rate=1.0, pulse=300.0, rest=600.0, upper_voltage=4.8, max_pulses=pulses)
    t = np.arange(5.0, protocol.initial_rest + pulses * 900.0, 10.0)
    data = simulate(with_diffusivity(p, knots, hidden, 1.0), protocol, t, radial_mesh(1e-6, n_cells=32, comm=comm),
                    steps_per_pulse=50) + np.random.default_rng(1).normal(0.0, sigma, t.size)
    rows = []
    for window in (("all", "relaxation") if full else ("all",)):
        fit = fit_gitt(t, data, p, protocol, knots, sigma=sigma, fit_i0=full and window == "all", window=window,
                       initial=([3e-15, 6e-15], 2.0 if full else 1.0), mesh_cells=12, steps_per_pulse=10, comm=comm)
        inside = [ci[0] <= d <= ci[1] for d, ci in zip(hidden, fit.diffusivity_ci95)]
        if fit.exchange_current_ci95 is not None:
            inside.append(fit.exchange_current_ci95[0] <= 1.0 <= fit.exchange_current_ci95[1])
        ours = ", ".join(f"{d:.3g} ({ci[0]:.3g}-{ci[1]:.3g})" for d, ci in zip(fit.diffusivity, fit.diffusivity_ci95))
        i0 = ("" if fit.exchange_current_ci95 is None else
              f"; i0 {fit.exchange_current_density:.3g} ({fit.exchange_current_ci95[0]:.3g}-"
              f"{fit.exchange_current_ci95[1]:.3g}) A/m^2 (hidden 1)")
        rows.append(Row("verification", f"Li inverse problem: D at x = 0.6, 0.95 from a synthetic "
                        f"{'GITT' if window == 'all' else 'relaxation'} curve (hidden 2e-15, 1e-14 m^2/s, 0.5 mV noise)",
                        "hidden D inside the 95 % interval", ours, "m^2/s", "every hidden value inside its interval",
                        all(inside), f"{pulses} pulses; fit on 12 cells vs data from 32{i0}; reduced chi2 "
                        f"{fit.reduced_chi2:.2f}, {fit.evaluations} FEM solves; forward-model error "
                        f"{fit.extra['model_error_sigma']:.2g} sigma (included in the interval)"))
    return rows


def _check_liu_convergence(out: Path, full: bool, comm) -> list[Row]:
    """Liu 2024 bridge-point hoop stress at three mesh levels (validation/liu2024/convergence.py); --full only."""
    import importlib.util

    if not full:
        return []
    spec = importlib.util.spec_from_file_location("liu2024_convergence", LIU_CONVERGENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    levels = [module.bridge_hoop(s, 10.0, 4.0) for s in module.LEVELS]
    h = [r["hoop_Pa"] for r in levels]
    changes = [abs(b - a) / abs(b) for a, b in zip(h, h[1:])]
    table = ";".join(f"{r['size_inner_um']:.3g}/{r['size_outer_um']:.3g}/{r['cells']}/{r['hoop_Pa']:.6g}"
                     for r in levels)
    return [Row("verification", "Liu 2024 bridge-point hoop stress, 10C / 20 % DOD: change per mesh halving",
                "mesh convergence", f"{changes[-1]:.2g}", "relative", "< 2 %", changes[-1] < 0.02,
                f"levels (size_inner um / size_outer um / cells / hoop Pa): {table}", "full")]


# --------------------------------------------------------------------------- fracture (sim.fracture.verification)
def _check_pf_bar(out: Path, full: bool, comm) -> list[Row]:
    """Phase field, homogeneous bar: peak stress vs √(3EG_c/(8ℓ)) (AT1) and (9/16)√(EG_c/(3ℓ)) (AT2)."""
    from sim.fracture.verification import PEAK_GRID, bar_peak_stress

    formula = {"AT1": "√(3EG_c/(8ℓ))", "AT2": "(9/16)√(EG_c/(3ℓ))"}
    rows = []
    for variant in ("AT1", "AT2"):
        r = bar_peak_stress(variant, comm=comm)
        rows.append(Row("verification", f"phase field {variant}: homogeneous bar (displacement-driven, no split), "
                        f"peak stress vs {formula[variant]}", f"{r['closed_form']:.5g} (E = G_c = 1, ℓ = 0.1)",
                        f"{r['relative_error']:+.2g}", "relative", "within ±1 %, softening after the peak",
                        abs(r["relative_error"]) < 0.01 and r["interior"],
                        f"peak {r['peak']:.5g} on {PEAK_GRID} strain points up to 2√(G_c/(Eℓ)); 20 P1 cells", "both"))
    return rows


def _check_pf_crack_energy(out: Path, full: bool, comm) -> list[Row]:
    """Phase field, straight crack across a bar: G_eff/G_c at ℓ/h = 1, 2, 4, 8 and its order (node-aligned
    crack: 1 + O((h/ℓ)²); a band one element wide: 1 + h/(c_w ℓ) + …, Bourdin–Francfort–Marigo 2008)."""
    from sim.fracture.verification import straight_crack_toughness

    rows = []
    for band in (False, True):
        for variant in ("AT1", "AT2"):
            r = straight_crack_toughness(variant, band, comm=comm)
            excess, orders, ratios = r["excess"], r["orders"], r["ell_over_h"]
            at4 = excess[ratios.index(4)]
            factors = ", ".join(f"{f:.5g}" for f in r["toughness_factor"])
            order_text = "orders " + ", ".join(f"{o:.2f}" for o in orders)
            if band:
                term = r["band_term"][-1]
                corrected = (1 + excess[-1]) / (1 + term) - 1
                ok = (min(excess) > 0 and at4 < 0.15 and all(abs(o - 1) < 0.15 for o in orders[1:])
                      and abs(excess[-1] / term - 1) < 0.1)
                rows.append(Row("verification", f"phase field {variant}: crack band one element wide, dissipated energy "
                                f"/ (G_c × area) at ℓ/h = {', '.join(map(str, ratios))}", "1 + h/(c_w ℓ) + …", factors,
                                "-", "excess > 0, < 15 % at ℓ/h = 4; order 1 ± 0.15 (ℓ/h ≥ 2); excess at ℓ/h = 8 "
                                "within 10 % of h/(c_w ℓ)", ok,
                                f"{order_text}; excess at ℓ/h = 8: {excess[-1]:.4g} vs h/(c_w ℓ) = {term:.4g} "
                                f"(ratio {excess[-1] / term:.3f}); with the correction, G_eff/(G_c (1 + h/(c_w ℓ))) − 1 "
                                f"= {corrected:+.2g}", "both"))
            else:
                ok = min(excess) > 0 and at4 < 0.005 and all(abs(o - 2) < 0.1 for o in orders)
                rows.append(Row("verification", f"phase field {variant}: node-aligned straight crack, dissipated energy "
                                f"/ (G_c × area) at ℓ/h = {', '.join(map(str, ratios))}", "1 + O((h/ℓ)²)", factors, "-",
                                "excess > 0, < 0.5 % at ℓ/h = 4; order 2 ± 0.1", ok, order_text, "both"))
    return rows


def _check_strength_onset(out: Path, full: bool, comm) -> list[Row]:
    """Strength onset time on a galvanostatic solid sphere (1C charge) vs the closed-form surface hoop stress."""
    from sim.fracture.verification import ONSET_LEVELS, strength_onset_convergence

    r = strength_onset_convergence(out, comm=comm)
    errors, orders = r["errors"], r["orders"]
    places = {(s["fracture"]["onset"] or {}).get("location") for s in r["summaries"]}
    ok = errors[-1] < 0.01 and errors[0] > errors[1] > errors[2] and orders[-1] > 0.8 and places == {"outer"}
    levels = ", ".join(f"{n} cells / Δt = t_onset/{steps}" for n, steps in ONSET_LEVELS)
    return [Row("verification", "strength onset (σ₁ ≥ σ_f) on a galvanostatic solid sphere, 1C "
                "charge: onset time vs the closed-form surface hoop stress (Crank + Timoshenko)",
                f"{r['t_onset_s']:.4g} s (σ_f = 0.6 × steady hoop = {r['strength_Pa'] / 1e6:.3g} MPa)",
                f"{errors[-1]:.2g}", "relative", "< 1 % at 40 cells, decreasing, order > 0.8, at the outer surface",
                ok, f"{levels}: errors {', '.join(f'{e:.2g}' for e in errors)}, orders "
                f"{', '.join(f'{o:.2f}' for o in orders)} (h and Δt halved together); onset at {', '.join(sorted(map(str, places)))}",
                "both")]


def _check_weibull(out: Path, full: bool, comm) -> list[Row]:
    """Weibull P_f of a uniform σ₁ on a hollow sphere vs 1 − exp(−(V/V₀)(σ⁺/σ₀)^m): the risk (V/V₀)(σ/σ₀)^m and
    P_f, with V₀ chosen so that P_f spans 0.003-0.5 (a P_f of 1 would agree with anything)."""
    from sim.fracture.verification import weibull_uniform

    v0 = 1e-15
    cases = [(m, s) for m in (2.0, 5.5) for s in (3e7, 6e7)]
    results = [weibull_uniform(m, s, reference_volume=v0, comm=comm) for m, s in cases]
    error = max(max(abs(w["risk"] / w["closed_form_risk"] - 1), abs(w["probability"] / w["closed_form"] - 1))
                for w in results)
    volume = max(abs(w["volume"] / w["exact_volume"] - 1) for w in results)
    compressed = weibull_uniform(5.5, -5e8, reference_volume=v0, comm=comm)["probability"]
    values = ", ".join(f"{w['probability']:.3g} (m = {m:g}, {s / 1e6:g} MPa)" for (m, s), w in zip(cases, results))
    return [Row("verification", "Weibull failure probability of a uniform σ₁ on a hollow sphere (R = 8 µm, a = 2 µm, "
                "V₀ = 1000 µm³, σ₀ = 100 MPa)", "1 − exp(−(V/V₀)(σ/σ₀)^m)", f"{error:.2g}", "relative",
                "risk and P_f within 1e-10; P_f = 0 in compression", error < 1e-10 and compressed == 0.0,
                f"P_f {values}; volume error {volume:.1g}; P_f at −500 MPa {compressed:g}", "both")]


def _check_paris(out: Path, full: bool, comm) -> list[Row]:
    """Paris law: cycles to failure, closed form vs the quadrature of ∫ da/(C ΔK^m) and the numerical a(N)."""
    from sim.fracture.verification import paris_life

    exponents = (2.0, 2.2, 4.0)
    lives = [paris_life(m) for m in exponents]
    quad_error = max(abs(r["closed_form"] / r["integral"] - 1) for r in lives)
    num_error = max(abs(r["numerical"] / r["closed_form"] - 1) for r in lives)
    path_error = max(_max_relative(r["a_numerical"], r["a_closed_form"]) for r in lives)
    ok = quad_error < 1e-9 and num_error < 1e-6 and path_error < 1e-6 and all(r["failed_by_twice_life"] for r in lives)
    return [Row("verification", "Paris-law cycles to failure (a₀ = 20 nm, Δσ = 80 MPa, σ_max = 100 MPa, "
                "K_Ic = 0.5 MPa·m^½, Y = 1.12, m = 2, 2.2, 4): closed form vs quadrature of the integral",
                "∫ da/(C ΔK^m) from a₀ to a_c", f"{quad_error:.2g}", "relative",
                "< 1e-9; the numerical a(N) and its failure cycle within 1e-6", ok,
                f"N_f {', '.join(format(r['closed_form'], '.4g') for r in lives)}; numerical integration: failure cycle "
                f"within {num_error:.1g}, a(N) within {path_error:.1g} of the closed-form a(N)", "both")]


def _check_pf_fatigue(out: Path, full: bool, comm) -> list[Row]:
    """Phase-field fatigue (Carrara 2020) of a homogeneous AT2 bar: cycles to d = 0.4 vs the hand recursion,
    and cycle jumping vs cycle by cycle."""
    from sim.fracture.verification import FATIGUE_FAILED, cycled_bar, homogeneous_fatigue_cycles

    expected = homogeneous_fatigue_cycles()
    _, every, _ = cycled_bar(jump=False, comm=comm)
    _, jumped, _ = cycled_bar(jump=True, comm=comm)
    n, nj = every.cycles_to_failure, jumped.cycles_to_failure
    quantity = f"phase-field fatigue (AT2, Carrara 2020), bar cycled 0 → ε_a with ψ_a = α_T/30: cycles to d = {FATIGUE_FAILED:g}"
    rows = [Row("verification", f"{quantity}, cycle by cycle", f"{expected} (homogeneous recursion)", f"{n}", "cycles",
                "equal", n is not None and n == expected,
                "recursion: d = ψ_a/(ψ_a + f(ᾱ) G_c/(2ℓ)), ᾱ += g(d) ψ_a per cycle", "both")]
    ok = n is not None and nj is not None and abs(nj / n - 1) < 0.03 and jumped.computed_cycles < n / 8
    rows.append(Row("verification", f"{quantity}, with cycle jumping", f"{n} (cycle by cycle)", f"{nj}", "cycles",
                    "within 3 %, fewer than 1/8 of the cycles computed", ok,
                    f"{'-' if nj is None or n is None else f'{nj / n - 1:+.2g}'} relative; {jumped.computed_cycles} "
                    f"cycles computed (the fatigue factor changes ≤ 10 % per jump)", "both"))
    return rows


def _check_pf_mesh_convergence(out: Path, full: bool, comm) -> list[Row]:
    """Issue 9 item 8's "converged ℓ/h": the shipped Liu 10C phase-field case (ℓ/h = 3.3 at the void and pores)
    against the same run at ℓ/h = 4.8; --full only (two runs of the shipped case)."""
    from sim.lithium.case import load_case
    from sim.lithium.run import run_case

    if not full:
        return []
    case = LIU_CASES / "liu2024_10C_phase_field.toml"
    runs, sizes, ratios = {}, {}, {}
    for label, overrides in (("shipped", {}), ("refined", {"mesh.size_inner": "0.0208 um"})):
        params = load_case(case, overrides).load_params()
        sizes[label] = params.mesh.size_inner
        ratios[label] = params.mechanics.phase_field_length / sizes[label]
        runs[label] = run_case(case, out / label, overrides, comm=comm, progress=False, overwrite=True,
                               outputs="minimal", origin="sim validate")
    change = {key: abs(runs["refined"]["fracture"][key] / runs["shipped"]["fracture"][key] - 1)
              for key in ("damage_max", "crack_area_end_m2")}
    worst = max(change.values())
    return [Row("verification", "Liu 2024 10C phase field (AT2 spectral, finite strain) to 20 % DOD: d_max and crack "
                f"area at ℓ/h = {ratios['shipped']:.2g} (shipped) vs {ratios['refined']:.2g}",
                f"the ℓ/h = {ratios['refined']:.2g} run", f"{worst:.2g}", "relative", "< 1 % (converged ℓ/h)", worst < 0.01,
                f"d_max {runs['shipped']['fracture']['damage_max']:.4g} → {runs['refined']['fracture']['damage_max']:.4g} "
                f"({change['damage_max']:.2g}); crack area {runs['shipped']['fracture']['crack_area_end_m2']:.4g} → "
                f"{runs['refined']['fracture']['crack_area_end_m2']:.4g} m² ({change['crack_area_end_m2']:.2g}); "
                f"validation/cases/liu2024_10C_phase_field.toml with mesh.size_inner {sizes['shipped'] * 1e6:.3g} → "
                f"{sizes['refined'] * 1e6:.3g} µm", "full")]


def _max_relative(a, b) -> float:
    """max |a/b − 1| over two arrays."""
    import numpy as np
    return float(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1)))


# --------------------------------------------------------------------------- published targets
def _check_csernica(out: Path, full: bool, comm) -> list[Row]:
    """Csernica 2021 rows from the oxygen helper's ``validation/csernica2021/validate.py``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("csernica2021_validate", CSERNICA)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.validate(out, comm)
    return [Row(r["paper"], r["quantity"], r["published"], r["ours"], r["unit"], r["tolerance"], r["ok"],
                r.get("note", ""), "both") for r in rows]   # the same runs in fast and full mode


def _bridge_hoop_at_end(out: Path) -> float:
    import numpy as np

    data = np.genfromtxt(out / "timeseries.csv", delimiter=",", names=True)
    return float(np.atleast_1d(data["hoop_bridge_Pa"])[-1])


def _check_liu(out: Path, full: bool, comm) -> list[Row]:
    """Liu 2024: bridge-point hoop at 10C / 20 % DOD and its ratio to 0.1C (shipped cases; coarse when fast)."""
    from sim.lithium.run import run_case

    coarse = {} if full else {"mesh.size_outer": "1.6 um", "mesh.size_inner": "0.1 um", "mesh.order": 1,
                              "output.maps_at_dod": []}
    hoop = {}
    for rate in ("10C", "0p1C"):
        run_case(LIU_CASES / f"liu2024_{rate}.toml", out / rate, overrides=coarse, comm=comm, progress=False,
                 overwrite=True)
        hoop[rate] = _bridge_hoop_at_end(out / rate)
    ratio = hoop["10C"] / hoop["0p1C"]
    mesh = "shipped mesh" if full else "coarse mesh (size_inner 0.1 um), run --full for the shipped one"
    return [Row("Liu 2024", "hoop stress at the bridge point, 10C, 20 % DOD", 3.17e8, f"{hoop['10C']:.3g}", "Pa",
                "within x2", 0.5 < hoop["10C"] / 3.17e8 < 2, mesh),
            Row("Liu 2024", "bridge hoop ratio 10C / 0.1C at 20 % DOD", "~100 (>= 2 orders)", f"{ratio:.3g}", "-",
                "within x2 of 100", 50 <= ratio <= 200, f"0.1C bridge hoop {hoop['0p1C']:.3g} Pa; {mesh}")]


def _check_liu_calibrated(out: Path, full: bool, comm) -> list[Row]:
    """Liu 2024 calibrated set (params/liu2024_calibrated.toml) at 10C and 0.1C on the sweep's coarse mesh, and
    the sensitivity result stored with it (validation/liu2024/sensitivity.json + figure); --full only."""
    import shutil

    from sim.params import load_params
    from sim.sensitivity import FACTORS, TARGET_HOOP, bridge_hoop

    calibrated, stored = resources.data_dir("params") / "liu2024_calibrated.toml", resources.data_dir("liu2024")
    if not full or not calibrated.exists():
        return []
    out.mkdir(parents=True, exist_ok=True)
    h10, h01 = bridge_hoop(calibrated, 10, out / "10C", comm), bridge_hoop(calibrated, 0.1, out / "0p1C", comm)
    pset = load_params(calibrated)
    outside = [k for k, src in pset.sources.items() if "OUTSIDE the range" in src]
    honesty = ("calibrated entries outside their literature ranges: " + ", ".join(outside)) if outside else \
        "every calibrated entry inside its literature range"
    rows = [Row("Liu 2024", "calibrated set (liu2024_calibrated): bridge hoop stress, 10C, 20 % DOD", TARGET_HOOP,
                f"{h10:.3g}", "Pa", "within x2", 0.5 < h10 / TARGET_HOOP < 2,
                f"FITTED to this number (coarse sweep mesh); {honesty}"),
            Row("Liu 2024", "calibrated set: bridge hoop ratio 10C / 0.1C", "~100 (>= 2 orders)", f"{h10 / h01:.3g}",
                "-", "within x2 of 100", 50 <= h10 / h01 <= 200, f"the same set; {honesty}")]
    summary = stored / "sensitivity.json"
    if summary.exists():
        s = json.loads(summary.read_text())
        for png in stored.glob("*.png"):
            shutil.copy(png, out / png.name)
        top = max(s.get("sobol_hoop_10C", {"-": {"ST": 0}}).items(), key=lambda kv: kv[1]["ST"])
        top_r = max(s.get("sobol_ratio", {"-": {"ST": 0}}).items(), key=lambda kv: kv[1]["ST"])

        def index(kv):       # ST with its bootstrap 95 % half-width when the run stored one
            conf = kv[1].get("ST_conf")
            return f"ST {kv[1]['ST']:.2f}" + ("" if conf is None else f" ± {conf:.2f}")
        ranges = "; ".join(f"{f.name} {f.low:g}-{f.high:g} {f.unit}".strip() for f in FACTORS)
        rows.append(Row("Liu 2024", "Sobol sensitivity: samples consistent with both numbers (within x2 and ratio "
                        "50-200) among Saltelli samples over the literature ranges", "> 0 if reachable",
                        f"{s['consistent_samples']} of {s['samples']}", "-", ">= 1", s["consistent_samples"] >= 1,
                        f"N = {s['n']}, coarse sweep mesh; largest total index of the 10C stress: {top[0]} "
                        f"({index(top)}), of the ratio: {top_r[0]} ({index(top_r)}); max 10C stress sampled "
                        f"{s['max_hoop_10C_Pa']:.3g} Pa; ranges: "
                        f"{ranges}", "full"))
    return rows


def _check_gitt(out: Path, full: bool, comm) -> list[Row]:
    """Li 2019: D from simulated GITT (Weppner–Huggins) at the start of charge and near 0.7 Li extracted."""
    import numpy as np

    from sim.scenarios import run_scenario

    run_scenario(SCENARIOS / "gitt_li2019.toml", out, quick=not full, comm=comm)
    rows = []
    pulses = np.genfromtxt(out / "pulses_solid_25nm.csv", delimiter=",", names=True)
    big = out / "pulses_solid_200nm.csv"
    start = np.genfromtxt(big, delimiter=",", names=True) if big.exists() else pulses
    d0 = float(np.atleast_1d(start["D_WH_R3_cm2_s"])[0])
    rows.append(Row("Li 2019", "GITT D_Li at the start of charge (WH on the simulated titration)", "~1e-14",
                    f"{d0:.3g}", "cm^2/s", "within x3", 1 / 3 < d0 / 1e-14 < 3,
                    "first pulse of the " + ("200 nm" if big.exists() else "25 nm (quick run)") + " solid particle; "
                    "the input D(x) is the li2019 table, so this checks that GITT gives back what went in"))
    li = np.atleast_1d(pulses["li_extracted"])
    near = np.abs(li - 0.7) < 0.06
    if near.any():
        d_wh = np.atleast_1d(pulses["D_WH_R3_cm2_s"])
        at = int(np.flatnonzero(near)[np.argmin(d_wh[near])])
        d07, drift = float(d_wh[at]), float(np.atleast_1d(pulses["rest_drift_mV_h"])[at])
        rows.append(Row("Li 2019", "GITT D_Li near 0.7 Li extracted", "~1e-17", f"{d07:.3g}", "cm^2/s",
                        "within x3", 1 / 3 < d07 / 1e-17 < 3,
                        f"25 nm solid particle; the 4 h rest ends with the voltage still drifting {drift:.2g} mV/h "
                        "(R²/D ≈ 170 h): ΔE_s is unrelaxed, and the surface leads the mean into the D minimum "
                        "(validation/scenarios/gitt_li2019.toml)"))
    else:
        rows.append(Row("Li 2019", "GITT D_Li near 0.7 Li extracted", "~1e-17", "not reached", "cm^2/s",
                        "within x3", None, f"titration ended at {li.max():.2f} Li extracted"
                        + ("" if full else " (quick run: 3 pulses; use --full)")))
    return rows


def _check_wang(out: Path, full: bool, comm) -> list[Row]:
    """Wang 2021 after 200 cycles, through the degradation loop (aging scenario): volume change, GITT D,
    overpotential."""
    from sim.scenarios import run_scenario

    s = run_scenario(SCENARIOS / "aging_wang2021.toml", out, quick=not full, comm=comm)
    fresh, aged = s["particles"]["fresh"], s["particles"]["aged"]
    loop = (f"degradation loop, cycles {s['cycles_solved']} solved; deactivated shell "
            f"{fresh['shell_thickness_m'] * 1e9:.0f} -> {aged['shell_thickness_m'] * 1e9:.0f} nm (theta = 0.5), "
            f"surface i0 {fresh['exchange_current_density_A_m2']:.2f} -> {aged['exchange_current_density_A_m2']:.2f} A/m^2, "
            f"active capacity {100 * fresh['active_capacity_fraction']:.1f} -> {100 * aged['active_capacity_fraction']:.1f} %")
    rows = [Row("Wang 2021", "unit-cell volume change over cycle 1", 1.1, f"{fresh['volume_change_over_cycle_pct']:.3g}",
                "%", "+-0.1 %", abs(fresh["volume_change_over_cycle_pct"] - 1.1) <= 0.1,
                "particle volume change (∫ div u) over the cycle; the fresh ΔV/V0(x) table is Wang's 1.1 %: an input "
                "reproduced by the mechanics"),
            Row("Wang 2021", "unit-cell volume change over cycle 200", 2.0, f"{aged['volume_change_over_cycle_pct']:.3g}",
                "%", "+-0.1 %", abs(aged["volume_change_over_cycle_pct"] - 2.0) <= 0.1,
                "FITTED, not a prediction: the rule ΔV/V0 x (1 + k Δm_Mn3+) has k fitted to this number (full mode); "
                f"what the loop adds is the primary-particle Mn3+ growth {fresh['primary_mn3_excess']:.3f} -> "
                f"{aged['primary_mn3_excess']:.3f} that k multiplies")]
    ratio = s["gitt_D_ratio_aged_to_fresh"]
    rows.append(Row("Wang 2021", "GITT D_Li after 200 cycles / fresh (first pulse, WH with the true V/S)",
                    "< 1 (drops; Fig. 7c not digitised)", f"{ratio:.3g}", "-", "< 0.8", ratio < 0.8,
                    f"{loop}; a shell this thin on an 8 um particle barely changes the apparent D"))
    eta = aged["overpotential_discharge_mid_V"]
    eta1 = fresh["overpotential_discharge_mid_V"]
    rows.append(Row("Wang 2021", "overpotential after 200 cycles (mid-discharge |φ_s − U(x̄)|, 1C)", "~100",
                    "not computed" if eta is None else f"{1e3 * abs(eta):.3g}", "mV", "within x2",
                    None if eta is None else 0.05 <= abs(eta) <= 0.2,
                    f"{loop}; mostly Butler–Volmer at the deactivated surface's i0; cycle 1 already has "
                    + ("-" if eta1 is None else f"{1e3 * abs(eta1):.3g}")
                    + " mV (the formation layer deactivates the surface before cycle 1; fresh i0 assumed 1 A/m^2)"))
    increase = s.get("overpotential_increase_mV")
    rows.append(Row("Wang 2021", "overpotential increase over 200 cycles (mid-discharge φ_s − U(x̄))",
                    "rises (to ~100 mV)", "not computed" if increase is None else f"{increase:.3g}", "mV", "> 50",
                    None if increase is None else increase > 50,
                    f"{loop}; decided by the i0 rule: (2RT/F) ln(i0_1/i0_200) in the Tafel regime, with θ̄ of the "
                    f"surface growing slowly (D_O of csernica2021); rules in the [degradation] section of "
                    f"params/wang2021.toml"))
    return rows


def _check_cracking(out: Path, full: bool, comm) -> list[Row]:
    """Liu 2024 "cracks nucleate inside, at the void–pore bridge, at 10C and not at 0.1C" through the shipped
    ``cracking_liu2024`` scenario (``--quick`` settings in fast mode: discharge only, coarse mesh)."""
    from sim.scenarios import run_scenario

    s = run_scenario(SCENARIOS / "cracking_liu2024.toml", out, quick=not full, comm=comm)
    runs, crit, mesh = s["runs"], s["critical"], s["mesh"]
    fast, slow = runs["discharge_10C"], runs["discharge_0.1C"]
    where = (f"{'quick' if s.get('quick') else 'shipped'} settings: {mesh['cells']} cells, ℓ/h = "
             f"{mesh['ell_over_h_inner']:.2g} at the void and pores, {s['geometry']}, {s['strain_model']} strain, "
             f"AT2 {s['phase_field']['split']}")
    sigma_f, g_c = s["tensile_strength_Pa"], s["fracture_energy_J_m2"]
    rows = [Row("Liu 2024", "discharge at 10C: where the largest σ₁ sits (the crack nucleation site)",
                "inside: the void–pore bridge", _place(fast["max_principal_location"], fast["max_principal_in_bridge_of"]),
                "-", "in a void–pore bridge", fast["max_principal_in_bridge_of"] is not None,
                f"σ₁ peak {fast['max_principal_max_Pa'] / 1e6:.3g} MPa at {100 * fast['max_principal_at_dod']:.3g} % DOD "
                f"(0.1C: {slow['max_principal_max_Pa'] / 1e6:.3g} MPa at "
                f"{_place(slow['max_principal_location'], slow['max_principal_in_bridge_of'])}); {where}")]
    d = crit["discharge"]
    ratio = d["stress_ratio_10C_to_0p1C_final"]
    rows.append(Row("Liu 2024", "discharge: max σ₁ at 10C / at 0.1C, at 20 % DOD", "~100 (cracks at 10C, not at 0.1C)",
                    f"{ratio:.4g}", "-", "within x2 of 100", 50 <= ratio <= 200,
                    f"bridge-point hoop ratio {d['bridge_hoop_ratio_10C_to_0p1C_final']:.4g}; quasi-steady: stress ∝ current"))
    low, high = d["strength_window_Pa"]
    on = d["onset_10C_at_critical_strength"]
    rows.append(Row("Liu 2024", "σ_f window in which the discharge cracks at 10C and not at 0.1C (strength criterion, "
                    "exact: max σ₁ over each run)", "cracks at 10C, not at 0.1C", f"({low / 1e6:.3g}, {high / 1e6:.3g}]",
                    "MPa", f"the set's σ_f = {sigma_f / 1e6:.3g} MPa inside", low < sigma_f <= high,
                    f"σ_f is ASSUMED ({s['tensile_strength_source']}); at σ_f = {high / 1e6:.3g} MPa the 10C onset is at "
                    + ("-" if on is None else f"{100 * on['dod']:.3g} % DOD near {on['location']}")))
    g_low, g_high = d["fracture_energy_window_J_m2"]
    check = d.get("verification")
    rerun = ("" if check is None else f"; a re-run at G_c* = {check['fracture_energy_J_m2']:.3g} J/m² gives d_max = "
             f"{check['damage_max']:.3g} (0.01 if the estimate holds)")
    rows.append(Row("Liu 2024", "G_c window in which the discharge cracks (d_max ≥ 0.01) at 10C and not at 0.1C (AT2 "
                    "phase field)", "cracks at 10C, not at 0.1C", f"({g_low:.2g}, {g_high:.2g}]", "J/m^2",
                    f"the set's G_c = {g_c:.3g} J/m² inside", g_low < g_c <= g_high,
                    f"G_c is ASSUMED ({s['fracture_energy_source']}; K_Ic: {s['fracture_toughness_source']}); estimate "
                    f"G_c* = G_c d_max/0.01 (AT2, d ≈ 2ℓH/G_c for d ≪ 1); d_max at the set's G_c "
                    f"{fast['damage_max']:.2g} (10C), {slow['damage_max']:.2g} (0.1C){rerun}"))
    charge = runs.get("charge_10C")
    if charge is not None:
        c = crit.get("charge", {})
        windows = "" if not c else (
            f"; windows σ_f ({c['strength_window_Pa'][0] / 1e6:.3g}, {c['strength_window_Pa'][1] / 1e6:.3g}] MPa, "
            f"G_c ({c['fracture_energy_window_J_m2'][0]:.2g}, {c['fracture_energy_window_J_m2'][1]:.2g}] J/m² "
            f"(the outer mesh does not resolve ℓ: damage not converged there)")
        rows.append(Row("Liu 2024", "charge (delithiation) at 10C: where the largest σ₁ sits", "the outer surface "
                        "(the contrast to discharge; not Liu's claim)",
                        _place(charge["max_principal_location"], charge["max_principal_in_bridge_of"]), "-", "outer",
                        charge["max_principal_location"] == "outer",
                        f"σ₁ peak {charge['max_principal_max_Pa'] / 1e6:.3g} MPa (0.1C: "
                        f"{runs['charge_0.1C']['max_principal_max_Pa'] / 1e6:.3g} MPa){windows}"))
    if "crack_path" in s:
        rows.append(_crack_path_row(s["crack_path"], s["capacity_fraction"], d["critical_fracture_energy_10C_J_m2"]))
    return rows


def _place(location: str, bridge: str | None) -> str:
    return f"{location} (bridge of {bridge} to the void)" if bridge else location


def _crack_path_row(path: dict, fraction: float, g_critical: float) -> Row:
    """The crack-path run as the scenario reports it: where d ≥ 0.5 first, how far it got (status, failure)."""
    half, status, failure = path.get("d_half_onset"), path.get("status"), path.get("failure")
    reached = f"{status}: t = {path['t_end_s']:.3g} s, {100 * path['dod_end']:.3g} % of {100 * fraction:.3g} % DOD"
    if failure:
        reached += f" (failure: {failure.get('message')})"
    if half is None:
        ours, ok = "d < 0.5 everywhere", (False if status == "completed" else None)
    else:
        ours, ok = _place(half["location"], half.get("in_bridge_of")), half.get("in_bridge_of") is not None
    onset = path.get("damage_onset")
    first = ("" if onset is None else f"first d > 0.01 at {onset['location']} (t = {onset['t_s']:.3g} s); ") + (
        "" if half is None else f"d ≥ 0.5 first at t = {half['t_s']:.3g} s, {100 * half['dod']:.3g} % DOD; ")
    extent = path.get("d_half_reach_from_centre_m")
    state = ", ".join(f"{label} {path[key]:{spec}}{unit}" for key, label, spec, unit in (
        ("damage_max", "d_max", ".3g", ""), ("crack_area_m2", "crack area", ".2g", " m²")) if path.get(key) is not None)
    return Row("Liu 2024", f"crack path: 10C discharge with G_c = {path['fracture_energy_J_m2']:.2g} J/m² (G_c*/"
               f"{g_critical / path['fracture_energy_J_m2']:.0f}): where d ≥ 0.5 first", "the void–pore bridge "
               "(nucleates inside)", ours, "-", "in a void–pore bridge (n/a if the run failed before d = 0.5)", ok,
               f"{first}{reached}; {state}" + ("" if not extent else f", d ≥ 0.5 reaches {extent * 1e6:.3g} µm from the centre"))


def _check_fatigue(out: Path, full: bool, comm) -> list[Row]:
    """Wang 2021 "aged particles crack": cycles to crack onset, fresh vs aged, by the Paris law and by
    phase-field fatigue (shipped ``fatigue_wang2021`` scenario; its ``--quick`` settings in fast mode, 16 s on
    idle cores: 1D hollow Paris runs, a shorter phase-field horizon)."""
    from sim.scenarios import run_scenario
    from sim.scenarios.case import load_case

    path = SCENARIOS / "fatigue_wang2021.toml"
    case = load_case(path, quick=not full)
    s = run_scenario(path, out, quick=not full, comm=comm)
    horizons = {"paris": case.integer("cycles", 1_000_000), "phase_field": case.integer("pf_cycles", 100_000)}
    paris, pf = s["paris"], s["phase_field"]
    rows = []
    for model, what, detail in (
            ("paris", f"Paris law at the max-principal hot spots ({case.settings.get('geometry', 'hollow')})",
             (f"hot spot at {paris['fresh']['hot_spot_location']} / {paris['aged']['hot_spot_location']}; stress "
              f"range {_mpa(paris['fresh']['stress_range_Pa'])} / {_mpa(paris['aged']['stress_range_Pa'])} MPa; a_c "
              f"{_um(paris['fresh']['critical_size_m'])} / {_um(paris['aged']['critical_size_m'])} µm; a₀, C, m, K_Ic "
              "ASSUMED (PyBaMM graphite/NMC, LiMn₂O₄)")),
            ("phase_field", "AT2 phase-field fatigue (Carrara 2020) with cycle jumping, 1D hollow sphere",
             (f"{pf['fresh']['computed_cycles']} / {pf['aged']['computed_cycles']} cycles computed; α_T "
              f"{pf['aged']['alpha_threshold_J_m3']:.3g} J/m³ = G_c/(12ℓ), ℓ and G_c ASSUMED"))):
        fresh, aged = (s[model][k]["cycles_to_onset"] for k in ("fresh", "aged"))
        horizon = horizons[model]
        ratio = s["ratio_fresh_to_aged"][model]
        ratio = (f"{ratio:.3g}" if ratio is not None else f"> {horizon / aged:.3g}" if aged else "-")
        ok = None if aged is None and fresh is None else (aged is not None and (fresh is None or aged < fresh))
        rows.append(Row("Wang 2021", f"1C cycles (4.6 ↔ 2.8 V) to crack onset, fresh / aged: {what}",
                        "aged cracks sooner", f"{_cycles(fresh, horizon)} / {_cycles(aged, horizon)}", "cycles",
                        "aged < fresh", ok,
                        f"ratio fresh/aged {ratio}; {detail}; the counts rest on the "
                        "assumed constants, the ordering on the stress ranges"))
    return rows


def _check_crack_map(out: Path, full: bool, comm) -> list[Row]:
    """The shipped crack / no-crack map over C-rate × void radius × pore–void gap (``sweeps/crack_map_gap.toml``,
    27 coarse axisymmetric cases), --full only: one row per geometry with `cracks` and max σ₁/σ_f per C-rate.
    The sweep runs as ``sim sweep`` in a child process (Dask workers stay out of this process's later solves)."""
    import subprocess
    import sys

    import pandas as pd

    if not full:
        return []
    sweep = resources.data_dir("sweeps") / "crack_map_gap.toml"
    if comm.rank == 0:
        done = subprocess.run([sys.executable, "-m", "sim", "sweep", str(sweep), "--out", str(out), "--workers", "2",
                               "--no-progress"], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"sim sweep {sweep.name} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    comm.barrier()
    return crack_map_rows(pd.read_csv(out / "results.csv"))


def crack_map_rows(df) -> list[Row]:
    """Rows of the crack map from a ``sim sweep`` results table (columns case_id, status, params (the geometry
    file void<a>um_gap<g>um.toml), protocol[0].c_rate, cracks, fracture.max_principal_over_strength_max)."""
    failed = df[df["status"] != "ok"]
    if len(failed):
        raise RuntimeError(f"{len(failed)} crack-map case(s) did not finish: {', '.join(failed['case_id'])}")
    rate, ratio = "protocol[0].c_rate", "fracture.max_principal_over_strength_max"
    rows = []
    for geometry, group in df.groupby("params", sort=True):
        name = Path(geometry).stem                               # void<a>um_gap<g>um
        void, gap = (float(v.removesuffix("um")) for v in name.removeprefix("void").split("_gap"))
        cells = {f"{c:g}C": {"cracks": bool(k), "ratio": float(r)}
                 for c, k, r in sorted(zip(group[rate], group["cracks"], group[ratio]))}
        rows.append(Row("crack map", f"void radius {void:g} µm, pore–void gap {gap:g} µm", "-",
                        ", ".join(f"{c}: {'cracks' if v['cracks'] else 'no'} ({v['ratio']:.2f})" for c, v in cells.items()),
                        "-", "-", None, "cracks: σ₁ ≥ σ_f (100 MPa, assumed) or a 20 nm flaw's G ≥ G_c; in brackets max "
                        "σ₁/σ_f", "full", values={"void_um": void, "gap_um": gap, "rates": cells}))
    return rows


def crack_map_table(rows) -> list[str]:
    """The README's crack map: one line per (void radius, gap), one column per C-rate: yes/no (max σ₁/σ_f)."""
    rows = [r for r in rows if r.get("check") == "crack_map_gap" and r.get("values")]
    if not rows:
        return []
    table = MarkdownTable(["void radius, gap \\ C-rate", *rows[0]["values"]["rates"]])
    for r in sorted(rows, key=lambda r: (r["values"]["void_um"], r["values"]["gap_um"])):
        v = r["values"]
        table.add(f"{v['void_um']:g} µm, {v['gap_um']:g} µm",
                  *(("**yes**" if c["cracks"] else "no") + f" ({c['ratio']:.2f})" for c in v["rates"].values()))
    return table.lines()


def _cycles(n, horizon: int) -> str:
    return f"> {horizon:.3g} (none)" if n is None else f"{n:.3g}"


def _mpa(v) -> str:
    return "-" if v is None else f"{v / 1e6:.3g}"


def _um(v) -> str:
    return "-" if v is None else f"{v * 1e6:.3g}"


CHECKS = {
    "wh_closed_form": ("verification", _check_wh_closed_form),
    "wh_fe_solver": ("verification", _check_wh_fe),
    "li_sphere": ("verification", _check_li_sphere),
    "oxygen_crank": ("verification", _check_oxygen_crank),
    "oxygen_formation": ("verification", _check_oxygen_formation),
    "li_fit": ("verification", _check_li_fit),
    "liu2024_convergence": ("verification", _check_liu_convergence),
    "csernica2021": ("target", _check_csernica),
    "liu2024": ("target", _check_liu),
    "liu2024_calibrated": ("target", _check_liu_calibrated),
    "li2019_gitt": ("target", _check_gitt),
    "wang2021_aging": ("target", _check_wang),
    "pf_bar_peak": ("verification", _check_pf_bar),
    "pf_crack_energy": ("verification", _check_pf_crack_energy),
    "strength_onset": ("verification", _check_strength_onset),
    "weibull": ("verification", _check_weibull),
    "paris_life": ("verification", _check_paris),
    "pf_fatigue_bar": ("verification", _check_pf_fatigue),
    "pf_mesh_convergence": ("verification", _check_pf_mesh_convergence),
    "cracking_liu2024": ("target", _check_cracking),
    "fatigue_wang2021": ("target", _check_fatigue),
    "crack_map_gap": ("target", _check_crack_map),
}
# the fracture rows go to their own README tables (fracture, fracture_targets), not to targets/verification
FRACTURE_CHECKS = ("pf_bar_peak", "pf_crack_energy", "strength_onset", "weibull", "paris_life", "pf_fatigue_bar",
                   "pf_mesh_convergence", "cracking_liu2024", "fatigue_wang2021", "crack_map_gap")


# --------------------------------------------------------------------------- report
def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v).replace("|", "/")


def _difference(published, ours) -> str:
    try:
        p, o = float(published), float(ours)
    except (TypeError, ValueError):
        return "-"
    return f"{(o - p) / p * 100:+.0f} %" if p else "-"


def _status(ok) -> str:
    return {True: "yes", False: "**no**", None: "n/a"}[ok]


def target_table(targets) -> list[str]:
    """Markdown rows of the published-targets table (also the README table)."""
    table = MarkdownTable(["paper", "quantity", "published", "ours", "unit", "difference", "tolerance", "within",
                           "mode", "note"])
    for r in targets:
        table.add(r["paper"], _fmt(r["quantity"]), _fmt(r["published"]), _fmt(r["ours"]), r["unit"],
                  _difference(r["published"], r["ours"]), _fmt(r["tolerance"]), _status(r["ok"]), r.get("mode", ""),
                  _fmt(r["note"]))
    return table.lines()


def verification_table(verification) -> list[str]:
    table = MarkdownTable(["check", "reference", "error", "unit", "requirement", "pass", "mode", "note"])
    for r in verification:
        table.add(_fmt(r["quantity"]), _fmt(r["published"]), _fmt(r["ours"]), r["unit"], _fmt(r["tolerance"]),
                  _status(r["ok"]), r.get("mode", ""), _fmt(r["note"]))
    return table.lines()


def convergence_table(verification) -> list[str]:
    """The Liu 2024 bridge-point convergence rows of a full run (empty when the check did not run)."""
    row = next((r for r in verification if r["quantity"].startswith("Liu 2024 bridge-point")), None)
    if row is None:
        return []
    levels = [lvl.split("/") for lvl in row["note"].split(": ", 1)[1].split(";")]
    table = MarkdownTable(["size_inner (µm)", "size_outer (µm)", "cells", "bridge hoop (Pa)", "change"])
    prev = None
    for inner, outer, cells, hoop in levels:
        change = "–" if prev is None else f"{abs(float(hoop) - prev) / abs(float(hoop)) * 100:.2g} %"
        table.add(inner, outer, cells, f"{float(hoop):.4e}", change)
        prev = float(hoop)
    return table.lines()


def update_readme(result, readme: Path = README) -> list[str]:
    """Replace the text between ``<!-- validate:NAME -->`` and ``<!-- /validate:NAME -->`` in ``readme`` with
    the tables of a full run (NAME: targets, verification, liu_convergence, and fracture / fracture_targets /
    crack_map: the rows of :data:`FRACTURE_CHECKS`, which the first two leave out); returns the names rewritten. A table
    without rows leaves its markers' text alone."""
    if not result.get("full"):
        raise ValueError("README tables come from a --full run")

    def split(rows, fracture: bool):
        return [r for r in rows if (r.get("check") in FRACTURE_CHECKS) == fracture]
    targets, verification = result["targets"], result["verification"]
    tables = {"targets": target_table(split(targets, False)),
              "verification": verification_table(split(verification, False)),
              "liu_convergence": convergence_table(verification),
              "fracture": verification_table(split(verification, True)),
              "fracture_targets": target_table([r for r in split(targets, True) if r.get("check") != "crack_map_gap"]),
              "crack_map": crack_map_table(targets)}
    text = readme.read_text()
    done = []
    for name, lines in tables.items():
        pattern = re.compile(rf"(<!-- validate:{name} -->\n).*?(<!-- /validate:{name} -->)", re.S)
        if len(lines) > 2 and pattern.search(text):      # header and separator alone: nothing to write
            body = "\n".join(lines) + "\n"
            text = pattern.sub(lambda m: m.group(1) + body + m.group(2), text)
            done.append(name)
    readme.write_text(text)
    return done


def _write_report(path: Path, targets, verification, errors, timings, full) -> None:
    lines = ["# Validation report", "",
             f"Mode: {'full' if full else 'fast subset (coarse meshes, short protocols; run with --full for all)'}.",
             "Targets from docs/physics.md \"Published targets\"; 'difference' is (ours − published)/published.", "",
             "## Published targets", "",
             *target_table(targets)]
    lines += ["", "## Verification (closed forms, convergence orders)", "", *verification_table(verification)]
    figures = sorted(p for p in path.parent.rglob("*.png"))
    if figures:
        lines += ["", "## Figures", ""]
        lines += [f"![{p.stem}]({p.relative_to(path.parent).as_posix()})" for p in figures]
    lines += ["", "## Run", "", "| check | wall time (s) |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
    if errors:
        lines += ["", "## Errors (checks that did not run)", ""]
        for e in errors:
            lines += [f"### {e['check']}", "", f"{e['error']}", "", "```", e["traceback"].rstrip(), "```", ""]
    path.write_text("\n".join(lines) + "\n")
