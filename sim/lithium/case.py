"""Case files for ``sim run``: a parameter set, a geometry, solver and output options, and a protocol.

A case file (TOML)::

    model = "lithium"                    # the only model ``sim run`` knows for now
    title = "Liu 2024, 10C"              # optional, copied into summary.json
    params = "liu2024"                   # name in params/ or a path relative to the case file
    geometry = "axisym"                  # radial | hollow | axisym | 3d

    [parameters]                         # optional overrides of parameter-set entries, with units
    "transport.x_initial" = 0.34         # (dotted keys may also be written unquoted)

    [mesh]                               # optional
    size_inner = "0.03 um"               # size_outer / size_inner / size_primary: the [mesh] section of the set
    n_cells = 200                        # radial | hollow: number of 1D cells (default: from size_outer)
    order = 2                            # axisym | 3d: geometry order 1 or 2 (default 2)

    [solver]                             # optional
    coupling = "one-way"                 # or "two-way" (stress feeds back into transport)
    mechanics = true
    dt_initial = "1 ms"
    dt_max = "5 s"
    degree_c = 1                         # Lagrange degree of c
    degree_u = 2                         # Lagrange degree of the displacement

    [output]                             # optional
    maps_at_dod = [0.1, "20 %"]          # PNG maps (hoop, von Mises, Li fraction) when these DODs are reached
    probes = { bridge = "bridge", pole = ["0 um", "8 um"] }  # "bridge" | "surface" | coordinates
    vtx = true                           # write VTX (.bp) fields
    vtx_every = 1                        # ... every n-th accepted time step (0: only at map DODs and step ends)
    outputs = "full"                     # or "minimal": summary.json and timeseries.csv only (sweeps)
    hot_spots = 3                        # k hot spots of max principal and of hoop stress

    [fracture]                           # optional: model = "none" (default: onset screening only) or
    model = "phase-field"                # "phase-field" with variant, split, residual_stiffness,
    variant = "AT2"                      # tolerance, max_iterations, fatigue (sim.fracture.options)

    [fatigue]                            # optional: Paris-law growth of a flaw at each hot spot
    cycles = 1000                        # cycles to extrapolate the (last repeated) protocol cycle to
    geometry_factor = 1.12               # Y in dK = Y dsigma sqrt(pi a) (1.12: surface flaw)

    [[protocol]]
    step = "discharge at 10C to 20 % DOD"
    [[protocol]]                         # the explicit table form of a step
    kind = "rest"
    until = { time = "1 h" }
    [[protocol]]                         # a cycle repeated 3 times (expanded; at most MAX_STEPS steps)
    repeat = 3
    steps = ["charge at 1C to 4.4 V", "discharge at 1C to 50 % DOD"]

Step strings follow a small strict grammar (see :func:`parse_step`); :func:`load_case` turns a
file (or a dict, e.g. from a sweep) plus overrides into a validated, frozen :class:`Case`.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.io import read_toml
from sim.fracture.options import PhaseFieldOptions
from sim.lithium.protocol import Galvanostatic, Potentiostatic, Rest, Step, Stop
from sim.params import SECTIONS, ParameterSet, load_params, resolve_path
from sim.units import to_si

GEOMETRIES = ("radial", "hollow", "axisym", "3d")
TOP_KEYS = ("model", "title", "params", "geometry", "parameters", "mesh", "solver", "output", "fracture", "fatigue",
            "protocol")
MESH_SIZE_KEYS = ("size_outer", "size_inner", "size_primary")
MESH_KEYS = MESH_SIZE_KEYS + ("n_cells", "order")
SOLVER_KEYS = ("coupling", "mechanics", "dt_initial", "dt_max", "degree_c", "degree_u")
OUTPUT_KEYS = ("maps_at_dod", "probes", "vtx", "vtx_every", "outputs", "hot_spots")
OUTPUTS = ("full", "minimal")
FRACTURE_MODELS = ("none", "phase-field")
FRACTURE_KEYS = ("model", "variant", "split", "residual_stiffness", "tolerance", "max_iterations", "fatigue")
FATIGUE_KEYS = ("cycles", "geometry_factor")
MAX_STEPS = 10000       # protocol steps after expanding repeat = N
PROBE_KEYWORDS = ("bridge", "surface")

# ----------------------------------------------------------------------------------------- step strings
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VOLT = rf"{_NUM}\s*[mk]?V"
_RATE = re.compile(rf"^(?:(?P<n>{_NUM})\s*C|C\s*/\s*(?P<d>{_NUM}))$")
_GALV = re.compile(r"^(?P<dir>charge|discharge)\s+at\s+(?P<rate>\S+(?:\s*C)?)\s+(?P<stops>(?:to|for)\s.*)$",
                   re.IGNORECASE)
_HOLD = re.compile(rf"^hold\s+(?:at\s+)?(?P<v>{_VOLT})\s+(?P<stops>(?:to|for)\s.*)$", re.IGNORECASE)
_REST = re.compile(r"^rest\s+(?:for\s+)?(?P<d>\S.*)$", re.IGNORECASE)
_STOP_FRACTION = re.compile(rf"^to\s+(?P<n>{_NUM})\s*(?P<pct>%)?\s*(?P<what>DOD|SOC)$", re.IGNORECASE)
_STOP_VOLT = re.compile(rf"^to\s+(?P<v>{_VOLT})$")
_STOP_TIME = re.compile(r"^for\s+(?P<d>\S.*)$", re.IGNORECASE)

STEP_FORMS = ('allowed forms: "(charge|discharge) at <rate> <stop> [or <stop> ...]" (e.g. "charge at C/2 to 4.5 V or 2 h") with <rate> like 10C, 0.1C '
              'or C/10; "hold [at] <voltage> <stop> [or <stop> ...]"; "rest [for] <duration>"; where <stop> is '
              '"to <n> % DOD", "to <n> % SOC", "to <voltage>" (e.g. "to 4.5 V") or "for <duration>" (e.g. "for 30 min")')


def parse_step(text: str, *, file: str | None = None, key: str | None = None) -> Step:
    """Read one protocol step string, e.g. ``"discharge at 10C to 20 % DOD"`` or ``"hold 4.5 V for 30 min"``.

    C-rates are in 1/h (``C/10`` = 0.1), DOD/SOC are fractions (``20 %`` or ``0.2``), voltages in V and
    durations in s after conversion. Anything else raises :class:`InputError` listing the allowed forms.
    """
    if not isinstance(text, str):
        raise InputError(f"a step must be a string, got {text!r}; {STEP_FORMS}", file=file, key=key)
    s = " ".join(text.split())

    def bad(why: str):
        return InputError(f"cannot read step {text!r}: {why}; {STEP_FORMS}", file=file, key=key)

    if m := _GALV.match(s):
        rate = _RATE.match(m["rate"].replace(" ", ""))
        if not rate:
            raise bad(f"C-rate {m['rate']!r} is not of the form 10C, 0.1C or C/10")
        c_rate = float(rate["n"]) if rate["n"] else 1.0 / float(rate["d"]) if float(rate["d"]) > 0 else -1.0
        if not c_rate > 0:
            raise bad("the C-rate must be > 0 (the direction says charge or discharge)")
        return Galvanostatic(c_rate, m["dir"].lower(), _parse_stops(m["stops"], bad, file, key))
    if m := _HOLD.match(s):
        voltage = to_si(m["v"], "V", file=file, key=key)
        if not voltage > 0:
            raise bad("the hold voltage must be > 0 V")
        return Potentiostatic(voltage, _parse_stops(m["stops"], bad, file, key))
    if m := _REST.match(s):
        return Rest(Stop(time=_duration(m["d"], bad, file, key)))
    word = s.split(" ", 1)[0].lower()
    if word in ("charge", "discharge", "hold"):
        raise bad(f"a {word} step is {'hold [at] <voltage>' if word == 'hold' else word + ' at <rate>'} followed by "
                  f"at least one stop condition")
    raise bad("unknown step; it must start with charge, discharge, hold or rest")


def _duration(text: str, bad, file, key) -> float:
    if not re.match(rf"^{_NUM}\s*[A-Za-z]+$", text.strip()):
        raise bad(f"{text!r} is not a duration like 30 min, 1 h or 90 s")
    t = to_si(text, "s", file=file, key=key)
    if not t > 0:
        raise bad("a duration must be > 0")
    return t


def _parse_stops(text: str, bad, file, key) -> Stop:
    found: dict[str, float] = {}
    for part in re.split(r"\s+or\s+", text.strip(), flags=re.IGNORECASE):
        if not re.match(r"^(to|for)\s", part, re.IGNORECASE):   # "to 80 % SOC or 4.6 V or 2 h"
            part = f"to {part}" if re.search(r"(%|DOD|SOC|V)$", part, re.IGNORECASE) else f"for {part}"
        if m := _STOP_FRACTION.match(part):
            what, value = m["what"].lower(), float(m["n"]) / (100.0 if m["pct"] else 1.0)
            if not 0.0 <= value <= 1.0:
                raise bad(f"{part!r}: {what.upper()} must be between 0 and 100 %")
        elif m := _STOP_VOLT.match(part):
            what, value = "voltage", to_si(m["v"], "V", file=file, key=key)
            if not value > 0:
                raise bad(f"{part!r}: a voltage cut-off must be > 0 V")
        elif m := _STOP_TIME.match(part):
            what, value = "time", _duration(m["d"], bad, file, key)
        else:
            raise bad(f"cannot read the stop condition {part!r}")
        if what in found:
            raise bad(f"the {what} stop condition is given twice")
        found[what] = value
    return Stop(**found)


def describe_step(step: Step) -> str:
    """The canonical step string (round-trips through :func:`parse_step`)."""
    stops = []
    u = step.until
    if u.dod is not None:
        stops.append(f"to {100 * u.dod:g} % DOD")
    if u.soc is not None:
        stops.append(f"to {100 * u.soc:g} % SOC")
    if u.voltage is not None:
        stops.append(f"to {u.voltage:g} V")
    if u.time is not None:
        stops.append(f"for {u.time:g} s")
    if isinstance(step, Galvanostatic):
        return f"{step.direction} at {step.c_rate:g}C " + " or ".join(stops)
    if isinstance(step, Potentiostatic):
        return f"hold {step.voltage:g} V " + " or ".join(stops)
    return f"rest for {u.time:g} s"


# ----------------------------------------------------------------------------------------- table form
_STEP_TABLE_KEYS = {"galvanostatic": ("kind", "c_rate", "direction", "until"),
                    "potentiostatic": ("kind", "voltage", "until"),
                    "rest": ("kind", "until")}
_UNTIL_KEYS = ("dod", "soc", "voltage", "time")


def parse_step_table(entry: dict, *, file: str | None = None, key: str | None = None) -> Step:
    """The explicit form ``{kind = "galvanostatic", c_rate = 10, direction = "discharge", until = {dod = "20 %"}}``."""
    kind = entry.get("kind")
    if kind not in _STEP_TABLE_KEYS:
        raise InputError(f"kind {kind!r} is not allowed; choose one of {', '.join(_STEP_TABLE_KEYS)} "
                         f"(or give a step string: step = \"...\")", file=file, key=f"{key}.kind")
    allowed = _STEP_TABLE_KEYS[kind]
    for k in entry:
        if k not in allowed:
            raise InputError(f"unknown key for a {kind} step; allowed: {', '.join(allowed)}", file=file,
                             key=f"{key}.{k}")
    until = entry.get("until")
    if not isinstance(until, dict) or not until:
        raise InputError(f"a step needs until = {{ ... }} with at least one of {', '.join(_UNTIL_KEYS)}",
                         file=file, key=f"{key}.until")
    stops: dict[str, float] = {}
    for k, v in until.items():
        where = f"{key}.until.{k}"
        if k in ("dod", "soc"):
            stops[k] = _fraction(v, file, where)
        elif k == "voltage":
            stops[k] = _positive(to_si(v, "V", file=file, key=where), "V", file, where)
        elif k == "time":
            stops[k] = _positive(to_si(v, "s", file=file, key=where), "s", file, where)
        else:
            raise InputError(f"unknown stop condition; allowed: {', '.join(_UNTIL_KEYS)}", file=file, key=where)
    stop = Stop(**stops)
    if kind == "rest":
        if set(stops) != {"time"}:
            raise InputError("a rest stops only on time (until = { time = \"1 h\" })", file=file, key=f"{key}.until")
        return Rest(stop)
    if kind == "potentiostatic":
        if "voltage" not in entry:
            raise InputError('missing the hold voltage, e.g. voltage = "4.5 V"', file=file, key=f"{key}.voltage")
        return Potentiostatic(_positive(to_si(entry["voltage"], "V", file=file, key=f"{key}.voltage"), "V", file,
                                        f"{key}.voltage"), stop)
    rate = entry.get("c_rate")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
        raise InputError(f"c_rate must be a number > 0 (in C, e.g. 10 or 0.1), got {rate!r}", file=file,
                         key=f"{key}.c_rate")
    if entry.get("direction") not in ("charge", "discharge"):
        raise InputError(f"direction must be \"charge\" or \"discharge\", got {entry.get('direction')!r}",
                         file=file, key=f"{key}.direction")
    return Galvanostatic(float(rate), entry["direction"], stop)


def step_to_table(step: Step) -> dict:
    """The explicit table form of a step (SI strings), e.g. to let ``--set protocol[0].c_rate=5`` edit it."""
    until = {k: v for k, v in (("dod", step.until.dod), ("soc", step.until.soc)) if v is not None}
    if step.until.voltage is not None:
        until["voltage"] = f"{step.until.voltage!r} V"
    if step.until.time is not None:
        until["time"] = f"{step.until.time!r} s"
    if isinstance(step, Galvanostatic):
        return {"kind": step.kind, "c_rate": step.c_rate, "direction": step.direction, "until": until}
    if isinstance(step, Potentiostatic):
        return {"kind": step.kind, "voltage": f"{step.voltage!r} V", "until": until}
    return {"kind": step.kind, "until": until}


def _fraction(v, file, key) -> float:
    f = to_si(v, "", file=file, key=key)
    if not 0.0 <= f <= 1.0:
        raise InputError(f"a DOD/SOC must be a fraction in [0, 1] or a percentage (\"20 %\"), got {v!r}",
                         file=file, key=key)
    return f


def _positive(v: float, unit: str, file, key) -> float:
    if not v > 0:
        raise InputError(f"must be > 0 {unit}, got {v:g}", file=file, key=key)
    return v


# ----------------------------------------------------------------------------------------- the case
@dataclass(frozen=True)
class Probe:
    """A named point where stresses are recorded: ``"bridge"``, ``"surface"`` or coordinates (m)."""

    name: str
    where: str | tuple[float, ...]


@dataclass(frozen=True)
class SolverOptions:
    coupling: str = "one-way"
    mechanics: bool = True
    dt_initial: float = 1e-3      # s
    dt_max: float | None = None   # s; None: the solver's default
    degree_c: int = 1
    degree_u: int = 2


@dataclass(frozen=True)
class MeshOptions:
    n_cells: int | None = None    # radial | hollow
    order: int = 2                # axisym | 3d geometry order


@dataclass(frozen=True)
class OutputOptions:
    maps_at_dod: tuple[float, ...] = ()
    probes: tuple[Probe, ...] | None = None   # None: "bridge" (where there is one) and "surface"
    vtx: bool = True
    vtx_every: int = 1
    outputs: str = "full"         # "full" | "minimal"
    hot_spots: int = 3


@dataclass(frozen=True)
class FatigueOptions:
    """Paris-law extrapolation of the protocol's cycle to ``cycles`` cycles; ``geometry_factor`` Y."""

    cycles: int
    geometry_factor: float = 1.12


