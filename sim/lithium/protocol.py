"""Protocol steps for Li cycling: galvanostatic, potentiostatic hold, rest; each with stop conditions.

SI inside: currents as C-rate (1/h converted to a current from the capacity window), voltages in V,
times in s; DOD and SOC as fractions of the capacity window [x_min, x_max] of the parameter set.
DOD = (x̄ - x_min) / (x_max - x_min) measured from the charged state; SOC = 1 - DOD.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Stop:
    """Stop a step at the first condition met. ``None`` = not used. At least one must be set."""

    dod: float | None = None        # fraction (0.2 for 20 %)
    soc: float | None = None        # fraction
    voltage: float | None = None    # V: lower cut-off on discharge, upper on charge
    time: float | None = None       # s, duration of the step
    current: float | None = None    # A > 0: a hold stops once |I| <= current (e.g. C/50 of the particle)

    def __post_init__(self):
        if all(v is None for v in (self.dod, self.soc, self.voltage, self.time, self.current)):
            raise ValueError("a step needs at least one stop condition (dod, soc, voltage, time or current)")
        if self.current is not None and not self.current > 0:
            raise ValueError(f"a current stop must be > 0 A, got {self.current!r}")


@dataclass(frozen=True)
class Galvanostatic:
    """Constant total current over the outer surface: ``c_rate`` > 0 (1/h); discharge inserts Li."""

    c_rate: float
    direction: Literal["charge", "discharge"]
    until: Stop
    kind: str = "galvanostatic"


@dataclass(frozen=True)
class Potentiostatic:
    """Hold the particle potential at ``voltage`` (V vs Li/Li+)."""

    voltage: float
    until: Stop
    kind: str = "potentiostatic"


@dataclass(frozen=True)
class Rest:
    """Zero current (Li redistributes; surface flux zero everywhere)."""

    until: Stop
    kind: str = "rest"


Step = Galvanostatic | Potentiostatic | Rest
