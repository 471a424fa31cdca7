"""Slow ``sim run`` checks: the Liu 2024 demo (both shipped cases) and a 2-rank MPI run against serial."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.lithium.run import VALIDATION_CASES, demo_liu2024, run_case

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent


def test_liu2024_demo_bridge_stress_ratio_is_about_two_orders(tmp_path, capsys):
    info = demo_liu2024(tmp_path, progress=False)
    printed = capsys.readouterr().out
    assert "bridge-point hoop stress at 20 % DOD" in printed and "ratio" in printed
    hoop = info["bridge_hoop_Pa"]
    assert hoop["10C"] > 0 and hoop["0.1C"] > 0            # the bridge is in tension on discharge
    assert 80 <= info["ratio_10C_to_0p1C"] <= 200          # Liu 2024: "at least two orders of magnitude"
    assert Path(info["png"]).read_bytes()[:4] == b"\x89PNG"
    for label in ("10C", "0.1C"):
        s = json.loads((Path(info["runs"][label]) / "summary.json").read_text())
        assert s["status"] == "completed" and abs(s["final"]["dod"] - 0.2) < 1e-8
        assert [m["dod_target"] for m in s["maps"]] == [0.1, 0.2]
        assert abs(s["maps"][1]["dod"] - 0.2) < 1e-8
    assert json.loads((tmp_path / "liu2024_comparison.json").read_text())["bridge_hoop_Pa"] == hoop


def test_two_mpi_ranks_give_the_serial_result(tmp_path):
    case = VALIDATION_CASES / "sphere_radial_1C.toml"
    overrides = {"protocol[0].step": "discharge at 1C to 20 % DOD", "protocol[1].step": "rest 1 min",
                 "protocol[2].step": "charge at 1C for 1 min", "protocol[3].step": "rest 1 s",
                 "output.maps_at_dod": "10 %", "mesh.n_cells": 40}
    serial = run_case(case, tmp_path / "serial", overrides, progress=False)
    script = (f"from sim.lithium.run import run_case; run_case({str(case)!r}, {str(tmp_path / 'mpi')!r}, "
              f"{overrides!r}, progress=False)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    mpiexec = Path(sys.executable).parent / "mpiexec"
    subprocess.run([str(mpiexec), "-n", "2", sys.executable, "-c", script], check=True, env=env, timeout=900)
    parallel = json.loads((tmp_path / "mpi" / "summary.json").read_text())
    assert parallel["mpi_ranks"] == 2 and parallel["status"] == "completed"
    assert parallel["time_steps"] == serial["time_steps"]
    for key in ("t_s", "dod", "potential_V"):
        assert parallel["final"][key] == pytest.approx(serial["final"][key], rel=1e-9, abs=1e-12)
    for name in ("hoop_Pa", "von_mises_Pa"):
        assert parallel["maxima"][name]["value"] == pytest.approx(serial["maxima"][name]["value"], rel=1e-6)
        assert parallel["probes"]["surface"]["maxima"][name]["value"] == \
            pytest.approx(serial["probes"]["surface"]["maxima"][name]["value"], rel=1e-6)
    assert (tmp_path / "mpi" / "maps" / "dod_10.png").exists()
    # onset screening and hot spots do not depend on the partition
    for a, b in zip(parallel["hot_spots"], serial["hot_spots"]):
        assert a["name"] == b["name"] and a["value_Pa"] == pytest.approx(b["value_Pa"], rel=1e-6)
        assert a["position_m"] == pytest.approx(b["position_m"], abs=1e-12)
    assert parallel["fracture"]["failure_probability_max"] == \
        pytest.approx(serial["fracture"]["failure_probability_max"], rel=1e-6)
    assert parallel["fracture"]["flaw"]["g_max_J_m2"] == pytest.approx(serial["fracture"]["flaw"]["g_max_J_m2"], rel=1e-6)
