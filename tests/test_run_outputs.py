"""What ``sim run`` writes: ``outputs = "minimal"`` for sweeps, the flaw criterion and its critical C-rate,
the ``[fracture]`` table, the onset map.

The critical C-rate rests on stress ∝ current: with a constant D, a linear ΔV/V0 and small strain the 1D
galvanostatic problem is linear in the current, so G ∝ C² exactly and a second run at C_crit must put
G_max at G_c.
"""
from __future__ import annotations

import csv
import json

import pytest

from sim.errors import InputError

LINEAR_DV = {"x": [0.0, 1.0], "y": [0.0, 2.0], "x_unit": "", "y_unit": "%"}
SPHERE = {"model": "lithium", "params": "lmr_default", "geometry": "radial",
          "parameters": {"transport.x_initial": 0.8, "mechanics.volume_change": LINEAR_DV,
                         "mechanics.flaw_size": "1 um", "mechanics.fracture_toughness": "0.01 MPa*m^0.5"},
          "mesh": {"n_cells": 20}, "solver": {"dt_max": "5 s"},
          "output": {"probes": {"surface": "surface"}, "maps_at_dod": ["68 %"], "vtx_every": 3},
          "protocol": [{"step": "charge at 1C for 120 s"}]}


TOML = """\
model = "lithium"
params = "lmr_default"
geometry = "radial"
[parameters]
"transport.x_initial" = 0.8
[mesh]
n_cells = 20
[output]
maps_at_dod = ["5 %"]
[[protocol]]
step = "charge at 1C for 60 s"
"""


def test_minimal_outputs_write_summary_and_timeseries_only(tmp_path, run_cli):
    case = tmp_path / "sphere.toml"
    case.write_text(TOML)
    assert run_cli(case, "--out", tmp_path / "min", "--outputs", "minimal", "--quiet") == 0
    assert {p.name for p in (tmp_path / "min").iterdir()} == {"summary.json", "timeseries.csv", "params.json",
                                                            ".sim-result.json"}
    s = json.loads((tmp_path / "min" / "summary.json").read_text())
    assert s["outputs"] == "minimal" and s["maps"] == [] and "fields" not in s["files"]
    assert s["hot_spots"] and s["fracture"]["flaw"]["g_max_J_m2"] > 0       # still computed
    with open(tmp_path / "min" / "timeseries.csv") as fh:
        assert "failure_probability" in next(csv.reader(fh))
    with pytest.raises(SystemExit) as exit_:
        run_cli(case, "--out", tmp_path / "bad", "--outputs", "all", "--quiet")
    assert exit_.value.code == 2 and not (tmp_path / "bad").exists()
    with pytest.raises(InputError, match=r"output\.outputs: got 'some'; allowed: full, minimal"):
        from sim.lithium.case import load_case
        load_case({**SPHERE, "output": {"outputs": "some"}})


def test_flaw_critical_c_rate_scales_with_the_current(tmp_path):
    from sim.lithium.run import run_case

    s1 = run_case(SPHERE, tmp_path / "c1", progress=False, outputs="minimal")
    flaw = s1["fracture"]["flaw"]
    assert flaw["flaw_size_m"] == pytest.approx(1e-6) and flaw["c_rate"] == pytest.approx(1.0, rel=1e-9)
    top = flaw["hot_spots"][0]
    assert top["flaw"] == "surface"                      # charge: peak hoop tension on the outer surface
    assert top["g_J_m2"] == pytest.approx(top["g_surface_J_m2"]) and top["g_surface_J_m2"] > top["g_embedded_J_m2"]
    c_crit = flaw["critical_c_rate"]
    assert 1.5 < c_crit < 5 and s1["cracks"] is False
    second = {**SPHERE, "protocol": [{"kind": "galvanostatic", "c_rate": c_crit, "direction": "charge",
                                      "until": {"time": "120 s"}}]}
    s2 = run_case(second, tmp_path / "c2", progress=False, outputs="minimal")
    assert s2["fracture"]["flaw"]["g_max_over_g_c"] == pytest.approx(1.0, rel=1e-3)
    assert s2["fracture"]["flaw"]["critical_c_rate"] == pytest.approx(c_crit, rel=1e-3)


def test_full_outputs_mark_the_onset_and_the_hot_spots_on_maps(tmp_path):
    from sim.lithium.run import run_case

    case = {**SPHERE, "parameters": {**SPHERE["parameters"], "mechanics.tensile_strength": "0.5 MPa"}}
    s = run_case(case, tmp_path / "full", progress=False)
    out = tmp_path / "full"
    assert s["fracture"]["onset"]["location"] == "outer" and s["cracks"] is True
    for name in ("maps/onset.png", "maps/dod_68.png", "hotspots.csv"):
        assert (out / name).stat().st_size > 0, name
    assert s["files"]["onset_map"] == "maps/onset.png"
    import numpy as np
    with np.load(out / "maps" / "onset.npz") as z:
        assert "max_principal_over_strength" in z.files and float(z["t_s"]) >= s["fracture"]["onset"]["t_s"]
    with np.load(out / "maps" / "dod_68.npz") as z:
        assert {"hoop_Pa", "max_principal_over_strength"} <= set(z.files)


