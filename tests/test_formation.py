"""Formation-stage surface release (M1, Csernica 2021): closed form, FEM convergence, the two targets."""
import importlib.util
from pathlib import Path

import dolfinx_solver  # noqa: F401
import numpy as np
import pytest
from mpi4py import MPI

from sim.errors import InputError
from sim.mesh import primary_particle_mesh, radial_mesh
from sim.oxygen.closed_form import (sphere_fixed_surface, sphere_fixed_surface_mean, sphere_with_layer,
                                    sphere_with_layer_mean)
from sim.oxygen.diffusion import VacancyDiffusion
from sim.oxygen.formation import FormationLayer, excess_at_depth, fit_layer_to_losses, penetration_depth
from sim.params import load_params

COMM = MPI.COMM_SELF
REPO = Path(__file__).resolve().parent.parent


def _csernica():
    spec = importlib.util.spec_from_file_location("csernica_validate", REPO / "validation/csernica2021/validate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_layer_closed_form_reduces_to_crank_and_conserves_content():
    xi = np.linspace(0, 1, 4001)
    for tau in (1e-3, 0.05):
        assert np.max(np.abs(sphere_with_layer(xi[::40], tau, 1.0) - sphere_fixed_surface(xi[::40], tau))) < 1e-8
        assert abs(sphere_with_layer_mean(tau, 1.0)[0] - sphere_fixed_surface_mean(tau)[0]) < 1e-10
        u = sphere_with_layer(xi, tau, 0.7, 0.4)
        assert abs(np.trapezoid(3 * xi**2 * u, xi) - sphere_with_layer_mean(tau, 0.7, 0.4)[0]) < 1e-5
    # the layer's content at the start, and no gain while the front has not reached a layer at the surface value
    assert sphere_with_layer_mean(0.0, 0.8, 0.5)[0] == pytest.approx(0.5 * (1 - 0.8**3), abs=2e-4)
    assert sphere_with_layer_mean(1e-4, 0.8)[0] == pytest.approx(1 - 0.8**3, rel=1e-6)


@pytest.mark.parametrize("c", [1.0, 0.5])
def test_fem_with_layer_converges_at_second_order(c):
    a, taus, errs = 0.8, [0.01, 0.1], []
    for n in (20, 40, 80):
        s = VacancyDiffusion(radial_mesh(1.0, n_cells=n, comm=COMM), 1.0, 1.0, 0.0, formation=FormationLayer(1 - a, c))
        if c == 1.0:   # the projection puts the content in exactly (c < 1: the surface node is then reset to y_s)
            assert s.mean() == pytest.approx(1 - a**3, rel=1e-12)
        out = {}
        s.run(taus, lambda i, sol: out.__setitem__(i, sol.radial_samples()), steps_per_level=16)
        errs.append(max(np.max(np.abs(out[i][1] - sphere_with_layer(out[i][0], t, a, c))) for i, t in enumerate(taus)))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    print(f"layer c={c}: max nodal errors {errs}, orders {orders}")
    assert errs[-1] < 1e-3
    assert orders.min() > 1.8


def test_zero_thickness_is_the_plain_problem():
    pm = radial_mesh(1.0, n_cells=30, comm=COMM)
    plain, layered = (VacancyDiffusion(pm, 1.0, 1.0, 0.0, formation=f) for f in (None, FormationLayer(0.0, 0.9)))
    for s in (plain, layered):
        s.run([0.02])
    assert np.array_equal(plain.phi.x.array, layered.phi.x.array)


def test_axisymmetric_layer_matches_the_sphere():
    pm = primary_particle_mesh(1.0, aspect_ratio=1.0, dim=2, size=0.04, comm=COMM)
    s = VacancyDiffusion(pm, 1.0, 1.0, 0.0, formation=FormationLayer(0.2, 1.0))
    start = s.mean()
    s.run([0.02])
    assert start == pytest.approx(1 - 0.8**3, rel=0.02)
    assert s.mean() == pytest.approx(sphere_with_layer_mean(0.02, 0.8)[0], rel=0.02)


def test_fit_layer_round_trip():
    R, D, t = 120e-9, 1e-21, 5000.0
    taus = D * t * np.array([1.0, 300.0]) / R**2
    losses = 0.08 * sphere_with_layer_mean(taus, 1 - 15e-9 / R)
    delta, ys = fit_layer_to_losses(R, D, t, losses[0], losses[1], 300)
    assert delta == pytest.approx(15e-9, rel=1e-6) and ys == pytest.approx(0.08, rel=1e-6)


def test_penetration_depth_is_measured_or_none():
    d = np.linspace(0, 100, 11)
    assert penetration_depth(d, 1 - d / 100, level=0.25) == pytest.approx(75.0)
    assert penetration_depth(d[::-1], (1 - d / 100)[::-1], level=0.25) == pytest.approx(75.0)
    assert penetration_depth(d, 1 - d / 200, level=0.1) is None           # never falls that far: no number
    assert excess_at_depth(d, 1 - d / 200, 60.0) == pytest.approx(0.7)
    with pytest.raises(ValueError):
        excess_at_depth(d, 1 - d / 200, 120.0)


def test_negative_thickness_is_refused():
    with pytest.raises(InputError, match="formation_layer_thickness"):
        load_params("csernica2021", {"oxygen.formation_layer_thickness": "-1 nm"})


def test_one_set_gives_both_csernica_losses_and_the_measured_depths():
    pset = load_params("csernica2021")
    means, profiles = _csernica().forward(pset, [1, 500], 1.42, COMM)
    assert 100 * means[0] == pytest.approx(3.3, rel=0.02)
    assert 100 * means[1] == pytest.approx(6.5, rel=0.02)
    d1, y1 = profiles[1]
    depth1 = penetration_depth(d1, y1)
    assert depth1 is not None and depth1 < 40e-9                        # surface-confined after cycle 1
    assert excess_at_depth(d1, y1, 60e-9) < 1e-3
    d500, y500 = profiles[500]
    assert excess_at_depth(d500, y500, 100e-9) > 0.5                   # > 100 nm deep after 500 cycles
    plain, _ = _csernica().forward(pset, [1], 1.42, COMM, formation=False)
    assert 100 * plain[0] < 1.0                                         # diffusion alone misses cycle 1
