"""Segmented volumes → meshes: cavity classification, volume against the hollow-sphere closed form and its
convergence with voxel size, file formats, bad input, the shipped example volume, ``sim mesh --from-image``."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dolfinx_solver  # noqa: F401  (before mpi4py)
import numpy as np
from mpi4py import MPI

from sim.errors import InputError
from sim.mesh.image import classify, denoise, load_volume, mesh_from_image, parse_voxel_size, segment
from sim.case import MARKER      # every results folder carries the toolkit's marker

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "meshes" / "example_particle.npy"
COMM = MPI.COMM_SELF


def ball_grid(shape):
    """Voxel-centre coordinates (z, y, x) about the volume centre, in voxels."""
    return np.meshgrid(*(np.arange(n) - (n - 1) / 2 for n in shape), indexing="ij")


def hollow_sphere(b: float, a: float, pad: int = 3) -> np.ndarray:
    """Voxelised shell a <= r <= b (radii in voxels), label 1."""
    n = int(2 * math.ceil(b) + 2 * pad)
    z, y, x = ball_grid((n, n, n))
    r = np.sqrt(x**2 + y**2 + z**2)
    return ((r <= b) & (r >= a)).astype(np.uint8)


def run_sim(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


# --------------------------------------------------------------------------- classification
def test_cavities_closed_open_count_and_largest_is_void():
    shape = (40, 40, 40)
    z, y, x = ball_grid(shape)
    solid = x**2 + y**2 + z**2 <= 17**2

    def hole(c, r):
        return (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= r**2

    for c, r in (((0, 0, 0), 5.0), ((9, 0, 0), 3.0), ((-9, 4, 0), 2.5), ((0, -10, 5), 2.0)):
        solid &= ~hole(c, r)
    solid &= ~hole((0, 0, 16), 3.0)                 # open: cut by the outer surface
    solid &= ~((np.abs(x - 5) <= 0.5) & (np.abs(y) <= 0.5) & (z > 10))   # a 1-voxel channel to the outside
    solid &= ~hole((5, 0, 10), 2.0)                 # ... opens this pore
    speck = (x == 0.5) & (y == 0.5) & (z == -8.5)   # a single-voxel cavity: noise, filled
    solid &= ~speck
    solid[0, 0, 0] = True                           # a solid fragment outside: dropped
    seg = classify(solid.transpose(2, 1, 0))
    assert seg.names == ["void", "pore_0", "pore_1", "pore_2"]
    counts = seg.counts
    assert list(counts) == sorted(counts, reverse=True)
    # the void is the sphere of radius 5 at the centre (voxel count ~ 4/3 π 5³)
    assert counts[0] == pytest.approx(4 / 3 * math.pi * 5**3, rel=0.1)
    centre = np.argwhere(seg.cavities == 1).mean(axis=0) - 19.5
    assert np.abs(centre).max() < 0.6
    assert seg.filled == 1 and seg.dropped_solid == 1
    # the open pores and the channel are outside; the filled speck is solid
    xyz = lambda p: tuple(int(round(v + 19.5)) for v in p)  # noqa: E731  ((x, y, z) about the centre → index)
    assert seg.outside[xyz((0, 0, 16))] and seg.outside[xyz((5, 0, 10))]
    assert seg.solid[xyz((0.5, 0.5, -8.5))]


def test_segment_label_threshold_and_errors():
    vol = np.zeros((5, 5, 5), np.uint8)
    vol[1:4, 1:4, 1:4] = 2
    assert segment(vol, solid_label=2).sum() == 27
    assert segment(vol.astype(float) * 50, threshold=60).sum() == 27
    with pytest.raises(InputError, match="no solid voxels with label 1; the volume holds values 0, 2"):
        segment(vol, file="v.npy")
    with pytest.raises(InputError, match="not both"):
        segment(vol, solid_label=2, threshold=1)


def test_denoise_removes_single_voxel_noise_and_keeps_a_ball():
    z, y, x = ball_grid((30, 30, 30))
    ball = x**2 + y**2 + z**2 <= 10**2
    noisy = ball.copy()
    noisy[15, 15, 4] = True              # spike on the surface
    noisy[15, 15, 15] = False            # pit inside
    clean = denoise(noisy)
    assert not clean[15, 15, 4] and clean[15, 15, 15]
    assert abs(int(clean.sum()) - int(ball.sum())) < 0.01 * ball.sum()


# --------------------------------------------------------------------------- volume against the closed form
B, A = 1e-6, 0.4e-6
SHELL = 4 / 3 * math.pi * (B**3 - A**3)


def shell_volume_error(nb: int) -> float:
    h = B / nb
    pm = mesh_from_image(hollow_sphere(nb, A / B * nb), h, size=3 * h, comm=COMM)
    assert set(pm.boundaries) == {"outer", "void"} and pm.kind == "3d"
    assert pm.min_quality > 0.2
    return pm.volume() / SHELL - 1


def test_hollow_sphere_volume_within_1_percent():
    """Shell b = 1 µm, a = 0.4 µm, 40 voxels across the diameter 2b, element size 3 voxels:
    mesh volume vs 4/3 π (b³ − a³); measured −7.8e-3."""
    assert abs(shell_volume_error(20)) < 0.01


@pytest.mark.slow
def test_hollow_sphere_volume_converges_with_voxel_size():
    """b = 10, 20, 40 voxels (element size 3 voxels): measured errors −1.4e-2, −7.8e-3, −2.4e-3, order 1.3."""
    nbs = (10, 20, 40)
    errors = [abs(shell_volume_error(nb)) for nb in nbs]
    assert errors[-1] < 0.01
    order = -np.polyfit(np.log(nbs), np.log(errors), 1)[0]
    assert order > 1.0, (errors, order)
    assert errors[2] < errors[1] < errors[0]


def test_anisotropic_voxels_and_centroid_at_origin():
    """A ball of radius 0.5 µm off the image centre, voxels 20 × 20 × 30 nm: the mesh is centred on the origin
    (shift reported), its outer vertices lie on the sphere within a voxel, its volume within 1 %."""
    R, v = 0.5e-6, (20e-9, 20e-9, 30e-9)
    shape = (46, 64, 60)                                   # z, y, x
    z, y, x = (g * s for g, s in zip(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), v[::-1]))
    centre = np.array([0.62e-6, 0.6e-6, 0.7e-6])          # x, y, z
    vol = ((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= R**2).astype(np.uint8)
    pm = mesh_from_image(vol, v, size=0.08e-6, comm=COMM)
    np.testing.assert_allclose(pm.info["centroid_shift_m"], -centre, atol=2e-9)
    assert pm.volume() == pytest.approx(4 / 3 * math.pi * R**3, rel=0.01)
    from dolfinx.mesh import entities_to_geometry

    facets = pm.facet_tags.find(pm.boundaries["outer"])
    pts = pm.mesh.geometry.x[entities_to_geometry(pm.mesh, 2, facets).ravel()]
    assert np.abs(np.linalg.norm(pts, axis=1) - R).max() < 30e-9
    assert pm.boundaries == {"outer": 1}


# --------------------------------------------------------------------------- files
def test_file_formats_agree(tmp_path):
    import tifffile

    vol = hollow_sphere(6, 2.5)
    np.save(tmp_path / "v.npy", vol)
    tifffile.imwrite(tmp_path / "v.tif", vol)
    (tmp_path / "slices").mkdir()
    for k, plane in enumerate(vol):
        tifffile.imwrite(tmp_path / "slices" / f"s{k:03d}.tif", plane)
    vol.astype(np.uint16).tofile(tmp_path / "v.raw")
    (tmp_path / "v.json").write_text(json.dumps({"shape": list(vol.shape), "dtype": "uint16",
                                                 "voxel_size": ["25 nm", "25 nm", "40 nm"]}))
    for name in ("v.npy", "v.tif", "slices", "v.raw"):
        got, voxel = load_volume(tmp_path / name)
        np.testing.assert_array_equal(got, vol)
        if name == "slices":            # a folder's header is slices/header.json: none here
            assert voxel is None
        else:                           # v.json is the header of every v.* file
            assert voxel == (pytest.approx(25e-9), pytest.approx(25e-9), pytest.approx(40e-9))
    assert parse_voxel_size("0.1 um") == (pytest.approx(1e-7),) * 3


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"not a tiff"), "cannot read the volume"),
    (lambda p: np.save(p, np.zeros((4, 4))), "need a 3D volume"),
    (lambda p: p.write_bytes(b"\0" * 10), "needs a JSON header"),
])
def test_bad_volume_files_name_the_file(tmp_path, make, message):
    suffix = {"cannot read the volume": ".tif", "need a 3D volume": ".npy", "needs a JSON header": ".raw"}[message]
    path = tmp_path / f"bad{suffix}"
    make(path)
    with pytest.raises(InputError, match=message) as err:
        load_volume(path)
    assert err.value.file == str(path)


def test_raw_size_mismatch(tmp_path):
    (tmp_path / "v.raw").write_bytes(b"\0" * 100)
    (tmp_path / "v.json").write_text(json.dumps({"shape": [5, 5, 5], "dtype": "uint8"}))
    with pytest.raises(InputError, match="file has 100 bytes, the header's shape"):
        load_volume(tmp_path / "v.raw")


# --------------------------------------------------------------------------- the shipped example
def test_example_volume_is_reproducible_and_meshes(tmp_path):
    sys.path.insert(0, str(ROOT / "validation" / "images"))
    try:
        import make_example_volume
    finally:
        sys.path.pop(0)
    vol, voxel = load_volume(EXAMPLE)
    np.testing.assert_array_equal(make_example_volume.make_volume(), vol)     # the script makes the shipped file
    assert voxel == pytest.approx((0.25e-6, 0.25e-6, 0.35e-6))
    pm = mesh_from_image(vol, voxel, size=0.8e-6, comm=COMM)
    assert sorted(pm.boundaries) == ["outer", "pore_0", "pore_1", "pore_2", "void"]
    info = pm.info
    assert [c["name"] for c in info["cavities"]] == ["void", "pore_0", "pore_1", "pore_2"]
    # the void is the one made at (0.2, -0.1, 0.1) µm from the image centre, radius 1.4 µm
    assert info["cavities"][0]["equivalent_radius_m"] == pytest.approx(1.4e-6, rel=0.05)
    assert pm.volume() == pytest.approx(info["voxel_volume_m3"], rel=0.01)
    assert 0.02 < info["porosity"] < 0.05
    assert pm.min_quality > 0.2


def test_cli_from_image_end_to_end(tmp_path):
    out = tmp_path / "out"
    proc = run_sim("mesh", "--from-image", str(EXAMPLE), "--size", "0.8 um", "--out", str(out), "--name", "ex",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "porosity (closed cavities)" in proc.stdout and "4 closed (void, pore_0, pore_1, pore_2)" in proc.stdout
    info = json.loads((out / "ex.json").read_text())
    assert info["boundaries"] == {"outer": 1, "void": 2, "pore_0": 10, "pore_1": 11, "pore_2": 12}
    assert info["volume_m3"] > 0 and len(info["centroid_shift_m"]) == 3
    assert {p.name for p in out.iterdir()} - {MARKER} == {"ex.msh", "ex.xdmf", "ex.h5", "ex.json", "ex_mesh.xdmf",
                                                            "ex_mesh.h5", "ex.vtu", "ex_facets.vtu"}


@pytest.mark.parametrize("argv, key", [
    (["--from-image", str(EXAMPLE), "--name", "../../x"], "--name"),
    (["--from-image", str(EXAMPLE), "--name", "/tmp/x"], "--name"),
    (["--from-image", str(EXAMPLE), "--name", "a/b"], "--name"),
    (["liu2024", "--kind", "radial", "--name", "../x"], "--name"),
    (["--reference", "--name", ".."], "--name"),
    (["--from-image", "missing.npy", "--voxel-size", "25 nm"], "missing.npy"),
    (["--from-image", str(EXAMPLE), "--voxel-size", "25 nm,3 nm"], "--voxel-size"),
    (["--from-image", str(EXAMPLE), "--size", "-1 um"], "--size"),
    (["--from-image", str(EXAMPLE), "--mesh-timeout", "0 s"], "--mesh-timeout"),
    (["--from-image", str(EXAMPLE), "--mesh-timeout", "3 um"], "--mesh-timeout"),
])
def test_cli_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, argv, key):
    from sim.cli import main

    out = tmp_path / "out"
    assert main(["mesh", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and key in err[0], err
    assert not out.exists()


# --------------------------------------------------------------------------- the gmsh guard
def test_closed_manifold_check_counts_open_and_shared_edges():
    """A tetrahedron's surface is closed (0 bad edges); without one face its 3 edges are open; a fin
    (a third triangle on one edge) makes that edge non-manifold and adds 2 open ones."""
    from sim.mesh.gmsh_guard import bad_edges

    tet = np.array([[0, 1, 2], [0, 3, 1], [1, 3, 2], [2, 3, 0]])
    assert bad_edges(tet) == 0
    assert bad_edges(tet[1:]) == 3
    assert bad_edges(np.vstack([tet, [[0, 1, 4]]])) == 3


def test_noisy_surface_is_refused_before_gmsh_names_volume_and_denoise():
    """5 % flipped voxels and no denoising leave non-manifold edges; without the check gmsh ran > 12 min on
    this volume (killed) or crashed with a double free. Refused before gmsh, naming the file and --denoise."""
    vol, voxel = load_volume(EXAMPLE)
    noisy = np.where(np.random.default_rng(1).random(vol.shape) < 0.05, 1 - vol, vol)
    with pytest.raises(InputError, match="not closed") as err:
        mesh_from_image(noisy, voxel, denoise_passes=0, source="noisy.npy", comm=COMM)
    assert err.value.key == "--denoise" and err.value.file == "noisy.npy"


def test_gmsh_step_killed_at_the_time_limit_with_a_clear_error():
    """A forced 1 ms limit: the child process is killed and the error names the volume and what to change."""
    import time

    start = time.perf_counter()
    with pytest.raises(InputError, match="within 0.001 s") as err:
        mesh_from_image(hollow_sphere(10, 4), 0.1e-6, source="shell.npy", timeout=1e-3, comm=COMM)
    assert err.value.file == "shell.npy"
    assert all(option in str(err.value) for option in ("--smooth", "--size", "--mesh-timeout"))
    assert time.perf_counter() - start < 10


def test_cli_time_limit_one_line_exit_2_nothing_written(tmp_path, capsys):
    from sim.cli import main

    out = tmp_path / "out"
    assert main(["mesh", "--from-image", str(EXAMPLE), "--mesh-timeout", "1 ms", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(EXAMPLE) in err[0] and "--mesh-timeout" in err[0], err
    assert not out.exists() or not any(out.iterdir())


# ------------------------------------------------------------------- gmsh honours the element size
def test_target_size_is_gmshs_ball_rule():
    """h outside every ball; the inside size up to the radius, then linear to h over the thickness;
    the smallest of overlapping balls."""
    from sim.mesh.image import target_size

    balls = [((0.0, 0.0, 0.0), 2.0, 4.0, 0.5, 3.0), ((10.0, 0.0, 0.0), 1.0, 1.0, 1.0, 3.0)]
    x = np.array([0.0, 1.9, 3.0, 4.0, 6.0, 7.0, 8.5, 10.0, 10.5, 11.5, 20.0])
    expected = [0.5, 0.5, 0.5 + 2.5 / 4, 0.5 + 2.5 / 2, 3.0, 3.0, 2.0, 1.0, 1.0, 2.0, 3.0]
    points = np.column_stack([x, np.zeros_like(x), np.zeros_like(x)])
    assert np.allclose(target_size(points, 3.0, balls), expected, rtol=0, atol=1e-14)


def _gmsh_sphere_surface(gmsh, size: float):
    gmsh.model.add("sphere")
    gmsh.model.occ.addSphere(0, 0, 0, 10.0)
    gmsh.model.occ.synchronize()
    gmsh.option.setNumber("Mesh.MeshSizeMin", size)
    gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    gmsh.model.mesh.generate(2)


def test_surface_size_ratio_counts_triangles_against_the_size():
    """A sphere meshed at size s: about one triangle per √3/4 s² (ratio 1.0-1.3); checked against a size
    three times larger, nine times the triangles asked for."""
    import gmsh

    from sim.mesh.image import MAX_SIZE_RATIO, surface_size_ratio

    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        _gmsh_sphere_surface(gmsh, 1.0)
        honoured = surface_size_ratio(gmsh, 1.0, [])
        assert 1.0 <= honoured <= 1.3
        coarse = surface_size_ratio(gmsh, 3.0, [])
        assert coarse == pytest.approx(9 * honoured, rel=1e-12) and coarse > MAX_SIZE_RATIO
        # a ball asking for s = 1 around the whole sphere inside a bulk size of 3
        assert surface_size_ratio(gmsh, 3.0, [((0, 0, 0), 11.0, 1.0, 1.0, 3.0)]) == pytest.approx(honoured)
    finally:
        gmsh.finalize()


def test_a_mesh_finer_than_asked_is_redone(monkeypatch):
    """gmsh 4.15 now and then meshes re-parametrised surfaces far finer than asked (tens of times the cells):
    such an attempt is redone from the surfaces, and the mesh records how many attempts it took and its ratio."""
    import gmsh

    import sim.mesh.image as image

    calls = []
    honest = image.surface_size_ratio      # still run, on the model the retry rebuilt

    def first_attempt_too_fine(*args):
        calls.append(honest(*args))
        return 12.0 if len(calls) == 1 else 1.1
    monkeypatch.setattr(image, "surface_size_ratio", first_attempt_too_fine)
    seg = image.classify(image.denoise(image.segment(hollow_sphere(8, 3.2)).transpose(2, 1, 0), 1))
    surf = image.surfaces(seg, np.ones(3), smooth=10, step=1)
    centroid = np.argwhere(seg.solid).mean(axis=0)
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("image")
        boundaries, size = image._tetrahedralise(gmsh, {n: (v - centroid, f) for n, (v, f) in surf.items()}, 3.0, 1.5)
        assert size == {"surface_size_ratio": 1.1, "mesh_attempts": 2} and set(boundaries) == {"outer", "void"}
        assert len(calls) == 3                  # attempt 1 stopped at its surfaces; attempt 2 checked before and after
        assert gmsh.model.list().count("image") == 1 and gmsh.model.getCurrent() == "image"   # the first one went
        assert len(gmsh.model.mesh.getElementsByType(4)[0]) > 0
    finally:
        gmsh.finalize()


def test_image_meshes_record_their_size_check():
    pm = mesh_from_image(hollow_sphere(10, 4), 0.1e-6, size=0.3e-6, comm=COMM)
    assert 1.0 <= pm.info["surface_size_ratio"] <= 1.5 and pm.info["mesh_attempts"] >= 1
