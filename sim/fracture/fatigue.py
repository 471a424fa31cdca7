"""Paris-law fatigue growth of a small flaw under a periodic stress cycle (docs/physics.md M5).

    da/dN = C (ΔK)^m,   ΔK = Y Δσ √(π a)

with ``C`` in m/cycle per (Pa m^½)^m, ``m`` the Paris exponent, ``Y`` a constant geometry factor (1.12 for
a surface flaw) and Δσ the stress range of one cycle at the flaw. Only the tensile part of the cycle opens
the flaw: Δσ = σ_max − max(σ_min, 0) (:func:`stress_range`). The flaw fails when K_max = Y σ_max √(π a)
reaches K_Ic, i.e. at a_c = (K_Ic/(Y σ_max))²/π (:func:`critical_size`).

Closed form for constant Y (:func:`cycles_to_failure`), with B = C (Y Δσ √π)^m:
m ≠ 2: N_f = (a_c^(1−m/2) − a₀^(1−m/2)) / ((1 − m/2) B);  m = 2: N_f = ln(a_c/a₀) / B.
:func:`crack_growth` integrates a(N) numerically (for histories and as a check of the closed form).
"""
from __future__ import annotations

import math

import numpy as np


def stress_range(history) -> tuple[float, float]:
    """(Δσ, σ_max) in Pa of one cycle's stress history (Pa) at a flaw; compression closes it: Δσ = σ_max −
    max(σ_min, 0), and (0, σ_max) if the cycle never pulls (σ_max <= 0)."""
    s = np.asarray(history, dtype=float)
    s = s[np.isfinite(s)]
    if not s.size:
        return 0.0, 0.0
    hi, lo = float(s.max()), float(s.min())
    return (max(hi - max(lo, 0.0), 0.0) if hi > 0 else 0.0), hi


def critical_size(toughness: float, sigma_max: float, geometry_factor: float = 1.12) -> float:
    """a_c = (K_Ic/(Y σ_max))²/π (m), ``inf`` if σ_max <= 0."""
    if sigma_max <= 0:
        return math.inf
    return (toughness / (geometry_factor * sigma_max)) ** 2 / math.pi


def _rate_constant(delta_sigma: float, coefficient: float, exponent: float, geometry_factor: float) -> float:
    """B in da/dN = B a^(m/2)."""
    return coefficient * (geometry_factor * delta_sigma * math.sqrt(math.pi)) ** exponent


def cycles_to_failure(a0: float, a_c: float, delta_sigma: float, *, coefficient: float, exponent: float,
                      geometry_factor: float = 1.12) -> float:
    """Cycles for a flaw to grow from ``a0`` to ``a_c`` (m) under ``delta_sigma`` (Pa), closed form for constant Y.

    0 if a0 >= a_c (fails on the first cycle), ``inf`` if Δσ = 0 or a_c = inf."""
    if a0 >= a_c:
        return 0.0
    if delta_sigma <= 0 or not math.isfinite(a_c):
        return math.inf
    b = _rate_constant(delta_sigma, coefficient, exponent, geometry_factor)
    if abs(exponent - 2.0) < 1e-12:
        return math.log(a_c / a0) / b
    p = 1.0 - exponent / 2.0
    return (a_c**p - a0**p) / (p * b)


def crack_growth(a0: float, delta_sigma: float, cycles, *, coefficient: float, exponent: float,
                 geometry_factor: float = 1.12, a_c: float = math.inf, rtol: float = 1e-10) -> tuple[np.ndarray, float]:
    """Integrate da/dN = C (Y Δσ √(π a))^m from a(0) = ``a0`` (m) numerically (adaptive Runge–Kutta in
    s = ln a, where the growth is smooth for any m).

    Returns (a at the increasing cycle numbers ``cycles`` (m; ``nan`` after failure), N_f (cycles at which a
    reaches ``a_c``; ``inf`` if not within the last of ``cycles``)). Failure is located by an event."""
    from scipy.integrate import solve_ivp

    cycles = np.asarray(cycles, dtype=float)
    a = np.full(cycles.shape, np.nan)
    if a0 >= a_c:
        return a, 0.0
    b = _rate_constant(delta_sigma, coefficient, exponent, geometry_factor)
    if b == 0 or not cycles.size:
        return np.full(cycles.shape, a0), math.inf

    def rhs(_n, s):              # ds/dN = (da/dN)/a = B a^(m/2 − 1); m > 2 blows up in finite N: cap trial steps
        return [b * math.exp(min((exponent / 2.0 - 1.0) * s[0], 200.0))]

    def failed(_n, s):
        return s[0] - math.log(a_c)

    failed.terminal, failed.direction = True, 1
    events = [failed] if math.isfinite(a_c) else None
    sol = solve_ivp(rhs, (0.0, float(cycles[-1])), [math.log(a0)], method="DOP853", t_eval=cycles, events=events,
                    rtol=rtol, atol=1e-14)
    a[: len(sol.t)] = np.exp(sol.y[0])
    n_f = float(sol.t_events[0][0]) if events and len(sol.t_events[0]) else math.inf
    return a, n_f


def report_cycles(n_max: int, points: int = 200) -> np.ndarray:
    """Cycle numbers at which fatigue.csv reports the crack length: 0, 1 and log-spaced up to ``n_max``."""
    if n_max < 1:
        return np.array([0.0])
    return np.unique(np.concatenate([[0.0], np.round(np.geomspace(1.0, n_max, points))]))
