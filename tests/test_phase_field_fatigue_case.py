"""Phase-field fatigue through a case file (issue 9 item 5b): ``[fatigue] model = "phase-field"`` with a repeated
protocol group runs under ``sim run`` with cycle jumping (Carrara et al. 2020; docs/physics.md M5)."""
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import copy
import csv

import numpy as np
import pytest

from sim.case import read_toml
from sim.errors import InputError
from sim.lithium.case import load_case
from sim.lithium.run import VALIDATION_CASES, run_case

SHIPPED = VALIDATION_CASES / "sphere_fatigue_phase_field.toml"


def cheap(**fatigue):
    """The shipped case on a coarser mesh with a looser time-step error and an earlier failure (seconds);
    ``cycles=None`` drops [fatigue] cycles."""
    case = copy.deepcopy(read_toml(SHIPPED, "case file"))
    case["params"] = "lmr_default"
    case["mesh"] = {"n_cells": 16}
    case["solver"].update(rtol=1e-3, atol=1e-4)
    case["fatigue"].update(failure_damage=0.1, **fatigue)
    if case["fatigue"]["cycles"] is None:
        del case["fatigue"]["cycles"]
    return case


@pytest.fixture(scope="module")
def jumped(tmp_path_factory):
    out = tmp_path_factory.mktemp("pf_fatigue") / "jumped"
    return out, run_case(cheap(), out, progress=False)


def test_jumped_case_run_matches_the_cycle_by_cycle_run(jumped, tmp_path):
    _, s = jumped
    full = run_case(cheap(jump=False), tmp_path / "full", progress=False, outputs="minimal")["fracture"]["fatigue"]
    fat = s["fracture"]["fatigue"]
    print("jumped", {k: fat[k] for k in ("cycles_to_onset", "cycles_to_failure", "computed_cycles")},
          "cycle by cycle", {k: full[k] for k in ("cycles_to_onset", "cycles_to_failure", "computed_cycles")})
    assert full["computed_cycles"] == full["cycles_to_failure"] > 50          # every cycle computed
    assert full["cycles_to_failure_after"] == full["cycles_to_failure"] - 1
    # the jumps skip cycles: the event lies in (after, at] of the jumped run; both within 5 % of the full run
    for event in ("cycles_to_onset", "cycles_to_failure"):
        assert fat[f"{event}_after"] < full[event] <= fat[event]
        assert fat[event] == pytest.approx(full[event], rel=0.05)
    assert fat["computed_cycles"] < 0.8 * full["computed_cycles"]
    assert fat["fails_within_cycles"] and s["cracks"]


def test_cycles_csv_and_timeseries_of_a_phase_field_fatigue_run(jumped):
    out, s = jumped
    fat = s["fracture"]["fatigue"]
    assert fat["model"] == "phase-field" and fat["cycle_steps"] == [0, 2] and fat["cycles"] == 5000
    assert fat["alpha_threshold_J_m3"] == pytest.approx(3e3)
    assert s["files"]["cycles"] == "cycles.csv"
    with open(out / "cycles.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["cycle", "computed_cycles", "t_s", "damage_max", "crack_area_m2", "alpha_bar_max_J_m3",
                             "fatigue_factor_min"]
    cycles, d = np.array([int(r["cycle"]) for r in rows]), np.array([float(r["damage_max"]) for r in rows])
    assert len(rows) == fat["computed_cycles"] and cycles[-1] == fat["cycles_to_failure"]
    assert np.all(np.diff(cycles) >= 1) and np.any(np.diff(cycles) > 1)   # jumps
    assert np.all(np.diff(d) >= -1e-12) and d[-1] >= 0.1 > d[-2]          # irreversible; stops at failure
    assert float(rows[-1]["t_s"]) == pytest.approx(40.0 * fat["computed_cycles"])   # only computed cycles take time
    assert np.all(np.diff([float(r["fatigue_factor_min"]) for r in rows]) <= 1e-12)  # f only degrades
    with open(out / "timeseries.csv") as fh:
        ts = list(csv.DictReader(fh))
    assert {int(r["cycle"]) for r in ts} == {0, *cycles}                 # rows of the computed cycles only
    last = [r for r in ts if int(r["cycle"]) == cycles[-1]][-1]
    assert float(last["damage_max"]) == pytest.approx(d[-1], rel=1e-9)


@pytest.mark.parametrize("edit, key", [
    (lambda c: c.pop("fracture"), "fatigue.model"),
    (lambda c: c["fatigue"].update(geometry_factor=1.12), "fatigue.geometry_factor"),
    (lambda c: c["fatigue"].update(max_change=1.5), "fatigue.max_change"),
    (lambda c: c["fatigue"].update(failure_damage=0.005), "fatigue.failure_damage"),
    (lambda c: c["fracture"].update(fatigue=False), "fracture.fatigue"),
    (lambda c: c["protocol"].append({"step": "rest for 1 s"}), "protocol"),
])
def test_bad_phase_field_fatigue_entries_name_their_key(edit, key):
    case = cheap()
    edit(case)
    with pytest.raises(InputError) as err:
        load_case(case)
    assert err.value.key == key


def test_the_shipped_case_cycles_its_repeated_group_and_refuses_resume(tmp_path):
    spec = load_case(SHIPPED)
    assert spec.fracture.fatigue and spec.fatigue.model == "phase-field" and spec.cycle == (2, 4)
    assert spec.cycle_repeats == 2 and spec.fatigue.cycles == 5000
    with pytest.raises(InputError, match="without --resume"):
        run_case(SHIPPED, tmp_path / "r", resume=True, progress=False)
    short = cheap(cycles=None)              # without [fatigue] cycles: the repeat count (2); d goes to VTX
    short["output"]["vtx"] = True
    s = run_case(short, tmp_path / "vtx", progress=False)
    assert s["fracture"]["fatigue"]["cycles_run"] == 2 and "fields/damage.bp" in s["files"]["fields"]
    assert (tmp_path / "vtx" / "fields" / "damage.bp").is_dir()
