"""Formation-stage surface release of lattice oxygen (docs/physics.md M1; Csernica 2021).

Csernica 2021 measure ~3.3 at.% O loss after the first cycle (which follows four formation cycles)
and ~6.5 at.% after 500; the first-cycle reduction is concentrated at the particle edges and
spatially decoupled from the bulk oxidised oxygen, while the later loss enters > 100 nm into the
bulk with D_O ~ 1e-17 cm²/s. Diffusion from the surface alone moves vacancies only √(D t) ≈ 2 nm in
one cycle (0.38 at.%), so the formation release is modelled as a layer: when cycle 1 starts, the
shell within δ of the outer surface holds the vacancy fraction y_f (O2 released on the activation
plateau of the formation cycles), the core the bulk value y_b; from then on the vacancies diffuse as
in M1 with the cycling surface value y_s. δ = 0 is the plain M1 problem (Crank eq. 6.18).

The layer content after formation is y_f · (1 − (1 − δ/R)³) of a sphere; with y_f = y_s the
problem is the M1 sphere whose front starts at depth δ (closed form: ``closed_form.sphere_with_layer``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FormationLayer:
    """Shell of ``thickness`` (m) below the outer surface at ``vacancy_fraction`` y_f when cycling starts."""

    thickness: float
    vacancy_fraction: float

    def __post_init__(self):
        if not (self.thickness >= 0 and math.isfinite(self.thickness)):
            raise ValueError(f"formation layer thickness {self.thickness!r} m; allowed: >= 0")
        if not 0 <= self.vacancy_fraction <= 1:
            raise ValueError(f"formation vacancy fraction {self.vacancy_fraction!r}; allowed: >= 0 and <= 1")

    @classmethod
    def from_oxygen(cls, oxygen) -> FormationLayer | None:
        """The layer of an ``[oxygen]`` section (``formation_layer_thickness``, ``formation_vacancy_fraction``),
        or None when its thickness is 0 (no formation release)."""
        if oxygen.formation_layer_thickness <= 0:
            return None
        return cls(oxygen.formation_layer_thickness, oxygen.formation_vacancy_fraction)

    def shell_phi(self, surface_value: float, bulk_value: float) -> float:
        """φ = (y_f − y_s)/(y_b − y_s) in the layer (1 in the core) at the start of cycle 1."""
        if bulk_value == surface_value:
            raise ValueError("a formation layer needs surface and bulk vacancy fractions that differ")
        return (self.vacancy_fraction - surface_value) / (bulk_value - surface_value)

    def sphere_content(self, radius: float) -> float:
        """Mean vacancy fraction the layer adds to a sphere of ``radius`` (m) over a y_b = 0 bulk."""
        return self.vacancy_fraction * (1.0 - (1.0 - min(self.thickness, radius) / radius) ** 3)


def penetration_depth(depth, excess, level: float = 0.1) -> float | None:
    """Depth (same unit as ``depth``) where the excess over the bulk first falls to ``level`` × its value
    at the surface, going inwards, linearly interpolated between samples; None when it never does
    (the deficiency then spans every sampled depth; report that, never a fallback number).

    ``depth``: distance from the surface (any order); ``excess``: y − y_b (or Mn³⁺ − bulk) there.
    """
    depth, excess = np.asarray(depth, dtype=float), np.asarray(excess, dtype=float)
    order = np.argsort(depth)
    d, e = depth[order], excess[order]
    if e[0] <= 0:
        raise ValueError("no excess at the surface: the penetration depth is undefined")
    f = e / e[0]
    below = np.nonzero(f <= level)[0]
    if below.size == 0:
        return None
    i = below[0]
    if i == 0:
        return float(d[0])
    return float(d[i - 1] + (f[i - 1] - level) / (f[i - 1] - f[i]) * (d[i] - d[i - 1]))


def excess_at_depth(depth, excess, at: float) -> float:
    """Excess at depth ``at`` as a fraction of the surface excess (linear interpolation)."""
    depth, excess = np.asarray(depth, dtype=float), np.asarray(excess, dtype=float)
    order = np.argsort(depth)
    d, e = depth[order], excess[order]
    if not d[0] <= at <= d[-1]:
        raise ValueError(f"depth {at!r} outside the sampled range [{d[0]}, {d[-1]}]")
    return float(np.interp(at, d, e) / e[0])


def fit_layer_to_losses(radius: float, diffusivity: float, cycle_time: float, loss_first: float,
                        loss_late: float, late_cycle: int) -> tuple[float, float]:
    """(δ in m, y_s) such that a sphere with a formation layer at y_f = y_s (bulk y_b = 0) has mean vacancy
    fraction ``loss_first`` after one cycle and ``loss_late`` after ``late_cycle`` cycles.

    ``radius`` (m), ``diffusivity`` D_O (m²/s), ``cycle_time`` effective delithiated time per cycle (s);
    losses as fractions (0.033 for 3.3 at.%). Uses the closed form ``sphere_with_layer_mean``.
    """
    from scipy.optimize import least_squares

    from sim.oxygen.closed_form import sphere_with_layer_mean

    taus = diffusivity * cycle_time * np.array([1.0, late_cycle]) / radius**2
    targets = np.array([loss_first, loss_late])

    def residual(p):
        a, ys = 1.0 - p[0], p[1]
        return ys * sphere_with_layer_mean(taus, a) / targets - 1.0

    sol = least_squares(residual, [0.1, 1.2 * loss_late], bounds=([0.0, loss_late], [1.0, 1.0]), xtol=1e-14,
                        ftol=1e-14)
    if np.max(np.abs(sol.fun)) > 1e-6:
        raise ValueError(f"no formation layer reproduces both losses (residuals {sol.fun})")
    return float(sol.x[0] * radius), float(sol.x[1])
