"""Models on imaged meshes: Li + Butler–Volmer + stress on a voxelised hollow sphere against the quasi-steady
closed form, O-vacancy diffusion in a voxelised primary particle against the sphere series, and the same answers
on 1 and 2 MPI ranks (slow)."""
import math
from pathlib import Path

import pytest

from conftest import run_mpi_script

import dolfinx_solver  # noqa: F401  (before mpi4py)
import numpy as np
from mpi4py import MPI

from sim.mesh.image import mesh_from_image

ROOT = Path(__file__).resolve().parent.parent
COMM = MPI.COMM_SELF
LINEAR_DV = {"x": [0.0, 1.0], "y": [0.0, 2.0], "x_unit": "", "y_unit": "%"}   # ΔV/V0 = 0.02 x: Ω = 0.02/c_max


def voxel_shell(b: float, a: float, pad: int = 3) -> np.ndarray:
    """Voxelised shell a <= r <= b (radii in voxels; a = 0: a ball), label 1."""
    n = int(2 * math.ceil(b) + 2 * pad)
    z, y, x = np.meshgrid(*(np.arange(n) - (n - 1) / 2 for _ in range(3)), indexing="ij")
    r = np.sqrt(x**2 + y**2 + z**2)
    return ((r <= b) & (r >= a)).astype(np.uint8)


def outer_vertices(pm) -> np.ndarray:
    from dolfinx.mesh import entities_to_geometry

    facets = pm.facet_tags.find(pm.boundaries["outer"])
    return np.unique(pm.mesh.geometry.x[entities_to_geometry(pm.mesh, 2, facets).ravel()], axis=0)


@pytest.mark.slow
def test_imaged_hollow_sphere_quasi_steady_hoop_stress_matches_closed_form():
    """b = 1 µm, a = 0.4 µm at 16 voxels across b (element size 4 voxels); D = 1e-11 cm²/s constant, small strain, 2C discharge to
    50 % DOD (τ = D t/(b − a)² = 2.5: quasi-steady). Closed form: c(r) = q r²/(6D) + q a³/(3 D r) + const,
    q = 3 J b²/(b³ − a³) = dc̄/dt, hoop from the hollow-sphere solution (Timoshenko & Goodier §151).
    Measured (15-50 s): mean over the outer-surface vertices −2.5 % from the closed form (single vertices
    scatter ±30 %: faceted voxel surface, stresses sampled on the boundary)."""
    from sim.lithium.closed_form import sphere_stresses
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.lithium.transport import arrhenius
    from sim.params import load_params

    b, a, nb = 1e-6, 0.4e-6, 16
    p = load_params("lmr_default", {"transport.x_initial": "0.34", "mechanics.volume_change": LINEAR_DV,
                                    "mechanics.strain_model": "small", "transport.diffusivity": "1e-11 cm^2/s",
                                    "geometry.particle_radius": "1 um", "geometry.void_radius": "0.4 um",
                                    "geometry.pores": []})
    pm = mesh_from_image(voxel_shell(nb, a / b * nb), b / nb, size=4 * b / nb, comm=COMM)
    prob = LithiumProblem(p, pm, dt_max=60.0)
    prob.initialise()
    assert prob.run_step(Galvanostatic(2.0, "discharge", Stop(dod=0.5))) == "dod"
    tr = p.transport
    D = tr.diffusivity.y[0] * arrhenius(tr, p.conditions.temperature)
    assert D * prob.t / (b - a) ** 2 > 2
    q = 2.0 / 3600 * tr.c_max * (tr.x_max - tr.x_min)          # dc̄/dt at 2C (mol m^-3 s^-1)
    r = np.linspace(a, b, 4001)
    c = q * r**2 / (6 * D) + q * a**3 / (3 * D * r)
    exact = sphere_stresses(r, c, inner_radius=a, omega=0.02 / tr.c_max, youngs_modulus=p.mechanics.youngs_modulus,
                            poisson_ratio=p.mechanics.poisson_ratio)["hoop"][-1]
    hoop = prob.evaluate("hoop", outer_vertices(pm))
    print(f"outer hoop: mean {hoop.mean():.5g} Pa (min {hoop.min():.5g}, max {hoop.max():.5g}), closed form "
          f"{exact:.5g} Pa, error of the mean {hoop.mean() / exact - 1:+.3%}")
    assert exact < 0
    assert hoop.mean() == pytest.approx(exact, rel=0.03)


