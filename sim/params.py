"""Parameter sets: TOML files with a unit and a source for every value, loaded once into SI.

A parameter file (``params/<name>.toml``) has a ``[meta]`` table and one table per section.
Every entry is an inline table with a ``source`` (paper/DOI/table, or ``assumed: <why>``)
and either a scalar ``value`` with its unit::

    particle_radius = { value = "8 um", source = "Liu 2024, Fig. 5 caption" }

or a function-valued table y(x) with units::

    diffusivity = { x = [0.0, 0.5, 1.0], y = ["1e-14 cm^2/s", ...], x_unit = "", y_unit = "cm^2/s",
                    interpolation = "log", source = "Li 2019, Fig. 4c" }

(``y`` may also be bare numbers when ``y_unit`` is given). A set inherits from another with
``meta.inherits = "<name>"`` and overrides entries one by one.

:func:`load_params` returns a frozen :class:`ParameterSet` of typed sections holding SI floats
and :class:`Table` objects; every bad entry raises :class:`~sim.errors.InputError` naming the
file, the key and what is allowed.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from sim import resources
from sim.errors import InputError
from sim.io import read_toml
from sim.units import si_unit, to_si

PARAMS_DIR = resources.data_dir("params")


# --------------------------------------------------------------------------- value types
@dataclass(frozen=True)
class Table:
    """A function-valued parameter y(x), tabulated; x and y in SI.

    ``interpolation="log"`` interpolates log(y) linearly (for diffusivities spanning decades).
    Outside the table the end values are held.
    """

    x: np.ndarray
    y: np.ndarray
    interpolation: str = "linear"
    x_unit: str = "1"
    y_unit: str = "1"

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        if self.interpolation == "log":
            return np.exp(np.interp(x, self.x, np.log(self.y)))
        return np.interp(x, self.x, self.y)

    @classmethod
    def constant(cls, value: float, y_unit: str = "1") -> "Table":
        return cls(np.array([0.0, 1.0]), np.array([value, value]), "linear", "1", y_unit)

    def to_toml(self) -> dict:
        return {"x": self.x.tolist(), "y": self.y.tolist(), "x_unit": self.x_unit, "y_unit": self.y_unit,
                "interpolation": self.interpolation}


@dataclass(frozen=True)
class Pore:
    """A spherical pore: radius (m) and centre (x, y, z) in m relative to the particle centre."""

    radius: float
    centre: tuple[float, float, float]


# --------------------------------------------------------------------------- schema helpers
def quantity(unit: str, *, gt=None, ge=None, lt=None, le=None, allow_inf=False, default=dataclasses.MISSING,
             doc: str = ""):
    """A scalar entry in ``unit`` with an allowed open/closed interval (``allow_inf``: "inf" is meaningful)."""
    return field(default=default, metadata=dict(kind="quantity", unit=unit, gt=gt, ge=ge, lt=lt, le=le,
                                                allow_inf=allow_inf, doc=doc))


def table(x_unit: str, y_unit: str, *, y_gt=None, y_ge=None, default=dataclasses.MISSING, doc: str = ""):
    """A function-valued entry y(x); a scalar value is accepted and becomes a constant table."""
    return field(default=default, metadata=dict(kind="table", x_unit=x_unit, unit=y_unit, gt=y_gt, ge=y_ge,
                                                lt=None, le=None, doc=doc))


def choice(*options: str, default=dataclasses.MISSING, doc: str = ""):
    return field(default=default, metadata=dict(kind="choice", options=options, doc=doc))


def pores(default=(), doc: str = ""):
    return field(default=default, metadata=dict(kind="pores", unit="m", doc=doc))


def _interval(md) -> str:
    lo = f"> {md['gt']:g}" if md.get("gt") is not None else (f">= {md['ge']:g}" if md.get("ge") is not None else "")
    hi = f"< {md['lt']:g}" if md.get("lt") is not None else (f"<= {md['le']:g}" if md.get("le") is not None else "")
    unit = si_unit(md["unit"])
    return " and ".join(p for p in (lo, hi) if p) + ("" if unit == "1" else f" {unit}")


def _check_range(v: float, md, file, key):
    ok = (md.get("gt") is None or v > md["gt"]) and (md.get("ge") is None or v >= md["ge"]) and \
         (md.get("lt") is None or v < md["lt"]) and (md.get("le") is None or v <= md["le"])
    if math.isinf(v) and not md.get("allow_inf"):
        raise InputError(f"non-physical value {v:g} (infinite); allowed: a finite value {_interval(md)}",
                         file=file, key=key)
    if not ok or math.isnan(v):
        raise InputError(f"non-physical value {v:g} (SI); allowed: {_interval(md)}", file=file, key=key)


# --------------------------------------------------------------------------- sections
@dataclass(frozen=True, kw_only=True)
class Geometry:
    """Secondary particle (M2/M3): outer radius, central void, pores (all m)."""

    particle_radius: float = quantity("um", gt=0, le=1e-3, doc="outer radius of the secondary particle (<= 1 mm)")
    void_radius: float = quantity("um", ge=0, le=1e-3, default=0.0, doc="central void radius (0: solid)")
    pores: tuple[Pore, ...] = pores(doc="pores: list of {radius, centre=[x, y, z]}")


@dataclass(frozen=True, kw_only=True)
class Primary:
    """Primary particle (M1): a sphere, or an ellipsoid with semi-axes (a, b, c)."""

    radius: float = quantity("nm", gt=0, le=1e-4, doc="equivalent-sphere radius (<= 100 µm)")
    aspect_ratio: float = quantity("", ge=0.01, le=100, default=1.0, doc="c/a of a spheroid (1: sphere)")


@dataclass(frozen=True, kw_only=True)
class MeshSizes:
    """Target element sizes for gmsh (m)."""

    size_outer: float = quantity("um", gt=0, le=1e-3, doc="element size at the outer surface and in the bulk")
    size_inner: float = quantity("um", gt=0, le=1e-3, doc="element size on void and pore surfaces")
    size_primary: float = quantity("nm", gt=0, le=1e-4, default=5e-9, doc="element size in primary particles")


@dataclass(frozen=True, kw_only=True)
class Conditions:
    temperature: float = quantity("K", gt=0, le=2000, doc="operating temperature")


@dataclass(frozen=True, kw_only=True)
class Transport:
    """Li transport (M2)."""

    c_max: float = quantity("mol/m^3", gt=0, doc="Li site concentration at x = 1")
    x_initial: float = quantity("", ge=0, le=1, doc="initial Li fraction c/c_max (uniform)")
    x_min: float = quantity("", ge=0, le=1, doc="Li fraction at full charge (capacity window)")
    x_max: float = quantity("", ge=0, le=1, doc="Li fraction at full discharge (capacity window)")
    diffusivity: Table = table("", "m^2/s", y_gt=0, doc="D(x) at the reference temperature")
    activation_energy: float = quantity("J/mol", ge=0, default=0.0, doc="Arrhenius activation energy of D")
    reference_temperature: float = quantity("K", gt=0, default=298.0, doc="temperature of the D(x) table")
    temperature_min: float = quantity("K", gt=0, default=0.0 + 1e-9, doc="Arrhenius T is clamped to [min, max]")
    temperature_max: float = quantity("K", gt=0, default=1e9, doc="Arrhenius T is clamped to [min, max]")


@dataclass(frozen=True, kw_only=True)
class Kinetics:
    """Butler–Volmer kinetics on the outer surface (M2)."""

    exchange_current_density: float = quantity("A/m^2", gt=0, doc="i0 at x_s = 0.5 (reference)")
    i0_model: str = choice("constant", "sqrt", default="constant",
                           doc="constant: i0 = i0_ref; sqrt: i0 = 2 i0_ref sqrt(x_s (1 - x_s))")
    alpha_a: float = quantity("", gt=0, lt=1, default=0.5)
    alpha_c: float = quantity("", gt=0, lt=1, default=0.5)
    ocv: Table = table("", "V", doc="open-circuit potential U(x) vs Li/Li+")


@dataclass(frozen=True, kw_only=True)
class Mechanics:
    """Diffusion-induced stress (M3)."""

    youngs_modulus: float = quantity("GPa", gt=0)
    poisson_ratio: float = quantity("", gt=-1, lt=0.5)
    volume_change: Table = table("", "", doc="ΔV/V0(x) relative to the pristine lattice")
    strain_model: str = choice("small", "finite", default="small",
                               doc="small: eigenstrain (1/3)ΔV/V0 I; finite: F = Fe (1+ΔV/V0)^(1/3) I")
    # fracture (physics M5); all optional: onset screening runs when tensile_strength is given
    tensile_strength: float | None = quantity("MPa", gt=0, default=None,
                                              doc="σ_f: strength criterion σ1 >= σ_f; also the Weibull scale σ0")
    fracture_toughness: float | None = quantity("MPa*m^0.5", gt=0, default=None,
                                                doc="K_Ic; with E, ν gives G_c = K_Ic² (1 − ν²)/E")
    fracture_energy: float | None = quantity("J/m^2", gt=0, default=None,
                                             doc="G_c; with E, ν gives K_Ic = sqrt(G_c E/(1 − ν²))")
    weibull_modulus: float | None = quantity("", gt=0, default=None, doc="Weibull modulus m")
    weibull_reference_volume: float | None = quantity("um^3", gt=0, default=None, doc="Weibull reference volume V0")
    flaw_size: float | None = quantity("nm", gt=0, default=None, doc="initial flaw depth a0 (LEFM, Paris law)")
    paris_coefficient: float | None = quantity("", gt=0, default=None,
                                               doc="Paris C in da/dN = C ΔK^m, SI: m/cycle per (Pa m^0.5)^m")
    paris_exponent: float | None = quantity("", gt=0, default=None, doc="Paris exponent m")
    phase_field_length: float | None = quantity("um", gt=0, default=None, doc="phase-field length scale ℓ")
    fatigue_threshold: float | None = quantity("J/m^3", gt=0, default=None,
                                               doc="Carrara 2020 fatigue threshold α_T (default G_c/(12 ℓ))")


@dataclass(frozen=True, kw_only=True)
class Oxygen:
    """Oxygen-vacancy diffusion in primary particles (M1)."""

    diffusivity: float = quantity("cm^2/s", gt=0, doc="D_O in the delithiated state at the reference T")
    activation_energy: float = quantity("J/mol", ge=0, default=0.0)
    reference_temperature: float = quantity("K", gt=0, default=298.15)
    surface_vacancy_fraction: float = quantity("", ge=0, lt=1, doc="y_s on the O sublattice at the surface")
    bulk_vacancy_fraction: float = quantity("", ge=0, lt=1, default=0.0, doc="initial y in the bulk")
    surface_exchange_rate: float = quantity("m/s", gt=0, allow_inf=True, default=math.inf,
                                            doc="Robin k; inf: fixed surface value")
    oxygen_per_formula: float = quantity("", gt=0, default=2.0)
    mn_per_formula: float = quantity("", gt=0, doc="Mn per formula unit")
    mn_charge_share: float = quantity("", gt=0, le=1, default=1.0, doc="share of the vacancy charge taken by Mn")
    lamella_thickness: float = quantity("nm", gt=0, doc="thickness of the imaged lamella")
    blur_fwhm: float = quantity("nm", ge=0, default=0.0, doc="instrument resolution (Gaussian FWHM)")
    formation_layer_thickness: float = quantity("nm", ge=0, default=0.0,
                                                doc="δ: surface layer at formation_vacancy_fraction when cycle 1 starts")
    formation_vacancy_fraction: float = quantity("", ge=0, lt=1, default=0.0,
                                                 doc="y_f in the formation layer (O released on formation)")


@dataclass(frozen=True, kw_only=True)
class Degradation:
    """How the O-vacancy field of M1 changes the Li particle (the degradation loop, sim/scenarios/aging.py).

    θ = min(1, m/m_c) is the deactivated fraction, m the local Mn³⁺ excess; each property X of the Li particle
    becomes X · (1 − (1 − f_X) θ) with the factor f_X of fully deactivated material."""

    mn3_deactivated: float = quantity("", gt=0, le=1, doc="Mn³⁺ excess m_c at which material is fully deactivated")
    capacity_factor: float = quantity("", gt=0, le=1, doc="active Li sites of deactivated material / fresh (also "
                                                          "its ΔV/V0: inactive material does not swell)")
    diffusivity_factor: float = quantity("", gt=0, le=1, doc="D of deactivated material / fresh D")
    exchange_current_factor: float = quantity("", gt=0, le=1, doc="i0 of a deactivated surface / fresh i0")
    kinetic_depth: float = quantity("nm", gt=0, le=1e-3, doc="depth below the surface whose mean θ sets i0")
    volume_change_per_mn3: float = quantity("", ge=0, le=1e3, default=0.0,
                                            doc="ΔV/V0(x) amplitude growth per unit primary-particle Mn³⁺ excess")


SECTIONS: dict[str, type] = {
    "geometry": Geometry, "primary": Primary, "mesh": MeshSizes, "conditions": Conditions,
    "transport": Transport, "kinetics": Kinetics, "mechanics": Mechanics, "oxygen": Oxygen,
    "degradation": Degradation,
}


@dataclass(frozen=True)
class ParameterSet:
    """A loaded parameter set: typed sections with SI values (``None`` where the file has none)."""

    name: str
    meta: dict
    geometry: Geometry | None = None
    primary: Primary | None = None
    mesh: MeshSizes | None = None
    conditions: Conditions | None = None
    transport: Transport | None = None
    kinetics: Kinetics | None = None
    mechanics: Mechanics | None = None
    oxygen: Oxygen | None = None
    degradation: Degradation | None = None
    sources: dict = field(default_factory=dict, repr=False)  # "section.key" -> source text
    raw: dict = field(default_factory=dict, repr=False)      # "section.key" -> entry as written (merged)
    files: tuple = ()                                        # files read, child first

    def require(self, *sections: str) -> None:
        """Fail clearly when a model needs a section this set lacks."""
        missing = [s for s in sections if getattr(self, s) is None]
        if missing:
            raise InputError(f"parameter set has no [{'], ['.join(missing)}] section, which this model needs",
                             file=self.files[0] if self.files else self.name)

    def override(self, assignments: dict[str, Any], origin: str | dict[str, str] = "--set") -> "ParameterSet":
        """A new set with entries replaced, e.g. ``{"geometry.void_radius": "0.3 um"}``; validated like a file.

        ``origin``: where the assignments come from, named in error messages: one name for all
        (``"--set"``, ``"case.toml [set]"``) or a dict key -> name (``sim.case.Layers.origins``).
        """
        origin_of = (lambda k: origin.get(k, "--set")) if isinstance(origin, dict) else (lambda k: origin)  # noqa: E731
        merged = {k: dict(v) for k, v in self.raw.items()}
        for key, value in assignments.items():
            sec, _, name = key.partition(".")
            allowed = {f.name for f in fields(SECTIONS[sec])} if sec in SECTIONS else set()
            if name not in allowed:
                hint = f"keys in [{sec}]: {', '.join(sorted(allowed))}" if allowed else f"sections: {', '.join(SECTIONS)}"
                raise InputError(f"unknown parameter; allowed {hint}", file=origin_of(key), key=key)
            entry = dict(merged.get(key, {}))
            entry["_file"] = origin_of(key)
            if isinstance(value, dict):
                entry = {**{k: v for k, v in entry.items() if k not in ("value", "x", "y")}, **value}
            else:
                entry.pop("x", None), entry.pop("y", None)
                entry["value"] = value
            entry["source"] = f"override ({entry.get('source', 'new entry')})" \
                if not str(entry.get("source", "")).startswith("override") else entry["source"]
            merged[key] = entry
        for given, other in (("mechanics.fracture_energy", "mechanics.fracture_toughness"),
                             ("mechanics.fracture_toughness", "mechanics.fracture_energy")):
            if given in assignments and other not in assignments:
                merged.pop(other, None)     # overriding one of the pair re-derives the other
        first = origin_of(next(iter(assignments))) if assignments else "--set"
        return _build(self.name, self.meta, merged, (first,) + tuple(self.files))

    def as_dict(self, units: str = "si") -> dict:
        """Resolved values with their sources, for result folders.

        ``units="si"``: ``value`` in SI with its SI base unit; ``units="display"``: ``value`` in the
        unit the field is documented in, as users write it (``8 µm``, ``150 GPa``, ``cm²/s``, ``V``),
        with ``value_si`` beside it.
        """
        out: dict[str, Any] = {"name": self.name, "meta": self.meta, "files": [str(f) for f in self.files]}
        for sec in SECTIONS:
            obj = getattr(self, sec)
            if obj is None:
                continue
            out[sec] = {}
            for f in fields(obj):
                v = getattr(obj, f.name)
                if isinstance(v, Table):
                    v = v.to_toml()
                elif isinstance(v, tuple):
                    v = [dataclasses.asdict(p) for p in v]
                entry = {"value": v, "unit": si_unit(f.metadata.get("unit", "")) if
                         f.metadata.get("kind") in ("quantity", "table") else None,
                         "source": self.sources.get(f"{sec}.{f.name}", "default")}
                if units == "display" and f.metadata.get("kind") == "pores":
                    entry = {**_display(v, "um"), "value_si": v, "source": entry["source"]}
                elif units == "display" and entry["unit"] is not None:
                    entry = {**_display(v, f.metadata["unit"]), "value_si": v, "source": entry["source"]}
                out[sec][f.name] = entry
        return out


def _display(v, unit: str) -> dict:
    """``{"value": v in unit, "unit": unit as users write it}`` for an SI scalar, table (y) or pore list."""
    from sim.units import ureg

    def conv(x):
        if x is None or (isinstance(x, float) and math.isinf(x)):
            return x
        return float(ureg.Quantity(x, si_unit(unit) if si_unit(unit) != "1" else "dimensionless").to(
            unit or "dimensionless").magnitude)

    shown = f"{ureg.Unit(unit):~P}".replace("⁰⋅⁵", "^0.5") if unit else ""  # pint writes m^0.5 as m⁰⋅⁵
    if isinstance(v, dict):                                   # a table: y in the display unit, x as is
        return {"value": {**v, "y": [conv(y) for y in v["y"]], "y_unit": shown}, "unit": shown}
    if isinstance(v, list):                                   # pores: lengths in the display unit
        return {"value": [{"radius": conv(p["radius"]), "centre": [conv(c) for c in p["centre"]]} for p in v],
                "unit": shown}
    return {"value": conv(v), "unit": shown}


# --------------------------------------------------------------------------- loading
def resolve_path(name_or_path: str | Path) -> Path:
    """``"liu2024"`` -> ``params/liu2024.toml``; a path is used as given."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return p
    candidate = PARAMS_DIR / f"{name_or_path}.toml"
    if not candidate.exists():
        known = ", ".join(sorted(q.stem for q in PARAMS_DIR.glob("*.toml")))
        raise InputError(f"no parameter set named {str(name_or_path)!r}; known sets: {known}")
    return candidate


