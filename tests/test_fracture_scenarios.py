"""The fracture scenarios (issue 9 item 7): cracking_liu2024 and fatigue_wang2021 end to end, and the
physics their conclusions rest on (docs/physics.md M3, M5)."""
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import json

import numpy as np
import pytest

from sim.errors import InputError
from sim.scenarios import CASES_DIR, run_scenario
from sim.scenarios.case import load_case


@pytest.fixture(scope="module")
def cracking_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("cracking") / "quick"
    return out, run_scenario(CASES_DIR / "cracking_liu2024.toml", out, quick=True)


def test_cracking_quick_10C_vs_0p1C(cracking_quick):
    out, s = cracking_quick
    assert json.loads((out / "summary.json").read_text())["scenario"] == "cracking"
    for name in ("timeseries_discharge_10C.csv", "timeseries_discharge_0.1C.csv", "damage_discharge_10C.png",
                 "cracking_histories.png"):
        assert (out / name).stat().st_size > 0
    fast, slow = s["runs"]["discharge_10C"], s["runs"]["discharge_0.1C"]
    for r in (fast, slow):
        assert r["final_dod"] == pytest.approx(0.2, abs=1e-6)
    # equal DOD (20 %): stress ~ current in the quasi-steady regime (Liu 2024: ~100x)
    assert fast["max_principal_final_Pa"] >= 50 * slow["max_principal_final_Pa"]
    assert fast["hoop_bridge_final_Pa"] >= 50 * slow["hoop_bridge_final_Pa"]
    # on discharge the interior is in tension: the peak sits in a void-pore bridge, not at the outer surface
    assert fast["max_principal_in_bridge_of"] in ("pore_0", "pore_1")
    assert fast["max_principal_location"] != "outer"
    crit = s["critical"]["discharge"]
    assert crit["strength_window_Pa"][0] < crit["strength_window_Pa"][1]
    on10, on01 = crit["onset_10C_at_critical_strength"], crit["onset_0p1C_at_critical_strength"]
    assert on10 is not None and 0 < on10["dod"] <= 0.2 + 1e-9 and on10["location"] != "outer"
    assert on01 is None
    # the set's strength (100 MPa) lies above the window: no strength onset at either rate
    assert s["tensile_strength_Pa"] > crit["strength_window_Pa"][1] and fast["onset"] is None
    # phase field: irreversible damage grows with the rate; the G_c window follows d ~ 1/G_c
    assert fast["damage_max"] > 10 * slow["damage_max"] > 0
    assert crit["critical_fracture_energy_10C_J_m2"] == pytest.approx(
        s["fracture_energy_J_m2"] * fast["damage_max"] / 0.01, rel=1e-9)
    assert s["tensile_strength_source"].startswith("assumed")


def test_cracking_case_rejects_bad_settings(tmp_path):
    bad = tmp_path / "bad.toml"
    text = (CASES_DIR / "cracking_liu2024.toml").read_text()
    bad.write_text(text.replace('size_inner = "0.03 um"', 'size_inner = "-1 um"'))
    with pytest.raises(InputError, match="cracking.size_inner"):
        load_case(bad)
    bad.write_text(text.replace('split = "spectral"', 'split = "tension"'))
    with pytest.raises(InputError, match="cracking.split"):
        load_case(bad)


def test_pf_fatigue_cycle_jumping_matches_cycle_by_cycle_on_a_tiny_mesh():
    """Same particle, same cycles: cycle jumping (Carrara 2020 fatigue) gives the cycle-by-cycle onset
    within a few %, with fewer computed cycles."""
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.mesh import radial_mesh
    from sim.params import load_params
    from sim.scenarios.fatigue import pf_fatigue_life

    p = load_params("lmr_default", {"transport.x_initial": "0.9", "mechanics.phase_field_length": "0.5 um",
                                    "mechanics.fatigue_threshold": "3e3 J/m^3"})
    pm = radial_mesh(p.geometry.particle_radius, 0.5e-6, n_cells=8, grading=3)
    steps = (Galvanostatic(10.0, "charge", Stop(time=20.0)), Galvanostatic(10.0, "discharge", Stop(time=20.0)))
    kw = dict(n_cycles=5000, onset=0.05, dt_max=10.0, dt_initial=10.0)
    full = pf_fatigue_life(p, pm, steps, jump=False, **kw)
    jumped = pf_fatigue_life(p, pm, steps, jump=True, **kw)
    print("cycles to onset", full["cycles_to_onset"], "jumped", jumped["cycles_to_onset"],
          "computed", jumped["computed_cycles"])
    assert full["cycles_to_onset"] > 30 and full["computed_cycles"] == full["cycles_to_onset"]
    assert jumped["cycles_to_onset"] == pytest.approx(full["cycles_to_onset"], rel=0.05)
    assert jumped["computed_cycles"] < full["computed_cycles"]
    d = [v for _, v in full["table"]]
    assert np.all(np.diff(d) >= -1e-12)          # irreversible


@pytest.mark.slow
def test_fatigue_quick_aged_cracks_sooner(tmp_path):
    out = tmp_path / "fatigue"
    s = run_scenario(CASES_DIR / "fatigue_wang2021.toml", out, quick=True)
    for name in ("pf_fatigue_fresh.csv", "pf_fatigue_aged.csv", "fatigue_damage.png", "paris_fresh/summary.json"):
        assert (out / name).stat().st_size > 0
    paris, pf = s["paris"], s["phase_field"]
    assert paris["aged"]["cycles_to_onset"] < paris["fresh"]["cycles_to_onset"]
    assert paris["aged"]["stress_range_Pa"] > paris["fresh"]["stress_range_Pa"]
    assert pf["aged"]["cycles_to_onset"] is not None
    assert pf["fresh"]["cycles_to_onset"] is None or pf["aged"]["cycles_to_onset"] < pf["fresh"]["cycles_to_onset"]
    assert pf["aged"]["computed_cycles"] < pf["aged"]["cycles_to_onset"] / 20      # cycle jumping pays


@pytest.mark.slow
def test_cracking_full_scenario_charge_cracks_at_the_surface_first(tmp_path):
    """Charge (delithiation): the outer surface is in tension, so the strength hot spot is at 'outer'."""
    s = run_scenario(CASES_DIR / "cracking_liu2024.toml", tmp_path / "full", quick=False)
    charge = s["runs"]["charge_10C"]
    assert charge["max_principal_location"] == "outer"
    assert s["runs"]["discharge_10C"]["max_principal_in_bridge_of"] is not None
    v = s["critical"]["discharge"]["verification"]
    assert v["damage_max"] == pytest.approx(0.01, rel=0.1)        # d ~ 1/G_c to first order
    # crack path (G_c ~ G_c*/90): the bridges break and the run reaches 20 % DOD; d >= 0.5 first in a bridge
    path = s["crack_path"]
    print("crack path", {k: path[k] for k in ("status", "t_end_s", "wall_time_s", "staggered_iterations",
                                               "d_half_onset", "d_half_reach_from_centre_m", "crack_area_m2")})
    assert path["status"] == "completed" and path["failure"] is None
    assert path["dod_end"] == pytest.approx(0.2, abs=1e-6) and path["damage_max"] == pytest.approx(1.0, abs=1e-9)
    assert path["d_half_onset"] is not None and path["d_half_onset"]["in_bridge_of"] in ("pore_0", "pore_1")
