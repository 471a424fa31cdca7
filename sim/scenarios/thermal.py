"""Thermal relaxation scenario (Li 2019): charge at 25 °C, then rest hot; how Li moves between bulk and surface.

Li 2019 (Fig. 5, conclusions): at the charged state the particle holds more Li in the bulk than at the
surface because D_Li is low at high SOC; mild heating (~100 °C, 5 h) lets Li diffuse back to the
surface. Here a radial particle is charged galvanostatically at ``charge_temperature`` to
``upper_voltage`` with the li2019 D(x), then rests (zero current) at each of ``rest_temperatures``
from the same charged state. D follows Arrhenius, exp(−Ea/R (1/T − 1/T_ref)) (docs/physics.md M2), so the
hot rest only differs through Ea, which Li 2019 does not give (the case file states its assumption).
Outputs: surface / centre / mean Li fraction vs time, profiles before and after each rest.
"""
from __future__ import annotations

import numpy as np

from sim.lithium.transport import arrhenius


def _probes(radius: float):
    surface, centre = np.array([[radius, 0.0, 0.0]]), np.array([[0.0, 0.0, 0.0]])
    return {"x_surface": lambda p: p.evaluate("x", surface)[0], "x_centre": lambda p: p.evaluate("x", centre)[0]}


def _profile(problem, radius: float, n: int = 201):
    r = np.linspace(0.0, radius, n)
    return r, problem.evaluate("x", np.column_stack([r, 0 * r, 0 * r]))


def charge_and_rest(params, pmesh, *, c_rate: float, upper_voltage: float, charge_temperature: float,
                    rest_temperature: float, rest: float):
    """Charge at ``charge_temperature`` (K) to ``upper_voltage`` (V), then rest ``rest`` s at ``rest_temperature``.

    Returns (trace arrays, {"charged": (r, x), "rested": (r, x)}, time at the end of charge in s).
    The temperature switch acts on the transport's Arrhenius factor and F/RT at the start of the rest.
    """
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Rest, Stop
    from sim.scenarios.trace import Trace

    radius = params.geometry.particle_radius
    problem = LithiumProblem(params, pmesh, mechanics=False, temperature=charge_temperature, dt_initial=1e-2)
    problem.initialise()
    trace = Trace(_probes(radius))
    trace.begin(0)
    trace.record(problem)
    problem.run_step(Galvanostatic(c_rate, "charge", Stop(voltage=upper_voltage, soc=1.0)), on_step=trace)
    charged = _profile(problem, radius)
    t_charged = problem.t
    problem.set_temperature(rest_temperature)
    trace.begin(1)
    problem.run_step(Rest(Stop(time=rest)), on_step=trace)
    return trace.arrays(), {"charged": charged, "rested": _profile(problem, radius)}, t_charged


def run(case, out, comm) -> dict:
    """``sim scenario`` for kind = "thermal"."""
    from sim.errors import InputError
    from sim.mesh import radial_mesh
    from sim.scenarios.case import write_csv
    from sim.units import to_si

    params = case.load_params()
    params.require("transport", "kinetics")
    radius = case.quantity("radius", "m")
    params = params.override({"geometry.particle_radius": f"{radius} m", "geometry.void_radius": "0 m",
                              "geometry.pores": {"value": []}})
    t_charge = case.quantity("charge_temperature", "K")
    raw = case.settings.get("rest_temperatures", [])
    if not isinstance(raw, list) or not raw:
        raise InputError('rest_temperatures must be a list such as ["100 degC", "25 degC"]', file=case.file,
                         key="thermal.rest_temperatures")
    rest_temperatures = [to_si(v, "K", file=case.file, key=f"thermal.rest_temperatures[{i}]")
                         for i, v in enumerate(raw)]
    pmesh = radial_mesh(radius, 0.0, n_cells=case.integer("n_cells", 100),
                        grading=case.quantity("grading", "", 1.0), comm=comm)
    kw = dict(c_rate=case.quantity("c_rate", ""), upper_voltage=case.quantity("upper_voltage", "V"),
              charge_temperature=t_charge, rest=case.quantity("rest", "s"))
    tr = params.transport
    summary = {"radius_m": radius, "charge_temperature_K": t_charge, "activation_energy_J_mol": tr.activation_energy,
               "rests": {}}
    runs = {}
    for t_rest in rest_temperatures:
        label = f"{t_rest - 273.15:.0f}C"
        data, profiles, t0 = charge_and_rest(params, pmesh, rest_temperature=t_rest, **kw)
        runs[label] = (data, profiles, t0)
        rest = data["step"] == 1
        summary["rests"][label] = {
            "rest_temperature_K": t_rest, "D_factor_vs_charge": arrhenius(tr, t_rest) / arrhenius(tr, t_charge),
            "charge_time_s": t0, "x_mean_charged": float(data["x_mean"][~rest][-1]),
            "x_surface_start": float(data["x_surface"][~rest][-1]), "x_surface_end": float(data["x_surface"][-1]),
            "x_centre_start": float(data["x_centre"][~rest][-1]), "x_centre_end": float(data["x_centre"][-1]),
            "potential_start_V": float(data["potential_V"][rest][0]), "potential_end_V": float(data["potential_V"][-1]),
            "li_moved_to_surface": float(data["x_surface"][-1] - data["x_surface"][~rest][-1])}
        if comm.rank == 0:
            write_csv(out / f"trace_rest_{label}.csv", data)
            r = profiles["charged"][0]
            write_csv(out / f"profiles_rest_{label}.csv", {"r_nm": r * 1e9, "x_charged": profiles["charged"][1],
                                                           "x_after_rest": profiles["rested"][1]})
    if comm.rank == 0:
        _plot(runs, radius, out, case.title)
    return summary


def _plot(runs, radius, out, title) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for (label, (data, profiles, t0)), colour in zip(runs.items(), ("C3", "C0", "C2")):
        rest = data["step"] == 1
        th = (data["t_s"][rest] - t0) / 3600
        celsius = label.replace("C", " °C")
        ax1.plot(th, data["x_surface"][rest], "-", color=colour, label=f"surface, rest at {celsius}")
        ax1.plot(th, data["x_centre"][rest], "--", color=colour, label=f"centre, rest at {celsius}")
        ax2.plot(profiles["rested"][0] * 1e9, profiles["rested"][1], color=colour, label=f"after rest at {celsius}")
    first = next(iter(runs.values()))[1]["charged"]
    ax2.plot(first[0] * 1e9, first[1], "k:", label="end of charge")
    ax1.set_xlabel("rest time (h)")
    ax1.set_ylabel("Li fraction x = c/c_max")
    ax2.set_xlabel("distance from particle centre (nm)")
    ax2.set_ylabel("Li fraction x = c/c_max")
    for ax in (ax1, ax2):
        ax.legend(fontsize=7)
    fig.suptitle(_title_as_run(title, runs), fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "thermal_relaxation.png", dpi=120)
    plt.close(fig)


def _title_as_run(title: str, runs) -> str:
    """The case's paper tag with the rest actually run (a --quick run rests 1 h, not the paper's 5 h)."""
    data, _, t0 = next(iter(runs.values()))
    rest = data["step"] == 1
    hours = (data["t_s"][rest][-1] - t0) / 3600
    paper = title.split(":")[0] if ":" in title else title
    return f"{paper}: rest {hours:.3g} h at " + " vs ".join(label.replace("C", " °C") for label in runs)
