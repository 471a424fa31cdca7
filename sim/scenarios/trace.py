"""Time series of a Li problem, recorded after each accepted step (``on_step`` callback of ``run_step``)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


class Trace:
    """Rows of (t_s, x_mean, potential_V, current_A, step) plus named probes ``name -> f(problem) -> float``.

    ``step`` is the index of the protocol step a row belongs to (set by :meth:`begin`), so pulse and
    rest segments can be told apart without relying on the sign of a tiny current.
    Probes must be collective-safe: they are called on every rank.
    """

    base = ("t_s", "x_mean", "potential_V", "current_A", "step")

    def __init__(self, probes: dict[str, Callable] | None = None):
        self.probes = dict(probes or {})
        self.rows: list[tuple] = []
        self.step = -1

    def begin(self, step_index: int) -> None:
        self.step = step_index

    def __call__(self, problem) -> None:
        self.record(problem)

    def record(self, problem) -> None:
        extra = tuple(float(f(problem)) for f in self.probes.values())
        self.rows.append((problem.t, problem.x_mean, problem.potential, problem.current, self.step) + extra)

    def arrays(self) -> dict[str, np.ndarray]:
        names = self.base + tuple(self.probes)
        data = np.array(self.rows, dtype=float).reshape(-1, len(names))
        return {n: data[:, i] for i, n in enumerate(names)}
