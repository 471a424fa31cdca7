"""Fracture models against closed forms (docs/physics.md M5): the numbers behind `sim validate`'s fracture rows
and the tests in ``tests/test_phase_field.py``, ``test_fracture_criteria.py``, ``test_fatigue_paris.py`` and
``test_phase_field_fatigue.py`` (both call these functions, so the README table and the tests measure the same).

Each function runs one small problem and returns numbers; the bounds live with the callers.

* :func:`bar_peak_stress`: displacement-driven 1D bar (ν = 0, no split). The homogeneous solution peaks at
  σ_c = √(3 E G_c/(8ℓ)) for AT1 (elastic until ψ = 3G_c/(16ℓ)) and σ_c = (9/16) √(E G_c/(3ℓ)) for AT2
  (Pham, Amor, Marigo, Maurini 2011; Tanné et al. 2018).
* :func:`straight_crack_toughness`: a crack (d = 1 held) across a long bar; the damage profile then minimises
  the crack energy and G_eff/G_c = ∫ γ dV / area → 1 as h/ℓ → 0: 1 + O((h/ℓ)²) for a node-aligned crack, and
  1 + h/(c_w ℓ) + … for a band one element wide (its own energy; Bourdin, Francfort, Marigo 2008).
* :func:`strength_onset_convergence`: σ₁ ≥ σ_f on a galvanostatic solid sphere on charge, where the surface
  hoop stress of Crank's series with the Timoshenko stresses (:mod:`sim.lithium.closed_form`) crosses σ_f.
* :func:`weibull_uniform`: P_f = 1 − exp(−(V/V₀)(σ⁺/σ₀)^m) for a uniform σ on a hollow sphere.
* :func:`paris_life`: N_f of the Paris law by the closed form against the quadrature of ∫ da/(C ΔK^m) and the
  numerical a(N).
* :func:`cycled_bar` / :func:`homogeneous_fatigue_cycles`: Carrara 2020 fatigue of a homogeneous AT2 bar cycled
  0 → ε_a → 0, against the same history by hand: d = H/(H + f G_c/(2ℓ)), ᾱ += g(d) ψ_a per cycle.

SI or scaled units as stated per function; collective under MPI where a mesh is built.
"""
from __future__ import annotations

import math

import numpy as np

E, GC, ELL = 1.0, 1.0, 0.1       # scaled bar units: the closed forms are homogeneous in E, G_c, ℓ
PEAK_GRID = 346                  # strain points to 2 √(G_c/(Eℓ)): a 0.58 % step that does not land on ε_c
RATIOS = (1, 2, 4, 8)            # ℓ/h of the straight-crack levels
FATIGUE_K = 1e-6                 # residual stiffness of the fatigue bar (the default)
FATIGUE_FAILED = 0.4             # d_max at "failure" of the fatigue bar; the homogeneous state localises past ~0.5
LINEAR_DV = {"x": [0.0, 1.0], "y": [0.0, 2.0], "x_unit": "", "y_unit": "%"}   # ΔV/V0 = 0.02 x
ONSET_LEVELS = ((10, 50), (20, 100), (40, 200))    # (cells, steps to the onset time): h and Δt halved together


def _comm(comm):
    from mpi4py import MPI
    return MPI.COMM_WORLD if comm is None else comm


# --------------------------------------------------------------------------- phase field: bar
def uniaxial(u):
    """3×3 strain of a 1D bar: ε_xx = u′ only (ν = 0, so uniaxial strain is uniaxial stress)."""
    import ufl
    return ufl.as_matrix([[u.dx(0), 0, 0], [0, 0, 0], [0, 0, 0]])