def _read(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict, dict[str, dict], tuple[Path, ...]]:
    """Read a file and its ancestors; return (meta, merged entries 'section.key' -> entry, files)."""
    if path.resolve() in [p.resolve() for p in chain]:
        raise InputError("inheritance cycle: " + " -> ".join(str(p) for p in chain + (path,)) +
                         "; a set may not inherit from itself", file=str(chain[-1]), key="meta.inherits")
    data = read_toml(path, "parameter file")
    meta = data.pop("meta", {})
    if not isinstance(meta, dict):
        raise InputError("[meta] must be a table", file=str(path), key="meta")
    has_entries = any(not isinstance(t, dict) or t for t in data.values())  # a non-table is refused below
    if not has_entries and "inherits" not in meta:
        raise InputError(f"empty parameter set: no sections and no meta.inherits; allowed sections: "
                         f"{', '.join(SECTIONS)}", file=str(path))
    entries: dict[str, dict] = {}
    files: tuple[Path, ...] = (path,)
    if "inherits" in meta:
        name = str(meta["inherits"])
        parent = path.parent / (name if name.endswith(".toml") else f"{name}.toml")  # a sibling file first
        if not parent.exists():
            try:
                parent = resolve_path(name)
            except InputError as exc:
                raise InputError(exc.detail, file=str(path), key="meta.inherits") from None
        _, entries, parent_files = _read(parent, chain + (path,))
        files = files + parent_files
    for sec, table_ in data.items():
        if sec not in SECTIONS:
            raise InputError(f"unknown section [{sec}]; allowed sections: {', '.join(SECTIONS)}", file=str(path), key=sec)
        if not isinstance(table_, dict):
            raise InputError("a section must be a table", file=str(path), key=sec)
        allowed = {f.name for f in fields(SECTIONS[sec])}
        for key, entry in table_.items():
            full = f"{sec}.{key}"
            if key not in allowed:
                raise InputError(f"unknown key; allowed keys in [{sec}]: {', '.join(sorted(allowed))}",
                                 file=str(path), key=full)
            if not isinstance(entry, dict) or not ({"value"} <= entry.keys() or {"x", "y"} <= entry.keys()):
                raise InputError('each entry must be an inline table with "value" (or "x" and "y" for a table) '
                                 'and "source", e.g. { value = "8 um", source = "Liu 2024" }', file=str(path), key=full)
            if not str(entry.get("source", "")).strip():
                raise InputError('missing "source": cite the paper/DOI/table, or write "assumed: <why>"',
                                 file=str(path), key=full)
            entries[full] = {**entry, "_file": str(path)}
    return meta, entries, files