def test_fracture_table_parses_into_phase_field_options_with_clear_errors(tmp_path):
    from sim.fracture.options import PhaseFieldOptions
    from sim.lithium.case import load_case
    from sim.lithium.run import run_case

    assert load_case(SPHERE).fracture is None
    assert load_case({**SPHERE, "fracture": {"model": "none"}}).fracture is None
    spec = load_case({**SPHERE, "fracture": {"model": "phase-field", "variant": "AT1", "split": "volumetric-deviatoric",
                                             "residual_stiffness": 1e-5, "tolerance": 1e-3, "max_iterations": 50,
                                             "fatigue": True}})
    assert spec.fracture == PhaseFieldOptions("AT1", "volumetric-deviatoric", 1e-5, 1e-3, 50, True)
    bad = [({"model": "cohesive"}, "fracture.model"), ({"model": "phase-field", "variant": "AT3"}, "fracture.variant"),
           ({"model": "phase-field", "split": "miehe"}, "fracture.split"),
           ({"model": "phase-field", "residual_stiffness": 1.5}, "fracture.residual_stiffness"),
           ({"model": "phase-field", "tolerance": 0}, "fracture.tolerance"),
           ({"model": "phase-field", "max_iterations": 0}, "fracture.max_iterations"),
           ({"model": "phase-field", "length": 1}, "fracture.length"), ({"variant": "AT1"}, "fracture.variant")]
    for table, key in bad:
        with pytest.raises(InputError) as err:
            load_case({**SPHERE, "fracture": table})
        assert err.value.key == key and err.value.file == "<case>", table
    # the damage columns are there when the case asks for the phase field (empty until the model exists)
    s = run_case({**SPHERE, "fracture": {"model": "phase-field"}}, tmp_path / "pf", progress=False, outputs="minimal")
    with open(tmp_path / "pf" / "timeseries.csv") as fh:
        header = next(csv.reader(fh))
    assert {"damage_max", "crack_area_m2"} <= set(header)
    assert "damage_onset" in s["fracture"]


class _Terminal(__import__("io").StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_ends_its_line_before_the_report_and_an_impossible_soc_is_flagged(tmp_path, run_cli, monkeypatch,
                                                                                      capsys):
    """The bar (stderr) is closed with a newline before the report (stdout) starts; a hold past the capacity
    window gives SOC > 1, reported clamped to 1 with a warning and the raw value kept."""
    import sys

    from sim.lithium import recorder

    monkeypatch.setattr(recorder, "BAR_DELAY", 1e-6)     # > 0: the case where a bar was left unterminated
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    case = tmp_path / "hold.toml"
    case.write_text(TOML.replace('maps_at_dod = ["5 %"]', 'vtk = true\nvtx = false\nvtx_every = 5')
                    .replace('"transport.x_initial" = 0.8', '"transport.x_initial" = 0.34')
                    .replace('"charge at 1C for 60 s"', '"hold 4.6 V for 5 min"'))
    assert run_cli(case, "--out", tmp_path / "res") == 0
    bar = term.getvalue()
    assert "1.00/1 steps" in bar and bar.endswith("\n"), repr(bar[-200:])
    report = capsys.readouterr().out
    assert report.startswith("completed: ") and "warning: SOC 1." in report
    s = json.loads((tmp_path / "res" / "summary.json").read_text())
    f = s["final"]
    assert f["soc"] == 1.0 and f["dod"] == 0.0 and f["soc_raw"] > 1.05 and f["soc_raw"] == pytest.approx(1 - f["dod_raw"])
    assert len(s["warnings"]) == 1 and "outside [0, 1]" in s["warnings"][0] and "hold 4.6 V" in s["warnings"][0]
    with open(tmp_path / "res" / "timeseries.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert float(rows[-1]["soc"]) == 1.0 and s["steps"][0]["dod_end"] == 0.0 and s["steps"][0]["dod_end_raw"] < 0
    tr = json.loads((tmp_path / "res" / "params.json").read_text())["parameters"]["transport"]
    x_min, x_max = tr["x_min"]["value"], tr["x_max"]["value"]
    assert 1 - (float(rows[-1]["x_mean"]) - x_min) / (x_max - x_min) == pytest.approx(f["soc_raw"], rel=1e-6)  # raw x

    # output.vtk: a .pvd series of nodal fields next to the (here: disabled) VTX writes, listed in files
    from sim.vtk import read_pvd
    import meshio
    import numpy as np

    assert s["files"]["vtk"] == "fields/fields.pvd" and "fields" not in s["files"]
    series = read_pvd(tmp_path / "res" / "fields" / "fields.pvd")
    times = [float(r["t_s"]) for r in rows]
    assert series[0][0] == 0.0 and series[-1][0] == pytest.approx(times[-1]) and len(series) >= len(rows) // 5
    assert all(any(abs(t - u) <= 1e-9 * max(1, u) for u in times) for t, _ in series)
    last = meshio.read(series[-1][1])
    assert {"li_fraction", "displacement_m", "hoop_Pa", "von_mises_Pa"} <= set(last.point_data)
    r = np.linalg.norm(last.points, axis=1)
    assert last.point_data["li_fraction"][np.argmax(r)] == pytest.approx(float(rows[-1]["li_fraction_surface"]), rel=1e-9)
