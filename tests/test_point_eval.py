"""Point values of FE fields against interpolation by hand, and table lookups of any length.

Fields are exact interpolants of polynomials the space reproduces (P1: linear, P2: quadratic), so the
value between nodes is known in closed form; a nearest-node fallback would miss it by O(h |∇f|).
"""
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx)
import numpy as np
import pytest
from mpi4py import MPI

from sim.lithium.problem import _point_values
from sim.params import Table


class _Owner:
    """Stands in for the LithiumProblem that caches point locations."""


def _mesh(dim, n, comm=MPI.COMM_WORLD, scale=8e-6):
    from dolfinx import mesh

    if dim == 1:
        return mesh.create_interval(comm, n, [0.0, scale])
    if dim == 2:
        return mesh.create_unit_square(comm, n, n) if scale == 1 else mesh.create_rectangle(
            comm, [[0.0, 0.0], [scale, scale]], [n, n])
    return mesh.create_box(comm, [[0.0, 0.0, 0.0], [scale, scale, scale]], [n, n, n])


def _poly(degree, scale):
    """Linear or quadratic test polynomial in coordinates scaled by the box size."""
    if degree == 1:
        return lambda X: 1.0 + 2.0 * X[0] / scale - 0.5 * X[1] / scale + 0.25 * X[2] / scale
    return lambda X: 1.0 + (X[0] / scale) ** 2 - 0.7 * (X[0] / scale) * (X[1] / scale) + 0.3 * (X[2] / scale) ** 2


def _sample(dim, scale, rng, n=40):
    pts = np.zeros((n, 3))
    pts[:, :dim] = rng.uniform(0.0, scale, size=(n, dim))
    return pts


def _check(dim, cells, degree, comm=MPI.COMM_WORLD, scale=8e-6):
    from dolfinx import fem

    msh = _mesh(dim, cells, comm, scale)
    f = fem.Function(fem.functionspace(msh, ("Lagrange", degree)))
    exact = _poly(degree, scale)
    f.interpolate(exact)
    pts = _sample(dim, scale, np.random.default_rng(dim * 100 + cells))
    owner = _Owner()
    values = _point_values(f, pts, owner)
    np.testing.assert_allclose(values, exact(pts.T), rtol=1e-10, atol=1e-12)
    again = _point_values(f, pts, owner)          # located once, reused
    assert len(owner._point_cache) == 1
    np.testing.assert_array_equal(values, again)
    return owner


@pytest.mark.parametrize("dim, resolutions", [(1, (40, 160, 320)), (2, (8, 32)), (3, (3, 6))])
@pytest.mark.parametrize("degree", [1, 2])
def test_point_values_between_nodes_match_interpolation_at_um_cell_sizes(dim, resolutions, degree):
    for cells in resolutions:
        _check(dim, cells, degree)


def test_points_just_outside_take_the_nearest_cell_value():
    from dolfinx import fem

    msh = _mesh(1, 20)
    f = fem.Function(fem.functionspace(msh, ("Lagrange", 1)))
    f.interpolate(lambda X: 1.0 + X[0] / 8e-6)
    values = _point_values(f, np.array([[8e-6 * (1 + 1e-7), 0, 0], [-1e-13, 0, 0]]), _Owner())
    np.testing.assert_allclose(values, [2.0, 1.0], rtol=1e-6)


def test_dg_value_on_a_cell_face_is_the_mean_of_both_sides():
    from dolfinx import fem

    msh = _mesh(1, 4)
    f = fem.Function(fem.functionspace(msh, ("Discontinuous Lagrange", 0)))
    f.interpolate(lambda X: np.floor(X[0] / 2e-6 + 1e-9))        # 0, 1, 2, 3 per cell
    values = _point_values(f, np.array([[2e-6, 0, 0], [3e-6, 0, 0]]), _Owner())
    np.testing.assert_allclose(values, [0.5, 1.0], rtol=1e-12)


@pytest.mark.slow
def test_point_values_on_two_ranks(tmp_path):
    """Same checks under ``mpiexec -n 2`` (P1 and P2, 1D/2D/3D)."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "run.py"
    script.write_text(
        "import dolfinx_solver\nimport sys\nsys.path.insert(0, %r)\n" % str(Path(__file__).parent)
        + "from test_point_eval import _check\n"
        + "for dim, res in ((1, (40, 320)), (2, (8, 32)), (3, (4, 6))):\n"
        + "    for degree in (1, 2):\n        for n in res:\n            _check(dim, n, degree)\n"
        + "print('ok')\n")
    mpiexec = Path(sys.executable).parent / "mpiexec"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([str(mpiexec), "-n", "2", sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, cwd=root, env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("ok") == 2


@pytest.mark.parametrize("interpolation", ["linear", "log"])
def test_500_point_table_matches_numpy_interp_with_exact_slope(interpolation):
    """A 500-point table through the UFL lookup (binary search, O(log N) deep) vs numpy, values and d/dx."""
    import ufl
    from dolfinx import fem

    from sim.lithium.transport import table_expr, table_slope

    xs = np.linspace(0.0, 1.0, 500) ** 1.3
    ys = 1e-15 * np.exp(3 * np.sin(7 * xs)) if interpolation == "log" else 4.2 - xs + 0.05 * np.sin(40 * xs)
    table = Table(x=xs, y=ys, interpolation=interpolation)
    msh = _mesh(1, 1200, MPI.COMM_SELF, scale=1.0)
    V = fem.functionspace(msh, ("Lagrange", 1))
    u = fem.Function(V)
    u.interpolate(lambda X: -0.1 + 1.2 * X[0])             # spans beyond both ends (held values)
    xv = ufl.variable(u)
    expr = table_expr(table, xv)
    x_at = u.x.array
    values = fem.Function(V)
    values.interpolate(fem.Expression(expr, V.element.interpolation_points))
    xq = np.clip(x_at, xs[0], xs[-1])
    want = np.exp(np.interp(xq, xs, np.log(ys))) if interpolation == "log" else np.interp(xq, xs, ys)
    np.testing.assert_allclose(values.x.array, want, rtol=1e-12)
    if interpolation == "linear":
        slope = fem.Function(V)
        slope.interpolate(fem.Expression(table_slope(table, u), V.element.interpolation_points))
        k = np.clip(np.searchsorted(xs, x_at, side="right") - 1, 0, len(xs) - 2)
        want_slope = np.where((x_at >= xs[0]) & (x_at < xs[-1]), (ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k]), 0.0)
        np.testing.assert_allclose(slope.x.array, want_slope, rtol=1e-12, atol=1e-14)
        newton = fem.Function(V)                           # what the Jacobian sees: d(lookup)/dx
        newton.interpolate(fem.Expression(ufl.diff(expr, xv), V.element.interpolation_points))
        inside = (x_at > xs[0]) & (x_at < xs[-1])
        np.testing.assert_allclose(newton.x.array[inside], want_slope[inside], rtol=1e-12)
        assert np.all(newton.x.array[~inside] == 0.0)
