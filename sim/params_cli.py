"""``sim params NAME``: load a parameter set, check it, and print its SI values with sources."""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("params", help="check a parameter set and print it in SI units with sources")
    p.add_argument("name", help="parameter set name in params/ (e.g. liu2024) or a path to a .toml file")
    add_set_option(p, 'override an entry, e.g. --set geometry.void_radius="0.3 um"')
    p.add_argument("--json", action="store_true", help="print the resolved set as JSON")
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
            raise InputError(f"--set expects KEY=VALUE (e.g. geometry.void_radius=\"0.3 um\"), got {item!r}")
        value = value.strip()
        try:
            out[key.strip()] = float(value)
        except ValueError:
            out[key.strip()] = value
    return out


def run(args) -> int:
    from sim.params import load_params

    pset = load_params(args.name, parse_overrides(args.overrides))
    resolved = pset.as_dict()
    if args.json:
        print(json.dumps(resolved, indent=2, default=str))
        return 0
    print(f"{pset.name}: {pset.meta.get('title', '')}  (files: {', '.join(str(f) for f in pset.files)})")
    for sec, entries in resolved.items():
        if not isinstance(entries, dict) or sec in ("meta",):
            continue
        print(f"[{sec}]")
        for key, e in entries.items():
            v = e["value"]
            shown = f"table({len(v['x'])} points)" if isinstance(v, dict) else v
            print(f"  {key:28s} {shown!s:>26} {e['unit'] or ''}   <- {e['source']}")
    return 0
