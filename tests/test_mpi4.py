"""The 3D Li solver on 4 MPI ranks (oversubscribed on a 2-core machine is fine for correctness) gives
the 1-rank answer: same stop, potential and point values (slow)."""
import numpy as np
import pytest

from test_lithium_3d import _run


@pytest.mark.slow
def test_3d_run_on_four_ranks_agrees_with_one_rank(tmp_path):
    serial, four = _run(tmp_path, 1), _run(tmp_path, 4)
    assert four["ranks"] == 4 and serial["reason"] == four["reason"] == "dod"
    assert four["t"] == pytest.approx(serial["t"], rel=1e-9)
    assert four["potential"] == pytest.approx(serial["potential"], abs=1e-9)
    for key in ("c", "hoop", "radial"):
        s, q = np.array(serial[key]), np.array(four[key])
        assert np.abs(s - q).max() <= 1e-6 * np.abs(s).max(), key
    assert abs(serial["mass_balance"]) < 1e-12 and abs(four["mass_balance"]) < 1e-12
