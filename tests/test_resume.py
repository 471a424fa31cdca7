"""``sim run --resume`` after a real kill -9: the resumed run's results equal an uninterrupted run's.

A subprocess runs a small radial case with a checkpoint every 10 accepted steps and is killed with
SIGKILL once a checkpoint of the wanted step count exists: once inside the galvanostatic step (before
its map DOD, so a pending map and a split step are carried over) and once inside the rest. The same
command with ``--resume`` must reproduce timeseries.csv (every row and column), the final state, the
maxima, the hot spots and their histories, the maps and the VTK time series of the uninterrupted run, and
leave no hidden staging folder behind. The time steps after the checkpoint are those the uninterrupted
run took, so agreement is to round-off, not merely to the discretisation error.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import radial_case

CASE = radial_case("""\
[solver]
dt_max = "2 s"
[output]
maps_at_dod = ["5 %"]
probes = { surface = "surface" }
vtx_every = 10
vtk = true
checkpoint_every = 10
[[protocol]]
step = "discharge at 1C to 10 % DOD"
[[protocol]]
step = "rest 3 min"
""", n_cells=30)
ROOT = Path(__file__).resolve().parents[1]


def kill_after_checkpoint(case: Path, out: Path, steps: int) -> dict:
    """Start ``sim run`` in a subprocess, SIGKILL it once its checkpoint has >= ``steps`` time steps; return
    that checkpoint's state."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(case), "--out", str(out), "--quiet"],
                            cwd=case.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state, deadline = None, time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            for path in out.parent.glob(f".{out.name}.tmp-*/checkpoint/state.json"):
                try:
                    state = json.loads(path.read_text())
                except (OSError, ValueError):      # swapped in between: read the next one
                    continue
            if state is not None and state["problem"]["steps"] >= steps:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        proc.kill()
        code = proc.wait()
    assert code == -signal.SIGKILL, f"the run ended by itself (exit {code}): {proc.stderr.read().decode()[-500:]}"
    return state


def assert_close(a, b, where: str) -> None:
    """Nested dicts/lists equal, numbers to 1e-10 relative."""
    if isinstance(b, dict):
        assert set(a) == set(b), where
        for k in b:
            assert_close(a[k], b[k], f"{where}.{k}")
    elif isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{where}[{i}]")
    elif isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-10, abs=1e-12), where
    else:
        assert a == b, where


def test_resume_after_kill_9_equals_an_uninterrupted_run(tmp_path, run_cli, capsys):
    case = tmp_path / "case.toml"
    case.write_text(CASE)
    assert run_cli(case, "--out", tmp_path / "full", "--quiet") == 0
    full = tmp_path / "full"
    reference = pd.read_csv(full / "timeseries.csv")
    ref = json.loads((full / "summary.json").read_text())
    rest_start = int(reference.index[reference["step"] == 1][0])

    for name, kill_at, in_step in (("mid_discharge", 40, 0), ("mid_rest", rest_start + 10, 1)):
        out = tmp_path / name
        state = kill_after_checkpoint(case, out, kill_at)
        assert state["step_index"] == in_step and not out.exists()
        if in_step == 0:
            assert state["pending"] == [0.05]           # the map is still to come
            # a checkpoint of another case is refused, and the killed run's folder is kept for a proper resume
            assert run_cli(case, "--out", out, "--resume", "--quiet", "--set", "solver.dt_max=3 s") == 2
            err = capsys.readouterr().err
            assert "--resume: the checkpoint in" in err and "different case" in err and "\n" not in err.strip()
            assert len(list(tmp_path.glob(f".{name}.tmp-*"))) == 1 and not out.exists()

        assert run_cli(case, "--out", out, "--resume") == 0
        assert "resumed at t = " in capsys.readouterr().out
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []   # no orphan left
        resumed = pd.read_csv(out / "timeseries.csv")
        assert list(resumed.columns) == list(reference.columns) and len(resumed) == len(reference)
        np.testing.assert_allclose(resumed.to_numpy(float), reference.to_numpy(float), rtol=1e-10, atol=1e-12)
        s = json.loads((out / "summary.json").read_text())
        assert s["status"] == "completed" and s["resumed"][0]["time_steps"] == state["problem"]["steps"]
        assert s["time_steps"] == ref["time_steps"] and s["newton_iterations"] == ref["newton_iterations"]
        for key in ("final", "maxima", "minima", "probes", "steps"):
            assert_close(s[key], ref[key], key)
        assert [m["dod"] for m in s["maps"]] == pytest.approx([m["dod"] for m in ref["maps"]], rel=1e-10)
        assert [h["value_Pa"] for h in s["hot_spots"]] == pytest.approx([h["value_Pa"] for h in ref["hot_spots"]],
                                                                        rel=1e-10)
        np.testing.assert_allclose(np.loadtxt(out / "hotspots.csv", delimiter=",", skiprows=1),
                                   np.loadtxt(full / "hotspots.csv", delimiter=",", skiprows=1), rtol=1e-10)
        assert (out / "maps" / "dod_5.png").stat().st_size > 0
        assert (out / "fields" / "fields.pvd").read_text() == (full / "fields" / "fields.pvd").read_text()
        assert "fields/c_resume1.bp" in s["files"]["fields"] and (out / "fields" / "c_resume1.bp").is_dir()
        assert not (out / "checkpoint").exists()


def test_resume_without_a_checkpoint_starts_afresh_and_a_plain_run_removes_the_orphan(tmp_path, run_cli, capsys):
    case = tmp_path / "case.toml"
    case.write_text(CASE.replace("maps_at_dod", "# maps_at_dod").replace('"rest 3 min"', '"rest 1 s"')
                    .replace("10 % DOD", "1 % DOD"))
    orphan = tmp_path / ".res.tmp-deadbeef"          # a killed run's staging folder without a checkpoint
    orphan.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (orphan / ".sim-owner").write_text(f"{socket.gethostname()} {dead.pid}\n")
    (orphan / "timeseries.csv").write_text("t_s\n0\n")
    assert run_cli(case, "--out", tmp_path / "res", "--resume", "--quiet") == 0
    assert "no checkpoint of this case" in capsys.readouterr().err
    assert not orphan.exists() and json.loads((tmp_path / "res" / "summary.json").read_text())["resumed"] == []
