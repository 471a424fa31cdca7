"""Li inverse problems: log-D knots (and i0) fitted to synthetic GITT and relaxation curves from a hidden D(x)."""
import dolfinx_solver  # noqa: F401
import numpy as np
import pytest
from mpi4py import MPI

from sim.errors import InputError
from sim.mesh import radial_mesh
from sim.params import load_params
from sim.scenarios.gitt import GittProtocol
from sim.scenarios.gitt_fit import fit_gitt, rest_mask, simulate, with_diffusivity

COMM = MPI.COMM_SELF
BASE = {"geometry.particle_radius": "1 um", "geometry.void_radius": "0 um", "geometry.pores": {"value": []},
        "transport.x_initial": 0.95}
KNOTS, HIDDEN, I0, SIGMA = [0.6, 0.95], [2e-15, 1e-14], 1.0, 5e-4


def _measurement(pulses, seed=1):
    """Synthetic curve: a finer mesh and time step than the fit uses (no inverse crime), 0.5 mV noise."""
    p = load_params("lmr_default", BASE)
    protocol = GittProtocol(c_rate=1.0, pulse=300.0, rest=600.0, upper_voltage=4.8, max_pulses=pulses)
    t = np.arange(5.0, protocol.initial_rest + pulses * 900.0, 10.0)
    clean = simulate(with_diffusivity(p, KNOTS, HIDDEN, I0), protocol, t,
                     radial_mesh(1e-6, n_cells=32, comm=COMM), steps_per_pulse=50)
    return p, protocol, t, clean + np.random.default_rng(seed).normal(0.0, SIGMA, t.size)


def _inside(value, interval):
    return interval[0] <= value <= interval[1]


def test_gitt_fit_recovers_hidden_d_within_its_interval():
    p, protocol, t, v = _measurement(3)
    p = p.override({"kinetics.exchange_current_density": f"{I0} A/m^2"})
    fit = fit_gitt(t, v, p, protocol, KNOTS, sigma=SIGMA, fit_i0=False, initial=([3e-15, 6e-15],),
                   mesh_cells=12, steps_per_pulse=10)
    print(fit.as_dict())
    for d, ci in zip(HIDDEN, fit.diffusivity_ci95):
        assert _inside(d, ci)
        assert ci[1] / ci[0] < 2.0                                  # informative: within a factor ~1.4 each way
    assert 0.5 < fit.reduced_chi2 < 2.0


@pytest.mark.slow
@pytest.mark.parametrize("window", ["all", "relaxation"])
def test_d_and_i0_from_gitt_and_d_from_relaxation(window):
    p, protocol, t, v = _measurement(4, seed=2)
    fit = fit_gitt(t, v, p, protocol, KNOTS, sigma=SIGMA, window=window, initial=([4e-15, 4e-15], 2.0),
                   mesh_cells=12, steps_per_pulse=10)
    print(fit.as_dict())
    for d, ci in zip(HIDDEN, fit.diffusivity_ci95):
        assert _inside(d, ci)
    if window == "all":
        assert _inside(I0, fit.exchange_current_ci95)
    else:
        assert fit.exchange_current_ci95 is None and fit.extra["samples"] == rest_mask(t, protocol).sum()


def test_rest_mask_and_bad_input():
    protocol = GittProtocol(c_rate=1.0, pulse=300.0, rest=600.0, upper_voltage=4.8, max_pulses=2)
    t = np.array([30.0, 100.0, 400.0, 1000.0, 1300.0, 1700.0, 2000.0])
    assert rest_mask(t, protocol).tolist() == [False, False, True, False, True, True, False]
    p = load_params("lmr_default", BASE)
    with pytest.raises(InputError, match="knots"):
        fit_gitt(t, t, p, protocol, [0.9, 0.5])
    with pytest.raises(InputError, match="window"):
        fit_gitt(t, t, p, protocol, [0.5, 0.9], window="pulses")
