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

from sim.errors import InputError
from sim.io import hidden_sibling, replace_dir, write_json

MARKER = "result.json"
# PETSc is not thread-safe: a worker process with several threads runs its cases one at a time
_PROCESS_LOCK = threading.Lock()


def _run_lithium(case: str, out_dir: str, overrides: dict, comm) -> dict:
    from sim.lithium.run import run_case

    return run_case(case, out_dir, overrides=overrides, comm=comm, progress=False, outputs="minimal")


def _run_oxygen(case: str, out_dir: str, overrides: dict, comm) -> dict:
    from sim.oxygen import run_oxygen_case

    return run_oxygen_case(case, out_dir, overrides=overrides, comm=comm)


FIT_KEYS = ("model", "title", "params", "fit_offset", "profile")


def prepare_fit_case(case: str, overrides: dict, origins: dict | None = None) -> tuple[Path, str, bool]:
    """Check a fit case (``model = "fit"``, ``profile``, optional ``params`` and ``fit_offset``; paths
    relative to the case file) with its overrides; returns (profile path, params name/path, fit_offset)."""
    from sim.case import Entries, read_toml

    origins = origins or {}
    data = {**read_toml(case, "case file"), **overrides}
    entries = Entries(data, file=case, origins={k: origins.get(k, "--set") for k in overrides}).allow(FIT_KEYS)
    if not entries.has("profile") or not isinstance(data["profile"], str):
        raise InputError('missing the profile file, e.g. profile = "profiles/a.csv"', file=case, key="profile")
    fit_offset = entries.boolean("fit_offset", False)
    params = entries.raw("params", "csernica2021")
    if not isinstance(params, str):
        raise InputError(f"got {params!r}; allowed: a parameter set name or a .toml path", file=entries.origin("params"),
                         key="params")
    if params.endswith(".toml"):
        params = str(Path(case).parent / params)
    return Path(case).parent / data["profile"], params, fit_offset  # an absolute path (files axis) stays


def _run_fit(case: str, out_dir: str, overrides: dict, comm) -> dict:
    """A fit case: one profile file fitted by :func:`sim.oxygen.fit_profiles` (serial; ``comm`` unused).
    The summary is the fit of that one file."""
    from sim.oxygen import fit_profiles

    profile, params, fit_offset = prepare_fit_case(case, overrides)
    result = fit_profiles([profile], out_dir, params=params, fit_offset=fit_offset)
    (entry,) = result["files"].values()
    return {"params": result["params"], "fit_offset": result["fit_offset"], **entry}


# --------------------------------------------------------------------------- validation before a sweep
# model -> validate(case_path, overrides, origins) -> digest of everything the case resolves to
def _validate_oxygen(case: str, overrides: dict, origins: dict) -> str:
    from sim.case import parameter_digest
    from sim.oxygen.run import prepare_oxygen_case

    return parameter_digest(prepare_oxygen_case(case, overrides, origins).pset)


def _validate_lithium(case: str, overrides: dict, origins: dict) -> str:
    """The case as ``sim run`` reads it (errors name the sweep file's axis or [set]), and its mesh's cost
    within the limit (:meth:`sim.lithium.case.Case.check_cost`)."""
    from sim.case import parameter_digest
    from sim.lithium.case import load_case

    spec = load_case(case, overrides, origins)
    pset = spec.load_params()
    spec.check_cost(pset)
    return parameter_digest(pset)


def _validate_fit(case: str, overrides: dict, origins: dict) -> str:
    import hashlib

    from sim.case import parameter_digest
    from sim.oxygen.profiles import read_profile
    from sim.params import load_params

    profile, params, _ = prepare_fit_case(case, overrides, origins)
    read_profile(profile)
    return hashlib.sha256(profile.read_bytes() + parameter_digest(load_params(params)).encode()).hexdigest()


VALIDATORS = {"lithium": _validate_lithium, "oxygen": _validate_oxygen, "fit": _validate_fit}


# model name in the base case -> runner(case_path, out_dir, overrides, comm) -> summary dict
RUNNERS = {"lithium": _run_lithium, "oxygen": _run_oxygen, "fit": _run_fit}


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


def _finished(cases_dir: Path, case_id: str) -> dict | None:
    """The marker of this case if it already finished ok (written by an earlier attempt of this task)."""
    try:
        record = json.loads((cases_dir / case_id / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("status") == "ok" and record.get("case_id") == case_id else None


def run_case_task(spec: dict, cases_dir: str) -> dict:
    """Run one sweep case (a Dask task); never raises for a failing case, returns its marker record.

    ``spec`` has ``case_id``, ``model``, ``base_case`` (absolute path), ``overrides`` and ``inputs``.
    """
    import dolfinx_solver  # noqa: F401  (orders the MPI libraries before mpi4py/dolfinx)
    from mpi4py import MPI

    done = _finished(Path(cases_dir), spec["case_id"])
    if done is not None:     # Dask re-runs a lost worker's finished tasks: never compute a case twice
        return done
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
