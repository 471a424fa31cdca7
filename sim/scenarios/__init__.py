"""Scenarios from the source papers (physics.md M4), each a case file in ``validation/scenarios/``.

- ``gitt``: GITT titration and Weppner–Huggins extraction on solid and hollow particles (Li 2019, Wang 2021).
- ``thermal``: charge at 25 °C, rest hot; Li redistribution between bulk and surface (Li 2019).
- ``aging``: the degradation loop (O vacancies of M1 set D, i0 and ΔV/V0 cycle by cycle, cycle jumping),
  or fresh vs aged parameter sets with a hand-set shell; stresses, overpotential, GITT D (Wang 2021).
- ``coupling``: secondary-particle state sets primary-particle O loss at each depth (Csernica 2021).
- ``cracking``: where and when the Liu 2024 particle cracks at 10C vs 0.1C (strength onset, phase field).
- ``fatigue``: fresh vs aged particle under 1C cycles, cycles to crack onset (Paris law, phase-field fatigue).

:func:`run_scenario` reads a case, runs it into a fresh results folder and returns the summary.
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path

from sim import resources

MODULES = {"gitt": "sim.scenarios.gitt", "thermal": "sim.scenarios.thermal", "aging": "sim.scenarios.aging",
           "coupling": "sim.scenarios.coupling", "cracking": "sim.scenarios.cracking",
           "fatigue": "sim.scenarios.fatigue"}
CASES_DIR = resources.data_dir("scenarios")


def run_scenario(case_path, out_dir, *, quick: bool = False, comm=None, settings: dict | None = None) -> dict:
    """Run the scenario case ``case_path`` into ``out_dir`` (written atomically); return its summary.

    ``quick`` uses the case's ``[quick]`` settings (a shortened protocol on a coarse mesh). ``settings``
    replaces entries of the kind's table after that (checked like the file's), e.g. ``{"geometry": "3d"}``
    for ``sim scenario cracking_liu2024 --3d``.
    The folder holds ``summary.json``, CSV time series/profiles with units in the headers and PNG plots.
    """
    import dolfinx_solver  # noqa: F401  (loads MPI before mpi4py)
    from mpi4py import MPI

    import sim
    from sim.io import StagedDir, write_json
    from sim.scenarios.case import _check_settings, load_case

    comm = MPI.COMM_WORLD if comm is None else comm
    case = load_case(case_path, quick=quick)
    if settings:
        _check_settings(case.kind, settings, "command line", case.kind)
        case.settings.update(settings)
    module = importlib.import_module(MODULES[case.kind])
    t0 = time.perf_counter()
    out = Path(out_dir)
    # a failed run keeps what it wrote as <out>.partial; nothing half-written at <out>
    with StagedDir(out, comm=comm, failed=out.with_name(out.name + ".partial")) as tmp:
        summary = module.run(case, tmp, comm)
        summary = {"scenario": case.kind, "title": case.title, "case": str(case_path), "quick": quick,
                   "params": case.params, "overrides": case.overrides, "sim_version": sim.__version__,
                   "wall_time_s": time.perf_counter() - t0, **summary}
        if comm.rank == 0:
            write_json(tmp / "summary.json", summary)
    return summary
