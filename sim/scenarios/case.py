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

Values are read through :meth:`ScenarioCase.quantity` so a bad entry raises
:class:`~sim.errors.InputError` naming the file and ``<kind>.<key>``.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.io import read_toml
from sim.units import to_si

KINDS = ("gitt", "thermal", "aging", "coupling")


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

    def quantity(self, key: str, unit: str, default: Any = None) -> float:
        """Setting ``key`` converted to SI from ``unit``; ``default`` (already SI) when absent."""
        if key not in self.settings:
            if default is None:
                raise InputError(f"missing entry (a quantity in {unit or 'dimensionless'})",
                                 file=self.file, key=f"{self.kind}.{key}")
            return default
        return to_si(self.settings[key], unit, file=self.file, key=f"{self.kind}.{key}")

    def integer(self, key: str, default: int | None = None, minimum: int = 1) -> int:
        v = self.settings.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise InputError(f"expected an integer >= {minimum}, got {v!r}", file=self.file, key=f"{self.kind}.{key}")
        return v

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        v = self.settings.get(key, default)
        if v not in options:
            raise InputError(f"{v!r} is not allowed; choose one of {', '.join(options)}",
                             file=self.file, key=f"{self.kind}.{key}")
        return v

    def load_params(self):
        """The parameter set with the case's overrides applied (validated like a parameter file)."""
        from sim.params import load_params

        path = Path(self.params)
        if path.suffix == ".toml" and not path.is_absolute():
            path = Path(self.file).parent / path
            return load_params(path, self.overrides or None)
        return load_params(self.params, self.overrides or None)


def load_case(path: str | Path, quick: bool = False) -> ScenarioCase:
    """Read and check a scenario case file; with ``quick`` the ``[quick]`` table replaces kind settings."""
    path = Path(path)
    data = read_toml(path, "scenario file")
    allowed_top = {"scenario", "set", "quick", *KINDS}
    for key in data:
        if key not in allowed_top:
            raise InputError(f"unknown table; allowed: {', '.join(sorted(allowed_top))}", file=str(path), key=key)
    head = data.get("scenario")
    if not isinstance(head, dict):
        raise InputError('missing [scenario] table with kind = "gitt"|"thermal"|"aging"|"coupling" and params',
                         file=str(path), key="scenario")
    kind = head.get("kind")
    if kind not in KINDS:
        raise InputError(f"kind {kind!r} not allowed; choose one of {', '.join(KINDS)}", file=str(path),
                         key="scenario.kind")
    if not isinstance(head.get("params"), str):
        raise InputError("params must name a parameter set (e.g. \"li2019\") or a .toml path", file=str(path),
                         key="scenario.params")
    settings = dict(data.get(kind, {}))
    if quick:
        settings.update(data.get("quick", {}))
    overrides = data.get("set", {})
    if not isinstance(overrides, dict):
        raise InputError('[set] must map "section.key" to a value with units', file=str(path), key="set")
    return ScenarioCase(kind=kind, title=str(head.get("title", path.stem)), params=head["params"],
                        overrides=dict(overrides), settings=settings, file=str(path), raw=data)


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


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"not JSON serialisable: {type(v)}")
