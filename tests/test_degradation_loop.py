"""Multi-cycle degradation loop: O-vacancy field (M1) -> D, i0, ΔV/V0 of the Li particle; cycle jumping."""
import dolfinx_solver  # noqa: F401
import numpy as np
import pytest
from mpi4py import MPI

from sim.mesh import radial_mesh
from sim.oxygen.closed_form import sphere_with_layer
from sim.oxygen.protocol import mn3_per_vacancy
from sim.params import load_params
from sim.scenarios.aging import DegradationRules, DegradationState, degraded_params, run_loop

COMM = MPI.COMM_SELF
OX = load_params("csernica2021")
RULES = DegradationRules(mn3_deactivated=0.5, diffusivity_factor=0.1, exchange_current_factor=0.2,
                         kinetic_depth=50e-9, volume_change_per_mn3=6.3, exposed=("outer",))
CYCLE = dict(c_rate=1.0, upper_voltage=4.6, lower_voltage=2.8, rest=600.0)


def _mesh(radius=2e-6):
    return radial_mesh(radius, size=10e-9, grading=30.0, comm=COMM)


def test_cycle_jump_equals_cycle_by_cycle():
    # D_O is constant while delithiated, so N cycles of t_d are one window of N t_d
    jump, step = DegradationState(_mesh(), OX, RULES, COMM), DegradationState(_mesh(), OX, RULES, COMM)
    jump.advance(20 * 5000.0)
    for _ in range(20):
        step.advance(5000.0)
    assert np.max(np.abs(jump.theta() - step.theta())) < 2e-3
    assert jump.primary_mn3() == pytest.approx(step.primary_mn3(), rel=1e-4)


def test_shell_follows_the_m1_closed_form():
    # solid sphere, fixed surface value, formation layer at y_s: θ(depth) = min(1, m/m_c) of Crank's layered sphere
    R, t = 2e-6, 200 * 5000.0
    st = DegradationState(_mesh(R), OX, RULES, COMM)
    st.advance(t)
    ox = OX.oxygen
    xi = 1 - st.outer_depth / R
    u = sphere_with_layer(xi, ox.diffusivity * t / R**2, 1 - ox.formation_layer_thickness / R)
    exact = np.clip(mn3_per_vacancy(ox) * ox.surface_vacancy_fraction * u / RULES.mn3_deactivated, 0, 1)
    assert np.max(np.abs(st.theta() - exact)) < 0.02
    d = np.linspace(0, 200e-9, 4001)
    u_d = sphere_with_layer(1 - d / R, ox.diffusivity * t / R**2, 1 - ox.formation_layer_thickness / R)
    theta_d = np.clip(mn3_per_vacancy(ox) * ox.surface_vacancy_fraction * u_d / RULES.mn3_deactivated, 0, 1)
    shell_exact = d[np.argmax(theta_d <= 0.5)]
    assert st.shell_thickness() == pytest.approx(shell_exact, rel=0.05)


def test_degraded_parameters_follow_the_rules():
    p = load_params("wang2021")
    st = DegradationState(_mesh(), OX, RULES, COMM)
    first = st.primary_mn3()
    st.advance(100 * 5000.0)
    q = degraded_params(p, st, first)
    i0 = p.kinetics.exchange_current_density * (1 - 0.8 * st.surface_theta())
    assert q.kinetics.exchange_current_density == pytest.approx(i0, rel=1e-9)
    amp = 1 + 6.3 * (st.primary_mn3() - first)
    assert np.allclose(q.mechanics.volume_change.y, amp * p.mechanics.volume_change.y)
    assert 0 < st.surface_theta() <= 1 and amp > 1


def test_loop_has_memory_only_through_the_rules():
    p = load_params("wang2021", {"transport.x_initial": "0.99", "geometry.particle_radius": "2 um",
                                 "geometry.void_radius": "0 um", "geometry.pores": {"value": []}})
    inert = DegradationRules(0.5, 1.0, 1.0, 50e-9, 0.0, ("outer",))
    same = run_loop(p, OX, _mesh(), inert, [1, 200], CYCLE, COMM)
    assert same[1]["overpotential_discharge_mid_V"] == pytest.approx(same[0]["overpotential_discharge_mid_V"],
                                                                     abs=1e-9)
    aged = run_loop(p, OX, _mesh(), RULES, [1, 200], CYCLE, COMM)
    assert aged[1]["shell_thickness_m"] > aged[0]["shell_thickness_m"] > 0
    assert abs(aged[1]["overpotential_discharge_mid_V"]) > abs(aged[0]["overpotential_discharge_mid_V"]) + 1e-3
    assert aged[1]["volume_change_over_cycle_pct"] > 1.5 * aged[0]["volume_change_over_cycle_pct"]
