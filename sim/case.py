"""The one input layer: every case, scenario, sweep and parameter file and every ``--out`` goes through here.

What it guarantees (README "Bad input: what is checked"):

- :func:`read_toml` / :func:`read_text`: a missing file, a folder, unreadable bytes (not UTF-8), no
  permission or bad TOML syntax is an :class:`~sim.errors.InputError` naming the file, never a traceback.
- :class:`Entries`: a table of a case file read through typed getters (quantity with unit and bounds,
  integer with bounds, bool, choice, fraction in [0, 1], list of monotone unique distances) after
  :meth:`Entries.allow` refused unknown keys, listing the allowed ones. Each key remembers where its
  value came from (the case file, its ``[set]`` table, ``--set``, a sweep file's axis), so the error
  names that origin (:class:`Layers`).
- :func:`check_out`: ``--out`` is checked before any work (a file, under a file, not writable,
  non-empty without ``--overwrite``; ``--overwrite`` replaces only a folder this toolkit wrote, i.e.
  one holding the :data:`MARKER` file that :class:`sim.io.StagedDir` puts in every results folder).
- :func:`safe_name`: an output name is a plain file name, so nothing lands outside ``--out``.
- :func:`clean_orphans`: hidden staging folders ``.OUT.tmp-*`` of a killed run of the same ``--out``
  are removed at the next run (only when the process that made them is gone).
- :func:`check_cost`: an up-front estimate of unknowns and memory from the element size, refused over
  a limit the user can raise (``SIM_MAX_UNKNOWNS``, default 5e6; ``SIM_MAX_MEMORY_GB``, default 16).

Everything here is SI inside; units are parsed once by :func:`sim.units.to_si`.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import socket
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from sim.errors import InputError

MARKER = ".sim-result.json"       # every results folder this toolkit writes holds this file
OWNER = ".sim-owner"              # inside a staging folder: "host pid" of the process writing it
_MISSING = object()


# --------------------------------------------------------------------------- reading files
def read_text(path: str | Path, what: str = "file") -> str:
    """The UTF-8 text of ``path``; every I/O problem is an InputError naming the file and the cause."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=str(path)) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a folder, not a file", file=str(path)) from None
    except PermissionError:
        raise InputError(f"{what} cannot be read (permission denied)", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"{what} cannot be read ({exc.strerror or exc})", file=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"{what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}); "
                         f"save it as UTF-8", file=str(path)) from None


