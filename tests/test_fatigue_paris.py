"""Paris-law fatigue: cycles to failure against the closed-form integral, the numerical a(N), and a
case whose protocol repeats one cycle and extrapolates it with ``[fatigue] cycles = N``."""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from sim.errors import InputError
from sim.fracture import fatigue, verification

C, Y = 3.9e-20, 1.12


@pytest.mark.parametrize("m", [2.0, 2.2, 4.0])
def test_closed_form_cycles_to_failure_is_the_paris_integral(m):
    a0, d_sigma, s_max, k_ic = 20e-9, 8e7, 1e8, 0.5e6
    r = verification.paris_life(m, a0=a0, delta_sigma=d_sigma, sigma_max=s_max, toughness=k_ic, coefficient=C,
                                geometry_factor=Y)
    a_c, n_f = r["a_c"], r["closed_form"]
    assert Y * s_max * math.sqrt(math.pi * a_c) == pytest.approx(k_ic, rel=1e-12)
    assert n_f == pytest.approx(fatigue.cycles_to_failure(a0, a_c, d_sigma, coefficient=C, exponent=m,
                                                          geometry_factor=Y), rel=1e-15)
    assert n_f == pytest.approx(r["integral"], rel=1e-9)
    # the numerical integrator reaches a_c at the same cycle, and follows the closed-form a(N)
    assert r["numerical"] == pytest.approx(n_f, rel=1e-6)
    cycles = r["cycles"]
    assert cycles[-1] == pytest.approx(0.999 * n_f) and len(cycles) == 7
    b = C * (Y * d_sigma * math.sqrt(math.pi)) ** m
    exact = (np.exp(b * cycles) * a0 if m == 2 else
             (a0 ** (1 - m / 2) + (1 - m / 2) * b * cycles) ** (1 / (1 - m / 2)))
    assert r["a_closed_form"] == pytest.approx(exact, rel=1e-12)
    assert r["a_numerical"] == pytest.approx(exact, rel=1e-6)
    assert r["failed_by_twice_life"]


def test_degenerate_cycles():
    assert fatigue.stress_range([-5e7, 1e8, 3e7]) == (1e8, 1e8)        # compression closes the flaw
    assert fatigue.stress_range([2e7, 1e8]) == (8e7, 1e8)
    assert fatigue.stress_range([-1e8, -2e7]) == (0.0, -2e7)
    assert fatigue.critical_size(1e6, -1.0) == math.inf
    kw = dict(coefficient=C, exponent=2.2)
    assert fatigue.cycles_to_failure(1e-6, 1e-7, 1e8, **kw) == 0.0
    assert fatigue.cycles_to_failure(1e-8, 1e-6, 0.0, **kw) == math.inf
    a, n_f = fatigue.crack_growth(1e-8, 0.0, [0, 10, 100], **kw)
    assert n_f == math.inf and a.tolist() == [1e-8] * 3
    assert fatigue.report_cycles(1000)[[0, 1, -1]].tolist() == [0, 1, 1000]


CASE = {"model": "lithium", "params": "lmr_default", "geometry": "radial",
        "parameters": {"transport.x_initial": 0.6, "mechanics.flaw_size": "2 um",
                       "mechanics.fracture_toughness": "0.02 MPa*m^0.5"},
        "mesh": {"n_cells": 20}, "solver": {"dt_max": "5 s"},
        "output": {"probes": {}, "vtx": False, "hot_spots": 2},
        "fatigue": {"cycles": 100000},
        "protocol": [{"repeat": 2, "steps": ["charge at 2C for 60 s", "discharge at 2C for 60 s"]}]}


def test_a_repeated_cycle_extrapolated_by_the_paris_law(tmp_path):
    from sim.lithium.case import load_case
    from sim.lithium.run import run_case
    from sim.params import load_params

    spec = load_case(CASE)
    assert len(spec.protocol) == 4 and spec.cycle == (2, 4) and spec.fatigue.cycles == 100000
    s = run_case(CASE, tmp_path / "fat", progress=False)
    fat = s["fracture"]["fatigue"]
    assert fat["cycle_steps"] == [2, 4] and fat["geometry_factor"] == pytest.approx(1.12)
    with open(tmp_path / "fat" / "timeseries.csv") as fh:
        steps = np.array([int(r["step"]) for r in csv.DictReader(fh)])
    with open(tmp_path / "fat" / "hotspots.csv") as fh:
        rows = list(csv.DictReader(fh))
    m = load_params("lmr_default", CASE["parameters"]).mechanics
    kw = dict(coefficient=m.paris_coefficient, exponent=m.paris_exponent, geometry_factor=1.12)
    for name in ("max_principal_1", "max_principal_2"):
        history = np.array([float(r[f"{name}_max_principal_Pa"]) for r in rows])[steps >= 2]
        d_sigma, s_max = fatigue.stress_range(history)
        assert fat["hot_spots"][name]["stress_range_Pa"] == pytest.approx(d_sigma, rel=1e-8)
        a_c = fatigue.critical_size(m.fracture_toughness, s_max, 1.12)
        n_f = fatigue.cycles_to_failure(2e-6, a_c, d_sigma, **kw)
        assert fat["hot_spots"][name]["cycles_to_failure"] == pytest.approx(n_f, rel=1e-8)
    assert fat["cycles_to_failure_min"] == min(h["cycles_to_failure"] for h in fat["hot_spots"].values())
    assert 0 < fat["cycles_to_failure_min"] < 100000 and fat["fails_within_cycles"]
    with open(tmp_path / "fat" / "fatigue.csv") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == ["cycle", "crack_length_max_principal_1_m", "crack_length_max_principal_2_m"]
    assert int(table[0]["cycle"]) == 0 and float(table[0]["crack_length_max_principal_1_m"]) == pytest.approx(2e-6)
    grown = [float(r["crack_length_max_principal_1_m"]) for r in table if r["crack_length_max_principal_1_m"]]
    assert np.all(np.diff(grown) >= 0) and len(grown) < len(table)      # grows, then fails (blank)
    assert "fatigue" in s["files"]


@pytest.mark.parametrize("edit, key", [
    ({"fatigue": {"cycles": 0}}, "fatigue.cycles"),
    ({"fatigue": {"geometry_factor": 1.0}}, "fatigue.cycles"),
    ({"fatigue": {"cycles": 10, "Y": 1.0}}, "fatigue.Y"),
    ({"protocol": [{"repeat": 20000, "steps": ["rest 1 s"]}]}, "protocol[0].repeat"),
    ({"protocol": [{"repeat": 6000, "steps": ["rest 1 s", "rest 2 s"]}]}, "protocol[0].repeat"),
    ({"protocol": [{"steps": ["rest 1 s"]}]}, "protocol[0].steps"),
    ({"protocol": [{"repeat": 0, "step": "rest 1 s"}]}, "protocol[0].repeat"),
])
def test_bad_fatigue_and_repeat_entries_name_their_key(edit, key):
    from sim.lithium.case import load_case

    with pytest.raises(InputError) as err:
        load_case({**CASE, **edit})
    assert err.value.key == key and err.value.file == "<case>"