def load_params(name_or_path: str | Path, overrides: dict[str, Any] | None = None,
                origin: str | dict[str, str] = "--set") -> ParameterSet:
    """Load a parameter set by name (``params/<name>.toml``) or path; apply ``overrides``; return SI values.

    ``origin`` names where the overrides come from in error messages (see :meth:`ParameterSet.override`).
    """
    path = resolve_path(name_or_path)
    meta, entries, files = _read(path)
    pset = _build(path.stem, meta, entries, files)
    return pset.override(overrides, origin) if overrides else pset


def _convert(md, entry: dict, file: str, key: str):
    kind = md["kind"]
    if kind == "quantity":
        v = to_si(entry["value"], md["unit"], file=file, key=key)
        _check_range(v, md, file, key)
        return v
    if kind == "choice":
        v = entry["value"]
        if v not in md["options"]:
            raise InputError(f"{v!r} is not allowed; choose one of {', '.join(md['options'])}", file=file, key=key)
        return v
    if kind == "pores":
        return _convert_pores(entry["value"], file, key)
    # table
    if "value" in entry and "x" not in entry:
        v = to_si(entry["value"], md["unit"], file=file, key=key)
        _check_range(v, md, file, key)
        return Table.constant(v, si_unit(md["unit"]))
    x_unit, y_unit = entry.get("x_unit", md["x_unit"]), entry.get("y_unit", md["unit"])
    xs, ys = entry["x"], entry["y"]
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys) or len(xs) < 2:
        raise InputError(f"malformed table: x and y must be lists of equal length >= 2 (got {len(xs) if isinstance(xs, list) else xs!r} "
                         f"and {len(ys) if isinstance(ys, list) else ys!r})", file=file, key=key)

    def col(values, unit, what):
        out = []
        for i, v in enumerate(values):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = f"{v} {unit}" if unit else v
            out.append(to_si(v, md["x_unit"] if what == "x" else md["unit"], file=file, key=f"{key}.{what}[{i}]"))
        return np.array(out)

    x, y = col(xs, x_unit, "x"), col(ys, y_unit, "y")
    if np.any(np.diff(x) <= 0):
        raise InputError("malformed table: x must be strictly increasing", file=file, key=key)
    for i, v in enumerate(y):
        _check_range(v, md, file, f"{key}.y[{i}]")
    interp = entry.get("interpolation", "linear")
    if interp not in ("linear", "log"):
        raise InputError(f"interpolation {interp!r} not allowed; choose linear or log", file=file, key=key)
    if interp == "log" and np.any(y <= 0):
        raise InputError("log interpolation needs y > 0", file=file, key=key)
    return Table(x, y, interp, si_unit(md["x_unit"]), si_unit(md["unit"]))


