"""Sweep files: a base case and axes, expanded into cases with stable ids.

A sweep file (TOML)::

    [sweep]
    case = "../cases/oxygen_small.toml"      # base case, relative to this file
    combine = "cartesian"                     # or "zip" (all axes the same length)

    [axes]                                    # override key -> values
    "oxygen.diffusivity" = { log = ["1e-18 cm^2/s", "1e-16 cm^2/s"], num = 5 }
    "protocol.cycles" = [1, 10, 100]
    "geometry.void_radius" = { linear = ["0.2 um", "0.6 um"], num = 3 }
    "profile" = { files = "profiles/*.csv" }  # file paths (glob relative to this file)

    [set]                                     # fixed overrides applied to every case
    "mesh.size_outer" = "1 um"

    [plot]                                    # optional: what ``--plot`` draws
    quantities = ["O_loss_at_percent"]

Dotted keys may also be written unquoted (TOML nests them; they are flattened back).
Values are passed to the case runner as written (``"3.16227766017e-18 cm^2/s"``); the table shows
them as numbers in the axis unit, in a column named with that unit (``oxygen.diffusivity_cm2_s``).
"""
from __future__ import annotations

import glob as globmod
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.io import read_toml

_NUMBER_UNIT = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")
_SPEC_KEYS = {"linear", "log", "num", "files"}


def split_quantity(value) -> tuple[float, str] | None:
    """``"0.3 um"`` -> ``(0.3, "um")``; a bare number -> ``(x, "")`` (an int stays int); else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value, ""
    if isinstance(value, str):
        m = _NUMBER_UNIT.match(value)
        if m:
            return float(m.group(1)), m.group(2)
    return None


def unit_slug(unit: str) -> str:
    """A unit as a column-name suffix: ``"cm^2/s"`` -> ``"cm2_s"``, ``"um"`` -> ``"um"``."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", unit.replace("^", "").replace("**", ""))).strip("_")


def _fmt_number(x: float) -> str:
    return f"{x:.12g}"


@dataclass(frozen=True)
class Axis:
    """One swept key: the values handed to the runner and their numeric display in ``unit``."""

    key: str
    values: tuple            # as passed to the runner ("0.3 um", 10, "small", ...)
    numbers: tuple | None    # float per value in ``unit``, or None for a categorical axis
    unit: str = ""
    scale: str = "linear"    # "log" for log-spaced axes (plots use a log x axis)
    paths: bool = False      # values are file paths relative to the sweep file

    @property
    def column(self) -> str:
        return f"{self.key}_{unit_slug(self.unit)}" if self.unit else self.key

    def display(self, i: int):
        return self.numbers[i] if self.numbers is not None else self.values[i]


@dataclass(frozen=True)
class Case:
    """One point of the sweep: its id, the overrides for the runner and the table's input columns."""

    case_id: str
    overrides: dict
    inputs: dict             # column -> displayed value (number in axis unit, or the value as written)


@dataclass(frozen=True)
class Sweep:
    """An expanded sweep file."""

    file: Path
    base_case: Path
    model: str
    axes: tuple[Axis, ...]
    combine: str
    fixed: dict
    cases: tuple[Case, ...]
    plot: dict = field(default_factory=dict)
    digest: str = ""         # hash of the sweep's structure: model, base case text, combine, inputs
    validated: bool = False  # every case checked and its id includes the resolved parameters


# --------------------------------------------------------------------------- axes
def _convert(number: float, unit: str, to_unit: str, file, key) -> float:
    if unit == to_unit:
        return number
    from sim.units import ureg

    try:
        return float(ureg.Quantity(number, unit or "dimensionless").to(to_unit or "dimensionless").magnitude)
    except Exception as exc:  # pint: undefined or incompatible units
        raise InputError(f"cannot combine units {unit!r} and {to_unit!r} in one axis ({exc})", file=file, key=key) from None


