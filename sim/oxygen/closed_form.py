"""Closed-form diffusion in a sphere (Crank, *The Mathematics of Diffusion*, 2nd ed., §6.3).

All functions use the dimensionless radius ξ = r/R and time τ = D t / R² and return the
fraction of the way u from the uniform initial value (u = 0) to the surface value (u = 1):
y = y_b + (y_s − y_b)·u. They are the independent reference for the FEM solver and the fit.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq


def _n_terms(tau_min: float) -> int:
    """Series terms so that the first neglected term is below e^-40."""
    return int(np.ceil(np.sqrt(40.0 / (np.pi**2 * max(tau_min, 1e-12))))) + 10


def sphere_fixed_surface(xi, tau) -> np.ndarray:
    """Crank eq. 6.18: u = 1 + (2R/(πr)) Σ (−1)ⁿ/n sin(nπr/R) exp(−n²π²τ), written with
    sinc so that r = 0 is regular: u = 1 + 2 Σ (−1)ⁿ sinc(n ξ) exp(−n²π²τ).

    ``xi`` (array) and scalar ``tau`` > 0.
    """
    xi = np.asarray(xi, dtype=float)
    if tau <= 0:
        return np.where(xi >= 1.0, 1.0, 0.0)
    n = np.arange(1, _n_terms(tau) + 1)
    coef = 2.0 * (-1.0) ** n * np.exp(-(n**2) * np.pi**2 * tau)
    return 1.0 + np.sinc(np.multiply.outer(xi, n)) @ coef


def sphere_fixed_surface_mean(tau) -> np.ndarray:
    """Crank eq. 6.20: volume-averaged u, M_t/M_∞ = 1 − (6/π²) Σ exp(−n²π²τ)/n²."""
    tau = np.atleast_1d(np.asarray(tau, dtype=float))
    n = np.arange(1, _n_terms(max(tau.min(), 1e-12)) + 1)
    s = np.exp(-np.multiply.outer(np.maximum(tau, 0.0), n**2) * np.pi**2) @ (1.0 / n**2)
    return 1.0 - 6.0 / np.pi**2 * s


def robin_roots(biot: float, count: int) -> np.ndarray:
    """Roots βₙ of β cot β = 1 − L (L = k R / D), one in each interval ((n−1)π, nπ)."""
    f = lambda b: b * np.cos(b) - (1.0 - biot) * np.sin(b)  # noqa: E731  (β cot β − 1 + L, times sin β)
    eps = 1e-12
    return np.array([brentq(f, (n - 1) * np.pi + (eps if n > 1 else 1e-9), n * np.pi - eps, xtol=1e-14)
                     for n in range(1, count + 1)])


def sphere_surface_exchange(xi, tau, biot: float) -> np.ndarray:
    """Crank eq. 6.40 (surface exchange D ∂y/∂r = k (y_s − y) at r = R, L = kR/D):
    1 − u = (2L/ξ) Σ exp(−βₙ²τ) sin(βₙξ) / ((βₙ² + L(L−1)) sin βₙ)."""
    xi = np.asarray(xi, dtype=float)
    beta = robin_roots(biot, _n_terms(tau))
    coef = 2.0 * biot * np.exp(-beta**2 * tau) / ((beta**2 + biot * (biot - 1.0)) * np.sin(beta))
    # sin(β ξ)/ξ written as β sinc(β ξ / π) so that ξ = 0 is regular
    return 1.0 - (np.sinc(np.multiply.outer(xi, beta) / np.pi) * beta) @ coef


def sphere_surface_exchange_mean(tau: float, biot: float) -> float:
    """Crank eq. 6.41: M_t/M_∞ = 1 − Σ 6L² exp(−βₙ²τ) / (βₙ² (βₙ² + L(L−1)))."""
    beta = robin_roots(biot, _n_terms(tau))
    return float(1.0 - np.sum(6.0 * biot**2 * np.exp(-beta**2 * tau) / (beta**2 * (beta**2 + biot * (biot - 1.0)))))


def _layered_coefficients(a: float, c: float, n: np.ndarray) -> np.ndarray:
    """Sine-series coefficients Bₙ = 2∫₀¹ ξ φ₀ sin(nπξ) dξ of φ₀ = 1 on [0, a), c on [a, 1]."""
    k = n * np.pi
    core = (np.sin(k * a) - k * a * np.cos(k * a)) / k**2       # ∫₀ᵃ ξ sin(kξ) dξ
    whole = (np.sin(k) - k * np.cos(k)) / k**2
    return 2.0 * (core + c * (whole - core))


def sphere_with_layer(xi, tau, a: float, c: float = 1.0, terms: int = 4000) -> np.ndarray:
    """Fixed surface value, initial u = 0 in the core ξ < a and u = c in the shell a ≤ ξ ≤ 1 (a formation
    layer of thickness (1 − a) R). Separation of variables for w = ξ(1 − u) (Crank §6.3, eq. 6.15):
    1 − u = Σ Bₙ sin(nπξ)/ξ exp(−n²π²τ), Bₙ with φ₀ = 1 − u₀. a = 1 is eq. 6.18."""
    xi = np.asarray(xi, dtype=float)
    n = np.arange(1, terms + 1)
    b = _layered_coefficients(a, 1.0 - c, n) * np.exp(-(n**2) * np.pi**2 * tau)
    # sin(nπξ)/ξ = nπ sinc(nξ): regular at ξ = 0
    return 1.0 - (np.sinc(np.multiply.outer(xi, n)) * (n * np.pi)) @ b


def sphere_with_layer_mean(tau, a: float, c: float = 1.0, terms: int = 4000) -> np.ndarray:
    """Volume average of :func:`sphere_with_layer`: 1 − 3 Σ Bₙ (−1)ⁿ⁺¹/(nπ) exp(−n²π²τ)
    (3∫₀¹ ξ sin(nπξ) dξ = 3(−1)ⁿ⁺¹/(nπ)); at τ = 0 it is c (1 − a³)."""
    tau = np.atleast_1d(np.asarray(tau, dtype=float))
    n = np.arange(1, terms + 1)
    b = _layered_coefficients(a, 1.0 - c, n) * 3.0 * (-1.0) ** (n + 1) / (n * np.pi)
    return 1.0 - np.exp(-np.multiply.outer(np.maximum(tau, 0.0), n**2) * np.pi**2) @ b
