"""``sim run`` end to end on a small solid sphere: results folder, units, closed form, overwrite, failure.

The surface hoop stress of a sphere under constant inward flux reaches the quasi-steady value
σ_θ(R) = −K (x_s − x̄) with x_s − x̄ = Δx C R² / (15 · 3600 s · D) (physics.md M3: Crank's galvanostatic
sphere, surface hoop = K (c̄ − c_s)); K = E/(3(1−ν)) · dβ/dx, β = ΔV/V0 linear in x. After
τ = D t / R² > 1 the transient (e^(−20.2 τ)) is gone, so the summary's probe values are checked against it.
"""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from sim.params import load_params

CASE = """\
model = "lithium"
title = "small solid sphere"
params = "lmr_default"
geometry = "radial"
[parameters]
"transport.x_initial" = 0.34
[mesh]
n_cells = 40
[solver]
dt_max = "30 s"
[output]
maps_at_dod = ["5 %", "10 %"]
probes = { surface = "surface", centre = ["0 um"] }
vtx_every = 4
[[protocol]]
step = "discharge at 1C to 10 % DOD"
[[protocol]]
step = "rest 1 min"
"""


def surface_hoop_closed_form(params, c_rate: float) -> float:
    tr, mech = params.transport, params.mechanics
    T = min(max(params.conditions.temperature, tr.temperature_min), tr.temperature_max)
    D = tr.diffusivity(0.5) * math.exp(-tr.activation_energy / 8.314462618 * (1 / T - 1 / tr.reference_temperature))
    beta = mech.volume_change
    slope = (beta(0.9) - beta(0.5)) / 0.4
    K = mech.youngs_modulus / (3 * (1 - mech.poisson_ratio)) * slope
    R = params.geometry.particle_radius
    return -K * (tr.x_max - tr.x_min) * c_rate * R**2 / (15 * 3600.0 * D)


