"""Phase-field fatigue (Carrara et al. 2020) and cycle jumping on a homogeneous bar (docs/physics.md M5)."""
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import numpy as np
import pytest

from sim.fracture.verification import ELL, GC, cycled_bar, homogeneous_fatigue_cycles


@pytest.fixture(scope="module")
def cycle_by_cycle():
    return cycled_bar(jump=False)


def test_fatigue_without_jumps_follows_the_homogeneous_recursion(cycle_by_cycle):
    pf, jumper, table = cycle_by_cycle
    assert pf.alpha_t == pytest.approx(GC / (12 * ELL))                 # default threshold G_c/(12ℓ)
    assert jumper.cycles_to_failure == homogeneous_fatigue_cycles()
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
