"""The Arrhenius factor of a diffusivity, shared by the O-vacancy (M1) and Li (M2) models."""
from __future__ import annotations

import math

from sim.units import GAS_CONSTANT


def arrhenius(activation_energy: float, temperature: float, reference_temperature: float,
              clamp: tuple[float, float] | None = None) -> float:
    """D(T)/D(T_ref) = exp(−E_a/R (1/T − 1/T_ref)); E_a in J/mol, temperatures in K.

    ``clamp`` = (T_min, T_max): T is held to that interval first (Liu 2024 Methods clamps the Li model's T);
    None: no clamp (Csernica 2021's D_O)."""
    if clamp is not None:
        temperature = min(max(temperature, clamp[0]), clamp[1])
    return math.exp(-activation_energy / GAS_CONSTANT * (1.0 / temperature - 1.0 / reference_temperature))
