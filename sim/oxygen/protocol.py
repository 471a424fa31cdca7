"""Cycling protocol for O loss (M1) and the stoichiometry linking O vacancies to Mn³⁺.

D_O acts only while the cathode is delithiated (Csernica 2021), so a protocol of N cycles with
t_d hours delithiated per cycle at temperature T is, for the diffusion problem, N windows of
effective length t_d · 3600 s · exp(−E_a/R (1/T − 1/T_ref)) at the reference diffusivity.
"""
from __future__ import annotations

from dataclasses import dataclass

from sim.arrhenius import arrhenius


@dataclass(frozen=True)
class CyclingProtocol:
    """``cycles`` (>= 1), time delithiated per cycle (s) and cycling temperature (K)."""

    cycles: int
    delithiated_time_per_cycle: float
    temperature: float

    def effective_cycle_time(self, oxygen) -> float:
        """Diffusion time per cycle (s) at ``oxygen.diffusivity`` (the reference-temperature value)."""
        return self.delithiated_time_per_cycle * arrhenius(oxygen.activation_energy, self.temperature,
                                                           oxygen.reference_temperature)


def mn3_per_vacancy(oxygen) -> float:
    """Δ(Mn³⁺ fraction of Mn) per unit O-vacancy fraction y: charge neutrality V_O•• + 2 Mn⁴⁺ → 2 Mn³⁺
    gives share · 2 · (O per formula) / (Mn per formula) (docs/physics.md M1; 3.3 at.% O ↔ Mn³⁺ ≈ 0.25)."""
    return oxygen.mn_charge_share * 2.0 * oxygen.oxygen_per_formula / oxygen.mn_per_formula
