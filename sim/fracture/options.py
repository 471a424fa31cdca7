"""Options of the phase-field fracture model, as a case's ``[fracture]`` table gives them."""
from __future__ import annotations

from dataclasses import dataclass

VARIANTS = ("AT1", "AT2")
SPLITS = ("none", "spectral", "volumetric-deviatoric")
ACCELERATIONS = ("aitken", "none")


@dataclass(frozen=True)
class PhaseFieldOptions:
    """Phase-field fracture coupled to the chemo-mechanics (Bourdin–Francfort–Marigo; Miehe 2010; Amor 2009).

    ``variant``: AT1 (elastic stage, bound-constrained damage) or AT2 (history field).
    ``split``: which part of the elastic energy the damage degrades (``none``, ``spectral``: Miehe 2010;
    ``volumetric-deviatoric``: Amor 2009), so compression does not crack.
    ``residual_stiffness``: k in g(d) = (1 − d)² + k. ``tolerance``: staggered-iteration convergence on
    the fixed-point residual of d (max norm). ``max_iterations``: staggered iterations per time step before a
    typed error. ``acceleration``: ``aitken`` (dynamic relaxation of the damage iterates) or ``none`` (plain
    alternate minimisation; :meth:`~sim.fracture.phase_field.PhaseField.solve`).
    ``fatigue``: Carrara et al. 2020 fatigue degradation of G_c by accumulated tensile energy.
    ``adapt``: after a run, refine the mesh where d > ``adapt_damage`` (and 2ℓ around it) down to h <= ℓ/2 and
    run again, at most ``adapt_levels`` times (:mod:`sim.fracture.adapt`).
    """

    variant: str = "AT2"
    split: str = "spectral"
    residual_stiffness: float = 1e-6
    tolerance: float = 1e-4
    max_iterations: int = 100
    fatigue: bool = False
    adapt: bool = False
    adapt_levels: int = 3
    adapt_damage: float = 0.01
    acceleration: str = "aitken"

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"variant {self.variant!r}; choose {', '.join(VARIANTS)}")
        if self.acceleration not in ACCELERATIONS:
            raise ValueError(f"acceleration {self.acceleration!r}; choose {', '.join(ACCELERATIONS)}")
        if self.split not in SPLITS:
            raise ValueError(f"split {self.split!r}; choose {', '.join(SPLITS)}")
        if not (0 <= self.residual_stiffness < 1 and self.tolerance > 0 and self.max_iterations >= 1):
            raise ValueError("need 0 <= residual_stiffness < 1, tolerance > 0, max_iterations >= 1")
        if not (self.adapt_levels >= 1 and 0 < self.adapt_damage < 1):
            raise ValueError("need adapt_levels >= 1 and 0 < adapt_damage < 1")
