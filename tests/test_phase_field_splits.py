"""What the energy splits degrade under compression and swelling (docs/physics.md M5; issue 9 item 4).

A stress-free swelling (uniform Li fraction in a free particle) has zero elastic strain: no split cracks it.
Compression is not crack-free in general: Miehe's spectral split degrades every positive principal *strain*
and Amor's split the whole deviatoric energy, so a uniaxial or equi-biaxial compressive *stress* (the
swelling surface layer on lithiation: hoop compression, σ_rr = 0, Poisson-tensile ε_rr) drives damage through
ψ⁺ in closed form. That is a property of strain-based splits, not a discretisation error; these tests pin it."""
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import numpy as np
import pytest
import ufl
from dolfinx import fem, mesh
from mpi4py import MPI

from sim.fracture.options import PhaseFieldOptions
from sim.fracture.phase_field import PhaseField

GC, ELL, LAM, MU = 1.0, 0.1, 1.0, 1.0          # λ = μ: ν = 1/4, E = 5/2
NU = LAM / (2 * (LAM + MU))
E_STRAIN = 0.3                                  # |σ|/E of the compressive stress


def homogeneous_damage(strain: np.ndarray, split: str) -> float:
    """AT2 d_max on a unit cube whose boundary displacement is u = ε x (a homogeneous strain ε)."""
    msh = mesh.create_unit_cube(MPI.COMM_WORLD, 2, 2, 2)
    V = fem.functionspace(msh, ("Lagrange", 1, (3,)))
    g = fem.Function(V)
    g.interpolate(lambda x: strain @ x)
    msh.topology.create_connectivity(2, 3)
    bc = fem.dirichletbc(g, fem.locate_dofs_topological(V, 2, mesh.exterior_facet_indices(msh.topology)))
    pf = PhaseField(fem.Function(V), [bc], lambda v: ufl.sym(ufl.grad(v)), LAM, MU, weight=1.0, factor=1.0,
                    structure="full", fracture=PhaseFieldOptions(variant="AT2", split=split), Gc=GC, ell=ELL)
    assert pf.solve() is None
    return pf.damage_max()


def at2_homogeneous(psi_plus: float) -> float:
    """d of the homogeneous AT2 state: d = 2ψ⁺/(2ψ⁺ + G_c/ℓ)."""
    return 2 * psi_plus / (2 * psi_plus + GC / ELL)


@pytest.mark.parametrize("state", ["uniaxial stress", "equi-biaxial stress"])
def test_compressive_stress_is_degraded_by_its_tensile_poisson_strains(state):
    e = E_STRAIN
    if state == "uniaxial stress":       # σ = diag(−σ, 0, 0): ε = e diag(−1, ν, ν)
        strain = e * np.diag([-1.0, NU, NU])
        spectral = MU * 2 * (NU * e) ** 2
    else:                                # σ = diag(−σ, −σ, 0): ε = e diag(−(1 − ν), −(1 − ν), 2ν)
        strain = e * np.diag([-(1 - NU), -(1 - NU), 2 * NU])
        spectral = MU * (2 * NU * e) ** 2
    assert np.trace(strain) < 0          # compressive volume change: ⟨tr ε⟩₊ = 0 in both splits
    dev = strain - np.trace(strain) / 3 * np.eye(3)
    amor = MU * np.sum(dev * dev)        # = μ (2/3)(1 + ν)² e² in both states
    assert amor == pytest.approx(MU * 2 / 3 * (1 + NU) ** 2 * e**2, rel=1e-12)
    d_spectral, d_amor = homogeneous_damage(strain, "spectral"), homogeneous_damage(strain, "volumetric-deviatoric")
    print(state, "d spectral", d_spectral, "volumetric-deviatoric", d_amor)
    assert d_spectral == pytest.approx(at2_homogeneous(spectral), rel=1e-6)
    assert d_amor == pytest.approx(at2_homogeneous(amor), rel=1e-6)
    assert d_spectral > 1e-3 and d_amor > d_spectral


def test_uniform_swelling_of_a_free_particle_leaves_no_damage():
    """A uniform Li fraction away from the reference one: stress-free swelling, ε_e = 0, so ψ⁺ = 0 (up to the
    1e-14 regularisation of the axisymmetric principal strains: ψ⁺ <= μ 1e-14)."""
    from sim.lithium.mechanics import Mechanics
    from sim.mesh import axisymmetric_mesh
    from sim.params import load_params

    p = load_params("lmr_default", {"geometry.particle_radius": "2 um", "geometry.void_radius": "0.3 um",
                                    "geometry.pores": [], "mesh.size_outer": "0.3 um", "mesh.size_inner": "0.15 um",
                                    "mechanics.phase_field_length": "0.2 um"})
    pm = axisymmetric_mesh(p.geometry, p.mesh, order=1)
    c = fem.Function(fem.functionspace(pm.mesh, ("Lagrange", 1)))
    c.x.array[:] = 0.5 * p.transport.c_max           # ΔV/V0(0.5) = −0.83 %, uniform
    for split in ("spectral", "volumetric-deviatoric"):
        mech = Mechanics(p, pm, c, degree=2, fracture=PhaseFieldOptions(variant="AT2", split=split))
        assert mech.solve() is None
        s = mech.stress_fields()
        stress = max(np.abs(s[n].x.array).max() for n in ("hoop", "radial", "von_mises"))
        mu = p.mechanics.youngs_modulus / (2 * (1 + p.mechanics.poisson_ratio))
        bound = 1.01 * 2 * mu * 1e-14 * p.mechanics.phase_field_length / p.mechanics.fracture_energy
        print(split, "max |stress|", stress, "d_max", mech.damage_max(), "bound", bound)
        assert stress < 1e-6 * p.mechanics.youngs_modulus * 0.0083
        assert mech.damage_max() <= bound
