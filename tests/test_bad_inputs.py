"""The bad-input corpus: every entry must end in exit 2 with one line naming the file (or option) and the
key, no traceback, and an unchanged file tree (nothing created, nothing modified).

Each row: an id, a function that lays out its files in a fresh folder and returns the command line,
and the texts the one-line message must contain ("{d}" is that folder). The commands run in-process
through ``sim.cli.main`` (fast); the broken-pipe check runs a real pipe.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
OX_CASE = (ROOT / "validation" / "csernica2021" / "case.toml").read_text()
PROFILE = (ROOT / "validation" / "csernica2021" / "example_profile.csv").read_text()
SCEN = ROOT / "validation" / "scenarios"
SWEEP_CASE = 'model = "oxygen"\nparams = "csernica2021"\n[protocol]\ncycles = 1\nhours_delithiated_per_cycle = 1.2\n'


LI_CASE = 'model = "lithium"\nparams = "liu2024"\ngeometry = "3d"\n[[protocol]]\nstep = "discharge at 1C for 10 s"\n'


def w(d: Path, name: str, text: str | bytes) -> str:
    path = d / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def oxygen(d, *sets, case=OX_CASE, out="out", extra=()):
    argv = ["oxygen", w(d, "case.toml", case), "--out", str(d / out), *extra]
    for s in sets:
        argv += ["--set", s]
    return argv


def results_folder(d, marked: bool) -> None:
    (d / "out").mkdir()
    (d / "out" / "mine.txt").write_text("precious")
    if marked:
        (d / "out" / ".sim-result.json").write_text("{}")


def fit(d, profile=PROFILE, *extra, out="out"):
    return ["fit", w(d, "p.csv", profile), "--out", str(d / out), *extra]


def map_fit(d, *extra, level=0.3):
    y, x = np.mgrid[-20:21, -20:21]
    mask = x**2 + y**2 <= 18**2
    rng = np.random.default_rng(1)
    np.save(d / "map.npy", np.where(mask, level + 0.01 * rng.standard_normal(mask.shape), 0.0))
    np.save(d / "mask.npy", mask)
    return ["fit", str(d / "map.npy"), "--out", str(d / "out"), "--mask", str(d / "mask.npy"), *extra]


def scenario(d, name, edit=lambda t: t, out="out"):
    return ["scenario", w(d, "s.toml", edit((SCEN / f"{name}.toml").read_text())), "--out", str(d / out), "--quick"]


def sweep(d, axes, case=SWEEP_CASE, extra=()):
    w(d, "case.toml", case)
    return ["sweep", w(d, "sweep.toml", f'[sweep]\ncase = "case.toml"\n[axes]\n{axes}\n'), "--out", str(d / "out"),
            "--no-progress", *extra]


def profile_with(line_edit) -> str:
    lines = PROFILE.splitlines()
    start = next(i for i, s in enumerate(lines) if s.startswith("distance_nm"))
    return "\n".join(lines[:start + 1] + line_edit(lines[start + 1:])) + "\n"


CORPUS = [
    # --- sim params
    ("params-not-utf8", lambda d: ["params", w(d, "p.toml", b"[meta]\n\xff\xfe = 1\n")], ["p.toml", "not UTF-8"]),
    ("params-folder", lambda d: (d.joinpath("p.toml").mkdir(), ["params", str(d / "p.toml")])[1],
     ["p.toml", "is a folder"]),
    ("params-empty", lambda d: ["params", w(d, "p.toml", "")], ["p.toml", "empty parameter set"]),
    ("params-syntax", lambda d: ["params", w(d, "p.toml", "[geometry\n")], ["p.toml", "not valid TOML"]),
    ("params-radius-1e300", lambda d: ["params", "liu2024", "--set", "geometry.particle_radius=1e300 um"],
     ["--set", "geometry.particle_radius", "<= 0.001 m"]),
    ("params-inf", lambda d: ["params", "liu2024", "--set", "mechanics.youngs_modulus=inf GPa"],
     ["--set", "mechanics.youngs_modulus", "infinite"]),
    ("params-size-huge", lambda d: ["params", "liu2024", "--set", "mesh.size_outer=2 mm"],
     ["--set", "mesh.size_outer", "<= 0.001 m"]),
    ("params-set-syntax", lambda d: ["params", "liu2024", "--set", "geometry.void_radius"], ["--set", "KEY=VALUE"]),
    # --- sim oxygen
    ("oxygen-cycles-1e10", lambda d: oxygen(d, "protocol.cycles=1e10"), ["--set", "protocol.cycles", "<= 1e+06"]),
    ("mesh-3d-size-tiny", lambda d: ["mesh", "liu2024", "--kind", "3d", "--set", "mesh.size_inner=1e-3 um",
                                     "--out", str(d / "m")], ["--set", "mesh.size_inner", "SIM_MAX_UNKNOWNS"]),
    ("mesh-out-under-file", lambda d: ["mesh", "liu2024", "--kind", "axisym", "--out", w(d, "f", "x") + "/m"],
     ["--out", "which is a file"]),
    ("mesh-name-escapes", lambda d: ["mesh", "liu2024", "--kind", "radial", "--name", "../../x", "--out", str(d / "m")],
     ["--name"]),
    ("run-3d-size-tiny", lambda d: ["run", "liu2024_3d_10C", "--set",
                                    "mesh.size_inner=1e-6 um", "--out", str(d / "r")], ["mesh.size_inner", "SIM_MAX_UNKNOWNS"]),
    ("oxygen-points-abc", lambda d: oxygen(d, "output.profile_points=abc"), ["--set", "output.profile_points", "'abc'"]),
    ("oxygen-points-negative", lambda d: oxygen(d, "output.profile_points=-5"), ["--set", "output.profile_points", ">= 2"]),
    ("oxygen-grading-abc", lambda d: oxygen(d, "solver.grading=abc"), ["--set", "solver.grading", "'abc'"]),
    ("oxygen-offset-outside", lambda d: oxygen(d, "output.lamella_offset=500 nm"),
     ["--set", "output.lamella_offset", "< 160 nm"]),
    ("oxygen-radius-1e300", lambda d: oxygen(d, "primary.radius=1e300 um"), ["--set", "primary.radius"]),
    ("oxygen-D-inf", lambda d: oxygen(d, "oxygen.diffusivity=inf cm^2/s"), ["--set", "oxygen.diffusivity", "infinite"]),
    ("oxygen-cost-3d", lambda d: oxygen(d, "geometry=3d", "solver.surface_size=0.01 nm"),
     ["--set", "solver.surface_size", "SIM_MAX_UNKNOWNS"]),
    ("oxygen-unknown-key", lambda d: oxygen(d, case=OX_CASE.replace("[protocol]", "[protocol]\ncolour = 1")),
     ["case.toml", "protocol.colour", "allowed in [protocol]: cycles"]),
    ("oxygen-set-table-blamed", lambda d: oxygen(d, case=OX_CASE + '\n[set]\n"oxygen.diffusivity" = "-1 cm^2/s"\n'),
     ["case.toml [set]", "oxygen.diffusivity"]),
    ("oxygen-not-utf8", lambda d: oxygen(d, case=OX_CASE.encode() + b"\n# \xe9\n"), ["case.toml", "not UTF-8", "line"]),
    ("oxygen-out-is-file", lambda d: (w(d, "out", "x"), oxygen(d))[1], ["--out", "is a file"]),
    ("oxygen-out-under-file", lambda d: (w(d, "f", "x"), oxygen(d, out="f/sub"))[1], ["--out", "which is a file"]),
    ("oxygen-out-not-empty", lambda d: (results_folder(d, True), oxygen(d))[1], ["--out", "--overwrite"]),
    ("oxygen-overwrite-foreign", lambda d: (results_folder(d, False), oxygen(d, extra=["--overwrite"]))[1],
     ["--out", "not a results folder this toolkit wrote"]),
    ("oxygen-out-read-only", lambda d: ["oxygen", w(d, "case.toml", OX_CASE), "--out", "/proc/sim-out"],
     ["--out", "not writable"]),
    # --- sim fit
    ("fit-fraction-above-1", lambda d: fit(d, profile_with(lambda rows: [rows[0].split(",")[0] + ",5.7,0.03"] + rows[1:])),
     ["p.csv", "mn3_fraction", "not a fraction"]),
    ("fit-duplicate-distance", lambda d: fit(d, profile_with(lambda rows: rows[:1] + [rows[0].split(",")[0] + ",0.2,0.03"]
                                                             + rows[1:])),
     ["p.csv", "column distance_nm", "repeats"]),
    ("fit-decreasing-distance", lambda d: fit(d, profile_with(lambda rows: [rows[1], rows[0]] + rows[2:])),
     ["p.csv", "distance_nm", "smaller than"]),
    ("fit-cycles-header", lambda d: fit(d, PROFILE.replace("# cycles: 125", "# cycles: 1e10")), ["p.csv", "cycles"]),
    ("fit-profile-folder", lambda d: (d.joinpath("p.csv").mkdir(), ["fit", str(d / "p.csv"), "--out", str(d / "out")])[1],
     ["p.csv", "is a folder"]),
    ("fit-profile-not-utf8", lambda d: fit(d, b"# particle_radius_nm: \xff\n"), ["p.csv", "not UTF-8"]),
    ("fit-out-is-file", lambda d: (w(d, "out", "x"), fit(d))[1], ["--out", "is a file"]),
    ("fit-out-not-empty", lambda d: (results_folder(d, False), fit(d))[1], ["--out", "not empty"]),
    ("fit-map-cycles-negative", lambda d: map_fit(d, "--pixel-size", "5 nm", "--cycles", "-1", "--hours", "1"),
     ["--cycles", ">= 1"]),
    ("fit-map-pixel-inf", lambda d: map_fit(d, "--pixel-size", "inf nm", "--cycles", "10", "--hours", "1"),
     ["--pixel-size", "infinite"]),
    ("fit-map-mn3-above-1", lambda d: map_fit(d, "--pixel-size", "5 nm", "--cycles", "10", "--hours", "1", level=5.7),
     ["map.npy", "not a fraction"]),
    # --- sim scenario
    ("scenario-typo-key", lambda d: scenario(d, "coupling_csernica2021", lambda t: t.replace("n_cells = 60", "n_celss = 60")),
     ["s.toml", "coupling.n_celss", "allowed in [coupling]"]),
    ("scenario-negative-density", lambda d: scenario(d, "gitt_li2019", lambda t: t.replace(
        'density = "4.3 g/cm^3"', 'density = "-4 g/cm^3"')), ["s.toml", "gitt.density", "> 0"]),
    ("scenario-set-table-blamed", lambda d: scenario(d, "thermal_li2019", lambda t: t.replace(
        "[set]", '[set]\n"transport.c_max" = { value = "-1 mol/m^3", source = "x" }', 1)),
     ["s.toml [set]", "transport.c_max"]),
    ("scenario-not-utf8", lambda d: ["scenario", w(d, "s.toml", b"[scenario]\nkind = '\xff'\n"), "--out", str(d / "out")],
     ["s.toml", "not UTF-8"]),
    ("scenario-out-is-file", lambda d: (w(d, "out", "x"), scenario(d, "gitt_li2019"))[1], ["--out", "is a file"]),
    ("scenario-overwrite-foreign", lambda d: (results_folder(d, False), scenario(d, "gitt_li2019"))[1],
     ["--out", "not a results folder this toolkit wrote"]),
    # --- sim sweep
    ("sweep-axis-unknown-key", lambda d: sweep(d, '"oxygen.diffusivty" = ["1e-17 cm^2/s"]'),
     ["sweep.toml [axes]", "oxygen.diffusivty", "1e-17 cm^2/s", "unknown parameter"]),
    ("sweep-axis-negative-D", lambda d: sweep(d, '"oxygen.diffusivity" = ["1e-17 cm^2/s", "-1e-17 cm^2/s"]'),
     ["sweep.toml [axes]", "oxygen.diffusivity", "-1e-17 cm^2/s", "> 0"]),
    ("sweep-axis-cycles-0", lambda d: sweep(d, '"protocol.cycles" = [1, 0]'),
     ["sweep.toml [axes]", "protocol.cycles", "value 0", ">= 1"]),
    ("sweep-base-unknown-key", lambda d: sweep(d, '"protocol.cycles" = [1]', case=SWEEP_CASE + "colour = 1\n"),
     ["sweep.toml", "sweep.case", "colour"]),
    ("sweep-lithium-too-big", lambda d: sweep(d, '"mesh.size_inner" = ["0.03 um", "1e-6 um"]', case=LI_CASE),
     ["sweep.toml [axes]", "mesh.size_inner", "1e-6 um", "SIM_MAX_UNKNOWNS"]),
    ("sweep-not-utf8", lambda d: ["sweep", w(d, "sweep.toml", b"[sweep]\ncase = '\xff'\n"), "--out", str(d / "out")],
     ["sweep.toml", "not UTF-8"]),
    ("sweep-out-is-file", lambda d: (w(d, "out", "x"), sweep(d, '"protocol.cycles" = [1]'))[1], ["--out", "is a file"]),
    ("sweep-foreign-out", lambda d: (results_folder(d, False), sweep(d, '"protocol.cycles" = [1]'))[1],
     ["sweep.toml", "not a sweep results folder"]),
]


def tree(d: Path) -> dict:
    """Every path under ``d`` with its kind, size and modification time: any change shows."""
    out = {}
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            p = Path(root) / name
            st = p.lstat()
            out[str(p.relative_to(d))] = (p.is_dir(), st.st_size, st.st_mtime_ns)
    return out


@pytest.mark.parametrize("name, setup, expected", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input_is_refused_cleanly(tmp_path, capsys, name, setup, expected):
    argv = setup(tmp_path)
    before = tree(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, f"{name}: exit {code}, stderr {err!r}"
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text.replace("{d}", str(tmp_path)) in err, f"{text!r} not in {err!r}"
    assert tree(tmp_path) == before, f"{name}: the file tree changed"


@pytest.mark.slow
def test_unreachable_scheduler_writes_nothing(tmp_path, capsys):
    argv = sweep(tmp_path, '"protocol.cycles" = [1]', extra=["--scheduler", "tcp://127.0.0.1:9"])
    before = tree(tmp_path)
    assert main(argv) == 2
    assert "--scheduler" in capsys.readouterr().err
    assert tree(tmp_path) == before


def test_broken_pipe_exits_quietly():
    """``sim params liu2024 | head``: the reader is gone before the output is written; no traceback, exit 0."""
    proc = subprocess.Popen([sys.executable, "-m", "sim", "params", "liu2024", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    proc.stdout.close()                     # like `head` exiting early
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and err == "", err
