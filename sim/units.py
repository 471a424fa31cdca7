"""Units at the boundary: parse "1e-17 cm^2/s", "8 um", "25 degC" once, return SI floats.

One pint registry for the whole package, built on first use (importing pint and parsing its
definitions costs ~0.4 s, which commands that never convert a unit should not pay); pint's parsed
definitions are cached under ``$SIM_CACHE_DIR/pint`` (default ``~/.cache/sim/pint``), so later processes
build the registry in ~0.05 s. ``sim.units.ureg`` is that registry. Everything inside the toolkit is SI
(m, s, kg, mol, K, A, V, Pa); this module is the only place that knows other units.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from sim.errors import InputError

# SI 2019 defining constants (exact): N_A, e, k; hence F = N_A e and R = N_A k exactly (CODATA 2018)
_AVOGADRO = 6.02214076e23        # 1/mol
_ELEMENTARY_CHARGE = 1.602176634e-19   # C
_BOLTZMANN = 1.380649e-23        # J/K
FARADAY = _AVOGADRO * _ELEMENTARY_CHARGE    # C/mol
GAS_CONSTANT = _AVOGADRO * _BOLTZMANN       # J/(mol K)


def _import_pint():
    """pint, imported without its optional dask and scipy hooks (pint.compat imports both when installed,
    ~0.5 s, for dask-array and scipy interop that unit parsing never uses); modules already imported stay."""
    import sys

    blocked = [name for name in ("dask", "scipy") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None          # makes `import name` raise ImportError inside pint.compat
    try:
        import pint
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return pint


@functools.lru_cache(maxsize=None)
def registry():
    """The package's pint UnitRegistry (built once, on first use)."""
    pint = _import_pint()

    cache = Path(os.environ.get("SIM_CACHE_DIR", Path.home() / ".cache" / "sim")) / "pint"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        reg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True, cache_folder=cache)
    except OSError:          # read-only home: build without the cache
        reg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    reg.formatter.default_format = "~P"
    return reg


def __getattr__(name: str):
    if name == "ureg":
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.lru_cache(maxsize=None)
def _reference(unit: str):
    return registry().Quantity(1.0, unit or "dimensionless")


def si_unit(unit: str) -> str:
    """The SI base unit string for a unit, e.g. "cm^2/s" -> "m ** 2 / s"."""
    ref = _reference(unit).to_base_units()
    return "1" if ref.dimensionless else f"{ref.units:~}"


def to_si(value, unit: str, *, file: str | None = None, key: str | None = None) -> float:
    """Convert ``value`` (a string with a unit, or a bare number) to an SI float of ``unit``'s dimension.

    A bare number is accepted only for dimensionless quantities: a length without a unit
    is ambiguous and is refused with a message naming the expected unit.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(f"expected a quantity in {unit or 'dimensionless'} (e.g. \"1 {unit}\"), got {value!r}",
                         file=file, key=key)
    expected = _reference(unit)
    if isinstance(value, (int, float)):
        if not expected.dimensionless:
            raise InputError(f"missing unit: got the bare number {value!r}, expected a quantity in {unit}, "
                             f"e.g. \"{value} {unit}\"", file=file, key=key)
        return float(value)
    try:
        q = registry().Quantity(value.strip())
    except Exception as exc:  # pint raises several unrelated types for bad strings
        raise InputError(f"cannot read {value!r} as a quantity ({exc}); expected a number with a unit "
                         f"of {unit or 'dimensionless'}, e.g. \"1 {unit}\"", file=file, key=key) from None
    if q.dimensionless and not expected.dimensionless and not isinstance(q.magnitude, bool):
        raise InputError(f"missing unit: got {value!r}, expected a quantity in {unit}, e.g. \"{value.strip()} {unit}\"",
                         file=file, key=key)
    if not q.check(expected.dimensionality):
        raise InputError(f"incompatible unit in {value!r}: expected a quantity convertible to "
                         f"{unit or 'dimensionless'} ({expected.dimensionality})", file=file, key=key)
    return float(q.to_base_units().magnitude) if not q.dimensionless else float(q.to("dimensionless").magnitude)


def fmt(value_si: float, unit: str, digits: int = 4) -> str:
    """Format an SI value in a display unit, e.g. fmt(8e-6, "um") -> "8 µm"."""
    q = registry().Quantity(value_si, si_unit(unit) if si_unit(unit) != "1" else "dimensionless").to(unit or "dimensionless")
    return f"{q.magnitude:.{digits}g} {q.units:~P}".strip()