@dataclass(frozen=True)
class Case:
    """A validated case: everything ``sim run`` needs, SI inside."""

    file: str                     # the case file (or "<dict>") for messages
    title: str
    model: str
    params: Path                  # resolved parameter file
    geometry: str
    parameters: dict              # "section.key" -> value, case-file overrides of the parameter set
    cli_parameters: dict          # the same from --set / overrides (applied last)
    mesh: MeshOptions
    solver: SolverOptions
    output: OutputOptions
    protocol: tuple[Step, ...]
    raw: dict                     # the case as read, with overrides applied (written to results)
    fracture: PhaseFieldOptions | None = None   # [fracture] model = "phase-field"; None: screening only
    fatigue: FatigueOptions | None = None
    cycle: tuple[int, int] | None = None        # protocol steps [first, end) of the last repetition

    def load_params(self) -> ParameterSet:
        """The parameter set with the case's [parameters] and [mesh] sizes, then --set overrides, applied."""
        pset = load_params(self.params)
        if self.parameters:
            try:
                pset = pset.override(self.parameters)
            except InputError as err:   # name the case file, not "--set"
                if err.file != "--set":
                    raise
                raise InputError(err.detail, file=self.file, key=f"parameters.{err.key}") from None
        if self.cli_parameters:
            pset = pset.override(self.cli_parameters)
        pset.require("geometry", "mesh", "conditions", "transport", "kinetics")
        if self.solver.mechanics:
            pset.require("mechanics")
        return pset


