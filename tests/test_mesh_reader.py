"""Users' meshes: named physical groups round trip (3D, 2D axisymmetric), errors naming the file and the groups
found, STEP and STL geometry tetrahedralised with the documented names, ``sim mesh --from-file``."""
import math
from pathlib import Path

import pytest

import dolfinx_solver  # noqa: F401  (before mpi4py)
import gmsh
import numpy as np
from mpi4py import MPI

from sim.errors import InputError
from sim.mesh import read_mesh

COMM = MPI.COMM_SELF
R, A, RP = 2.0, 0.6, 0.3           # file units (µm): particle, void, pore radius
PORE = (1.2, 0.0, 0.0)


def _occ_particle(dim: int):
    """Ball (or its (r, z) half disk) minus a central void and one pore; returns the body."""
    occ = gmsh.model.occ
    if dim == 3:
        body = occ.cut([(3, occ.addSphere(0, 0, 0, R))], [(3, occ.addSphere(0, 0, 0, A)),
                                                          (3, occ.addSphere(*PORE, RP))])[0]
    else:
        half = occ.intersect([(2, occ.addDisk(0, 0, 0, R, R))], [(2, occ.addRectangle(0, -R, 0, R, 2 * R))])[0]
        body = occ.cut(half, [(2, occ.addDisk(0, 0, 0, A, A)), (2, occ.addDisk(0, 1.2, 0, RP, RP))])[0]
    occ.synchronize()
    return body


def _name_of(dim, tag):
    """Which boundary an entity is: the circle/sphere a point of it lies on (the axis for r = 0 lines)."""
    lo, hi = gmsh.model.getParametrizationBounds(dim, tag)
    p = np.array(gmsh.model.getValue(dim, tag, [(a + b) / 2 for a, b in zip(lo, hi)]))
    if dim == 1 and gmsh.model.getType(dim, tag) == "Line":
        return "axis"
    pore = np.array(PORE) if dim == 2 else np.array([0.0, PORE[0], 0.0])      # (r, z) = (0, 1.2) in 2D
    gaps = {"outer": abs(np.linalg.norm(p) - R), "void": abs(np.linalg.norm(p) - A),
            "pore_0": abs(np.linalg.norm(p - pore) - RP)}
    return min(gaps, key=gaps.get)


def write_msh(path: Path, dim: int = 3, names=None, drop=()):
    """A gmsh mesh with physical groups named ``names[name]`` (default the documented names), tags 7, 8, ..."""
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("user")
    body = _occ_particle(dim)
    groups = {}
    for _, t in gmsh.model.getBoundary(body, oriented=False):
        groups.setdefault(_name_of(dim - 1, t), []).append(t)
    for k, (name, tags) in enumerate(sorted(groups.items())):
        if name not in drop:
            gmsh.model.addPhysicalGroup(dim - 1, tags, 7 + k, name=(names or {}).get(name, name))
    gmsh.model.addPhysicalGroup(dim, [body[0][1]], 5, name="solid")
    gmsh.option.setNumber("Mesh.MeshSizeMax", 0.4)
    gmsh.model.mesh.generate(dim)
    gmsh.write(str(path))
    gmsh.finalize()
    return sorted(groups)


def test_msh_3d_round_trip_names_kind_and_volume(tmp_path):
    path = tmp_path / "particle.msh"
    names = write_msh(path)
    assert names == ["outer", "pore_0", "void"]
    pm = read_mesh(path, COMM, unit_scale=1e-6)
    assert pm.kind == "3d" and sorted(pm.boundaries) == names
    for name, radius, centre in (("outer", R, (0, 0, 0)), ("void", A, (0, 0, 0)), ("pore_0", RP, PORE)):
        from dolfinx.mesh import entities_to_geometry

        facets = pm.facet_tags.find(pm.boundaries[name])
        assert len(facets) > 0
        pts = pm.mesh.geometry.x[entities_to_geometry(pm.mesh, 2, facets).ravel()]
        np.testing.assert_allclose(np.linalg.norm(pts - np.array(centre) * 1e-6, axis=1), radius * 1e-6, rtol=1e-6)
    exact = 4 / 3 * math.pi * (R**3 - A**3 - RP**3) * 1e-18
    assert pm.volume() == pytest.approx(exact, rel=0.03)