def test_imaged_primary_particle_oxygen_loss_matches_sphere():
    """A primary particle R = 100 nm voxelised at 5 nm (20 voxels across R), fixed surface value: the mean
    vacancy fraction at τ = D t/R² = 0.05, 0.1, 0.2 vs 1 − 6/π² Σ exp(−n² π² τ)/n² (Crank 6.20); measured
    +2.7 %, +1.1 %, +0.4 % (the imaged surface is rougher, so larger, than the sphere's: early times gain most)."""
    from sim.oxygen.closed_form import sphere_fixed_surface_mean
    from sim.oxygen.diffusion import VacancyDiffusion

    R, D = 100e-9, 1e-19
    pm = mesh_from_image(voxel_shell(20, 0.0), R / 20, size=12e-9, comm=COMM)
    assert pm.boundaries == {"outer": 1}
    R_eff = (3 * pm.volume() / (4 * math.pi)) ** (1 / 3)          # the sphere of the mesh's volume
    solver = VacancyDiffusion(pm, D, surface_value=1.0, bulk_value=0.0)
    taus = np.array([0.05, 0.1, 0.2])
    got = []
    solver.run(taus * R_eff**2 / D, lambda i, s: got.append(s.mean_fraction()))
    exact = sphere_fixed_surface_mean(taus)
    print("mean fraction", got, "sphere", exact)
    np.testing.assert_allclose(got, exact, rtol=0.03)


MPI_SCRIPT = r"""
import dolfinx_solver, json, math
import numpy as np
from mpi4py import MPI
from sim.mesh.image import load_volume, mesh_from_image
from sim.oxygen.diffusion import VacancyDiffusion
vol, voxel = load_volume("{example}")
pm = mesh_from_image(vol, voxel, size=0.8e-6)
solver = VacancyDiffusion(pm, 1e-17, surface_value=1.0, bulk_value=0.0)
got = []
solver.run([2e3, 1e4], lambda i, s: got.append(s.mean_fraction()))
out = dict(ranks=MPI.COMM_WORLD.size, cells=pm.num_cells, volume=pm.volume(), boundaries=pm.boundaries, mean=got)
if MPI.COMM_WORLD.rank == 0:
    print("RESULT " + json.dumps(out))
"""


def _run(tmp_path, ranks):
    text = MPI_SCRIPT.replace("{example}", str(ROOT / "meshes" / "example_particle.npy"))
    return run_mpi_script(tmp_path, text, ranks, timeout=900)


@pytest.mark.slow
def test_example_volume_one_and_two_ranks_agree(tmp_path):
    serial, parallel = _run(tmp_path, 1), _run(tmp_path, 2)
    assert parallel["ranks"] == 2 and serial["cells"] == parallel["cells"]
    assert serial["boundaries"] == parallel["boundaries"]
    assert parallel["volume"] == pytest.approx(serial["volume"], rel=1e-12)
    np.testing.assert_allclose(parallel["mean"], serial["mean"], rtol=1e-6)


