"""Meshes: boundary tags, volumes against closed forms, refusal of bad input, ``sim mesh`` end to end."""
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dolfinx_solver  # noqa: F401  (before mpi4py)
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI

from sim.errors import InputError
from sim.mesh import (PORE_TAG0, TAGS, axisymmetric_mesh, mesh_from_params, particle_mesh_3d,
                      primary_particle_mesh, radial_mesh)
from sim.mesh.reference import _reference_recipe
from sim.params import load_params

ROOT = Path(__file__).resolve().parent.parent
COMM = MPI.COMM_SELF
OFF_AXIS_PORES = [{"radius": "0.3 um", "centre": ["2.0 um", "0 um", "0 um"]},
                  {"radius": "0.4 um", "centre": ["-1.5 um", "1.5 um", "1.0 um"]},
                  {"radius": "0.25 um", "centre": ["0 um", "-3.0 um", "-2.0 um"]}]


def integrate(pm, weight) -> float:
    x = ufl.SpatialCoordinate(pm.mesh)
    return pm.comm.allreduce(fem.assemble_scalar(fem.form(weight(x) * ufl.dx(domain=pm.mesh))), op=MPI.SUM)


def sphere_volume(g) -> float:
    return 4 / 3 * math.pi * (g.particle_radius ** 3 - g.void_radius ** 3 - sum(p.radius ** 3 for p in g.pores))


def facet_points(pm, name):
    """Vertex coordinates of the facets tagged ``name`` (n, 3)."""
    from dolfinx.mesh import entities_to_geometry

    facets = pm.facet_tags.find(pm.boundaries[name])
    assert len(facets) > 0, f"no facets tagged {name}"
    tdim = pm.mesh.topology.dim
    return pm.mesh.geometry.x[entities_to_geometry(pm.mesh, tdim - 1, facets)[:, :tdim].ravel()]


def assert_on_sphere(points, centre, radius, rtol=1e-6):
    d = np.linalg.norm(points - np.asarray(centre), axis=1)
    np.testing.assert_allclose(d, radius, rtol=rtol)


