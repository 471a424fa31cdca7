"""Phase-field fatigue (Carrara et al. 2020) and cycle jumping on a homogeneous bar (docs/physics.md M5)."""
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import numpy as np
import pytest
import ufl
from dolfinx import fem, mesh
from mpi4py import MPI

from sim.fracture.options import PhaseFieldOptions
from sim.fracture.pf_fatigue import CycleJumper
from sim.fracture.phase_field import PhaseField

GC, ELL, K = 1.0, 0.1, 1e-6
FAILED = 0.4     # d_max at "failure"; the homogeneous state localises past d ≈ 0.5, a numerical-noise event


def cycled_bar(jump, psi_fraction=1 / 30):
    """Bar cycled between ε = 0 and ε_a with ψ(ε_a) = psi_fraction α_T (AT2, E = 1, ν = 0)."""
    msh = mesh.create_interval(MPI.COMM_WORLD, 4, [0, 1.0])
    V = fem.functionspace(msh, ("Lagrange", 1))
    u = fem.Function(V)
    ubar = fem.Constant(msh, 0.0)
    bcs = [fem.dirichletbc(0.0, fem.locate_dofs_geometrical(V, lambda x: np.isclose(x[0], 0)), V),
           fem.dirichletbc(ubar, fem.locate_dofs_geometrical(V, lambda x: np.isclose(x[0], 1.0)), V)]
    pf = PhaseField(u, bcs, lambda v: ufl.as_matrix([[v.dx(0), 0, 0], [0, 0, 0], [0, 0, 0]]), 0.0, 0.5,
                    weight=1.0, factor=1.0, structure="diagonal", Gc=GC, ell=ELL,
                    fracture=PhaseFieldOptions(variant="AT2", split="none", fatigue=True, residual_stiffness=K))
    strain = np.sqrt(2 * psi_fraction * pf.alpha_t)

    def cycle():
        for e in (strain, 0.0):
            ubar.value = e
            assert pf.solve() is None
            pf.commit()
    jumper = CycleJumper(pf, cycle, failed=lambda: pf.damage_max() >= FAILED, jump=jump)
    return pf, jumper, jumper.run(5000)


def cycles_to_failure_0d(psi_fraction=1 / 30):
    """The same homogeneous history by hand: d = H/(H + f G_c/(2ℓ)), ᾱ += g(d) ψ_a per cycle."""
    alpha_t = GC / (12 * ELL)
    psi, alpha = psi_fraction * alpha_t, 0.0

    def f(a):
        return 1.0 if a <= alpha_t else (2 * alpha_t / (a + alpha_t)) ** 2
    for n in range(1, 100000):
        d = psi / (psi + f(alpha) * GC / (2 * ELL))
        alpha += ((1 - d) ** 2 + K) * psi
        if psi / (psi + f(alpha) * GC / (2 * ELL)) >= FAILED:
            return n


@pytest.fixture(scope="module")
def cycle_by_cycle():
    return cycled_bar(jump=False)


def test_fatigue_without_jumps_follows_the_homogeneous_recursion(cycle_by_cycle):
    pf, jumper, table = cycle_by_cycle
    assert pf.alpha_t == pytest.approx(GC / (12 * ELL))                 # default threshold G_c/(12ℓ)
    assert jumper.cycles_to_failure == cycles_to_failure_0d()
    assert jumper.computed_cycles == jumper.cycles_to_failure
    assert np.all(np.diff([d for _, d in table]) >= 0)


def test_cycle_jumping_matches_the_cycle_by_cycle_life_at_a_fraction_of_the_cost(cycle_by_cycle):
    _, full, _ = cycle_by_cycle
    _, jumped, table = cycled_bar(jump=True)
    print("N_f cycle by cycle", full.cycles_to_failure, "with jumps", jumped.cycles_to_failure,
          "computed", jumped.computed_cycles)
    assert full.cycles_to_failure > 700
    assert jumped.cycles_to_failure == pytest.approx(full.cycles_to_failure, rel=0.03)
    assert jumped.computed_cycles < full.cycles_to_failure / 8
    assert [n for n, _ in table] == sorted({n for n, _ in table})      # cycle numbers advance
