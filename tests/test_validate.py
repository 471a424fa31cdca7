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
    assert "| paper | quantity | published | ours | unit | difference | tolerance | within | mode | note |" in report
    target_rows = [line for line in report.splitlines() if line.startswith(tuple(f"| {p} |" for p in PAPERS))]
    assert {p for p in PAPERS if any(line.startswith(f"| {p} |") for line in target_rows)} == set(PAPERS)
    assert len(target_rows) >= 10   # every row of docs/physics.md "Published targets" (O loss and ΔV/V0 count twice)
    # every row says which mode produced it; the Csernica rows are the same runs in both modes
    assert all(line.split(" | ")[8] in ("fast", "both") for line in target_rows)
    assert all(line.split(" | ")[8] == "both" for line in target_rows if line.startswith("| Csernica 2021 |"))
    assert "fallback" not in report and "if it never does" not in report
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


def test_readme_tables_are_rewritten_between_the_markers_only(tmp_path):
    from sim.validate import update_readme

    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- validate:targets -->\nold row\n<!-- /validate:targets -->\nkept text\n"
                      "<!-- validate:liu_convergence -->\n<!-- /validate:liu_convergence -->\n")
    row = {"paper": "Liu 2024", "quantity": "q", "published": 3.17e8, "ours": "2.46e+07", "unit": "Pa",
           "tolerance": "x2", "ok": False, "note": "n", "mode": "full"}
    conv = {"paper": "verification", "quantity": "Liu 2024 bridge-point hoop stress, 10C / 20 % DOD: change",
            "published": "", "ours": "6e-4", "unit": "", "tolerance": "", "ok": True, "mode": "full",
            "note": "levels (...): 0.06/0.8/1248/2.46e+07;0.03/0.4/2990/2.459e+07"}
    done = update_readme({"full": True, "targets": [row], "verification": [conv]}, readme)
    text = readme.read_text()
    assert done == ["targets", "liu_convergence"]
    assert "old row" not in text and "| Liu 2024 | q | 3.17e+08 | 2.46e+07 | Pa | -92 % |" in text
    assert "kept text" in text and "| 0.03 | 0.4 | 2990 | 2.4590e+07 | 0.041 % |" in text
    with pytest.raises(ValueError):
        update_readme({"full": False, "targets": [], "verification": []}, readme)


def test_readme_option_needs_the_full_run(tmp_path):
    from sim.errors import InputError
    from sim.validate import run

    class Args:
        out, full, readme = str(tmp_path / "v"), False, True

    with pytest.raises(InputError, match="--full"):
        run(Args)
    assert not (tmp_path / "v").exists()


def test_sensitivity_samples_become_parameter_files_and_a_zip_sweep(tmp_path):
    import numpy as np

    from sim import sensitivity as S
    from sim.params import load_params
    from sim.sweep.spec import load_sweep

    x = S.sample(2)
    assert x.shape == (2 * (len(S.FACTORS) + 2), len(S.FACTORS))
    for j, f in enumerate(S.FACTORS):
        assert np.all((x[:, j] >= f.low * (1 - 1e-12)) & (x[:, j] <= f.high * (1 + 1e-12)))
    sweeps = S.write_sweeps(x[:3], tmp_path)
    p = load_params(tmp_path / "samples" / "sample_0001.toml")
    v = dict(zip((f.name for f in S.FACTORS), x[1]))
    assert p.mechanics.youngs_modulus == pytest.approx(v["youngs_modulus"])
    assert p.geometry.pores[0].centre[2] == pytest.approx(v["void_radius"] + v["pore_void_gap"] + v["pore_radius"])
    assert p.mechanics.volume_change.y[0] == pytest.approx(-v["volume_change_amplitude"])
    sweep = load_sweep(sweeps["0p1C"])
    assert len(sweep.cases) == 3 and sweep.cases[0].overrides["protocol[0].step"] == "discharge at 0.1C to 20 % DOD"
