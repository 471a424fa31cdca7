"""sim: finite-element models of degradation in Li- and Mn-rich layered oxide cathode particles.

Data flow: parameters (:mod:`sim.params`) -> mesh (:mod:`sim.mesh`) -> problem
(:mod:`sim.oxygen`, :mod:`sim.lithium`) -> exports -> report.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sim")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"
