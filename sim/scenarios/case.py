"""Scenario case files: TOML with a ``[scenario]`` table, parameter overrides and the scenario's own settings.

Format (``validation/scenarios/*.toml``)::

    [scenario]
    kind = "gitt"                  # gitt | thermal | aging | coupling
    title = "..."
    params = "li2019"              # parameter set name, or a path relative to the case file

    [set]                          # optional overrides of parameter entries (units required)
    "conditions.temperature" = "25 degC"

    [gitt]                         # settings of the scenario kind, with units
    pulse = "30 min"

    [quick]                        # optional: replaces entries of the kind table for a short run (tests, validate)
    max_pulses = 3

Every setting is checked against :data:`SETTINGS` (type, unit, physical bounds) when the file is
loaded, unknown keys refused; values are then read through :meth:`ScenarioCase.quantity` so a bad
entry raises :class:`~sim.errors.InputError` naming the file and ``<kind>.<key>``.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.case import Entries, read_toml
from sim.errors import InputError

KINDS = ("gitt", "thermal", "aging", "coupling", "cracking", "fatigue")
HEAD_KEYS = ("kind", "title", "params")

# The settings each kind reads, with their type and physical bounds (in the unit given): checked when the
# case is loaded, so a bad entry is refused before any work, naming the file and <kind>.<key>.
_V = ("q", "V", dict(gt=0, le=10))
_RATE = ("q", "", dict(gt=0, le=1000))           # C-rate, 1/h
_TIME = ("q", "s", dict(ge=0, le=1e9))
_NCELLS = ("int", 1, 100_000)
_GRADING = ("q", "", dict(ge=1, le=1e4))
SETTINGS: dict[str, dict[str, tuple]] = {
    "gitt": {"specific_current": ("q", "A/kg", dict(gt=0, le=1e5)), "pulse": ("q", "s", dict(gt=0, le=1e9)),
             "rest": _TIME, "upper_voltage": _V, "density": ("q", "kg/m^3", dict(gt=0, le=1e5)),
             "li_per_formula": ("q", "", dict(gt=0, le=10)), "max_pulses": ("int", 1, 100_000),
             "n_cells": _NCELLS, "grading": _GRADING, "steps_per_pulse": ("int", 1, 100_000), "particles": ("list",)},
    "thermal": {"radius": ("q", "m", dict(gt=0, le=1e-3)), "charge_temperature": ("q", "K", dict(gt=0, le=2000)),
                "rest_temperatures": ("list",), "n_cells": _NCELLS, "grading": _GRADING, "c_rate": _RATE,
                "upper_voltage": _V, "rest": ("q", "s", dict(gt=0, le=1e9))},
    "aging": {"aged_params": ("str",), "geometry": ("choice", ("radial", "hollow", "axisym")), "c_rate": _RATE,
              "upper_voltage": _V, "lower_voltage": _V, "rest": _TIME,
              "shell_thickness": ("q", "m", dict(ge=0, le=1e-3)),
              "shell_diffusivity_factor": ("q", "", dict(gt=0, le=1e6)),
              "size_outer": ("q", "m", dict(ge=1e-10, le=1e-3)), "size_inner": ("q", "m", dict(ge=1e-10, le=1e-3)),
              # the degradation loop (sim/scenarios/aging.py)
              "loop_cycles": ("list",), "oxygen_params": ("str",), "exposed": ("list",),
              "surface_size": ("q", "m", dict(ge=1e-10, le=1e-3)), "grading": _GRADING,
              "gitt_c_rate": _RATE, "gitt_pulse": ("q", "s", dict(gt=0, le=1e9)), "gitt_rest": _TIME},
    "coupling": {"secondary_radius": ("q", "m", dict(gt=0, le=1e-3)), "depths": ("fractions",),
                 "charge_rate": _RATE, "discharge_rate": _RATE, "upper_voltage": _V, "lower_voltage": _V,
                 "hold": _TIME, "rest": _TIME, "rule": ("str",), "activation_volume": ("q", "m^3/mol", {}),
                 "cycles": ("int", 1, 1_000_000), "n_cells": _NCELLS, "grading": _GRADING},
    "cracking": {"geometry": ("choice", ("axisym", "3d")), "capacity_fraction": ("q", "", dict(gt=0, le=1)),
                 "directions": ("list",), "dt_max": ("q", "s", dict(gt=0, le=1e6)),
                 "size_inner": ("q", "m", dict(ge=1e-10, le=1e-3)), "size_outer": ("q", "m", dict(ge=1e-10, le=1e-3)),
                 "order": ("int", 1, 2), "variant": ("choice", ("AT1", "AT2")),
                 "split": ("choice", ("none", "spectral", "volumetric-deviatoric")),
                 "verify_critical_toughness": ("bool",), "pores_3d": ("list",), "crack_path": ("bool",),
                 "crack_path_fracture_energy": ("q", "J/m^2", dict(gt=0, le=1e6)),
                 "phase_field_length_3d": ("q", "m", dict(gt=0, le=1e-3)),
                 "size_inner_3d": ("q", "m", dict(ge=1e-10, le=1e-3)), "size_outer_3d": ("q", "m", dict(ge=1e-10, le=1e-3))},
    "fatigue": {"aged_params": ("str",), "c_rate": _RATE, "geometry": ("choice", ("hollow", "axisym")),
                "cycles": ("int", 1, 100_000_000), "size_inner": ("q", "m", dict(ge=1e-10, le=1e-3)),
                "size_outer": ("q", "m", dict(ge=1e-10, le=1e-3)), "dt_max": ("q", "s", dict(gt=0, le=1e6)),
                "paris_repeats": ("int", 1, 10), "pf_cycles": ("int", 1, 100_000_000),
                "pf_onset_damage": ("q", "", dict(gt=0, lt=1)), "pf_max_change": ("q", "", dict(gt=0, lt=1)),
                "n_cells": _NCELLS, "pf_grading": _GRADING, "upper_voltage": _V, "lower_voltage": _V,
                "pf_fatigue_threshold": ("q", "J/m^3", dict(gt=0, le=1e12))},
}


@dataclass
class ScenarioCase:
    """A parsed scenario case: kind, parameter set (name/path), overrides and the kind's settings."""

    kind: str
    title: str
    params: str
    overrides: dict[str, Any]
    settings: dict[str, Any]
    file: str
    raw: dict = field(default_factory=dict, repr=False)
    origins: dict = field(default_factory=dict, repr=False)   # "<kind>.<key>" -> "FILE [quick]" if from there

    def _entries(self) -> Entries:
        return Entries(self.settings, file=self.file, prefix=self.kind, origins=self.origins)

    def quantity(self, key: str, unit: str, default: Any = None) -> float:
        """Setting ``key`` converted to SI from ``unit``; ``default`` (already SI) when absent."""
        if key not in self.settings:
            if default is None:
                raise InputError(f"missing entry (a quantity in {unit or 'dimensionless'})",
                                 file=self.file, key=f"{self.kind}.{key}")
            return default
        return self._entries().quantity(key, unit, **_bounds(self.kind, key))

    def integer(self, key: str, default: int | None = None, minimum: int = 1) -> int:
        spec = SETTINGS.get(self.kind, {}).get(key, ("int", minimum, None))
        if key not in self.settings and default is not None:
            return default
        return self._entries().integer(key, ge=max(minimum, spec[1]), le=spec[2])

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        if key not in self.settings and default is not None:
            return default
        return self._entries().choice(key, options)

    def load_params(self):
        """The parameter set with the case's overrides applied (validated like a parameter file; errors
        in the overrides name this file's [set] table)."""
        from sim.params import load_params

        path = Path(self.params)
        origin = f"{self.file} [set]"
        if path.suffix == ".toml" and not path.is_absolute():
            path = Path(self.file).parent / path
            return load_params(path, self.overrides or None, origin)
        return load_params(self.params, self.overrides or None, origin)


