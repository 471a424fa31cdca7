"""PyBaMM peer of benchmark (a): SPM positive particle with "swelling only" mechanics.

Runs in an interpreter that has ``pybamm`` (see README.md in this folder) and needs nothing from
``sim``: it reads a JSON case (SI units) written by ``sim bench`` and prints one JSON line with the
surface concentration, surface hoop stress and particle potential over time plus wall times.

The cell is set up so that the positive particle sees exactly the case's particle: radius, D, c_max,
initial and reference concentrations, E, ν, partial molar volume Ω, the OCV table, a constant i0 and
the same molar surface flux N (the applied current is I = N F a L A_cc with a = 3 ε / R). The
negative electrode is made large and the voltage cut-offs wide so that only the time limit ends the run.

    python pybamm_peer.py case.json      # case keys: see ``run`` below
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np


def _parameters(case: dict):
    import pybamm

    pv = pybamm.ParameterValues("Ai2020")
    ocv_x, ocv_y = np.asarray(case["ocv_x"]), np.asarray(case["ocv_y"])
    i0 = case["i0_A_m2"]
    R, c_max = case["radius_m"], case["c_max_mol_m3"]
    eps, thickness, area = 0.5, 50e-6, 1e-4
    specific_area = 3 * eps / R  # a = 3 ε / R for spherical particles (SPM)
    current = case["flux_mol_m2_s"] * 96485.33212 * specific_area * thickness * area
    pv.update({
        "Positive particle radius [m]": R,
        "Positive particle diffusivity [m2.s-1]": case["diffusivity_m2_s"],
        "Maximum concentration in positive electrode [mol.m-3]": c_max,
        "Initial concentration in positive electrode [mol.m-3]": case["x_initial"] * c_max,
        "Positive electrode OCP [V]": lambda sto: pybamm.Interpolant(ocv_x, ocv_y, sto, interpolator="linear"),
        "Positive electrode OCP entropic change [V.K-1]": 0.0,
        "Positive electrode exchange-current density [A.m-2]": lambda c_e, c_s, c_s_max, T: i0 + 0 * c_s,
        "Positive electrode Young's modulus [Pa]": case["youngs_modulus_Pa"],
        "Positive electrode Poisson's ratio": case["poisson_ratio"],
        "Positive electrode partial molar volume [m3.mol-1]": case["omega_m3_mol"],
        "Positive electrode reference concentration for free of deformation [mol.m-3]": case["c_ref_mol_m3"],
        "Positive electrode active material volume fraction": eps,
        "Positive electrode thickness [m]": thickness,
        "Electrode width [m]": 1.0,
        "Electrode height [m]": area,
        "Number of electrodes connected in parallel to make a cell": 1.0,
        # negative electrode: 10x the positive capacity so it never limits the run
        "Negative electrode thickness [m]": 10 * thickness,
        "Ambient temperature [K]": case["temperature_K"],
        "Initial temperature [K]": case["temperature_K"],
        "Current function [A]": current,
        "Lower voltage cut-off [V]": -10.0,
        "Upper voltage cut-off [V]": 20.0,
    }, check_already_exists=False)
    return pv


def run(case: dict) -> dict:
    """Solve the case; keys (SI): radius_m, diffusivity_m2_s, c_max_mol_m3, x_initial, c_ref_mol_m3,
    youngs_modulus_Pa, poisson_ratio, omega_m3_mol, i0_A_m2, ocv_x, ocv_y, flux_mol_m2_s, temperature_K,
    t_out_s (output times, increasing from 0), n_r (finite volumes in the particle), stress_induced_diffusion
    (bool, default false)."""
    t0 = time.perf_counter()
    import pybamm

    t_import = time.perf_counter() - t0
    t_out = np.asarray(case["t_out_s"], dtype=float)
    start = time.perf_counter()
    # PyBaMM switches stress-induced diffusion on with particle mechanics; it matches sim's two-way coupling
    sid = "true" if case.get("stress_induced_diffusion", False) else "false"
    model = pybamm.lithium_ion.SPM(options={"particle mechanics": "swelling only", "stress-induced diffusion": sid})
    var_pts = dict(model.default_var_pts)
    var_pts.update({"r_p": int(case["n_r"]), "r_n": int(case["n_r"])})
    sim = pybamm.Simulation(model, parameter_values=_parameters(case), var_pts=var_pts,
                            solver=pybamm.IDAKLUSolver(rtol=1e-8, atol=1e-10))
    sol = sim.solve([0.0, t_out[-1]], t_interp=t_out)
    first = time.perf_counter() - start
    start = time.perf_counter()
    sol = sim.solve([0.0, t_out[-1]], t_interp=t_out)  # model built and discretised: solve only
    resolve = time.perf_counter() - start
    c_max = case["c_max_mol_m3"]
    out = {
        "pybamm_version": pybamm.__version__,
        "t_s": sol["Time [s]"].entries.tolist(),
        "x_surface": (sol["X-averaged positive particle surface concentration [mol.m-3]"].entries / c_max).tolist(),
        "x_mean": (sol["R-averaged positive particle concentration [mol.m-3]"].entries.mean(axis=0) / c_max).tolist(),
        "hoop_surface_Pa": sol["X-averaged positive particle surface tangential stress [Pa]"].entries.tolist(),
        "potential_V": (sol["X-averaged positive electrode open-circuit potential [V]"].entries
                        + sol["X-averaged positive electrode reaction overpotential [V]"].entries).tolist(),
        "time_import_s": t_import,
        "time_setup_and_solve_s": first,
        "time_solve_s": resolve,
        "n_r": int(case["n_r"]),
    }
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        print(json.dumps(run(json.load(fh))))
