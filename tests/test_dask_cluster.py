"""A shipped sweep on a real Dask cluster started as a user starts one: ``dask scheduler`` and
``dask worker`` processes on the loopback interface, then ``sim sweep ... --scheduler tcp://127.0.0.1:PORT``.

Every process is started in its own session and stopped (SIGTERM, then SIGKILL) whatever happens;
every wait is bounded.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
DASK = Path(sys.executable).with_name("dask")
# O loss (at.%) of validation/sweeps/oxygen_loss.toml as tabulated in the README (D_O rows, cycles columns)
README_O_LOSS = {(1e-18, 1): 0.134, (1e-18, 500): 2.64, (1e-17, 1): 0.413, (1e-17, 100): 3.54,
                 (1e-16, 10): 3.54, (1e-16, 500): 7.14}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(cmd, log: Path, env) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                            start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"dask scheduler exited: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"dask scheduler did not listen on {port} within {timeout:.0f} s")


@pytest.mark.slow
@pytest.mark.skipif(not DASK.exists(), reason="the dask command line is not installed")
def test_shipped_sweep_on_dask_scheduler_and_worker_processes(tmp_path):
    from dask.distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    scheduler = _start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                       tmp_path / "scheduler.log", env)
    worker = None
    try:
        _wait_for_port(port, scheduler, tmp_path / "scheduler.log")
        worker = _start([str(DASK), "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                         "--host", "127.0.0.1", "--local-directory", str(tmp_path / "dask-worker")],
                        tmp_path / "worker.log", env)
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=120)
            worker_pids = set(client.run(os.getpid).values())
        out = tmp_path / "out"
        result = subprocess.run([sys.executable, "-m", "sim", "sweep", "validation/sweeps/oxygen_loss.toml",
                                 "--out", str(out), "--scheduler", address, "--no-progress"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        table = pd.read_csv(out / "results.csv")
        assert len(table) == 20 and set(table["status"]) == {"ok"}
        pids = {json.loads((out / "cases" / c / "result.json").read_text())["pid"] for c in table["case_id"]}
        assert pids <= worker_pids and len(pids) == 2       # both cluster workers ran cases, nothing ran locally
        d_col = next(c for c in table.columns if c.startswith("oxygen.diffusivity"))
        for (d_cm2, cycles), expected in README_O_LOSS.items():
            row = table[((table[d_col] / (d_cm2 * 1e-4 if "m^2" in d_col and "cm" not in d_col else d_cm2)) - 1).abs()
                        .lt(1e-6) & (table["protocol.cycles"] == cycles)]
            assert len(row) == 1, (d_cm2, cycles, list(table.columns))
            assert row["o_loss_at_pct_final"].iloc[0] == pytest.approx(expected, rel=6e-3)
    finally:
        if worker is not None:
            _stop(worker)
        _stop(scheduler)
    assert scheduler.poll() is not None and (worker is None or worker.poll() is not None)
