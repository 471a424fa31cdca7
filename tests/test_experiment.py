"""PyBaMM-style experiment strings in ``sim run`` cases: the grammar, currents in A and mA/g, cycles, errors.

The conversions are checked against their closed forms: a current I (A) is the C-rate I · 3600 s / Q with
Q = F c_max (x_max − x_min) V the particle's capacity, and a specific current i (A/kg) is the C-rate
i · 3600 s · ρ / (F c_max (x_max − x_min)), whatever the volume; a run must apply exactly I, or i ρ V.
"""
from __future__ import annotations

import csv
import math
import tomllib

import pytest

from sim.errors import InputError
from sim.lithium.case import Current, ExperimentStep, describe_step, load_case, parse_step
from sim.lithium.protocol import Galvanostatic, Potentiostatic, Rest, Stop
from sim.units import FARADAY
from conftest import radial_case


@pytest.mark.parametrize("text, expected", [
    ("Discharge at 1C until 2.5 V", Galvanostatic(1.0, "discharge", Stop(voltage=2.5))),
    ("Charge at C/3 until 4.4 V", Galvanostatic(1 / 3, "charge", Stop(voltage=4.4))),
    ("Rest for 1 hour", Rest(Stop(time=3600.0))),
    ("Discharge at 1C for 1 hour or until 2.5 V", Galvanostatic(1.0, "discharge", Stop(voltage=2.5, time=3600.0))),
    ("Charge at 0.5C for 30 minutes", Galvanostatic(0.5, "charge", Stop(time=1800.0))),
    ("Hold at 4.2 V for 2 hours", Potentiostatic(4.2, Stop(time=7200.0))),
    ("Discharge at 2C until 20 % DOD or 3 V", Galvanostatic(2.0, "discharge", Stop(dod=0.2, voltage=3.0))),
    ("discharge at 10C to 20 % DOD", Galvanostatic(10.0, "discharge", Stop(dod=0.2))),      # the own grammar
])
def test_pybamm_strings_parse_into_protocol_steps(text, expected):
    step = parse_step(text)
    assert step == expected
    assert parse_step(describe_step(step)) == step


@pytest.mark.parametrize("text, drive", [
    ("Discharge at 20 mA/g for 30 minutes", Current(20.0, "A/kg")),
    ("Charge at 1 A until 4.4 V", Current(1.0, "A")),
    ("Discharge at 500 mA until 2.5 V", Current(0.5, "A")),
    ("Charge at 2 nA for 10 s", Current(2e-9, "A")),
])
def test_currents_in_amperes_and_per_gram_are_resolved_with_the_capacity(text, drive):
    step = parse_step(text)
    assert isinstance(step, ExperimentStep) and step.drive.unit == drive.unit
    assert step.drive.value == pytest.approx(drive.value, rel=1e-12)
    Q, q = 3.0e-6, 7.2e5                      # C and C/kg
    resolved = step.resolve(Q, q)
    per_hour = drive.value * 3600.0 / (Q if drive.unit == "A" else q)
    assert isinstance(resolved, Galvanostatic) and resolved.c_rate == pytest.approx(per_hour, rel=1e-12)
    assert resolved.until == step.until and resolved.direction == step.direction


@pytest.mark.parametrize("text, why", [
    ("Discharge at 1 kg until 2.5 V", "C-rate '1 kg' is not of the form"),
    ("Discharge at -2 mA for 1 hour", "current must be > 0"),
    ("Discharge at 2000C for 1 s", "C-rate must be <= 1000C"),
    ("Discharge at 1C until 2.5 kg", "incompatible unit"),
    ("Charge at 1C until C/50", "a current stop"),
    ("Rest until 2.5 V", "not a duration"),
    ("Hold at 4.4 V until C/50 or C/20", "given twice"),
])
def test_bad_experiment_strings_are_refused_naming_the_step(text, why):
    with pytest.raises(InputError) as info:
        parse_step(text, file="case.toml", key="experiment.steps[0]")
    assert str(info.value).startswith("case.toml: experiment.steps[0]: ") and why in str(info.value)


BASE = radial_case()


def case(text: str) -> dict:
    return tomllib.loads(BASE + text)


