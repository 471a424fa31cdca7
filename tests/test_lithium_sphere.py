"""Li transport + BV + stress on 1D radial spheres against closed forms (physics.md M2/M3)."""
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import numpy as np
import pytest

from sim.errors import InputError
from sim.lithium.closed_form import galvanostatic_sphere_stresses, sphere_stresses, stress_constant
from sim.lithium.problem import LithiumProblem
from sim.lithium.protocol import Galvanostatic, Potentiostatic, Rest, Stop
from sim.lithium.transport import arrhenius
from sim.units import FARADAY, GAS_CONSTANT
from sim.mesh import radial_mesh
from sim.params import load_params

LINEAR_DV = {"x": [0.0, 1.0], "y": [0.0, 2.0], "x_unit": "", "y_unit": "%"}   # ΔV/V0 = 0.02 x: Ω = 0.02/c_max


def params(**extra):
    over = {"transport.x_initial": "0.34", "mechanics.volume_change": LINEAR_DV, **extra}
    return load_params("lmr_default", over)


def solve(p, n_cells, step, inner=0.0, dt_max=0.5, **kw):
    prob = LithiumProblem(p, radial_mesh(p.geometry.particle_radius, inner, n_cells=n_cells), dt_max=dt_max, **kw)
    prob.initialise()
    reason = prob.run_step(step)
    return prob, reason


def test_galvanostatic_sphere_matches_crank_with_second_order_convergence():
    """10C discharge to 20 % DOD (τ = 0.56): c vs the Crank series, stresses vs the closed form."""
    p = params()
    R, E, nu = p.geometry.particle_radius, p.mechanics.youngs_modulus, p.mechanics.poisson_ratio
    D = p.transport.diffusivity.y[0] * arrhenius(p.transport, p.conditions.temperature)
    omega = 0.02 / p.transport.c_max
    errors = []
    for n in (10, 20, 40):
        prob, reason = solve(p, n, Galvanostatic(10.0, "discharge", Stop(dod=0.2)), dt_max=0.5)
        assert reason == "dod" and prob.dod == pytest.approx(0.2, abs=1e-9)
        J = prob.current / (FARADAY * 4 * np.pi * R**2)
        r = np.linspace(0, R, 41)
        exact = galvanostatic_sphere_stresses(r, prob.t, radius=R, diffusivity=D, flux=J, omega=omega,
                                              youngs_modulus=E, poisson_ratio=nu)
        c = prob.evaluate("c", np.column_stack([r, 0 * r, 0 * r])) - 0.34 * p.transport.c_max
        hoop_R = prob.evaluate("hoop", np.array([[R, 0, 0]]))[0]
        errors.append((np.abs(c - exact["c"]).max() / np.abs(exact["c"]).max(),
                       abs(hoop_R - exact["hoop"][-1]) / abs(exact["hoop"][-1])))
        assert abs(prob.mass_balance_error) < 1e-12
    errors = np.array(errors)
    rates = np.log2(errors[:-1] / errors[1:])
    print("c / surface-hoop errors", errors, "rates", rates)
    assert errors[-1, 1] < 0.01 and errors[-1, 0] < 0.01
    assert np.all(rates[:, 1] > 1.9)     # surface hoop: measured 1.95, 1.96
    assert np.all(rates[:, 0] > 1.7)     # max-norm c (largest near the centre, r² weight): 1.77, 1.80


def test_surface_potential_follows_inverted_butler_volmer():
    """1D: the local current is the applied one, so φ_s = U(x_s) + (2RT/F) asinh(i/(2 i0)) for α = 1/2."""
    for model in ("constant", "sqrt"):
        p = params(**{"kinetics.i0_model": model})
        prob, _ = solve(p, 20, Galvanostatic(2.0, "charge", Stop(time=30.0)), mechanics=False)
        R, T = p.geometry.particle_radius, p.conditions.temperature
        x_s = prob.evaluate("x", np.array([[R, 0, 0]]))[0]
        i = -prob.current / (4 * np.pi * R**2)        # anodic, > 0 on charge
        i0 = p.kinetics.exchange_current_density * (2 * np.sqrt(x_s * (1 - x_s)) if model == "sqrt" else 1.0)
        expected = p.kinetics.ocv(x_s) + 2 * GAS_CONSTANT * T / FARADAY * np.arcsinh(i / (2 * i0))
        assert prob.potential == pytest.approx(expected, abs=1e-9)
        assert prob.potential > p.kinetics.ocv(x_s) + 1e-3      # overpotential of the right sign


@pytest.mark.parametrize("model", ["small", "finite"])
def test_uniform_concentration_gives_zero_stress(model):
    p = params(**{"transport.x_initial": "0.7", "mechanics.strain_model": model})
    prob, reason = solve(p, 12, Rest(Stop(time=5.0)))
    assert reason == "time" and prob.t == pytest.approx(5.0, rel=1e-14)
    scale = p.mechanics.youngs_modulus * 0.02 * 0.7
    u = prob.u.x.array
    assert np.abs(u).max() > 1e-3 * 0.02 * p.geometry.particle_radius      # the particle did swell
    for name, f in prob.stress_fields().items():
        assert np.abs(f.x.array).max() < 1e-9 * scale, name


