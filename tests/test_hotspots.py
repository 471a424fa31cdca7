"""Hot spots: found on any mesh from the running stress maxima, placed relative to the named boundaries.

On the Liu 2024 particle (central void a = 0.5 µm, pores of 0.2 µm at z = ±1 µm: a bridge 0.3 µm wide)
a 10C discharge puts the highest max principal stress in the bridge between the void and a pore (Liu
2024's bridge point); the run must find it without being told where it is.
"""
from __future__ import annotations

import csv
import math

import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import numpy as np
import pytest
from mpi4py import MPI

from sim.fracture.hotspots import BoundaryDistance, centroid, to_mesh, to_physical

LIU = {"model": "lithium", "params": "liu2024", "geometry": "axisym",
       "parameters": {"transport.x_initial": 0.34},
       "mesh": {"size_outer": "1 um", "size_inner": "0.1 um", "order": 1},
       "output": {"probes": {}, "vtx": False, "maps_at_dod": ["4 %"], "hot_spots": 3},
       "protocol": [{"step": "discharge at 10C to 4 % DOD"}]}


def test_coordinate_conventions_round_trip():
    assert to_physical("radial", [[3.0, 0, 0]]).tolist() == [[0, 0, 3.0]]
    assert to_physical("axisym", [[2.0, 5.0, 0]]).tolist() == [[2.0, 0, 5.0]]
    p = np.array([[3.0, 4.0, -1.0]])
    assert to_mesh("axisym", p).tolist() == [[5.0, -1.0, 0]]
    assert to_mesh("radial", p)[0, 0] == pytest.approx(math.sqrt(26))
    assert to_mesh("3d", p).tolist() == p.tolist()


def test_boundary_distances_and_centroid_on_a_hollow_sphere_and_an_off_centre_axisymmetric_particle():
    from sim.mesh import mesh_from_params, radial_mesh
    from sim.params import load_params

    hollow = radial_mesh(8e-6, 2e-6, n_cells=30, comm=MPI.COMM_WORLD)
    bd = BoundaryDistance(hollow)
    assert set(bd.names) == {"outer", "void"}
    d = bd.describe([0, 0, 5e-6])
    assert d["distance_to_outer_m"] == pytest.approx(3e-6) and d["distance_to_cavity_m"] == pytest.approx(3e-6)
    assert centroid(hollow) == pytest.approx([0, 0, 0])
    # one pore above the void only: the centroid moves down by V_pore z_pore / V (on the axis)
    p = load_params("liu2024", {"geometry.pores": [{"centre": ["0 um", "0 um", "1 um"], "radius": "0.2 um"}]})
    pm = mesh_from_params(p, "axisym", order=2, comm=MPI.COMM_WORLD)
    g = p.geometry
    v = 4 / 3 * math.pi * (g.particle_radius**3 - g.void_radius**3 - 0.2e-6**3)
    c = centroid(pm)
    assert c[0] == 0 and c[1] == 0
    assert c[2] == pytest.approx(-4 / 3 * math.pi * 0.2e-6**3 * 1e-6 / v, rel=2e-3)
    bd = BoundaryDistance(pm)
    assert {"outer", "void", "pore_0"} <= set(bd.names) and "axis" not in bd.names
    d = bd.describe([0.3e-6, 0, 0])       # 0.2 um from the void, 7.7 um from the outer surface
    assert d["nearest_cavity"] == "void"
    assert d["distance_to_cavity_m"] == pytest.approx(0.2e-6, rel=1e-3)
    assert d["distance_to_outer_m"] == pytest.approx(7.7e-6, rel=5e-4)   # nodes of a coarse outer surface: ~h²/(8R)


def test_hot_spots_on_the_liu_particle_find_the_bridge_between_void_and_pore(tmp_path):
    from sim.lithium.run import run_case

    s = run_case(LIU, tmp_path / "liu", progress=False)
    bridge = 1e-6 - 0.2e-6 - 0.5e-6
    spots = s["hot_spots"]
    assert [h["name"] for h in spots] == [f"{k}_{i}" for k in ("max_principal", "hoop") for i in (1, 2, 3)]
    top = spots[0]
    d = top["distances_m"]
    pores = [n for n in d if n.startswith("pore_")]
    assert d["void"] <= bridge * 1.001 and min(d[n] for n in pores) <= bridge * 1.001
    assert d["void"] + min(d[n] for n in pores) == pytest.approx(bridge, rel=0.05)   # it lies in the bridge
    assert abs(top["position_m"][2]) == pytest.approx(0.65e-6, abs=0.2e-6) and top["position_m"][1] == 0
    assert top["value_Pa"] == pytest.approx(s["maxima"]["max_principal_Pa"]["value"], rel=1e-12)
    assert top["distance_to_outer_m"] > 6e-6
    # the two bridges (z > 0, z < 0) are distinct hot spots, farther apart than the separation
    assert np.sign(spots[0]["position_m"][2]) != np.sign(spots[1]["position_m"][2])
    assert s["centroid_m"] == pytest.approx([0, 0, 0], abs=1e-9)
    assert "axisymmetric (r, z) -> (r, 0, z)" in s["coordinates"]
    # histories: hotspots.csv columns per spot, the peak of the history is the reported value
    with open(tmp_path / "liu" / "hotspots.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == s["time_steps"] + 1
    history = np.array([float(r["max_principal_1_max_principal_Pa"]) for r in rows])
    assert history.max() == pytest.approx(top["value_Pa"], rel=1e-9)     # CSV: 10 digits
    assert float(rows[-1]["t_s"]) == pytest.approx(s["final"]["t_s"])