def loaded_bar(variant: str, split: str = "none", cells: int = 20, length: float = 1.0, comm=None, **options):
    """Bar [0, L] with u(0) = 0, u(L) = ε L, E = 1, G_c = 1, ℓ = 0.1 (ψ = E ε²/2); ``options`` go to
    :class:`~sim.fracture.options.PhaseFieldOptions`. Returns (PhaseField, load) where ``load(ε)`` solves the
    staggered problem at strain ε, commits it and returns the mean stress (1/L) ∫ σ dx."""
    import ufl
    from dolfinx import fem, mesh
    from mpi4py import MPI

    from sim.errors import SolverError
    from sim.fracture.options import PhaseFieldOptions
    from sim.fracture.phase_field import PhaseField

    comm = _comm(comm)
    msh = mesh.create_interval(comm, cells, [0, length])
    V = fem.functionspace(msh, ("Lagrange", 1))
    u = fem.Function(V)
    ubar = fem.Constant(msh, 0.0)
    bcs = [fem.dirichletbc(0.0, fem.locate_dofs_geometrical(V, lambda x: np.isclose(x[0], 0)), V),
           fem.dirichletbc(ubar, fem.locate_dofs_geometrical(V, lambda x: np.isclose(x[0], length)), V)]
    pf = PhaseField(u, bcs, uniaxial, 0.0, E / 2, weight=1.0, factor=1.0, structure="diagonal",
                    fracture=PhaseFieldOptions(variant=variant, split=split, **options), Gc=GC, ell=ELL)
    stress = fem.form(pf.degraded_stress(uniaxial(u))[0, 0] * ufl.dx)

    def load(strain: float) -> float:
        ubar.value = strain * length
        reason = pf.solve()
        if reason:
            raise SolverError(f"bar at strain {strain:.6g}: {reason}")
        pf.commit()
        return comm.allreduce(fem.assemble_scalar(stress), op=MPI.SUM) / length
    return pf, load


def peak_stress_closed_form(variant: str, youngs_modulus: float = E, fracture_energy: float = GC,
                            ell: float = ELL) -> float:
    """Peak of the homogeneous σ(ε): √(3EG_c/(8ℓ)) (AT1), (9/16)√(EG_c/(3ℓ)) (AT2)."""
    if variant == "AT1":
        return math.sqrt(3 * youngs_modulus * fracture_energy / (8 * ell))
    if variant == "AT2":
        return 9 / 16 * math.sqrt(youngs_modulus * fracture_energy / (3 * ell))
    raise ValueError(f"unknown variant {variant!r}; allowed: AT1, AT2")


def bar_peak_stress(variant: str, comm=None) -> dict:
    """Load the bar on a strain grid past the peak; returns {"peak", "closed_form", "relative_error",
    "interior" (the maximum is not at either end of the grid), "strains", "stresses", "pf"}."""
    pf, load = loaded_bar(variant, comm=comm)
    strains = np.linspace(0, 2.0, PEAK_GRID + 1)[1:] * math.sqrt(GC / (E * ELL))
    sigma = np.array([load(e) for e in strains])
    i = int(sigma.argmax())
    exact = peak_stress_closed_form(variant)
    return {"peak": float(sigma[i]), "closed_form": exact, "relative_error": float(sigma[i] / exact - 1),
            "interior": 0 < i < len(strains) - 1, "strains": strains, "stresses": sigma, "pf": pf}