def _bounds(kind: str, key: str) -> dict:
    spec = SETTINGS.get(kind, {}).get(key)
    return spec[2] if spec and spec[0] == "q" else {}


def _check_settings(kind: str, table: dict, file: str, prefix: str) -> None:
    """Unknown keys refused (allowed ones listed); each known key read once with its type and bounds."""
    schema = SETTINGS[kind]
    entries = Entries(table, file=file, prefix=prefix).allow(schema)
    for key, spec in schema.items():
        if not entries.has(key):
            continue
        if spec[0] == "q":
            entries.quantity(key, spec[1], **spec[2])
        elif spec[0] == "int":
            entries.integer(key, ge=spec[1], le=spec[2])
        elif spec[0] == "choice":
            entries.choice(key, spec[1])
        elif spec[0] == "fractions":
            values = entries.raw(key)
            if not isinstance(values, list) or not values:
                raise InputError(f"got {values!r}; allowed: a non-empty list of fractions in [0, 1]", file=file,
                                 key=f"{prefix}.{key}")
            for i, v in enumerate(values):
                Entries({f"{key}[{i}]": v}, file=file, prefix=prefix).fraction(f"{key}[{i}]")
        elif spec[0] == "str" and not isinstance(entries.raw(key), str):
            raise InputError(f"got {entries.raw(key)!r}; allowed: a string", file=file, key=f"{prefix}.{key}")
        elif spec[0] == "list" and not isinstance(entries.raw(key), list):
            raise InputError(f"got {entries.raw(key)!r}; allowed: a list", file=file, key=f"{prefix}.{key}")


