"""``sim.case``, the one input layer, and one test per hardening finding that the corpus does not cover."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.case import (MARKER, OWNER, Entries, Layers, check_cost, check_distances, check_out, clean_orphans,
                      confined, estimate_cost, parameter_digest, read_toml, safe_name, to_fraction, to_integer,
                      to_quantity, write_marker)
from sim.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- reading and typed getters
def test_read_toml_names_the_file_for_every_io_problem(tmp_path):
    cases = {"missing.toml": None, "dir.toml": "dir", "bytes.toml": b"a = 1\n\xc3\x28 = 2\n", "syntax.toml": b"a = \n"}
    for name, content in cases.items():
        path = tmp_path / name
        if content == "dir":
            path.mkdir()
        elif content is not None:
            path.write_bytes(content)
    messages = {}
    for name in cases:
        with pytest.raises(InputError) as err:
            read_toml(tmp_path / name, "case file")
        assert err.value.file == str(tmp_path / name)
        messages[name] = err.value.detail
    assert messages["missing.toml"] == "case file not found"
    assert "folder" in messages["dir.toml"]
    assert "not UTF-8" in messages["bytes.toml"] and "line 2" in messages["bytes.toml"]
    assert "not valid TOML" in messages["syntax.toml"]


def test_getters_check_type_unit_and_bounds_and_name_the_origin():
    e = Entries({"cycles": 1e10, "size": "2 nm", "flag": "yes", "f": 1.2, "d": ["0 nm", "5 nm", "5 nm"], "x": 3},
                file="case.toml", prefix="protocol", origins={"protocol.size": "--set"})
    with pytest.raises(InputError, match=r"got 1e\+10; allowed: a whole number >= 1 and <= 1e\+06") as err:
        e.integer("cycles", ge=1, le=1_000_000)
    assert (err.value.file, err.value.key) == ("case.toml", "protocol.cycles")
    assert e.quantity("size", "nm", gt=0) == pytest.approx(2e-9)
    with pytest.raises(InputError, match="allowed: <= 1 nm") as err:
        e.quantity("size", "nm", le=1)
    assert err.value.file == "--set"                       # the override's origin, not the case file
    with pytest.raises(InputError, match="true or false"):
        e.boolean("flag")
    with pytest.raises(InputError, match=">= 0 and <= 1"):
        e.fraction("f")
    with pytest.raises(InputError, match="strictly increasing"):
        e.distances("d", "nm")
    with pytest.raises(InputError, match="unknown key; allowed in \\[protocol\\]: cycles, d, f, flag, size$"):
        e.allow(["cycles", "size", "flag", "f", "d"])
    assert e.integer("missing", 7) == 7
    assert to_fraction("20 %") == pytest.approx(0.2)
    assert to_integer(10.0) == 10
    with pytest.raises(InputError, match="infinite"):
        to_quantity("inf nm", "nm", gt=0)
    with pytest.raises(InputError, match="not a number"):
        to_quantity(math.nan, "", gt=0)


def test_repeated_distances_refused_or_merged_by_inverse_variance():
    d = np.array([3.0, 1.0, 1.0, 2.0])
    with pytest.raises(InputError, match="repeated distance 1"):
        check_distances(d, unit="")
    dm, y, s = check_distances(d, values=(np.array([0.3, 0.1, 0.4, 0.2]), np.array([1.0, 1.0, 2.0, 1.0])),
                               unit="", merge=True)
    assert dm.tolist() == [1.0, 2.0, 3.0]
    # w = 1/σ²: (0.1·1 + 0.4·0.25)/1.25 = 0.16 and σ = 1.25^-1/2
    assert y[0] == pytest.approx(0.16) and s[0] == pytest.approx(1.25**-0.5) and y[1:].tolist() == [0.2, 0.3]


def test_layers_keep_the_origin_of_each_key():
    layers = Layers().add({"a": 1, "b": 2}, "case.toml [set]").add({"b": 3}, "--set")
    assert layers.values == {"a": 1, "b": 3}
    assert (layers.origin("a"), layers.origin("b"), layers.origin("c", "x")) == ("case.toml [set]", "--set", "x")


# --------------------------------------------------------------------------- output folders
def test_check_out_refuses_before_any_work_and_overwrite_needs_the_marker(tmp_path):
    (tmp_path / "file").write_text("x")
    for out, message in ((tmp_path / "file", "is a file"), (tmp_path / "file" / "sub", "which is a file"),
                         (Path("/proc/sim-out"), "not writable")):
        with pytest.raises(InputError, match=message) as err:
            check_out(out)
        assert err.value.key == "--out"
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x")
    with pytest.raises(InputError, match="--overwrite"):
        check_out(foreign)
    with pytest.raises(InputError, match="not a results folder this toolkit wrote"):
        check_out(foreign, overwrite=True)
    assert check_out(foreign, merge=True) == foreign      # adding files deletes nothing
    write_marker(foreign, "test")
    assert check_out(foreign, overwrite=True) == foreign
    assert json.loads((foreign / MARKER).read_text())["tool"] == "sim"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "mine"]   # the checks created nothing


@pytest.mark.parametrize("name", ["../x", "/abs/x", "a/b", ".hidden", "..", "", "a\\b", "a\nb"])
def test_output_names_are_confined_to_out(tmp_path, name):
    with pytest.raises(InputError, match="--name"):
        confined(tmp_path, name)


def test_safe_names_pass():
    assert safe_name("liu2024_axisym") == "liu2024_axisym"


def test_orphan_staging_folders_of_dead_runs_are_removed_live_ones_kept(tmp_path):
    from sim.io import StagedDir

    out = tmp_path / "res"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan, live, other = tmp_path / ".res.tmp-dead0000", tmp_path / ".res.tmp-live0000", tmp_path / ".x.tmp-00000000"
    for folder, pid in ((orphan, dead.stdout.strip()), (live, os.getpid()), (other, dead.stdout.strip())):
        folder.mkdir()
        (folder / OWNER).write_text(f"{os.uname().nodename} {pid}\n")
    (tmp_path / ".res.old-12345678").mkdir()                 # a replaced folder whose deletion was killed
    assert sorted(p.name for p in clean_orphans(out)) == [".res.old-12345678", ".res.tmp-dead0000"]
    assert live.exists() and other.exists()                   # a running run, and another --out's staging
    with StagedDir(out) as stage:
        (stage / "a.txt").write_text("1")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "a.txt"]


# --------------------------------------------------------------------------- cost estimate
def test_cost_estimate_matches_gmsh_meshes_and_refuses_over_the_limit(monkeypatch):
    """Cells of a gmsh primary particle (2D axisymmetric half disc, 3D ball) within 25 % of the estimate."""
    import dolfinx_solver  # noqa: F401
    from mpi4py import MPI

    from sim.mesh import primary_particle_mesh

    R = 120e-9
    for dim, h in ((2, 10e-9), (3, 30e-9)):
        pm = primary_particle_mesh(R, dim=dim, size=h, comm=MPI.COMM_SELF)
        measure = math.pi * R * R / 2 if dim == 2 else 4 / 3 * math.pi * R**3
        assert pm.num_cells == pytest.approx(estimate_cost(dim, measure, h).cells, rel=0.25)
    assert estimate_cost(1, 1.0, 0.01).cells == pytest.approx(100)
    huge = estimate_cost(3, 4 / 3 * math.pi * (8e-6) ** 3, 1e-12)
    with pytest.raises(InputError, match="SIM_MAX_UNKNOWNS") as err:
        check_cost(huge, file="case.toml", key="mesh.size_outer")
    assert err.value.key == "mesh.size_outer"
    small = estimate_cost(2, 1.0, 1e-3)
    monkeypatch.setenv("SIM_MAX_UNKNOWNS", "10")
    with pytest.raises(InputError, match="limit is 10 unknowns"):
        check_cost(small)
    monkeypatch.setenv("SIM_MAX_UNKNOWNS", "1e9")
    assert check_cost(small) is small                         # the user raised the limit


# --------------------------------------------------------------------------- findings
def test_parameter_digest_follows_the_file_content(tmp_path):
    from sim.params import load_params

    path = tmp_path / "p.toml"
    path.write_text('[meta]\ninherits = "csernica2021"\n[oxygen]\ndiffusivity = { value = "1e-17 cm^2/s", source = "x" }\n')
    first = parameter_digest(load_params(path))
    assert parameter_digest(load_params(path)) == first
    path.write_text(path.read_text().replace("1e-17", "2e-17"))
    assert parameter_digest(load_params(path)) != first


def test_display_units_as_users_write_them(capsys):
    from sim.cli import main
    from sim.params import load_params

    d = load_params("liu2024").as_dict("display")
    assert (d["geometry"]["particle_radius"]["value"], d["geometry"]["particle_radius"]["unit"]) == (8.0, "μm")
    assert d["geometry"]["particle_radius"]["value_si"] == pytest.approx(8e-6)
    assert (d["mechanics"]["youngs_modulus"]["value"], d["mechanics"]["youngs_modulus"]["unit"]) == (150.0, "GPa")
    assert d["kinetics"]["ocv"]["unit"] == "V" and d["transport"]["c_max"]["unit"] == "mol/m³"
    assert d["oxygen"]["diffusivity"]["unit"] == "cm²/s"
    assert load_params("liu2024").as_dict()["kinetics"]["ocv"]["unit"] != "V"    # SI form unchanged for others
    assert main(["params", "liu2024"]) == 0
    out = capsys.readouterr().out
    assert "150 GPa" in out and "8 μm" in out and "kg" not in out and "** " not in out


def test_scenario_set_errors_name_the_case_file(tmp_path):
    from sim.scenarios.case import load_case

    text = (ROOT / "validation" / "scenarios" / "thermal_li2019.toml").read_text()
    path = tmp_path / "s.toml"
    path.write_text(text.replace("[set]", '[set]\n"transport.c_max" = { value = "-1 mol/m^3", source = "x" }', 1))
    with pytest.raises(InputError) as err:
        load_case(path).load_params()
    assert err.value.file == f"{path} [set]" and err.value.key == "transport.c_max"


def test_quick_table_keys_are_checked_too(tmp_path):
    from sim.scenarios.case import load_case

    text = (ROOT / "validation" / "scenarios" / "gitt_li2019.toml").read_text()
    path = tmp_path / "s.toml"
    path.write_text(text.replace("[quick]", "[quick]\nmax_pulse = 3", 1))
    with pytest.raises(InputError, match="allowed in \\[quick\\]") as err:
        load_case(path)
    assert err.value.key == "quick.max_pulse"


def test_a_finished_case_is_never_recomputed(tmp_path):
    """A lost Dask worker's finished task is re-run by the scheduler: the task returns the marker instead."""
    from sim.sweep.worker import MARKER as CASE_MARKER
    from sim.sweep.worker import run_case_task

    cases = tmp_path / "cases"
    (cases / "abc").mkdir(parents=True)
    record = {"case_id": "abc", "status": "ok", "wall_time_s": 1.5, "summary": {"q": 1}}
    (cases / "abc" / CASE_MARKER).write_text(json.dumps(record))
    spec = {"case_id": "abc", "model": "oxygen", "base_case": str(tmp_path / "missing.toml"), "overrides": {},
            "inputs": {}}
    assert run_case_task(spec, str(cases)) == record          # the base case does not even exist: nothing ran
    assert sorted(p.name for p in cases.iterdir()) == ["abc"]