def test_hollow_sphere_stresses_match_closed_form():
    """Hollow sphere: σ_θ(a|b) = K (c̄_shell − c(a|b)), whole profile vs Timoshenko with the FE c."""
    p = params(**{"geometry.void_radius": "2 um", "geometry.pores": []})
    a, b = p.geometry.void_radius, p.geometry.particle_radius
    prob, _ = solve(p, 120, Galvanostatic(10.0, "discharge", Stop(dod=0.1)), inner=a)
    K = stress_constant(0.02 / p.transport.c_max, p.mechanics.youngs_modulus, p.mechanics.poisson_ratio)
    r = np.linspace(a, b, 2001)
    pts = np.column_stack([r, 0 * r, 0 * r])
    c = prob.evaluate("c", pts)
    mean = prob.x_mean * p.transport.c_max
    hoop = prob.evaluate("hoop", pts)
    scale = np.abs(hoop).max()
    assert hoop[0] == pytest.approx(K * (mean - c[0]), abs=1e-3 * scale)
    assert hoop[-1] == pytest.approx(K * (mean - c[-1]), abs=1e-3 * scale)
    exact = sphere_stresses(r, c, inner_radius=a, omega=0.02 / p.transport.c_max,
                            youngs_modulus=p.mechanics.youngs_modulus, poisson_ratio=p.mechanics.poisson_ratio)
    for name in ("hoop", "radial"):
        assert np.abs(prob.evaluate(name, pts[::50]) - exact[name][::50]).max() < 2e-3 * scale, name
    assert hoop[0] > 0 > hoop[-1]      # insertion: inner face in tension, outer face in compression


def test_finite_strain_differs_from_small_strain_by_order_volume_change():
    """Relative difference of the surface hoop stress ~ ΔV/V0: halving ΔV/V0 halves it."""
    diffs = []
    for dv in (8.0, 4.0):
        table = {**LINEAR_DV, "y": [0.0, dv]}
        hoops = [solve(params(**{"mechanics.volume_change": table, "mechanics.strain_model": m}), 16,
                       Galvanostatic(10.0, "discharge", Stop(dod=0.1)))[0].evaluate("hoop", np.array([[8e-6, 0, 0]]))[0]
                 for m in ("small", "finite")]
        diffs.append(abs(hoops[1] - hoops[0]) / abs(hoops[0]))
        assert diffs[-1] < 2 * dv / 100
    assert 1.6 < diffs[0] / diffs[1] < 2.4, diffs


def test_protocol_lands_on_stops_and_conserves_mass():
    p = params()
    prob = LithiumProblem(p, radial_mesh(p.geometry.particle_radius, n_cells=16), dt_max=5.0)
    prob.initialise()
    seen = []
    assert prob.run_step(Galvanostatic(5.0, "discharge", Stop(dod=0.15)), on_step=lambda q: seen.append(q.t)) == "dod"
    assert prob.dod == pytest.approx(0.15, abs=1e-9) and seen[-1] == prob.t and len(seen) == prob.steps
    assert prob.run_step(Rest(Stop(time=20.0))) == "time"
    assert prob.current == 0.0
    t0 = prob.t
    assert prob.run_step(Galvanostatic(5.0, "discharge", Stop(voltage=3.8, time=1e4))) == "voltage"
    assert prob.potential == pytest.approx(3.8, abs=1e-6) and prob.t > t0
    assert prob.run_step(Potentiostatic(4.1, Stop(time=30.0))) == "time"
    assert prob.potential == 4.1 and prob.current < 0          # holding above OCV extracts Li
    assert prob.run_step(Galvanostatic(1.0, "charge", Stop(soc=prob.soc + 0.01))) == "soc"
    assert abs(prob.mass_balance_error) < 1e-12
    with pytest.raises(InputError, match="cannot reach dod"):
        prob.run_step(Galvanostatic(1.0, "charge", Stop(dod=0.9)))


def test_two_way_coupling_relaxes_the_gradient_and_conserves_mass():
    """Stress-driven flux moves Li towards tension (the centre on insertion): smaller |hoop|."""
    step = Galvanostatic(10.0, "discharge", Stop(dod=0.2))
    one, _ = solve(params(), 20, step)
    two, _ = solve(params(), 20, step, coupling="two-way")
    surface = np.array([[8e-6, 0, 0]])
    h1, h2 = one.evaluate("hoop", surface)[0], two.evaluate("hoop", surface)[0]
    assert 0 < h2 / h1 < 1 - 1e-4
    assert abs(two.mass_balance_error) < 1e-12
