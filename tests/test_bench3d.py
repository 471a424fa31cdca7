"""validation/bench/bench3d.py and bench_pf3d.py: one configuration per invocation, the mesh chosen by its
number of unknowns; the phase-field worker end to end on a coarse mesh."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _worker(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "validation" / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench3d():
    return _worker("bench3d")


def test_bench3d_meshes_to_the_requested_unknowns():
    out = _bench3d().main(["--unknowns", "4e4", "--within", "0.1", "--count-only"])
    assert abs(out["unknowns"] / 4e4 - 1) <= 0.1, out
    assert 1 <= out["meshes_built"] <= 4 and out["scale"] > 1      # coarser than the liu2024 mesh


def test_bench_pf3d_counts_the_solvers_and_the_damage_grows(capsys):
    """Two 1 s steps at 10C on a 2e4-unknown mesh (split "none": the cheapest tangent); G_c is the worker's
    default, low enough that d grows from step to step."""
    from sim.bench import pf_run_record

    out = _worker("bench_pf3d").main(["--scale", "12", "--steps", "1", "--dt", "1", "--split", "none"])
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")]
    assert [next(iter(ln)) for ln in lines] == ["setup", "step", "step", "done"]
    assert lines[-1]["done"] == out and lines[1]["step"] == out["steps"][0]
    assert out["dofs_d"] == out["dofs_c"] > 0 and out["dofs_u"] > 3 * out["dofs_c"]      # d, c: P1; u: vector P2
    assert out["unknowns"] == out["dofs_c"] + out["dofs_u"] + out["dofs_d"]
    first, second = out["steps"]
    for step in (first, second):
        assert step["dt_s"] == pytest.approx(1.0)
        assert 1 <= step["staggered"] <= step["newton_u"] <= step["cg_u"]
        assert step["newton_d"] == step["staggered"] <= step["cg_d"]     # AT2: one linear solve per iteration
        assert 0 < step["time_u_s"] + step["time_d_s"] < step["wall_s"]
        assert 0 < step["peak_rss_max_bytes"] == step["peak_rss_sum_bytes"]   # one rank
    assert 0 < first["damage_max"] < second["damage_max"] <= 1
    assert 0 < first["crack_area_m2"] < second["crack_area_m2"]
    # what sim bench (p) reads from a finished run and from one stopped after its first step
    assert pf_run_record({"done": out}) == (out, out["steps"], None)
    setup, steps, error = pf_run_record({"error": "stopped", "ranks": 1, "lines": lines[:2]})
    assert (setup["unknowns"], steps, error) == (out["unknowns"], [first], "stopped")
