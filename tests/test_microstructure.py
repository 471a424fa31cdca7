"""Synthetic microstructures: seeded RSA packings (reproducible, non-overlapping, porosity reached), the clear
error when a porosity cannot be packed, and ``sim microstructure`` end to end (mesh, JSON, parameter set, case)."""
import json
import math

import pytest

import dolfinx_solver  # noqa: F401  (before mpi4py)
import numpy as np

from sim.errors import InputError
from sim.mesh.microstructure import parse_pore_radius, place_pores


def test_parse_pore_radius():
    assert parse_pore_radius("0.2 um") == (pytest.approx(0.2e-6), 0.0)
    assert parse_pore_radius("lognormal(200 nm, 0.3)") == (pytest.approx(0.2e-6), 0.3)
    for bad in ("lognormal(0.2 um)", "0.2", "lognormal(0.2 um, -1)"):
        with pytest.raises(InputError):
            parse_pore_radius(bad)


@pytest.mark.parametrize("sigma", [0.0, 0.3])
def test_rsa_reproducible_non_overlapping_and_porous_enough(sigma):
    R, a, gap = 8e-6, 0.5e-6, 0.5
    kw = dict(radius=R, porosity=0.03, median=0.6e-6, sigma=sigma, void=a, gap=gap)
    pores = place_pores(seed=7, **kw)
    again = place_pores(seed=7, **kw)
    other = place_pores(seed=8, **kw)
    assert all(np.array_equal(c, d) and r == s for (c, r), (d, s) in zip(pores, again)) and len(pores) == len(again)
    assert not np.allclose(pores[0][0], other[0][0])
    c = np.array([p[0] for p in pores])
    r = np.array([p[1] for p in pores])
    phi = np.sum(r**3) / R**3
    assert 0.03 <= phi < 0.03 + (r.max() / R) ** 3 + 1e-12          # reached, overshoot at most one pore
    d = np.linalg.norm(c, axis=1)
    assert np.all(d + r * (1 + gap) <= R * (1 + 1e-12)) and np.all(d - r * (1 + gap) >= a * (1 - 1e-12))
    sep = np.linalg.norm(c[:, None] - c[None], axis=2) - r[:, None] - r[None]
    np.fill_diagonal(sep, np.inf)
    assert np.all(sep >= gap * np.minimum(r[:, None], r[None]) * (1 - 1e-12))
    if sigma:
        assert np.std(np.log(r)) == pytest.approx(sigma, rel=0.5)


def test_unpackable_porosity_is_a_clear_error():
    with pytest.raises(InputError, match="cannot pack porosity 0.4") as err:
        place_pores(radius=1e-6, porosity=0.4, median=0.3e-6, seed=1)
    assert err.value.key == "--porosity"
    with pytest.raises(InputError, match="does not fit"):
        place_pores(radius=1e-6, porosity=0.1, median=0.5e-6, void=0.3e-6, seed=1)


def test_cli_microstructure_writes_mesh_record_params_and_case(tmp_path, capsys):
    from sim.cli import build_parser
    from sim.lithium.case import load_case
    from sim.params import load_params

    parser = build_parser()
    from sim.mesh.microstructure import register
    import argparse

    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "microstructure" not in sub.choices:      # until sim.cli registers it
        register(sub)
    out = tmp_path / "ms"
    args = parser.parse_args(["microstructure", "--porosity", "0.004", "--pore-radius", "lognormal(0.5 um, 0.2)",
                              "--void", "1 um", "--radius", "4 um", "--seed", "3", "--set", "mesh.size_outer=1 um", "--set", "mesh.size_inner=0.3 um",
                              "--out", str(out)])
    assert args.func(args) == 0
    record = json.loads((out / "microstructure.json").read_text())
    assert record["seed"] == 3 and record["porosity_achieved"] >= 0.004
    mesh = json.loads((out / "geometry.json").read_text())
    assert sorted(mesh["boundaries"]) == sorted(["outer", "void"] + [f"pore_{i}" for i in range(record["pore_count"])])
    shell = 4 / 3 * math.pi * (4e-6**3 - 1e-6**3 - sum(p["radius_m"] ** 3 for p in record["pores"]))
    assert mesh["volume_m3"] == pytest.approx(shell, rel=0.03)
    pset = load_params(out / "microstructure_params.toml")        # loads and passes the overlap checks
    assert len(pset.geometry.pores) == record["pore_count"]
    np.testing.assert_allclose(pset.geometry.pores[0].centre, record["pores"][0]["centre_m"], rtol=1e-5, atol=1e-12)
    case = load_case(out / "case.toml")
    assert case.geometry == "3d"
    assert "porosity" in capsys.readouterr().out