def read_toml(path: str | Path, what: str = "file") -> dict:
    """Parse a TOML file through :func:`read_text`; bad syntax names the file and TOML's line/column."""
    text = read_text(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", file=str(path)) from None


# --------------------------------------------------------------------------- origins of values
@dataclass
class Layers:
    """Values for dotted keys merged from several origins, later layers winning; remembers each key's origin.

    ``Layers().add(case["set"], "case.toml [set]").add(cli, "--set")``: ``values`` is the merged dict,
    ``origin(key)`` the name to blame in an error about ``key``.
    """

    values: dict = field(default_factory=dict)
    origins: dict = field(default_factory=dict)

    def add(self, mapping: dict | None, origin: str) -> "Layers":
        for key, value in (mapping or {}).items():
            self.values[key] = value
            self.origins[key] = origin
        return self

    def origin(self, key: str, default: str | None = None) -> str | None:
        return self.origins.get(key, default)


# --------------------------------------------------------------------------- bounds
def _describe(gt=None, ge=None, lt=None, le=None, unit: str = "") -> str:
    parts = [f"> {gt:g}" if gt is not None else (f">= {ge:g}" if ge is not None else ""),
             f"< {lt:g}" if lt is not None else (f"<= {le:g}" if le is not None else "")]
    text = " and ".join(p for p in parts if p) or "a finite number"
    return f"{text} {unit}".strip()


def check_bounds(v: float, *, file=None, key=None, gt=None, ge=None, lt=None, le=None, unit: str = "",
                 allow_inf: bool = False, shown=None) -> float:
    """``v`` (SI) inside the interval, finite unless ``allow_inf``; else InputError with the bound.

    ``unit`` is the unit the bounds are written in (for the message); ``shown`` how the user wrote ``v``.
    """
    found = repr(shown) if shown is not None else f"{v:g}"
    if math.isnan(v):
        raise InputError(f"got {found} (not a number); allowed: {_describe(gt, ge, lt, le, unit)}", file=file, key=key)
    if math.isinf(v) and not allow_inf:
        raise InputError(f"got {found} (infinite); allowed: a finite value, {_describe(gt, ge, lt, le, unit)}",
                         file=file, key=key)
    ok = (gt is None or v > gt) and (ge is None or v >= ge) and (lt is None or v < lt) and (le is None or v <= le)
    if not ok:
        raise InputError(f"got {found}; allowed: {_describe(gt, ge, lt, le, unit)}", file=file, key=key)
    return v


def to_quantity(value, unit: str, *, file=None, key=None, gt=None, ge=None, lt=None, le=None,
                allow_inf: bool = False, bare: bool = False) -> float:
    """A value with a unit ("8 um") -> SI float, checked against bounds given in ``unit`` (not SI).

    A bare number is taken in ``unit`` for dimensionless quantities only (see :func:`sim.units.to_si`).
    Bounds are compared in ``unit`` (use "K", not "degC", for temperatures). ``bare=True``: a bare
    number means ``unit`` (case keys documented with a fixed unit, e.g. hours per cycle).
    """
    from sim.units import to_si

    if bare and unit and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = f"{value!r} {unit}"
    if not unit and isinstance(value, str):       # a dimensionless entry: a plain number is expected
        try:
            value = float(value)
        except ValueError:
            try:
                v = to_si(value, unit)
            except InputError:
                raise InputError(f"got {value!r}; allowed: a number {_describe(gt, ge, lt, le)}".rstrip(),
                                 file=file, key=key) from None
            return check_bounds(v, file=file, key=key, gt=gt, ge=ge, lt=lt, le=le, allow_inf=allow_inf, shown=value)
    v = to_si(value, unit, file=file, key=key)
    scale = _unit_scale(unit)
    check_bounds(v / scale, file=file, key=key, gt=gt, ge=ge, lt=lt, le=le, unit=unit, allow_inf=allow_inf,
                 shown=value)
    return v


def to_integer(value, *, file=None, key=None, ge: int | None = None, le: int | None = None) -> int:
    """A whole number within [ge, le]; ``1e10`` for ``le = 1e6`` is refused naming the bound, ``2.5`` and
    ``true`` too. A float with an integral value (``10.0``, from ``--set``) is accepted."""
    allowed = _describe(ge=ge, le=le).replace("a finite number", "any")
    shown = f"{value:g}" if isinstance(value, float) else repr(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (isinstance(value, float) and not (math.isfinite(value) and value == int(value))):
        raise InputError(f"got {shown}; allowed: a whole number {allowed}", file=file, key=key)
    v = int(value)
    if (ge is not None and v < ge) or (le is not None and v > le):
        raise InputError(f"got {shown}; allowed: a whole number {allowed}", file=file, key=key)
    return v


def to_bool(value, *, file=None, key=None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InputError(f"got {value!r}; allowed: true or false", file=file, key=key)


def to_choice(value, options: Iterable[str], *, file=None, key=None) -> str:
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise InputError(f"got {value!r}; allowed: {', '.join(options)}", file=file, key=key)
    return value


def to_fraction(value, *, file=None, key=None) -> float:
    """A fraction in [0, 1] (a number, or a percentage string such as "20 %")."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            value = float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise InputError(f"got {value!r}; allowed: a fraction in [0, 1] or a percentage", file=file,
                             key=key) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"got {value!r}; allowed: a fraction in [0, 1]", file=file, key=key)
    return check_bounds(float(value), file=file, key=key, ge=0, le=1, shown=value)


def check_distances(d, *, file=None, key=None, unit: str = "nm", values=None, merge: bool = False):
    """Distances (SI) that are finite, >= 0, strictly increasing after sorting and unique.

    Repeated distances are refused (``merge=False``) or, with ``merge=True`` and ``values`` (and
    optionally paired weights as ``values = (y, sigma)``), merged into one point: the inverse-variance
    weighted mean with sigma = (Σ 1/σ²)^(-1/2). Returns the sorted (and merged) arrays.
    """
    import numpy as np

    d = np.asarray(d, dtype=float)
    if d.size and (not np.all(np.isfinite(d)) or np.any(d < 0)):
        raise InputError(f"distances must be finite and >= 0 {unit}", file=file, key=key)
    order = np.argsort(d, kind="stable")
    d = d[order]
    arrays = [] if values is None else [np.asarray(a, dtype=float)[order] for a in values]
    dup = np.flatnonzero(np.diff(d) == 0)
    if dup.size and not merge:
        raise InputError(f"repeated distance {d[dup[0]] / _unit_scale(unit):g} {unit}; allowed: each distance once",
                         file=file, key=key)
    if dup.size:
        y, s = arrays
        uniq, start = np.unique(d, return_index=True)
        ends = list(start[1:]) + [len(d)]
        w = 1.0 / s**2
        y = np.array([np.sum(w[a:b] * y[a:b]) / np.sum(w[a:b]) for a, b in zip(start, ends)])
        s = np.array([np.sum(w[a:b]) ** -0.5 for a, b in zip(start, ends)])
        return uniq, y, s
    return (d, *arrays) if arrays else d


def _unit_scale(unit: str) -> float:
    from sim.units import to_si

    return to_si(f"1 {unit}", unit) if unit else 1.0


# --------------------------------------------------------------------------- tables of a case file
class Entries:
    """One table of a case file (``[protocol]``, ``[solver]``, ...) read through checked getters.

    ``file``: the file the table came from; ``prefix``: the table's name (keys in messages are
    ``prefix.key``); ``origins``: key -> origin for values that came from elsewhere (``--set``, a sweep).
    Call :meth:`allow` first so unknown keys are refused with the allowed list.
    """

    def __init__(self, data: dict | None, *, file: str | None, prefix: str = "", origins: dict | None = None,
                 bare_units: bool = False):
        if data is not None and not isinstance(data, dict):
            raise InputError(f"must be a table, got {data!r}", file=file, key=prefix or None)
        self.data, self.file, self.prefix, self.origins = dict(data or {}), file, prefix, dict(origins or {})
        self.bare_units = bare_units      # a bare number in a quantity means the getter's unit

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def origin(self, name: str) -> str | None:
        return self.origins.get(self.key(name), self.file)

    def allow(self, allowed: Iterable[str]) -> "Entries":
        allowed = sorted(allowed)
        for name in self.data:
            if name not in allowed:
                where = f"in [{self.prefix}]" if self.prefix else "at the top level"
                raise InputError(f"unknown key; allowed {where}: {', '.join(allowed)}",
                                 file=self.origin(name), key=self.key(name))
        return self

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default=_MISSING):
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            raise InputError("missing entry", file=self.file, key=self.key(name))
        return default

    def _get(self, name, default, convert):
        if name not in self.data:
            if default is _MISSING:
                raise InputError("missing entry", file=self.file, key=self.key(name))
            return default
        return convert(self.data[name], file=self.origin(name), key=self.key(name))

    def quantity(self, name: str, unit: str, default=_MISSING, **bounds) -> float:
        """SI value of a quantity written in any unit convertible to ``unit``; bounds in ``unit``."""
        return self._get(name, default, lambda v, **kw: to_quantity(v, unit, bare=self.bare_units, **kw, **bounds))

    def integer(self, name: str, default=_MISSING, *, ge=None, le=None) -> int:
        return self._get(name, default, lambda v, **kw: to_integer(v, ge=ge, le=le, **kw))

    def boolean(self, name: str, default=_MISSING) -> bool:
        return self._get(name, default, to_bool)

    def choice(self, name: str, options: Iterable[str], default=_MISSING) -> str:
        return self._get(name, default, lambda v, **kw: to_choice(v, options, **kw))

    def fraction(self, name: str, default=_MISSING) -> float:
        return self._get(name, default, to_fraction)

    def distances(self, name: str, unit: str, default=_MISSING, *, le=None) -> list[float]:
        """A list of lengths (SI), each >= 0 (and <= ``le`` in ``unit``), strictly increasing and unique."""
        def convert(v, *, file, key):
            if not isinstance(v, list) or not v:
                raise InputError(f"got {v!r}; allowed: a non-empty list of lengths, e.g. [\"0 {unit}\", \"5 {unit}\"]",
                                 file=file, key=key)
            out = [to_quantity(x, unit, file=file, key=f"{key}[{i}]", ge=0, le=le) for i, x in enumerate(v)]
            if any(b <= a for a, b in zip(out, out[1:])):
                raise InputError(f"got {v!r}; allowed: strictly increasing, each value once", file=file, key=key)
            return out
        return self._get(name, default, convert)


# --------------------------------------------------------------------------- output folders
def is_result_folder(path: Path) -> bool:
    """True if ``path`` is a folder this toolkit wrote (it holds the marker file)."""
    return (Path(path) / MARKER).is_file()


def write_marker(folder: Path, command: str = "") -> Path:
    """Put the marker into ``folder`` (every results folder gets it; ``--overwrite`` looks for it)."""
    from sim import __version__

    path = Path(folder) / MARKER
    path.write_text(json.dumps({"tool": "sim", "version": __version__, "command": command,
                                "created": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
    return path


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _writable(folder: Path, probe_in: Path) -> bool:
    """Can this process create entries in ``folder``? ``os.access`` answers for permissions; root passes it
    everywhere (also on /proc), so a probe folder is made and removed at once in ``probe_in`` (the folder
    that receives the staging folder, never inside a results folder)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        probe = probe_in / f".sim-probe-{os.getpid()}-{time.monotonic_ns()}"
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return False
    return True


def check_out(out: str | Path, *, overwrite: bool = False, option: str = "--out", merge: bool = False) -> Path:
    """Check a results folder before any work; returns it as a Path. Creates nothing.

    Refused: ``out`` is a file; a parent of ``out`` is a file; the folder that would hold it is not
    writable; ``out`` is a non-empty folder without ``overwrite``; with ``overwrite``, a non-empty
    folder without the toolkit's :data:`MARKER` (an arbitrary folder is never deleted).
    ``merge=True`` (files are added, nothing is deleted): any existing writable folder is fine.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file, not a folder; choose another {option}", key=option)
    base = _nearest_existing(out)
    if not base.is_dir():
        raise InputError(f"{out} lies under {base}, which is a file, not a folder; choose another {option}", key=option)
    if not _writable(out if out.exists() else base, _nearest_existing(out.parent)):
        where = out if out.exists() else base
        raise InputError(f"{where} is not writable (permission denied or read-only); choose another {option}",
                         key=option)
    if out.is_dir() and not merge and _has_entries(out):
        if not overwrite:
            raise InputError(f"results folder {out} exists and is not empty; choose another {option} or pass "
                             f"--overwrite", key=option)
        if not is_result_folder(out):
            raise InputError(f"{out} is not a results folder this toolkit wrote (no {MARKER} in it), so "
                             f"--overwrite will not delete it; choose another {option} or remove it yourself",
                             key=option)
    return out


def _has_entries(folder: Path) -> bool:
    return any(True for _ in folder.iterdir())


def safe_name(name: str, *, option: str = "--name") -> str:
    """A plain file name (no folder part, not hidden, no control characters), so ``out / name`` stays in ``out``."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"got {name!r}; allowed: a non-empty file name", key=option)
    bad = [c for c in name if c in "/\\" or ord(c) < 32]
    if bad or name in (".", "..") or name.startswith(".") or os.path.isabs(name):
        raise InputError(f"got {name!r}; allowed: a plain file name without '/', '\\', a leading '.' or control "
                         f"characters (results stay inside the output folder)", key=option)
    return name


def confined(out: str | Path, name: str, *, option: str = "--name") -> Path:
    """``out / name`` after :func:`safe_name`, checked to resolve inside ``out``."""
    out = Path(out)
    path = out / safe_name(name, option=option)
    if out.resolve() not in path.resolve().parents:
        raise InputError(f"{name!r} would be written outside {out}", key=option)
    return path


# --------------------------------------------------------------------------- staging leftovers
def mark_owner(staging: Path) -> None:
    """Record which process writes ``staging`` (read by :func:`clean_orphans`)."""
    (Path(staging) / OWNER).write_text(f"{socket.gethostname()} {os.getpid()}\n")


def owner_alive(owner_file: Path) -> bool:
    """Whether the process named in a staging folder's owner file (``host pid``) may still be writing it."""
    try:
        host, pid = owner_file.read_text().split()
        if host != socket.gethostname():
            return True              # another machine's process: cannot tell, keep it
        os.kill(int(pid), 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                  # exists, owned by someone else
    except (OSError, ValueError):
        return False                 # no or unreadable owner file: a leftover


def clean_orphans(out: str | Path) -> list[Path]:
    """Delete ``.OUT.tmp-*`` / ``.OUT.old-*`` siblings of ``out`` left by a killed run; returns what was removed.

    A staging folder whose owner process is still alive is kept (two runs may share a parent folder).
    """
    out = Path(out)
    if not out.parent.is_dir():
        return []
    removed = []
    for p in [*out.parent.glob(f".{out.name}.tmp-*"), *out.parent.glob(f".{out.name}.old-*")]:
        if p.is_dir() and ".tmp-" in p.name and owner_alive(p / OWNER):
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


# --------------------------------------------------------------------------- cost estimate
# mean cell measure of a quasi-uniform mesh of element size h: a regular triangle has area √3 h²/4
# (gmsh 2D meshes match it within 5 %); gmsh tetrahedra are on average twice the regular volume
# h³/(6√2). Checked against gmsh meshes of a sphere in tests/test_input_layer.py.
_CELL_MEASURE = {1: lambda h: h, 2: lambda h: math.sqrt(3) / 4 * h * h, 3: lambda h: h**3 / (3 * math.sqrt(2))}
# nodes per cell of a large simplex mesh (Euler: ~1/2 in 2D, ~1/5 in 3D), by Lagrange degree
_NODES_PER_CELL = {1: {1: 1.0, 2: 2.0}, 2: {1: 0.5, 2: 2.0}, 3: {1: 0.2, 2: 1.4}}
# memory per unknown of a whole run (assembly, solvers with fill-in): `sim bench` (c) measured 4-5 kB per
# unknown for the 3D voided particle (8.3e4 to 1.85e6 unknowns); 1D/2D are taken no larger
_BYTES_PER_UNKNOWN = {1: 5e3, 2: 5e3, 3: 5e3}
DEFAULT_MAX_UNKNOWNS = 5_000_000
DEFAULT_MAX_MEMORY_GB = 16.0


@dataclass(frozen=True)
class Cost:
    """Rough up-front size of a run: cells, unknowns (per field component) and memory (bytes)."""

    cells: float
    unknowns: float
    memory: float


def estimate_cost(dim: int, measure: float, size: float, *, degree: int = 1, components: int = 1) -> Cost:
    """Cells ≈ measure / (cell measure of size h); unknowns = nodes × components; memory from a direct solve.

    ``measure``: length (1D, m), area (2D, m²) or volume (3D, m³) of the domain; ``size``: element
    size h (m, the finest one used in the bulk of the domain, which governs the count).
    """
    cells = measure / _CELL_MEASURE[dim](size)
    unknowns = max(cells * _NODES_PER_CELL[dim][min(degree, 2)], 1.0) * components
    return Cost(cells, unknowns, unknowns * _BYTES_PER_UNKNOWN[dim])


def particle_cost(geometry, sizes, kind: str, *, degree: int = 1, components: int = 1, growth: float = 0.3,
                  n_cells: int | None = None) -> Cost:
    """Up-front size of a secondary-particle mesh (``sim.mesh`` builders) from the parameter set.

    ``geometry``/``sizes``: the set's ``Geometry`` and ``MeshSizes`` (m); ``kind``: radial | hollow |
    axisym | 3d. Bulk cells at ``size_outer``; around the void and the pores a band meshed at
    ``size_inner`` for 2·size_inner and graded to ``size_outer`` over (size_outer − size_inner)/growth
    (the gmsh Threshold field of :mod:`sim.mesh`), integrated shell by shell. Rough (see the tests), meant
    for refusing runs that cannot fit, not for planning.
    """
    import numpy as np

    R, a, h_b, h_f = geometry.particle_radius, geometry.void_radius, sizes.size_outer, sizes.size_inner
    if kind in ("radial", "hollow"):
        cells = n_cells if n_cells is not None else (R - (a if kind == "hollow" else 0.0)) / min(h_b, h_f)
        return estimate_cost(1, float(cells), 1.0, degree=degree, components=components)
    dim = 2 if kind == "axisym" else 3
    inner = ([a] if a > 0 else []) + [p.radius for p in geometry.pores]
    measure = (math.pi / 2 * (R * R - sum(r * r for r in inner)) if dim == 2
               else 4 / 3 * math.pi * (R**3 - sum(r**3 for r in inner)))
    cells, band = 0.0, 0.0
    if inner and h_f < h_b:
        d_max = 2 * h_f + (h_b - h_f) / growth
        d = np.linspace(0.0, d_max, 401)
        h = np.clip(h_f + (d - 2 * h_f) * growth, h_f, h_b)
        for r in inner:
            size = math.pi * (r + d) if dim == 2 else 4 * math.pi * (r + d) ** 2   # half circle / sphere
            cells += float(np.trapezoid(size / _CELL_MEASURE[dim](h), d))
            band += float(np.trapezoid(size, d))
    cells += max(measure - band, 0.0) / _CELL_MEASURE[dim](h_b)
    unknowns = max(cells * _NODES_PER_CELL[dim][min(degree, 2)], 1.0) * components
    return Cost(cells, unknowns, unknowns * _BYTES_PER_UNKNOWN[dim])


def check_cost(cost: Cost, *, file=None, key=None, what: str = "this run") -> Cost:
    """Refuse a run over ``SIM_MAX_UNKNOWNS`` unknowns or ``SIM_MAX_MEMORY_GB`` GB (environment; defaults
    5e6 and 16), naming the key that sets the size and how to raise the limit."""
    max_u = float(os.environ.get("SIM_MAX_UNKNOWNS", DEFAULT_MAX_UNKNOWNS))
    max_gb = float(os.environ.get("SIM_MAX_MEMORY_GB", DEFAULT_MAX_MEMORY_GB))
    if cost.unknowns > max_u or cost.memory > max_gb * 1e9:
        raise InputError(f"{what} would have about {cost.cells:.3g} cells, {cost.unknowns:.3g} unknowns and need "
                         f"~{cost.memory / 1e9:.3g} GB; the limit is {max_u:.3g} unknowns and {max_gb:g} GB: use a "
                         f"larger element size, or raise the limit with SIM_MAX_UNKNOWNS=... / "
                         f"SIM_MAX_MEMORY_GB=...", file=file, key=key)
    return cost


def parameter_digest(pset) -> str:
    """Hash of a resolved parameter set: the bytes of every file it read and the resolved values."""
    import hashlib

    h = hashlib.sha256()
    for f in pset.files:
        if f != "--set" and Path(f).is_file():
            h.update(Path(f).read_bytes())
    h.update(json.dumps(pset.as_dict(), sort_keys=True, default=str).encode())
    return h.hexdigest()
