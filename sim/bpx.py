"""Import a BPX (Battery Parameter eXchange) JSON file as a ``sim`` parameter set for the positive particle.

BPX describes a whole cell for DFN/SPM models: ``{"Header": {...}, "Parameterisation": {"Cell": {...},
"Electrolyte": {...}, "Positive electrode": {...}, ...}}``, every field named with its unit in brackets.
:func:`bpx_to_toml` maps the fields a single positive-electrode particle needs (``FIELDS``) to a
``sim`` parameter TOML that inherits ``lmr_default``; every mapped entry has the source
``"BPX: <file> <section>.<field>"``. Function-valued fields (OCP, diffusivity) may be a number, a
table ``{"x": [...], "y": [...]}`` or a BPX expression in the stoichiometry ``x``; expressions are
sampled on the stoichiometry window into a table.

Butler–Volmer: BPX gives a rate constant k with i0 = F k √(c_e c_s (c_max − c_s)) and symmetric
transfer (α = 0.5). With x_s = c_s/c_max that is sim's ``i0_model = "sqrt"``,
i0 = 2 i0_ref √(x_s (1 − x_s)), with i0_ref = F k √c_e c_max / 2 (the value at x_s = 0.5).

BPX has no mechanics: Young's modulus, Poisson ratio, ΔV/V0(x) and the fracture parameters are written
as ``assumed:`` entries copied from ``lmr_default`` (``lacking`` in the report), and the particle is a
solid sphere (no void, no pores). See ``docs/physics.md`` M2/M3 for the equations these feed.
"""
from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.io import read_toml
from sim.units import FARADAY

POS, CELL, ELYTE = "Positive electrode", "Cell", "Electrolyte"
#: (BPX section, field) -> (sim key, unit of the BPX value, required)
FIELDS = {
    (POS, "Particle radius [m]"): ("geometry.particle_radius", "m", True),
    (POS, "Diffusivity [m2.s-1]"): ("transport.diffusivity", "m^2/s", True),
    (POS, "Maximum concentration [mol.m-3]"): ("transport.c_max", "mol/m^3", True),
    (POS, "OCP [V]"): ("kinetics.ocv", "V", True),
    (POS, "Reaction rate constant [mol.m-2.s-1]"): ("kinetics.exchange_current_density", "A/m^2", True),
    (ELYTE, "Initial concentration [mol.m-3]"): ("kinetics.exchange_current_density", "mol/m^3", True),
    (POS, "Minimum stoichiometry"): ("transport.x_min", "", False),
    (POS, "Maximum stoichiometry"): ("transport.x_max", "", False),
    (POS, "Diffusivity activation energy [J.mol-1]"): ("transport.activation_energy", "J/mol", False),
    (CELL, "Reference temperature [K]"): ("transport.reference_temperature", "K", False),
    (CELL, "Initial temperature [K]"): ("conditions.temperature", "K", False),
}
#: what a particle model would need that BPX does not carry (taken from lmr_default, marked assumed)
LACKING = ("mechanics.youngs_modulus", "mechanics.poisson_ratio", "mechanics.volume_change",
           "mechanics.tensile_strength", "mechanics.fracture_toughness", "mechanics.weibull_modulus",
           "mechanics.weibull_reference_volume", "mechanics.flaw_size", "mechanics.paris_coefficient",
           "mechanics.paris_exponent", "mechanics.phase_field_length")
SAMPLES = 41                                  # points of a table sampled from a BPX expression
_FUNCS = {"exp": np.exp, "log": np.log, "log10": np.log10, "sqrt": np.sqrt, "tanh": np.tanh, "cosh": np.cosh,
          "sinh": np.sinh, "arctan": np.arctan, "abs": np.abs}
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)


@dataclass
class BPXImport:
    """What :func:`bpx_to_toml` wrote: the TOML path and which fields were mapped, lacking or ignored."""

    toml: Path
    mapped: dict[str, str] = field(default_factory=dict)      # BPX "section.field" -> sim key
    lacking: list[str] = field(default_factory=list)          # sim keys inherited from lmr_default (assumed)
    ignored: list[str] = field(default_factory=list)          # BPX fields of the positive electrode not used