def load_case(case: str | Path | dict, overrides: dict[str, Any] | None = None) -> Case:
    """Read and validate a case (file path or dict) with ``overrides`` (``--set`` entries) applied.

    Override keys naming a parameter-set entry (``"geometry.void_radius"``) go to the parameter set;
    all others edit the case (``"solver.dt_max"``, ``"geometry"``, ``"output.maps_at_dod"``,
    ``"protocol[0].step"``, ``"protocol[0].c_rate"``). A relative ``params`` path in a dict case is
    relative to the working directory.
    """
    if isinstance(case, dict):
        raw, file, base = copy.deepcopy(case), "<case>", Path.cwd()
    else:
        raw, file, base = read_toml(Path(case), "case file"), str(case), Path(case).resolve().parent
    cli_parameters: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        head = key.split(".", 1)[0]
        if head in SECTIONS and head != "mesh" and "." in key:
            cli_parameters[key] = value
        else:
            _set_path(raw, key, value, file)
    return _validate(raw, file, base, cli_parameters)


def _set_path(raw: dict, key: str, value, file: str) -> None:
    """Apply one override like ``solver.dt_max`` or ``protocol[1].c_rate`` to the raw case dict."""
    m = re.fullmatch(r"protocol\[(\d+)\]\.(\w+)", key)
    if m:
        i, name = int(m[1]), m[2]
        steps = raw.get("protocol")
        if not isinstance(steps, list) or i >= len(steps):
            n = len(steps) if isinstance(steps, list) else 0
            raise InputError(f"the case has {n} protocol steps; no step {i}", file="--set", key=key)
        if name == "step":
            steps[i] = {"step": value}
            return
        if isinstance(steps[i], dict) and "step" in steps[i]:  # edit a string step in its table form
            repeat = steps[i].get("repeat")
            steps[i] = step_to_table(parse_step(steps[i]["step"], file=file, key=f"protocol[{i}].step"))
            if repeat is not None:
                steps[i]["repeat"] = repeat
        if name in _UNTIL_KEYS:
            steps[i].setdefault("until", {})[name] = value
        else:
            steps[i][name] = value
        return
    parts = key.split(".")
    if parts[0] not in TOP_KEYS or parts[0] == "protocol" or len(parts) > 2 or not all(parts):
        raise InputError(f"unknown entry; --set takes parameter entries (section.key, sections: "
                         f"{', '.join(SECTIONS)}) or case entries ({', '.join(TOP_KEYS[:4])}, "
                         f"mesh.<key>, solver.<key>, output.<key>, protocol[i].step)", file="--set", key=key)
    if parts[0] == "output" and parts[-1] == "maps_at_dod" and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if len(parts) == 1:
        raw[parts[0]] = value
    else:
        table = raw.setdefault(parts[0], {})
        if not isinstance(table, dict):
            raise InputError(f"[{parts[0]}] must be a table", file=file, key=parts[0])
        table[parts[1]] = value