def load_case(path: str | Path, quick: bool = False) -> ScenarioCase:
    """Read and check a scenario case file; with ``quick`` the ``[quick]`` table replaces kind settings.

    Unknown tables and keys are refused (``[gitt] n_celss``), and every setting of the kind and of
    ``[quick]`` is checked against its type and bounds here, before any work.
    """
    path = Path(path)
    data = read_toml(path, "scenario file")
    allowed_top = {"scenario", "set", "quick", *KINDS}
    for key in data:
        if key not in allowed_top:
            raise InputError(f"unknown table; allowed: {', '.join(sorted(allowed_top))}", file=str(path), key=key)
    head = data.get("scenario")
    if not isinstance(head, dict):
        raise InputError('missing [scenario] table with kind = "gitt"|"thermal"|"aging"|"coupling"|"cracking"|"fatigue" and params',
                         file=str(path), key="scenario")
    Entries(head, file=str(path), prefix="scenario").allow(HEAD_KEYS)
    kind = head.get("kind")
    if kind not in KINDS:
        raise InputError(f"kind {kind!r} not allowed; choose one of {', '.join(KINDS)}", file=str(path),
                         key="scenario.kind")
    if not isinstance(head.get("params"), str):
        raise InputError("params must name a parameter set (e.g. \"li2019\") or a .toml path", file=str(path),
                         key="scenario.params")
    other = [k for k in KINDS if k != kind and k in data]
    if other:
        raise InputError(f"a {kind} scenario has no [{other[0]}] table; allowed: [scenario], [set], [{kind}], [quick]",
                         file=str(path), key=other[0])
    settings = data.get(kind, {})
    quick_table = data.get("quick", {})
    _check_settings(kind, settings, str(path), kind)
    _check_settings(kind, quick_table, str(path), "quick")
    settings = dict(settings)
    origins = {}
    if quick:
        settings.update(quick_table)
        origins = {f"{kind}.{k}": f"{path} [quick]" for k in quick_table}
    overrides = data.get("set", {})
    if not isinstance(overrides, dict):
        raise InputError('[set] must map "section.key" to a value with units', file=str(path), key="set")
    return ScenarioCase(kind=kind, title=str(head.get("title", path.stem)), params=head["params"],
                        overrides=dict(overrides), settings=settings, file=str(path), raw=data, origins=origins)


# --------------------------------------------------------------------------- outputs
def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """CSV with unit-labelled headers (keys such as ``t_s``, ``potential_V``)."""
    names = list(columns)
    rows = np.column_stack([np.asarray(columns[n], dtype=float) for n in names]) if names else np.empty((0, 0))
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for row in rows:
            w.writerow([f"{v:.10g}" for v in row])
