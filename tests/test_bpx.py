"""BPX import (sim.bpx): units mapped, sources recorded, what BPX lacks marked assumed, bad files refused."""
from __future__ import annotations

import json
import math
import tomllib

import pytest

from sim import resources
from sim.bpx import LACKING, bpx_to_toml
from sim.errors import InputError
from sim.params import load_params

EXAMPLE = resources.data_dir("params") / "examples" / "lmr_particle_bpx.json"
F = 96485.33212          # C/mol, CODATA 2018


def test_example_maps_to_a_parameter_set(tmp_path):
    out = tmp_path / "library.toml"
    report = bpx_to_toml(EXAMPLE, out)
    p = load_params(out)
    bpx = json.loads(EXAMPLE.read_text())["Parameterisation"]
    pos = bpx["Positive electrode"]
    assert p.geometry.particle_radius == pos["Particle radius [m]"]
    assert p.geometry.void_radius == 0 and not p.geometry.pores
    assert p.transport.c_max == pos["Maximum concentration [mol.m-3]"]
    assert (p.transport.x_min, p.transport.x_max) == (pos["Minimum stoichiometry"], pos["Maximum stoichiometry"])
    # i0 = F k sqrt(c_e c_s (c_max - c_s)) = 2 i0_ref sqrt(x (1 - x)) -> i0_ref = F k sqrt(c_e) c_max / 2
    i0_ref = F * pos["Reaction rate constant [mol.m-2.s-1]"] * math.sqrt(
        bpx["Electrolyte"]["Initial concentration [mol.m-3]"]) * pos["Maximum concentration [mol.m-3]"] / 2
    assert p.kinetics.exchange_current_density == pytest.approx(i0_ref, rel=1e-8) and p.kinetics.i0_model == "sqrt"
    # the OCP expression, sampled into a table: linear interpolation error <= h^2/8 max|U''| ~ 6e-4 V
    for x in (0.4, 0.62, 0.93, 0.99):
        exact = 4.75 - 1.9 * x + 0.15 * math.tanh(-12 * (x - 0.95))
        assert abs(float(p.kinetics.ocv(x)) - exact) < 1e-3
    # the diffusivity table, log-interpolated between its points
    assert float(p.transport.diffusivity(0.6)) == pytest.approx(math.sqrt(5e-16 * 1e-16), rel=1e-9)
    default = load_params("lmr_default")
    assert p.mechanics.youngs_modulus == default.mechanics.youngs_modulus
    assert report.mapped["Positive electrode.OCP [V]"] == "kinetics.ocv"
    assert "Thickness [m]" in report.ignored and "mechanics.volume_change" in report.lacking

    raw = tomllib.loads(out.read_text())
    for key in report.mapped.values():
        sec, name = key.split(".")
        assert raw[sec][name]["source"].startswith("BPX: lmr_particle_bpx.json"), key
    for key in LACKING:
        sec, name = key.split(".")
        assert raw[sec][name]["source"].startswith("assumed: not in BPX"), key


def _bad(tmp_path, edit):
    data = json.loads(EXAMPLE.read_text())
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


@pytest.mark.parametrize("edit, words", [
    (lambda d: d["Parameterisation"]["Positive electrode"].pop("Particle radius [m]"),
     ["Parameterisation.Positive electrode.Particle radius [m]", "missing"]),
    (lambda d: d["Parameterisation"]["Positive electrode"].update({"Maximum concentration [mol.m-3]": "lots"}),
     ["Maximum concentration [mol.m-3]", "finite number"]),
    (lambda d: d["Parameterisation"]["Positive electrode"].update({"OCP [V]": "__import__('os').getcwd()"}),
     ["OCP [V]", "unsupported term"]),
    (lambda d: d["Parameterisation"]["Positive electrode"].update({"OCP [V]": "4 - log(x - 0.5)"}),
     ["OCP [V]", "not finite"]),
    (lambda d: d["Parameterisation"]["Positive electrode"].update({"Diffusivity [m2.s-1]": {"x": [0, 1], "y": [1e-15]}}),
     ["Diffusivity [m2.s-1]", "equal length"]),
    (lambda d: d["Parameterisation"].pop("Electrolyte"), ["Parameterisation.Electrolyte", "missing section"]),
    (lambda d: d["Parameterisation"]["Positive electrode"].update({"Particle radius [m]": -1e-6}),
     ["bad.json: Parameterisation.Positive electrode.Particle radius [m]", "geometry.particle_radius"]),
])
def test_malformed_bpx_is_refused_naming_file_and_field(tmp_path, edit, words):
    src = _bad(tmp_path, edit)
    out = tmp_path / "out.toml"
    with pytest.raises(InputError) as err:
        bpx_to_toml(src, out)
    msg = str(err.value)
    assert "\n" not in msg and all(w in msg for w in words), msg
    assert not out.exists() and not list(tmp_path.glob("*.toml"))


def test_not_json(tmp_path):
    src = tmp_path / "cell.json"
    src.write_text('{"Parameterisation": ')
    with pytest.raises(InputError, match=r"cell.json: not valid JSON: .* line 1"):
        bpx_to_toml(src, tmp_path / "out.toml")
