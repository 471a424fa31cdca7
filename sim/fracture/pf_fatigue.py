"""Phase-field fatigue over many cycles with cycle jumping (docs/physics.md M5; Carrara et al., CMAME 2020).

The fatigue variable ᾱ (J/m³, at quadrature points) accumulates the tensile energy increments
ᾱ ← ᾱ + ⟨Δα⟩₊, α = g(d) ψ⁺, in :meth:`~sim.fracture.phase_field.PhaseField.commit`, and degrades the
toughness G_c → f(ᾱ) G_c with f = (2 α_T / (ᾱ + α_T))² above the threshold α_T.

Cycle jumping: after two computed cycles the per-cycle increment r = ᾱ_k − ᾱ_(k−1) is extrapolated over
ΔN − 1 skipped cycles, ᾱ ← ᾱ + (ΔN − 1) r, with ΔN the largest count that keeps the relative change of
the fatigue factor f below ``max_change`` everywhere (|Δf|/f ≈ 2 ΔN r / (ᾱ + α_T); below α_T, f = 1 and
the jump may reach the threshold first); no jump while d_max
still moves by more than ``max_damage_change`` per cycle (the response is then not periodic).
"""
from __future__ import annotations

from typing import Callable

import numpy as np


class CycleJumper:
    """Drive ``cycle()`` (one load cycle, committing every accepted step) up to ``n_cycles`` or failure.

    ``pf``: the :class:`~sim.fracture.phase_field.PhaseField` (with ``fatigue=True``);
    ``failed()``: the failure test (e.g. d_max >= 0.9); ``jump``: False computes every cycle.
    :meth:`run` returns the table [(cycle number N, d_max after it)] and sets :attr:`cycles_to_failure`
    (None when the particle survives) and :attr:`computed_cycles`. While ``cycle()`` runs,
    :attr:`cycle_number` is the number N of the cycle being computed (so that it can label its output).
    """

    def __init__(self, pf, cycle: Callable[[], None], *, failed: Callable[[], bool], jump: bool = True,
                 max_change: float = 0.1, max_damage_change: float = 0.01):
        if pf.alpha_t is None:
            raise ValueError("cycle jumping needs a PhaseField with fatigue=True")
        if not (0 < max_change < 1 and max_damage_change > 0):
            raise ValueError("need 0 < max_change < 1 and max_damage_change > 0")
        self.pf, self.cycle, self.failed, self.jump = pf, cycle, failed, jump
        self.max_change, self.max_damage_change = max_change, max_damage_change
        self.cycles_to_failure: int | None = None
        self.computed_cycles = 0
        self.cycle_number = 0

    def _jump_size(self, rate: np.ndarray, damage_change: float, remaining: int) -> int:
        """ΔN >= 1 cycles to advance (ΔN − 1 of them extrapolated)."""
        from mpi4py import MPI

        if not self.jump or damage_change > self.max_damage_change:
            return 1
        n = self.pf.H.function_space.dofmap.index_map.size_local
        alpha = self.pf.alpha_bar.x.array[:n]
        r = rate[:n]
        at = self.pf.alpha_t
        grow = r > 0
        # below α_T, f = 1 until the threshold; above it |Δf|/f ≈ 2 Δᾱ/(ᾱ + α_T) <= max_change
        room = np.maximum(at - alpha, 0) + self.max_change * (np.maximum(alpha, at) + at) / 2
        local = float(np.min(room[grow] / r[grow])) if np.any(grow) else np.inf
        allowed = self.pf.comm.allreduce(local if np.isfinite(local) else 1e300, op=MPI.MIN)
        return int(max(1, min(remaining, np.floor(allowed))))

    def run(self, n_cycles: int) -> list[tuple[int, float]]:
        table: list[tuple[int, float]] = []
        previous, d_prev = None, None
        N = 0
        while N < n_cycles:
            N += 1
            self.cycle_number = N
            self.cycle()
            self.computed_cycles += 1
            d = self.pf.damage_max()
            table.append((N, d))
            if self.failed():
                self.cycles_to_failure = N
                break
            now = self.pf.alpha_bar.x.array.copy()
            if previous is not None:
                step = self._jump_size(now - previous, abs(d - d_prev), n_cycles - N)
                if step > 1:     # ghosts included: every rank extrapolates its copies alike
                    self.pf.alpha_bar.x.array[:] += (step - 1) * (now - previous)
                    N += step - 1
                    now = self.pf.alpha_bar.x.array.copy()
            previous, d_prev = now, d
        return table
