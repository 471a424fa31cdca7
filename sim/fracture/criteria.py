"""Fracture onset criteria on a stress field (docs/physics.md M5): strength, Weibull, small flaws (LEFM).

SI throughout: stresses in Pa, lengths in m, G in J/m², K in Pa m^½.

* **Strength**: the particle starts to crack where the maximum principal stress σ₁ reaches the tensile
  strength σ_f; :func:`first_crossing` places the first time σ₁/σ_f ≥ 1 between two time steps.
* **Weibull** (weakest link): P_f = 1 − exp(−(1/V₀) ∫ (σ₁⁺/σ₀)^m dV), σ₁⁺ = max(σ₁, 0), σ₀ = σ_f;
  :class:`WeibullIntegral` integrates it on the mesh with the geometry weight (4πr² in 1D radial, 2πr in
  axisymmetric (r, z), 1 in 3D).
* **Flaws**: a small flaw of depth a in a stress σ (normal to it): surface (edge) flaw K = 1.12 σ √(π a),
  embedded penny-shaped flaw of radius a K = 2 σ √(a/π); G = K²/E′, E′ = E/(1 − ν²) (plane strain).
  In the quasi-steady galvanostatic regime stress ∝ current, so G ∝ C² and the critical C-rate is
  C_crit = C √(G_c/G_max) (:func:`critical_c_rate`).
"""
from __future__ import annotations

import math

import numpy as np

SURFACE_FLAW_FACTOR = 1.12     # free-surface correction of an edge crack (Tada, Paris & Irwin)


# ----------------------------------------------------------------------------------------- flaws (LEFM)
def effective_modulus(youngs_modulus: float, poisson_ratio: float) -> float:
    """Plane-strain modulus E′ = E/(1 − ν²) in Pa."""
    return youngs_modulus / (1.0 - poisson_ratio**2)


def surface_flaw_sif(sigma, a):
    """K = 1.12 σ √(π a) (Pa m^½) of a surface flaw of depth ``a`` (m) under ``sigma`` (Pa)."""
    return SURFACE_FLAW_FACTOR * np.asarray(sigma, dtype=float) * np.sqrt(np.pi * a)


def embedded_flaw_sif(sigma, a):
    """K = 2 σ √(a/π) (Pa m^½) of an embedded penny-shaped flaw of radius ``a`` (m) under ``sigma`` (Pa)."""
    return 2.0 * np.asarray(sigma, dtype=float) * np.sqrt(a / np.pi)


def energy_release_rate(sif, youngs_modulus: float, poisson_ratio: float):
    """G = K²/E′ (J/m²); a compressive (K < 0) flaw is closed: G = 0."""
    k = np.maximum(np.asarray(sif, dtype=float), 0.0)
    return k**2 / effective_modulus(youngs_modulus, poisson_ratio)


def surface_flaw_energy_release_rate(sigma, a, youngs_modulus: float, poisson_ratio: float):
    """G = (1.12 σ)² π a / E′ (J/m²) of a surface flaw."""
    return energy_release_rate(surface_flaw_sif(sigma, a), youngs_modulus, poisson_ratio)


def embedded_flaw_energy_release_rate(sigma, a, youngs_modulus: float, poisson_ratio: float):
    """G = (2 σ √(a/π))²/E′ = 4 σ² a /(π E′) (J/m²) of an embedded penny-shaped flaw."""
    return energy_release_rate(embedded_flaw_sif(sigma, a), youngs_modulus, poisson_ratio)


def critical_c_rate(c_rate: float, g_max: float, g_c: float) -> float:
    """C-rate at which G_max reaches G_c, assuming stress ∝ current (quasi-steady galvanostatic): G ∝ C²,
    so C_crit = C √(G_c/G_max); ``inf`` when the flaw sees no tension."""
    return c_rate * math.sqrt(g_c / g_max) if g_max > 0 else math.inf


# ----------------------------------------------------------------------------------------- strength
def first_crossing(t0: float, r0: float, t1: float, r1: float, level: float = 1.0) -> float:
    """Where the linear interpolant of (t0, r0)–(t1, r1) reaches ``level`` (r0 < level <= r1): the time
    (or DOD, or any quantity given as t) of the crossing."""
    if r1 == r0:
        return t1
    return t0 + (level - r0) / (r1 - r0) * (t1 - t0)


# ----------------------------------------------------------------------------------------- Weibull
class WeibullIntegral:
    """Weibull failure probability of a scalar stress Function on its mesh (weakest-link, docs/physics.md M5).

    P_f = 1 − exp(−(1/V₀) ∫ (max(σ, 0)/σ₀)^m dV): ``field`` is σ₁ (Pa, any scalar Function),
    ``pmesh`` a :class:`~sim.mesh.ParticleMesh` (its kind chooses the weight), ``strength`` σ₀ (Pa),
    ``modulus`` m, ``reference_volume`` V₀ (m³). The form is compiled once; :meth:`probability` assembles
    it for the field's present values. Collective.
    """

    def __init__(self, field, pmesh, *, strength: float, modulus: float, reference_volume: float,
                 quadrature_degree: int | None = None):
        import ufl
        from dolfinx import fem

        from sim.lithium.transport import geometry_weights

        if not (strength > 0 and modulus > 0 and reference_volume > 0):
            raise ValueError("need strength > 0, modulus > 0 and reference_volume > 0")
        self.comm = pmesh.comm
        gw = geometry_weights(pmesh)
        if quadrature_degree is None:   # (σ⁺)^m is not a polynomial: over-integrate the field's degree
            quadrature_degree = 2 * field.function_space.element.basix_element.degree + 2 + \
                {"radial": 2, "axisym": 1, "3d": 0}[pmesh.kind]
        dx = ufl.Measure("dx", domain=pmesh.mesh, metadata={"quadrature_degree": quadrature_degree})
        self._s0 = fem.Constant(pmesh.mesh, float(strength))
        ratio = ufl.max_value(field, 0.0) / self._s0
        self._risk = fem.form(gw.factor / reference_volume * gw.weight * ratio**float(modulus) * dx)
        self._volume = fem.form(gw.factor * gw.weight * dx)
        self.volume = self._sum(self._volume)
        self.reference_volume, self.modulus, self.strength = reference_volume, modulus, strength

    def _sum(self, form) -> float:
        from dolfinx import fem
        from mpi4py import MPI

        return self.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)

    def risk(self) -> float:
        """The risk of rupture (1/V₀) ∫ (σ⁺/σ₀)^m dV (dimensionless)."""
        return self._sum(self._risk)

    def probability(self) -> float:
        """P_f = 1 − exp(−risk), in [0, 1]."""
        return -math.expm1(-self.risk())
