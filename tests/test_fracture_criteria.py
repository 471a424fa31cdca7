"""Fracture onset criteria against closed forms (docs/physics.md M5).

* flaws: G of a surface flaw (1.12 σ)² π a / E′ and of a penny flaw (2σ√(a/π))²/E′, evaluated by hand;
* Weibull: P_f of a uniform field set directly (DG0) = 1 − exp(−(V/V₀)(σ/σ₀)^m), and of a linear field
  σ = σ* r/R on a sphere, whose risk is (4π R³/(m + 3))/V₀ (σ*/σ₀)^m, through the integration routine the
  recorder uses (geometry weights 4πr², 2πr);
* strength onset on a galvanostatic solid sphere (charge: surface hoop K(c̄ − c_s) tensile) against the
  time at which the closed-form surface hoop stress reaches σ_f, converging as mesh and Δt are refined.
"""
from __future__ import annotations

import json
import math

import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import numpy as np
import pytest

from sim.fracture import criteria, verification
from sim.params import load_params

E, NU = 150e9, 0.3
R_LMR = load_params("lmr_default").geometry.particle_radius      # the onset sphere


def test_flaw_energy_release_rates_match_the_formulas():
    sigma, a = 2.0e8, 3.0e-8
    e_prime = E / (1 - NU**2)
    assert criteria.effective_modulus(E, NU) == pytest.approx(1.648351648e11, rel=1e-9)
    # surface flaw: K = 1.12 σ √(π a) = 1.12 * 2e8 * 3.0700e-4 = 6.8768e4 Pa m^½
    assert float(criteria.surface_flaw_sif(sigma, a)) == pytest.approx(6.87676e4, rel=1e-5)
    g = float(criteria.surface_flaw_energy_release_rate(sigma, a, E, NU))
    assert g == pytest.approx((1.12 * sigma) ** 2 * math.pi * a / e_prime, rel=1e-12)
    assert g == pytest.approx(2.868906e-2, rel=1e-5)
    # penny flaw: G = 4 σ² a / (π E′)
    g_penny = float(criteria.embedded_flaw_energy_release_rate(sigma, a, E, NU))
    assert g_penny == pytest.approx(4 * sigma**2 * a / (math.pi * e_prime), rel=1e-12)
    assert g_penny < g                       # the free surface opens a flaw more
    assert float(criteria.surface_flaw_energy_release_rate(-sigma, a, E, NU)) == 0.0   # closed in compression
    # G ∝ σ² ∝ C², so G reaches G_c at C √(G_c/G)
    assert criteria.critical_c_rate(2.0, g, 4 * g) == pytest.approx(4.0)
    assert criteria.critical_c_rate(2.0, 0.0, g) == math.inf


def test_first_crossing_interpolates_linearly():
    assert criteria.first_crossing(10.0, 0.5, 20.0, 1.5) == pytest.approx(15.0)
    assert criteria.first_crossing(0.0, 0.9, 1.0, 1.0) == pytest.approx(1.0)


@pytest.mark.parametrize("modulus", [2.0, 5.5])
def test_weibull_probability_of_a_uniform_field(modulus):
    R, a, v0, s0 = 8e-6, 2e-6, 1e-18, 1e8
    volume = 4 / 3 * math.pi * (R**3 - a**3)
    for sigma in (3e7, 6e7):
        w = verification.weibull_uniform(modulus, sigma, radius=R, void=a, reference_volume=v0, strength=s0)
        assert w["volume"] == pytest.approx(volume, rel=1e-12)
        expected = 1 - math.exp(-(volume / v0) * (sigma / s0) ** modulus)
        assert w["closed_form"] == pytest.approx(expected, rel=1e-14)
        assert w["probability"] == pytest.approx(expected, rel=1e-10)
        assert w["risk"] == pytest.approx((volume / v0) * (sigma / s0) ** modulus, rel=1e-10)
    # compression never breaks a weakest link
    assert verification.weibull_uniform(modulus, -5e8, radius=R, void=a)["probability"] == 0.0


def test_weibull_risk_of_a_linear_field_on_a_sphere_and_an_axisymmetric_ball():
    """σ = σ* r/R (DG1, exact): risk = (4π R³/(m + 3)) (σ*/σ₀)^m / V₀, in 1D and on a 2D (r, z) ball."""
    from dolfinx import fem
    from mpi4py import MPI

    from sim.mesh import mesh_from_params, radial_mesh

    m, s0, v0, s_star = 3.0, 1e8, 1e-18, 5e7
    R = 8e-6
    expected = 4 * math.pi * R**3 / (m + 3) * (s_star / s0) ** m / v0
    pmesh = radial_mesh(R, 0.0, n_cells=40, comm=MPI.COMM_WORLD)
    f = fem.Function(fem.functionspace(pmesh.mesh, ("DG", 1)))
    f.interpolate(lambda x: s_star * x[0] / R)
    w = criteria.WeibullIntegral(f, pmesh, strength=s0, modulus=m, reference_volume=v0)
    assert w.risk() == pytest.approx(expected, rel=1e-10)     # polynomial integrand: exact quadrature

    p = load_params("liu2024", {"geometry.void_radius": "0 um", "geometry.pores": []})
    ball = mesh_from_params(p, "axisym", order=2, comm=MPI.COMM_WORLD)
    R = p.geometry.particle_radius
    g = fem.Function(fem.functionspace(ball.mesh, ("DG", 1)))
    g.interpolate(lambda x: s_star * np.hypot(x[0], x[1]) / R)
    w = criteria.WeibullIntegral(g, ball, strength=s0, modulus=m, reference_volume=v0)
    expected = 4 * math.pi * R**3 / (m + 3) * (s_star / s0) ** m / v0
    assert w.risk() == pytest.approx(expected, rel=2e-3)      # DG1 of the curved-cell field: O(h²)


def test_strength_onset_time_on_a_galvanostatic_sphere_matches_the_closed_form(tmp_path):
    r = verification.strength_onset_convergence(tmp_path)
    t_exact, steady = r["t_onset_s"], r["steady_hoop_Pa"]
    assert r["strength_Pa"] == pytest.approx(0.6 * steady, rel=1e-14)
    for s, n in zip(r["summaries"], (10, 20, 40)):
        onset = s["fracture"]["onset"]
        assert onset["criterion"] == "max principal stress >= tensile strength"
        assert onset["location"] == "outer" and onset["position_m"] == pytest.approx([0, 0, R_LMR])
        assert s["fracture"]["max_principal_over_strength_max"] > 1
        assert s["cracks"] is True
        assert json.loads((tmp_path / f"onset_{n}" / "summary.json").read_text())["fracture"]["onset"]["t_s"] == \
            pytest.approx(onset["t_s"], rel=1e-12)
    errors = r["errors"]
    assert errors == pytest.approx([abs(s["fracture"]["onset"]["t_s"] - t_exact) / t_exact for s in r["summaries"]],
                                   rel=1e-12)
    print("onset time", t_exact, "s; relative errors", errors)
    assert errors[-1] < 0.01
    assert errors[0] > errors[1] > errors[2]
    assert math.log2(errors[1] / errors[2]) > 0.8   # measured 1.95, 1.98 (h and Δt halved together)
    # a strength above the steady stress is never reached
    s = verification.onset_case(tmp_path / "onset_10", 10, t_exact / 20, 1.2 * steady, 1.5 * t_exact)
    assert s["fracture"]["onset"] is None and s["fracture"]["max_principal_over_strength_max"] < 1
    assert json.loads((tmp_path / "onset_10" / "summary.json").read_text())["fracture"]["onset"] is None
