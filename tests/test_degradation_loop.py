"""Multi-cycle degradation loop: O-vacancy field (M1) -> capacity, D, i0, ΔV/V0 of the Li particle; cycle jumping."""
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
RULES = DegradationRules.from_params(load_params("wang2021"))
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


def test_degraded_parameters_and_multipliers_follow_the_rules():
    p = load_params("wang2021")
    st = DegradationState(_mesh(), OX, RULES, COMM)
    first = st.primary_mn3()
    st.advance(100 * 5000.0)
    q = degraded_params(p, st, first)
    amp = 1 + RULES.volume_change_per_mn3 * (st.primary_mn3() - first)
    assert np.allclose(q.mechanics.volume_change.y, amp * p.mechanics.volume_change.y) and amp > 1
    # the local multipliers at the dofs of the vacancy field: 1 − (1 − f) θ
    r = st.field.V.tabulate_dof_coordinates()[:, 0]
    X = np.vstack([r, 0 * r, 0 * r])
    theta, s = st.theta(), st.scales()
    for key, f in (("capacity_scale", RULES.capacity_factor), ("volume_change_scale", RULES.capacity_factor),
                   ("diffusivity_scale", RULES.diffusivity_factor)):
        np.testing.assert_allclose(s[key](X), 1 - (1 - f) * theta, rtol=1e-12)
    # i0 at the surface: θ averaged over the kinetic depth with the P1 lumped volume ∫ φ_i r² dr (r² weights)
    near = st.outer_depth <= RULES.kinetic_depth + 1e-15
    order = np.argsort(r)
    rs = r[order]
    lumped = np.zeros_like(rs)
    h = np.diff(rs)
    lumped[:-1] += h * (3 * rs[:-1] ** 2 + 2 * rs[:-1] * rs[1:] + rs[1:] ** 2) / 12     # ∫ φ_left r² over a cell
    lumped[1:] += h * (rs[:-1] ** 2 + 2 * rs[:-1] * rs[1:] + 3 * rs[1:] ** 2) / 12
    weight = np.empty_like(lumped)
    weight[order] = lumped
    theta_bar = np.sum((weight * theta)[near]) / np.sum(weight[near])
    assert st.surface_theta() == pytest.approx(theta_bar, rel=1e-10)
    i0_scale = s["exchange_current_scale"](np.array([[2e-6 - 5e-9], [0.0], [0.0]]))
    assert i0_scale[0] == pytest.approx(1 - (1 - RULES.exchange_current_factor) * theta_bar, rel=1e-12)
    assert 0 < theta_bar < 1 and st.active_fraction() < 1


def test_loop_has_memory_only_through_the_rules():
    p = load_params("wang2021", {"transport.x_initial": "0.99", "geometry.particle_radius": "2 um",
                                 "geometry.void_radius": "0 um", "geometry.pores": {"value": []}})
    inert = DegradationRules(0.5, 1.0, 1.0, 1.0, 50e-9, 0.0, ("outer",))
    same = run_loop(p, OX, _mesh(), inert, [1, 200], CYCLE, COMM)
    assert same[1]["overpotential_discharge_mid_V"] == pytest.approx(same[0]["overpotential_discharge_mid_V"],
                                                                     abs=1e-9)
    aged = run_loop(p, OX, _mesh(), RULES, [1, 200], CYCLE, COMM)
    assert aged[1]["shell_thickness_m"] > aged[0]["shell_thickness_m"] > 0
    assert abs(aged[1]["overpotential_discharge_mid_V"]) > abs(aged[0]["overpotential_discharge_mid_V"]) + 1e-3
    assert aged[1]["volume_change_over_cycle_pct"] > 1.5 * aged[0]["volume_change_over_cycle_pct"]