def _validate(raw: dict, file: str, base: Path, cli_parameters: dict) -> Case:
    for key in raw:
        if key not in TOP_KEYS:
            raise InputError(f"unknown key; allowed top-level keys: {', '.join(TOP_KEYS)}", file=file, key=key)
    model = raw.get("model", "lithium")
    if model != "lithium":
        raise InputError(f"model {model!r} is not allowed; sim run knows: lithium", file=file, key="model")
    if "params" not in raw:
        raise InputError('missing the parameter set: params = "liu2024" (a name in params/ or a path to a .toml '
                         'relative to the case file)', file=file, key="params")
    params = _resolve_params(raw["params"], base, file)
    geometry = raw.get("geometry")
    if geometry not in GEOMETRIES:
        raise InputError(f"geometry {geometry!r} is not allowed; choose one of {', '.join(GEOMETRIES)}",
                         file=file, key="geometry")
    parameters = _parameters(_table(raw, "parameters", file), file)
    mesh_raw = _table(raw, "mesh", file)
    _known(mesh_raw, MESH_KEYS, "mesh", file)
    for k in MESH_SIZE_KEYS:
        if k in mesh_raw:
            parameters[f"mesh.{k}"] = mesh_raw[k]
    if "n_cells" in mesh_raw and geometry not in ("radial", "hollow"):
        raise InputError(f"n_cells sets the 1D radial mesh; for geometry {geometry!r} use size_outer and size_inner",
                         file=file, key="mesh.n_cells")
    mesh = MeshOptions(n_cells=_int(mesh_raw, "n_cells", None, file, "mesh", lo=2),
                       order=_int(mesh_raw, "order", 2, file, "mesh", lo=1, hi=2))
    solver_raw = _table(raw, "solver", file)
    _known(solver_raw, SOLVER_KEYS, "solver", file)
    coupling = solver_raw.get("coupling", "one-way")
    if coupling not in ("one-way", "two-way"):
        raise InputError(f"coupling {coupling!r} is not allowed; choose one-way or two-way", file=file,
                         key="solver.coupling")
    solver = SolverOptions(
        coupling=coupling, mechanics=_bool(solver_raw, "mechanics", True, file, "solver"),
        dt_initial=_time(solver_raw, "dt_initial", 1e-3, file), dt_max=_time(solver_raw, "dt_max", None, file),
        degree_c=_int(solver_raw, "degree_c", 1, file, "solver", lo=1, hi=3),
        degree_u=_int(solver_raw, "degree_u", 2, file, "solver", lo=1, hi=3))
    output = _output(_table(raw, "output", file), geometry, file)
    protocol, cycle = _protocol(raw.get("protocol"), file)
    fracture = _fracture(_table(raw, "fracture", file), file)
    if fracture is not None and not solver.mechanics:
        raise InputError("the phase-field model needs the mechanics (solver.mechanics = true)", file=file,
                         key="fracture.model")
    return Case(file=file, title=str(raw.get("title", "")), model=model, params=params, geometry=geometry,
                parameters=parameters, cli_parameters=dict(cli_parameters), mesh=mesh, solver=solver,
                output=output, protocol=protocol, raw=raw, fracture=fracture,
                fatigue=_fatigue(_table(raw, "fatigue", file), file), cycle=cycle)


