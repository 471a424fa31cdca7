"""3D Li solver: a voided particle against the 1D hollow sphere, and serial == 2 MPI ranks (slow)."""
from pathlib import Path

import numpy as np
import pytest

from conftest import run_mpi_script

ROOT = Path(__file__).resolve().parent.parent

# one 3D run; prints JSON with potential, mass balance and probe values (run serially and under mpiexec)
SCRIPT = r"""
import dolfinx_solver, json, sys
import numpy as np
from mpi4py import MPI
from sim.lithium.problem import LithiumProblem
from sim.lithium.protocol import Galvanostatic, Stop
from sim.mesh import particle_mesh_3d
from sim.params import load_params
p = load_params("lmr_default", {"transport.x_initial": "0.34", "geometry.pores": [], "geometry.void_radius": "2 um",
                                "mesh.size_outer": "1.6 um", "mesh.size_inner": "0.8 um"})
prob = LithiumProblem(p, particle_mesh_3d(p.geometry, p.mesh), dt_max=4.0)
prob.initialise()
reason = prob.run_step(Galvanostatic(10.0, "discharge", Stop(dod=0.2)))
a, R = p.geometry.void_radius, p.geometry.particle_radius
dirs = np.array([[0, 0, 1], [1, 0, 0], [0.6, 0, -0.8], [0, np.sqrt(0.5), np.sqrt(0.5)]])
pts = np.concatenate([np.outer([a, 0.5 * (a + R), R], d) for d in dirs])
out = {"reason": reason, "t": prob.t, "potential": prob.potential, "mass_balance": prob.mass_balance_error,
       "ranks": MPI.COMM_WORLD.size, **{n: prob.evaluate(n, pts).tolist() for n in ("c", "hoop", "radial")}}
if MPI.COMM_WORLD.rank == 0:
    print("RESULT " + json.dumps(out))
"""


def _run(tmp_path, ranks):
    return run_mpi_script(tmp_path, SCRIPT, ranks)


@pytest.mark.slow
def test_3d_void_particle_matches_hollow_sphere_serial_and_parallel(tmp_path):
    import dolfinx_solver  # noqa: F401

    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.mesh import radial_mesh
    from sim.params import load_params

    serial, parallel = _run(tmp_path, 1), _run(tmp_path, 2)
    assert parallel["ranks"] == 2 and serial["reason"] == parallel["reason"] == "dod"
    for key in ("c", "hoop", "radial"):
        s, q = np.array(serial[key]), np.array(parallel[key])
        assert np.abs(s - q).max() <= 1e-6 * np.abs(s).max(), key      # same answer on 1 and 2 ranks
    assert parallel["potential"] == pytest.approx(serial["potential"], abs=1e-9)
    assert abs(serial["mass_balance"]) < 1e-12 and abs(parallel["mass_balance"]) < 1e-12

    p = load_params("lmr_default", {"transport.x_initial": "0.34", "geometry.pores": [], "geometry.void_radius": "2 um"})
    ref = LithiumProblem(p, radial_mesh(p.geometry.particle_radius, p.geometry.void_radius, n_cells=200), dt_max=4.0)
    ref.initialise()
    ref.run_step(Galvanostatic(10.0, "discharge", Stop(dod=0.2)))
    a, R = p.geometry.void_radius, p.geometry.particle_radius
    radii = np.array([a, 0.5 * (a + R), R])
    for key, tol in (("c", 2e-3), ("hoop", 0.08)):           # coarse 3D mesh (h = 0.8-1.6 µm)
        expected = np.tile(ref.evaluate(key, np.outer(radii, [1, 0, 0])), 4)
        got = np.array(serial[key])
        assert np.abs(got - expected).max() < tol * np.abs(expected).max(), (key, got, expected)
    assert serial["potential"] == pytest.approx(ref.potential, abs=1e-3)


@pytest.mark.slow
def test_3d_finite_strain_converges_and_differs_from_small_strain_like_1d():
    """Finite strain (Liu 2024) in 3D, coarse void particle, 10C to 20 % DOD (~2 min): the initial solve of
    a uniformly swollen particle converges to zero stress (order-1 and order-2 meshes), and the finite −
    small strain hoop difference is O(ΔV/V0) and matches the 1D hollow sphere's to 15 % (measured 3-8 %)."""
    import dolfinx_solver  # noqa: F401

    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.mesh import particle_mesh_3d, radial_mesh
    from sim.params import load_params

    base = {"transport.x_initial": "0.34", "geometry.pores": [], "geometry.void_radius": "2 um",
            "mesh.size_outer": "1.6 um", "mesh.size_inner": "0.8 um"}
    a, R = 2e-6, 8e-6
    radii = np.array([a, R])
    dirs = np.array([[0, 0, 1], [1, 0, 0], [0.6, 0, -0.8]])
    pts = np.concatenate([np.outer(radii, d) for d in dirs])
    hoop = {}
    for model in ("small", "finite"):
        p = load_params("lmr_default", {**base, "mechanics.strain_model": model})
        ref = LithiumProblem(p, radial_mesh(R, a, n_cells=100), dt_max=4.0)
        ref.initialise()
        ref.run_step(Galvanostatic(10.0, "discharge", Stop(dod=0.2)))
        hoop[model + "_1d"] = np.tile(ref.evaluate("hoop", np.outer(radii, [1, 0, 0])), len(dirs))
        orders = (1, 2) if model == "finite" else (1,)
        for order in orders:
            prob = LithiumProblem(p, particle_mesh_3d(p.geometry, p.mesh, order=order), dt_max=4.0)
            prob.initialise()       # failed with DIVERGED_DTOL before the Newton updates started from zero
            scale = p.mechanics.youngs_modulus * 0.011
            assert max(np.abs(f.x.array).max() for f in prob.stress_fields().values()) < 1e-8 * scale
            if order == 1:
                assert prob.run_step(Galvanostatic(10.0, "discharge", Stop(dod=0.2))) == "dod"
                hoop[model] = prob.evaluate("hoop", pts)
    d3, d1 = hoop["finite"] - hoop["small"], hoop["finite_1d"] - hoop["small_1d"]
    assert np.abs(d3).max() < 2 * 0.011 * np.abs(hoop["small"]).max()        # O(ΔV/V0), ΔV/V0 ~ 1.1 %
    assert np.abs(d3 - d1).max() < 0.15 * np.abs(d1).max(), (d3, d1)
    assert np.all(np.sign(d3) == np.sign(d1))
