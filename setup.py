"""Build step of the wheel: map the top-level data folders into the package as ``sim._data.<kind>``.

The folders stay where they are in the clone (``params/``, ``validation/...``, ``meshes/``); the wheel
carries them as ``sim/_data/<kind>/`` so :mod:`sim.resources` finds them from any working directory.
Every folder holding shipped files is listed (subfolders too: a package's data are not recursive);
``tests/test_packaging.py`` checks that none is missing. Everything else is in ``pyproject.toml``.
"""
from setuptools import find_packages, setup

DATA = {  # package -> folder in the clone (keep in step with sim.resources.KINDS)
    "sim._data.params": "params",
    "sim._data.params.examples": "params/examples",
    "sim._data.scenarios": "validation/scenarios",
    "sim._data.cases": "validation/cases",
    "sim._data.sweeps": "validation/sweeps",
    "sim._data.sweeps.profiles": "validation/sweeps/profiles",
    "sim._data.sweeps.crack_map_gap": "validation/sweeps/crack_map_gap",
    "sim._data.sweeps.microstructures": "validation/sweeps/microstructures",
    "sim._data.meshes": "meshes",
    "sim._data.csernica2021": "validation/csernica2021",
    "sim._data.liu2024": "validation/liu2024",
    "sim._data.bench": "validation/bench",
}
FILES = ["*.toml", "*.csv", "*.json", "*.md", "*.npy", "*.npz", "*.tif", "*.tiff", "*.msh", "*.xdmf", "*.h5", "*.png"]

setup(
    packages=find_packages(include=["sim", "sim.*"]) + list(DATA),
    package_dir={"sim": "sim", **DATA},
    package_data={pkg: FILES for pkg in DATA},       # a package's *.py (the bench workers) ship as modules
)
