"""Results API (sim.results) on folders made by ``sim run`` and ``sim sweep``, and the VTK writer (sim.vtk)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dolfinx_solver  # noqa: F401  (MPI before mpi4py)
import numpy as np
import pytest
from mpi4py import MPI

from sim.errors import InputError
from sim.results import column_units, open_result, open_sweep

REPO = Path(__file__).resolve().parent.parent
CASE = REPO / "validation" / "cases" / "sphere_radial_1C.toml"
TINY = ["--set", "mesh.n_cells=20", "--set", "protocol[0].step=discharge at 1C to 30 % DOD"]


def _sim(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "sphere"
    _sim("run", str(CASE), "--out", str(out), "--quiet", *TINY, cwd=out.parent)
    return out


def test_summary_parameters_and_timeseries(run_dir):
    r = open_result(run_dir)
    assert r.summary["status"] == "completed" and "parameters" in r.parameters
    df = r.timeseries
    units = df.attrs["units"]
    assert {units["t_s"], units["hoop_max_Pa"], units["potential_V"], units["dod"]} == {"s", "Pa", "V", ""}
    assert units["li_fraction_surface"] == "" and units["newton_iterations"] == ""
    final = r.summary["final"]
    assert df["t_s"].iloc[-1] == pytest.approx(final["t_s"], rel=1e-9)
    assert df["dod"].iloc[-1] == pytest.approx(final["dod"], abs=1e-9)
    assert df["hoop_max_Pa"].max() == pytest.approx(r.summary["maxima"]["hoop_Pa"]["value"], rel=1e-6)


def test_maps_and_plots(run_dir):
    import matplotlib
    matplotlib.use("Agg")
    r = open_result(run_dir)
    m = r.map(0.24)                                   # the saved map nearest 24 % DOD is the 25 % one
    assert m["dod"] == pytest.approx(0.25) and m["hoop_Pa"].ndim == 2
    hi, lo = r.summary["maxima"]["hoop_Pa"]["value"], r.summary["minima"]["hoop_Pa"]["value"]
    assert lo * (1 + 1e-9) <= np.nanmin(m["hoop_Pa"]) and np.nanmax(m["hoop_Pa"]) <= hi * (1 + 1e-9)
    ax = r.plot_map(0.25, "hoop_Pa")
    assert ax.images[0].colorbar.ax.get_ylabel() == "hoop (MPa)"
    assert np.nanmax(ax.images[0].get_array()) == pytest.approx(np.nanmax(m["hoop_Pa"]) * 1e-6)
    ax = r.plot_timeseries("hoop_max_Pa")
    assert ax.get_xlabel() == "t_s (s)" and ax.get_ylabel() == "(Pa)"
    assert np.array_equal(ax.lines[0].get_ydata(), r.timeseries["hoop_max_Pa"].to_numpy())
    with pytest.raises(InputError, match="no map 'nope'"):
        r.plot_map(0.25, "nope")
    with pytest.raises(InputError, match="no column 'nope'"):
        r.plot_timeseries("nope")


R_SERIES = 8e-6


def series_value(x, t: float):
    """The nodal field of the series below: Li fraction 0.34 + 1e-4 t (r/R)² at r = x (m), t (s)."""
    return 0.34 + 1e-4 * t * (x / R_SERIES) ** 2


@pytest.fixture(scope="module")
def series_dir(run_dir, tmp_path_factory) -> Path:
    """A copy of the run with a VTK series of known nodal fields added to ``fields/``.

    A copy, so that the tests of the run's own files do not depend on which of them ran first
    (pytest-xdist hands tests of one module to different workers).
    """
    import shutil

    from dolfinx import fem, mesh

    from sim.vtk import FieldSeries

    out = tmp_path_factory.mktemp("series") / "sphere"
    shutil.copytree(run_dir, out)
    msh = mesh.create_interval(MPI.COMM_WORLD, 16, [0.0, R_SERIES])
    V = fem.functionspace(msh, ("Lagrange", 2))
    series = FieldSeries(out / "fields", "li", msh)
    for t in (0.0, 900.0):
        c = fem.Function(V, name="li_fraction")
        c.interpolate(lambda x, t=t: series_value(x[0], t))
        series.write(t, {"li_fraction": c})
    return out


def test_vtx_only_fields_need_adios2(run_dir, monkeypatch):
    """Without the adios2 package, a run whose fields are VTX only says what is missing."""
    import sim.results

    assert open_result(run_dir).summary["files"].get("fields")
    monkeypatch.setattr(sim.results, "_adios2", lambda: None)
    with pytest.raises(InputError, match="only VTX files .*need the adios2 package"):
        open_result(run_dir).fields(0.0)


def test_fields_from_vtk_series(series_dir):
    r = open_result(series_dir)
    assert {0.0, 900.0} <= set(r.times)
    f = r.fields(850.0)["li"]                          # nearest saved time
    assert f.field_data["t_s"][0] == 900.0
    x = f.points[:, 0]
    assert len(x) == 17 and np.max(np.abs(f.point_data["li_fraction"] - series_value(x, 900.0))) < 1e-12


def test_vtk_reads_the_series(series_dir):
    """VTK itself (what ParaView and PyVista use) reads the .pvd series of ``series_dir``."""
    pv = pytest.importorskip("pyvista")
    grid = open_result(series_dir).fields(0.0, pyvista=True)["li"]
    assert grid.n_points == 17 and np.allclose(grid.point_data["li_fraction"], series_value(0.0, 0.0))
    reader = pv.get_reader(series_dir / "fields" / "li.pvd")
    assert list(reader.time_values) == [0.0, 900.0]
    reader.set_active_time_value(900.0)
    block = reader.read()[0]
    x = block.points[:, 0]
    assert np.max(np.abs(block.point_data["li_fraction"] - series_value(x, 900.0))) < 1e-12


def test_fields_from_vtx(run_dir):
    """The run's own VTX (.bp) output, read with adios2: the surface concentration matches the time series."""
    pytest.importorskip("adios2")
    r = open_result(run_dir)
    ts = r.timeseries
    t = float(ts["t_s"].iloc[len(ts) // 2])
    fields = r.fields(t)
    assert {"c", "stress", "displacement"} <= set(fields)
    c = fields["c"]
    assert c.field_data["t_s"][0] == pytest.approx(t, rel=1e-8)           # the CSV keeps 10 digits
    c_max = r.parameters["parameters"]["transport"]["c_max"]["value"]
    surface = c.point_data["c_mol_m3"][np.argmax(c.points[:, 0])] / c_max
    row = ts.iloc[int(np.argmin(abs(ts["t_s"] - t)))]
    assert surface == pytest.approx(row["li_fraction_surface"], rel=1e-9)
    hoop = fields["stress"].point_data["hoop_Pa"]
    assert np.max(hoop) <= r.summary["maxima"]["hoop_Pa"]["value"] * (1 + 1e-9)


def test_not_a_result_folder(tmp_path):
    with pytest.raises(InputError, match="not a result folder"):
        open_result(tmp_path)
    with pytest.raises(InputError, match="not a sweep folder"):
        open_sweep(tmp_path)


def test_column_units():
    names, units = column_units(["t [s]", "D_O_cm2_s", "o_loss_at_pct", "x_mean", "status", "sigma [MPa]"])
    assert names == ["t", "D_O_cm2_s", "o_loss_at_pct", "x_mean", "status", "sigma"]
    assert units == {"t": "s", "D_O_cm2_s": "cm^2/s", "o_loss_at_pct": "at.%", "x_mean": "", "status": "",
                     "sigma": "MPa"}


def test_open_sweep(tmp_path):
    sweep = tmp_path / "tiny.toml"
    sweep.write_text(f'[sweep]\ncase = "{CASE.as_posix()}"\n[axes]\n'
                     '"kinetics.exchange_current_density" = ["1 A/m^2", "3 A/m^2"]\n'
                     '[set]\n"mesh.n_cells" = 10\n"protocol[0].step" = "discharge at 1C to 10 % DOD"\n')
    _sim("sweep", str(sweep), "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress", cwd=tmp_path)
    s = open_sweep(tmp_path / "out")
    table = s.table
    assert len(table) == 2 and table.attrs["units"]["kinetics.exchange_current_density_A_m2"] == "A/m^2"
    cases = s.cases
    assert set(cases) == set(table["case_id"])
    for _, row in table.iterrows():
        case = cases[row["case_id"]]
        assert case.summary["final"]["potential_V"] == pytest.approx(row["final.potential_V"], rel=1e-9)
        assert case.timeseries["t_s"].iloc[-1] == pytest.approx(row["final.t_s"], rel=1e-9)


def test_mesh_vtu_is_read_by_meshio(tmp_path):
    import meshio

    from sim.mesh import mesh_from_params
    from sim.params import load_params
    from sim.vtk import write_mesh

    p = load_params("liu2024", {"mesh.size_outer": "2 um", "mesh.size_inner": "0.2 um"})
    pm = mesh_from_params(p, "axisym")
    path = write_mesh(tmp_path / "liu.vtu", pm.mesh, pm.cell_tags, pm.facet_tags)
    m = meshio.read(path)
    assert len(m.cells_dict["triangle"]) == pm.num_cells and len(m.points) == pm.num_vertices
    facets = meshio.read(tmp_path / "liu_facets.vtu")
    tags = facets.cell_data["facet_tag"][0]
    assert set(tags) == set(pm.boundaries.values())
    ends = facets.points[facets.cells[0].data]            # (n_facets, 2 vertices, 3)
    radius = np.linalg.norm(ends[tags == pm.boundaries["void"]][:, :, :2], axis=2)
    assert np.allclose(radius, p.geometry.void_radius, rtol=1e-9)   # every void facet lies on the void
    outer = np.linalg.norm(ends[tags == pm.boundaries["outer"]][:, :, :2], axis=2)
    assert np.allclose(outer, p.geometry.particle_radius, rtol=1e-9)
    pv = pytest.importorskip("pyvista")                      # and VTK's own reader agrees
    grid = pv.read(path)
    assert grid.n_cells == pm.num_cells and set(np.unique(grid.cell_data["cell_tag"])) == set(pm.cell_tags.values)


_PARALLEL_WRITE = """
import sys
import dolfinx_solver
from mpi4py import MPI
from dolfinx import fem, mesh
from sim.vtk import FieldSeries, write_mesh
m = mesh.create_unit_square(MPI.COMM_WORLD, 7, 5)
V = fem.functionspace(m, ("Lagrange", 2))
u = fem.Function(V)
u.interpolate(lambda x: x[0] ** 2 + 3 * x[1])
FieldSeries(sys.argv[1], "f", m).write(1.0, {"u": u})
write_mesh(sys.argv[1] + "/mesh.vtu", m)
"""


@pytest.mark.slow
def test_vtk_output_is_the_same_on_two_ranks(tmp_path):
    """Gathered on rank 0 in global dof order: 1 and 2 ranks write the same points, cells and values."""
    import meshio

    script = tmp_path / "write.py"
    script.write_text(_PARALLEL_WRITE)
    env = {**__import__("os").environ, "PYTHONPATH": str(REPO)}
    mpiexec = Path(sys.executable).parent / "mpiexec"
    for n in (1, 2):
        subprocess.run([str(mpiexec), "-n", str(n), sys.executable, str(script), str(tmp_path / f"n{n}")], env=env,
                       check=True, capture_output=True, timeout=300)
    for name in ("f_000000.vtu", "mesh.vtu"):
        a, b = meshio.read(tmp_path / "n1" / name), meshio.read(tmp_path / "n2" / name)
        assert len(a.points) == len(b.points) == 48 and len(a.cells[0].data) == len(b.cells[0].data) == 70
        key = lambda m: {tuple(sorted(map(tuple, np.round(m.points[c], 12)))) for c in m.cells[0].data}  # noqa: E731
        assert key(a) == key(b)                                  # the same triangles, whatever the numbering
    fa, fb = (meshio.read(tmp_path / f"n{n}" / "f_000000.vtu") for n in (1, 2))
    for m in (fa, fb):
        assert np.max(np.abs(m.point_data["u"] - (m.points[:, 0] ** 2 + 3 * m.points[:, 1]))) < 1e-12
