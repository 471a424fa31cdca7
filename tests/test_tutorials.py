"""The tutorials in docs/tutorials/ run from a folder outside the clone and check their own results.

Each tutorial is a jupytext percent script with ``assert`` lines on what it computes (D_O within x10 of
the value the example was made with, the Weppner–Huggins ratio, the 10C/0.1C stress ratio, D·t scaling of
the O loss), so running it is the test.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
TUTORIALS = REPO / "docs" / "tutorials"


def _run(name: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(TUTORIALS / f"{name}.py")], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"{name}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_every_tutorial_is_tested():
    tested = {"fit_oxygen_diffusivity", "gitt", "stress_maps", "sweep"}
    assert {p.stem for p in TUTORIALS.glob("*.py")} == tested


def test_fit_oxygen_diffusivity(tmp_path):
    out = _run("fit_oxygen_diffusivity", tmp_path)
    assert "preferred: diffusion" in out
    assert (tmp_path / "tutorial-output" / "fit" / "map" / "map_profile.csv").is_file()


def test_gitt(tmp_path):
    out = _run("gitt", tmp_path)
    assert "D_WH" in out and (tmp_path / "tutorial-output" / "gitt" / "summary.json").is_file()


def test_stress_maps(tmp_path):
    out = _run("stress_maps", tmp_path)
    assert "ratio 10C / 0.1C" in out and (tmp_path / "tutorial-output" / "stress_maps" / "hoop_10C_vs_0p1C.png").is_file()


def test_sweep(tmp_path):
    _run("sweep", tmp_path)
    assert (tmp_path / "tutorial-output" / "sweep" / "o_loss_vs_D.png").is_file()
