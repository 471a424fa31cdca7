"""Li inverse problems: D(x) (a few log-D knots) and i0 from a GITT voltage curve or a relaxation curve.

The Li model's counterpart of ``sim fit`` for D_O. The forward model is the FEM Li solver
(:func:`sim.scenarios.gitt.run_gitt`: Li diffusion + Butler–Volmer, docs/physics.md M2) on a coarse 1D
sphere; the unknowns are p = (log10 D(x_1), …, log10 D(x_k), [log10 i0]) with D(x) log-interpolated
between the knots x_j (Li fraction). Weighted least squares (``scipy.optimize.least_squares``, trust
region, Jacobian by forward finite differences in p) on

    r_i(p) = (V_model(t_i; p) − V_i) / σ,

where V_model is the simulated particle potential at the measurement times (the solver lands a time step
on each: a linear interpolation between steps misses the kinks of V(t) where the surface Li fraction crosses
a node of the OCV table, ‖δ‖ ≈ 2 below for the 1 µm test particle at 0.5 mV noise, four pulses and
pulse/10 steps, against 0.11 when landing; tests/test_li_fit.py). The 95 %
intervals come from the Gauss–Newton covariance C = s² (JᵀJ)⁻¹ with s² = Σ r²/(n − k) (the reduced χ²,
so a σ that is too small does not narrow them; never below what σ gives): p_j ± (1.96 √C_jj + |Δp_j|), mapped
back to D and i0 (asymmetric in D).

Δp estimates the discretisation bias of the forward model, once at the optimum: the same curve on a
refined model (twice the cells and steps per pulse, a tenth of the time tolerance) differs by δ_i (in
units of σ), which moves the least-squares minimum by Δp = −(JᵀJ)⁻¹Jᵀδ (``refinement_shift_log10``;
it predicts the shift of a refit on the refined model to a few %, tests/test_li_fit.py). By Cauchy–Schwarz
|Δp_j| ≤ ‖δ‖ √C_jj (C at χ² = 1), so the model is fit for the noise when ‖δ‖ ≪ 1 (reported as
``model_error_sigma``); a larger ‖δ‖ widens the interval by the bias instead of hiding it.

``window = "relaxation"`` uses only the samples in the rests (the relaxation curve after each pulse);
then i0 is not identifiable (no current flows) and stays at the parameter set's value.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.errors import InputError


@dataclass(frozen=True)
class LiFitResult:
    """Fitted D at the knots (m²/s) with 95 % intervals, i0 (A/m²) with its interval (None when fixed)."""

    knots: tuple
    diffusivity: tuple
    diffusivity_ci95: tuple
    exchange_current_density: float
    exchange_current_ci95: tuple | None
    reduced_chi2: float
    rms_residual_V: float
    evaluations: int
    window: str
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"knots_x": list(self.knots), "D_m2_s": list(self.diffusivity),
                "D_ci95_m2_s": [list(c) for c in self.diffusivity_ci95],
                "i0_A_m2": self.exchange_current_density,
                "i0_ci95_A_m2": None if self.exchange_current_ci95 is None else list(self.exchange_current_ci95),
                "reduced_chi2": self.reduced_chi2, "rms_residual_V": self.rms_residual_V,
                "evaluations": self.evaluations, "window": self.window, **self.extra}


def with_diffusivity(params, knots, diffusivity, exchange_current_density=None):
    """``params`` with D(x) the log-interpolated table through (knots, diffusivity) and, if given, i0."""
    over = {"transport.diffusivity": {"x": [float(k) for k in knots], "y": [float(d) for d in diffusivity],
                                      "x_unit": "", "y_unit": "m^2/s", "interpolation": "log",
                                      "source": "gitt_fit: trial value"}}
    if exchange_current_density is not None:
        over["kinetics.exchange_current_density"] = f"{float(exchange_current_density)} A/m^2"
    return params.override(over)


def simulate(params, protocol, times, pmesh, *, steps_per_pulse: int = 20, rtol: float | None = None) -> np.ndarray:
    """Particle potential (V) at ``times`` (s) of the GITT ``protocol`` on ``pmesh``; the solver lands a step
    on every time, so no interpolation error is added to its own (``rtol``: :func:`~sim.scenarios.gitt.run_gitt`)."""
    from sim.scenarios.gitt import run_gitt

    trace = run_gitt(params, pmesh, protocol, steps_per_pulse=steps_per_pulse, sample_times=times,
                     rtol=rtol).arrays()
    if times[-1] > trace["t_s"][-1] + 1e-9:
        raise InputError(f"the simulated titration ended at {trace['t_s'][-1]:.6g} s (cut-off), before the last "
                         f"measurement at {times[-1]:.6g} s", key="times")
    return np.interp(times, trace["t_s"], trace["potential_V"])


def rest_mask(times, protocol) -> np.ndarray:
    """True for the times that fall in a rest after a pulse (the relaxation curve)."""
    t = np.asarray(times, dtype=float) - protocol.initial_rest
    period = protocol.pulse + protocol.rest
    phase = np.mod(t, period)
    return (t > 0) & (phase > protocol.pulse) & (t < protocol.max_pulses * period)


def fit_gitt(times, voltage, params, protocol, knots, *, sigma: float = 1e-3, fit_i0: bool = True,
             window: str = "all", initial=None, mesh_cells: int = 16, steps_per_pulse: int = 20,
             rtol: float = 1e-5, comm=None) -> LiFitResult:
    """Fit log-D knots (and i0) of ``params`` to a measured GITT curve (``times`` s, ``voltage`` V).

    ``protocol``: the :class:`~sim.scenarios.gitt.GittProtocol` of the measurement; the particle is the
    parameter set's solid sphere (``geometry.particle_radius``), discretised with ``mesh_cells`` P1 cells,
    time steps at most pulse/``steps_per_pulse`` and local time-error tolerance ``rtol`` (of the Li
    fraction). ``sigma``: voltage noise (V, sets the weights; the intervals use the reduced χ² anyway).
    ``initial``: starting D at the knots (m²/s, default the parameter set's D there) and i0. The intervals
    include the forward model's discretisation bias (module docstring).
    """
    import dolfinx_solver  # noqa: F401
    from mpi4py import MPI
    from scipy.optimize import least_squares

    from sim.mesh import radial_mesh

    comm = MPI.COMM_SELF if comm is None else comm
    if window not in ("all", "relaxation"):
        raise InputError(f"window {window!r} not allowed; choose all or relaxation", key="window")
    knots = np.asarray(knots, dtype=float)
    if knots.size < 1 or np.any(np.diff(knots) <= 0) or knots[0] < 0 or knots[-1] > 1:
        raise InputError(f"knots must be increasing Li fractions in [0, 1], got {knots.tolist()}", key="knots")
    times, voltage = np.asarray(times, dtype=float), np.asarray(voltage, dtype=float)
    if times.shape != voltage.shape or times.size < 3 or np.any(np.diff(times) <= 0):
        raise InputError("times and voltage must be equal-length arrays with increasing times", key="times")
    if window == "relaxation":
        fit_i0 = False
        keep = rest_mask(times, protocol)
    else:
        keep = np.ones(times.size, dtype=bool)
    pmesh = radial_mesh(params.geometry.particle_radius, n_cells=mesh_cells, comm=comm)
    d0 = np.asarray(initial[0] if initial else params.transport.diffusivity(knots), dtype=float)
    i00 = float(initial[1] if initial and len(initial) > 1 else params.kinetics.exchange_current_density)
    p0 = np.log10(np.concatenate([d0, [i00] if fit_i0 else []]))
    counter = {"n": 0}

    def unpack(p):
        return 10 ** p[:knots.size], (10 ** p[knots.size] if fit_i0 else i00)

    def model(p, mesh, steps, tol):
        d, i0 = unpack(p)
        return simulate(with_diffusivity(params, knots, d, i0), protocol, times[keep], mesh, steps_per_pulse=steps,
                        rtol=tol)

    def residual(p):
        counter["n"] += 1
        return (model(p, pmesh, steps_per_pulse, rtol) - voltage[keep]) / sigma

    sol = least_squares(residual, p0, method="trf", diff_step=1e-3, x_scale=1.0, xtol=1e-6, ftol=1e-8,
                        bounds=(p0 - 3, p0 + 3))
    dof = max(1, sol.fun.size - p0.size)
    chi2 = float(sol.fun @ sol.fun / dof)
    normal = np.linalg.pinv(sol.jac.T @ sol.jac)
    refined = {"mesh_cells": 2 * mesh_cells, "steps_per_pulse": 2 * steps_per_pulse, "rtol": rtol / 10}
    fine = model(sol.x, radial_mesh(params.geometry.particle_radius, n_cells=refined["mesh_cells"], comm=comm),
                 refined["steps_per_pulse"], refined["rtol"])
    delta = (fine - voltage[keep]) / sigma - sol.fun          # refined − fitted model, in units of σ
    shift = -normal @ (sol.jac.T @ delta)                     # optimum on the refined model − this one
    cov = max(chi2, 1.0) * normal                             # never narrower than the stated σ gives
    half = 1.96 * np.sqrt(np.diag(cov)) + np.abs(shift)
    d, i0 = unpack(sol.x)
    d_ci = tuple((float(10 ** (sol.x[j] - half[j])), float(10 ** (sol.x[j] + half[j]))) for j in range(knots.size))
    i0_ci = (float(10 ** (sol.x[-1] - half[-1])), float(10 ** (sol.x[-1] + half[-1]))) if fit_i0 else None
    return LiFitResult(tuple(knots.tolist()), tuple(float(v) for v in d), d_ci, float(i0), i0_ci, chi2,
                       float(np.sqrt(np.mean((sol.fun * sigma) ** 2))), counter["n"], window,
                       {"samples": int(keep.sum()), "status": int(sol.status),
                        "model_error_sigma": float(np.linalg.norm(delta)),
                        "refinement_shift_log10": [float(b) for b in shift], "refined_model": refined})
