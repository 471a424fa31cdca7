"""Sweep files: axis expansion with units, combination, stable case ids, clear errors for bad input."""
import math

import pytest

from sim.errors import InputError
from sim.sweep.spec import load_sweep, unit_slug
from sim.sweep.table import build_table, flatten_summary


def write_sweep(tmp_path, body: str, case: str = 'model = "oxygen"\n'):
    (tmp_path / "case.toml").write_text(case)
    path = tmp_path / "sweep.toml"
    path.write_text('[sweep]\ncase = "case.toml"\n' + body)
    return path


def test_log_linear_and_list_axes_with_units(tmp_path):
    path = write_sweep(tmp_path, """
[axes]
"oxygen.diffusivity" = { log = ["1e-18 cm^2/s", "1e-16 cm^2/s"], num = 5 }
geometry.void_radius = { linear = ["200 nm", "0.6 um"], num = 3 }
"protocol.cycles" = [1, 10]
""")
    sweep = load_sweep(path, validate=False)
    d, r, n = sweep.axes
    assert d.values == ("1e-18 cm^2/s", "3.16227766017e-18 cm^2/s", "1e-17 cm^2/s", "3.16227766017e-17 cm^2/s",
                        "1e-16 cm^2/s")
    assert d.scale == "log" and d.column == "oxygen.diffusivity_cm2_s"
    assert d.numbers[1] == pytest.approx(10 ** -17.5, rel=1e-11)
    # the second end point is converted to the unit of the first
    assert r.key == "geometry.void_radius" and r.values == ("200 nm", "400 nm", "600 nm") and r.column == "geometry.void_radius_nm"
    assert n.values == (1, 10) and n.numbers == (1, 10) and n.column == "protocol.cycles"
    assert len(sweep.cases) == 5 * 3 * 2
    first = sweep.cases[0]
    assert first.overrides == {"oxygen.diffusivity": "1e-18 cm^2/s", "geometry.void_radius": "200 nm", "protocol.cycles": 1}
    assert first.inputs == {"oxygen.diffusivity_cm2_s": 1e-18, "geometry.void_radius_nm": 200.0, "protocol.cycles": 1}
    assert len({c.case_id for c in sweep.cases}) == len(sweep.cases)


def test_zip_fixed_overrides_files_and_integer_ranges(tmp_path):
    (tmp_path / "prof").mkdir()
    for name in ("b.csv", "a.csv", "c.txt"):
        (tmp_path / "prof" / name).write_text("x")
    path = write_sweep(tmp_path, """
[sweep]
combine = "zip"
[axes]
profile = { files = "prof/*.csv" }
"protocol.cycles" = { log = [1, 100], num = 2 }
[set]
"mesh.size_outer" = "1 um"
""".replace("[sweep]\n", ""))
    sweep = load_sweep(path, validate=False)
    assert sweep.combine == "zip" and len(sweep.cases) == 2
    assert sweep.axes[0].values == ("prof/a.csv", "prof/b.csv")
    assert sweep.axes[1].values == (1, 100)
    case = sweep.cases[1]
    # the runner gets absolute paths; the table and the case id keep them relative to the sweep file
    assert case.overrides == {"mesh.size_outer": "1 um", "profile": str(tmp_path / "prof" / "b.csv"), "protocol.cycles": 100}
    assert case.inputs == {"profile": "prof/b.csv", "protocol.cycles": 100}


def test_case_ids_are_stable_and_depend_on_inputs_and_base_case(tmp_path):
    body = '[axes]\n"protocol.cycles" = [1, 2]\n'
    ids = [c.case_id for c in load_sweep(write_sweep(tmp_path, body), validate=False).cases]
    assert ids == [c.case_id for c in load_sweep(write_sweep(tmp_path, body), validate=False).cases]
    # the same case inside a larger sweep keeps its id (a re-run of an extended sweep can reuse folders)
    wider = load_sweep(write_sweep(tmp_path, '[axes]\n"protocol.cycles" = [1, 2, 3]\n'), validate=False)
    assert [c.case_id for c in wider.cases][:2] == ids
    changed = load_sweep(write_sweep(tmp_path, body, case='model = "oxygen"\n[protocol]\ncycles = 5\n'), validate=False)
    assert not set(ids) & {c.case_id for c in changed.cases}


