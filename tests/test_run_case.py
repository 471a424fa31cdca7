"""``sim run`` case files: the step-string grammar, the table form, overrides and case-file errors.

Fast (no finite elements): errors must be one clear line naming the file and key, exit 2, nothing written.
"""
from __future__ import annotations

import pytest

import sim.cli as cli
from sim.errors import InputError
from sim.lithium.case import describe_step, load_case, parse_step, parse_step_table, step_to_table
from sim.lithium.protocol import Galvanostatic, Potentiostatic, Rest, Stop
from conftest import radial_case


@pytest.mark.parametrize("text, expected", [
    ("discharge at 10C to 20 % DOD", Galvanostatic(10.0, "discharge", Stop(dod=0.2))),
    ("charge at 1C to 4.5 V", Galvanostatic(1.0, "charge", Stop(voltage=4.5))),
    ("charge at C/10 to 80% SOC or 4.6 V or 2 h", Galvanostatic(0.1, "charge", Stop(soc=0.8, voltage=4.6, time=7200.0))),
    ("discharge at 0.5 C to 0.2 DOD or to 2500 mV", Galvanostatic(0.5, "discharge", Stop(dod=0.2, voltage=2.5))),
    ("Discharge  at 2C for 90 s", Galvanostatic(2.0, "discharge", Stop(time=90.0))),
    ("hold 4.5 V for 30 min", Potentiostatic(4.5, Stop(time=1800.0))),
    ("hold at 4.3 V to 10 % SOC or for 1 h", Potentiostatic(4.3, Stop(soc=0.1, time=3600.0))),
    ("rest 1 h", Rest(Stop(time=3600.0))),
    ("rest for 90 s", Rest(Stop(time=90.0))),
])
def test_step_strings_parse_and_round_trip(text, expected):
    step = parse_step(text)
    assert step == expected
    assert parse_step(describe_step(step)) == step          # canonical text reads back
    assert parse_step_table(step_to_table(step)) == step    # and so does the table form


@pytest.mark.parametrize("text, why", [
    ("discharge at 10 to 20 % DOD", "C-rate '10'"),
    ("discharge at 0C to 20 % DOD", "C-rate must be > 0"),
    ("discharge at 10C to 120 % DOD", "between 0 and 100 %"),
    ("charge at 1C", "at least one stop condition"),
    ("charge at 1C to 4 V or to 3 V", "given twice"),
    ("rest to 20 % DOD", "not a duration"),
    ("hold 4.5 V for 3 m/s", "not a duration"),
    ("jump at 1C to 3 V", "unknown step"),
    ("discharge at 1C until empty", "cannot read the stop condition 'until empty'"),
    ("discharge at 1C until C/50", "a current stop"),
    ("discharge at 0 mA/g until 2.5 V", "current must be > 0"),
])
def test_bad_step_strings_name_file_key_and_allowed_forms(text, why):
    with pytest.raises(InputError) as info:
        parse_step(text, file="case.toml", key="protocol[2].step")
    msg = str(info.value)
    assert msg.startswith("case.toml: protocol[2].step: ")
    assert why in msg and "allowed forms" in msg


def test_incompatible_unit_in_a_stop_is_refused():
    with pytest.raises(InputError, match=r"protocol\[0\]\.step: incompatible unit in '5 kg'"):
        parse_step("charge at 1C to 4 V or 5 kg", file="c.toml", key="protocol[0].step")


def test_table_form_steps_and_their_errors():
    entry = {"kind": "galvanostatic", "c_rate": 10, "direction": "discharge", "until": {"dod": "20 %"}}
    assert parse_step_table(entry) == Galvanostatic(10.0, "discharge", Stop(dod=0.2))
    assert parse_step_table({"kind": "potentiostatic", "voltage": "4.5 V", "until": {"time": "30 min"}}) == \
        Potentiostatic(4.5, Stop(time=1800.0))
    bad = [({**entry, "c_rate": -1}, "protocol[0].c_rate"),
           ({**entry, "direction": "up"}, "protocol[0].direction"),
           ({**entry, "until": {"dod": 1.5}}, "protocol[0].until.dod"),
           ({**entry, "until": {"depth": 0.2}}, "protocol[0].until.depth"),
           ({**entry, "rate": 3}, "protocol[0].rate"),
           ({"kind": "rest", "until": {"dod": 0.2}}, "protocol[0].until"),
           ({"kind": "pulse", "until": {"time": "1 s"}}, "protocol[0].kind")]
    for e, key in bad:
        with pytest.raises(InputError) as info:
            parse_step_table(e, file="c.toml", key="protocol[0]")
        assert f"c.toml: {key}: " in str(info.value)


