# %% [markdown]
# # GITT analysis of a simulated titration
#
# Galvanostatic intermittent titration (GITT): short current pulses, each followed by a long rest.
# The Weppner–Huggins formula turns each pulse into a diffusivity,
# D = 4/(π τ) · (V/S)² · (ΔE_s/ΔE_t)², valid while τ ≪ L²/D. Here the Li 2019 protocol is simulated on
# particles whose D(x) we know, and the same analysis an experimentalist would do is applied to the
# simulated voltage trace (scenario M4 on the physics page). Quick settings: three pulses.

# %%
from pathlib import Path

import numpy as np

from sim import resources
from sim.params import load_params
from sim.results import read_table
from sim.scenarios import run_scenario
from sim.scenarios.gitt import find_pulses, weppner_huggins

out = Path("tutorial-output") / "gitt"
summary = run_scenario(resources.scenario("gitt_li2019"), out, quick=True)
print({name: p["pulses"] for name, p in summary["particles"].items()}, "complete pulses per particle")

# %% [markdown]
# ## The voltage trace of the 200 nm solid particle
#
# Each result CSV has its units in the header; `read_table` keeps them in `df.attrs["units"]`.

# %%
trace = read_table(out / "trace_solid_200nm.csv")
print(list(trace.columns)[:6], trace.attrs["units"].get("potential_V"))

# %% [markdown]
# ## Weppner–Huggins by hand
#
# `find_pulses` cuts the trace into pulses and reads E0 (relaxed before), E1 (after the ohmic jump),
# E2 (end of the pulse) and E3 (relaxed after the rest). For a solid sphere V/S = R/3.

# %%
pulses = [p for p in find_pulses(trace["t_s"], trace["potential_V"], trace["current_A"], trace["x_mean"])
          if p.complete]
radius = summary["particles"]["solid_200nm"]["radius_m"]
params = load_params("li2019")
for p in pulses:
    d_wh = float(weppner_huggins(p.tau, radius / 3, p.d_es, p.d_et))
    d_in = float(params.transport.diffusivity(p.x_mid))   # the D(x) that went into the simulation
    print(f"x = {p.x_mid:.3f}: D_WH = {d_wh * 1e4:.3g} cm^2/s, input {d_in * 1e4:.3g} cm^2/s, ratio {d_wh / d_in:.2f}")

# %% [markdown]
# At the start of charge D ≈ 1e-14 cm²/s and τ = 30 min is short against R²/D for 200 nm, so the
# formula recovers the input to within a few tens of per cent; the error grows pulse by pulse as the
# surface region departs from the dilute, linear response the formula assumes. The scenario's
# `pulses_*.csv` and `gitt_D.png` hold the same analysis for every particle.

# %%
ratios = [weppner_huggins(p.tau, radius / 3, p.d_es, p.d_et) / params.transport.diffusivity(p.x_mid)
          for p in pulses]
assert pulses and all(0.5 < r < 2 for r in ratios), ratios
