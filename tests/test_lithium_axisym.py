"""2D axisymmetric Li solver against the 1D hollow sphere, and the Liu 2024 bridge point."""
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import numpy as np
import pytest

from sim.lithium.problem import LithiumProblem
from sim.lithium.protocol import Galvanostatic, Stop
from sim.mesh import axisymmetric_mesh, radial_mesh
from sim.params import load_params

STEP = Galvanostatic(10.0, "discharge", Stop(dod=0.2))
DIRECTIONS = np.array([[0, 0, 1], [1, 0, 0], [np.sqrt(0.5), 0, np.sqrt(0.5)], [0.6, 0.0, -0.8]])


def run(p, pmesh, **kw):
    prob = LithiumProblem(p, pmesh, dt_max=4.0, **kw)
    prob.initialise()
    assert prob.run_step(STEP) == "dod"
    return prob


def test_axisymmetric_void_particle_matches_hollow_sphere():
    p = load_params("lmr_default", {"transport.x_initial": "0.34", "geometry.pores": [], "geometry.void_radius": "2 um",
                                    "mesh.size_outer": "0.4 um", "mesh.size_inner": "0.1 um"})
    a, R = p.geometry.void_radius, p.geometry.particle_radius
    ref = run(p, radial_mesh(R, a, n_cells=200))
    axi = run(p, axisymmetric_mesh(p.geometry, p.mesh, order=2))
    assert axi.bridge_point() is None
    radii = np.array([a, 0.5 * (a + R), R])
    for name in ("c", "hoop", "radial", "von_mises"):
        expected = ref.evaluate(name, np.outer(radii, [1, 0, 0]))
        scale = np.abs(expected).max()
        for d in DIRECTIONS:
            got = axi.evaluate(name, np.outer(radii, d))
            tol = 2e-4 * scale if name == "c" else 1e-2 * scale
            assert np.abs(got - expected).max() < tol, (name, d, got, expected)
    assert axi.potential == pytest.approx(ref.potential, abs=1e-4)
    assert abs(axi.mass_balance_error) < 1e-12
    # azimuthal = hoop by spherical symmetry
    hoop, azim = (axi.evaluate(n, np.outer(radii, DIRECTIONS[2])) for n in ("hoop", "azimuthal"))
    assert np.abs(hoop - azim).max() < 1e-2 * np.abs(hoop).max()


def test_liu_particle_bridge_point_concentrates_tension():
    """Liu 2024 geometry (void + two pores on the axis), coarse mesh: the bridge point between the void
    and a pore is tensile on discharge and carries more hoop stress than the void surface away from pores."""
    p = load_params("liu2024", {"transport.x_initial": "0.34", "mesh.size_outer": "0.8 um",
                                "mesh.size_inner": "0.06 um"})
    prob = run(p, axisymmetric_mesh(p.geometry, p.mesh))
    bridge = prob.bridge_point()
    np.testing.assert_allclose(bridge, [0, 0, 0.65e-6], atol=1e-12)   # (0.5 + 0.8)/2 µm on the axis
    hoop_bridge = prob.evaluate("hoop", bridge[None])[0]
    hoop_equator = prob.evaluate("hoop", np.array([[0.65e-6, 0, 0]]))[0]
    assert hoop_bridge > 0 and hoop_bridge > hoop_equator
    fields = prob.stress_fields()
    assert set(fields) >= {"hoop", "radial", "azimuthal", "von_mises", "max_principal", "hydrostatic"}
    assert abs(prob.mass_balance_error) < 1e-12
