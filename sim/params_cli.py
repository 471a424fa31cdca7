"""``sim params NAME``: load a parameter set, check it, and print its values with units and sources."""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("params", help="check a parameter set and print it with units and sources")
    p.add_argument("name", help="parameter set name in params/ (e.g. liu2024) or a path to a .toml file")
    add_set_option(p, 'override an entry, e.g. --set geometry.void_radius="0.3 um"')
    p.add_argument("--json", action="store_true", help="print the resolved set as JSON (values in the units "
                                                       "shown, with value_si)")
    p.set_defaults(func=run)


def add_set_option(parser, help: str) -> None:
    """The repeatable ``--set KEY=VALUE`` option (``args.overrides``, read by :func:`parse_overrides`)."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help)


def parse_overrides(items: list[str]) -> dict[str, str]:
    """``["a.b=1 um", ...]`` -> ``{"a.b": "1 um"}``; a bare number stays a number."""
    from sim.errors import InputError

    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=VALUE (e.g. geometry.void_radius=\"0.3 um\"), got {item!r}", key="--set")
        value = value.strip()
        try:
            out[key.strip()] = float(value)
        except ValueError:
            out[key.strip()] = value
    return out


def format_value(e: dict) -> str:
    """One entry of ``ParameterSet.as_dict("display")`` as text: ``8 µm``, ``table(3 points, cm²/s)``."""
    v, unit = e["value"], e.get("unit") or ""
    if isinstance(v, dict):
        return f"table({len(v['x'])} points{', ' + unit if unit else ''})"
    if isinstance(v, list):
        return f"{len(v)} pore(s)" if v else "none"
    if isinstance(v, float):
        return f"{v:.6g} {unit}".strip()
    return f"{v} {unit}".strip()


def run(args) -> int:
    from sim.io import quiet_broken_pipe
    from sim.params import load_params

    pset = load_params(args.name, parse_overrides(args.overrides))
    resolved = pset.as_dict("display")
    with quiet_broken_pipe():
        if args.json:
            print(json.dumps(resolved, indent=2, default=str))
            return 0
        print(f"{pset.name}: {pset.meta.get('title', '')}  (files: {', '.join(str(f) for f in pset.files)})")
        for sec, entries in resolved.items():
            if not isinstance(entries, dict) or sec in ("meta",):
                continue
            print(f"[{sec}]")
            for key, e in entries.items():
                print(f"  {key:28s} {format_value(e):>26} <- {e['source']}")
    return 0
