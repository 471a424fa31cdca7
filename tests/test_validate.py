"""``sim validate``: the fast subset writes report.md with the published-targets and verification tables."""
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAPERS = ("Csernica 2021", "Liu 2024", "Li 2019", "Wang 2021")


def test_validate_fast_subset_writes_the_report(tmp_path):
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "sim", "validate", "--out", str(tmp_path / "v")],
                         capture_output=True, text=True, cwd=REPO)
    print(res.stdout, res.stderr, f"{time.perf_counter() - t0:.1f} s")
    assert res.returncode == 0, res.stderr
    report = (tmp_path / "v" / "report.md").read_text()
    assert "| paper | quantity | published | ours | unit | difference | tolerance | within | note |" in report
    target_rows = [line for line in report.splitlines() if line.startswith(tuple(f"| {p} |" for p in PAPERS))]
    assert {p for p in PAPERS if any(line.startswith(f"| {p} |") for line in target_rows)} == set(PAPERS)
    assert len(target_rows) >= 10   # every row of physics.md "Published targets" (O loss and ΔV/V0 count twice)
    verification = report.split("## Verification")[1].split("##")[0]
    assert verification.count("| yes |") >= 3
    assert "![gitt_D](" in report and "## Errors" not in report


def test_a_broken_check_is_reported_and_exits_nonzero(tmp_path, monkeypatch):
    import sim.validate as v

    def broken(out, full, comm):
        raise RuntimeError("solver exploded")

    monkeypatch.setitem(v.CHECKS, "broken", ("target", broken))
    result = v.validate(tmp_path, only=("broken", "wh_closed_form"))
    assert [e["check"] for e in result["errors"]] == ["broken"]
    assert len(result["verification"]) == 1 and result["verification"][0]["ok"] is True
    report = (tmp_path / "report.md").read_text()
    assert "## Errors" in report and "solver exploded" in report

    class Args:
        out, full = str(tmp_path / "cli"), False

    monkeypatch.setattr(v, "validate", lambda out, full: result)
    assert v.run(Args) == 1


@pytest.mark.parametrize("published, ours, expected", [(3.17e8, "2.37e+07", "-93 %"), ("~100", "100", "-")])
def test_difference_column(published, ours, expected):
    from sim.validate import _difference

    assert _difference(published, ours) == expected
