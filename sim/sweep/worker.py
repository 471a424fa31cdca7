"""Worker side of a sweep: run one case in this process with ``MPI.COMM_SELF`` and publish it atomically.

A case's folder ``cases/<case_id>/`` appears only complete: the runner writes into a hidden
``cases/.<case_id>.tmp-<token>/``, ``result.json`` (the marker the table is built from) is written
last, and the folder is renamed into place. A half-run case therefore leaves only a hidden temp
folder, which the next run deletes.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import threading
import time
import traceback
from pathlib import Path

from sim.io import hidden_sibling, replace_dir, write_text_atomic

MARKER = "result.json"
# PETSc is not thread-safe: a worker process with several threads runs its cases one at a time
_PROCESS_LOCK = threading.Lock()


def _run_lithium(case: str, out_dir: str, overrides: dict, comm) -> dict:
    from sim.lithium.run import run_case

    return run_case(case, out_dir, overrides=overrides, comm=comm, progress=False)


def _run_oxygen(case: str, out_dir: str, overrides: dict, comm) -> dict:
    from sim.oxygen import run_oxygen_case

    return run_oxygen_case(case, out_dir, overrides=overrides, comm=comm)


FIT_KEYS = ("model", "title", "params", "fit_offset", "profile")


def _run_fit(case: str, out_dir: str, overrides: dict, comm) -> dict:
    """A fit case: one profile file fitted by :func:`sim.oxygen.fit_profiles` (serial; ``comm`` unused).

    Case file: ``model = "fit"``, ``profile = "profiles/a.csv"`` and optional ``params`` (name or path)
    and ``fit_offset``; paths relative to the case file. The summary is the fit of that one file.
    """
    import tomllib

    from sim.errors import InputError
    from sim.oxygen import fit_profiles

    data = {**tomllib.loads(Path(case).read_text()), **overrides}
    for key in data:
        if key not in FIT_KEYS:
            raise InputError(f"unknown key; a fit case has: {', '.join(FIT_KEYS)}", file=case, key=key)
    if "profile" not in data:
        raise InputError('missing the profile file, e.g. profile = "profiles/a.csv"', file=case, key="profile")
    if not isinstance(data.get("fit_offset", False), bool):
        raise InputError(f"fit_offset must be true or false, got {data['fit_offset']!r}", file=case, key="fit_offset")
    params = str(data.get("params", "csernica2021"))
    if params.endswith(".toml"):
        params = str(Path(case).parent / params)
    profile = Path(case).parent / data["profile"]  # an absolute path (from a files axis) stays as it is
    result = fit_profiles([profile], out_dir, params=params, fit_offset=data.get("fit_offset", False))
    (entry,) = result["files"].values()
    return {"params": result["params"], "fit_offset": result["fit_offset"], **entry}


# model name in the base case -> runner(case_path, out_dir, overrides, comm) -> summary dict
RUNNERS = {"lithium": _run_lithium, "oxygen": _run_oxygen, "fit": _run_fit}


def write_json(path: Path, data: dict) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, default=str))


def publish(tmp: Path, record: dict) -> dict:
    """Write the marker into ``tmp`` and rename ``tmp`` to ``cases/<case_id>``, replacing an older attempt."""
    tmp.mkdir(parents=True, exist_ok=True)
    write_json(tmp / MARKER, record)
    replace_dir(tmp, tmp.parent / record["case_id"])
    return record


def temp_dir(cases_dir: str | Path, case_id: str) -> Path:
    return hidden_sibling(Path(cases_dir) / case_id)


def case_record(spec: dict, failure: str | None = None, *, wall_time_s: float = float("nan"),
                summary: dict | None = None, detail: str = "") -> dict:
    """The marker of a finished case: ``status`` is ``ok``, or ``failed: <failure>`` (one line).

    ``summary``: the runner's summary (for a failure, what it saved before: a SolverError carries it as
    ``err.summary``); ``detail``: the traceback.
    """
    status = "ok" if failure is None else "failed: " + " ".join(failure.split())[:300]
    return {"case_id": spec["case_id"], "inputs": spec["inputs"], "overrides": spec["overrides"], "status": status,
            "wall_time_s": wall_time_s, "summary": summary or {}, "error": detail, "host": socket.gethostname(),
            "pid": os.getpid(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}


def run_case_task(spec: dict, cases_dir: str) -> dict:
    """Run one sweep case (a Dask task); never raises for a failing case, returns its marker record.

    ``spec`` has ``case_id``, ``model``, ``base_case`` (absolute path), ``overrides`` and ``inputs``.
    """
    import dolfinx_solver  # noqa: F401  (orders the MPI libraries before mpi4py/dolfinx)
    from mpi4py import MPI

    tmp = temp_dir(cases_dir, spec["case_id"])
    log = io.StringIO()
    with _PROCESS_LOCK:
        start = time.perf_counter()
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                summary = RUNNERS[spec["model"]](spec["base_case"], str(tmp), spec["overrides"], MPI.COMM_SELF)
            record = case_record(spec, wall_time_s=time.perf_counter() - start, summary=summary)
        except (Exception, SystemExit) as exc:  # any failure is recorded, never stops the sweep
            record = case_record(spec, f"{type(exc).__name__}: {exc}", wall_time_s=time.perf_counter() - start,
                                 summary=getattr(exc, "summary", None), detail=traceback.format_exc())
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "case.log").write_text(log.getvalue())
        return publish(tmp, record)
