"""Li solver options on 1D radial spheres: spatially varying D, saturation errors, start at x = 1, temperature.

Closed forms (physics.md M2): the galvanostatic sphere (Crank eq. 6.44) and its pseudo-steady state
for a radially piecewise-constant D(r): with dc̄/dt = A = 3J/R uniform, D(r) r² c' = A r³/3, so
c(R) − c(0) = (A/6) Σ_k (r_k+1² − r_k²) / D_k.
"""
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import numpy as np
import pytest

from sim.errors import InputError, SolverError
from sim.lithium.closed_form import galvanostatic_sphere
from sim.lithium.problem import LithiumProblem
from sim.lithium.protocol import Galvanostatic, Rest, Stop
from sim.lithium.transport import arrhenius
from sim.units import FARADAY, GAS_CONSTANT
from sim.mesh import radial_mesh
from sim.params import load_params

R = 8e-6


def problem(n_cells=20, *, x0="0.34", extra=None, **kw):
    p = load_params("lmr_default", {"transport.x_initial": x0, **(extra or {})})
    prob = LithiumProblem(p, radial_mesh(R, n_cells=n_cells), mechanics=False, **kw)
    prob.initialise()
    return p, prob


def profile(prob, n=41):
    r = np.linspace(0, R, n)
    return r, prob.evaluate("c", np.column_stack([r, 0 * r, 0 * r]))


def test_constant_diffusivity_scale_equals_scaled_d_and_the_crank_series():
    k = 0.4
    step = Galvanostatic(10.0, "discharge", Stop(dod=0.1))
    p, scaled = problem(40, diffusivity_scale=lambda X: np.full(X.shape[1], k), dt_max=0.5)
    assert scaled.run_step(step) == "dod"
    d = p.transport.diffusivity.y[0]
    _, direct = problem(40, extra={"transport.diffusivity": f"{k * d} m^2/s"}, dt_max=0.5)
    direct.run_step(step)
    r, c = profile(scaled)
    assert scaled.t == pytest.approx(direct.t, rel=1e-12)
    np.testing.assert_allclose(c, profile(direct)[1], rtol=1e-10)
    D = k * d * arrhenius(p.transport, p.conditions.temperature)
    J = scaled.current / (FARADAY * 4 * np.pi * R**2)
    exact, _ = galvanostatic_sphere(r, scaled.t, radius=R, diffusivity=D, flux=J, c0=0.34 * p.transport.c_max)
    rise = exact - 0.34 * p.transport.c_max
    assert np.abs(c - exact).max() < 3e-3 * np.abs(rise).max()     # 40 cells: 7.9e-4 (spatial; time error < 1e-4)
    assert abs(scaled.mass_balance_error) < 1e-12


def test_diffusivity_shell_matches_pseudo_steady_closed_form():
    """1C, τ = D t/R² ≈ 14 at 50 % DOD: pseudo-steady profile; a shell with D/10 (1 µm) lowers the
    surface-to-centre transport, so c(R) − c(0) grows from A R²/(6D) to the composite closed form.
    Measured relative errors (shell) 4.2e-4 / 1.2e-4 with 40 / 80 cells: order 1.85."""
    delta, f = 1e-6, 0.1
    step = Galvanostatic(1.0, "discharge", Stop(dod=0.5))
    shell = lambda X: np.where(X[0] > R - delta, f, 1.0)  # noqa: E731
    rises, errors = {}, []
    for label, scale, n in (("uniform", None, 40), ("shell", shell, 40), ("shell", shell, 80)):
        p, prob = problem(n, diffusivity_scale=scale)         # nodes at R − δ: the shell is exactly resolved
        assert prob.run_step(step) == "dod"
        assert abs(prob.mass_balance_error) < 1e-12
        c = prob.evaluate("c", np.array([[0.0, 0, 0], [R, 0, 0]]))
        D = p.transport.diffusivity.y[0] * arrhenius(p.transport, p.conditions.temperature)
        A = prob.current / (FARADAY * 4 / 3 * np.pi * R**3)   # dc̄/dt
        if scale is None:
            expected = A / 6 * R**2 / D
        else:
            expected = A / 6 * ((R - delta)**2 / D + (R**2 - (R - delta)**2) / (f * D))
        rises[label] = c[1] - c[0]
        errors.append(abs(rises[label] / expected - 1))
    assert errors[0] < 2e-3 and errors[2] < 3e-4, errors
    assert np.log2(errors[1] / errors[2]) > 1.6, errors
    assert rises["shell"] > 3 * A / 6 * R**2 / D


