"""GITT scenario (Li 2019, Wang 2021): simulate the titration and extract D the way experimentalists do.

Protocol (Li 2019 Methods): charge at 20 mA/g for 30 min, relax 4 h, repeat to the voltage limit.
The specific current is turned into a C-rate through the capacity of the parameter set,
``Q = c_max (x_max − x_min) F / ρ`` (C/kg), so ``C-rate = i_sp · 3600 / Q``.

Weppner–Huggins (Li 2019 eq. 1–2; docs/physics.md M4), for τ ≪ L²/D:

    D = 4/(π τ) · (m V_M / (M S))² · (ΔE_s / ΔE_t)²  =  4 L² / (π τ) · (ΔE_s / ΔE_t)²,   L = V/S,

ΔE_s: change of the relaxed voltage over one titration step; ΔE_t: voltage change during the pulse
with the instantaneous (IR / kinetic) jump excluded. The experimentalist takes L = R/3 from the
particle radius, also for a particle with a hidden central void; the true V/S of a hollow sphere
whose void sees no electrolyte is (R³ − a³)/(3R²). Both are reported to separate the two biases.
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np

from sim.errors import InputError
from sim.lithium.transport import arrhenius
from sim.units import FARADAY


# --------------------------------------------------------------------------- protocol
def specific_capacity(transport, density: float) -> float:
    """Capacity of the window [x_min, x_max] per mass, C/kg (``density`` in kg/m³)."""
    return transport.c_max * (transport.x_max - transport.x_min) * FARADAY / density


def c_rate_from_specific_current(transport, specific_current: float, density: float) -> float:
    """C-rate (1/h) of a specific current (A/kg) for this parameter set's capacity window."""
    return specific_current * 3600.0 / specific_capacity(transport, density)


@dataclass(frozen=True)
class GittProtocol:
    """Pulses of ``c_rate`` (1/h, charge) lasting ``pulse`` s, each followed by ``rest`` s, until
    ``upper_voltage`` (V) or ``max_pulses``. ``initial_rest`` (s) records the OCV before the first pulse."""

    c_rate: float
    pulse: float
    rest: float
    upper_voltage: float
    max_pulses: int
    initial_rest: float = 60.0


# --------------------------------------------------------------------------- analysis
def weppner_huggins(tau, volume_to_surface, d_es, d_et):
    """D (m²/s) = 4 L² / (π τ) · (ΔE_s / ΔE_t)²; τ in s, L = V/S in m, voltages in V."""
    return 4.0 * np.asarray(volume_to_surface) ** 2 / (math.pi * np.asarray(tau)) * (
        np.asarray(d_es) / np.asarray(d_et)) ** 2


@dataclass(frozen=True)
class Pulse:
    """One titration step read off a voltage trace (times in s, voltages in V)."""

    index: int
    t_start: float
    tau: float
    x_mid: float      # mean Li fraction at the middle of the pulse
    e0: float         # relaxed voltage before the pulse
    e1: float         # first voltage after the current is switched on (after the IR/kinetic jump)
    e2: float         # voltage at the end of the pulse
    e3: float         # voltage at the end of the following rest (relaxed when rest_drift ≈ 0)
    complete: bool    # False when the trace ends before the rest does (cut-off reached in the pulse)
    rest_drift: float = math.nan   # V/s over the last tenth of the rest: ≈ 0 when E3 is relaxed (WH's ΔE_s)

    @property
    def d_es(self) -> float:
        return self.e3 - self.e0

    @property
    def d_et(self) -> float:
        return self.e2 - self.e1

    def diffusivity(self, volume_to_surface: float) -> float:
        return float(weppner_huggins(self.tau, volume_to_surface, self.d_es, self.d_et))