def test_sim_run_radial_sphere_writes_a_complete_folder(tmp_path, run_cli, capsys):
    case = tmp_path / "sphere.toml"
    case.write_text(CASE)
    out = tmp_path / "res"
    assert run_cli(case, "--out", out) == 0
    assert "completed" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res", "sphere.toml"]   # no staging folder left
    assert {p.name for p in out.iterdir()} == {"summary.json", "timeseries.csv", "params.json", "hotspots.csv",
                                               "fields", "maps", ".sim-result.json"}
    assert json.loads((out / ".sim-result.json").read_text())["command"] == "sim run"
    for stem in ("c", "displacement", "stress"):
        assert (out / "fields" / f"{stem}.bp" / "md.idx").stat().st_size > 0
    for stem in ("dod_5", "dod_10"):
        assert (out / "maps" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / "maps" / f"{stem}.npz").exists()

    s = json.loads((out / "summary.json").read_text())
    for key in ("status", "final", "maxima", "minima", "probes", "maps", "steps", "wall_time_s", "newton_iterations",
                "time_steps", "sim_version", "mass_balance_error", "hot_spots", "centroid_m", "fracture", "coordinates"):
        assert key in s
    assert s["status"] == "completed" and s["error"] is None
    assert s["final"]["dod"] == pytest.approx(0.1, abs=1e-8) and s["final"]["t_s"] == pytest.approx(420.0)
    assert [st["stop_reason"] for st in s["steps"]] == ["dod", "time"]
    assert set(s["maxima"]) == {"hoop_Pa", "radial_Pa", "von_mises_Pa", "max_principal_Pa"}
    assert set(s["probes"]["surface"]["maxima"]) == {"hoop_Pa", "radial_Pa", "von_mises_Pa", "max_principal_Pa"}
    surface = s["probes"]["surface"]
    worst_radial = max(abs(surface["maxima"]["radial_Pa"]["value"]), abs(surface["minima"]["radial_Pa"]["value"]))
    assert worst_radial < 0.05 * abs(surface["minima"]["hoop_Pa"]["value"])   # traction-free outer surface
    assert s["probes"]["surface"]["position_m"] == [0.0, 0.0, 8e-6]
    # the maps land on their DODs (the galvanostatic step is split there) and record the probes
    assert [m["dod"] for m in s["maps"]] == pytest.approx([0.05, 0.1], abs=1e-8)
    expected = surface_hoop_closed_form(load_params("lmr_default"), 1.0)
    for m in s["maps"]:
        assert m["probes"]["surface"]["hoop_Pa"] == pytest.approx(expected, rel=1e-2)
        assert m["probes"]["centre"]["hoop_Pa"] > 0     # interior in tension while Li goes in
    assert s["probes"]["surface"]["minima"]["hoop_Pa"]["value"] == pytest.approx(expected, rel=1e-2)

    with open(out / "timeseries.csv") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    assert header[:8] == ["t_s", "step", "dt_s", "dod", "soc", "x_mean", "potential_V", "current_A"]
    assert {"hoop_max_Pa", "hoop_min_Pa", "von_mises_max_Pa", "hoop_surface_Pa", "von_mises_centre_Pa",
            "li_fraction_surface", "max_principal_over_strength", "failure_probability"} <= set(header)
    assert all(h.endswith(("_s", "_V", "_A", "_Pa")) or h in ("step", "dod", "soc", "x_mean", "newton_iterations",
                                                            "max_principal_over_strength", "failure_probability")
               or h.startswith("li_fraction_") for h in header)
    ratio = np.array([float(r["max_principal_over_strength"]) for r in rows])
    assert ratio == pytest.approx(np.array([float(r["max_principal_max_Pa"]) for r in rows]) / 1e8, rel=1e-9)
    assert s["fracture"]["onset"] is None and s["fracture"]["max_principal_over_strength_max"] == pytest.approx(ratio.max())
    assert s["cracks"] is False and 0 < s["fracture"]["failure_probability_max"] < 1e-3
    assert len(rows) == s["time_steps"] + 1
    t = np.array([float(r["t_s"]) for r in rows])
    assert t[0] == 0 and np.all(np.diff(t) > 0)
    its = np.array([int(r["newton_iterations"]) for r in rows])      # per step; the total is in summary.json
    assert its[0] == 0 and its[1:].min() >= 1 and its.max() < 30 and its.sum() == s["newton_iterations"]
    current = np.array([float(r["current_A"]) for r in rows if r["step"] == "0"][1:])
    assert np.allclose(current, current[0]) and current[0] > 0     # constant discharge current

    params = json.loads((out / "params.json").read_text())
    assert params["sim_version"] == s["sim_version"]
    x0 = params["parameters"]["transport"]["x_initial"]
    assert x0["value"] == 0.34 and x0["value_si"] == 0.34 and "override" in x0["source"]
    radius = params["parameters"]["geometry"]["particle_radius"]      # units as users write them, SI beside
    assert (radius["value"], radius["unit"], radius["value_si"]) == (pytest.approx(8.0), "\u03bcm", pytest.approx(8e-6))
    assert params["parameters"]["mechanics"]["youngs_modulus"]["unit"] == "GPa"

    # never overwritten silently; --overwrite replaces the folder (here with a shorter run)
    before = (out / "summary.json").read_text()
    assert run_cli(case, "--out", out, "--quiet") == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "summary.json").read_text() == before
    assert run_cli(case, "--out", out, "--quiet", "--overwrite", "--set", "protocol[0].step=discharge at 2C for 10 s",
                   "--set", "protocol[1].step=rest 1 s", "--set", "output.vtx=false") == 0
    s2 = json.loads((out / "summary.json").read_text())
    assert s2["final"]["t_s"] == pytest.approx(11.0) and s2["maps"] == []
    assert not (out / "fields").exists() and not (out / "maps").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res", "sphere.toml"]


def test_solver_failure_keeps_partial_results_and_exits_3(tmp_path, run_cli, capsys, monkeypatch):
    from sim.lithium import transport

    real_solve, calls = transport.Transport.solve, {"n": 0}

    def solve_then_fail(self):     # Newton diverges from the 13th solve on: the solver gives up after halvings
        calls["n"] += 1
        if calls["n"] > 12:
            raise transport.NewtonFailure("DIVERGED_LINE_SEARCH", 3)
        return real_solve(self)

    monkeypatch.setattr(transport.Transport, "solve", solve_then_fail)
    case = tmp_path / "sphere.toml"
    case.write_text(CASE)
    out = tmp_path / "res"
    assert run_cli(case, "--out", out, "--quiet") == 3
    err = capsys.readouterr().err
    assert err.startswith("sim run: solver failed:") and "DIVERGED_LINE_SEARCH" in err
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "failed"
    assert s["error"]["reason"] == "DIVERGED_LINE_SEARCH"
    with open(out / "timeseries.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 13 and s["time_steps"] == 12          # t = 0 and 12 accepted steps are kept
    assert float(rows[-1]["t_s"]) > 0
    assert s["error"]["time_s"] == pytest.approx(float(rows[-1]["t_s"]))
    assert s["final"]["t_s"] == pytest.approx(s["error"]["time_s"])
    assert (out / "params.json").exists() and (out / "fields" / "c.bp").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res", "sphere.toml"]
