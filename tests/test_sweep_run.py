"""Sweeps end to end with the (fast) oxygen model: kill and resume, failing cases, a remote Dask cluster.

The driver runs as ``python -m sim sweep`` in a subprocess, like a user's command.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import radial_case

ROOT = Path(__file__).resolve().parent.parent
CASE = """model = "oxygen"
params = "csernica2021"
geometry = "radial"
[protocol]
cycles = 1
hours_delithiated_per_cycle = 1.2
"""


def sweep_file(tmp_path: Path, axes: str) -> Path:
    (tmp_path / "case.toml").write_text(CASE)
    path = tmp_path / "sweep.toml"
    path.write_text(f'[sweep]\ncase = "case.toml"\n[axes]\n{axes}\n')
    return path


def sim_sweep(*args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "sim", "sweep", *map(str, args), "--no-progress"]
    if kwargs.pop("background", False):
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, **kwargs)


def finished(out: Path) -> list[Path]:
    cases = out / "cases"
    return [p for p in cases.iterdir() if not p.name.startswith(".")] if cases.exists() else []


def kill_after_first_case(sweep: Path, out: Path) -> None:
    """Start ``sim sweep`` in the background and kill -9 its driver once the first case has finished."""
    driver = sim_sweep(sweep, "--out", out, "--workers", 1, background=True)
    deadline = time.monotonic() + 300
    while len(finished(out)) < 1 and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)


AXES = '"oxygen.diffusivity" = { log = ["1e-17 cm^2/s", "1e-16 cm^2/s"], num = 2 }\n"protocol.cycles" = [1, 3]'
QOIS = ["o_loss_at_pct_final", "surface_mn3_fraction_final", "tau_final"]


def test_kill_driver_and_resume_gives_the_uninterrupted_table(tmp_path):
    path = sweep_file(tmp_path, AXES)
    ref = sim_sweep(path, "--out", tmp_path / "ref", "--workers", 1)
    assert ref.returncode == 0, ref.stdout + ref.stderr
    reference = pd.read_parquet(tmp_path / "ref" / "results.parquet")

    out = tmp_path / "run"
    kill_after_first_case(path, out)
    before = {p.name: (p / "result.json").read_text() for p in finished(out)}
    assert 1 <= len(before) < 4, "the kill must land after the first and before the last case"
    assert not (out / "results.csv").exists() or len(pd.read_csv(out / "results.csv")) == 4

    again = sim_sweep(path, "--out", out, "--workers", 1)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"({4 - len(before)} run now)" in again.stdout
    table = pd.read_parquet(out / "results.parquet")
    assert list(table["case_id"]) == list(reference["case_id"]) and table["case_id"].is_unique
    assert (table["status"] == "ok").all()
    pd.testing.assert_frame_equal(table[QOIS], reference[QOIS], rtol=1e-10)
    assert not [p for p in (out / "cases").iterdir() if p.name.startswith(".")]   # no temp folders left
    # cases finished before the kill were not run again
    assert {name: (out / "cases" / name / "result.json").read_text() for name in before} == before
    # O loss grows with D_O and with the number of cycles (each row is the right case)
    loss = table.set_index(["oxygen.diffusivity_cm2_s", "protocol.cycles"])["o_loss_at_pct_final"]
    assert loss[(1e-16, 1)] > loss[(1e-17, 1)] and loss[(1e-17, 3)] > loss[(1e-17, 1)]


@pytest.mark.slow
def test_edited_parameter_file_after_kill_reruns_every_affected_case(tmp_path):
    """kill -9 after the first case, edit the parameter file, resume: the table holds only the new version."""
    (tmp_path / "p.toml").write_text('[meta]\ninherits = "csernica2021"\n')
    (tmp_path / "case.toml").write_text(CASE.replace('params = "csernica2021"', 'params = "p.toml"'))
    path = tmp_path / "sweep.toml"
    path.write_text('[sweep]\ncase = "case.toml"\n[axes]\n"protocol.cycles" = [1, 2, 3]\n')
    out = tmp_path / "out"
    kill_after_first_case(path, out)
    assert 1 <= len(finished(out)) < 3, "the kill must land after the first and before the last case"
    (tmp_path / "p.toml").write_text('[meta]\ninherits = "csernica2021"\n[oxygen]\n'
                                     'diffusivity = { value = "4e-17 cm^2/s", source = "test" }\n')
    again = sim_sweep(path, "--out", out, "--workers", 1)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(3 run now)" in again.stdout and "3 case(s) changed" in again.stdout
    table = pd.read_parquet(out / "results.parquet")
    assert len(table) == 3 and (table["status"] == "ok").all()
    assert table["D_O_cm2_s"].tolist() == pytest.approx([4e-17] * 3)
    markers = {c: json.loads((out / "cases" / c / "result.json").read_text()) for c in table["case_id"]}
    assert [markers[c]["wall_time_s"] for c in table["case_id"]] == table["wall_time_s"].tolist()


LITHIUM_CASE = radial_case("""[solver]
mechanics = false
[[protocol]]
step = "discharge at 1C for 10 s"
""")


def test_failing_case_is_recorded_retried_and_a_changed_sweep_is_refused(tmp_path):
    # the second step is valid input but fails when run: a charge cannot reach 20 % DOD from DOD 0
    (tmp_path / "case.toml").write_text(LITHIUM_CASE)
    path = tmp_path / "sweep.toml"
    path.write_text('[sweep]\ncase = "case.toml"\n[axes]\n'
                    '"protocol[0].step" = ["discharge at 1C for 10 s", "charge at 1C to 20 % DOD"]\n')
    out = tmp_path / "out"
    first = sim_sweep(path, "--out", out, "--workers", 1)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "1 ok, 1 failed" in first.stdout
    table = pd.read_csv(out / "results.csv")
    assert list(table["status"].str.split(":").str[0]) == ["ok", "failed"]
    assert "InputError" in table["status"][1] and "cannot reach" in table["status"][1]
    ok_marker = (out / "cases" / table["case_id"][0] / "result.json").read_text()

    second = sim_sweep(path, "--out", out, "--workers", 1)   # only the failed case runs again
    assert second.returncode == 1 and "(1 run now)" in second.stdout, second.stdout + second.stderr
    assert (out / "cases" / table["case_id"][0] / "result.json").read_text() == ok_marker
    assert len(pd.read_parquet(out / "results.parquet")) == 2

    path.write_text(path.read_text().replace("to 20 % DOD", "for 5 s"))
    changed = sim_sweep(path, "--out", out)
    assert changed.returncode == 2
    assert str(path) in changed.stderr and "use a new --out" in changed.stderr and "Traceback" not in changed.stderr
    assert json.loads((out / "sweep.json").read_text())["cases"][1]["overrides"]["protocol[0].step"] == \
        "charge at 1C to 20 % DOD"


def test_runs_on_an_existing_dask_cluster(tmp_path):
    from dask.distributed import Client, LocalCluster

    path = sweep_file(tmp_path, '"protocol.cycles" = [1, 2]')
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        worker_pids = set(client.run(os.getpid).values())
        result = sim_sweep(path, "--out", tmp_path / "out", "--scheduler", cluster.scheduler_address)
    assert result.returncode == 0, result.stdout + result.stderr
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(table["status"]) == ["ok", "ok"] and list(table["protocol.cycles"]) == [1, 2]
    pids = {json.loads((tmp_path / "out" / "cases" / c / "result.json").read_text())["pid"] for c in table["case_id"]}
    assert pids == worker_pids    # the cases ran in the cluster's worker, not in a local pool


@pytest.mark.slow
def test_unreachable_scheduler_is_an_input_error(tmp_path):
    path = sweep_file(tmp_path, '"protocol.cycles" = [1]')
    result = sim_sweep(path, "--out", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9")
    assert result.returncode == 2 and "cannot reach the Dask scheduler" in result.stderr, result.stderr


@pytest.mark.slow
def test_shipped_sweeps(tmp_path):
    """The three shipped sweeps: O loss, batch fit, bridge-point hoop stress (~3 min on 2 idle cores)."""
    sweeps = ROOT / "validation" / "sweeps"
    for name in ("oxygen_loss", "batch_fit", "bridge_stress"):
        result = sim_sweep(sweeps / f"{name}.toml", "--out", tmp_path / name)
        assert result.returncode == 0, result.stdout + result.stderr
        assert list((tmp_path / name / "plots").glob("*_map.png"))
    loss = pd.read_parquet(tmp_path / "oxygen_loss" / "results.parquet")
    grid = loss.pivot(index="oxygen.diffusivity_cm2_s", columns="protocol.cycles", values="o_loss_at_pct_final")
    assert (grid.diff(axis=0).iloc[1:] > 0).all().all() and (grid.diff(axis=1).iloc[:, 1:] > 0).all().all()
    fits = pd.read_parquet(tmp_path / "batch_fit" / "results.parquet")
    fits["true"] = fits["profile"].str.extract(r"_D([0-9.e+-]+)_")[0].astype(float)
    fits["radius"] = fits["profile"].str.extract(r"_R(\d+)nm")[0]
    # each row holds the fit of its own file: fitted D_O within x6 of the true one and in the same order
    assert (fits["models.diffusion.D_O_cm2_s"] / fits["true"]).between(1 / 6, 6).all()
    for _, group in fits.groupby(["radius", "fit_offset"]):
        assert group.sort_values("true")["models.diffusion.D_O_cm2_s"].is_monotonic_increasing
    assert (fits["preferred_model"] == "diffusion").all()   # the profiles were made by diffusion
    hoop = pd.read_parquet(tmp_path / "bridge_stress" / "results.parquet")
    h = hoop.pivot(index="geometry.void_radius_um", columns="protocol[0].c_rate",
                   values="probes.bridge.maxima.hoop_Pa.value")
    assert (h[10.0] / h[0.1] > 30).all()     # Liu 2024: >= two orders of magnitude between 10C and 0.1C