def find_pulses(t, potential, current, x_mean=None, rel_threshold: float = 1e-3) -> list[Pulse]:
    """Cut a GITT trace into pulses: maximal runs of samples with |I| above ``rel_threshold`` · max|I|.

    Each pulse needs one rest sample before it (its relaxed voltage E0); the sample closing the
    pulse gives E2 and the last sample before the next pulse (or the trace end) gives E3. The rest
    drift is the slope (E3 − E(t3 − w))/w over the last tenth w of the rest (E linear between samples):
    the check an experimentalist makes that E3 is relaxed, as ΔE_s in Weppner–Huggins assumes.
    """
    t, e, i = (np.asarray(a, dtype=float) for a in (t, potential, current))
    x = np.full_like(t, np.nan) if x_mean is None else np.asarray(x_mean, dtype=float)
    if not (len(t) == len(e) == len(i) == len(x)):
        raise ValueError("t, potential, current and x_mean must have the same length")
    on = np.abs(i) > rel_threshold * np.max(np.abs(i), initial=0.0)
    starts = np.flatnonzero(on[1:] & ~on[:-1]) + 1
    pulses = []
    for k, s in enumerate(starts):
        end = s
        while end + 1 < len(t) and on[end + 1]:
            end += 1
        nxt = starts[k + 1] if k + 1 < len(starts) else len(t)
        e3_index = nxt - 1
        complete = e3_index > end
        drift = math.nan
        if complete:
            window = 0.1 * (t[e3_index] - t[end])
            drift = (e[e3_index] - np.interp(t[e3_index] - window, t[end:e3_index + 1], e[end:e3_index + 1])) / window
        pulses.append(Pulse(index=k, t_start=t[s - 1], tau=t[end] - t[s - 1], x_mid=0.5 * (x[s - 1] + x[end]),
                            e0=e[s - 1], e1=e[s], e2=e[end], e3=e[e3_index], complete=complete, rest_drift=drift))
    return pulses


def sphere_surface_response(tau):
    """g(τ) = (D/(J R)) (c0 − c_s) of a sphere under a constant outward flux J from τ = D t/R² = 0 (Crank).

    g = e^τ erfc(−√τ) − 1 for τ < 0.05 (short-time inverse Laplace transform; error ~ e^(−1/τ) < 1e-10),
    else the eigen-series 3τ + 1/5 − 2 Σ exp(−λ_n² τ)/λ_n², tan λ_n = λ_n (docs/physics.md M2).
    """
    from scipy.special import erfc

    from sim.lithium.closed_form import tan_roots

    tau = np.atleast_1d(np.asarray(tau, dtype=float))
    short = tau < 0.05
    out = np.empty_like(tau)
    out[short] = np.exp(tau[short]) * erfc(-np.sqrt(tau[short])) - 1.0
    if np.any(~short):
        lam = tan_roots(60)
        out[~short] = 3 * tau[~short] + 0.2 - 2 * np.exp(-np.outer(tau[~short], lam ** 2)) @ (1 / lam ** 2)
    return out


def closed_form_wh_ratio(eps):
    """D_WH/D for one pulse on a solid sphere (L = R/3, full relaxation), ε = √(D τ)/R: 4 ε²/(π g(ε²)²).

    ΔE_s ∝ 3Jτ/R and ΔE_t ∝ (J R/D) g(ε²) for any linear OCV; → 1 − √π ε as ε → 0.
    """
    eps = np.asarray(eps, dtype=float)
    return 4 * eps ** 2 / (np.pi * sphere_surface_response(eps ** 2).reshape(eps.shape) ** 2)


def wh_on_fe_solver(steps_per_pulse, comm, *, eps: float = 0.01) -> tuple[float, list[float], list[Pulse]]:
    """Verification: GITT simulated by the Li solver on a solid sphere with constant D, one pulse at ε.

    Returns the closed-form D_WH/D, and per ``steps_per_pulse`` entry the simulated D_WH/D (L = R/3) and
    the pulse. With the solver's error-controlled BDF2 the time error of ΔE_t stays below ≈ 5e-4 of
    D_WH/D at any of these step counts (it was first order in dt with backward Euler).
    """
    from sim.mesh import radial_mesh
    from sim.params import load_params

    radius, d = 1e-6, 1e-16
    tau = eps ** 2 * radius ** 2 / d
    pset = load_params("li2019", {"transport.diffusivity": f"{d} m^2/s", "transport.x_initial": 0.93,
                                  "transport.activation_energy": "0 J/mol",
                                  "kinetics.exchange_current_density": "100 A/m^2"})
    # 1e-4 of the capacity window per pulse keeps the surface inside one linear OCV segment
    protocol = GittProtocol(c_rate=1e-4 * 3600 / (tau * 0.66), pulse=tau, rest=3 * radius ** 2 / d,
                            upper_voltage=4.6, max_pulses=1, initial_rest=10.0)
    pmesh = radial_mesh(radius, 0.0, size=1e-9, grading=10.0, comm=comm)
    pulses = []
    for n in steps_per_pulse:
        data = run_gitt(pset, pmesh, protocol, steps_per_pulse=n).arrays()
        (pulse,) = find_pulses(data["t_s"], data["potential_V"], data["current_A"])
        pulses.append(pulse)
    return float(closed_form_wh_ratio(eps)), [p.diffusivity(radius / 3) / d for p in pulses], pulses


def hollow_volume_to_surface(radius: float, void_radius: float = 0.0) -> float:
    """True V/S (m) of a sphere with a closed central void: (R³ − a³)/(3R²) (only the outer surface is active)."""
    return (radius ** 3 - void_radius ** 3) / (3.0 * radius ** 2)