def _resolve_params(value, base: Path, file: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"params must be a parameter-set name or a path, got {value!r}", file=file, key="params")
    if value.endswith(".toml") or "/" in value:
        path = (base / value) if not Path(value).is_absolute() else Path(value)
        if not path.exists():
            raise InputError(f"parameter file {str(path)!r} not found (paths are relative to the case file)",
                             file=file, key="params")
        return path
    try:
        return resolve_path(value)
    except InputError as err:
        raise InputError(err.detail, file=file, key="params") from None


def _table(raw: dict, name: str, file: str) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise InputError(f"[{name}] must be a table", file=file, key=name)
    return value


def _known(table: dict, allowed, section: str, file: str) -> None:
    for k in table:
        if k not in allowed:
            raise InputError(f"unknown key; allowed keys in [{section}]: {', '.join(allowed)}", file=file,
                             key=f"{section}.{k}")


def _parameters(table: dict, file: str) -> dict:
    """Flatten ``{"transport": {"x_initial": 0.34}}`` and ``{"transport.x_initial": 0.34}``; check the keys."""
    flat: dict[str, Any] = {}
    for k, v in table.items():
        if "." in k:
            flat[k] = v
        elif isinstance(v, dict):
            flat.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            raise InputError("entries of [parameters] are section.key = value, e.g. \"transport.x_initial\" = 0.34",
                             file=file, key=f"parameters.{k}")
    for k in flat:
        sec, _, name = k.partition(".")
        if sec not in SECTIONS or name not in SECTIONS[sec].__dataclass_fields__:
            allowed = (f"keys in [{sec}]: {', '.join(SECTIONS[sec].__dataclass_fields__)}" if sec in SECTIONS
                       else f"sections: {', '.join(SECTIONS)}")
            raise InputError(f"unknown parameter; allowed {allowed}", file=file, key=f"parameters.{k}")
    return flat


