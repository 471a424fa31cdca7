"""Phase-field fracture on imaged meshes (tetrahedra from a segmented volume, faceted surfaces): a stress-free
swelling leaves no damage with finite strain, and a `sim run` on an imaged hollow sphere damages its outer
surface (where the σ₁ hot spots are, in tension on charge) in the step the 1D hollow sphere does."""

import pytest

from test_imaged_models import voxel_shell

import dolfinx_solver  # noqa: F401  (before mpi4py)
import numpy as np
from dolfinx import fem
from mpi4py import MPI

from sim.fracture.options import PhaseFieldOptions
from sim.mesh.image import mesh_from_image

COMM = MPI.COMM_SELF
SHELL = {"geometry.particle_radius": "1 um", "geometry.void_radius": "0.4 um", "geometry.pores": []}


@pytest.fixture(scope="module")
def shell():
    """b = 1 µm, a = 0.4 µm at 10 voxels of 0.1 µm across b, tetrahedra of 0.3 µm (≈ 3000 cells)."""
    return mesh_from_image(voxel_shell(10, 4), 0.1e-6, size=0.3e-6, comm=COMM)


def test_uniform_swelling_of_an_imaged_particle_leaves_no_damage(shell):
    """Uniform Li fraction away from the reference one, finite strain: F_e = I on the faceted body, so the
    Green–Lagrange elastic strain, ψ⁺ and d vanish up to the 1e-14 regularisation of the 3D principal strains
    (ψ⁺ <= 3μ·1e-14, d <= 2ℓψ⁺/G_c)."""
    from sim.lithium.mechanics import Mechanics
    from sim.params import load_params

    p = load_params("lmr_default", {**SHELL, "mechanics.strain_model": "finite",
                                    "mechanics.phase_field_length": "0.6 um"})
    c = fem.Function(fem.functionspace(shell.mesh, ("Lagrange", 1)))
    c.x.array[:] = 0.5 * p.transport.c_max           # ΔV/V0(0.5) = −0.83 %, uniform
    mech = Mechanics(p, shell, c, degree=1, fracture=PhaseFieldOptions(variant="AT2", split="spectral"))
    assert mech.solve() is None
    s = mech.stress_fields()
    stress = max(np.abs(s[n].x.array).max() for n in ("hoop", "radial", "von_mises"))
    mu = p.mechanics.youngs_modulus / (2 * (1 + p.mechanics.poisson_ratio))
    bound = 1.01 * 2 * 3 * mu * 1e-14 * p.mechanics.phase_field_length / p.mechanics.fracture_energy
    print("max |stress|", stress, "d_max", mech.damage_max(), "bound", bound)
    assert stress < 1e-6 * p.mechanics.youngs_modulus * 0.0083
    assert mech.damage_max() <= bound


CASE = """model = "lithium"
params = "lmr_default"
geometry = "{geometry}"
[parameters]
"transport.x_initial" = 0.9
"transport.diffusivity" = "1e-11 cm^2/s"
"mechanics.strain_model" = "small"
"mechanics.tensile_strength" = "2 MPa"
"mechanics.fracture_energy" = "1e-3 J/m^2"
"mechanics.phase_field_length" = "0.6 um"
"geometry.particle_radius" = "1 um"
"geometry.void_radius" = "0.4 um"
"geometry.pores" = []
[mesh]
{mesh}
[solver]
dt_initial = "0.25 s"
dt_max = "0.25 s"
degree_u = 1
rtol = 1e-3
atol = 1e-4
[output]
vtx = true
[fracture]
model = "phase-field"
variant = "AT2"
split = "spectral"
[[protocol]]
step = "charge at 2C for 3 s"
"""


def test_sim_run_on_an_imaged_particle_cracks_its_outer_surface_like_the_hollow_sphere(shell, tmp_path):
    """`sim run` with `[fracture] model = "phase-field"` on the imaged shell (.msh), 2C charge (delithiation: the
    outer surface in tension), G_c = 1e-3 J/m² so that d passes 0.01 within seconds. The damage onset lies
    at the outer surface, where the σ₁ hot spots are; d goes to timeseries.csv and fields/damage.bp; Li is
    conserved. The onset time (the first step with d_max > 0.01, Δt = 0.25 s) is that of the 1D hollow sphere
    (an independent mesh and kinematics, same ℓ) to within one step (measured: the same step, 1.75 s, on a
    coarse faceted P1 body with ℓ/h = 2)."""
    import csv

    from sim.lithium.run import run_case

    shell.write(tmp_path, "shell")
    runs = {}
    for name, geometry, mesh in (("imaged", "3d", 'file = "shell.msh"'),
                                 ("sphere", "hollow", 'size_outer = "0.01 um"\nsize_inner = "0.01 um"')):
        (tmp_path / f"{name}.toml").write_text(CASE.format(geometry=geometry, mesh=mesh))
        runs[name] = run_case(tmp_path / f"{name}.toml", tmp_path / name, progress=False, outputs="minimal"
                              if name == "sphere" else "full")
    s = runs["imaged"]
    onset, fr = s["fracture"]["damage_onset"], s["fracture"]
    assert s["status"] == "completed" and s["cracks"]
    assert onset is not None and onset["location"] == "outer", onset
    spots = [h for h in s["hot_spots"] if h["stress"] == "max_principal"]
    assert spots and all(h["nearest_boundary"] == "outer" for h in spots), spots
    assert fr["onset"] is not None and fr["onset"]["location"] == "outer"
    assert abs(s["mass_balance_error"]) < 1e-9
    rows = list(csv.DictReader(open(tmp_path / "imaged" / "timeseries.csv")))
    assert float(rows[-1]["damage_max"]) == pytest.approx(fr["damage_max"], rel=1e-9) and fr["damage_max"] > 0.01
    assert (tmp_path / "imaged" / "fields" / "damage.bp").is_dir()
    reference = runs["sphere"]["fracture"]["damage_onset"]
    print("damage onset: imaged", onset["t_s"], "s, hollow sphere", reference["t_s"], "s")
    assert abs(onset["t_s"] - reference["t_s"]) <= 0.25 + 1e-9