# --------------------------------------------------------------------------- phase field: straight crack
def straight_crack_toughness(variant: str, band: bool, ratios=RATIOS, comm=None) -> dict:
    """Crack across a bar [−10ℓ, 10ℓ] (ℓ = 1) of unit cross-section at ℓ/h = ``ratios``: d = 1 on the node at 0
    (``band`` False) or on both nodes of the middle element (True), the damage solved around it.

    Returns {"ell_over_h", "dissipated" (J = G_c × G_eff/G_c for the unit area), "crack_area" (∫ γ dV),
    "toughness_factor" (G_eff/G_c), "excess" (G_eff/G_c − 1), "orders" (log₂ of successive excess ratios),
    "band_term" (h/(c_w ℓ) per level)}."""
    from dolfinx import fem, mesh

    from sim.errors import SolverError
    from sim.fracture.options import PhaseFieldOptions
    from sim.fracture.phase_field import C_W, PhaseField

    comm = _comm(comm)
    ell, half = 1.0, 10.0
    dissipated, area = [], []
    for n in ratios:
        h = ell / n
        shift = h / 2 if band else 0.0
        msh = mesh.create_interval(comm, int(2 * half / h) + (1 if band else 0), [-half - shift, half + shift])
        u = fem.Function(fem.functionspace(msh, ("Lagrange", 1)))
        crack = (lambda x, h=h: np.abs(x[0]) < 0.5001 * h) if band else (lambda x: np.isclose(x[0], 0.0))
        pf = PhaseField(u, [], uniaxial, 0.0, E / 2, weight=1.0, factor=1.0, structure="diagonal",
                        fracture=PhaseFieldOptions(variant=variant, split="none"), Gc=GC, ell=ell,
                        initial_crack=crack)
        reason = pf.solve_damage()
        if reason:
            raise SolverError(f"straight crack at l/h = {n}: {reason}")
        dissipated.append(pf.dissipated_energy())
        area.append(pf.crack_area())
    factor = np.array(dissipated) / GC
    excess = factor - 1
    return {"ell_over_h": list(ratios), "dissipated": dissipated, "crack_area": area,
            "toughness_factor": factor.tolist(), "excess": excess.tolist(),
            "orders": np.log2(excess[:-1] / excess[1:]).tolist(),
            "band_term": [1 / (C_W[variant] * n) for n in ratios]}


# --------------------------------------------------------------------------- strength onset
def onset_closed_form(strength_fraction: float = 0.6) -> dict:
    """The 1C charge of lmr_default's solid sphere from x = 0.8 with ΔV/V0 = 0.02 x: surface hoop σ_θθ(R, t)
    of the closed form, σ_f = ``strength_fraction`` × its steady value, and the time it reaches σ_f.

    Returns {"t_onset_s", "strength_Pa", "steady_hoop_Pa"}."""
    from scipy.optimize import brentq

    from sim.lithium.closed_form import galvanostatic_sphere_stresses
    from sim.lithium.transport import arrhenius
    from sim.params import load_params
    from sim.units import FARADAY

    p = load_params("lmr_default", {"transport.x_initial": "0.8", "mechanics.volume_change": LINEAR_DV})
    R, tr = p.geometry.particle_radius, p.transport
    D = tr.diffusivity.y[0] * arrhenius(tr, p.conditions.temperature)
    capacity = FARADAY * tr.c_max * (tr.x_max - tr.x_min) * 4 / 3 * math.pi * R**3
    J = -capacity / 3600.0 / (FARADAY * 4 * math.pi * R**2)          # 1C charge: Li leaves
    kw = dict(radius=R, diffusivity=D, flux=J, omega=0.02 / tr.c_max, youngs_modulus=p.mechanics.youngs_modulus,
              poisson_ratio=p.mechanics.poisson_ratio)

    def hoop(t):
        return galvanostatic_sphere_stresses(np.array([R]), t, **kw)["hoop"][0]

    steady = hoop(10 * R**2 / D)
    strength = strength_fraction * steady
    t_onset = brentq(lambda t: hoop(t) - strength, 1e-3, 10 * R**2 / D, xtol=1e-12)
    return {"t_onset_s": float(t_onset), "strength_Pa": float(strength), "steady_hoop_Pa": float(steady)}


def onset_case(out, n_cells: int, dt_max: float, strength: float, duration: float, comm=None) -> dict:
    """``sim run`` of the onset problem (radial, ``n_cells``, Δt ≤ ``dt_max`` s, σ_f = ``strength`` Pa, 1C charge
    for ``duration`` s) into ``out``; returns its summary."""
    from sim.lithium.run import run_case

    dt_max, strength, duration = float(dt_max), float(strength), float(duration)
    case = {"model": "lithium", "params": "lmr_default", "geometry": "radial",
            "parameters": {"transport.x_initial": 0.8, "mechanics.volume_change": LINEAR_DV,
                           "mechanics.tensile_strength": f"{strength!r} Pa"},
            "mesh": {"n_cells": n_cells}, "solver": {"dt_max": f"{dt_max!r} s"},
            "output": {"probes": {}}, "protocol": [{"step": f"charge at 1C for {duration!r} s"}]}
    return run_case(case, out, comm=comm, progress=False, outputs="minimal", overwrite=True)


