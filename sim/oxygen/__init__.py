"""Oxygen-vacancy diffusion in primary particles (M1), the lamella measurement model, and D_O fitting.

Modules: :mod:`.diffusion` (FEM solver), :mod:`.closed_form` (Crank series), :mod:`.projection`
(lamella measurement model), :mod:`.table` (dimensionless solution for fast fits), :mod:`.fit`
(diffusion vs core–shell), :mod:`.profiles` (CSV and map I/O), :mod:`.run` (forward cases).
None of them imports DOLFINx at module level.
"""
from sim.oxygen.fit_cli import fit_profiles
from sim.oxygen.run import run_oxygen_case

__all__ = ["fit_profiles", "run_oxygen_case"]