# --------------------------------------------------------------------------- finite strain and fracture
def test_imaged_finite_strain_differs_from_small_strain_as_on_the_hollow_sphere():
    """An imaged hollow sphere (b = 1 µm, a = 0.4 µm at 10 voxels across b), the parameter set's ΔV/V0(x)
    (−1.1 % at the start), 2C discharge to 30 % DOD: the finite − small strain difference of the outer-surface
    hoop stress (mean over the outer vertices) is O(ΔV/V0) and matches the same difference on the 1D hollow
    sphere (an independent mesh and kinematics) to 10 %; Li is conserved to 1e-9 of the capacity."""
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.mesh import radial_mesh
    from sim.params import load_params

    b, a, nb = 1e-6, 0.4e-6, 10
    pm = mesh_from_image(voxel_shell(nb, a / b * nb), b / nb, size=3.5 * b / nb, comm=COMM)
    outer = outer_vertices(pm)
    hoop, hoop_1d = {}, {}
    for model in ("small", "finite"):
        p = load_params("lmr_default", {"transport.x_initial": "0.34",
                                        "mechanics.strain_model": model, "transport.diffusivity": "1e-11 cm^2/s",
                                        "geometry.particle_radius": "1 um", "geometry.void_radius": "0.4 um",
                                        "geometry.pores": []})
        for mesh, out in ((pm, hoop), (radial_mesh(b, a, n_cells=60), hoop_1d)):
            prob = LithiumProblem(p, mesh, dt_max=60.0, rtol=1e-3, atol=1e-4)
            prob.initialise()
            assert prob.run_step(Galvanostatic(2.0, "discharge", Stop(dod=0.3))) == "dod"
            assert abs(prob.mass_balance_error) < 1e-9
            out[model] = prob.evaluate("hoop", outer).mean() if mesh is pm else \
                prob.evaluate("hoop", np.array([[b, 0, 0]]))[0]
    d3, d1 = hoop["finite"] - hoop["small"], hoop_1d["finite"] - hoop_1d["small"]
    print(f"finite - small outer hoop: imaged {d3:.4g} Pa, 1D {d1:.4g} Pa; small {hoop['small']:.4g} Pa")
    assert abs(d3) < 2 * 0.011 * abs(hoop["small"])
    assert d3 == pytest.approx(d1, rel=0.1)        # measured 2.2 %


IMAGED_CASE = """model = "lithium"
params = "lmr_default"
geometry = "3d"
[parameters]
"transport.x_initial" = 0.34
"transport.diffusivity" = "1e-11 cm^2/s"
"mechanics.strain_model" = "finite"
"mechanics.tensile_strength" = "{strength}"
[mesh]
file = "shell.msh"
[solver]
dt_max = "60 s"
rtol = 1e-3
atol = 1e-4
[output]
vtx = false
hot_spots = 3
[[protocol]]
step = "discharge at 2C to 30 % DOD"
"""


def test_imaged_finite_strain_run_onset_lies_at_a_reported_hot_spot(tmp_path):
    """sim run on an imaged hollow-sphere mesh (.msh) with finite strain and σ_f screening, σ_f set to the peak σ₁
    of the 1D hollow sphere (24 MPa, at the void; an independent model): the faceted imaged void concentrates
    stress above it (measured peak 35 MPa), so the run cracks, on the void; the onset lies at one of the
    reported σ₁ hot spots (within one element), no later than the peak; Li is conserved to 1e-9 of the capacity.
    (At half that σ_f the onset is mid-wall in the early transient, where no hot spot of the peak is.)"""
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.lithium.run import run_case
    from sim.mesh import radial_mesh
    from sim.params import load_params

    p = load_params("lmr_default", {"transport.x_initial": "0.34", "mechanics.strain_model": "finite",
                                    "transport.diffusivity": "1e-11 cm^2/s", "geometry.particle_radius": "1 um",
                                    "geometry.void_radius": "0.4 um", "geometry.pores": []})
    sphere = LithiumProblem(p, radial_mesh(1e-6, 0.4e-6, n_cells=60), dt_max=60.0, rtol=1e-3, atol=1e-4)
    sphere.initialise()
    wall = np.linspace([0.4e-6, 0, 0], [1e-6, 0, 0], 61)
    peaks = []
    sphere.run_step(Galvanostatic(2.0, "discharge", Stop(dod=0.3)),
                    on_step=lambda q: peaks.append(q.evaluate("max_principal", wall).max()))
    strength = max(peaks)
    assert strength > 0
    pm = mesh_from_image(voxel_shell(10, 4), 0.1e-6, size=0.4e-6, comm=COMM)
    pm.write(tmp_path, "shell")
    (tmp_path / "case.toml").write_text(IMAGED_CASE.format(strength=f"{strength / 1e6:.6g} MPa"))
    s = run_case(tmp_path / "case.toml", tmp_path / "run", progress=False, outputs="minimal")
    onset = s["fracture"]["onset"]
    assert s["cracks"] and onset is not None and onset["location"] == "void", onset
    spots = [h for h in s["hot_spots"] if h["stress"] == "max_principal"]
    gap = min(np.linalg.norm(np.subtract(h["position_m"], onset["position_m"])) for h in spots)
    assert gap <= 0.4e-6, (gap, onset, spots)
    assert 0 < onset["dod"] <= s["maxima"]["max_principal_Pa"]["dod"]
    assert abs(s["mass_balance_error"]) < 1e-9