def test_msh_axisymmetric_round_trip(tmp_path):
    path = tmp_path / "section.msh"
    write_msh(path, dim=2)
    pm = read_mesh(path, COMM, unit_scale=1e-6)
    assert pm.kind == "axisym" and sorted(pm.boundaries) == ["axis", "outer", "pore_0", "void"]
    exact = 4 / 3 * math.pi * (R**3 - A**3 - RP**3) * 1e-18
    assert pm.volume() == pytest.approx(exact, rel=0.01)


@pytest.mark.parametrize("names, drop, message", [
    ({"outer": "surface"}, (), r"boundary group name\(s\) surface not allowed"),
    ({}, ("outer",), "no boundary group named 'outer'"),
    ({"pore_0": "pore"}, (), r"boundary group name\(s\) pore not allowed"),
])
def test_msh_bad_groups_name_the_file_and_list_groups(tmp_path, names, drop, message):
    path = tmp_path / "bad.msh"
    write_msh(path, names=names, drop=drop)
    with pytest.raises(InputError, match=message) as err:
        read_mesh(path, COMM)
    assert err.value.file == str(path)
    assert "groups found: " in str(err.value) and "void (dim 2, tag" in str(err.value)


def test_msh_2d_without_axis_and_bad_files(tmp_path):
    path = tmp_path / "plane.msh"
    write_msh(path, dim=2, drop=("axis",))
    with pytest.raises(InputError, match="axisymmetric .* 'axis' boundary group"):
        read_mesh(path, COMM)
    junk = tmp_path / "junk.msh"
    junk.write_text("$MeshFormat\nnonsense\n")
    with pytest.raises(InputError, match="gmsh cannot read it") as err:
        read_mesh(junk, COMM)
    assert err.value.file == str(junk)
    (tmp_path / "x.vtk").write_text("")
    with pytest.raises(InputError, match="unknown mesh format"):
        read_mesh(tmp_path / "x.vtk", COMM)


def _write_geometry(path: Path):
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("geo")
    _occ_particle(3)
    if path.suffix == ".stl":
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.15)
        gmsh.model.mesh.generate(2)
    gmsh.write(str(path))
    gmsh.finalize()


@pytest.mark.parametrize("suffix", [".step", ".stl"])
def test_step_and_stl_named_by_size_and_meshed(tmp_path, suffix):
    path = tmp_path / f"particle{suffix}"
    _write_geometry(path)
    pm = read_mesh(path, COMM, size=0.3e-6, unit_scale=1e-6)
    assert pm.kind == "3d" and sorted(pm.boundaries) == ["outer", "pore_0", "void"]
    exact = 4 / 3 * math.pi * (R**3 - A**3 - RP**3) * 1e-18
    assert pm.volume() == pytest.approx(exact, rel=0.03)
    from dolfinx.mesh import entities_to_geometry

    facets = pm.facet_tags.find(pm.boundaries["pore_0"])
    pts = pm.mesh.geometry.x[entities_to_geometry(pm.mesh, 2, facets).ravel()]
    assert np.linalg.norm(pts.mean(axis=0) - np.array(PORE) * 1e-6) < 0.05e-6


def test_cli_from_file(tmp_path, capsys):
    from sim.cli import main

    path = tmp_path / "particle.msh"
    write_msh(path)
    assert main(["mesh", "--from-file", str(path), "--unit", "um", "--out", str(tmp_path / "out")]) == 0
    assert "boundaries: " in capsys.readouterr().out
    assert (tmp_path / "out" / "geometry.json").is_file()
    bad = tmp_path / "bad.msh"
    write_msh(bad, names={"void": "hole"})
    assert main(["mesh", "--from-file", str(bad), "--out", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert "bad.msh" in err and "hole" in err and not (tmp_path / "out2").exists()