def test_sweep_case_ids_follow_parameter_file_content(tmp_path):
    from sim.sweep.spec import load_sweep

    (tmp_path / "p.toml").write_text('[meta]\ninherits = "csernica2021"\n')
    (tmp_path / "case.toml").write_text('model = "oxygen"\nparams = "p.toml"\n[protocol]\ncycles = 1\n'
                                        'hours_delithiated_per_cycle = 1.2\n')
    (tmp_path / "sweep.toml").write_text('[sweep]\ncase = "case.toml"\n[axes]\n"protocol.cycles" = [1, 2]\n')
    first = load_sweep(tmp_path / "sweep.toml")
    assert first.validated and [c.case_id for c in load_sweep(tmp_path / "sweep.toml").cases] == \
        [c.case_id for c in first.cases]
    (tmp_path / "p.toml").write_text('[meta]\ninherits = "csernica2021"\n[oxygen]\n'
                                     'diffusivity = { value = "3e-17 cm^2/s", source = "x" }\n')
    edited = load_sweep(tmp_path / "sweep.toml")
    assert edited.digest == first.digest                      # same sweep: resumable into the same --out ...
    assert not {c.case_id for c in edited.cases} & {c.case_id for c in first.cases}   # ... but every case re-runs


def test_fit_verdict_weights_likelihood_ratio_and_warnings():
    from sim.oxygen.fit import ModelFit
    from sim.oxygen.fit_cli import model_verdict

    def fit(model, chi2, n=40):
        return ModelFit(model, 1e-21, (1e-21, 1e-21), (True, True), 0.5, 0.0, 0.0, chi2, n, 3)

    close = model_verdict({"diffusion": fit("diffusion", 29.3), "core_shell": fit("core_shell", 29.2)})
    assert close["preferred_model"] == "indistinguishable" and close["warnings"] == []
    w = close["akaike_weights"]
    assert w["core_shell"] == pytest.approx(1 / (1 + math.exp(-0.05))) and sum(w.values()) == pytest.approx(1)
    assert close["likelihood_ratio_diffusion_over_core_shell"] == pytest.approx(math.exp(-0.05))
    clear = model_verdict({"diffusion": fit("diffusion", 37.0), "core_shell": fit("core_shell", 140.0)})
    assert clear["preferred_model"] == "diffusion"
    assert clear["log10_likelihood_ratio_diffusion_over_core_shell"] == pytest.approx(103 / (2 * math.log(10)))
    assert len(clear["warnings"]) == 1 and "core_shell: reduced chi2 = 3.78" in clear["warnings"][0]
    poor = model_verdict({"diffusion": fit("diffusion", 27 * 37), "core_shell": fit("core_shell", 30 * 37)})
    assert len(poor["warnings"]) == 2 and "does not describe the data" in poor["warnings"][0]
    tight = model_verdict({"diffusion": fit("diffusion", 5.0), "core_shell": fit("core_shell", 40.0)})
    assert "far below the stated sigma" in tight["warnings"][0]