def strength_onset_convergence(out, levels=ONSET_LEVELS, comm=None) -> dict:
    """The onset problem at each (cells, steps) of ``levels``, Δt = t_onset/steps, run to 1.5 t_onset in
    ``out/onset_<cells>``. Returns :func:`onset_closed_form`'s keys plus "levels", "summaries" (the runs'
    summaries), "errors" (|t − t_onset|/t_onset; inf when a run saw no onset) and "orders" (log₂ ratios)."""
    from pathlib import Path

    exact = onset_closed_form()
    t = exact["t_onset_s"]
    summaries, errors = [], []
    for n, steps in levels:
        s = onset_case(Path(out) / f"onset_{n}", n, t / steps, exact["strength_Pa"], 1.5 * t, comm=comm)
        onset = s["fracture"]["onset"]
        summaries.append(s)
        errors.append(math.inf if onset is None else abs(onset["t_s"] - t) / t)
    e = np.array(errors)
    return {**exact, "levels": list(levels), "summaries": summaries, "errors": errors,
            "orders": np.log2(e[:-1] / e[1:]).tolist()}


# --------------------------------------------------------------------------- Weibull
def weibull_uniform(modulus: float, sigma: float, *, radius: float = 8e-6, void: float = 2e-6,
                    reference_volume: float = 1e-18, strength: float = 1e8, cells: int = 7, comm=None) -> dict:
    """Weibull P_f of σ₁ = ``sigma`` (Pa, uniform, DG0) on a hollow sphere (radial mesh) through
    :class:`~sim.fracture.criteria.WeibullIntegral`, against 1 − exp(−(V/V₀)(σ⁺/σ₀)^m).

    Returns {"probability", "closed_form", "risk" ((1/V₀) ∫ (σ⁺/σ₀)^m dV), "closed_form_risk" ((V/V₀)(σ⁺/σ₀)^m),
    "volume" (integrated), "exact_volume" (4π(R³ − a³)/3)}."""
    from dolfinx import fem

    from sim.fracture.criteria import WeibullIntegral
    from sim.mesh import radial_mesh

    pmesh = radial_mesh(radius, void, n_cells=cells, comm=_comm(comm))
    field = fem.Function(fem.functionspace(pmesh.mesh, ("DG", 0)))
    field.x.array[:] = sigma
    w = WeibullIntegral(field, pmesh, strength=strength, modulus=modulus, reference_volume=reference_volume)
    volume = 4 / 3 * math.pi * (radius**3 - void**3)
    risk = volume / reference_volume * (max(sigma, 0.0) / strength) ** modulus
    return {"probability": w.probability(), "closed_form": -math.expm1(-risk), "risk": w.risk(),
            "closed_form_risk": risk, "volume": w.volume, "exact_volume": volume}


