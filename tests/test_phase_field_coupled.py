"""Phase-field fracture coupled to Li + Butler–Volmer + stress (docs/physics.md M3, M5).

On charge the surface delithiates first and contracts: the surface hoop stress is the largest tension
(the strength criterion's hot spot), so a low-toughness particle must crack there first."""
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import numpy as np
import pytest

from sim.errors import InputError
from sim.fracture.options import PhaseFieldOptions
from sim.lithium.mechanics import Mechanics
from sim.lithium.problem import LithiumProblem
from sim.lithium.protocol import Galvanostatic, Stop
from sim.mesh import axisymmetric_mesh, radial_mesh
from sim.params import load_params

# K_Ic = 0.0406 MPa m^½ ↔ G_c = K² (1 − ν²)/E = 0.01 J/m² with E = 150 GPa, ν = 0.3 (deliberately brittle)
BRITTLE = {"transport.x_initial": "0.9", "mechanics.fracture_toughness": "0.0406 MPa*m^0.5",
           "mechanics.phase_field_length": "0.5 um"}


def cracking_problem(p, pmesh, fracture, dt_max):
    """LithiumProblem with its mechanics replaced by the phase-field one (what problem.py will wire)."""
    prob = LithiumProblem(p, pmesh, dt_max=dt_max)
    prob.initialise()
    mech = Mechanics(p, pmesh, prob.c, degree=2, fracture=fracture)
    prob.mechanics, prob.u = mech, mech.u
    assert mech.solve() is None
    mech.commit()
    prob._save_accepted()
    history = []     # per step: d_max, |x| of max d, |x| of max σ1 (m)
    xd = np.linalg.norm(mech.damage.function_space.tabulate_dof_coordinates(), axis=1)
    xs = np.linalg.norm(mech.S.tabulate_dof_coordinates(), axis=1)

    def on_step(pr):
        m = pr.mechanics
        m.commit()
        s1 = m.stress_fields()["max_principal"].x.array
        history.append((m.damage_max(), xd[m.damage.x.array.argmax()], xs[s1.argmax()]))
    return prob, mech, on_step, history


def onset(history):
    """(d_max, where d is largest, where σ1 is largest) at the first step with d_max > 0.01 (issue 9 onset)."""
    return next(h for h in history if h[0] > 0.01)


@pytest.mark.parametrize("strain_model, variant", [("small", "AT2"), ("finite", "AT2"), ("small", "AT1")])
def test_sphere_charged_fast_cracks_at_the_surface(strain_model, variant):
    p = load_params("lmr_default", {**BRITTLE, "mechanics.strain_model": strain_model,
                                    **({"mechanics.fracture_toughness": "0.0144 MPa*m^0.5"} if variant == "AT1" else {})})
    R = p.geometry.particle_radius
    pm = radial_mesh(R, size=0.2e-6, grading=8)          # h = ℓ/2.5 at the surface
    prob, mech, on_step, history = cracking_problem(p, pm, PhaseFieldOptions(variant=variant, split="spectral"), 2.0)
    assert prob.run_step(Galvanostatic(10.0, "charge", Stop(time=40.0)), on_step=on_step) == "time"
    print(strain_model, variant, "d_max", mech.damage_max(), "crack area", mech.crack_area())
    assert mech.damage_max() > 0.01
    _, at_d, at_s1 = onset(history)
    assert at_d == pytest.approx(R, rel=1e-12) and at_s1 == pytest.approx(R, rel=1e-12)   # surface, σ1's hot spot
    assert np.all(np.diff([h[0] for h in history]) >= -1e-12)            # irreversible
    assert mech.dissipated_energy() == pytest.approx(p.mechanics.fracture_energy * mech.crack_area(), rel=1e-10)
    if variant == "AT1":    # elastic stage first: no damage until ψ⁺ = 3 G_c/(16 ℓ)
        assert history[0][0] == 0.0


def test_restore_returns_to_committed_state_and_missing_length_is_an_input_error():
    p = load_params("lmr_default", BRITTLE)
    pm = radial_mesh(p.geometry.particle_radius, size=0.2e-6, grading=8)
    prob, mech, on_step, _ = cracking_problem(p, pm, PhaseFieldOptions(), 2.0)
    prob.run_step(Galvanostatic(10.0, "charge", Stop(time=10.0)), on_step=on_step)
    d0, u0 = mech.damage.x.array.copy(), mech.u.x.array.copy()
    r = prob.c.function_space.tabulate_dof_coordinates()[:, 0]
    prob.c.x.array[r > 0.9 * p.geometry.particle_radius] *= 0.7      # a rejected candidate: steeper surface
    assert mech.solve() is None
    assert np.abs(mech.damage.x.array - d0).max() > 1e-3
    mech.restore()
    assert np.array_equal(mech.damage.x.array, d0) and np.array_equal(mech.u.x.array, u0)
    bad = load_params("lmr_default", {"transport.x_initial": "0.9"})
    with pytest.raises(InputError, match="phase_field_length"):
        Mechanics(_without_length(bad), pm, prob.c, fracture=PhaseFieldOptions())


