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
    vtk = false                          # also VTK (.vtu + fields/fields.pvd) at the same times (PyVista, meshio)
    outputs = "full"                     # or "minimal": summary.json and timeseries.csv only (sweeps)
    hot_spots = 3                        # k hot spots of max principal and of hoop stress
    checkpoint_every = 0                 # checkpoint for --resume every n accepted time steps (0: off) ...
    checkpoint_seconds = "60 s"          # ... and every S of wall time (0: off)

    [fracture]                           # optional: model = "none" (default: onset screening only) or
    model = "phase-field"                # "phase-field" with variant, split, residual_stiffness,
    variant = "AT2"                      # tolerance, max_iterations, fatigue (sim.fracture.options)
    adapt = true                         # refine where d > adapt_damage (and 2 l around) to h <= l/2 and run
    adapt_levels = 3                     # again, at most this many times (mesh.order = 1; sim.fracture.adapt)

    [fatigue]                            # optional: model = "paris" (default): Paris-law growth of a flaw
    cycles = 1000                        # at each hot spot, extrapolated from the (last repeated) cycle to
    geometry_factor = 1.12               # N cycles; Y in dK = Y dsigma sqrt(pi a) (1.12: surface flaw)

    [fatigue]                            # or model = "phase-field" (needs [fracture] model = "phase-field"):
    model = "phase-field"                # Carrara 2020 fatigue; the repeated protocol group (the last entry)
    cycles = 100000                      # is the load cycle, run up to N cycles (default: its repeat) with
    jump = true                          # cycle jumping (max_change: largest relative change of the fatigue
    max_change = 0.1                     # factor per jump); failure when max d >= failure_damage
    failure_damage = 0.95

    [[protocol]]
    step = "discharge at 10C to 20 % DOD"
    [[protocol]]                         # the explicit table form of a step
    kind = "rest"
    until = { time = "1 h" }
    [[protocol]]                         # a cycle repeated 3 times (expanded; at most MAX_STEPS steps)
    repeat = 3
    steps = ["charge at 1C to 4.4 V", "Discharge at 20 mA/g until 2.5 V"]

or, instead of ``[[protocol]]``, a PyBaMM-style experiment::

    [experiment]
    steps = [["Discharge at 1C until 2.5 V", "Rest for 1 hour", "Charge at C/3 until 4.4 V"]]
    cycles = 3                           # the whole list repeated (a nested list is one cycle)
    density = "4.3 g/cm^3"               # particle density: needed for specific currents (mA/g)