def run_sim(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


# --------------------------------------------------------------------------- 1D radial
@pytest.mark.parametrize("inner", [0.0, 0.5e-6])
def test_radial_tags_volume_and_grading(inner):
    R, size = 8e-6, 0.03e-6
    pm = radial_mesh(R, inner, size=size, grading=10.0, comm=COMM)
    inner_name = "void" if inner > 0 else "centre"
    assert pm.kind == "radial" and pm.boundaries == {"outer": TAGS["outer"], inner_name: TAGS[inner_name]}
    np.testing.assert_allclose(facet_points(pm, "outer")[:, 0], R)
    np.testing.assert_allclose(facet_points(pm, inner_name)[:, 0], inner, atol=1e-18)
    # 4π ∫ r² dr is integrated exactly on any interval mesh: this checks the mesh covers [a, R]
    assert integrate(pm, lambda x: 4 * math.pi * x[0] ** 2) == pytest.approx(4 / 3 * math.pi * (R ** 3 - inner ** 3),
                                                                              rel=1e-12)
    r = np.sort(pm.mesh.geometry.x[:, 0])
    h = np.diff(r)
    assert h[-1] == pytest.approx(size, rel=0.2)          # requested size at the outer surface
    if inner > 0:
        assert h[0] == pytest.approx(size, rel=0.2)       # and at the void
    assert 8 * size < h.max() <= 10.5 * size              # graded up to ~grading x size inside


def test_radial_n_cells_and_bad_arguments():
    assert radial_mesh(1e-6, n_cells=17, comm=COMM).num_cells == 17
    with pytest.raises(InputError, match="exactly one of n_cells and size"):
        radial_mesh(1e-6, comm=COMM)
    with pytest.raises(InputError, match="inner radius < outer radius"):
        radial_mesh(1e-6, 2e-6, n_cells=4, comm=COMM)


# --------------------------------------------------------------------------- 2D axisymmetric
def test_axisymmetric_tags_and_volume():
    p = load_params("liu2024")
    g = p.geometry
    pm = axisymmetric_mesh(g, p.mesh, comm=COMM)
    assert pm.kind == "axisym"
    assert pm.boundaries == {"outer": 1, "void": 2, "axis": 3, "pore_0": PORE_TAG0, "pore_1": PORE_TAG0 + 1}
    assert pm.cell_tags is not None and set(np.unique(pm.cell_tags.values)) == {1}
    assert_on_sphere(facet_points(pm, "outer")[:, :2], (0, 0), g.particle_radius)
    assert_on_sphere(facet_points(pm, "void")[:, :2], (0, 0), g.void_radius)
    for i, pore in enumerate(g.pores):
        assert_on_sphere(facet_points(pm, f"pore_{i}")[:, :2], (0, pore.centre[2]), pore.radius)
    np.testing.assert_allclose(facet_points(pm, "axis")[:, 0], 0.0, atol=1e-15)
    assert pm.mesh.geometry.x[:, 0].min() >= -1e-15   # r >= 0 everywhere
    assert 0.3 < pm.min_quality <= 1
    vol = integrate(pm, lambda x: 2 * math.pi * x[0])
    assert abs(vol / sphere_volume(g) - 1) < 5e-3
    # size_inner on the void and pores, size_outer on the outer surface
    edges = lambda pts: np.linalg.norm(np.diff(pts.reshape(-1, 2, 2), axis=1)[:, 0], axis=1)  # noqa: E731
    assert np.median(edges(facet_points(pm, "void")[:, :2])) == pytest.approx(p.mesh.size_inner, rel=0.3)
    assert np.median(edges(facet_points(pm, "outer")[:, :2])) == pytest.approx(p.mesh.size_outer, rel=0.3)


@pytest.mark.parametrize("order, min_rate", [(1, 1.8), (2, 3.5)])
def test_axisymmetric_volume_converges(order, min_rate):
    """Volume error of the curved boundary ∝ h^(2 order) (measured 2.0 and 4.0) as size_outer halves."""
    sizes = (1.6, 0.8)
    errs = []
    for h in sizes:
        p = load_params("liu2024", {"mesh.size_outer": f"{h} um", "mesh.size_inner": "0.1 um"})
        pm = axisymmetric_mesh(p.geometry, p.mesh, order=order, comm=COMM)
        errs.append(abs(integrate(pm, lambda x: 2 * math.pi * x[0]) / sphere_volume(p.geometry) - 1))
    rate = math.log(errs[0] / errs[1]) / math.log(sizes[0] / sizes[1])
    assert rate > min_rate, (errs, rate)


def test_axisymmetric_refuses_off_axis_pore(tmp_path):
    p = load_params("liu2024", {"geometry.pores": [{"radius": "0.2 um", "centre": ["0 um", "0 um", "1 um"]},
                                                   {"radius": "0.2 um", "centre": ["1 um", "0 um", "0 um"]}]})
    with pytest.raises(InputError) as err:
        axisymmetric_mesh(p.geometry, p.mesh, comm=COMM)
    assert err.value.key == "geometry.pores[1]" and "x = y = 0" in str(err.value)
    # through a parameter file the message names the file too
    f = tmp_path / "offaxis.toml"
    f.write_text('[meta]\ninherits = "liu2024"\n[geometry]\npores = { value = [ { radius = "0.2 um", '
                 'centre = ["0 um", "2 um", "0 um"] } ], source = "test" }\n')
    with pytest.raises(InputError) as err:
        mesh_from_params(load_params(f), "axisym", comm=COMM)
    assert str(f) in str(err.value) and "geometry.pores[0]" in str(err.value)


# --------------------------------------------------------------------------- 3D
def test_3d_voided_particle_tags_and_volume():
    """Order-2 geometry: volume within 0.5 % (measured ~6e-5) at a coarse, fast resolution."""
    p = load_params("lmr_default", {"geometry.pores": OFF_AXIS_PORES, "mesh.size_outer": "2 um",
                                    "mesh.size_inner": "0.2 um"})
    g = p.geometry
    pm = particle_mesh_3d(g, p.mesh, order=2, comm=COMM)
    assert pm.kind == "3d" and pm.order == 2
    assert pm.boundaries == {"outer": 1, "void": 2} | {f"pore_{i}": PORE_TAG0 + i for i in range(3)}
    assert_on_sphere(facet_points(pm, "outer"), (0, 0, 0), g.particle_radius)
    assert_on_sphere(facet_points(pm, "void"), (0, 0, 0), g.void_radius)
    for i, pore in enumerate(g.pores):
        assert_on_sphere(facet_points(pm, f"pore_{i}"), pore.centre, pore.radius)
    assert pm.min_quality > 0.05   # no inverted curved cells
    assert abs(integrate(pm, lambda x: 1.0) / sphere_volume(g) - 1) < 5e-3


def test_3d_order1_volume_deficit_converges_at_rate_2():
    """A faceted sphere misses volume ∝ h²: halving size_outer must divide the deficit by ~4."""
    sizes = (2.0, 1.0)
    errs = []
    for h in sizes:
        p = load_params("lmr_default", {"geometry.void_radius": "0 um", "geometry.pores": [],
                                        "mesh.size_outer": f"{h} um"})
        pm = particle_mesh_3d(p.geometry, p.mesh, comm=COMM)
        assert pm.boundaries == {"outer": 1}
        errs.append(abs(integrate(pm, lambda x: 1.0) / sphere_volume(p.geometry) - 1))
    rate = math.log(errs[0] / errs[1]) / math.log(sizes[0] / sizes[1])
    assert rate > 1.8, (errs, rate)


# --------------------------------------------------------------------------- primary particles
@pytest.mark.parametrize("dim, aspect, order", [(1, 1.0, 1), (2, 0.5, 2), (3, 2.0, 2)])
def test_primary_particle_volume_and_tags(dim, aspect, order):
    R = 120e-9
    pm = primary_particle_mesh(R, aspect_ratio=aspect, dim=dim, size=20e-9 if dim == 3 else 8e-9, order=order,
                               comm=COMM)
    expected = {1: {"outer", "centre"}, 2: {"outer", "axis"}, 3: {"outer"}}[dim]
    assert set(pm.boundaries) == expected
    weight = {1: lambda x: 4 * math.pi * x[0] ** 2, 2: lambda x: 2 * math.pi * x[0], 3: lambda x: 1.0}[dim]
    assert abs(integrate(pm, weight) / (4 / 3 * math.pi * R ** 3) - 1) < 5e-3   # a² c = R³
    if dim > 1:
        a, c = R * aspect ** (-1 / 3), R * aspect ** (2 / 3)
        x = facet_points(pm, "outer")
        ellipsoid = (x[:, 0] ** 2 + (x[:, 1] ** 2 if dim == 3 else 0)) / a ** 2 + x[:, dim - 1] ** 2 / c ** 2
        np.testing.assert_allclose(ellipsoid, 1.0, rtol=1e-6)


def test_primary_1d_refuses_spheroid():
    with pytest.raises(InputError, match="aspect ratio"):
        primary_particle_mesh(1e-7, aspect_ratio=2.0, dim=1, size=1e-8, comm=COMM)


# --------------------------------------------------------------------------- files
def test_write_roundtrip_and_plot(tmp_path):
    from dolfinx.io import XDMFFile

    p = load_params("liu2024", {"mesh.size_outer": "1 um", "mesh.size_inner": "0.1 um"})
    pm = mesh_from_params(p, "axisym", comm=COMM)
    paths = pm.write(tmp_path / "out", "m")
    assert all(paths[k].exists() for k in ("msh", "xdmf", "h5", "json"))
    assert [f.name for f in tmp_path.iterdir()] == ["out"]   # staging folder removed
    with XDMFFile(COMM, paths["xdmf"], "r") as f:
        back = f.read_mesh(name="mesh")
        back.topology.create_connectivity(1, 2)
        tags = f.read_meshtags(back, name="facet_tags")
    assert back.topology.index_map(2).size_global == pm.num_cells
    assert sorted(np.unique(tags.values)) == sorted(pm.boundaries.values())
    assert b"$PhysicalNames" in paths["msh"].read_bytes()
    png = pm.plot(tmp_path / "m.png", title="test")
    assert png.stat().st_size > 10_000


def test_reference_recipe_is_valid():
    """Every recipe entry loads its parameters and names a known kind (building them all is the slow test)."""
    entries = _reference_recipe()
    assert {e["kind"] for e in entries} == {"radial", "hollow", "axisym", "3d", "primary"}
    assert len({e["name"] for e in entries}) == len(entries)
    for e in entries:
        load_params(e["params"], e.get("overrides"))


@pytest.mark.slow
def test_build_reference_meshes(tmp_path):
    from sim.mesh import build_reference_meshes

    results = build_reference_meshes(tmp_path, COMM)
    assert len(results) == len(_reference_recipe())
    for r in results:
        assert all(Path(v).exists() for v in r["paths"].values())
        assert r["cells"] > 0 and (r["min_quality_minSICN"] is None or r["min_quality_minSICN"] > 0.1)


# --------------------------------------------------------------------------- CLI
def test_cli_mesh_end_to_end(tmp_path):
    out = tmp_path / "meshes"
    res = run_sim("mesh", "liu2024", "--kind", "axisym", "--set", "mesh.size_inner=0.1 um", "--out", str(out),
                  cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "cells" in res.stdout and "vertices" in res.stdout and "min quality" in res.stdout
    assert "outer=1" in res.stdout and "pore_1=11" in res.stdout and "axis=3" in res.stdout
    for ext in ("msh", "xdmf", "h5", "json"):
        assert (out / f"liu2024_axisym.{ext}").exists()


def test_cli_mesh_bad_parameter(tmp_path):
    out = tmp_path / "never"
    res = run_sim("mesh", "liu2024", "--kind", "3d", "--set", "mesh.size_inner=-1 um", "--out", str(out),
                  cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert "--set" in lines[0] and "mesh.size_inner" in lines[0] and "> 0" in lines[0]
    assert not out.exists()

    bad = tmp_path / "offaxis.toml"
    bad.write_text('[meta]\ninherits = "liu2024"\n[geometry]\npores = { value = [ { radius = "0.2 um", '
                   'centre = ["1 um", "0 um", "0 um"] } ], source = "test" }\n')
    res = run_sim("mesh", str(bad), "--kind", "axisym", "--out", str(out), cwd=tmp_path)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert str(bad) in res.stderr and "geometry.pores[0]" in res.stderr and "x = y = 0" in res.stderr
    assert not out.exists()


def test_cli_mesh_mpi_matches_serial(tmp_path):
    """Built on rank 0, distributed to 2 ranks: same global counts and boundaries as in serial."""
    mpiexec = Path(sys.executable).parent / "mpiexec"
    if not mpiexec.exists():
        pytest.skip("no mpiexec next to the Python interpreter")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["-m", "sim", "mesh", "liu2024", "--kind", "axisym", "--set", "mesh.size_inner=0.1 um", "--out"]
    serial = subprocess.run([sys.executable, *args, str(tmp_path / "s")], env=env, capture_output=True,
                            text=True, timeout=300)
    par = subprocess.run([str(mpiexec), "-n", "2", sys.executable, *args, str(tmp_path / "p")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert serial.returncode == 0 and par.returncode == 0, par.stderr
    assert par.stdout.splitlines()[:2] == serial.stdout.splitlines()[:2]   # counts, quality, boundaries printed once
    assert (tmp_path / "p" / "liu2024_axisym.xdmf").exists()


def test_written_meshes_open_in_meshio(tmp_path):
    """The ecosystem reads what `sim mesh` writes: the one-grid XDMF and the VTU files, with the tags."""
    import meshio

    from sim.mesh import axisymmetric_mesh

    p = load_params("liu2024", {"mesh.size_inner": "0.1 um", "mesh.size_outer": "1 um"})
    pm = axisymmetric_mesh(p.geometry, p.mesh)
    paths = pm.write(tmp_path, "liu")
    grid = meshio.read(paths["mesh_xdmf"])
    assert len(grid.points) == pm.num_nodes and grid.cells[0].type == "triangle"
    assert sum(len(c.data) for c in grid.cells) == pm.num_cells
    vtu = meshio.read(paths["vtu"])
    assert sum(len(c.data) for c in vtu.cells) == pm.num_cells
    facets = meshio.read(tmp_path / "liu_facets.vtu")
    tags = set(int(t) for t in facets.cell_data["facet_tag"][0])
    assert tags == set(pm.boundaries.values())