def test_experiment_table_with_cycles_and_mixed_grammar():
    spec = load_case(case('[experiment]\nsteps = [["Discharge at 1C for 20 s", "Rest for 10 seconds", '
                          '"charge at 1C to 0 % DOD"]]\ncycles = 3\n'))
    assert len(spec.protocol) == 9 and spec.cycle == (6, 9)
    assert spec.protocol[:3] == (Galvanostatic(1.0, "discharge", Stop(time=20.0)), Rest(Stop(time=10.0)),
                                 Galvanostatic(1.0, "charge", Stop(dod=0.0)))
    assert spec.protocol[3:6] == spec.protocol[:3]
    flat = load_case(case('[experiment]\nsteps = ["Discharge at C/2 for 1 minute", "Rest for 1 minute"]\n'))
    assert len(flat.protocol) == 2 and flat.cycle is None
    repeated = load_case(case('[[protocol]]\nrepeat = 2\nsteps = ["Discharge at 1C for 20 s", "Rest for 1 minute"]\n'))
    assert repeated.protocol == flat.protocol[:0] + (Galvanostatic(1.0, "discharge", Stop(time=20.0)),
                                                     Rest(Stop(time=60.0))) * 2


@pytest.mark.parametrize("text, key, why", [
    ('[experiment]\nsteps = ["Discharge at 20 mA/g for 1 minute"]\n', "experiment.density", "specific current"),
    ('[experiment]\nsteps = ["Rest for 1 minute"]\ncycles = 0\n', "experiment.cycles", "whole number >= 1"),
    ('[experiment]\nsteps = ["Rest for 1 minute"]\ncycles = 20000\n', "experiment.cycles", "<= 10000"),
    ('[experiment]\nsteps = ["Rest for 1 minute", "Rest for 2 s"]\ncycles = 6000\n', "experiment.cycles",
     "expands to 12000 steps, more than 10000"),
    ('[experiment]\nsteps = ["Rest for 1 minute"]\ndensity = "-4 g/cm^3"\n', "experiment.density", "> 0"),
    ('[experiment]\nsteps = ["Rest for 1 minute"]\ncolour = 1\n', "experiment.colour", "allowed in [experiment]"),
    ('[experiment]\nsteps = "Rest for 1 minute"\n', "experiment.steps", "a list of step strings"),
    ('[experiment]\nsteps = [["Rest for 1 minute", "Jump for 2 s"]]\n', "experiment.steps[0][1]", "unknown step"),
    ('[experiment]\nsteps = ["Rest for 1 minute"]\n[[protocol]]\nstep = "rest 1 s"\n', "experiment.steps", "not both"),
    ('[experiment]\ncycles = 2\n[[protocol]]\nstep = "rest 1 s"\n', "experiment.cycles", "repeat = N"),
])
def test_bad_experiment_tables_name_the_case_file_and_key(text, key, why):
    with pytest.raises(InputError) as info:
        load_case(case(text))
    assert info.value.file == "<case>" and info.value.key == key and why in str(info.value), str(info.value)


def test_a_specific_current_and_a_current_in_amperes_apply_exactly_that_current(tmp_path, run_cli):
    path = tmp_path / "gitt.toml"
    path.write_text(BASE + '[solver]\nmechanics = false\n[output]\noutputs = "minimal"\n[experiment]\n'
                    'steps = [["Charge at 20 mA/g for 30 seconds", "Rest for 10 seconds", "Discharge at 2 nA for 5 s"]]\n'
                    'density = "4.3 g/cm^3"\n')
    spec = load_case(path)
    assert spec.density == pytest.approx(4300.0)
    assert run_cli(path, "--out", tmp_path / "res", "--quiet") == 0
    with open(tmp_path / "res" / "timeseries.csv") as fh:
        rows = list(csv.DictReader(fh))
    p = spec.load_params()
    R = p.geometry.particle_radius
    mass = 4300.0 * 4 / 3 * math.pi * R**3                          # kg, solid sphere
    by_step = {k: {float(r["current_A"]) for r in rows[1:] if r["step"] == str(k)} for k in range(3)}
    (charge,), (rest,), (discharge,) = by_step[0], by_step[1], by_step[2]
    assert charge == pytest.approx(-20.0 * mass, rel=1e-6)          # 20 mA/g = 20 A/kg; charge is negative
    assert rest == 0.0 and discharge == pytest.approx(2e-9, rel=1e-9)
    tr = p.transport
    dod_end = float(rows[-1]["dod"])
    inserted = (-20.0 * mass * 30.0 + 2e-9 * 5.0) / FARADAY          # mol of Li in over the experiment
    expected = inserted / (tr.c_max * 4 / 3 * math.pi * R**3 * (tr.x_max - tr.x_min))
    assert dod_end == pytest.approx(expected, rel=1e-5)


