"""O-vacancy FEM solver (M1) against Crank's closed forms: error bounds and measured orders."""
import math

import dolfinx_solver  # noqa: F401
import numpy as np
import pytest
from mpi4py import MPI

from sim.mesh import primary_particle_mesh, radial_mesh
from sim.oxygen.closed_form import (sphere_fixed_surface, sphere_fixed_surface_mean, sphere_surface_exchange,
                                    sphere_surface_exchange_mean)
from sim.oxygen.diffusion import VacancyDiffusion, step_plan
from sim.oxygen.table import radial_table

COMM = MPI.COMM_SELF


def _run(pm, taus, **kw):
    """Unit sphere, D = 1, u from 0 to 1: returns {tau: (r, u, mean u)}."""
    plan = {k: kw.pop(k) for k in ("steps_per_level", "levels") if k in kw}
    s = VacancyDiffusion(pm, 1.0, surface_value=1.0, bulk_value=0.0, **kw)
    out = {}
    s.run(taus, lambda i, sol: out.__setitem__(taus[i], (*sol.radial_samples(), sol.mean())), **plan)
    return out


def test_closed_form_series_consistent():
    # Crank 6.20 is the volume average of 6.18; 6.40 tends to 6.18 as k R / D -> inf
    xi = np.linspace(0, 1, 20001)
    for tau in (1e-3, 0.05, 0.3):
        u = sphere_fixed_surface(xi, tau)
        assert abs(np.trapezoid(3 * xi**2 * u, xi) - sphere_fixed_surface_mean(tau)[0]) < 1e-6
        assert np.max(np.abs(sphere_surface_exchange(xi[::100], tau, 1e7) - u[::100])) < 1e-5
    assert abs(sphere_surface_exchange_mean(0.05, 1e7) - sphere_fixed_surface_mean(0.05)[0]) < 1e-6
    assert abs(sphere_fixed_surface_mean(1e-4)[0] - (6 * math.sqrt(1e-4 / math.pi) - 3e-4)) < 1e-8  # short time


def test_step_plan_hits_outputs():
    plan = step_plan([1.0, 2.0, 3.0, 10.0], steps_per_level=4, levels=5)
    t, hits = 0.0, {}
    for dt, idx in plan:
        assert dt > 0
        t += dt
        if idx is not None:
            hits[idx] = t
    assert hits == pytest.approx({0: 1.0, 1: 2.0, 2: 3.0, 3: 10.0}, rel=1e-12)
    assert len({round(dt, 12) for dt, _ in plan}) <= 5 + 1 + 3  # few distinct steps -> few factorisations


def test_radial_space_convergence_vs_crank():
    tau, errs, hs = 0.05, [], []
    for n in (10, 20, 40):
        r, u, _ = _run(radial_mesh(1.0, n_cells=n, comm=COMM), [tau], steps_per_level=16)[tau]
        errs.append(np.sqrt(np.mean((u - sphere_fixed_surface(r, tau)) ** 2)))
        hs.append(1.0 / n)
    rates = np.diff(np.log(errs)) / np.diff(np.log(hs))
    print(f"P1 radial, tau={tau}: RMS nodal errors {errs}, orders {rates}")
    assert errs[-1] < 1e-3
    assert rates.min() > 1.9


def test_time_order_trbdf2():
    pm = radial_mesh(1.0, n_cells=200, comm=COMM)
    tau, errs = 0.1, []
    for m in (2, 4, 8):
        _, _, mean = _run(pm, [0.02, tau], degree=2, steps_per_level=m)[tau]
        errs.append(abs(mean - sphere_fixed_surface_mean(tau)[0]))
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    print(f"TR-BDF2 mean-u errors {errs}, orders {rates}")
    assert rates.min() > 1.8


def test_default_resolution_within_half_percent():
    # the case defaults: surface size R/500, grading 25, P1, 8 steps per level; tau of 1 and 500 cycles
    tau1 = 1e-21 * 1.42 * 3600 / (120e-9) ** 2
    taus = [tau1, 10 * tau1, 500 * tau1]
    res = _run(radial_mesh(1.0, size=1 / 500, grading=25.0, comm=COMM), taus)
    for tau in taus:
        r, u, mean = res[tau]
        exact_mean = sphere_fixed_surface_mean(tau)[0]
        print(f"tau={tau:.3g}: max |u - Crank| = {np.abs(u - sphere_fixed_surface(r, tau)).max():.2e}, "
              f"mean rel. error {mean / exact_mean - 1:.2e}")
        assert np.abs(u - sphere_fixed_surface(r, tau)).max() < 5e-3       # 0.5 % of y_s - y_b
        assert abs(mean / exact_mean - 1) < 5e-3                            # O loss within 0.5 %


def test_surface_exchange_vs_crank():
    biot, tau = 2.0, 0.1
    pm = radial_mesh(1.0, n_cells=100, comm=COMM)
    s = VacancyDiffusion(pm, 1.0, surface_value=1.0, bulk_value=0.0, surface_exchange_rate=biot, degree=2)
    s.run([tau])
    r, u = s.radial_samples()
    assert np.abs(u - sphere_surface_exchange(r, tau, biot)).max() < 1e-4
    assert abs(s.mean() - sphere_surface_exchange_mean(tau, biot)) < 1e-4


def test_physical_units_and_levels():
    # y = y_b + (y_s - y_b) u(r/R, D t/R^2) in SI: R = 120 nm, D = 1e-21 m^2/s, y_b = 0.01, y_s = 0.06
    R, D, t = 120e-9, 1e-21, 1.0e6
    s = VacancyDiffusion(radial_mesh(R, n_cells=60, comm=COMM), D, 0.06, 0.01, degree=2)
    s.run([t])
    r, y = s.radial_samples()
    tau = D * t / R**2
    assert np.abs(y - (0.01 + 0.05 * sphere_fixed_surface(r / R, tau))).max() < 2e-5
    assert s.mean() == pytest.approx(0.01 + 0.05 * sphere_fixed_surface_mean(tau)[0], abs=1e-5)


def test_table_matches_crank():
    table = radial_table()
    for tau in (2e-6, 3.3e-4, 0.0123, 0.15, 0.77):
        assert np.abs(table(tau) - sphere_fixed_surface(table.xi, tau)).max() < 5e-4


def test_axisymmetric_sphere_agrees_with_1d():
    tau = 0.05
    pm = primary_particle_mesh(1.0, dim=2, size=0.04, comm=COMM)
    r, u, mean = _run(pm, [tau])[tau]
    r1, u1, mean1 = _run(radial_mesh(1.0, n_cells=100, comm=COMM), [tau])[tau]
    exact = sphere_fixed_surface_mean(tau)[0]
    print(f"axisym mean u {mean:.5f}, 1D {mean1:.5f}, Crank {exact:.5f}")
    assert abs(mean / exact - 1) < 0.01 and abs(mean / mean1 - 1) < 0.01
    assert np.abs(u - sphere_fixed_surface(r, tau)).max() < 0.02


@pytest.mark.slow
def test_3d_sphere_agrees_with_1d():
    tau = 0.05
    pm = primary_particle_mesh(1.0, dim=3, size=0.08, comm=COMM)
    r, u, mean = _run(pm, [tau])[tau]
    exact = sphere_fixed_surface_mean(tau)[0]
    print(f"3D mean u {mean:.5f}, Crank {exact:.5f}")
    assert abs(mean / exact - 1) < 0.02
    assert np.abs(u - sphere_fixed_surface(r, tau)).max() < 0.03
