# %% [markdown]
# # Stress maps of a voided particle at 10C and 0.1C
#
# The Liu 2024 particle (8 µm radius, 0.5 µm central void, two 0.2 µm pores on the axis, 2D
# axisymmetric) is discharged to 20 % DOD at 10C and at 0.1C (M2 and M3 on the physics page). The
# mesh is coarser than the shipped cases so the tutorial runs in seconds; the bridge-point hoop stress
# changes by about 1 % between this and the converged mesh.

# %%
from pathlib import Path

import matplotlib.pyplot as plt

from sim import resources
from sim.lithium.run import run_case
from sim.results import open_result

out = Path("tutorial-output") / "stress_maps"
coarse = {"mesh.size_outer": "1.6 um", "mesh.size_inner": "0.08 um"}
runs = {}
for label, case in (("10C", "liu2024_10C"), ("0.1C", "liu2024_0p1C")):
    run_case(resources.case(case), out / label, overrides=coarse, progress=False, overwrite=True)
    runs[label] = open_result(out / label)

# %% [markdown]
# ## Hoop stress at the bridge point
#
# The probes of each case are in `summary.json`; the maps saved at 20 % DOD carry their values too.

# %%
hoop = {label: r.maps[-1]["probes"]["bridge"]["hoop_Pa"] for label, r in runs.items()}
for label, value in hoop.items():
    print(f"{label:5s} bridge hoop at 20 % DOD: {value / 1e6:8.3f} MPa")
ratio = hoop["10C"] / hoop["0.1C"]
print(f"ratio 10C / 0.1C = {ratio:.1f}  (Liu 2024: about two orders of magnitude)")
assert 50 < ratio < 200

# %% [markdown]
# ## Maps side by side

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, (label, r) in zip(axes, runs.items()):
    r.plot_map(0.2, "hoop_Pa", ax=ax)
    ax.set_title(f"{label}: hoop stress at 20 % DOD")
fig.tight_layout()
fig.savefig(out / "hoop_10C_vs_0p1C.png", dpi=120)

# %% [markdown]
# ## Time series
#
# `timeseries` is a pandas DataFrame; the unit of each column is in `attrs["units"]`.

# %%
ts = runs["10C"].timeseries
print(ts[["t_s", "dod", "potential_V", "hoop_bridge_Pa"]].tail(3))
ax = runs["10C"].plot_timeseries("hoop_bridge_Pa", x="dod")
ax.figure.savefig(out / "bridge_hoop_vs_dod.png", dpi=120)
