"""Driver of a sweep: expand, skip finished cases, run the rest on Dask, rebuild the table.

One code path for local and remote runs: a Dask ``LocalCluster`` (one process per worker, one
thread each) or ``Client(address)`` of an existing cluster. Each case is one task
(:func:`sim.sweep.worker.run_case_task`) that runs with ``MPI.COMM_SELF`` in its worker. A remote
cluster must see ``--out`` at the same path (shared file system) and have ``sim`` installed.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sim.errors import InputError
from sim.io import remove_leftovers
from sim.sweep.spec import Sweep, load_sweep
from sim.sweep.table import build_table, read_marker, write_table
from sim.io import write_json
from sim.sweep.worker import case_record, publish, run_case_task, temp_dir

TABLE_INTERVAL_S = 10.0  # rewrite the table at most this often while cases finish


@dataclass(frozen=True)
class SweepReport:
    """What a run of :func:`run_sweep` left behind."""

    out_dir: Path
    total: int
    ok: int
    failed: int
    pending: int
    ran: int                 # cases run by this invocation (the rest were already done)
    wall_time_s: float
    table: Path


def _describe(sweep: Sweep) -> dict:
    return {"sweep_file": str(sweep.file), "base_case": str(sweep.base_case), "model": sweep.model,
            "combine": sweep.combine, "digest": sweep.digest, "fixed": sweep.fixed,
            "axes": [{"key": a.key, "column": a.column, "values": list(a.values), "unit": a.unit, "scale": a.scale}
                     for a in sweep.axes],
            "cases": [{"case_id": c.case_id, "inputs": c.inputs, "overrides": c.overrides} for c in sweep.cases],
            "created": time.strftime("%Y-%m-%dT%H:%M:%S")}


def check_out_dir(sweep: Sweep, out: Path) -> dict | None:
    """Check ``out`` before anything is written: a new folder, or one this same sweep made (its
    ``sweep.json`` has the same structure digest). Returns the stored record, or None for a new folder."""
    from sim.case import check_out, read_text

    check_out(out, merge=True)                    # a file, under a file, not writable
    record = out / "sweep.json"
    if record.exists():
        try:
            stored = json.loads(read_text(record, "sweep record"))
        except ValueError:
            raise InputError(f"{record} is not a sweep record (not JSON); use a new --out", key="--out") from None
        if stored.get("digest") != sweep.digest:
            raise InputError(f"this sweep differs from the one that made {out} (stored hash {stored.get('digest', '?')[:12]}, "
                             f"now {sweep.digest[:12]}): the sweep file or its base case changed since the first run. "
                             f"Results are never mixed: use a new --out", file=str(sweep.file))
        return stored
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not a sweep results folder (no sweep.json); use a new --out",
                         file=str(sweep.file))
    return None


def prepare_out_dir(sweep: Sweep, out: Path, stored: dict | None) -> list[str]:
    """Create ``out`` (with the results marker) or update its ``sweep.json``; returns the ids of cases whose
    resolved parameters changed since the record was written (an edited parameter file: they re-run)."""
    from sim.case import write_marker

    (out / "cases").mkdir(parents=True, exist_ok=True)
    if stored is None:
        write_marker(out, "sim sweep")
    old = {c["case_id"] for c in (stored or {}).get("cases", [])}
    changed = [c.case_id for c in sweep.cases if stored is not None and c.case_id not in old]
    if stored is None or changed:
        write_json(out / "sweep.json", _describe(sweep))
    return changed


def _lock(out: Path):
    """An exclusive lock on ``out`` for this driver; the OS drops it when the driver dies (even kill -9)."""
    handle = open(out / ".lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise InputError(f"another sweep driver is running on {out}; wait for it or use a new --out") from None
    return handle


def _client(workers: int, scheduler: str | None):
    """``Client(scheduler)`` or a local process pool; returns (client, cluster or None)."""
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc})", key="--scheduler") from None
    # a crashed worker is retried once, then the case is recorded as failed
    dask.config.set({"distributed.scheduler.allowed-failures": 1})
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.CRITICAL)  # failures go to the table
    return Client(cluster), cluster


def run_sweep(sweep_file: str | Path, out_dir: str | Path, *, workers: int | None = None,
              scheduler: str | None = None, progress: bool = True, plot: bool = False) -> SweepReport:
    """Run every case of ``sweep_file`` not yet finished ``ok`` into ``out_dir``; resumable, see module doc.

    Everything is checked before anything is written: the sweep file, every expanded case (as its
    runner would), ``out_dir`` and the scheduler address.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}", key="--workers")
    sweep = load_sweep(sweep_file)
    out = Path(out_dir).resolve()
    stored = check_out_dir(sweep, out)
    cases_dir = out / "cases"
    records = _markers(sweep, cases_dir)
    todo = [c for c in sweep.cases if records.get(c.case_id, {}).get("status") != "ok"]
    client = _client(workers or os.cpu_count() or 1, scheduler) if todo else None
    try:
        changed = prepare_out_dir(sweep, out, stored)
        if changed:
            print(f"sim sweep: {len(changed)} case(s) changed since the first run (a parameter or profile file was "
                  f"edited); they run again, the table holds only the current ones")
        lock = _lock(out)
        remove_leftovers(cases_dir)  # temp folders of a killed run
        specs = {c.case_id: {"case_id": c.case_id, "model": sweep.model, "base_case": str(sweep.base_case),
                             "overrides": c.overrides, "inputs": c.inputs} for c in todo}
        bar = tqdm(total=len(sweep.cases), initial=len(sweep.cases) - len(todo), unit="case", desc="sweep",
                   disable=not progress, dynamic_ncols=True)
        try:
            if todo:
                _run(specs, cases_dir, records, client, bar, lambda: write_table(build_table(sweep, records), out))
        finally:
            bar.close()
            records = _markers(sweep, cases_dir)      # the table is what the markers on disk say
            df = build_table(sweep, records)
            table, _ = write_table(df, out)
            lock.close()
    finally:
        if client is not None:
            client[0].close()
            if client[1] is not None:
                client[1].close()
    if plot or sweep.plot:
        from sim.sweep.plots import plot_sweep

        plot_sweep(sweep, df, out / "plots")
    statuses = [records.get(c.case_id, {}).get("status", "pending") for c in sweep.cases]
    ok = statuses.count("ok")
    pending = statuses.count("pending")
    return SweepReport(out, len(statuses), ok, len(statuses) - ok - pending, pending, len(todo),
                       time.perf_counter() - start, table)