def _range_axis(key: str, spec: dict, file) -> Axis:
    kind = "log" if "log" in spec else "linear"
    ends = spec[kind]
    if not isinstance(ends, list) or len(ends) != 2:
        raise InputError(f'{kind} needs two end points, e.g. {{ {kind} = ["1e-18 cm^2/s", "1e-16 cm^2/s"], num = 5 }}',
                         file=file, key=key)
    num = spec.get("num")
    if isinstance(num, bool) or not isinstance(num, int) or num < 2:
        raise InputError(f"num must be an integer >= 2 (number of values in the {kind} range), got {num!r}",
                         file=file, key=key)
    parsed = [split_quantity(e) for e in ends]
    if any(p is None for p in parsed):
        raise InputError(f"end points must be numbers or quantities like \"0.2 um\", got {ends!r}", file=file, key=key)
    unit = parsed[0][1]
    lo, hi = parsed[0][0], _convert(*parsed[1], unit, file, key)
    if kind == "log":
        if lo <= 0 or hi <= 0:
            raise InputError(f"log range needs end points > 0, got {ends!r}", file=file, key=key)
        numbers = np.geomspace(lo, hi, num)
    else:
        numbers = np.linspace(lo, hi, num)
    integer = all(isinstance(e, int) for e in ends)
    if integer:
        numbers = np.rint(numbers).astype(int)
        if len(set(numbers.tolist())) != num:
            raise InputError(f"integer {kind} range {ends!r} has fewer than num={num} distinct integers",
                             file=file, key=key)
        values = tuple(int(v) for v in numbers)
    else:
        values = tuple(f"{_fmt_number(v)} {unit}".strip() if unit else float(_fmt_number(v)) for v in numbers)
    return Axis(key, values, values if integer else tuple(float(_fmt_number(v)) for v in numbers), unit, kind)


def _files_axis(key: str, spec, file, sweep_dir: Path) -> Axis:
    patterns = spec["files"] if isinstance(spec["files"], list) else [spec["files"]]
    if not patterns or not all(isinstance(p, str) for p in patterns):
        raise InputError('files needs a glob pattern or a list of them, e.g. { files = "profiles/*.csv" }',
                         file=file, key=key)
    found: list[str] = []
    for pattern in patterns:
        matches = sorted(Path(p).relative_to(sweep_dir).as_posix()
                         for p in globmod.glob(str(sweep_dir / pattern)))
        if not matches:
            raise InputError(f"no file matches {pattern!r} (relative to {sweep_dir})", file=file, key=key)
        found += [m for m in matches if m not in found]
    return Axis(key, tuple(found), None, paths=True)


def _list_axis(key: str, values: list, file) -> Axis:
    if not values:
        raise InputError("an axis needs at least one value", file=file, key=key)
    if any(isinstance(v, (dict, list)) for v in values):
        raise InputError("list values must be numbers, booleans or strings (e.g. \"0.3 um\")", file=file, key=key)
    parsed = [split_quantity(v) for v in values]
    numbers, unit = None, ""
    if all(p is not None for p in parsed):
        unit = parsed[0][1]
        numbers = tuple(_convert(n, u, unit, file, key) for n, u in parsed)
    return Axis(key, tuple(values), numbers, unit)


def parse_axis(key: str, spec, file=None, sweep_dir: Path = Path(".")) -> Axis:
    """One ``[axes]`` entry -> :class:`Axis` (list, ``linear``/``log`` range with ``num``, or ``files`` glob)."""
    if isinstance(spec, list):
        axis = _list_axis(key, spec, file)
    elif isinstance(spec, dict):
        unknown = set(spec) - _SPEC_KEYS
        kinds = [k for k in ("linear", "log", "files") if k in spec]
        if unknown or len(kinds) != 1:
            raise InputError(f"an axis is a list of values, {{ linear = [a, b], num = n }}, {{ log = [a, b], num = n }} "
                             f"or {{ files = \"glob\" }}; got keys {sorted(spec)}", file=file, key=key)
        if kinds[0] == "files":
            if "num" in spec:
                raise InputError("files takes no num", file=file, key=key)
            axis = _files_axis(key, spec, file, sweep_dir)
        else:
            axis = _range_axis(key, spec, file)
    else:
        raise InputError(f"an axis must be a list or a range table, got {spec!r}", file=file, key=key)
    if len(set(map(repr, axis.values))) != len(axis.values):
        raise InputError(f"repeated values in axis: {list(axis.values)!r}", file=file, key=key)
    return axis


