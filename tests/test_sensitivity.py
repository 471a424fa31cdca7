"""The Saltelli sample's parameter files carry exactly the sampled inputs (the sweep reads nothing else)."""
from __future__ import annotations

import numpy as np
import pytest

from sim.params import load_params
from sim.sensitivity import FACTORS, parameter_file, sample


def test_a_sample_row_reads_back_from_its_parameter_file(tmp_path):
    row = sample(1)[3]
    v = dict(zip((f.name for f in FACTORS), row))
    p = load_params(parameter_file(row, tmp_path / "s.toml"))
    assert p.mechanics.youngs_modulus == pytest.approx(v["youngs_modulus"], rel=1e-12)
    assert p.mechanics.poisson_ratio == pytest.approx(v["poisson_ratio"], rel=1e-12)
    assert p.transport.diffusivity.y[0] == pytest.approx(v["diffusivity"], rel=1e-12)
    assert p.kinetics.exchange_current_density == pytest.approx(v["exchange_current_density"], rel=1e-12)
    assert p.geometry.void_radius == pytest.approx(v["void_radius"], rel=1e-12)
    z = v["void_radius"] + v["pore_void_gap"] + v["pore_radius"]
    assert [pore.radius for pore in p.geometry.pores] == pytest.approx([v["pore_radius"]] * 2, rel=1e-12)
    assert [pore.centre[2] for pore in p.geometry.pores] == pytest.approx([z, -z], rel=1e-12)
    dv = p.mechanics.volume_change
    assert np.interp(0.2, dv.x, dv.y) == pytest.approx(-v["volume_change_amplitude"], rel=1e-12)
    assert np.interp(1.0, dv.x, dv.y) == 0.0