# --------------------------------------------------------------------------- Paris law
def paris_life(exponent: float, *, a0: float = 20e-9, delta_sigma: float = 8e7, sigma_max: float = 1e8,
               toughness: float = 0.5e6, coefficient: float = 3.9e-20, geometry_factor: float = 1.12) -> dict:
    """Cycles for a flaw a₀ to reach a_c = (K_Ic/(Y σ_max))²/π under da/dN = C (Y Δσ √(πa))^m, three ways.

    Returns {"a_c", "closed_form" (:func:`~sim.fracture.fatigue.cycles_to_failure`), "integral" (adaptive
    quadrature of ∫ da / (C ΔK^m)), "numerical" (the cycle at which :func:`~sim.fracture.fatigue.crack_growth`
    reaches a_c), "cycles", "a_numerical", "a_closed_form" (a(N) at 7 cycles below N_f: numerical and
    a(N) = (a₀^p + p B N)^(1/p), p = 1 − m/2, B = C(YΔσ√π)^m; a₀ e^(BN) at m = 2), "failed_by_twice_life"
    (the numerical a is NaN, failed, at 2 N_f)}."""
    from scipy.integrate import quad

    from sim.fracture import fatigue

    kw = dict(coefficient=coefficient, exponent=exponent, geometry_factor=geometry_factor)
    a_c = fatigue.critical_size(toughness, sigma_max, geometry_factor)
    n_f = fatigue.cycles_to_failure(a0, a_c, delta_sigma, **kw)
    b = coefficient * (geometry_factor * delta_sigma * math.sqrt(math.pi)) ** exponent
    integral, _ = quad(lambda a: 1.0 / (coefficient * (geometry_factor * delta_sigma * math.sqrt(math.pi * a))
                                        ** exponent), a0, a_c, epsabs=0, epsrel=1e-12, limit=200,
                       points=[10 * a0, 100 * a0])
    cycles = np.linspace(0.0, 0.999 * n_f, 7)
    # integrated on to 2 N_f, so that the integrator itself finds the failure cycle
    a, n_num = fatigue.crack_growth(a0, delta_sigma, np.append(cycles, 2 * n_f), a_c=a_c, **kw)
    p = 1 - exponent / 2
    exact = np.exp(b * cycles) * a0 if exponent == 2 else (a0**p + p * b * cycles) ** (1 / p)
    return {"a_c": a_c, "closed_form": n_f, "integral": integral, "numerical": n_num, "cycles": cycles,
            "a_numerical": a[:-1], "a_closed_form": exact, "failed_by_twice_life": bool(np.isnan(a[-1]))}


# --------------------------------------------------------------------------- phase-field fatigue
def _fatigue_strain(psi_fraction: float) -> float:
    """ε_a with ψ(ε_a) = E ε_a²/2 = ``psi_fraction`` α_T, α_T = G_c/(12ℓ) (the default threshold)."""
    return math.sqrt(2 * psi_fraction * GC / (12 * ELL) / E)


def cycled_bar(jump: bool, psi_fraction: float = 1 / 30, n_cycles: int = 5000, comm=None):
    """AT2 bar (4 cells, fatigue on) cycled between ε = 0 and ε_a (ψ(ε_a) = ``psi_fraction`` α_T) until
    d_max ≥ :data:`FATIGUE_FAILED`, cycle by cycle or with cycle jumping. Returns (PhaseField, CycleJumper,
    its table [(N, d_max)])."""
    from sim.fracture.pf_fatigue import CycleJumper

    pf, load = loaded_bar("AT2", cells=4, comm=comm, fatigue=True, residual_stiffness=FATIGUE_K)
    strain = _fatigue_strain(psi_fraction)

    def cycle():
        load(strain)
        load(0.0)
    jumper = CycleJumper(pf, cycle, failed=lambda: pf.damage_max() >= FATIGUE_FAILED, jump=jump)
    return pf, jumper, jumper.run(n_cycles)


def homogeneous_fatigue_cycles(psi_fraction: float = 1 / 30, n_cycles: int = 100000) -> int | None:
    """The cycled bar's homogeneous history by hand: per cycle d = ψ_a/(ψ_a + f(ᾱ) G_c/(2ℓ)) at ε_a, then
    ᾱ += g(d) ψ_a (the unloading adds nothing); the cycle after which d ≥ :data:`FATIGUE_FAILED` (None: not
    within ``n_cycles``)."""
    alpha_t = GC / (12 * ELL)
    psi, alpha = psi_fraction * alpha_t, 0.0

    def f(a):
        return 1.0 if a <= alpha_t else (2 * alpha_t / (a + alpha_t)) ** 2
    for n in range(1, n_cycles):
        d = psi / (psi + f(alpha) * GC / (2 * ELL))
        alpha += ((1 - d) ** 2 + FATIGUE_K) * psi
        if psi / (psi + f(alpha) * GC / (2 * ELL)) >= FATIGUE_FAILED:
            return n
    return None