def _without_length(p):
    import dataclasses
    return dataclasses.replace(p, mechanics=dataclasses.replace(p.mechanics, phase_field_length=None))


def test_axisymmetric_particle_cracks_where_the_strength_criterion_says():
    """Voided 2 µm particle, 10C charge: damage > 0.01 first at the outer surface, where σ1 is largest."""
    p = load_params("lmr_default", {**BRITTLE, "mechanics.fracture_toughness": "0.00406 MPa*m^0.5",
                                    "mechanics.phase_field_length": "0.2 um", "geometry.particle_radius": "2 um",
                                    "geometry.pores": [], "geometry.void_radius": "0.3 um",
                                    "mesh.size_outer": "0.1 um", "mesh.size_inner": "0.1 um"})
    R = p.geometry.particle_radius
    pm = axisymmetric_mesh(p.geometry, p.mesh)
    prob, mech, on_step, history = cracking_problem(p, pm, PhaseFieldOptions(variant="AT2", split="spectral"), 0.5)
    prob.run_step(Galvanostatic(10.0, "charge", Stop(time=6.0)), on_step=on_step)
    print("axisym d_max", mech.damage_max(), "crack area", mech.crack_area())
    assert mech.damage_max() > 0.01
    _, at_d, at_s1 = onset(history)
    assert at_d == pytest.approx(R, rel=1e-3) and at_s1 == pytest.approx(R, rel=1e-3)
    assert mech.crack_area() > 0


@pytest.mark.slow
def test_3d_particle_cracks_at_the_outer_surface():
    """3D voided particle (CG + GAMG displacement with the rigid-body near-nullspace, spectral split by the
    closed-form 3×3 eigenvalues), 10C charge: d_max > 0.01, first at the outer surface."""
    from sim.mesh import particle_mesh_3d

    p = load_params("lmr_default", {**BRITTLE, "mechanics.fracture_toughness": "0.00406 MPa*m^0.5",
                                    "mechanics.phase_field_length": "1.0 um", "geometry.particle_radius": "2 um",
                                    "geometry.pores": [], "geometry.void_radius": "0.3 um",
                                    "mesh.size_outer": "0.6 um", "mesh.size_inner": "0.4 um"})
    R = p.geometry.particle_radius
    pm = particle_mesh_3d(p.geometry, p.mesh)
    prob, mech, on_step, history = cracking_problem(p, pm, PhaseFieldOptions(variant="AT2", split="spectral"), 1.0)
    prob.run_step(Galvanostatic(10.0, "charge", Stop(time=3.0)), on_step=on_step)
    print("3d d_max", mech.damage_max(), "crack area", mech.crack_area())
    assert mech.damage_max() > 0.01
    _, at_d, at_s1 = onset(history)
    assert at_d == pytest.approx(R, rel=0.02) and at_s1 == pytest.approx(R, rel=0.02)   # faceted surface


def test_the_damage_is_mapped_where_a_phase_field_runs(tmp_path):
    """A phase-field run's map carries d (the section data and a panel), its maximum that of the run."""
    import tomllib

    from conftest import radial_case
    from sim.lithium.run import run_case

    text = radial_case('[output]\nmaps_at_dod = ["5 %"]\n[fracture]\nmodel = "phase-field"\nvariant = "AT2"\n'
                       '[[protocol]]\nstep = "discharge at 5C to 5 % DOD"\n')
    summary = run_case(tomllib.loads(text), tmp_path / "pf", progress=False)
    section = np.load(tmp_path / "pf" / "maps" / "dod_5.npz")
    assert "damage" in section and (tmp_path / "pf" / "maps" / "dod_5.png").exists()
    assert section["profile_damage"].max() == pytest.approx(summary["fracture"]["damage_max"], rel=1e-6)
    assert summary["fracture"]["crack_area_end_m2"] > 0


def test_the_damage_onset_is_placed_and_named_like_the_strength_onset(tmp_path):
    """d_max > 0.01 first: fracture.damage_onset has the time, DOD, position and nearest named boundary; the
    position is where d is largest at the end of that step (a brittle sphere, G_c = 0.01 J/m², at 20C)."""
    import tomllib

    from conftest import radial_case
    from sim.lithium.run import run_case

    text = radial_case('[fracture]\nmodel = "phase-field"\nvariant = "AT2"\n'
                       '[[protocol]]\nstep = "discharge at 20C to 10 % DOD"\n')
    text = text.replace("[mesh]", '"mechanics.fracture_energy" = "0.01 J/m^2"\n[mesh]')
    s = run_case(tomllib.loads(text), tmp_path / "pf", progress=False, outputs="minimal")["fracture"]
    onset, radius = s["damage_onset"], 8e-6
    assert onset["criterion"] == "phase field d_max > 0.01" and 0 < onset["dod"] < 0.1 and onset["t_s"] > 0
    assert np.linalg.norm(onset["position_m"]) == pytest.approx(radius, rel=1e-9)   # the swelling surface layer
    assert onset["location"] == "outer" and onset["distance_to_location_m"] == pytest.approx(0.0, abs=1e-12)
    assert s["cracks"] and s["damage_max"] > 0.01