def _markers(sweep: Sweep, cases_dir: Path) -> dict:
    return {c.case_id: r for c in sweep.cases if (r := read_marker(cases_dir, c.case_id)) is not None}


def _run(specs: dict, cases_dir: Path, records: dict, client, bar, save_table) -> None:
    from dask.distributed import as_completed

    client = client[0]
    futures: dict = {}
    try:
        futures = {client.submit(run_case_task, spec, str(cases_dir), pure=False,
                                 key=f"sweep-case-{cid}-{os.urandom(4).hex()}"): cid for cid, spec in specs.items()}
        failed, saved = 0, time.monotonic()
        for future in as_completed(futures):
            spec = specs[futures[future]]
            if future.status == "finished":
                record = future.result()
            else:  # the task itself failed: its worker died (crash, out of memory, lost node) or it was interrupted
                exc = future.exception()
                reason = ("worker died while running this case (crash or out of memory)"
                          if type(exc).__name__ == "KilledWorker" else f"{type(exc).__name__}: {exc}")
                record = read_marker(cases_dir, spec["case_id"])   # it may have finished before the worker died
                if record is None or record.get("status") != "ok":
                    record = publish(temp_dir(cases_dir, spec["case_id"]), case_record(spec, reason, detail=repr(exc)))
            records[spec["case_id"]] = record
            failed += record["status"] != "ok"
            bar.set_postfix(failed=failed)
            bar.update(1)
            if time.monotonic() - saved > TABLE_INTERVAL_S:
                save_table()
                saved = time.monotonic()
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise
