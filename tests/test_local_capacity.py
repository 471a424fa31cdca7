"""Spatial capacity, i0 and ΔV/V0 multipliers of the Li particle (the hooks of the degradation loop).

Closed forms / exact checks (physics.md M2, M3):
- all multipliers 1 reproduce the uniform particle to round-off;
- uniform site scale s_c = k with s_i = k is a similarity: x(r, t), φ_s(t) and the stresses are those of the
  fresh particle at the same C-rate, with k times the capacity and c = k c_fresh;
- uniform s_i: Butler–Volmer at α = 1/2 with constant i0 gives η = φ_s − U(x_s) = (2RT/F) asinh(i/(2 s_i i0));
- a non-uniform site density at rest keeps a uniform Li fraction (the flux follows x, not c), and the capacity
  is F Δx c_max ∫ s_c dV.
"""
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import numpy as np
import pytest

from sim.errors import InputError
from sim.lithium.problem import LithiumProblem
from sim.lithium.protocol import Galvanostatic, Rest, Stop
from sim.mesh import radial_mesh
from sim.params import load_params
from sim.units import FARADAY, GAS_CONSTANT

R = 2e-6
SURFACE = np.array([[R, 0.0, 0.0]])
BASE = {"transport.x_initial": "0.34", "geometry.particle_radius": "2 um", "geometry.void_radius": "0 um",
        "geometry.pores": {"value": []}}


DISCHARGE = (Galvanostatic(2.0, "discharge", Stop(dod=0.3)),)


def uniform(k):
    return lambda X: np.full(X.shape[1], k)


def run(mechanics=True, steps=DISCHARGE, **scales):
    p = load_params("lmr_default", BASE)
    prob = LithiumProblem(p, radial_mesh(R, n_cells=20), mechanics=mechanics, dt_initial=1e-2, **scales)
    prob.initialise()
    trace = []

    def record(q):
        hoop = q.evaluate("hoop", SURFACE)[0] if mechanics else 0.0
        trace.append((q.t, q.potential, q.x_mean, hoop, q.evaluate("x", SURFACE)[0], q.current))

    for step in steps:
        prob.run_step(step, on_step=record)
    return p, prob, np.array(trace)


def test_unit_multipliers_reproduce_the_uniform_particle():
    # Without multipliers the forms are today's (None). With multipliers 1 the forms differ by round-off
    # only; a galvanostatic step is compared (in a long rest the step controller turns round-off into a
    # different, equally accurate, step sequence). The surface hoop stress is a 1e-5 remainder of terms
    # ~E ΔV/V0, so its bound is relative to its range.
    _, ref, a = run(steps=DISCHARGE)
    _, ones, b = run(steps=DISCHARGE, diffusivity_scale=uniform(1.0), capacity_scale=uniform(1.0),
                     exchange_current_scale=uniform(1.0), volume_change_scale=uniform(1.0))
    assert a.shape == b.shape and ones.steps == ref.steps
    for j, bound in enumerate((1e-12, 1e-12, 1e-12, 1e-10, 1e-12, 1e-12)):
        np.testing.assert_allclose(b[:, j], a[:, j], rtol=bound, atol=bound * np.abs(a[:, j]).max())
    np.testing.assert_allclose(ones.c.x.array, ref.c.x.array, rtol=1e-12)


def test_uniform_site_scale_is_a_similarity():
    # k a power of 2: c = k c_fresh holds bit for bit, so the step controller's discrete choices (the BDF2
    # history pair at Δt = 2 × gap) are the same; any other k agrees to the time-stepping tolerance
    k = 0.5
    p, ref, a = run(steps=DISCHARGE)
    _, lean, b = run(steps=DISCHARGE, capacity_scale=uniform(k), exchange_current_scale=uniform(k))
    assert lean.capacity == pytest.approx(k * ref.capacity, rel=1e-13)
    assert lean.steps == ref.steps
    # time, φ_s, x_mean, surface hoop stress (ΔV/V0 reads the local fraction), local x_s: the fresh ones
    for j, bound in enumerate((1e-12, 1e-12, 1e-12, 1e-10, 1e-12)):
        np.testing.assert_allclose(b[:, j], a[:, j], rtol=bound, atol=bound * np.abs(a[:, j]).max())
    np.testing.assert_allclose(b[:, 5], k * a[:, 5], rtol=1e-12)            # k times the current at the C-rate
    np.testing.assert_allclose(lean.c.x.array, k * ref.c.x.array, rtol=1e-8)
    assert abs(lean.mass_balance_error) < 1e-12


@pytest.mark.parametrize("s_i", [1.0, 0.05])
def test_exchange_current_scale_follows_butler_volmer(s_i):
    p, prob, tr = run(mechanics=False, steps=(Galvanostatic(2.0, "discharge", Stop(dod=0.2)),),
                      exchange_current_scale=uniform(s_i))
    i_anodic = -tr[:, 5] / (4 * np.pi * R**2)
    f = FARADAY / (GAS_CONSTANT * p.conditions.temperature)
    eta_exact = 2 / f * np.arcsinh(i_anodic / (2 * s_i * p.kinetics.exchange_current_density))
    eta = tr[:, 1] - p.kinetics.ocv(tr[:, 4])
    assert np.max(np.abs(eta - eta_exact)) < 1e-8
    assert abs(eta_exact).min() > (0.1 if s_i < 1 else 0.005)   # not a vanishing check


def test_site_density_gradient_keeps_a_uniform_fraction_at_rest():
    # s_c linear in r is exact in P1: ∫ 4π r² (1 − r/(2R)) dr = 4π R³ (1/3 − 1/8)
    p, prob, _ = run(mechanics=False, steps=(Rest(Stop(time=3600.0)),), capacity_scale=lambda X: 1 - X[0] / (2 * R))
    tr = p.transport
    sites = 4 * np.pi * R**3 * (1 / 3 - 1 / 8) * tr.c_max
    assert prob.capacity == pytest.approx(FARADAY * (tr.x_max - tr.x_min) * sites, rel=1e-12)
    r = np.linspace(0, R, 21)[:, None] * np.array([[1.0, 0, 0]])
    x, c = prob.evaluate("x", r), prob.evaluate("c", r)
    assert np.max(np.abs(x - 0.34)) < 1e-10              # Fick in c would move Li outwards to the sparse sites
    assert c[-1] / c[0] == pytest.approx(0.5, rel=1e-10)
    assert prob.x_mean == pytest.approx(0.34, rel=1e-12)


def test_bad_multiplier_is_refused_by_name():
    p = load_params("lmr_default", BASE)
    with pytest.raises(InputError, match="capacity_scale"):
        LithiumProblem(p, radial_mesh(R, n_cells=4), capacity_scale=0.5)
    prob = LithiumProblem(p, radial_mesh(R, n_cells=4), mechanics=False, exchange_current_scale=lambda X: 0 * X[0])
    with pytest.raises(InputError, match="exchange_current_scale must return finite values > 0"):
        prob.initialise()
    with pytest.raises(InputError, match="needs the mechanics"):
        LithiumProblem(p, radial_mesh(R, n_cells=4), mechanics=False, volume_change_scale=uniform(0.5))