def _flatten(table: dict, prefix: str = "") -> dict:
    """Undo TOML nesting of unquoted dotted keys; stop at axis specs (tables with linear/log/files)."""
    out = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not (set(v) & _SPEC_KEYS):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


# --------------------------------------------------------------------------- cases
def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _combine(axes: list[Axis], mode: str, file) -> list[tuple[int, ...]]:
    if mode == "cartesian":
        return list(itertools.product(*(range(len(a.values)) for a in axes)))
    if mode == "zip":
        lengths = {a.key: len(a.values) for a in axes}
        if len(set(lengths.values())) != 1:
            raise InputError(f"combine = \"zip\" needs axes of equal length, got {lengths}", file=file, key="sweep.combine")
        return [(i,) * len(axes) for i in range(len(axes[0].values))]
    raise InputError(f"combine must be \"cartesian\" or \"zip\", got {mode!r}", file=file, key="sweep.combine")


def _check_plot(plot: dict, axis_keys: list[str], file) -> None:
    extra = set(plot) - {"quantities", "x", "hue", "xscale"}
    if extra:
        raise InputError(f"unknown key(s) {sorted(extra)}; allowed: quantities, x, hue, xscale", file=file, key="plot")
    if plot.get("xscale", "linear") not in ("linear", "log"):
        raise InputError(f"xscale must be \"linear\" or \"log\", got {plot['xscale']!r}", file=file, key="plot.xscale")
    for key in ("x", "hue"):
        if key in plot and plot[key] not in axis_keys:
            raise InputError(f"{plot[key]!r} is not an axis; axes: {', '.join(axis_keys)}", file=file, key=f"plot.{key}")
    q = plot.get("quantities", [])
    if not isinstance(q, list) or not all(isinstance(v, str) for v in q):
        raise InputError("quantities must be a list of table column names", file=file, key="plot.quantities")