def bpx_to_toml(bpx_file: str | Path, out: str | Path, *, title: str | None = None) -> BPXImport:
    """Read ``bpx_file`` and write the parameter set ``out`` (TOML); check it loads; return the report.

    Malformed input raises :class:`sim.errors.InputError` naming the file and the BPX field.
    Nothing is written unless the result is a valid parameter set.
    """
    src = Path(bpx_file)
    par = _parameterisation(src)
    report = BPXImport(toml=Path(out))
    for (sec, name), (_, _, required) in FIELDS.items():
        if required and name not in par[sec]:
            raise InputError("required field is missing", file=str(src), key=f"Parameterisation.{sec}.{name}")

    def num(sec, name):
        """The number in field ``sec.name``, or None when the (optional) field is absent."""
        return None if name not in par[sec] else _number(par[sec][name], src, sec, name)

    def tag(*fields):
        return f"BPX: {src.name} " + " and ".join(f"{sec}.{name}" for sec, name in fields)

    sections: dict[str, dict] = {"meta": {"title": title or f"Positive-electrode particle from BPX file {src.name}",
                                          "inherits": "lmr_default"}}

    def put(key, entry, source):
        sec, name = key.split(".")
        sections.setdefault(sec, {})[name] = {**entry, "source": source}

    x_min, x_max = num(POS, "Minimum stoichiometry"), num(POS, "Maximum stoichiometry")
    window = (0.0 if x_min is None else x_min, 1.0 if x_max is None else x_max)
    c_max = num(POS, "Maximum concentration [mol.m-3]")
    k, c_e = num(POS, "Reaction rate constant [mol.m-2.s-1]"), num(ELYTE, "Initial concentration [mol.m-3]")

    put("geometry.particle_radius", {"value": f"{num(POS, 'Particle radius [m]')!r} m"},
        tag((POS, "Particle radius [m]")))
    put("geometry.void_radius", {"value": "0 m"}, "assumed: BPX particles are solid spheres")
    put("geometry.pores", {"value": []}, "assumed: BPX particles are solid spheres")
    put("transport.c_max", {"value": f"{c_max!r} mol/m^3"}, tag((POS, "Maximum concentration [mol.m-3]")))
    put("transport.diffusivity", _function(par[POS]["Diffusivity [m2.s-1]"], "m^2/s", "log", window, src,
                                           "Diffusivity [m2.s-1]"), tag((POS, "Diffusivity [m2.s-1]")))
    put("kinetics.ocv", _function(par[POS]["OCP [V]"], "V", "linear", window, src, "OCP [V]"), tag((POS, "OCP [V]")))
    put("kinetics.exchange_current_density", {"value": f"{FARADAY * k * math.sqrt(c_e) * c_max / 2!r} A/m^2"},
        tag((POS, "Reaction rate constant [mol.m-2.s-1]"), (ELYTE, "Initial concentration [mol.m-3]"))
        + ": i0_ref = F k sqrt(c_e) c_max / 2")
    put("kinetics.i0_model", {"value": "sqrt"}, f"BPX: {src.name} Butler–Volmer form i0 = F k sqrt(c_e c_s (c_max - c_s))")
    for a in ("alpha_a", "alpha_c"):
        put(f"kinetics.{a}", {"value": "0.5"}, f"BPX: {src.name} symmetric Butler–Volmer of the BPX standard")
    if x_min is not None:
        put("transport.x_min", {"value": f"{x_min!r}"}, tag((POS, "Minimum stoichiometry")))
    if x_max is not None:
        put("transport.x_max", {"value": f"{x_max!r}"}, tag((POS, "Maximum stoichiometry")))
    put("transport.x_initial", {"value": f"{window[1]!r}"},
        tag((POS, "Maximum stoichiometry")) + " (start fully lithiated, as lmr_default)" if x_max is not None
        else "assumed: fully lithiated start (no stoichiometry window in the BPX file)")
    for (sec, name), (key, unit, _) in FIELDS.items():
        if key in ("transport.activation_energy", "transport.reference_temperature", "conditions.temperature") \
                and num(sec, name) is not None:
            put(key, {"value": f"{num(sec, name)!r} {unit}"}, tag((sec, name)))

    base = read_toml(Path(_lmr_default()))
    for key in LACKING:
        sec, name = key.split(".")
        entry = dict(base[sec][name])
        origin = str(entry.pop("source"))
        put(key, entry, f"assumed: not in BPX; from lmr_default ({origin.removeprefix('assumed: ')})")
    report.lacking = list(LACKING)
    report.mapped = {f"{sec}.{name}": key for (sec, name), (key, _, _) in FIELDS.items() if name in par[sec]}
    used = {name for (sec, name) in FIELDS if sec == POS}
    report.ignored = sorted(set(par[POS]) - used)

    text = _dump_toml(sections, header=f"# Generated by sim.bpx from {src.name}; positive-electrode particle only.\n")
    _validate(text, report.toml, src, {key: field for field, key in report.mapped.items()})
    return report