def _int(table, name, default, file, section, *, lo=None, hi=None):
    if name not in table:
        return default
    v = table[name]
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f" between {lo} and {hi}" if hi is not None else f" >= {lo}"
        raise InputError(f"must be an integer{rng}, got {v!r}", file=file, key=f"{section}.{name}")
    return v


def _bool(table, name, default, file, section) -> bool:
    v = table.get(name, default)
    if isinstance(v, str) and v.lower() in ("true", "false"):
        v = v.lower() == "true"
    if not isinstance(v, bool):
        raise InputError(f"must be true or false, got {v!r}", file=file, key=f"{section}.{name}")
    return v


def _time(table, name, default, file):
    if name not in table:
        return default
    return _positive(to_si(table[name], "s", file=file, key=f"solver.{name}"), "s", file, f"solver.{name}")


def _output(table: dict, geometry: str, file: str) -> OutputOptions:
    _known(table, OUTPUT_KEYS, "output", file)
    maps = table.get("maps_at_dod", [])
    if not isinstance(maps, list):
        maps = [maps]
    dods = tuple(sorted({_fraction(v, file, f"output.maps_at_dod[{i}]") for i, v in enumerate(maps)}))
    probes = None
    if "probes" in table:
        if not isinstance(table["probes"], dict):
            raise InputError('probes must be a table: { name = "bridge" | "surface" | [coordinates] }',
                             file=file, key="output.probes")
        probes = tuple(_probe(name, where, geometry, file) for name, where in table["probes"].items())
    outputs = table.get("outputs", "full")
    if outputs not in OUTPUTS:
        raise InputError(f"outputs {outputs!r} is not allowed; choose full or minimal (summary.json and "
                         f"timeseries.csv only)", file=file, key="output.outputs")
    return OutputOptions(maps_at_dod=dods, probes=probes, vtx=_bool(table, "vtx", True, file, "output"),
                         vtx_every=_int(table, "vtx_every", 1, file, "output", lo=0), outputs=outputs,
                         hot_spots=_int(table, "hot_spots", 3, file, "output", lo=0, hi=100))


