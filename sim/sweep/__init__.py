"""Parameter sweeps over a base case: parallel on Dask, resumable, one results table.

``sim sweep SWEEP.toml --out DIR`` expands the sweep file (:mod:`sim.sweep.spec`), runs each case in
its own worker process with ``MPI.COMM_SELF`` (:mod:`sim.sweep.worker`, :mod:`sim.sweep.driver`) and
writes ``DIR/cases/<case_id>/``, ``DIR/results.csv`` / ``.parquet`` (:mod:`sim.sweep.table`) and plots
(:mod:`sim.sweep.plots`).
"""
import importlib

_EXPORTS = {"run_sweep": "driver", "SweepReport": "driver", "load_sweep": "spec", "Sweep": "spec",
            "Axis": "spec", "Case": "spec"}
__all__ = list(_EXPORTS)


def __getattr__(name):  # lazy, so that ``sim --help`` does not import pandas and dask
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"sim.sweep.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