def _parameterisation(src: Path) -> dict:
    try:
        data = json.loads(src.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", file=str(src)) from None
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}", file=str(src)) from None
    if not isinstance(data, dict) or not isinstance(data.get("Parameterisation"), dict):
        raise InputError('not a BPX file: no "Parameterisation" object at the top level', file=str(src),
                         key="Parameterisation")
    par = data["Parameterisation"]
    for sec in (POS, ELYTE):
        if not isinstance(par.get(sec), dict):
            raise InputError(f'missing section "{sec}" (an object of fields)', file=str(src),
                             key=f"Parameterisation.{sec}")
    par.setdefault(CELL, {})
    return par


def _number(v, src: Path, sec: str, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InputError(f"expected a finite number, got {v!r}", file=str(src), key=f"Parameterisation.{sec}.{name}")
    return float(v)


def _function(v, unit: str, interpolation: str, sto: tuple[float, float], src: Path, name: str) -> dict:
    """A BPX number, table or expression -> a sim table entry (x = stoichiometry)."""
    key = f"Parameterisation.{POS}.{name}"
    if isinstance(v, dict):
        xs, ys = v.get("x"), v.get("y")
        if not (isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys) >= 2
                and all(isinstance(q, (int, float)) and not isinstance(q, bool) for q in xs + ys)):
            raise InputError('a table needs "x" and "y" lists of numbers of equal length >= 2', file=str(src), key=key)
        x, y = np.asarray(xs, float), np.asarray(ys, float)
    elif isinstance(v, str):
        x = np.round(np.linspace(sto[0], sto[1], SAMPLES), 6)
        y = _evaluate(v, x, src, key)
    else:
        return {"value": f"{_number(v, src, POS, name)!r} {unit}"}
    if interpolation == "log" and np.any(y <= 0):
        raise InputError("values must be > 0 over the stoichiometry window", file=str(src), key=key)
    return {"x": [float(q) for q in x], "y": [float(q) for q in y], "x_unit": "", "y_unit": unit,
            "interpolation": interpolation}


def _evaluate(expr: str, x: np.ndarray, src: Path, key: str) -> np.ndarray:
    """Evaluate a BPX expression in ``x`` with numbers, + - * / **, and the functions in ``_FUNCS`` only."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise InputError(f"cannot parse the expression {expr!r}", file=str(src), key=key) from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Load, *_OPS)) \
            or (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))) \
            or (isinstance(node, ast.Name) and (node.id == "x" or node.id in _FUNCS)) \
            or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
                and len(node.args) == 1 and not node.keywords)
        if not ok:
            raise InputError(f"unsupported term {ast.unparse(node)!r} in the expression; allowed: numbers, x, "
                             f"+ - * / **, {', '.join(_FUNCS)}", file=str(src), key=key)
    with np.errstate(all="ignore"):
        y = eval(compile(tree, "<bpx>", "eval"), {"__builtins__": {}, **_FUNCS}, {"x": x})  # noqa: S307 (checked AST)
    y = np.broadcast_to(np.asarray(y, float), x.shape)
    if not np.all(np.isfinite(y)):
        raise InputError("the expression is not finite over the stoichiometry window", file=str(src), key=key)
    return y


def _lmr_default() -> Path:
    from sim.resources import parameter_set

    return parameter_set("lmr_default")


def _validate(text: str, out: Path, src: Path, fields: dict[str, str]) -> None:
    """Write ``text`` to ``out`` only if it loads as a parameter set; else name the BPX field it came from."""
    from sim.io import write_text_atomic
    from sim.params import load_params

    tmp = out.with_name(f".{out.stem}.check.toml")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text, encoding="utf-8")
    try:
        load_params(tmp)
    except InputError as err:
        where = f"Parameterisation.{fields[err.key]}" if err.key in fields else None
        raise InputError(f"gives an invalid {err.key}: {err.detail}", file=str(src), key=where) from None
    finally:
        tmp.unlink()
    write_text_atomic(out, text)


def _dump_toml(sections: dict[str, dict], header: str = "") -> str:
    lines = [header.rstrip("\n")] if header else []
    for sec, entries in sections.items():
        lines.append(f"\n[{sec}]")
        for name, value in entries.items():
            lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(v) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(q)}" for k, q in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(q) for q in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(float(v)) if isinstance(v, float) else str(v)
    return json.dumps(str(v), ensure_ascii=False)   # a TOML basic string is a JSON string
