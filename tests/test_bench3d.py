"""validation/bench/bench3d.py: one configuration per invocation, the mesh chosen by its number of unknowns."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bench3d():
    spec = importlib.util.spec_from_file_location("bench3d", ROOT / "validation" / "bench" / "bench3d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench3d_meshes_to_the_requested_unknowns():
    out = _bench3d().main(["--unknowns", "4e4", "--within", "0.1", "--count-only"])
    assert abs(out["unknowns"] / 4e4 - 1) <= 0.1, out
    assert 1 <= out["meshes_built"] <= 4 and out["scale"] > 1      # coarser than the liu2024 mesh
