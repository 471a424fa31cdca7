"""The data shipped with ``sim``: parameter sets, scenarios, cases, sweeps, mesh recipes, example profiles.

In a clone the files live in the top-level folders (``params/``, ``validation/scenarios/``,
``validation/cases/``, ``validation/sweeps/``, ``meshes/``, ``validation/csernica2021/``). The wheel maps
each folder into the package as ``sim/_data/<kind>/`` (see ``setup.py``), so an installed ``sim`` finds
them through :func:`importlib.resources.files` from any working directory. Every function here returns a
real :class:`pathlib.Path` (pip always installs wheels unpacked), looking first in the package and
then, when running from a clone (``PYTHONPATH`` or an editable install), in the top-level folder.

    >>> parameter_set("liu2024").name
'liu2024.toml'
    >>> "gitt_li2019" in listing("scenarios")
True
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from sim.errors import InputError

#: kind -> (folder inside the clone, file pattern listed by :func:`listing`)
KINDS: dict[str, tuple[str, str]] = {
    "params": ("params", "*.toml"),
    "scenarios": ("validation/scenarios", "*.toml"),
    "cases": ("validation/cases", "*.toml"),
    "sweeps": ("validation/sweeps", "*.toml"),
    "meshes": ("meshes", "*.toml"),
    "csernica2021": ("validation/csernica2021", "*.csv"),
    "liu2024": ("validation/liu2024", "*.md"),
    "bench": ("validation/bench", "*.py"),      # the workers and peers of `sim bench`
}


def data_dir(kind: str) -> Path:
    """Folder holding the shipped files of ``kind`` (a key of :data:`KINDS`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown data kind {kind!r}; known: {', '.join(KINDS)}")
    package = Path(str(files("sim")))
    packaged = package / "_data" / kind
    if packaged.is_dir():
        return packaged
    return package.parent / KINDS[kind][0]   # a clone: the top-level folder next to sim/


def listing(kind: str) -> list[str]:
    """Names (file stems) of the shipped files of ``kind``, sorted."""
    return sorted(p.stem for p in data_dir(kind).glob(KINDS[kind][1]))


def _named(kind: str, name: str, suffix: str = ".toml") -> Path:
    path = data_dir(kind) / (name if name.endswith(suffix) else name + suffix)
    if not path.is_file():
        raise InputError(f"no shipped {kind} file named {name!r}; known: {', '.join(listing(kind)) or 'none'}")
    return path


def parameter_set(name: str) -> Path:
    """``"liu2024"`` -> the shipped ``liu2024.toml`` parameter set."""
    return _named("params", name)


def scenario(name: str) -> Path:
    """``"gitt_li2019"`` -> the shipped scenario case file."""
    return _named("scenarios", name)


def case(name: str) -> Path:
    """``"liu2024_10C"`` -> the shipped ``sim run`` case file."""
    return _named("cases", name)


def sweep(name: str) -> Path:
    """``"bridge_stress"`` -> the shipped sweep file (its base case and profiles sit next to it)."""
    return _named("sweeps", name)


def mesh_recipe(name: str = "reference") -> Path:
    """``"reference"`` -> ``meshes/reference.toml``, the recipe of the reference meshes."""
    return _named("meshes", name)


def mesh_data(name: str) -> Path:
    """A shipped mesh or volume file in ``meshes/`` by its file name (e.g. ``"particle.npy"``)."""
    return _named("meshes", name, suffix=Path(name).suffix or ".toml")


def example_profile() -> Path:
    """The bundled synthetic Mn³⁺ profile (made with D_O = 1e-17 cm²/s) that ``sim fit`` and the demo use."""
    return _named("csernica2021", "example_profile", suffix=".csv")
