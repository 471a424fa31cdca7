"""Synthetic microstructures: seeded RSA packings (reproducible, non-overlapping, porosity reached), the clear
error when a porosity cannot be packed, and ``sim microstructure`` end to end (mesh, JSON, parameter set, case)."""
import json
import math
from pathlib import Path

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


# --------------------------------------------------------------------------- the seeds x porosity sweep
TINY_CASE = """model = "lithium"
params = "microstructures/phi0.01_seed1.toml"
geometry = "3d"
[parameters]
"transport.x_initial" = 0.34
[mesh]
size_outer = "1.2 um"
size_inner = "0.35 um"
order = 1
[solver]
dt_initial = "0.2 s"
rtol = 1e-3
atol = 1e-4
[output]
vtx = false
[[protocol]]
step = "discharge at 10C to 0.5 % DOD"
"""
TINY_SWEEP = """[sweep]
case = "case.toml"
[axes]
params = { files = "microstructures/*.toml" }
"""


def _sweep_cli(tmp_path) -> str:
    """``sim microstructure --sweep`` in a child process (a Dask cluster in the test process has made a later
    3D finite-strain solve in the same process stall)."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "sim", "microstructure", "--sweep", str(tmp_path / "sweep.toml"),
                           "--workers", "1", "--out", str(tmp_path / "out")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(root)}, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_microstructure_sweep_distribution_on_a_tiny_variant(tmp_path):
    """Three packings (porosity 1 % seeds 1 and 2, 2 % seed 1) of 0.3 um pores in a 2 um particle, 10C to 0.5 % DOD,
    through ``sim microstructure --sweep`` (sim.sweep on Dask): the distribution's statistics are those of each case's own time series
    (max of hoop_max_Pa in timeseries.csv), the files are written, and a second run resumes (runs nothing)."""
    import pandas as pd

    from sim.mesh.microstructure import params_fragment

    (tmp_path / "microstructures").mkdir()
    for phi, seed in ((0.01, 1), (0.01, 2), (0.02, 1)):
        pores = place_pores(radius=2e-6, porosity=phi, median=0.3e-6, void=0.4e-6, seed=seed)
        (tmp_path / "microstructures" / f"phi{phi:g}_seed{seed}.toml").write_text(
            params_fragment(pores, radius=2e-6, void=0.4e-6, inherits="lmr_default", source="test"))
    (tmp_path / "case.toml").write_text(TINY_CASE)
    (tmp_path / "sweep.toml").write_text(TINY_SWEEP)
    out = tmp_path / "out"
    printed = _sweep_cli(tmp_path)
    assert "| 1 % | 2 |" in printed and "| 2 % | 1 |" in printed and "nan" not in printed

    results = pd.read_csv(out / "results.csv")
    own_max = {}
    for _, case in results.iterrows():       # each case's peak from its own time series
        series = pd.read_csv(out / "cases" / case["case_id"] / "timeseries.csv")
        own_max[case["params"].rsplit("/", 1)[-1]] = series["hoop_max_Pa"].max() / 1e6
    packings = pd.read_csv(out / "distribution_cases.csv")
    assert list(zip(packings["porosity"], packings["seed"])) == [(0.01, 1), (0.01, 2), (0.02, 1)]
    for row in packings.itertuples():
        # the summary's maxima and the time series (10 digits) are recorded apart: measured within 2e-8
        assert row.max_hoop_MPa == pytest.approx(own_max[f"phi{row.porosity:g}_seed{row.seed}.toml"], rel=1e-6)
        assert row.hoop_hot_spot_near in {"outer", "void"} | {f"pore_{i}" for i in range(20)}
    dist = pd.read_csv(out / "distribution.csv").set_index("porosity")
    one = packings.loc[packings["porosity"] == 0.01, "max_hoop_MPa"].to_numpy()
    assert dist.loc[0.01, "max_hoop_mean_MPa"] == pytest.approx(np.mean(one), rel=1e-9)
    assert dist.loc[0.01, "max_hoop_std_MPa"] == pytest.approx(np.std(one, ddof=1), rel=1e-9)
    assert dist.loc[0.02, "packings"] == 1 and math.isnan(dist.loc[0.02, "max_hoop_std_MPa"])
    assert (dist["cracked"] == 0).all() and (dist["ratio_max"] < 1).all()   # 0.5 % DOD is far below σ_f
    assert (out / "distribution.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(0 run now)" in _sweep_cli(tmp_path)


def test_shipped_sweep_expands_to_eight_reproducible_packings():
    """The shipped sweep resolves through sim.resources (as from a wheel), checks all 8 cases (cost within the
    limit) and its parameter sets are what make_microstructures.py writes."""
    import sys

    from sim import resources
    from sim.mesh.microstructure_sweep import SWEEP, _PACKING
    from sim.sweep.spec import load_sweep

    sweep = load_sweep(resources.sweep(SWEEP))
    names = sorted(Path(c.overrides["params"]).name for c in sweep.cases)
    assert len(names) == 8 and all(_PACKING.search(n) for n in names)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "validation" / "sweeps"))   # a clone's script
    try:
        import make_microstructures
    finally:
        sys.path.pop(0)
    made = make_microstructures.packings()
    assert sorted(made) == names
    for name, text in made.items():
        assert (resources.data_dir("sweeps") / "microstructures" / name).read_text() == text


@pytest.mark.parametrize("argv, key", [
    (["--sweep", "--porosity", "0.01"], "--porosity"),
    (["--pore-radius", "0.2 um", "--seed", "1"], "--porosity"),
    (["--porosity", "0.01", "--pore-radius", "0.2 um"], "--seed"),
])
def test_cli_sweep_or_single_packing_inputs(tmp_path, capsys, argv, key):
    from sim.cli import main

    assert main(["microstructure", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and key in err[0], err
    assert not (tmp_path / "o").exists()