# --------------------------------------------------------------------------- simulation
def run_gitt(params, pmesh, protocol: GittProtocol, *, steps_per_pulse: int = 50, scales=None,
             sample_times=None, rtol: float | None = None):
    """Simulate the GITT protocol on ``pmesh`` (no mechanics); return the :class:`~sim.scenarios.trace.Trace`.

    Time steps start at 1e-6 of the pulse (so the first sample after switching on is the post-jump
    voltage E1 to within √1e-6 of ΔE_t) and are capped at pulse/``steps_per_pulse`` during pulses,
    so the time error in ΔE_t cannot bias D; rests are uncapped.
    Stops after the pulse in which ``upper_voltage`` is reached (that pulse gets no rest, as in the
    experiment) or after ``max_pulses`` titration steps. ``scales``: spatial multipliers of
    :class:`~sim.lithium.problem.LithiumProblem` (``diffusivity_scale``, ``capacity_scale``,
    ``exchange_current_scale``: a degraded particle).
    ``sample_times`` (s): times the solver lands a step on, so the trace holds the potential there exactly;
    between accepted steps a trace is only linear, which misses the kinks of V(t) where the surface Li
    fraction crosses a node of the piecewise-linear OCV table (0.64 mV at pulse/10 steps on the 1 µm particle of
    tests/test_li_fit.py).
    ``rtol``: the solver's local time-error tolerance (``LithiumProblem(rtol=, atol=rtol/10)``; None: its default).
    """
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Rest
    from sim.scenarios.trace import Trace

    tolerances = {} if rtol is None else {"rtol": rtol, "atol": rtol / 10}
    problem = LithiumProblem(params, pmesh, mechanics=False, dt_initial=protocol.pulse * 1e-6, **tolerances,
                             **(scales or {}))
    problem.initialise()
    samples = np.sort(np.asarray([] if sample_times is None else sample_times, dtype=float))
    trace = Trace()
    trace.begin(0)
    _run_landing(problem, lambda stop: Rest(stop), protocol.initial_rest, samples, trace)
    for k in range(protocol.max_pulses):
        trace.begin(2 * k + 1)
        problem.dt_max = protocol.pulse / steps_per_pulse
        reason = _run_landing(problem, lambda stop: Galvanostatic(protocol.c_rate, "charge", stop), protocol.pulse,
                              samples, trace, voltage=protocol.upper_voltage)
        if reason == "voltage":
            break
        trace.begin(2 * k + 2)
        problem.dt_max = np.inf
        _run_landing(problem, lambda stop: Rest(stop), protocol.rest, samples, trace)
    return trace


def _run_landing(problem, make_step, duration, samples, trace, voltage=None) -> str:
    """Run ``make_step(Stop)`` for ``duration`` s, split at the sample times inside it (the parts share one
    drive, so the BDF history and step size carry over); returns the stop reason of the last part."""
    from sim.lithium.protocol import Stop

    start, end = problem.t, problem.t + duration
    margin = 1e-9 * duration              # a sample on a segment end is the end itself
    inner = samples[(samples > start + margin) & (samples < end - margin)]
    reason = "time"
    for t_stop in [*inner, end]:
        reason = problem.run_step(make_step(Stop(time=t_stop - problem.t, voltage=voltage)), on_step=trace)
        if reason != "time":
            break
    return reason