def test_hold_strings_with_a_current_stop_resolve_to_amperes():
    step = parse_step("Hold at 4.4 V until C/50 or 2 hours")
    assert isinstance(step, ExperimentStep) and step.cutoff == Current(1 / 50, "C")
    Q = 3.6e-6                                                        # C: 1C = 1e-9 A
    hold = step.resolve(Q, None)
    assert isinstance(hold, Potentiostatic) and hold.voltage == 4.4 and hold.until.time == 7200.0
    assert hold.until.current == pytest.approx(2e-11, rel=1e-12)      # |I| <= Q/50 per hour
    assert parse_step("Hold at 4.2 V until 5 mA").resolve(Q, None).until.current == pytest.approx(5e-3)
    assert parse_step("Hold at 4.2 V until 1 mA/g").resolve(Q, 3.6e5).until.current == pytest.approx(1e-3 * Q / 3.6e5 * 1e3)
    table = {"kind": "potentiostatic", "voltage": "4.4 V", "until": {"current": "2e-11 A"}}
    from sim.lithium.case import parse_step_table, step_to_table
    assert parse_step_table(table) == Potentiostatic(4.4, Stop(current=2e-11))
    assert parse_step_table(step_to_table(parse_step_table(table))) == parse_step_table(table)
    with pytest.raises(InputError, match=r"c.toml: protocol\[0\]\.until\.current: a current stop ends a "):
        parse_step_table({"kind": "rest", "until": {"time": "1 s", "current": "1 A"}}, file="c.toml", key="protocol[0]")


def test_hold_until_a_current_lands_on_it(tmp_path):
    """"Hold at V until C/20": |I| decays monotonically during the hold, the step ends with |I| = I_cut (to the
    landing tolerance), Li is conserved, and the stop time agrees with where a long hold of the same case
    crosses I_cut (interpolated between its time steps)."""
    from sim.lithium.run import run_case

    base = case('[solver]\nmechanics = false\ndt_max = "20 s"\n[output]\noutputs = "minimal"\n')
    base["parameters"]["transport.x_initial"] = 0.6
    s = run_case({**base, "experiment": {"steps": ["Hold at 4.2 V until C/20"]}}, tmp_path / "cut", progress=False)
    run_case({**base, "solver": {"mechanics": False, "dt_max": "2 s"},
             "experiment": {"steps": ["Hold at 4.2 V for 20 minutes"]}}, tmp_path / "long", progress=False)
    p = load_case(base | {"protocol": [{"step": "rest 1 s"}]}).load_params()
    tr = p.transport
    capacity = FARADAY * tr.c_max * (tr.x_max - tr.x_min) * 4 / 3 * math.pi * p.geometry.particle_radius ** 3
    i_cut = capacity / 20 / 3600.0
    assert s["steps"][0]["stop_reason"] == "current"
    assert abs(s["final"]["current_A"]) == pytest.approx(i_cut, rel=1e-5)      # mesh volume vs 4/3 pi R^3
    assert abs(s["mass_balance_error"]) < 1e-10
    with open(tmp_path / "cut" / "timeseries.csv") as fh:
        current = [abs(float(r["current_A"])) for r in list(csv.DictReader(fh))[1:]]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(current[3:], current[4:]))          # monotone decay
    with open(tmp_path / "long" / "timeseries.csv") as fh:
        rows = [(float(r["t_s"]), abs(float(r["current_A"]))) for r in list(csv.DictReader(fh))[1:]]
    k = next(i for i, (_, a) in enumerate(rows) if a <= i_cut)
    (t0, a0), (t1, a1) = rows[k - 1], rows[k]
    t_cross = t0 + (a0 - i_cut) * (t1 - t0) / (a0 - a1)
    assert s["final"]["t_s"] == pytest.approx(t_cross, rel=2e-2)


def test_the_summary_keeps_the_steps_as_written(tmp_path):
    from sim.lithium.run import run_case

    s = run_case(case('[solver]\nmechanics = false\n[output]\noutputs = "minimal"\n[experiment]\n'
                      'steps = ["Charge at 2 nA for 2 s", "Rest for 1 second"]\n'), tmp_path / "r", progress=False)
    assert s["case"]["protocol"] == ["Charge at 2 nA for 2 s", "rest for 1 s"]
    assert [st["step"] for st in s["steps"]] == s["case"]["protocol"]
