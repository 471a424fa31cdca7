"""The results table: one row per case, rebuilt from the per-case markers (``cases/<id>/result.json``).

Columns: ``case_id``, the swept inputs (units in the names), ``status`` (``ok`` / ``failed: reason`` /
``pending``), ``wall_time_s`` (the case's run time in its worker), ``iterations`` (solver iterations when
the runner reports them), then the scalar quantities of the runner's ``summary.json``, flattened with
dots (``{"value": v, "unit": u}`` entries become ``name_<unit>``; numeric lists of up to 3 entries
become ``name[0]``, ``name[1]``, ...). Longer lists and fields stay in the case folder.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from sim.io import write_atomic
from sim.sweep.spec import Sweep, unit_slug
from sim.sweep.worker import MARKER

OWN_COLUMNS = ("case_id", "status", "wall_time_s", "iterations")
SHORT_LIST = 3   # numeric lists up to this length (intervals, positions) become columns name[i]


def read_marker(cases_dir: Path, case_id: str) -> dict | None:
    """The marker of a finished (ok or failed) case, or ``None`` if it never finished."""
    try:
        return json.loads((cases_dir / case_id / MARKER).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def flatten_summary(summary: dict, prefix: str = "") -> dict:
    """Scalars of a nested summary as ``{"a.b": value}``; ``{"value", "unit"}`` pairs get the unit in the name."""
    out: dict = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and set(value) == {"value", "unit"}:
            name, value = (f"{name}_{unit_slug(value['unit'])}" if value["unit"] else name), value["value"]
        if isinstance(value, dict):
            out.update(flatten_summary(value, name + "."))
        elif value is None or isinstance(value, (bool, int, float, str)):
            out[name] = value
        elif isinstance(value, list) and len(value) <= SHORT_LIST and all(isinstance(v, (int, float)) for v in value):
            out.update({f"{name}[{i}]": v for i, v in enumerate(value)})   # intervals, positions
    return out


def _iterations(flat: dict) -> tuple[str | None, float]:
    """(summary key, total solver iterations) if the summary reports them, else (None, nan)."""
    for key in ("iterations", "iterations.total", "newton_iterations", "solver_iterations"):
        if isinstance(flat.get(key), (int, float)) and not isinstance(flat.get(key), bool):
            return key, flat[key]
    return None, math.nan


def build_table(sweep: Sweep, records: dict[str, dict]) -> pd.DataFrame:
    """Rows in sweep order; cases without a marker are ``pending``."""
    rows = []
    for case in sweep.cases:
        rec = records.get(case.case_id)
        row = {"case_id": case.case_id, **case.inputs}
        if rec is None:
            rows.append({**row, "status": "pending", "wall_time_s": math.nan, "iterations": math.nan})
            continue
        flat = flatten_summary(rec.get("summary") or {})
        used, iterations = _iterations(flat)
        flat.pop(used, None)
        row.update(status=rec["status"], wall_time_s=rec.get("wall_time_s", math.nan), iterations=iterations)
        # a runner's own "status"/"wall_time_s" must not hide the sweep's: keep them as case.<name>
        row.update({(f"case.{k}" if k in row else k): v for k, v in flat.items()})
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in df.columns[df.dtypes == object]:
        kinds = {type(v) for v in df[col] if v is not None and not (isinstance(v, float) and math.isnan(v))}
        if len(kinds) > 1 and not kinds <= {int, float}:
            df[col] = df[col].map(lambda v: None if v is None else str(v))  # parquet needs one type per column
    return df


def write_table(df: pd.DataFrame, out_dir: Path) -> tuple[Path, Path]:
    """``results.csv`` and ``results.parquet``, each written to a temp file and renamed."""
    return (write_atomic(out_dir / "results.csv", lambda tmp: df.to_csv(tmp, index=False)),
            write_atomic(out_dir / "results.parquet", lambda tmp: df.to_parquet(tmp, index=False)))
