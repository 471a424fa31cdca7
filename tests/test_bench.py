"""Fast checks of the ``sim bench`` machinery (report tables, argument parsing, case set-up).

No timing assertions and no solver runs: speed is measured by ``sim bench`` itself.
"""
import sys

import numpy as np
import pytest

from sim.bench import Section, SphereCase, converged_level, parse_only, parse_ranks, pybamm_available, render_report
from sim.errors import InputError
from sim.io import MarkdownTable, fmt_cell


def test_markdown_table_renders_rows_and_rejects_wrong_width():
    t = MarkdownTable(["code", "time (s)"])
    t.add("sim", 0.123456)
    t.add("PyBaMM", None)
    assert t.render().splitlines() == ["| code | time (s) |", "|---|---|", "| sim | 0.123 |", "| PyBaMM | — |"]
    with pytest.raises(ValueError, match="2 columns"):
        t.add("too", "many", "cells")


def test_fmt_cell_formats_numbers_and_passes_text():
    assert fmt_cell(12345.678) == "1.23e+04"
    assert fmt_cell(7) == "7"
    assert fmt_cell("1e+06") == "1e+06"
    assert fmt_cell(float("nan")) == "nan"


def test_report_has_sections_tables_and_notes():
    sec = Section("a", "title", [MarkdownTable(["x"])], ["a note"])
    text = render_report([sec], "# header")
    assert text.startswith("# header\n\n## (a) title\n\n| x |")
    assert text.rstrip().endswith("- a note")


def test_parse_only_accepts_letters_and_names_in_order():
    assert parse_only("c, a") == ["a", "c"]
    assert parse_only("liu,3d") == ["b", "c"]
    assert parse_only("image, fracture, w") == ["f", "i", "w"]
    with pytest.raises(InputError, match="--only.*unknown benchmark 'd'.*a \\(spm\\)"):
        parse_only("a,d")
    with pytest.raises(InputError, match="no benchmark"):
        parse_only(" , ")


def test_parse_ranks():
    assert parse_ranks("1,2") == [1, 2]
    for bad in ("0", "one", ""):
        with pytest.raises(InputError, match="--ranks"):
            parse_ranks(bad)


def test_cli_registers_bench_with_its_options():
    from sim.cli import build_parser

    args = build_parser().parse_args(["bench", "--only", "a", "--out", "r.md", "--pybamm-python", "py"])
    assert (args.only, args.out, args.pybamm_python, args.ranks) == ("a", "r.md", "py", "1,2")
    assert args.func.__module__ == "sim.bench"


def test_cli_bad_only_exits_2_with_one_line(capsys):
    from sim.cli import main

    assert main(["bench", "--only", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--only" in err[0]


def test_converged_level_is_coarsest_with_all_finer_within_tolerance():
    # a coarse level that happens to be close does not count when a finer one is off
    assert converged_level([1.005, 1.03, 1.004, 1.001, 1.0]) == 2
    assert converged_level([1.0, 1.0]) == 0
    assert converged_level([2.0, 1.0]) == 1


def test_sphere_case_matches_the_parameter_set():
    case = SphereCase.build(c_rate=1.0, dod=0.9, n_cells=10)
    p = case.params
    tr, vc = p.transport, p.mechanics.volume_change
    assert p.geometry.void_radius == 0 and p.geometry.pores == () and tr.x_initial == tr.x_min
    # ΔV/V0 = Ω (c − c_ref) reproduces the table at both ends of the window
    for x in (tr.x_min, tr.x_max):
        assert case.omega * (x * tr.c_max - case.c_ref) == pytest.approx(float(vc(x)), abs=1e-12)
    # 1C: the flux over the surface fills the window in one hour
    R = p.geometry.particle_radius
    inserted = case.flux * 4 * np.pi * R**2 * 3600.0
    assert inserted == pytest.approx(4 / 3 * np.pi * R**3 * tr.c_max * (tr.x_max - tr.x_min), rel=1e-12)
    assert case.checks() == []
    peer = case.peer_input([0.0, 1.0])
    assert peer["c_ref_mol_m3"] == pytest.approx(case.c_ref) and peer["stress_induced_diffusion"] is False


def test_pybamm_missing_is_detected():
    # this interpreter's test environment does not need pybamm; a non-Python command is never "available"
    assert pybamm_available("/bin/false") is False
    assert isinstance(pybamm_available(sys.executable), bool)


# --------------------------------------------------------------------------- start-up of the command line
def _sim(*args, **kw):
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, *args], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=120, **kw)


