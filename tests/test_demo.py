"""The README's main job: `sim demo` (meshes and fit stages here; the Liu 2024 stage is in test_run_slow)."""
import json
import subprocess
import sys


def test_demo_meshes_and_fit_stages(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "sim", "demo", "--only", "meshes,fit", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "liu2024_axisym" in proc.stdout and "demo finished" in proc.stdout
    pngs = sorted(p.name for p in (out / "meshes").glob("*.png"))
    assert len(pngs) == 7, pngs
    fit = json.loads((out / "fit" / "fit.json").read_text())
    d_o = fit["files"]["example_profile"]["models"]["diffusion"]["D_O_cm2_s"]
    assert 1e-18 < d_o < 1e-16   # the bundled profile was made with 1e-17 cm^2/s
    assert list((out / "fit").glob("*.png"))


def test_demo_refuses_unknown_stage(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sim", "demo", "--only", "nope", "--out", str(tmp_path / "d")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "allowed: meshes, fit, liu2024" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "d").exists()