def test_fitted_offset_identifiability_is_stated():
    from sim.oxygen.fit import fit_profile
    from sim.oxygen.profiles import read_profile
    from sim.params import load_params

    prof = read_profile(ROOT / "validation" / "csernica2021" / "example_profile.csv")
    fits = fit_profile(prof, load_params("csernica2021"), fit_offset=True)
    d = fits["diffusion"].as_json("mn3_fraction", 1.0)
    lo, hi = d["lamella_offset_ci95_nm"]
    assert lo <= d["lamella_offset_nm"] <= hi and 0 <= lo and hi <= 0.9 * 120 + 1e-9
    assert d["D_O_over_offset_ci95_cm2_s"][0] <= d["D_O_cm2_s"] <= d["D_O_over_offset_ci95_cm2_s"][1]
    assert d["lamella_offset_note"].startswith("identifiable" if d["lamella_offset_identifiable"] else "not identifiable")


def test_particle_cost_matches_the_gmsh_secondary_particle():
    """The voided, pored Liu 2024 half section (refined band around void and pores): cells within 10 %."""
    import dolfinx_solver  # noqa: F401
    from mpi4py import MPI

    from sim.case import particle_cost
    from sim.mesh import mesh_from_params
    from sim.params import load_params

    for inner in ("0.03 um", "0.06 um"):
        p = load_params("liu2024", {"mesh.size_inner": inner})
        pm = mesh_from_params(p, "axisym", comm=MPI.COMM_SELF)
        assert pm.num_cells == pytest.approx(particle_cost(p.geometry, p.mesh, "axisym").cells, rel=0.1)
    p = load_params("liu2024", {"mesh.size_inner": "1e-6 um"})       # the 3D element size
    with pytest.raises(InputError, match="SIM_MAX_UNKNOWNS"):
        check_cost(particle_cost(p.geometry, p.mesh, "3d", degree=2, components=3), key="mesh.size_inner")


def test_kill_9_leaves_a_staging_folder_that_the_next_run_removes(tmp_path):
    """`sim oxygen` killed with SIGKILL while staging; the next run of the same --out cleans up after it."""
    import signal
    import time

    case = ROOT / "validation" / "csernica2021" / "case.toml"
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "sim", "oxygen", str(case), "--out", str(out), "--set", "protocol.cycles=100000"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.tmp-*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert list(tmp_path.glob(".out.tmp-*")), "the kill must land while the run is staged"
    done = subprocess.run(cmd[:-2] + ["--set", "protocol.cycles=2"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]            # the orphan is gone