def test_help_lists_every_command_with_the_help_its_module_registers():
    from sim.cli import COMMANDS, HELP, build_parser

    parser = build_parser()              # every module registered
    sub = next(a for a in parser._actions if a.dest == "command")
    registered = {a.dest: a.help for a in sub._choices_actions}
    assert registered == {name: HELP[name] for name in COMMANDS}
    out = _sim("-m", "sim", "--help")
    assert out.returncode == 0 and all(name in out.stdout for name in COMMANDS)


def test_params_command_imports_no_solver_plotting_or_fitting_module():
    code = ("import sys; from sim.cli import main; main(['params', 'liu2024']); "
            "print('LOADED', sorted(m for m in ('dolfinx', 'matplotlib', 'scipy.optimize', 'sim.lithium.run', "
            "'sim.mesh', 'dask') if m in sys.modules))")
    out = _sim("-c", code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"


def test_broken_pipe_exits_quietly():
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "sim", "params", "liu2024", "--json"], cwd=root,
                            env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.readline()
    proc.stdout.close()                  # the reader goes away, as `| head -1` does
    err = proc.stderr.read()
    assert proc.wait(timeout=60) in (0, 141)
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_bench_pf3d_tabulates_finished_and_stopped_runs(monkeypatch):
    """(p) from canned worker output: a finished run gives a row per step and a summary row; a run stopped
    after its set-up gives its set-up row and a note; the Krylov counts per Newton iteration / solve."""
    from sim import bench

    setup = {"dofs_c": 10, "dofs_u": 200, "dofs_d": 10, "unknowns": 220, "cells": 50, "time_mesh_s": 1.0,
             "time_setup_s": 2.0, "fracture_energy_J_m2": 5e-4, "strain_model": "small", "variant": "AT2",
             "split": "spectral", "phase_field_length_m": 1e-7}     # the keys bench_pf3d.py's set-up line has
    step = {"wall_s": 10.0, "dt_s": 4.0, "staggered": 4, "newton_u": 8, "cg_u": 240, "newton_d": 4, "cg_d": 36,
            "time_u_s": 9.0, "time_d_s": 0.5, "damage_max": 0.25, "crack_area_m2": 2e-12,
            "peak_rss_max_bytes": 1e9, "peak_rss_sum_bytes": 2e9}
    calls = []

    def fake_worker(ranks, *args, timeout, script):
        calls.append((ranks, args[1], script))
        if args[1] == "1e+06":
            return {"error": "stopped after 5 s without finishing", "ranks": ranks, "lines": [{"setup": setup}]}
        return {"done": dict(setup, steps=[step, dict(step, damage_max=0.5)])}

    monkeypatch.setattr(bench, "run_3d_worker", fake_worker)
    sec = bench.bench_pf3d(ranks=(1, 2), max_seconds=5.0)
    assert calls == [(1, "200000", "bench_pf3d.py"), (2, "200000", "bench_pf3d.py"), (2, "1e+06", "bench_pf3d.py")]
    rows, summary = sec.tables[0].rows, sec.tables[1].rows
    assert len(rows) == 2 + 2 + 1 and rows[-1][3:5] == ["2", "3"] and rows[-1][5] == "—"
    assert rows[0][1] == "10 + 200 + 10 = 220" and rows[0][10:12] == ["30", "9"] and rows[1][14] == "0.5"
    assert [r[:3] for r in summary] == [["2e+05", "1", "2"], ["2e+05", "2", "2"]]
    assert any("1e+06 unknowns on 2 rank(s): stopped after 5 s" in n for n in sec.notes)
    assert any("G_c = 0.0005 J/m²" in n for n in sec.notes)
