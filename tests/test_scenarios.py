"""Each shipped scenario runs end to end on its [quick] setting and writes its outputs; case-file errors."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.errors import InputError
from sim.scenarios import CASES_DIR
from sim.scenarios.case import load_case

REPO = Path(__file__).resolve().parent.parent


def _run(name, tmp_path):
    from sim.scenarios import run_scenario

    return run_scenario(CASES_DIR / f"{name}.toml", tmp_path / name, quick=True)


def test_every_shipped_case_parses():
    kinds = set()
    for path in sorted(CASES_DIR.glob("*.toml")):
        for quick in (False, True):
            case = load_case(path, quick=quick)
            case.load_params()
            kinds.add(case.kind)
    assert kinds == {"gitt", "thermal", "aging", "coupling", "cracking", "fatigue"}


@pytest.mark.parametrize("text, key", [
    ('[scenario]\nkind = "nope"\nparams = "li2019"\n', "scenario.kind"),
    ('[scenario]\nkind = "gitt"\n', "scenario.params"),
    ('[scenario]\nkind = "gitt"\nparams = "li2019"\n[extra]\n', "extra"),
])
def test_bad_case_files_name_the_key(tmp_path, text, key):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_case(path)
    assert err.value.key == key and str(path) in str(err.value)


def test_cli_bad_quantity_exits_2_and_writes_nothing(tmp_path):
    case = (CASES_DIR / "gitt_li2019.toml").read_text().replace('pulse = "30 min"', 'pulse = "30 kg"')
    path = tmp_path / "case.toml"
    path.write_text(case)
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "sim", "scenario", str(path), "--out", str(out), "--quick"],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2
    assert "gitt.pulse" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_gitt_quick(tmp_path):
    s = _run("gitt_li2019", tmp_path)
    out = tmp_path / "gitt_li2019"
    assert (out / "gitt_D.png").stat().st_size > 0
    assert json.loads((out / "summary.json").read_text())["scenario"] == "gitt"
    header = (out / "pulses_solid_25nm.csv").read_text().splitlines()[0]
    assert "D_WH_R3_cm2_s" in header and "D_input_cm2_s" in header
    solid, hollow = s["particles"]["solid_25nm"], s["particles"]["hollow_25nm"]
    assert solid["pulses"] == hollow["pulses"] == 3
    # tau = 1800 s >> R^2/D = 625 s at the start: WH under-reads D by more than 10x (long-pulse limit)
    assert solid["median_ratio_WH_R3_to_input"] < 0.1
    # the true V/S of the hollow sphere is smaller than R/3, so D with it is smaller
    assert hollow["median_ratio_WH_trueL_to_input"] < hollow["median_ratio_WH_R3_to_input"]


def test_thermal_quick(tmp_path):
    s = _run("thermal_li2019", tmp_path)
    hot, cold = s["rests"]["100C"], s["rests"]["25C"]
    assert hot["x_surface_start"] < hot["x_centre_start"]          # charged: surface depleted, bulk full
    assert hot["li_moved_to_surface"] > cold["li_moved_to_surface"] > 0   # heating moves more Li to the surface
    assert hot["x_centre_end"] < cold["x_centre_end"]
    assert hot["D_factor_vs_charge"] == pytest.approx(np.exp(38600 / 8.314462618 * (1 / 298.15 - 1 / 373.15)),
                                                      rel=1e-9)
    assert (tmp_path / "thermal_li2019" / "thermal_relaxation.png").exists()


def test_aging_quick_runs_the_degradation_loop(tmp_path):
    s = _run("aging_wang2021", tmp_path)
    fresh, aged = s["particles"]["fresh"], s["particles"]["aged"]
    assert s["mode"] == "degradation loop" and s["cycles_solved"] == [1, 200]
    # near-uniform 1D cycle from x = 0.99: cycle 1 follows the fresh Wang 2021 table (1.1 % over 0.65 of 0.66)
    assert fresh["volume_change_over_cycle_pct"] == pytest.approx(1.1 * 0.65 / 0.66, abs=0.02)
    # the amplitude rule was fitted to 2.0 % at 200 cycles on the full mesh; the quick mesh stays close
    assert aged["volume_change_over_cycle_pct"] == pytest.approx(2.0, abs=0.1)
    assert aged["shell_thickness_m"] > fresh["shell_thickness_m"] > 0           # the shell grows
    assert aged["exchange_current_density_A_m2"] < fresh["exchange_current_density_A_m2"]
    assert s["overpotential_increase_mV"] > 1
    assert (tmp_path / "aging_wang2021" / "degradation_loop.png").exists()


def test_coupling_quick(tmp_path):
    s = _run("coupling_csernica2021", tmp_path)
    ext, inner = s["depths"][0], s["depths"][-1]
    assert ext["delithiated_time_s"] > inner["delithiated_time_s"] > 0
    assert s["o_loss_exterior_at_pct"] > s["o_loss_interior_at_pct"] > 0
    assert (tmp_path / "coupling_csernica2021" / "secondary_to_primary.png").exists()


def test_every_scenario_prints_its_result(tmp_path):
    """`sim scenario` prints a headline result line (from summary.json), not only where the files went."""
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "sim", "scenario", "thermal_li2019", "--quick", "--out",
                           str(tmp_path / "t")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    s = json.loads((tmp_path / "t" / "summary.json").read_text())
    line = next(l for l in proc.stdout.splitlines() if l.startswith("thermal relaxation:"))
    assert f"{s['rests']['100C']['x_surface_end']:.3g}" in line and "100 °C" in line
