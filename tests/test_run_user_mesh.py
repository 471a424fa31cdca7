"""`sim run` on a user's or imaged mesh: `[mesh] file` in a case and `sim run --mesh FILE` (sim.mesh.read_mesh)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.errors import InputError
from sim.lithium.case import load_case

REPO = Path(__file__).resolve().parent.parent
VOLUME = REPO / "meshes" / "example_particle.npy"

CASE = """model = "lithium"
params = "lmr_default"
geometry = "{geometry}"
[parameters]
"transport.x_initial" = 0.34
[mesh]
{mesh}
[[protocol]]
step = "discharge at 10C to {dod} % DOD"
"""


def _case(tmp_path, geometry="3d", mesh='file = "ex.msh"', dod=5) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(CASE.format(geometry=geometry, mesh=mesh, dod=dod))
    return path


def _sim(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=1800)


def test_mesh_file_is_resolved_and_checked(tmp_path):
    (tmp_path / "ex.msh").write_text("$MeshFormat\n")   # only its existence matters to the case reader
    spec = load_case(_case(tmp_path))
    assert spec.mesh.file == tmp_path / "ex.msh" and spec.check_cost(spec.load_params()) is None
    with pytest.raises(InputError, match="not found") as err:
        load_case(_case(tmp_path, mesh='file = "nope.msh"'))
    assert err.value.key == "mesh.file"
    with pytest.raises(InputError, match="3d") as err:
        load_case(_case(tmp_path, geometry="radial"))
    assert err.value.key == "geometry"
    with pytest.raises(InputError, match="n_cells") as err:
        load_case(_case(tmp_path, mesh='file = "ex.msh"\nn_cells = 20', geometry="axisym"))


@pytest.mark.slow
def test_imaged_particle_runs_with_hot_spots_named(tmp_path):
    """The shipped example volume → tetrahedra → a 10C run: the hot spot is found and named by its cavity."""
    res = _sim("mesh", "--from-image", str(VOLUME), "--size", "0.8 um", "--out", "m", "--name", "ex", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    case = _case(tmp_path, mesh="", dod=2)
    res = _sim("run", str(case), "--mesh", "m/ex.msh", "--out", "run", "--outputs", "minimal", "--quiet",
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s["status"] == "completed" and s["mesh"]["cells"] > 1000
    spot = s["hot_spots"][0]
    assert spot["nearest_cavity"] in {"void", "pore_0", "pore_1", "pore_2"}
    # a mesh of the wrong kind for the case is refused, naming the case's geometry
    bad = _case(tmp_path, geometry="axisym", mesh="", dod=2)
    res = _sim("run", str(bad), "--mesh", "m/ex.msh", "--out", "bad", cwd=tmp_path)
    assert res.returncode == 2 and "geometry" in res.stderr and not (tmp_path / "bad").exists()