Step strings follow a small strict grammar (see :func:`parse_step`) that reads both the toolkit's own
forms ("discharge at 10C to 20 % DOD") and PyBaMM's experiment strings ("Discharge at 1C until 2.5 V",
"Hold at 4.4 V until C/50", "Discharge at 20 mA/g for 30 minutes"). :func:`load_case` turns a file
(or a dict, e.g. from a sweep) plus overrides into a validated, frozen :class:`Case`; every table is
read through :class:`sim.case.Entries`, so unknown keys are refused with the allowed ones, and errors
name the case file, its ``[parameters]`` table or ``--set``, whichever the value came from.
"""
from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.case import Entries, check_cost, particle_cost, read_toml, to_fraction, to_quantity
from sim.errors import InputError
from sim.fracture.options import PhaseFieldOptions
from sim.lithium.protocol import Galvanostatic, Potentiostatic, Rest, Step, Stop
from sim.params import SECTIONS, ParameterSet, load_params, resolve_path
from sim.units import FARADAY, to_si

GEOMETRIES = ("radial", "hollow", "axisym", "3d")
TOP_KEYS = ("model", "title", "params", "geometry", "parameters", "mesh", "solver", "output", "fracture", "fatigue",
            "protocol", "experiment")
MESH_SIZE_KEYS = ("size_outer", "size_inner", "size_primary")
MESH_KEYS = MESH_SIZE_KEYS + ("n_cells", "order", "file")
SOLVER_KEYS = ("coupling", "mechanics", "dt_initial", "dt_max", "degree_c", "degree_u", "rtol", "atol")
OUTPUT_KEYS = ("maps_at_dod", "probes", "vtx", "vtx_every", "vtk", "outputs", "hot_spots", "checkpoint_every",
               "checkpoint_seconds")
EXPERIMENT_KEYS = ("steps", "cycles", "density")
OUTPUTS = ("full", "minimal")
FRACTURE_MODELS = ("none", "phase-field")
FRACTURE_KEYS = ("model", "variant", "split", "residual_stiffness", "tolerance", "max_iterations", "fatigue", "adapt",
                 "adapt_levels", "adapt_damage", "acceleration")
FATIGUE_MODELS = ("paris", "phase-field")
PARIS_KEYS = ("model", "cycles", "geometry_factor")
PF_FATIGUE_KEYS = ("model", "cycles", "jump", "max_change", "failure_damage")
FATIGUE_KEYS = tuple(dict.fromkeys(PARIS_KEYS + PF_FATIGUE_KEYS))
MAX_STEPS = 10000       # protocol steps after expanding repeat = N
MAX_C_RATE = 1000.0     # 1/h: a step faster than 3.6 s is not a battery protocol
PROBE_KEYWORDS = ("bridge", "surface")

# ----------------------------------------------------------------------------------------- step strings
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VOLT = rf"{_NUM}\s*[mk]?V"
_RATE = re.compile(rf"^(?:(?P<n>{_NUM})\s*C|C\s*/\s*(?P<d>{_NUM}))$")
_STOPS = r"(?P<stops>(?:to|for|until)\s.*)"
_GALV = re.compile(rf"^(?P<dir>charge|discharge)\s+at\s+(?P<rate>.+?)\s+{_STOPS}$", re.IGNORECASE)
_HOLD = re.compile(rf"^hold\s+(?:at\s+)?(?P<v>{_VOLT})\s+{_STOPS}$", re.IGNORECASE)
_REST = re.compile(r"^rest\s+(?:for\s+)?(?P<d>\S.*)$", re.IGNORECASE)
_STOP_FRACTION = re.compile(rf"^(?P<n>{_NUM})\s*(?P<pct>%)?\s*(?P<what>DOD|SOC)$", re.IGNORECASE)
_STOP_VOLT = re.compile(rf"^{_VOLT}$")

STEP_FORMS = ('allowed forms: "(charge|discharge) at <current> <stop> [or <stop> ...]" (e.g. "charge at C/2 to 4.5 V '
              'or 2 h", "Discharge at 1C until 2.5 V", "Discharge at 20 mA/g for 30 minutes") with <current> a C-rate '
              '(10C, 0.1C, C/10), a current (1 A, 50 mA) or a specific current (20 mA/g); "hold [at] <voltage> <stop> '
              '[or <stop> ...]" (e.g. "Hold at 4.4 V until C/50"); "rest [for] <duration>"; where <stop> is "to|until '
              '<n> % DOD|SOC", "to|until <voltage>" (e.g. "until 4.5 V"), "until <current>" (hold only, e.g. "until '
              'C/50" or "until 5 mA") or "for <duration>" (e.g. "for 30 min", "for 1 hour")')


@dataclass(frozen=True)
class Current:
    """A current as a step string gives it: a C-rate (``unit = "C"``, 1/h), a current in A, or a specific
    current in A/kg (``"20 mA/g"`` = 20 A/kg). Converted with the particle's capacity Q (C) or specific
    capacity q = F c_max (x_max − x_min) / ρ (C/kg): C-rate = I · 3600 s / Q = i · 3600 s / q."""

    value: float
    unit: str       # "C" | "A" | "A/kg"

    def c_rate(self, capacity: float, specific_capacity: float | None) -> float:
        if self.unit == "C":
            return self.value
        if self.unit == "A":
            return self.value * 3600.0 / capacity
        return self.value * 3600.0 / specific_capacity

    def text(self) -> str:
        return f"{self.value:g}C" if self.unit == "C" else f"{self.value:g} {self.unit}"


@dataclass(frozen=True)
class ExperimentStep:
    """A step whose current is in A or A/kg, or that stops on a current: it becomes a :data:`Step` once the
    particle's capacity is known (:meth:`resolve`, called by ``sim run`` after the mesh is built).

    ``direction``: "charge" | "discharge" (galvanostatic) or None (a hold at ``voltage`` V); ``drive``: the
    galvanostatic current; ``cutoff``: a current stop |I| <= I_cut; ``until``: the other stops (SI)."""

    text: str
    direction: str | None
    drive: Current | None
    voltage: float | None
    until: Stop | None
    cutoff: Current | None = None
    kind: str = "experiment"

    @property
    def specific(self) -> bool:
        return any(c is not None and c.unit == "A/kg" for c in (self.drive, self.cutoff))

    def resolve(self, capacity: float, specific_capacity: float | None) -> Step:
        """The protocol step for a particle of capacity Q (C) and specific capacity q (C/kg)."""
        stops = {} if self.until is None else {k: v for k, v in dataclasses.asdict(self.until).items() if v is not None}
        if self.cutoff is not None:
            stops["current"] = self.cutoff.c_rate(capacity, specific_capacity) * capacity / 3600.0   # A
        if self.direction is None:
            return Potentiostatic(self.voltage, Stop(**stops))
        return Galvanostatic(self.drive.c_rate(capacity, specific_capacity), self.direction, Stop(**stops))


def parse_step(text: str, *, file: str | None = None, key: str | None = None) -> Step | ExperimentStep:
    """Read one protocol step string, e.g. ``"discharge at 10C to 20 % DOD"``, ``"hold 4.5 V for 30 min"``
    or PyBaMM's ``"Discharge at 20 mA/g until 2.5 V"``, ``"Hold at 4.4 V until C/50"``, ``"Rest for 1 hour"``.

    C-rates are in 1/h (``C/10`` = 0.1), DOD/SOC are fractions (``20 %`` or ``0.2``), voltages in V and
    durations in s after conversion. A step with a current in A or mA/g, or with a current stop, is an
    :class:`ExperimentStep` (resolved once the capacity is known). Anything else raises
    :class:`InputError` listing the allowed forms.
    """
    if not isinstance(text, str):
        raise InputError(f"a step must be a string, got {text!r}; {STEP_FORMS}", file=file, key=key)
    s = " ".join(text.split())

    def bad(why: str):
        return InputError(f"cannot read step {text!r}: {why}; {STEP_FORMS}", file=file, key=key)

    if m := _GALV.match(s):
        drive = _current(m["rate"], bad, what="C-rate")
        if not drive.value > 0:
            raise bad(f"the {'C-rate' if drive.unit == 'C' else 'current'} must be > 0 (the direction says charge "
                      f"or discharge)")
        if drive.unit == "C" and drive.value > MAX_C_RATE:
            raise bad(f"the C-rate must be <= {MAX_C_RATE:g}C")
        stop, cutoff = _parse_stops(m["stops"], bad, file, key)
        if cutoff is not None:
            raise bad("a current stop (until C/50, until 5 mA) ends a hold; a galvanostatic step keeps its current")
        direction = m["dir"].lower()
        if drive.unit == "C":
            return Galvanostatic(drive.value, direction, stop)
        return ExperimentStep(s, direction, drive, None, stop)
    if m := _HOLD.match(s):
        voltage = to_si(m["v"], "V", file=file, key=key)
        if not voltage > 0:
            raise bad("the hold voltage must be > 0 V")
        stop, cutoff = _parse_stops(m["stops"], bad, file, key)
        if cutoff is None:
            return Potentiostatic(voltage, stop)
        return ExperimentStep(s, None, None, voltage, stop, cutoff)
    if m := _REST.match(s):
        return Rest(Stop(time=_duration(m["d"], bad, file, key)))
    word = s.split(" ", 1)[0].lower()
    if word in ("charge", "discharge", "hold"):
        raise bad(f"a {word} step is {'hold [at] <voltage>' if word == 'hold' else word + ' at <current>'} followed by "
                  f"at least one stop condition")
    raise bad("unknown step; it must start with charge, discharge, hold or rest")


def _current(text: str, bad, what: str) -> Current:
    """``10C``, ``C/3`` -> a C-rate; ``1 A``, ``50 mA`` -> A; ``20 mA/g`` -> A/kg."""
    compact = text.replace(" ", "")
    if rate := _RATE.match(compact):
        if rate["n"] is not None:
            return Current(float(rate["n"]), "C")
        d = float(rate["d"])
        return Current(1.0 / d if d > 0 else -1.0, "C")
    if re.match(rf"^{_NUM}\s*[A-Za-zµ/^0-9.]+$", text.strip()):
        for unit in ("A", "A/kg"):
            try:
                return Current(to_si(text, unit), unit)
            except InputError:
                pass
    raise bad(f"{what} {text!r} is not of the form 10C, 0.1C or C/10, nor a current (1 A, 50 mA) or a specific "
              f"current (20 mA/g)")


def _duration(text: str, bad, file, key) -> float:
    if not re.match(rf"^{_NUM}\s*[A-Za-z]+$", text.strip()):
        raise bad(f"{text!r} is not a duration like 30 min, 1 h, 1 hour or 90 s")
    t = to_si(text, "s", file=file, key=key)
    if not t > 0:
        raise bad("a duration must be > 0")
    return t


def _parse_stops(text: str, bad, file, key) -> tuple[Stop, Current | None]:
    """The stops of a step (``to 4 V or 2 h``, ``until C/50``) -> (Stop of dod/soc/voltage/time, current stop)."""
    found: dict[str, float] = {}
    cutoff = None
    for part in re.split(r"\s+or\s+", text.strip(), flags=re.IGNORECASE):
        m = re.match(r"^(to|until|for)\s+(.*)$", part, re.IGNORECASE)
        word, value_text = (m[1].lower(), m[2]) if m else (None, part)
        if word is None:                          # "to 80 % SOC or 4.6 V or 2 h", "until C/50 or 5 mA"
            word = "to" if _looks_like_current(part) or re.search(r"(%|DOD|SOC|V)$", part, re.IGNORECASE) else "for"
        if word == "for":
            what, value = "time", _duration(value_text, bad, file, key)
        elif fm := _STOP_FRACTION.match(value_text):
            what, value = fm["what"].lower(), float(fm["n"]) / (100.0 if fm["pct"] else 1.0)
            if not 0.0 <= value <= 1.0:
                raise bad(f"{part!r}: {what.upper()} must be between 0 and 100 %")
        elif _STOP_VOLT.match(value_text):
            what, value = "voltage", to_si(value_text, "V", file=file, key=key)
            if not value > 0:
                raise bad(f"{part!r}: a voltage cut-off must be > 0 V")
        elif _looks_like_current(value_text):
            if cutoff is not None:
                raise bad("the current stop condition is given twice")
            cutoff = _current(value_text, bad, what="current stop")
            if not cutoff.value > 0:
                raise bad(f"{part!r}: a current cut-off must be > 0")
            continue
        else:
            unit = re.match(rf"^{_NUM}\s*(.+)$", value_text)
            if unit:                               # a quantity of the wrong kind: name its unit
                to_si(value_text, "V", file=file, key=key)
            raise bad(f"cannot read the stop condition {part!r}")
        if what in found:
            raise bad(f"the {what} stop condition is given twice")
        found[what] = value
    return (Stop(**found) if found else None), cutoff


def _looks_like_current(text: str) -> bool:
    t = text.replace(" ", "")
    return bool(_RATE.match(t) or re.match(rf"^{_NUM}[a-zµ]?A(/k?g)?$", t))


def describe_step(step: Step | ExperimentStep) -> str:
    """The canonical step string (round-trips through :func:`parse_step`)."""
    if isinstance(step, ExperimentStep):
        return step.text
    stops = []
    u = step.until
    if u.dod is not None:
        stops.append(f"to {_g(100 * u.dod)} % DOD")
    if u.soc is not None:
        stops.append(f"to {_g(100 * u.soc)} % SOC")
    if u.voltage is not None:
        stops.append(f"to {_g(u.voltage)} V")
    if u.time is not None:
        stops.append(f"for {_g(u.time)} s")
    if u.current is not None:
        stops.append(f"until {_g(u.current)} A")
    if isinstance(step, Galvanostatic):
        return f"{step.direction} at {_g(step.c_rate)}C " + " or ".join(stops)
    if isinstance(step, Potentiostatic):
        return f"hold {_g(step.voltage)} V " + " or ".join(stops)
    return f"rest for {_g(u.time)} s"


def _g(v: float) -> str:
    """Short form of ``v`` when it reads back exactly (``10``, ``0.2``), else all digits (``0.3333333333333333``)."""
    short = f"{v:g}"
    return short if float(short) == v else repr(float(v))


# ----------------------------------------------------------------------------------------- table form
_STEP_TABLE_KEYS = {"galvanostatic": ("kind", "c_rate", "direction", "until"),
                    "potentiostatic": ("kind", "voltage", "until"),
                    "rest": ("kind", "until")}
_UNTIL_KEYS = ("dod", "soc", "voltage", "time", "current")


def parse_step_table(entry: dict, *, file: str | None = None, key: str | None = None,
                     origins: dict | None = None) -> Step:
    """The explicit form ``{kind = "galvanostatic", c_rate = 10, direction = "discharge", until = {dod = "20 %"}}``."""
    if not isinstance(entry, dict):
        raise InputError("each protocol entry is a table with step = \"...\" or kind = ...", file=file, key=key)
    table = Entries(entry, file=file, prefix=key or "", origins=origins)
    kind = entry.get("kind")
    if kind not in _STEP_TABLE_KEYS:
        raise InputError(f"kind {kind!r} is not allowed; choose one of {', '.join(_STEP_TABLE_KEYS)} "
                         f"(or give a step string: step = \"...\")", file=table.origin("kind"), key=table.key("kind"))
    table.allow(_STEP_TABLE_KEYS[kind])
    until = Entries(entry.get("until"), file=file, prefix=table.key("until"), origins=origins).allow(_UNTIL_KEYS)
    if not until.data:
        raise InputError(f"a step needs until = {{ ... }} with at least one of {', '.join(_UNTIL_KEYS)}",
                         file=file, key=until.prefix)
    stop = Stop(dod=until.fraction("dod", None), soc=until.fraction("soc", None),
                voltage=until.quantity("voltage", "V", None, gt=0, le=10),
                time=until.quantity("time", "s", None, gt=0), current=until.quantity("current", "A", None, gt=0))
    if stop.current is not None and kind != "potentiostatic":
        raise InputError("a current stop ends a potentiostatic hold; a galvanostatic step or a rest keeps its current",
                         file=until.origin("current"), key=until.key("current"))
    if kind == "rest":
        if set(until.data) != {"time"}:
            raise InputError("a rest stops only on time (until = { time = \"1 h\" })", file=file, key=until.prefix)
        return Rest(stop)
    if kind == "potentiostatic":
        return Potentiostatic(table.quantity("voltage", "V", gt=0, le=10), stop)
    return Galvanostatic(table.quantity("c_rate", "", gt=0, le=MAX_C_RATE), table.choice("direction",
                                                                                          ("charge", "discharge")), stop)


def step_to_table(step: Step) -> dict:
    """The explicit table form of a step (SI strings), e.g. to let ``--set protocol[0].c_rate=5`` edit it."""
    until = {k: v for k, v in (("dod", step.until.dod), ("soc", step.until.soc)) if v is not None}
    if step.until.voltage is not None:
        until["voltage"] = f"{step.until.voltage!r} V"
    if step.until.time is not None:
        until["time"] = f"{step.until.time!r} s"
    if step.until.current is not None:
        until["current"] = f"{step.until.current!r} A"
    if isinstance(step, Galvanostatic):
        return {"kind": step.kind, "c_rate": step.c_rate, "direction": step.direction, "until": until}
    if isinstance(step, Potentiostatic):
        return {"kind": step.kind, "voltage": f"{step.voltage!r} V", "until": until}
    return {"kind": step.kind, "until": until}


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
    rtol: float = 1e-5            # BDF2 local error per step in Li fraction: atol + rtol |x|
    atol: float = 1e-6


@dataclass(frozen=True)
class MeshOptions:
    file: Path | None = None      # a user's / imaged mesh (sim.mesh.read_mesh) instead of one built from the set
    n_cells: int | None = None    # radial | hollow
    order: int = 2                # axisym | 3d geometry order


@dataclass(frozen=True)
class OutputOptions:
    maps_at_dod: tuple[float, ...] = ()
    probes: tuple[Probe, ...] | None = None   # None: "bridge" (where there is one) and "surface"
    vtx: bool = True
    vtx_every: int = 1
    vtk: bool = False             # VTK .vtu + fields/fields.pvd next to each VTX write
    outputs: str = "full"         # "full" | "minimal"
    hot_spots: int = 3
    checkpoint_every: int = 0     # accepted time steps between checkpoints (0: off)
    checkpoint_seconds: float = 60.0   # wall-clock s between checkpoints (0: off)


@dataclass(frozen=True)
class FatigueOptions:
    """``model = "paris"``: Paris-law extrapolation of the protocol's cycle to ``cycles`` cycles, geometry factor Y
    ``geometry_factor``. ``model = "phase-field"``: the phase field's Carrara 2020 fatigue over ``cycles`` load
    cycles (None: the repeat count of the protocol's cycle), with cycle jumping (``jump``, ``max_change``:
    :class:`~sim.fracture.pf_fatigue.CycleJumper`), failed when max d >= ``failure_damage``."""

    cycles: int | None
    geometry_factor: float = 1.12
    model: str = "paris"
    jump: bool = True
    max_change: float = 0.1
    failure_damage: float = 0.95


@dataclass(frozen=True)
class Case:
    """A validated case: everything ``sim run`` needs, SI inside."""

    file: str                     # the case file (or "<case>") for messages
    title: str
    model: str
    params: Path                  # resolved parameter file
    geometry: str
    parameters: dict              # "section.key" -> value, case-file overrides of the parameter set
    cli_parameters: dict          # the same from --set / overrides (applied last)
    mesh: MeshOptions
    solver: SolverOptions
    output: OutputOptions
    protocol: tuple[Step | ExperimentStep, ...]
    raw: dict                     # the case as read, with overrides applied (written to results)
    fracture: PhaseFieldOptions | None = None   # [fracture] model = "phase-field"; None: screening only
    fatigue: FatigueOptions | None = None
    cycle: tuple[int, int] | None = None        # protocol steps [first, end) of the last repetition
    cycle_repeats: int = 1                      # how many times that group is repeated in the protocol
    density: float | None = None                # kg/m^3, [experiment] density (specific currents)
    origins: dict = dataclasses.field(default_factory=dict)   # key -> where its value came from (for errors)
    texts: tuple[str, ...] = ()                 # the steps as written, once resolve() turned currents into C-rates

    def load_params(self) -> ParameterSet:
        """The parameter set with the case's [parameters] and [mesh] sizes, then --set overrides, applied.

        Errors name the origin of the entry: ``case.toml [parameters]``, the case file (its ``[mesh]``
        sizes) or ``--set`` (or a sweep file's axis)."""
        pset = load_params(self.params)
        if self.parameters:
            pset = pset.override(self.parameters, origin={k: self.origins[k] for k in self.parameters})
        if self.cli_parameters:
            pset = pset.override(self.cli_parameters, origin={k: self.origins.get(k, "--set")
                                                              for k in self.cli_parameters})
        pset.require("geometry", "mesh", "conditions", "transport", "kinetics")
        if self.solver.mechanics:
            pset.require("mechanics")
        return pset

    def check_cost(self, pset: ParameterSet):
        """Refuse a mesh too large for the machine before it is built (:func:`sim.case.check_cost`), naming the
        element-size key that sets the size and where it came from; returns the :class:`sim.case.Cost` (None for
        a mesh read from a file: it exists already)."""
        if self.mesh.file is not None:
            return None
        dim = {"radial": 1, "hollow": 1, "axisym": 2, "3d": 3}[self.geometry]
        kw = dict(n_cells=self.mesh.n_cells, components=1 + (dim if self.solver.mechanics else 0),
                  degree=max(self.solver.degree_c, self.solver.degree_u if self.solver.mechanics else 1))
        cost = particle_cost(pset.geometry, pset.mesh, self.geometry, **kw)
        if self.mesh.n_cells is not None:
            key = "mesh.n_cells"
        else:   # the bulk alone over the limit: size_outer is to blame, else the refined band at size_inner
            bulk = particle_cost(pset.geometry, dataclasses.replace(pset.mesh, size_inner=pset.mesh.size_outer),
                                 self.geometry, **kw)
            key = "mesh.size_outer" if bulk.unknowns > cost.unknowns / 2 else "mesh.size_inner"
        file = self.origins.get(key, self.file if key == "mesh.n_cells" else str(self.params))
        return check_cost(cost, file=file, key=key, what=f"this {self.geometry} case")

    def resolve(self, capacity: float, params: ParameterSet) -> "Case":
        """The case with every :class:`ExperimentStep` turned into a protocol step for a particle of capacity
        ``capacity`` (C, the solver's F c_max (x_max − x_min) V) and the set's c_max and x window."""
        if not any(isinstance(s, ExperimentStep) for s in self.protocol):
            return self
        tr = params.transport
        q = None if self.density is None else FARADAY * tr.c_max * (tr.x_max - tr.x_min) / self.density  # C/kg
        steps = tuple(s.resolve(capacity, q) if isinstance(s, ExperimentStep) else s for s in self.protocol)
        return dataclasses.replace(self, protocol=steps, texts=tuple(describe_step(s) for s in self.protocol))

    def describe(self, index: int) -> str:
        """Step ``index`` as the case wrote it (``"Discharge at 20 mA/g until 2.5 V"``) or in canonical form."""
        return self.texts[index] if self.texts else describe_step(self.protocol[index])


def load_case(case: str | Path | dict, overrides: dict[str, Any] | None = None,
              origin: str | dict[str, str] = "--set") -> Case:
    """Read and validate a case (file path or dict) with ``overrides`` (``--set`` entries) applied.

    Override keys naming a parameter-set entry (``"geometry.void_radius"``) go to the parameter set;
    all others edit the case (``"solver.dt_max"``, ``"geometry"``, ``"output.maps_at_dod"``,
    ``"protocol[0].step"``, ``"protocol[0].c_rate"``). A relative ``params`` path in a dict case is
    relative to the working directory. ``origin`` names where the overrides come from in errors: one
    name for all (``"--set"``) or key -> name (a sweep file's axes).
    """
    if isinstance(case, dict):
        raw, file, base = copy.deepcopy(case), "<case>", Path.cwd()
    else:
        raw, file, base = read_toml(Path(case), "case file"), str(case), Path(case).resolve().parent
    cli_parameters: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for key, value in (overrides or {}).items():
        origins[key] = origin.get(key, "--set") if isinstance(origin, dict) else origin
        head = key.split(".", 1)[0]
        if head in SECTIONS and head != "mesh" and "." in key:
            cli_parameters[key] = value
        else:
            _set_path(raw, key, value, file, origins[key], origins)
    return _validate(raw, file, base, cli_parameters, origins)


def _set_path(raw: dict, key: str, value, file: str, origin: str, origins: dict) -> None:
    """Apply one override like ``solver.dt_max`` or ``protocol[1].c_rate`` to the raw case dict."""
    m = re.fullmatch(r"protocol\[(\d+)\]\.(\w+)", key)
    if m:
        i, name = int(m[1]), m[2]
        steps = raw.get("protocol")
        if not isinstance(steps, list) or i >= len(steps):
            n = len(steps) if isinstance(steps, list) else 0
            raise InputError(f"the case has {n} protocol steps; no step {i}", file=origin, key=key)
        if name == "step":
            steps[i] = {"step": value}
            return
        if isinstance(steps[i], dict) and "step" in steps[i]:  # edit a string step in its table form
            repeat = steps[i].get("repeat")
            step = parse_step(steps[i]["step"], file=file, key=f"protocol[{i}].step")
            if isinstance(step, ExperimentStep):
                raise InputError(f"step {i} gives its current in A or A/kg or stops on a current; set "
                                 f"protocol[{i}].step to a whole step string instead", file=origin, key=key)
            steps[i] = step_to_table(step)
            if repeat is not None:
                steps[i]["repeat"] = repeat
        if name in _UNTIL_KEYS:
            steps[i].setdefault("until", {})[name] = value
            origins[f"protocol[{i}].until.{name}"] = origin
        else:
            steps[i][name] = value
        return
    parts = key.split(".")
    if parts[0] not in TOP_KEYS or parts[0] in ("protocol", "experiment") or len(parts) > 2 or not all(parts):
        raise InputError(f"unknown entry; --set takes parameter entries (section.key, sections: "
                         f"{', '.join(SECTIONS)}) or case entries ({', '.join(TOP_KEYS[:4])}, "
                         f"mesh.<key>, solver.<key>, output.<key>, protocol[i].step)", file=origin, key=key)
    if parts[0] == "output" and parts[-1] == "maps_at_dod" and isinstance(value, str):
        value = [_number_or_text(v.strip()) for v in value.split(",") if v.strip()]
    if len(parts) == 1:
        raw[parts[0]] = value
    else:
        table = raw.setdefault(parts[0], {})
        if not isinstance(table, dict):
            raise InputError(f"[{parts[0]}] must be a table", file=file, key=parts[0])
        table[parts[1]] = value


def _number_or_text(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def _validate(raw: dict, file: str, base: Path, cli_parameters: dict, origins: dict) -> Case:
    top = Entries(raw, file=file, origins=origins).allow(TOP_KEYS)
    model = top.choice("model", ("lithium",), "lithium")
    if "params" not in raw:
        raise InputError('missing the parameter set: params = "liu2024" (a name in params/ or a path to a .toml '
                         'relative to the case file)', file=file, key="params")
    params = _resolve_params(raw["params"], base, top.origin("params"))
    geometry = top.choice("geometry", GEOMETRIES)
    tables = {name: Entries(raw.get(name), file=file, prefix=name, origins=origins).allow(keys)
              for name, keys in (("mesh", MESH_KEYS), ("solver", SOLVER_KEYS), ("output", OUTPUT_KEYS),
                                 ("fracture", FRACTURE_KEYS), ("fatigue", FATIGUE_KEYS),
                                 ("experiment", EXPERIMENT_KEYS))}
    parameters = _parameters(raw.get("parameters", {}), file)
    param_origins = {k: f"{file} [parameters]" for k in parameters}
    mesh_t = tables["mesh"]
    for k in MESH_SIZE_KEYS:
        if mesh_t.has(k):
            parameters[f"mesh.{k}"] = mesh_t.raw(k)
            param_origins[f"mesh.{k}"] = mesh_t.origin(k)
    if mesh_t.has("n_cells") and geometry not in ("radial", "hollow"):
        raise InputError(f"n_cells sets the 1D radial mesh; for geometry {geometry!r} use size_outer and size_inner",
                         file=mesh_t.origin("n_cells"), key="mesh.n_cells")
    mesh = MeshOptions(file=_mesh_file(mesh_t, base, geometry),
                       n_cells=mesh_t.integer("n_cells", None, ge=2, le=10**7), order=mesh_t.integer("order", 2, ge=1, le=2))
    sv = tables["solver"]
    solver = SolverOptions(coupling=sv.choice("coupling", ("one-way", "two-way"), "one-way"),
                           mechanics=sv.boolean("mechanics", True),
                           dt_initial=sv.quantity("dt_initial", "s", 1e-3, gt=0),
                           dt_max=sv.quantity("dt_max", "s", None, gt=0),
                           degree_c=sv.integer("degree_c", 1, ge=1, le=3), degree_u=sv.integer("degree_u", 2, ge=1, le=3),
                           rtol=sv.quantity("rtol", "", 1e-5, gt=0, lt=1), atol=sv.quantity("atol", "", 1e-6, gt=0, lt=1))
    output = _output(tables["output"], geometry)
    protocol, cycle, repeats = _steps(raw, tables["experiment"], file, origins)
    ex = tables["experiment"]
    density = ex.quantity("density", "g/cm^3", None, gt=0, le=30)
    specific = [i for i, s in enumerate(protocol) if isinstance(s, ExperimentStep) and s.specific]
    if specific and density is None:
        raise InputError(f"step {specific[0]} ({protocol[specific[0]].text!r}) gives a specific current (per gram): add "
                         f'[experiment] density = "4.3 g/cm^3" (the particle density)', file=file, key="experiment.density")
    fracture = _fracture(tables["fracture"])
    if fracture is not None and not solver.mechanics:
        raise InputError("the phase-field model needs the mechanics (solver.mechanics = true)", file=file,
                         key="fracture.model")
    if fracture is not None and fracture.adapt and mesh.order != 1 and geometry in ("axisym", "3d") \
            and mesh.file is None:
        raise InputError("adaptive refinement splits straight-sided cells: set [mesh] order = 1", file=file,
                         key="fracture.adapt")
    fatigue = _fatigue(tables["fatigue"])
    if fatigue is not None and fatigue.model == "phase-field":
        fracture = _phase_field_fatigue(tables["fracture"], fracture, cycle, len(protocol), file)
    return Case(file=file, title=str(top.raw("title", "")), model=model, params=params, geometry=geometry,
                parameters=parameters, cli_parameters=dict(cli_parameters), mesh=mesh, solver=solver,
                output=output, protocol=protocol, raw=raw, fracture=fracture, fatigue=fatigue,
                cycle=cycle, cycle_repeats=repeats, density=density, origins={**origins, **param_origins})


def _mesh_file(mesh_t, base: Path, geometry: str) -> Path | None:
    """``[mesh] file`` (relative to the case file; ``sim run --mesh`` gives it absolute): a gmsh ``.msh`` (or
    STEP/STL) read by :func:`sim.mesh.read_mesh`; the geometry must be the mesh's (3d or axisym)."""
    if not mesh_t.has("file"):
        return None
    value = mesh_t.raw("file")
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"a mesh file path, e.g. file = \"particle.msh\"; got {value!r}", file=mesh_t.origin("file"),
                         key="mesh.file")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise InputError(f"mesh file {path} not found", file=mesh_t.origin("file"), key="mesh.file")
    if geometry not in ("axisym", "3d"):
        raise InputError(f"a mesh file needs geometry = \"3d\" or \"axisym\" (got {geometry!r})",
                         file=mesh_t.origin("file"), key="geometry")
    if mesh_t.has("n_cells"):
        raise InputError("n_cells builds a 1D mesh; with mesh.file the mesh is read as it is", file=mesh_t.origin("n_cells"),
                         key="mesh.n_cells")
    return path


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


def _parameters(table, file: str) -> dict:
    """Flatten ``{"transport": {"x_initial": 0.34}}`` and ``{"transport.x_initial": 0.34}``; the keys are checked
    (with the allowed ones listed) by :meth:`sim.params.ParameterSet.override` in :meth:`Case.load_params`."""
    if not isinstance(table, dict):
        raise InputError(f"must be a table, got {table!r}", file=file, key="parameters")
    flat: dict[str, Any] = {}
    for k, v in table.items():
        if "." in k:
            flat[k] = v
        elif isinstance(v, dict) and k in SECTIONS:
            flat.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            raise InputError(f"entries of [parameters] are section.key = value, e.g. \"transport.x_initial\" = 0.34 "
                             f"(sections: {', '.join(SECTIONS)})", file=f"{file} [parameters]", key=k)
    return flat


def _output(t: Entries, geometry: str) -> OutputOptions:
    maps = t.raw("maps_at_dod", [])
    maps = maps if isinstance(maps, list) else [maps]
    dods = tuple(sorted({to_fraction(v, file=t.origin("maps_at_dod"), key=f"output.maps_at_dod[{i}]")
                         for i, v in enumerate(maps)}))
    probes = None
    if t.has("probes"):
        if not isinstance(t.raw("probes"), dict):
            raise InputError('probes must be a table: { name = "bridge" | "surface" | [coordinates] }',
                             file=t.origin("probes"), key="output.probes")
        probes = tuple(_probe(name, where, geometry, t.origin("probes")) for name, where in t.raw("probes").items())
    return OutputOptions(maps_at_dod=dods, probes=probes, vtx=t.boolean("vtx", True),
                         vtx_every=t.integer("vtx_every", 1, ge=0, le=10**6), vtk=t.boolean("vtk", False),
                         outputs=t.choice("outputs", OUTPUTS, "full"), hot_spots=t.integer("hot_spots", 3, ge=0, le=100),
                         checkpoint_every=t.integer("checkpoint_every", 0, ge=0, le=10**9),
                         checkpoint_seconds=t.quantity("checkpoint_seconds", "s", 60.0, ge=0))


def _fracture(t: Entries) -> PhaseFieldOptions | None:
    """``[fracture]``: None for model = "none" (onset screening only), else the phase-field options."""
    model = t.choice("model", FRACTURE_MODELS, "none")
    if model == "none":
        extra = [k for k in t.data if k != "model"]
        if extra:
            raise InputError(f"{extra[0]} is a phase-field option; set model = \"phase-field\"", file=t.origin(extra[0]),
                             key=f"fracture.{extra[0]}")
        return None
    d = PhaseFieldOptions()
    return PhaseFieldOptions(variant=t.choice("variant", ("AT1", "AT2"), d.variant),
                             split=t.choice("split", ("none", "spectral", "volumetric-deviatoric"), d.split),
                             residual_stiffness=t.quantity("residual_stiffness", "", d.residual_stiffness, ge=0, lt=1),
                             tolerance=t.quantity("tolerance", "", d.tolerance, gt=0, lt=1),
                             max_iterations=t.integer("max_iterations", d.max_iterations, ge=1, le=10**6),
                             fatigue=t.boolean("fatigue", d.fatigue), adapt=t.boolean("adapt", d.adapt),
                             adapt_levels=t.integer("adapt_levels", d.adapt_levels, ge=1, le=10),
                             adapt_damage=t.quantity("adapt_damage", "", d.adapt_damage, gt=0, lt=1),
                             acceleration=t.choice("acceleration", ("aitken", "none"), d.acceleration))


def _fatigue(t: Entries) -> FatigueOptions | None:
    """``[fatigue]``: Paris-law extrapolation (``cycles`` >= 1, ``geometry_factor`` Y > 0), phase-field fatigue
    (``cycles``, ``jump``, ``max_change`` in (0, 1), ``failure_damage`` in (0.01, 1]), or None."""
    if not t.data:
        return None
    model = t.choice("model", FATIGUE_MODELS, "paris")
    allowed = PARIS_KEYS if model == "paris" else PF_FATIGUE_KEYS
    extra = [k for k in t.data if k not in allowed]
    if extra:
        raise InputError(f"{extra[0]} is not an option of the {model} fatigue model (its options: "
                         f"{', '.join(allowed)})", file=t.origin(extra[0]), key=f"fatigue.{extra[0]}")
    if model == "phase-field":
        d = FatigueOptions(cycles=None, model=model)
        return FatigueOptions(cycles=t.integer("cycles", None, ge=1, le=10**12), model=model,
                              jump=t.boolean("jump", d.jump), max_change=t.quantity("max_change", "", d.max_change,
                                                                                    gt=0, lt=1),
                              failure_damage=t.quantity("failure_damage", "", d.failure_damage, gt=0.01, le=1))
    if not t.has("cycles"):
        raise InputError("missing cycles = N (how many cycles the Paris law extrapolates to)", file=t.file,
                         key="fatigue.cycles")
    return FatigueOptions(cycles=t.integer("cycles", ge=1, le=10**12),
                          geometry_factor=t.quantity("geometry_factor", "", 1.12, gt=0, le=100))


def _phase_field_fatigue(t: Entries, fracture: PhaseFieldOptions | None, cycle, n_steps: int,
                         file: str) -> PhaseFieldOptions:
    """The phase-field options with the Carrara 2020 fatigue degradation on, for ``[fatigue] model =
    "phase-field"``; the load cycle (the repeated group) must end the protocol: the run repeats it."""
    if fracture is None:
        raise InputError('phase-field fatigue degrades the phase field\'s G_c: add [fracture] model = "phase-field"',
                         file=file, key="fatigue.model")
    if t.has("fatigue") and not fracture.fatigue:
        raise InputError('[fatigue] model = "phase-field" turns the fatigue degradation on; remove fracture.fatigue = '
                         'false', file=t.origin("fatigue"), key="fracture.fatigue")
    if cycle is not None and cycle[1] != n_steps:
        raise InputError("with phase-field fatigue the repeated group (repeat = N) is the load cycle and must be the "
                         "last protocol entry", file=file, key="protocol")
    return dataclasses.replace(fracture, fatigue=True)


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
    coords = tuple(to_quantity(v, "m", file=file, key=f"{key}[{i}]") for i, v in enumerate(where))
    if geometry in ("radial", "hollow", "axisym") and coords[0] < 0:
        raise InputError("the radial coordinate r must be >= 0", file=file, key=f"{key}[0]")
    return Probe(name, coords)


# ----------------------------------------------------------------------------------------- the protocol
def _steps(raw: dict, ex: Entries, file: str, origins: dict):
    """``[[protocol]]`` or ``[experiment] steps`` (not both) -> (expanded steps, last cycle [first, end) or None,
    how many times that cycle is repeated)."""
    if ex.has("steps") and "protocol" in raw:
        raise InputError("give the protocol either as [[protocol]] tables or as [experiment] steps, not both",
                         file=file, key="experiment.steps")
    if ex.has("steps"):
        return _experiment(ex)
    if ex.has("cycles"):
        raise InputError("cycles repeats [experiment] steps; with [[protocol]] use repeat = N in an entry", file=file,
                         key="experiment.cycles")
    return _protocol(raw.get("protocol"), file, origins)


def _experiment(ex: Entries):
    """PyBaMM-style: ``steps`` a list of step strings or of lists of them (one cycle each), ``cycles`` times."""
    steps, where = ex.raw("steps"), ex.origin("steps")
    if not isinstance(steps, list) or not steps:
        raise InputError('got a non-list; allowed: a list of step strings or of lists of them, e.g. [["Discharge at '
                         '1C until 2.5 V", "Rest for 1 hour"]]', file=where, key="experiment.steps")
    one = []
    for i, item in enumerate(steps):
        group = item if isinstance(item, list) else [item]
        if not group:
            raise InputError("an empty cycle", file=where, key=f"experiment.steps[{i}]")
        one += [parse_step(s, file=where, key=f"experiment.steps[{i}]" + (f"[{j}]" if isinstance(item, list) else ""))
                for j, s in enumerate(group)]
    n = ex.integer("cycles", 1, ge=1, le=MAX_STEPS)
    if n * len(one) > MAX_STEPS:
        raise InputError(f"the experiment expands to {n * len(one)} steps, more than {MAX_STEPS}; for many cycles run "
                         f"one cycle (or a few) and extrapolate with [fatigue] cycles = N", file=ex.origin("cycles"),
                         key="experiment.cycles")
    return tuple(one * n), ((n - 1) * len(one), n * len(one)) if n > 1 else None, n


def _protocol(steps, file: str, origins: dict) -> tuple[tuple[Step, ...], tuple[int, int] | None, int]:
    """The expanded steps, the [first, end) steps of the last repetition of the last repeated entry (None
    without one) and its repeat count (1 without one)."""
    if not isinstance(steps, list) or not steps:
        raise InputError('missing the protocol: add [[protocol]] tables, e.g. step = "discharge at 1C to 20 % DOD", '
                         'or [experiment] steps = ["Discharge at 1C until 2.5 V"]', file=file, key="protocol")
    out, cycle, repeats = [], None, 1
    for i, entry in enumerate(steps):
        key = f"protocol[{i}]"
        if not isinstance(entry, dict):
            raise InputError("each protocol entry is a table with step = \"...\" or kind = ...", file=file, key=key)
        entry = dict(entry)
        table = Entries(entry, file=file, prefix=key, origins=origins)
        repeat = table.integer("repeat", None, ge=1, le=MAX_STEPS)
        entry.pop("repeat", None)
        if "steps" in entry:
            if repeat is None or len(entry) != 1 or not isinstance(entry["steps"], list) or not entry["steps"]:
                raise InputError('a repeated group is { repeat = N, steps = ["...", ...] } (step strings)',
                                 file=file, key=f"{key}.steps")
            group = [parse_step(s, file=table.origin("steps"), key=f"{key}.steps[{j}]")
                     for j, s in enumerate(entry["steps"])]
        elif "step" in entry:
            if len(entry) != 1:
                extra = ", ".join(k for k in entry if k != "step")
                raise InputError(f"a step string stands alone (with an optional repeat); remove {extra} or use the "
                                 f"table form (kind = ...)", file=file, key=key)
            group = [parse_step(entry["step"], file=table.origin("step"), key=f"{key}.step")]
        else:
            group = [parse_step_table(entry, file=file, key=key, origins=origins)]
        n = repeat or 1
        if len(out) + n * len(group) > MAX_STEPS:
            raise InputError(f"the protocol expands to more than {MAX_STEPS} steps; for many cycles run one cycle "
                             f"(or a few) and extrapolate with [fatigue] cycles = N", file=file, key=f"{key}.repeat")
        if repeat is not None:
            cycle, repeats = (len(out) + (n - 1) * len(group), len(out) + n * len(group)), n
        out += group * n
    return tuple(out), cycle, repeats