def test_diffusivity_scale_rejects_bad_values():
    p = load_params("lmr_default")
    with pytest.raises(InputError, match="diffusivity_scale"):
        LithiumProblem(p, radial_mesh(R, n_cells=4), diffusivity_scale=0.5)
    prob = LithiumProblem(p, radial_mesh(R, n_cells=4), mechanics=False, diffusivity_scale=lambda X: 0 * X[0])
    with pytest.raises(InputError, match="> 0"):
        prob.initialise()


def test_saturated_surface_raises_solver_error_with_cause():
    """10C discharge to DOD 1 cannot be carried: the surface reaches x = 1 first (near DOD 0.96)."""
    _, prob = problem(extra={"kinetics.i0_model": "constant"})
    with pytest.raises(SolverError, match="collapsed") as err:
        prob.run_step(Galvanostatic(10.0, "discharge", Stop(dod=1.0)))
    assert err.value.reason.startswith("SURFACE_SATURATED") and "stop earlier" in err.value.reason
    assert err.value.time == prob.t and 0.9 < prob.dod < 1.0 and prob.steps < 200
    assert prob.evaluate("x", np.array([[R, 0, 0]]))[0] == pytest.approx(1.0, abs=1e-5)   # the last state is kept
    assert abs(prob.mass_balance_error) < 1e-12
    _, full = problem(x0="1.0")
    with pytest.raises(SolverError) as err:
        full.run_step(Galvanostatic(1.0, "discharge", Stop(time=10.0)))
    assert err.value.reason.startswith("SURFACE_SATURATED") and full.t < 1e-3


def test_voltage_cutoff_stops_before_saturation():
    """With i0 ∝ sqrt(x(1−x)) the overpotential diverges as x_s -> 1, so a cut-off ends the step in time;
    with a constant i0 φ_s stays above 2.5 V and the error says the cut-off was not reached."""
    step = Galvanostatic(10.0, "discharge", Stop(dod=1.0, voltage=2.5))
    _, prob = problem(extra={"kinetics.i0_model": "sqrt"})
    assert prob.run_step(step) == "voltage"
    assert prob.potential == pytest.approx(2.5, abs=1e-6) and prob.dod < 1.0
    _, const = problem(extra={"kinetics.i0_model": "constant"})
    with pytest.raises(SolverError) as err:
        const.run_step(step)
    assert "cut-off 2.5 V was not reached" in err.value.reason


@pytest.mark.parametrize("model", ["constant", "sqrt"])
def test_charge_from_fully_lithiated_start(model):
    """x_initial = 1: the first steps stay admissible and φ_s follows the inverted Butler–Volmer law."""
    p, prob = problem(x0="1.0", extra={"kinetics.i0_model": model})
    assert prob.run_step(Galvanostatic(1.0, "charge", Stop(dod=0.95))) == "dod"
    assert prob.dod == pytest.approx(0.95, abs=1e-9) and abs(prob.mass_balance_error) < 1e-12
    x = prob.evaluate("x", np.array([[R, 0, 0], [0, 0, 0]]))
    assert x[0] < x[1] <= 1 + 1e-3
    T = p.conditions.temperature
    i = -prob.current / (4 * np.pi * R**2)
    i0 = p.kinetics.exchange_current_density * (2 * np.sqrt(x[0] * (1 - x[0])) if model == "sqrt" else 1.0)
    expected = p.kinetics.ocv(x[0]) + 2 * GAS_CONSTANT * T / FARADAY * np.arcsinh(i / (2 * i0))
    assert prob.potential == pytest.approx(expected, abs=1e-9)


def test_set_temperature_equals_starting_at_that_temperature():
    hot = 330.0
    _, switched = problem()
    switched.set_temperature(hot)
    assert switched.temperature == hot
    _, direct = problem(temperature=hot)
    for prob in (switched, direct):
        prob.run_step(Galvanostatic(5.0, "discharge", Stop(dod=0.1)))
        prob.run_step(Rest(Stop(time=30.0)))
    assert switched.t == pytest.approx(direct.t, rel=1e-12)
    assert switched.potential == pytest.approx(direct.potential, abs=1e-9)
    np.testing.assert_allclose(profile(switched)[1], profile(direct)[1], rtol=1e-9)
    with pytest.raises(InputError, match="temperature"):
        switched.set_temperature(-5.0)