@pytest.mark.parametrize("axes, message", [
    ('x = { log = ["0 cm^2/s", "1e-16 cm^2/s"], num = 3 }', "end points > 0"),
    ('x = { log = ["1e-18 cm^2/s", "1e-16 cm^2/s"] }', "num must be an integer >= 2"),
    ('x = { linear = ["1 um", "2 um"], num = 1 }', "num must be an integer >= 2"),
    ('x = { linear = ["1 um"], num = 3 }', "two end points"),
    ('x = { linear = ["1 um", "2 s"], num = 3 }', "cannot combine units"),
    ('x = ["1 um", "2 K"]', "cannot combine units"),
    ('x = { linear = [1, 3], num = 5 }', "distinct integers"),
    ('x = { range = [1, 3], num = 3 }', "an axis is a list"),
    ('x = []', "at least one value"),
    ('x = [1, 1]', "repeated values"),
    ('x = { files = "nothing/*.csv" }', "no file matches"),
    ('x = 3', "must be a list or a range table"),
])
def test_bad_axes_name_file_key_and_what_is_allowed(tmp_path, axes, message):
    path = write_sweep(tmp_path, f"[axes]\n{axes}\n")
    with pytest.raises(InputError, match=message) as err:
        load_sweep(path, validate=False)
    assert err.value.file == str(path) and err.value.key == "x"


@pytest.mark.parametrize("body, key, message", [
    ('[sweep]\ncombine = "zip"\n[axes]\na = [1, 2]\nb = [1, 2, 3]\n', "sweep.combine", "equal length"),
    ('[sweep]\ncombine = "grid"\n[axes]\na = [1]\n', "sweep.combine", "cartesian"),
    ("[axes]\n", "axes", "no axes"),
    ('[axes]\na = [1]\n[set]\na = 2\n', "set", "both swept and fixed"),
    ('[axes]\na = [1]\n[plot]\nx = "b"\n', "plot.x", "not an axis"),
    ('[axes]\na = [1]\n[output]\n', None, "unknown table"),
])
def test_bad_sweep_files(tmp_path, body, key, message):
    path = tmp_path / "sweep.toml"
    (tmp_path / "case.toml").write_text('model = "oxygen"\n')
    path.write_text('[sweep]\ncase = "case.toml"\n' + body.replace("[sweep]\n", ""))
    with pytest.raises(InputError, match=message) as err:
        load_sweep(path, validate=False)
    assert err.value.key == key


def test_bad_base_case(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text('[sweep]\ncase = "missing.toml"\n[axes]\na = [1]\n')
    with pytest.raises(InputError, match="not found"):
        load_sweep(path, validate=False)
    (tmp_path / "missing.toml").write_text('model = "weather"\n')
    with pytest.raises(InputError, match="the sweep runs models lithium, oxygen, fit"):
        load_sweep(path, validate=False)


def test_table_flattens_summaries_with_units_and_marks_pending(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, '[axes]\n"geometry.void_radius" = ["0.3 um", "0.5 um"]\n'), validate=False)
    first = sweep.cases[0].case_id
    summary = {"status": "completed", "hoop_max": {"value": 3.1e8, "unit": "Pa"}, "iterations": 42,
               "probe": {"bridge": {"hoop_max_Pa": 2e8}}, "series": [1, 2, 3, 4], "ci95_cm2_s": [1e-18, 3e-18]}
    df = build_table(sweep, {first: {"status": "ok", "wall_time_s": 1.5, "summary": summary}})
    assert list(df["status"]) == ["ok", "pending"]
    assert list(df["geometry.void_radius_um"]) == [0.3, 0.5]
    row = df.iloc[0]
    assert row["hoop_max_Pa"] == 3.1e8 and row["probe.bridge.hoop_max_Pa"] == 2e8 and row["iterations"] == 42
    assert row["case.status"] == "completed" and not [c for c in df.columns if c.startswith("series")]
    assert (row["ci95_cm2_s[0]"], row["ci95_cm2_s[1]"]) == (1e-18, 3e-18)
    assert math.isnan(df.iloc[1]["wall_time_s"])
    assert flatten_summary({"a": {"value": 1, "unit": ""}}) == {"a": 1}
    assert unit_slug("cm^2/s") == "cm2_s" and unit_slug("mol/m^3") == "mol_m3"
