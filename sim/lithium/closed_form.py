"""Closed-form solutions for the Li solver checks (physics.md M2/M3), pure numpy/scipy.

Conventions: tensile stress positive; ``flux`` J is the molar Li flux *into* the particle
(mol m^-2 s^-1, > 0 on discharge); the eigenstrain is linear in c, ΔV/V0 = Ω (c − c_ref), and
K = Ω E / (3 (1 − ν)) (Pa m^3/mol). Spherical symmetry throughout (Timoshenko & Goodier §151,
Crank 1975 eq. 6.44 for the galvanostatic sphere).
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import cumulative_trapezoid
from scipy.optimize import brentq


def stress_constant(omega: float, youngs_modulus: float, poisson_ratio: float) -> float:
    """K = Ω E / (3 (1 − ν)) in Pa m^3/mol, for Ω = d(ΔV/V0)/dc in m^3/mol."""
    return omega * youngs_modulus / (3.0 * (1.0 - poisson_ratio))


def tan_roots(n_terms: int) -> np.ndarray:
    """Positive roots λ_n of tan λ = λ, n = 1..n_terms (λ_n in (nπ, (n + 1/2)π))."""
    f = lambda lam: np.sin(lam) - lam * np.cos(lam)  # noqa: E731  (zero of tan λ − λ without poles)
    return np.array([brentq(f, n * np.pi + 1e-12, (n + 0.5) * np.pi - 1e-12) for n in range(1, n_terms + 1)])


def galvanostatic_sphere(r, t: float, *, radius: float, diffusivity: float, flux: float, c0: float = 0.0,
                         n_terms: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Concentration c(r, t) and I(r) = ∫_0^r (c − c0) s^2 ds in a sphere with constant inward flux J.

    physics.md M3 (Crank eq. 6.44): c − c0 = (J R/D)[3τ + r²/(2R²) − 3/10
    − (2R/r) Σ sin(λ_n r/R) / (λ_n² sin λ_n) e^(−λ_n² τ)], τ = D t / R².
    I(r) integrates each term in closed form, so the stresses below carry no quadrature error.
    Returns (c in mol/m^3, I in mol).
    """
    r = np.asarray(r, dtype=float)
    R, D = radius, diffusivity
    tau = D * t / R**2
    A = flux * R / D
    lam = tan_roots(n_terms)[:, None]
    s = r[None, :] / R
    decay = np.exp(-lam**2 * tau) / np.sin(lam)
    # (R/r) sin(λ r/R) -> λ at the centre
    sinc = np.where(s > 0, np.sin(lam * s) / np.where(s > 0, s, 1.0), lam)
    c = c0 + A * (3 * tau + s[0]**2 / 2 - 0.3 - 2 * np.sum(sinc * decay / lam**2, axis=0))
    integral = A * ((3 * tau - 0.3) * r**3 / 3 + r**5 / (10 * R**2)
                    - np.sum(2 * R**3 / lam**4 * decay * (np.sin(lam * s) - lam * s * np.cos(lam * s)), axis=0))
    return c, integral


def galvanostatic_sphere_stresses(r, t: float, *, radius: float, diffusivity: float, flux: float, omega: float,
                                  youngs_modulus: float, poisson_ratio: float, n_terms: int = 200) -> dict:
    """Radial and hoop stress (Pa) in a free solid sphere under constant inward flux J (small strain).

    physics.md M3: σ_r = 2K [I(R)/R³ − I(r)/r³], σ_θ = K [2 I(R)/R³ + I(r)/r³ − c] with c, I from
    :func:`galvanostatic_sphere` (c0 = 0; a uniform offset gives no stress). Returns a dict with
    ``c`` (c − c0, mol/m^3), ``radial``, ``hoop`` (Pa); surface hoop = K (c̄ − c_surface).
    """
    r = np.asarray(r, dtype=float)
    K = stress_constant(omega, youngs_modulus, poisson_ratio)
    kw = dict(radius=radius, diffusivity=diffusivity, flux=flux, n_terms=n_terms)
    c, integral = galvanostatic_sphere(r, t, **kw)
    _, integral_R = galvanostatic_sphere(np.array([radius]), t, **kw)
    mean_term = integral_R[0] / radius**3
    # I(r)/r³ -> c(0)/3 at the centre
    local = np.where(r > 0, integral / np.where(r > 0, r, 1.0)**3, c / 3)
    return {"c": c, "radial": 2 * K * (mean_term - local), "hoop": K * (2 * mean_term + local - c)}


def sphere_stresses(r, c, *, inner_radius: float = 0.0, omega: float, youngs_modulus: float,
                    poisson_ratio: float) -> dict:
    """Radial and hoop stress (Pa) of a free solid (a = 0) or hollow (a > 0) sphere for a profile c(r).

    Timoshenko & Goodier §151 with α T -> Ω c / 3, I(r) = ∫_a^r c s² ds (trapezoid on the given nodes,
    so refine ``r``): σ_r = 2K [(r³ − a³) I(b) / ((b³ − a³) r³) − I(r)/r³],
    σ_θ = K [(2r³ + a³) I(b) / ((b³ − a³) r³) + I(r)/r³ − c]. On the faces σ_θ(a|b) = K (c̄_shell − c(a|b)).
    ``r`` must be increasing from a to b.
    """
    r, c = np.asarray(r, dtype=float), np.asarray(c, dtype=float)
    a, b = inner_radius, r[-1]
    K = stress_constant(omega, youngs_modulus, poisson_ratio)
    integral = cumulative_trapezoid(c * r**2, r, initial=0.0)
    total = integral[-1]
    safe = np.where(r > 0, r, 1.0)
    local = np.where(r > 0, integral / safe**3, c / 3)
    radial = 2 * K * ((r**3 - a**3) * total / ((b**3 - a**3) * safe**3) - local)
    hoop = K * ((2 * r**3 + a**3) * total / ((b**3 - a**3) * safe**3) + local - c)
    if a == 0:
        radial = np.where(r > 0, radial, 2 * K * (total / b**3 - c / 3))
        hoop = np.where(r > 0, hoop, K * (2 * total / b**3 - 2 * c / 3))
    return {"radial": radial, "hoop": hoop}