# --------------------------------------------------------------------------- scenario entry point
def run(case, out, comm) -> dict:
    """``sim scenario`` for kind = "gitt": solid and hollow radial particles, WH extraction, plots."""
    from sim.mesh import radial_mesh
    from sim.scenarios.case import write_csv
    from sim.units import to_si

    params = case.load_params()
    params.require("transport", "kinetics")
    tr = params.transport
    density = case.quantity("density", "kg/m^3")
    c_rate = c_rate_from_specific_current(tr, case.quantity("specific_current", "A/kg"), density)
    protocol = GittProtocol(c_rate=c_rate, pulse=case.quantity("pulse", "s"), rest=case.quantity("rest", "s"),
                            upper_voltage=case.quantity("upper_voltage", "V"),
                            max_pulses=case.integer("max_pulses", 100))
    li_per_formula = case.quantity("li_per_formula", "", 1.2)
    n_cells = case.integer("n_cells", 200)
    grading = case.quantity("grading", "", 1.0)
    steps_per_pulse = case.integer("steps_per_pulse", 50)
    particles = case.settings.get("particles")
    if not isinstance(particles, list) or not particles:
        raise InputError('particles must be a list of { name = "solid", radius = "20 nm", void_radius = "0 nm" }',
                         file=case.file, key="gitt.particles")
    temperature = params.conditions.temperature
    d_factor = arrhenius(tr, temperature)

    results = {"c_rate_per_h": c_rate, "specific_capacity_mAh_g": specific_capacity(tr, density) / 3600.0,
               "pulse_s": protocol.pulse, "rest_s": protocol.rest, "particles": {}}
    curves = {}
    for i, p in enumerate(particles):
        key = f"gitt.particles[{i}]"
        if not isinstance(p, dict) or not {"name", "radius"} <= set(p):
            raise InputError('each particle needs name and radius (and optional void_radius)', file=case.file, key=key)
        radius = to_si(p["radius"], "m", file=case.file, key=f"{key}.radius")
        void = to_si(p.get("void_radius", "0 m"), "m", file=case.file, key=f"{key}.void_radius")
        if not 0 <= void < radius:
            raise InputError(f"void_radius {void:g} m must be in [0, radius = {radius:g} m)", file=case.file,
                             key=f"{key}.void_radius")
        pset = params.override({"geometry.particle_radius": f"{radius} m", "geometry.void_radius": f"{void} m",
                                "geometry.pores": {"value": []}})
        pmesh = radial_mesh(radius, void, n_cells=n_cells, grading=grading, comm=comm)
        trace = run_gitt(pset, pmesh, protocol, steps_per_pulse=steps_per_pulse)
        data = trace.arrays()
        pulses = [q for q in find_pulses(data["t_s"], data["potential_V"], data["current_A"], data["x_mean"])
                  if q.complete]
        l_exp, l_true = radius / 3.0, hollow_volume_to_surface(radius, void)
        x = np.array([q.x_mid for q in pulses])
        d_in = tr.diffusivity(x) * d_factor
        d_exp = np.array([q.diffusivity(l_exp) for q in pulses])
        d_true = np.array([q.diffusivity(l_true) for q in pulses])
        name = str(p["name"])
        curves[name] = dict(x=x, d_in=d_in, d_exp=d_exp, d_true=d_true, void=void, radius=radius)
        if comm.rank == 0:
            write_csv(out / f"trace_{name}.csv", data)
            write_csv(out / f"pulses_{name}.csv", {
                "pulse": [q.index for q in pulses], "x_mid": x, "li_extracted": li_per_formula * (1 - x),
                "tau_s": [q.tau for q in pulses], "dEs_V": [q.d_es for q in pulses], "dEt_V": [q.d_et for q in pulses],
                "D_input_cm2_s": d_in * 1e4, "D_WH_R3_cm2_s": d_exp * 1e4, "D_WH_trueL_cm2_s": d_true * 1e4,
                "rest_drift_mV_h": [q.rest_drift * 3.6e6 for q in pulses]})
        ratio = d_exp / d_in
        results["particles"][name] = {
            "radius_m": radius, "void_radius_m": void, "pulses": len(pulses),
            "median_ratio_WH_R3_to_input": float(np.median(ratio)) if len(ratio) else None,
            "median_ratio_WH_trueL_to_input": float(np.median(d_true / d_in)) if len(ratio) else None,
            "max_abs_log10_ratio": float(np.max(np.abs(np.log10(ratio)))) if len(ratio) else None,
            "final_x_mean": float(data["x_mean"][-1]), "final_potential_V": float(data["potential_V"][-1])}
    if comm.rank == 0:
        _plot(curves, tr, d_factor, li_per_formula, out / "gitt_D.png", case.title)
    return results


def _plot(curves, transport, d_factor, li_per_formula, path, title) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    xs = np.linspace(transport.x_min, transport.x_max, 300)
    ax.semilogy(li_per_formula * (1 - xs), transport.diffusivity(xs) * d_factor * 1e4, "k-", lw=1.5,
                label="input D(x)")
    # a marker shape per particle, drawn translucent, so one particle's points never hide another's
    for (name, c), colour, marker in zip(curves.items(), ("C0", "C3", "C2", "C1"), ("o", "^", "D", "v")):
        ax.semilogy(li_per_formula * (1 - c["x"]), c["d_exp"] * 1e4, marker, color=colour, ms=5, alpha=0.75,
                    label=f"WH, {name} (L = R/3)")
        if c["void"] > 0:
            ax.semilogy(li_per_formula * (1 - c["x"]), c["d_true"] * 1e4, "s", mfc="none", color=colour,
                        label=f"WH, {name} (true V/S)")
    ax.set_xlabel("Li extracted per formula unit")
    ax.set_ylabel("D_Li (cm²/s)")
    ax.set_title(textwrap.fill(title, 80), fontsize=9)     # wrapped: a long scenario title is never cut off
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