def _fracture(table: dict, file: str) -> PhaseFieldOptions | None:
    """``[fracture]``: None for model = "none" (onset screening only), else the phase-field options."""
    _known(table, FRACTURE_KEYS, "fracture", file)
    model = table.get("model", "none")
    if model not in FRACTURE_MODELS:
        raise InputError(f"model {model!r} is not allowed; choose none or phase-field", file=file,
                         key="fracture.model")
    if model == "none":
        extra = [k for k in table if k != "model"]
        if extra:
            raise InputError(f"{extra[0]} is a phase-field option; set model = \"phase-field\"", file=file,
                             key=f"fracture.{extra[0]}")
        return None
    defaults = PhaseFieldOptions()
    kw = {}
    for name, allowed in (("variant", ("AT1", "AT2")), ("split", ("none", "spectral", "volumetric-deviatoric"))):
        if name in table:
            if table[name] not in allowed:
                raise InputError(f"{table[name]!r} is not allowed; choose {', '.join(allowed)}", file=file,
                                 key=f"fracture.{name}")
            kw[name] = table[name]
    for name, lo, hi in (("residual_stiffness", 0.0, 1.0), ("tolerance", 0.0, None)):
        if name in table:
            v = table[name]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v >= lo if name[0] == "r" else v > lo) \
                    or (hi is not None and not v < hi):
                rng = "in [0, 1)" if hi is not None else "> 0"
                raise InputError(f"must be a number {rng}, got {v!r}", file=file, key=f"fracture.{name}")
            kw[name] = float(v)
    kw["max_iterations"] = _int(table, "max_iterations", defaults.max_iterations, file, "fracture", lo=1)
    kw["fatigue"] = _bool(table, "fatigue", defaults.fatigue, file, "fracture")
    return PhaseFieldOptions(**kw)


