"""W1 on the circle: physics (Diracs, rotation), and sot-loss's ``wasserstein_1d_circle`` as oracle."""
from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sotbench.losses.circular import circular_wasserstein_1d

pytestmark = pytest.mark.usefixtures("one_thread")
needs_sot = pytest.mark.skipif(importlib.util.find_spec("sot") is None,
                               reason="sot-loss not installed (bash scripts/install-peers.sh)")
EPS = float(np.finfo(np.float64).eps)


def _measures(seed, rows, n):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.05, 1.0, (2, rows, n))
    w /= w.sum(-1, keepdims=True)
    return torch.tensor(w[0]), torch.tensor(w[1])


@pytest.mark.property
@settings(max_examples=30)
@given(x=st.floats(0, 12), y=st.floats(0, 12), mass=st.floats(0.1, 3.0))
def test_two_diracs_take_the_short_way_round(x, y, mass):
    pos = torch.tensor([x, y], dtype=torch.float64)
    got = circular_wasserstein_1d(torch.tensor([mass, 0.0], dtype=torch.float64),
                                  torch.tensor([0.0, mass], dtype=torch.float64), pos, period=12.0)
    d = abs(x - y) % 12.0
    assert float(got) == pytest.approx(mass * min(d, 12.0 - d), abs=64 * EPS * 12 * mass)


@pytest.mark.property
@settings(max_examples=25)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 30), shift=st.floats(-5.0, 5.0))
def test_rotation_invariance_and_symmetry(seed, n, shift):
    u, v = _measures(seed, 3, n)
    x = torch.tensor(np.sort(np.random.default_rng(seed + 1).uniform(0, 1, n)))
    base = circular_wasserstein_1d(u, v, x)
    tol = 64 * n * EPS
    torch.testing.assert_close(circular_wasserstein_1d(u, v, x + shift), base, rtol=0, atol=tol)
    torch.testing.assert_close(circular_wasserstein_1d(v, u, x), base, rtol=0, atol=tol)
    assert bool((base <= 0.5 + tol).all()) and bool((base >= 0).all())


def test_equals_brute_force_minimum_over_the_cut():
    """W1 on the circle = min over c of the line integral of |F_u - F_v - c| (dense grid in c)."""
    u, v = _measures(3, 1, 12)
    x = torch.arange(12, dtype=torch.float64) / 12
    got = float(circular_wasserstein_1d(u, v, x))
    d = torch.cumsum(u - v, -1)[0].numpy()  # constant on [k/12, (k+1)/12)
    cs = np.linspace(d.min(), d.max(), 20001)
    brute = min(np.abs(d[None] - cs[:, None]).sum(-1) / 12)
    assert got == pytest.approx(brute, abs=(d.max() - d.min()) / 20000)


def test_bad_inputs():
    x = torch.linspace(0, 0.9, 4)
    with pytest.warns(UserWarning, match="different total"):
        circular_wasserstein_1d(torch.ones(4), 2 * torch.ones(4), x)
    with pytest.raises(ValueError, match="period"):
        circular_wasserstein_1d(torch.ones(4), torch.ones(4), x, period=0)
    with pytest.raises(ValueError, match="negative"):
        circular_wasserstein_1d(-torch.ones(4), -torch.ones(4), x)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision(dtype):
    u, v = _measures(0, 2, 8)
    x = torch.arange(8) / 8
    got = circular_wasserstein_1d(u.to(dtype), v.to(dtype), x)
    assert got.dtype == dtype
    with warnings.catch_warnings():  # the rounded masses differ by more than sqrt(eps32)
        warnings.simplefilter("ignore")
        ref = circular_wasserstein_1d(u.to(dtype).float(), v.to(dtype).float(), x)
    torch.testing.assert_close(got, ref.to(dtype), rtol=0, atol=0)


@needs_sot
@pytest.mark.property
@settings(max_examples=25)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 30), rows=st.integers(1, 4),
       offset=st.floats(0.01, 0.5))
def test_equals_sot_loss_on_grids_starting_at_zero_and_after_rotation(seed, n, rows, offset):
    from sotbench.losses.peers import import_sot_loss

    sot = import_sot_loss()
    u, v = _measures(seed, rows, n)
    u.requires_grad_()
    x0 = torch.tensor(np.sort(np.random.default_rng(seed + 1).uniform(0, 1, n)))
    x0 = x0 - x0[0]  # smallest point at 0: the package is exact there
    ours = circular_wasserstein_1d(u, v, x0)
    ref = sot.wasserstein_1d_circle(x0.expand(rows, n), x0.expand(rows, n), u, v)
    tol = 64 * n * EPS
    torch.testing.assert_close(ours, ref, rtol=0, atol=tol)
    g1, = torch.autograd.grad(ours.sum(), u)
    g2, = torch.autograd.grad(ref.sum(), u)
    torch.testing.assert_close(g1, g2, rtol=0, atol=tol)
    # rotated support: sotbench is rotation invariant
    x1 = (x0 + offset) % 1.0
    torch.testing.assert_close(circular_wasserstein_1d(u, v, x1), ours, rtol=0, atol=tol)


@needs_sot
def test_package_omits_the_piece_before_the_first_point():
    """Diracs at 0.2 and 0.9: the short way round is 0.3.  The package drops the
    piece [0, 0.2) of the wrap-around interval and returns 0.1."""
    from sotbench.losses.peers import import_sot_loss

    sot = import_sot_loss()
    x = torch.tensor([[0.2, 0.9]], dtype=torch.float64)
    u = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    v = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    assert float(circular_wasserstein_1d(u, v, x[0])) == pytest.approx(0.3, abs=1e-15)
    assert float(sot.wasserstein_1d_circle(x, x, u, v)) == pytest.approx(0.1, abs=1e-15)
    # rotated so that the first point is 0, the package agrees
    x0 = x - 0.2
    assert float(sot.wasserstein_1d_circle(x0, x0, u, v)) == pytest.approx(0.3, abs=1e-15)