GOOD = radial_case("""\
[output]
maps_at_dod = ["10 %", 0.05]
probes = { surface = "surface", mid = ["4 um"] }
[[protocol]]
step = "discharge at 1C to 10 % DOD"
[[protocol]]
kind = "rest"
until = { time = "1 min" }
""")


def test_a_case_given_as_a_dict_reads_like_a_file():
    import tomllib

    case = load_case(tomllib.loads(GOOD), {"geometry": "hollow"})
    assert case.file == "<case>" and case.geometry == "hollow" and case.params.name == "lmr_default.toml"
    with pytest.raises(InputError, match=r"^<case>: geometry: "):
        load_case({**tomllib.loads(GOOD), "geometry": "sphere"})


def test_case_file_reads_into_si_and_overrides_route_to_params_or_case(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(GOOD)
    case = load_case(path, {"geometry.void_radius": "0.3 um", "solver.dt_max": "5 s", "protocol[0].c_rate": 2,
                            "output.maps_at_dod": "20 %, 0.3", "mesh.size_inner": "0.05 um"})
    assert case.geometry == "radial" and case.mesh.n_cells == 20
    assert case.output.maps_at_dod == (0.2, 0.3)
    assert case.solver.dt_max == 5.0
    assert case.protocol[0] == Galvanostatic(2.0, "discharge", Stop(dod=0.1))
    assert case.protocol[1] == Rest(Stop(time=60.0))
    assert [p.where for p in case.output.probes] == ["surface", (4e-6,)]
    p = case.load_params()
    assert p.transport.x_initial == 0.34                    # [parameters] of the case
    assert p.geometry.void_radius == pytest.approx(3e-7)    # --set parameter entry
    assert p.mesh.size_inner == pytest.approx(5e-8)         # [mesh] size of the case via --set
    assert "--set" in p.sources["geometry.void_radius"] or p.sources["geometry.void_radius"].startswith("override")


@pytest.mark.parametrize("edit, where, what", [
    (lambda s: 'colour = "red"\n' + s, "colour", "allowed at the top level: experiment, fatigue"),
    (lambda s: s.replace('geometry = "radial"', 'geometry = "cube"'), "geometry", "radial, hollow, axisym, 3d"),
    (lambda s: s.replace('params = "lmr_default"\n', ""), "params", 'params = "liu2024"'),
    (lambda s: s.replace('"lmr_default"', '"no_such_set"'), "params", "known sets"),
    (lambda s: s.replace('"transport.x_initial"', '"transport.x_start"'), "[parameters]: transport.x_start",
     "unknown parameter; allowed keys in [transport]: activation_energy"),
    (lambda s: s.replace("n_cells = 20", "n_cells = 20\nsize = 3"), "mesh.size", "allowed in [mesh]: file, n_cells, order"),
    (lambda s: s.replace('"discharge at 1C to 10 % DOD"', '"discharge at fast to 10 % DOD"'), "protocol[0].step",
     "allowed forms"),
    (lambda s: s.replace('mid = ["4 um"]', 'mid = ["9 um"]'), "output.probes.mid", "outside the particle"),
    (lambda s: s.replace('mid = ["4 um"]', 'mid = ["4 um", "1 um"]'), "output.probes.mid", "1 coordinate"),
    (lambda s: s.replace("0.34", "1.34"), "[parameters]: transport.x_initial", "non-physical value"),
    (lambda s: s.replace("n_cells = 20", 'n_cells = 20\n[solver]\ndt_initial = "1 s"\ndt_max = "0.1 s"'),
     "solver.dt_initial", "dt_initial <= dt_max"),
    (lambda s: s.replace('"discharge at 1C to 10 % DOD"', '"charge at 1C to 10 % DOD"'), "protocol[0].until.dod",
     "cannot reach"),      # found when the step starts: the staged results are discarded
])
def test_case_file_errors_exit_2_with_one_line_and_write_nothing(tmp_path, run_cli, capsys, edit, where, what):
    path = tmp_path / "case.toml"
    path.write_text(edit(GOOD))
    out = tmp_path / "results"
    assert run_cli(path, "--out", out, "--quiet") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    sep = " " if where.startswith("[") else ": "     # "case.toml [parameters]: key" or "case.toml: key"
    assert err.startswith(f"sim run: error: {path}{sep}{where}: "), err
    assert what in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.toml"]      # nothing written, no staging folder


def test_bad_set_entries_exit_2(tmp_path, run_cli, capsys):
    path = tmp_path / "case.toml"
    path.write_text(GOOD)
    for item, where in [("solver.speed=3", "solver.speed"), ("protocol[5].step=rest 1 h", "protocol[5].step"),
                        ("geometry.void_radius=3", "geometry.void_radius"), ("colour=red", "colour")]:
        assert run_cli(path, "--out", tmp_path / "r", "--set", item, "--quiet") == 2
        err = capsys.readouterr().err
        assert f"--set: {where}: " in err or f"{path}: {where}: " in err, err
    assert not (tmp_path / "r").exists()


def test_shipped_cases_are_valid():
    from sim.lithium.run import VALIDATION_CASES

    names = sorted(p.name for p in VALIDATION_CASES.glob("*.toml"))
    assert {"liu2024_10C.toml", "liu2024_0p1C.toml", "sphere_radial_1C.toml", "liu2024_3d_10C.toml"} <= set(names)
    for name in names:
        case = load_case(VALIDATION_CASES / name)
        p = case.load_params()
        assert p.transport.x_initial == p.transport.x_min     # every shipped case starts charged
    liu = load_case(VALIDATION_CASES / "liu2024_10C.toml")
    assert liu.geometry == "axisym" and liu.output.maps_at_dod == (0.1, 0.2)
    assert liu.protocol == (Galvanostatic(10.0, "discharge", Stop(dod=0.2)),)


# ----------------------------------------------------------------------------------------- sim params --from-bpx
def test_params_from_bpx_writes_a_set_a_case_can_use_and_prints_the_report(tmp_path, monkeypatch, capsys):
    import json

    from sim import resources
    from sim.params import load_params

    monkeypatch.setattr(cli, "COMMANDS", {"params": "sim.params_cli"})
    bpx = resources.data_dir("params") / "examples" / "lmr_particle_bpx.json"
    out = tmp_path / "runpath.toml"
    assert cli.main(["params", "--from-bpx", str(bpx), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Positive electrode.Particle radius [m]" in text and "-> geometry.particle_radius" in text
    assert "mechanics.youngs_modulus" in text.split("lacking in BPX")[1]          # what BPX lacks, marked assumed
    assert "Porosity" in text.split("ignored")[1]
    radius = json.loads(bpx.read_text())["Parameterisation"]["Positive electrode"]["Particle radius [m]"]
    assert load_params(out).geometry.particle_radius == radius
    case = load_case({**__import__("tomllib").loads(GOOD), "params": str(out)})   # a case runs on it
    assert case.load_params().geometry.particle_radius == radius
    before = out.read_text()
    for argv, key in [(["--from-bpx", str(bpx), "--out", str(out)], "--out: "),          # exists: no --overwrite
                      (["--from-bpx", str(bpx)], "--out: "),
                      (["--from-bpx", str(tmp_path / "none.json"), "--out", str(tmp_path / "n.toml")], "none.json: "),
                      (["liu2024", "--out", str(tmp_path / "x.toml")], "--out: ")]:
        assert cli.main(["params", *argv]) == 2
        err = capsys.readouterr().err
        assert key in err and "Traceback" not in err, err
    assert out.read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["runpath.toml"]


# ----------------------------------------------------------------------------------------- cost and case names
THREE_D = 'model = "lithium"\nparams = "liu2024"\ngeometry = "3d"\n[[protocol]]\nstep = "discharge at 1C for 10 s"\n'


@pytest.mark.parametrize("where", ["--set", "file"])
def test_a_mesh_too_large_is_refused_before_it_is_built_naming_the_key_and_the_limit(tmp_path, run_cli, capsys, where):
    path = tmp_path / "big.toml"
    text = THREE_D + ('[mesh]\nsize_inner = "1e-6 um"\n' if where == "file" else "")
    path.write_text(text)
    extra = ["--set", "mesh.size_inner=1e-6 um"] if where == "--set" else []
    assert run_cli(path, "--out", tmp_path / "r", "--quiet", *extra) == 2
    err = capsys.readouterr().err.strip()
    origin = "--set" if where == "--set" else str(path)
    assert err.startswith(f"sim run: error: {origin}: mesh.size_inner: this 3d case would have about "), err
    assert "SIM_MAX_UNKNOWNS=" in err and "SIM_MAX_MEMORY_GB=" in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.toml"]
    # a coarse bulk is blamed on size_outer
    assert run_cli(path, "--out", tmp_path / "r", "--quiet", "--set", "mesh.size_outer=1e-3 um",
                   "--set", "mesh.size_inner=1e-3 um") == 2
    assert "--set: mesh.size_outer: " in capsys.readouterr().err


def test_the_cost_check_passes_the_shipped_cases_and_the_limit_can_be_raised(monkeypatch):
    from sim.lithium.run import VALIDATION_CASES

    for path in VALIDATION_CASES.glob("*.toml"):
        case = load_case(path)
        cost = case.check_cost(case.load_params())
        assert 0 < cost.unknowns < 5e6
    big = load_case(__import__("tomllib").loads(THREE_D), {"mesh.size_outer": "0.05 um"})
    with pytest.raises(InputError, match="mesh.size_outer"):
        big.check_cost(big.load_params())
    monkeypatch.setenv("SIM_MAX_UNKNOWNS", "1e12")
    monkeypatch.setenv("SIM_MAX_MEMORY_GB", "1e6")
    assert big.check_cost(big.load_params()).unknowns > 5e6


def test_sim_run_takes_a_shipped_case_name(tmp_path, run_cli, capsys):
    from sim import resources
    from sim.lithium.run import case_path

    assert case_path("liu2024_10C") == resources.case("liu2024_10C")
    assert case_path(str(tmp_path / "missing.toml")) == str(tmp_path / "missing.toml")
    assert run_cli("liu2024_11C", "--out", tmp_path / "r", "--quiet") == 2
    err = capsys.readouterr().err
    assert "case: no case file 'liu2024_11C'" in err and "liu2024_10C" in err
    assert run_cli(tmp_path / "missing.toml", "--out", tmp_path / "r", "--quiet") == 2
    assert "missing.toml: case file not found" in capsys.readouterr().err


def test_solver_tolerances_reach_the_time_stepper(tmp_path):
    """solver.rtol / solver.atol of a case set the BDF2 error control; a tighter rtol takes more steps."""
    from sim.lithium.run import VALIDATION_CASES, run_case

    case = VALIDATION_CASES / "sphere_radial_1C.toml"
    steps = {}
    for rtol in ("1e-4", "1e-6"):
        s = run_case(case, tmp_path / rtol, {"solver.rtol": rtol, "solver.atol": "1e-7", "mesh.n_cells": 10,
                                             "protocol[0].step": "discharge at 1C to 10 % DOD"},
                     progress=False, outputs="minimal")
        steps[rtol] = s["time_steps"]
    assert steps["1e-6"] > steps["1e-4"]
    with pytest.raises(InputError) as err:
        load_case(case, {"solver.rtol": "2"})
    assert err.value.key == "solver.rtol"