def _fatigue(table: dict, file: str) -> FatigueOptions | None:
    """``[fatigue]``: Paris-law extrapolation (``cycles`` >= 1, ``geometry_factor`` Y > 0), or None."""
    if not table:
        return None
    _known(table, FATIGUE_KEYS, "fatigue", file)
    if "cycles" not in table:
        raise InputError("missing cycles = N (how many cycles the Paris law extrapolates to)", file=file,
                         key="fatigue.cycles")
    y = table.get("geometry_factor", 1.12)
    if isinstance(y, bool) or not isinstance(y, (int, float)) or not y > 0:
        raise InputError(f"must be a number > 0, got {y!r}", file=file, key="fatigue.geometry_factor")
    return FatigueOptions(cycles=_int(table, "cycles", None, file, "fatigue", lo=1, hi=10**12),
                          geometry_factor=float(y))


def _probe(name: str, where, geometry: str, file: str) -> Probe:
    key = f"output.probes.{name}"
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise InputError("probe names are letters, digits and _ (they become CSV columns)", file=file, key=key)
    if isinstance(where, str):
        if where not in PROBE_KEYWORDS:
            raise InputError(f"{where!r} is not allowed; a probe is one of {', '.join(PROBE_KEYWORDS)} or a list "
                             f"of coordinates with units", file=file, key=key)
        return Probe(name, where)
    dim = {"radial": 1, "hollow": 1, "axisym": 2, "3d": 3}[geometry]
    names = {1: "[r]", 2: "[r, z]", 3: "[x, y, z]"}[dim]
    if not isinstance(where, list) or len(where) != dim:
        raise InputError(f"a {geometry} probe needs {dim} coordinate(s) {names} with units, e.g. "
                         f"{['0 um'] * (dim - 1) + ['8 um']}, got {where!r}", file=file, key=key)
    coords = tuple(to_si(v, "m", file=file, key=f"{key}[{i}]") for i, v in enumerate(where))
    if geometry in ("radial", "hollow", "axisym") and coords[0] < 0:
        raise InputError("the radial coordinate r must be >= 0", file=file, key=f"{key}[0]")
    return Probe(name, coords)


def _protocol(steps, file: str) -> tuple[tuple[Step, ...], tuple[int, int] | None]:
    """The expanded steps and the [first, end) steps of the last repetition of the last repeated entry."""
    if not isinstance(steps, list) or not steps:
        raise InputError('missing the protocol: add [[protocol]] tables, e.g. step = "discharge at 1C to 20 % DOD"',
                         file=file, key="protocol")
    out, cycle = [], None
    for i, entry in enumerate(steps):
        key = f"protocol[{i}]"
        if not isinstance(entry, dict):
            raise InputError("each protocol entry is a table with step = \"...\" or kind = ...", file=file, key=key)
        entry = dict(entry)
        repeat = _int(entry, "repeat", 1, file, key, lo=1, hi=MAX_STEPS) if "repeat" in entry else None
        entry.pop("repeat", None)
        if "steps" in entry:
            if repeat is None or len(entry) != 1 or not isinstance(entry["steps"], list) or not entry["steps"]:
                raise InputError('a repeated group is { repeat = N, steps = ["...", ...] } (step strings)',
                                 file=file, key=f"{key}.steps")
            group = [parse_step(s, file=file, key=f"{key}.steps[{j}]") for j, s in enumerate(entry["steps"])]
        elif "step" in entry:
            if len(entry) != 1:
                extra = ", ".join(k for k in entry if k != "step")
                raise InputError(f"a step string stands alone (with an optional repeat); remove {extra} or use the "
                                 f"table form (kind = ...)", file=file, key=key)
            group = [parse_step(entry["step"], file=file, key=f"{key}.step")]
        else:
            group = [parse_step_table(entry, file=file, key=key)]
        n = repeat or 1
        if len(out) + n * len(group) > MAX_STEPS:
            raise InputError(f"the protocol expands to more than {MAX_STEPS} steps; for many cycles run one cycle "
                             f"(or a few) and extrapolate with [fatigue] cycles = N", file=file, key=f"{key}.repeat")
        if repeat is not None:
            cycle = (len(out) + (n - 1) * len(group), len(out) + n * len(group))
        out += group * n
    return tuple(out), cycle
