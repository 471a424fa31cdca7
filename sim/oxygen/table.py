"""The dimensionless sphere solution u(ξ, τ), solved once by FEM and reused by every fit.

For constant D and a fixed surface value the vacancy fraction is y = y_b + (y_s − y_b)·u(r/R, τ)
with τ = D t / R², whatever R, D and t are. :func:`radial_table` solves that problem on a
surface-refined P2 radial mesh of the unit sphere for τ on a log grid, keeps the nodal values
and caches them on disk (``$SIM_CACHE_DIR`` or ``~/.cache/sim``) and in memory; :class:`RadialTable`
interpolates linearly in log τ. No mesh or JIT is needed after the first call.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.io import save_npz_atomic

TAU_MIN, TAU_MAX, PER_DECADE = 1e-7, 3.0, 40
MESH = {"size": 1e-4, "grading": 100.0, "degree": 2}
VERSION = 1


@dataclass(frozen=True)
class RadialTable:
    """u on nodes ``xi`` (sorted, [0, 1]) at times ``tau`` (log grid): ``u[i_tau, i_xi]``."""

    xi: np.ndarray
    tau: np.ndarray
    u: np.ndarray

    def __call__(self, tau: float) -> np.ndarray:
        """Nodal u at ``tau`` (linear in log τ); u → 1 beyond the table (error < e^(−π² τ_max))."""
        if tau >= self.tau[-1]:
            return np.ones_like(self.xi)
        if tau < self.tau[0]:
            raise ValueError(f"tau = {tau:g} is below the table (tau_min = {self.tau[0]:g})")
        s = np.log(tau)
        lt = np.log(self.tau)
        j = min(int(np.searchsorted(lt, s, side="right")) - 1, len(lt) - 2)
        t = (s - lt[j]) / (lt[j + 1] - lt[j])
        return (1.0 - t) * self.u[j] + t * self.u[j + 1]


def _cache_path() -> Path:
    key = hashlib.sha256(json.dumps([VERSION, TAU_MIN, TAU_MAX, PER_DECADE, MESH]).encode()).hexdigest()[:12]
    root = Path(os.environ.get("SIM_CACHE_DIR", Path.home() / ".cache" / "sim"))
    return root / f"oxygen_radial_table_{key}.npz"


def compute_table() -> RadialTable:
    """Solve the unit-sphere problem (D = 1, R = 1, u = 1 on the surface) on this process."""
    import dolfinx_solver  # noqa: F401
    from mpi4py import MPI

    from sim.mesh import radial_mesh
    from sim.oxygen.diffusion import VacancyDiffusion

    pm = radial_mesh(1.0, size=MESH["size"], grading=MESH["grading"], comm=MPI.COMM_SELF)
    solver = VacancyDiffusion(pm, 1.0, surface_value=1.0, bulk_value=0.0, degree=MESH["degree"], cache_size=4)
    n = int(round(np.log10(TAU_MAX / TAU_MIN) * PER_DECADE)) + 1
    taus = np.geomspace(TAU_MIN, TAU_MAX, n)
    rows: list[np.ndarray] = []
    xi = None

    def keep(i, s):
        nonlocal xi
        xi, u = s.radial_samples()
        rows.append(u)

    solver.run(taus, keep, steps_per_level=8, levels=14)
    return RadialTable(xi, taus, np.array(rows))


@functools.lru_cache(maxsize=1)
def radial_table() -> RadialTable:
    """The cached table (computed and written on first use, ~2 s)."""
    path = _cache_path()
    if path.exists():
        try:
            with np.load(path) as f:
                return RadialTable(f["xi"], f["tau"], f["u"])
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache: recompute and overwrite
    table = compute_table()
    save_npz_atomic(path, xi=table.xi, tau=table.tau, u=table.u)
    return table
