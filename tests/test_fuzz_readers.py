"""Fuzzing the readers (hypothesis, bounded): whatever the bytes, a reader returns a checked object or raises
InputError; never another exception. Inputs mix valid keys and values with nonsense so the deep checks run."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import InputError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADER = ("particle_radius_nm", "lamella_thickness_nm", "cycles", "hours_delithiated_per_cycle", "quantity",
          "lamella_offset_nm", "blur_fwhm_nm", "colour")
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.integers(-10, 10**12),
                    st.sampled_from(["120", "80", "1e10", "-1", "0", "nan", "inf", "abc", "", "1,2"]))


def _cell(v) -> str:
    return v if isinstance(v, str) else repr(v)


@st.composite
def profile_text(draw) -> str:
    header = {"particle_radius_nm": "120", "lamella_thickness_nm": "80", "cycles": "125",
              "hours_delithiated_per_cycle": "1.4", "quantity": "mn3_fraction"}
    for key in draw(st.lists(st.sampled_from(HEADER), max_size=3)):
        header[key] = _cell(draw(NUMBERS))
    for key in draw(st.sets(st.sampled_from(list(header)), max_size=2)):
        header.pop(key, None)
    columns = draw(st.sampled_from(["distance_nm,mn3_fraction,sigma", "distance_nm,sigma,mn3_fraction",
                                    "distance_nm,o_vacancy_fraction,sigma", "d,mn3_fraction"]))
    rows = draw(st.lists(st.tuples(st.one_of(st.floats(-10, 200), NUMBERS), st.one_of(st.floats(-0.5, 6), NUMBERS),
                                   st.one_of(st.floats(-0.1, 2), NUMBERS)), max_size=12))
    if draw(st.booleans()):                      # a well-formed stretch so that the later checks are reached
        rows = [(2.5 * i, 0.5 - 0.02 * i, 0.02) for i in range(6)] + rows
    lines = [f"# {k}: {v}" for k, v in header.items()] + [columns] + [",".join(map(_cell, r)) for r in rows]
    return "\n".join(lines) + "\n"


@FUZZ
@given(text=profile_text(), junk=st.binary(max_size=8))
def test_profile_reader_returns_a_checked_profile_or_refuses(tmp_path, text, junk):
    from sim.oxygen.profiles import MIN_POINTS, NOISE_SIGMAS, read_profile

    path = tmp_path / "p.csv"
    path.write_bytes(text.encode() + (junk if junk.startswith(b"#") else b""))
    try:
        prof = read_profile(path)
    except InputError as err:
        assert "\n" not in str(err) and str(path) in str(err)
        return
    d, v, s = prof.distance, prof.value, prof.sigma
    assert len(d) >= MIN_POINTS and np.all(np.diff(d) > 0) and d[0] >= 0 and d[-1] <= prof.particle_radius
    assert np.all((s > 0) & (s <= 1)) and np.all((v >= -NOISE_SIGMAS * s) & (v <= 1 + NOISE_SIGMAS * s))
    assert all(math.isfinite(x) for x in (prof.particle_radius, prof.lamella_thickness, prof.cycles))


@FUZZ
@given(data=st.binary(max_size=200))
def test_raw_bytes_never_escape_as_tracebacks(tmp_path, data):
    from sim.case import read_toml
    from sim.oxygen.profiles import read_profile

    path = tmp_path / "f.toml"
    path.write_bytes(data)
    for reader in (read_toml, read_profile):
        try:
            reader(path)
        except InputError as err:
            assert str(path) in str(err)


# --------------------------------------------------------------------------- TOML case files
SCALARS = st.one_of(st.integers(-5, 10**11), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.sampled_from(["1.2", "25 degC", "8 um", "-1 nm", "inf nm", "abc", "radial", "3d", "auto",
                                     "1e-17 cm^2/s", "30 min", "20 %"]))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v) if isinstance(v, str) else str(v)


def _toml(tables: dict[str, dict], top: dict) -> str:
    lines = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in top.items()]
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def tables(names: dict[str, tuple[str, ...]]):
    """A strategy of {table: {key: value}} drawing mostly known keys (so values reach their checks)."""
    return st.fixed_dictionaries({t: st.dictionaries(st.sampled_from(keys + ("n_celss",)), VALUES, max_size=4)
                                  for t, keys in names.items()})


@FUZZ
@given(t=tables({"protocol": ("cycles", "hours_delithiated_per_cycle", "temperature"),
                 "solver": ("degree", "surface_size", "grading", "steps_per_level", "linear_solver"),
                 "output": ("lamella_offset", "profile_points")}),
       geometry=st.sampled_from(["radial", "axisym", "3d", "cube", 3]))
def test_oxygen_case_reader(tmp_path, t, geometry):
    from sim.oxygen.run import MAX_CYCLES, prepare_oxygen_case

    t["protocol"].setdefault("cycles", 10)
    t["protocol"].setdefault("hours_delithiated_per_cycle", 1.2)
    path = tmp_path / "case.toml"
    path.write_text(_toml(t, {"model": "oxygen", "params": "csernica2021", "geometry": geometry}))
    try:
        spec = prepare_oxygen_case(path)
    except InputError as err:
        assert str(path) in str(err) and err.key
        return
    assert 1 <= spec.cycles <= MAX_CYCLES and spec.hours > 0 and math.isfinite(spec.hours)
    assert spec.degree in (1, 2) and 0 < spec.surface_size and 2 <= spec.profile_points


@FUZZ
@given(settings_=st.dictionaries(st.sampled_from(("secondary_radius", "depths", "cycles", "n_cells", "grading",
                                                  "hold", "rest", "charge_rate", "upper_voltage", "n_celss")),
                                 VALUES, max_size=5),
       kind=st.sampled_from(["coupling", "gitt", "weather"]))
def test_scenario_case_reader(tmp_path, settings_, kind):
    from sim.scenarios.case import load_case

    path = tmp_path / "s.toml"
    path.write_text(_toml({"scenario": {"kind": kind, "params": "csernica2021"}, kind: settings_}, {}))
    try:
        case = load_case(path)
    except InputError as err:
        assert str(path) in str(err)
        return
    assert case.kind == kind and set(case.settings) <= {"secondary_radius", "depths", "cycles", "n_cells",
                                                       "grading", "hold", "rest", "charge_rate", "upper_voltage"}


@FUZZ
@given(entries=st.dictionaries(st.sampled_from(("particle_radius", "void_radius", "colour")),
                               st.one_of(VALUES, st.fixed_dictionaries({"value": SCALARS, "source": st.just("x")})),
                               max_size=3),
       inherit=st.booleans())
def test_parameter_file_reader(tmp_path, entries, inherit):
    from sim.params import load_params

    path = tmp_path / "p.toml"
    body = "[meta]\n" + ('inherits = "lmr_default"\n' if inherit else "")
    body += "[geometry]\n" + "".join(
        f"{k} = {{ value = {_toml_value(v['value'])}, source = \"x\" }}\n" if isinstance(v, dict) else
        f"{k} = {_toml_value(v)}\n" for k, v in entries.items())
    path.write_text(body)
    try:
        p = load_params(path)
    except InputError as err:
        assert str(path) in str(err) or "--set" in str(err)
        return
    assert 0 < p.geometry.particle_radius <= 1e-3 and 0 <= p.geometry.void_radius < p.geometry.particle_radius


def test_fuzz_strategies_reach_valid_inputs(tmp_path):
    """The generators above produce accepted inputs too (else the properties would test only refusals)."""
    from sim.oxygen.profiles import read_profile

    good = Path(__file__).resolve().parent.parent / "validation" / "csernica2021" / "example_profile.csv"
    assert read_profile(good).value.size >= 5
    with pytest.raises(InputError):
        read_profile(tmp_path / "missing.csv")
