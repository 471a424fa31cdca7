# %% [markdown]
# # A parameter sweep: O loss vs D_O and number of cycles
#
# `sim sweep` runs one base case over the combinations of a few axes, on local Dask workers or a
# cluster, and collects one row per case. Here: a Csernica 2021 primary particle (1D radial, about a
# second per case), D_O on three values and two cycle counts — six cases.

# %%
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt

from sim import resources
from sim.results import open_sweep

out = Path("tutorial-output") / "sweep"
out.mkdir(parents=True, exist_ok=True)
base = resources.sweep("oxygen_loss").with_name("oxygen_case.toml")   # the shipped base case
sweep_file = out / "tiny_sweep.toml"
sweep_file.write_text(f"""
[sweep]
title = "O loss vs D_O (tutorial)"
case = "{base.as_posix()}"

[axes]
"oxygen.diffusivity" = {{ log = ["3e-18 cm^2/s", "3e-17 cm^2/s"], num = 3 }}
"protocol.cycles" = [10, 100]
""")
# The command line runs the sweep (resumable: the same command again skips finished cases). In Python,
# sim.sweep.driver.run_sweep does the same, from a notebook or under `if __name__ == "__main__":`
# (Dask's worker processes re-import the main script).
done = subprocess.run([sys.executable, "-m", "sim", "sweep", str(sweep_file), "--out", str(out / "results"),
                       "--workers", "1", "--no-progress"], capture_output=True, text=True, check=True)
print(done.stdout.strip().splitlines()[-1])

# %% [markdown]
# ## The table
#
# One row per case; the axis columns carry their unit in the name (`oxygen.diffusivity_cm2_s`).

# %%
sweep = open_sweep(out / "results")
table = sweep.table
cols = ["oxygen.diffusivity_cm2_s", "protocol.cycles", "o_loss_at_pct_final"]
print(table[cols].sort_values(cols[:2]).to_string(index=False))
assert len(table) == 6 and (table["status"] == "ok").all()

# %% [markdown]
# ## A plot
#
# More diffusion, more O loss: for each cycle count the loss grows with D_O (about as √(D t) while
# the vacancies stay near the surface).

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for cycles, rows in table.groupby("protocol.cycles"):
    rows = rows.sort_values("oxygen.diffusivity_cm2_s")
    ax.plot(rows["oxygen.diffusivity_cm2_s"], rows["o_loss_at_pct_final"], "o-", label=f"{cycles} cycles")
    assert rows["o_loss_at_pct_final"].is_monotonic_increasing
ax.set_xscale("log")
ax.set_xlabel("D_O (cm²/s)")
ax.set_ylabel("O loss (at.%)")
ax.legend()
fig.savefig(out / "o_loss_vs_D.png", dpi=120)

# %% [markdown]
# A check on the physics: the O loss depends on D_O and time only through D_O·t (linear diffusion, fixed
# surface value), so ten times the diffusivity for a tenth of the cycles gives the same loss.

# %%
def loss(d, cycles):
    row = table[(abs(table["oxygen.diffusivity_cm2_s"] / d - 1) < 1e-6) & (table["protocol.cycles"] == cycles)]
    return float(row["o_loss_at_pct_final"].iloc[0])


print(f"{loss(3e-18, 100):.4f} at.% vs {loss(3e-17, 10):.4f} at.%")
assert abs(loss(3e-18, 100) / loss(3e-17, 10) - 1) < 1e-3

# %% [markdown]
# Each case is also a full result folder: `sweep.cases[case_id]` opens it like `open_result`.

# %%
first = next(iter(sweep.cases.values()))
print(sorted(first.summary)[:8])
