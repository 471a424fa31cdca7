"""One Arrhenius factor for D_O (no clamp) and D_Li (T clamped, Liu 2024 Methods)."""
import math

import pytest

from sim.arrhenius import arrhenius
from sim.lithium.transport import arrhenius as li_arrhenius
from sim.oxygen.protocol import arrhenius as o_arrhenius
from sim.params import load_params


def test_closed_form_and_clamp():
    ea, t_ref = 50e3, 298.15
    for t in (250.0, 298.15, 333.0):
        assert arrhenius(ea, t, t_ref) == pytest.approx(math.exp(-ea / 8.314462618 * (1 / t - 1 / t_ref)), rel=1e-9)
    assert arrhenius(ea, 400.0, t_ref, clamp=(273.0, 333.0)) == arrhenius(ea, 333.0, t_ref)
    assert arrhenius(ea, 200.0, t_ref, clamp=(273.0, 333.0)) == arrhenius(ea, 273.0, t_ref)
    assert o_arrhenius is arrhenius                                  # M1 uses the shared function unclamped


def test_li_transport_clamps_to_its_section():
    tr = load_params("lmr_default", {"transport.activation_energy": "40 kJ/mol", "transport.temperature_min": "280 K",
                                     "transport.temperature_max": "320 K"}).transport
    assert li_arrhenius(tr, 350.0) == arrhenius(40e3, 320.0, tr.reference_temperature)
    assert li_arrhenius(tr, 300.0) == arrhenius(40e3, 300.0, tr.reference_temperature) > 1
