"""Paper figures: section maps (smooth shading, mirrored x axis, colour bars, markers), stress vs DOD,
radial profiles and sweep plots, on tiny result folders made by ``sim run`` (an axisymmetric Liu 2024
particle at 10C and 0.1C, a 1D sphere) and on closed forms (linear fields are reproduced exactly)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dolfinx_solver  # noqa: F401  (MPI before mpi4py)
import numpy as np
import pandas as pd
import pytest

from conftest import run_mpi_script
from matplotlib.ticker import ScalarFormatter

from sim.errors import InputError
from sim.lithium import figures, plots
from sim.results import open_result

REPO = Path(__file__).resolve().parent.parent
CASES = REPO / "validation" / "cases"
COARSE = ["--set", "mesh.size_inner=0.15um", "--set", "mesh.size_outer=1.5um", "--set", "output.vtx=false"]
RUNS = {  # label -> (case, extra --set): ~10 s each on 2 idle cores
    "10C": ("liu2024_10C.toml", COARSE + ["--set", "solver.dt_max=12s"]),
    "0.1C": ("liu2024_0p1C.toml", COARSE + ["--set", "solver.dt_max=900s"]),
    "sphere": ("sphere_radial_1C.toml", ["--set", "mesh.n_cells=20", "--set",
                                         "protocol[0].step=discharge at 1C to 30 % DOD"]),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("figures")
    out = {}
    for label, (case, extra) in RUNS.items():
        folder = root / label
        done = subprocess.run([sys.executable, "-m", "sim", "run", str(CASES / case), "--out", str(folder), "--quiet",
                               *extra], cwd=root, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        out[label] = open_result(folder)
    return out


def _offsets(fig) -> list[str]:
    """Offset texts ('1e-5+4.717e-1') of every axis of ``fig`` once drawn."""
    fig.canvas.draw()
    axes = [a for ax in fig.axes for a in (ax, *ax.child_axes)]      # colour bars live in inset (child) axes
    return [a.get_offset_text().get_text() for ax in axes for a in (ax.xaxis, ax.yaxis)
            if a.get_offset_text().get_text()]


def _images(fig):
    return [im for ax in fig.axes for im in ax.images]


# ------------------------------------------------------------------------------------------ closed forms
def _square_section(n: int = 8):
    """An axisymmetric-layout section of the square 0 <= r, z <= 1 (m) split into 2 n² triangles."""
    s = np.linspace(0.0, 1.0, n + 1)
    R, Z = np.meshgrid(s, s)
    nodes = np.column_stack([R.ravel(), Z.ravel()])
    k = np.arange(n * (n + 1)).reshape(n, n + 1)[:, :n].ravel()
    cells = np.concatenate([np.column_stack([k, k + 1, k + n + 2]), np.column_stack([k, k + n + 2, k + n + 1])])
    return nodes, cells


def test_nodal_average_reproduces_linear_fields_and_averages_cells():
    nodes, cells = _square_section()
    tri = nodes[cells]
    f = 2.0 + 3.0 * tri[..., 0] - tri[..., 1]               # corner values of a linear field
    merged, conn, nodal = plots.nodal_average(tri, f, plots._triangle_areas(tri))
    assert len(merged) == len(nodes)
    np.testing.assert_allclose(nodal, 2.0 + 3.0 * merged[:, 0] - merged[:, 1], atol=1e-13)
    cellwise = np.repeat(np.arange(len(cells), dtype=float)[:, None], 3, axis=1)      # DG0: value = cell index
    _, conn, nodal = plots.nodal_average(tri, cellwise, np.ones(len(cells)))
    centre = np.flatnonzero(np.all(np.isclose(merged, [0.5, 0.5]), axis=1))[0]
    around = np.flatnonzero((conn == centre).any(axis=1))
    assert len(around) == 6 and nodal[centre] == pytest.approx(around.mean(), rel=1e-14)


def test_shading_and_rays_are_exact_for_a_linear_field():
    nodes, cells = _square_section()
    value = lambda r, z: 1e8 * (1.0 + r - 2.0 * z)        # noqa: E731  (Pa)
    data = {"layout": "triangles", "radius_m": 1.0, "triangles_m": nodes[cells], "nodes_m": nodes, "cells": cells,
            "hoop_Pa": value(*nodes[cells].mean(axis=1).T), "nodal_hoop_Pa": value(nodes[:, 0], nodes[:, 1])}
    cell, weights = plots._pixel_weights(data, 1.0)
    image = np.einsum("ijk,ijk->ij", weights, data["nodal_hoop_Pa"][cells[np.maximum(cell, 0)]])
    centres = (np.arange(plots.PIXELS) + 0.5) / plots.PIXELS * 2 - 1
    X, Z = np.meshgrid(centres, centres)
    inside = cell >= 0
    assert inside.mean() > 0.45           # the right half (x >= 0) and, mirrored, the left one; z >= 0 only
    np.testing.assert_allclose(image[inside], value(np.abs(X), Z)[inside], rtol=1e-12, atol=1e-3)
    assert np.allclose(image[inside], value(np.abs(X[inside]), Z[inside]))   # mirrored: f(-x, z) = f(x, z)
    s = np.linspace(0.0, 1.0, 11)      # (rays are read 1e-9 R off the axis, the mesh's edge)
    np.testing.assert_allclose(plots.sample_ray(data, "hoop_Pa", (1.0, 1.0), s * np.sqrt(2)),
                               value(s, s), rtol=1e-8, atol=1.0)
    np.testing.assert_allclose(plots.sample_ray(data, "hoop_Pa", (0.0, 1.0), s), value(0.0, s), rtol=1e-8, atol=1.0)
    with pytest.raises(ValueError):
        plots.sample_ray(data, "hoop_Pa", (0.0, 0.0), s)


def test_style_helpers():
    assert figures.stress_scale([2e8, -3e8]) == (1e-6, "MPa") and figures.stress_scale([1.2e9]) == (1e-9, "GPa")
    assert figures.extend_for([0.0, 1.0], 0.0, 1.0) == "neither"
    assert figures.extend_for([-1.0, 1.0], 0.0, 1.0) == "min" and figures.extend_for([0.0, 2.0], 0.0, 1.0) == "max"
    assert figures.extend_for([-1.0, 2.0], 0.0, 1.0) == "both"
    names = [p.name for p in figures.output_paths("a/map.png", ("png", "pdf", "svg"))]
    assert names == ["map.png", "map.pdf", "map.svg"]
    with pytest.raises(InputError, match="'jpeg' is not one of"):
        figures.output_paths("map.png", ("jpeg",))
    assert figures.point_label("bridge") == "bridge point" and figures.point_label("hoop_2") == "hoop hot spot 2"


# ------------------------------------------------------------------------------------------ section maps
def test_axisymmetric_map_is_smooth_labelled_and_marked(runs, tmp_path):
    r = runs["0.1C"]
    data = plots.load_section(r.path / r.maps[-1]["data"])
    n_cells = len(data["triangles_m"])
    for name in ("hoop_Pa", "von_mises_Pa"):   # nodal values: averages of the stresses at the node, in range
        nodal, hi = data[f"nodal_{name}"], r.summary["maxima"][name]["value"]
        lo = r.summary["minima"][name]["value"] if name in r.summary["minima"] else 0.0
        assert len(nodal) == len(data["nodes_m"])
        assert lo - 1e-9 * abs(lo) <= nodal.min() <= nodal.max() <= hi * (1 + 1e-9)
    probes = {k: v["position_m"] for k, v in r.summary["probes"].items()}
    hot = {s["name"]: s["position_m"] for s in r.summary["hot_spots"]}
    fig = plots.section_figure(data, zoom=1.5e-6, markers=hot, probes=probes)
    assert _offsets(fig) == []                     # the 0.1C zoom colour bar had '1e-5+4.717e-1'
    images = _images(fig)
    hoop = np.ma.compressed(images[1].get_array())
    assert len(np.unique(hoop)) > 20 * n_cells     # shaded from nodes, not one colour per cell
    main = [ax for ax in fig.axes if ax.images]
    assert {ax.get_xlabel() for ax in main} == {"x (µm)"} and {ax.get_ylabel() for ax in main} == {"z (µm)"}
    assert any(t.get_text() == figures.MIRRORED_NOTE for t in fig.texts)
    bars = [im.colorbar for im in images]
    assert all(isinstance(b.formatter, ScalarFormatter) and not b.formatter.get_useOffset() for b in bars)
    assert bars[1].ax.get_ylabel() == "hoop stress σ_θθ (MPa)" and bars[0].extend == "neither"
    zoomed = main[len(main) // 2:]
    diamonds = [line for ax in zoomed for line in ax.lines if line.get_marker() == "D"]
    bridge = np.array(probes["bridge"])
    assert any(np.allclose(line.get_xydata()[0], [np.hypot(*bridge[:2]) * 1e6, bridge[2] * 1e6]) for line in diamonds)
    assert any("bridge" in t.get_text() for ax in zoomed for t in ax.texts)
    # a colour range narrower than the data: arrows at both ends
    lo, hi = np.nanmin(data["hoop_Pa"]), np.nanmax(data["hoop_Pa"])
    fig = plots.section_figure(data, names=["hoop_Pa"], limits={"hoop_Pa": (0.5 * lo, 0.5 * hi)})
    assert _images(fig)[0].colorbar.extend == "both"
    files = [tmp_path / "map.png", tmp_path / "map.pdf"]
    assert plots.plot_section(data, files[0], zoom=1.5e-6, probes=probes, formats=("png", "pdf")) == files[0]
    assert all(f.stat().st_size > 1000 for f in files) and files[1].read_bytes()[:4] == b"%PDF"


def test_redraw_maps_from_a_result_folder(runs, tmp_path):
    r = runs["10C"]
    files = figures.redraw_maps(r, tmp_path, formats=("png", "svg"))
    expected = [f"{Path(m['data']).stem}.{e}" for m in r.maps for e in ("png", "svg")]
    assert sorted(f.name for f in files) == sorted(expected)
    assert "<svg" in files[1].read_text()[:500]
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    plots.draw_map(ax, r.map(0.2), "von_mises_Pa", title="von Mises")
    assert ax.get_xlabel() == "x (µm)" and ax.images[0].colorbar.ax.get_ylabel() == "von Mises stress (MPa)"


def test_map_values_match_the_probes(runs):
    """Nodal maps sampled at the probe points agree with the solver's point values: to 1e-6 at mesh
    nodes (the surface), to 5 % at the bridge point inside a cell of this coarse mesh."""
    for label in ("10C", "sphere"):
        r = runs[label]
        for m in r.maps:
            data = r.map(m["dod_target"])
            for name, values in m["probes"].items():
                x, y, z = r.summary["probes"][name]["position_m"]
                ray = np.array([np.hypot(x, y), z])
                if not np.linalg.norm(ray) > 0:
                    continue
                tol = 0.05 if name == "bridge" else 1e-3
                for q in ("hoop_Pa", "von_mises_Pa"):
                    got = plots.sample_ray(data, q, ray, [np.linalg.norm(ray) * (1 - 1e-9)])[0]
                    assert got == pytest.approx(values[q], rel=tol), (label, name, q)


def test_revolved_sphere_map(runs):
    r = runs["sphere"]
    data = plots.load_section(r.path / r.maps[0]["data"])
    fig = plots.section_figure(data)
    assert _offsets(fig) == [] and any(t.get_text() == figures.REVOLVED_NOTE for t in fig.texts)
    prof = data["profile_hoop_Pa"]        # at the nodes: r = 0 ... R
    assert data["profile_r_m"][0] == 0 and data["profile_r_m"][-1] == pytest.approx(data["radius_m"])
    assert prof[0] == pytest.approx(r.summary["probes"]["centre"]["maxima"]["hoop_Pa"]["value"], rel=0.05)


# ------------------------------------------------------------------------------------------ line plots
def test_stress_vs_dod_overlays_rates(runs, tmp_path):
    results = {"10C": runs["10C"], "0.1C": runs["0.1C"]}
    fig = figures.stress_vs_dod_figure(results, points=("bridge",))
    panels = [ax for ax in fig.axes if ax.get_xlabel()]
    assert [ax.get_ylabel() for ax in panels] == ["hoop stress σ_θθ (MPa)", "radial stress σ_rr (MPa)",
                                                  "von Mises stress (MPa)"]
    assert not any("not recorded" in t.get_text() for t in fig.texts)   # every quantity asked for is recorded
    right = [ax for ax in fig.axes if not ax.get_xlabel()]       # the 0.1C run, ~100x smaller, on twin axes
    assert len(right) == 3 and right[0].get_ylabel().endswith("0.1C")
    hoop10 = panels[0].lines[0].get_ydata()
    assert np.max(hoop10) == pytest.approx(runs["10C"].summary["probes"]["bridge"]["maxima"]["hoop_Pa"]["value"] * 1e-6,
                                           rel=1e-6)
    assert np.max(right[0].lines[0].get_ydata()) * 20 < np.max(hoop10)
    assert _offsets(fig) == []
    assert "discharge at 10C" in fig._suptitle.get_text() and "discharge at 0.1C" in fig._suptitle.get_text()
    paths = figures.plot_stress_vs_dod(results, tmp_path / "s.png", points=("bridge", "max_principal_1"),
                                       formats=("png", "svg"))
    assert [p.suffix for p in paths] == [".png", ".svg"] and all(p.is_file() for p in paths)
    with pytest.raises(InputError, match="none of"):
        figures.stress_vs_dod_figure(results, points=("nowhere",))


def test_radial_profiles_at_several_dods(runs, tmp_path):
    r = runs["10C"]
    fig = figures.radial_profiles_figure(r)
    panels = [ax for ax in fig.axes if ax.get_xlabel()]
    assert [ax.get_ylabel() for ax in panels] == ["hoop stress σ_θθ (MPa)", "radial stress σ_rr (MPa)",
                                                  "von Mises stress (MPa)"]
    assert {ax.get_xlabel() for ax in panels} == {"distance from the centre (µm)"}
    assert len(panels[0].lines) == 1 + len(r.maps)               # one per DOD (+ the zero line)
    last = panels[0].lines[len(r.maps) - 1]
    x, y = np.asarray(last.get_xdata()), np.asarray(last.get_ydata())
    void = r.parameters["parameters"]["geometry"]["void_radius"]["value_si"]      # m
    assert np.isnan(y[x < 0.95 * void * 1e6]).all() and np.isfinite(y[x > 7.0]).all()
    assert "bridge point" in fig._suptitle.get_text() and _offsets(fig) == []
    assert figures.plot_radial_profiles(r, tmp_path / "p.pdf", dods=[0.2], angle_deg=90)[0].is_file()
    with pytest.raises(InputError, match="no probe"):
        figures.radial_profiles_figure(r, through="nowhere")


# ------------------------------------------------------------------------------------------ sweep plots
def test_sweep_plots_labels_units_and_constant_columns(tmp_path):
    from sim.sweep.plots import choose, plot_sweep, quantity_label
    from sim.sweep.spec import load_sweep

    (tmp_path / "case.toml").write_text('model = "oxygen"\nparams = "csernica2021"\ngeometry = "radial"\n'
                                        "[protocol]\ncycles = 1\nhours_delithiated_per_cycle = 1.2\n")
    (tmp_path / "sweep.toml").write_text('[sweep]\ntitle = "hoop stress vs C-rate"\ncase = "case.toml"\n[axes]\n'
                                         '"protocol[0].c_rate" = [0.1, 1, 10]\n'
                                         '"geometry.void_radius" = ["0.3 um", "0.5 um"]\n')
    sweep = load_sweep(tmp_path / "sweep.toml", validate=False)
    rows = [{"case_id": f"c{i}{j}", "status": "ok", "wall_time_s": 1.0 + i, "protocol[0].c_rate": c,
             "geometry.void_radius_um": v, "probes.bridge.maxima.hoop_Pa.value": 1e7 * c * v,
             "mesh.cells": 914, "c_rate": c}
            for i, c in enumerate((0.1, 1.0, 10.0)) for j, v in enumerate((0.3, 0.5))]
    df = pd.DataFrame(rows)
    quantities, x, hue = choose(sweep, df)
    assert quantities == ["probes.bridge.maxima.hoop_Pa.value"]   # not the constant cell count, not c_rate again
    assert quantity_label("probes.bridge.maxima.hoop_Pa.value", df["probes.bridge.maxima.hoop_Pa.value"]) == \
        ("max hoop stress σ_θθ at the bridge point (MPa)", 1e-6)
    written = plot_sweep(sweep, df, tmp_path / "plots", formats=("png", "pdf"))
    assert sorted(p.suffix for p in written) == [".pdf", ".pdf", ".png", ".png"] and all(p.is_file() for p in written)
    from sim.sweep import plots as sweep_plots

    fig_paths = []
    original = sweep_plots.save_figure
    sweep_plots.save_figure = lambda fig, path, formats, **kw: fig_paths.append(fig) or [Path(path)]
    try:
        plot_sweep(sweep, df, tmp_path / "again")
    finally:
        sweep_plots.save_figure = original
    line, heat = fig_paths
    ax = line.axes[0]
    assert ax.get_xlabel() == "C-rate (h⁻¹)" and ax.get_ylabel() == "max hoop stress σ_θθ at the bridge point (MPa)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["void radius (µm) = 0.3", "void radius (µm) = 0.5"]
    assert np.max(ax.lines[-1].get_ydata()) == pytest.approx(10 * 0.5 * 10, rel=1e-12)      # 5e7 Pa in MPa
    assert ax.get_title() == "hoop stress vs C-rate" and heat.axes[0].get_ylabel() == "void radius (µm)"
    assert _offsets(line) == [] and _offsets(heat) == []


# ------------------------------------------------------------------------------------------ 3D mid-plane
SECTION_3D = '''
import json, sys
import dolfinx_solver
import numpy as np
from mpi4py import MPI
from dolfinx import fem
from sim.mesh import particle_mesh_3d
from sim.params import load_params
from sim.lithium import plots
comm = MPI.COMM_WORLD
p = load_params("liu2024", {"mesh.size_outer": "3 um", "mesh.size_inner": "0.4 um"})
pm = particle_mesh_3d(p.geometry, p.mesh, order=2, comm=comm)
R = p.geometry.particle_radius
f = fem.Function(fem.functionspace(pm.mesh, ("Lagrange", 1)))
f.interpolate(lambda x: 1e8 * (1 + 2 * x[0] / R - 3 * x[2] / R + x[1] / R))
d = plots.section_data("3d", {"hoop_Pa": f}, comm, radius=R, zoom=1.5e-6, n_grid=61)
if comm.rank == 0:
    out = {}
    for pre in ("", "zoom_"):
        e = d[pre + "extent_m"]
        s = np.linspace(e[0], e[1], 61)
        X, Z = np.meshgrid(s, s)
        v = d[pre + "hoop_Pa"]
        ok = np.isfinite(v)
        out[pre or "full"] = [float(ok.mean()), float(np.abs(v[ok] / 1e8 - (1 + 2 * X[ok] / R - 3 * Z[ok] / R)).max()),
                              bool(np.isnan(v[np.hypot(X, Z) > R * (1 + 1e-6)]).all())]
    print("RESULT " + json.dumps(out))
'''


@pytest.mark.parametrize("ranks", [1, 2])
def test_3d_midplane_is_exact_for_a_linear_field(tmp_path, ranks):
    """Curved (order-2) cells: the mid-plane image reproduces a linear field to round-off on 1 and 2 ranks
    (the located cell's straight simplex, unclipped barycentric weights), and is blank outside the sphere."""
    result = run_mpi_script(tmp_path, SECTION_3D, ranks, timeout=600)
    for name, (covered, error, blank_outside) in result.items():
        assert error < 1e-12 and blank_outside, (name, error)
        assert covered > (0.70 if name == "full" else 0.85), name   # the disk minus void and pores
