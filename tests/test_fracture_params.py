"""Fracture entries of the parameter sets: units, K_Ic <-> G_c, bad values refused."""
import math

import pytest

from sim.errors import InputError
from sim.params import load_params


@pytest.mark.parametrize("name", ["lmr_default", "liu2024", "wang2021", "wang2021_aged", "csernica2021", "li2019"])
def test_every_shipped_set_has_fracture_entries(name):
    m = load_params(name).mechanics
    for key in ("tensile_strength", "fracture_toughness", "fracture_energy", "weibull_modulus",
                "weibull_reference_volume", "flaw_size", "paris_coefficient", "paris_exponent", "phase_field_length"):
        assert getattr(m, key) is not None and getattr(m, key) > 0, key


def test_toughness_and_energy_derive_each_other():
    p = load_params("lmr_default")
    m = p.mechanics
    e_prime = m.youngs_modulus / (1 - m.poisson_ratio ** 2)
    assert m.fracture_toughness == pytest.approx(0.5e6)
    assert m.fracture_energy == pytest.approx(0.25e12 / e_prime, rel=1e-12)
    assert "derived" in p.sources["mechanics.fracture_energy"]
    q = p.override({"mechanics.fracture_energy": "4 J/m^2"})
    assert q.mechanics.fracture_toughness == pytest.approx(math.sqrt(4 * e_prime), rel=1e-12)
    assert p.override({"mechanics.tensile_strength": "250 MPa"}).mechanics.tensile_strength == pytest.approx(2.5e8)


def test_inconsistent_pair_and_bad_values_are_refused(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[meta]\ninherits = "lmr_default"\n[mechanics]\n'
                 'fracture_energy = { value = "10 J/m^2", source = "x" }\n'
                 'fracture_toughness = { value = "0.5 MPa*m^0.5", source = "x" }\n')
    with pytest.raises(InputError, match="disagrees") as err:
        load_params(f)
    assert err.value.key == "mechanics.fracture_energy"
    with pytest.raises(InputError, match="allowed: > 0"):
        load_params("lmr_default", {"mechanics.tensile_strength": "-5 MPa"})
    with pytest.raises(InputError, match="unit"):
        load_params("lmr_default", {"mechanics.fracture_toughness": "0.5 MPa"})