def load_sweep(path: str | Path, *, validate: bool = True) -> Sweep:
    """Read and expand a sweep file; every problem raises :class:`InputError` naming the file and key.

    ``validate``: check every case as its runner would, before anything is written (an error names
    the sweep file, the axis and the value), and make each case id include the resolved parameters
    (the bytes of every parameter file read, the profile file of a fit), so an edited parameter
    file re-runs the cases it affects.
    """
    path = Path(path).resolve()
    file = str(path)
    data = read_toml(path, "sweep file")
    unknown = set(data) - {"sweep", "axes", "set", "plot"}
    if unknown:
        raise InputError(f"unknown table(s) {sorted(unknown)}; allowed: [sweep], [axes], [set], [plot]", file=file)
    head = data.get("sweep", {})
    extra = set(head) - {"case", "combine", "title"}
    if extra:
        raise InputError(f"unknown key(s) {sorted(extra)}; allowed: case, combine, title", file=file, key="sweep")
    if "case" not in head:
        raise InputError('missing the base case, e.g. [sweep] case = "cases/oxygen_small.toml" '
                         "(relative to the sweep file)", file=file, key="sweep.case")
    if not isinstance(head["case"], str):
        raise InputError(f"got {head['case']!r}; allowed: a path to the base case", file=file, key="sweep.case")
    base = (path.parent / head["case"]).resolve()
    from sim.case import read_text, read_toml as parse_toml
    from sim.sweep.worker import RUNNERS

    try:
        case_text = read_text(base, "base case")
        model = parse_toml(base, "base case").get("model")
    except InputError as exc:
        raise InputError(f"{exc}", file=file, key="sweep.case") from None

    if model not in RUNNERS:
        raise InputError(f"base case {base} has model = {model!r}; the sweep runs models {', '.join(RUNNERS)}",
                         file=file, key="sweep.case")

    axes_spec = _flatten(data.get("axes", {}))
    if not axes_spec:
        raise InputError("no axes: add an [axes] table, e.g. \"protocol.cycles\" = [1, 10, 100]", file=file, key="axes")
    axes = [parse_axis(k, v, file, path.parent) for k, v in axes_spec.items()]
    fixed = _flatten(data.get("set", {}))
    clash = set(fixed) & set(axes_spec)
    if clash:
        raise InputError(f"key(s) {sorted(clash)} both swept and fixed", file=file, key="set")
    combine = head.get("combine", "cartesian")
    case_digest = hashlib.sha256(case_text.encode()).hexdigest()
    cases = []
    for idx in _combine(axes, combine, file):
        swept = {a.key: a.values[i] for a, i in zip(axes, idx)}
        case_id = _digest({"model": model, "case": case_digest, "overrides": {**fixed, **swept}})[:12]
        runner_overrides = {**fixed, **{a.key: str((path.parent / a.values[i]).resolve()) if a.paths else a.values[i]
                                        for a, i in zip(axes, idx)}}
        inputs = {a.column: a.display(i) for a, i in zip(axes, idx)}
        cases.append(Case(case_id, runner_overrides, inputs))
    plot = data.get("plot", {})
    _check_plot(plot, [a.key for a in axes], file)
    digest = _digest({"model": model, "case": case_digest, "combine": combine,
                      "cases": [(c.case_id, c.inputs) for c in cases]})
    sweep = Sweep(path, base, model, tuple(axes), combine, fixed, tuple(cases), plot, digest)
    return validate_cases(sweep) if validate else sweep


def validate_cases(sweep: Sweep) -> Sweep:
    """Check every case with its runner's own validation (no mesh, nothing written) and put the resolved
    parameters into each case id. The first bad case raises InputError naming the sweep file's table
    (``[axes]`` / ``[set]``), the key and the value, or ``sweep.case`` for a problem of the base case."""
    from sim.sweep.worker import VALIDATORS

    file = str(sweep.file)
    axis_keys = {a.key for a in sweep.axes}
    origins = {**{k: f"{file} [set]" for k in sweep.fixed}, **{k: f"{file} [axes]" for k in axis_keys}}
    cases = []
    for case in sweep.cases:
        try:
            resolved = VALIDATORS[sweep.model](str(sweep.base_case), case.overrides, origins)
        except InputError as err:
            raise _blame(err, case, sweep, axis_keys) from None
        case_id = _digest({"id": case.case_id, "resolved": resolved})[:12]
        cases.append(replace(case, case_id=case_id))
    return replace(sweep, cases=tuple(cases), validated=True)


def _blame(err: InputError, case: Case, sweep: Sweep, axis_keys: set) -> InputError:
    """An error of one case, re-worded to name the sweep file, the axis (or fixed key) and its value."""
    file, key = str(sweep.file), err.key
    key_of = next((k for k in (key,) if k in case.overrides), None) or \
        next((k for k in case.overrides if key and (key.startswith(k + ".") or key.startswith(k + "["))), None) or \
        next((k for k, v in case.overrides.items() if err.file is not None and str(v) == err.file), None)
    if key_of in axis_keys:
        value = case.overrides[key_of]
        detail = err.detail if key_of == key else str(err)
        return InputError(f"value {value!r} of this axis: {detail}", file=f"{file} [axes]", key=key_of)
    if key_of is not None:
        return InputError(f"value {case.overrides[key_of]!r}: {err.detail}", file=f"{file} [set]", key=key_of)
    return InputError(f"the base case is refused ({err})", file=file, key="sweep.case")