def _convert_pores(value, file, key) -> tuple[Pore, ...]:
    if not isinstance(value, list):
        raise InputError('pores must be a list of { radius = "0.2 um", centre = ["0 um", "0 um", "1 um"] }',
                         file=file, key=key)
    out = []
    for i, p in enumerate(value):
        k = f"{key}[{i}]"
        if not isinstance(p, dict) or set(p) != {"radius", "centre"}:
            raise InputError('each pore needs exactly "radius" and "centre" = [x, y, z]', file=file, key=k)
        r = to_si(p["radius"], "um", file=file, key=f"{k}.radius")
        if r <= 0:
            raise InputError(f"pore radius must be > 0 m, got {r:g}", file=file, key=f"{k}.radius")
        c = p["centre"]
        if not isinstance(c, list) or len(c) != 3:
            raise InputError("centre must be a list of three lengths [x, y, z]", file=file, key=f"{k}.centre")
        out.append(Pore(r, tuple(to_si(ci, "um", file=file, key=f"{k}.centre[{j}]") for j, ci in enumerate(c))))
    return tuple(out)


def _check_geometry(g: Geometry, file_of) -> None:
    """Void inside the particle; pores clear of each other, of the void and of the outer surface."""
    R = g.particle_radius
    file = file_of("geometry.pores")
    if g.void_radius >= R:
        raise InputError(f"void radius {g.void_radius:g} m must be smaller than the particle radius {R:g} m",
                         file=file_of("geometry.void_radius"), key="geometry.void_radius")
    for i, p in enumerate(g.pores):
        d = float(np.linalg.norm(p.centre))
        if d + p.radius >= R:
            raise InputError(f"pore {i} (centre at {d:g} m, radius {p.radius:g} m) crosses the outer surface "
                             f"(particle radius {R:g} m); need |centre| + radius < particle radius",
                             file=file, key=f"geometry.pores[{i}]")
        if g.void_radius > 0 and d - p.radius <= g.void_radius:
            raise InputError(f"pore {i} overlaps the central void (gap {d - p.radius - g.void_radius:g} m); "
                             f"need |centre| - radius > void radius", file=file, key=f"geometry.pores[{i}]")
        for j, q in enumerate(g.pores[:i]):
            gap = float(np.linalg.norm(np.subtract(p.centre, q.centre))) - p.radius - q.radius
            if gap <= 0:
                raise InputError(f"pore {i} overlaps pore {j} (gap {gap:g} m); pores must not touch",
                                 file=file, key=f"geometry.pores[{i}]")


