"""``sim params NAME``: load a parameter set, check it, and print its values with units and sources.

``sim params --from-bpx cell.json --out particle.toml`` converts a BPX (Battery Parameter eXchange) file
into a parameter set for the positive-electrode particle (:func:`sim.bpx.bpx_to_toml`) and prints what
was mapped, what BPX lacks (taken from ``lmr_default``, marked assumed) and what was ignored.
"""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("params", help="check a parameter set and print it with units and sources")
    p.add_argument("name", nargs="?", help="parameter set name in params/ (e.g. liu2024) or a path to a .toml file")
    add_set_option(p, 'override an entry, e.g. --set geometry.void_radius="0.3 um"')
    p.add_argument("--json", action="store_true", help="print the resolved set as JSON (values in the units "
                                                       "shown, with value_si)")
    p.add_argument("--from-bpx", metavar="FILE", help="convert a BPX JSON file into a parameter set (needs --out)")
    p.add_argument("--out", help="with --from-bpx: the parameter file (.toml) to write")
    p.add_argument("--overwrite", action="store_true", help="with --from-bpx: replace an existing --out file")
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


def from_bpx(bpx: str, out: str | None, *, overwrite: bool = False) -> str:
    """Write the parameter set of a BPX file to ``out`` (.toml) and return the report to print."""
    from pathlib import Path

    from sim.bpx import bpx_to_toml
    from sim.errors import InputError

    if not out:
        raise InputError("--from-bpx needs --out FILE.toml (the parameter set to write)", key="--out")
    target = Path(out)
    if target.suffix != ".toml":
        raise InputError(f"got {out!r}; allowed: a .toml file name", key="--out")
    if target.is_dir() or (target.exists() and not overwrite):
        what = "a folder" if target.is_dir() else "an existing file (pass --overwrite to replace it)"
        raise InputError(f"{out} is {what}", key="--out")
    if not target.parent.is_dir():
        raise InputError(f"the folder {target.parent} does not exist", key="--out")
    report = bpx_to_toml(bpx, target)
    lines = [f"{bpx} -> {target} (parameter set {target.stem!r}, inherits lmr_default)",
             f"mapped ({len(report.mapped)}):"]
    lines += [f"  {field:58s} -> {key}" for field, key in report.mapped.items()]
    lines.append(f"lacking in BPX, taken from lmr_default and marked assumed ({len(report.lacking)}):")
    lines += [f"  {key}" for key in report.lacking]
    lines.append(f"ignored positive-electrode fields ({len(report.ignored)}):")
    lines += [f"  {field}" for field in report.ignored] or ["  none"]
    return "\n".join(lines)


def run(args) -> int:
    from sim.errors import InputError
    from sim.io import quiet_broken_pipe
    from sim.params import load_params

    if args.from_bpx:
        if args.name or args.overrides or args.json:
            raise InputError("--from-bpx converts a BPX file; give no parameter set name, --set or --json with it",
                             key="--from-bpx")
        text = from_bpx(args.from_bpx, args.out, overwrite=args.overwrite)
        with quiet_broken_pipe():
            print(text)
        return 0
    if args.out or args.overwrite:
        raise InputError("--out and --overwrite go with --from-bpx", key="--out")
    if not args.name:
        raise InputError("give a parameter set name (e.g. liu2024) or a .toml path, or --from-bpx FILE --out FILE.toml",
                         key="name")
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
