"""sim: finite-element models of degradation in Li- and Mn-rich layered oxide cathode particles.

Data flow: parameters (:mod:`sim.params`) -> mesh (:mod:`sim.mesh`) -> problem
(:mod:`sim.oxygen`, :mod:`sim.lithium`) -> exports -> report.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lmr-cathode-sim")      # the distribution name; the import name is sim
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"


def __getattr__(name):
    """``sim.open_result`` / ``sim.open_sweep`` (:mod:`sim.results`), imported on first use only."""
    if name in ("open_result", "open_sweep"):
        from sim import results
        return getattr(results, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