def _fracture_pair(m: Mechanics, entries: dict[str, dict], top: str) -> Mechanics:
    """Complete K_Ic and G_c from each other (G_c = K_Ic² (1 − ν²)/E, plane strain); both given must agree to 1 %."""
    e_prime = m.youngs_modulus / (1 - m.poisson_ratio ** 2)
    k, g = m.fracture_toughness, m.fracture_energy
    if k is not None and g is not None:
        if abs(k * k / e_prime - g) > 1e-2 * g:
            file = entries.get("mechanics.fracture_energy", {}).get("_file", top)
            raise InputError(f"fracture_energy {g:g} J/m^2 disagrees with fracture_toughness {k:g} Pa m^0.5, which "
                             f"gives G_c = K_Ic² (1 − ν²)/E = {k * k / e_prime:g} J/m^2; give one of them, or both "
                             f"within 1 %", file=file, key="mechanics.fracture_energy")
        return m
    if k is not None:
        return dataclasses.replace(m, fracture_energy=k * k / e_prime)
    if g is not None:
        return dataclasses.replace(m, fracture_toughness=math.sqrt(g * e_prime))
    return m


def _build(name: str, meta: dict, entries: dict[str, dict], files) -> ParameterSet:
    sections: dict[str, Any] = {}
    present = {k.split(".")[0] for k in entries}
    top = str(files[0]) if files else name
    for sec in present:
        cls = SECTIONS[sec]
        kwargs = {}
        for f in fields(cls):
            full = f"{sec}.{f.name}"
            if full in entries:
                entry = entries[full]
                kwargs[f.name] = _convert(f.metadata, entry, entry.get("_file", top), full)
            elif f.default is dataclasses.MISSING:
                raise InputError(f"missing required entry ({f.metadata.get('doc', '')}; unit "
                                 f"{f.metadata.get('unit', '-') or 'dimensionless'})", file=top, key=full)
        sections[sec] = cls(**kwargs)
    if "geometry" in sections:
        _check_geometry(sections["geometry"], lambda key: entries.get(key, {}).get("_file", top))
    if "mechanics" in sections:
        sections["mechanics"] = _fracture_pair(sections["mechanics"], entries, top)
    t = sections.get("transport")
    if t is not None and not (t.x_min < t.x_max):
        raise InputError(f"x_min ({t.x_min:g}) must be below x_max ({t.x_max:g})", file=top, key="transport.x_min")
    sources = {k: v["source"] for k, v in entries.items()}
    m = sections.get("mechanics")
    if m is not None and m.fracture_energy is not None:
        for given, derived in (("fracture_toughness", "fracture_energy"), ("fracture_energy", "fracture_toughness")):
            if f"mechanics.{given}" in entries and f"mechanics.{derived}" not in entries:
                sources[f"mechanics.{derived}"] = f"derived from mechanics.{given} with E, ν: G_c = K_Ic² (1 − ν²)/E"
    raw = {k: {kk: vv for kk, vv in v.items()} for k, v in entries.items()}
    return ParameterSet(name=name, meta=meta, sources=sources, raw=raw, files=tuple(files), **sections)
