"""wasserstein_1d against POT (ot.wasserstein_1d), autograd, metric axioms and bad input."""
from __future__ import annotations

import math
import warnings

import numpy as np
import ot
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sotbench.losses.wasserstein import set_num_threads, wasserstein_1d, wasserstein_distance

PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- helpers
def pot(u, v, xu, xv=None, p=2.0):
    """POT on our layout: weights (..., n), positions (n,) or (..., n); returns (...)."""
    xv = xu if xv is None else xv
    batch = u.shape[:-1]
    n, m = u.shape[-1], v.shape[-1]
    rows = int(np.prod(batch)) if len(batch) else 1
    u2, v2 = u.reshape(rows, n), v.reshape(rows, m)
    xu2 = torch.broadcast_to(xu, batch + (n,)).reshape(rows, n)
    xv2 = torch.broadcast_to(xv, batch + (m,)).reshape(rows, m)
    out = ot.wasserstein_1d(xu2.T, xv2.T, u2.T, v2.T, p=p)
    return out.reshape(batch)


def weights(rng, shape, *, zeros=0.0, normalize=True, positive=False, dtype=torch.float64):
    w = rng.random(shape) ** 3
    if positive:
        w = w + 0.05
    if zeros:
        w[rng.random(shape) < zeros] = 0.0
        w[..., 0] += 1e-3  # keep every row's mass > 0
    if normalize:
        w = w / w.sum(-1, keepdims=True)
    return torch.tensor(w, dtype=dtype)


def sorted_positions(rng, shape, dtype=torch.float64):
    return torch.tensor(np.sort(rng.normal(size=shape), axis=-1), dtype=dtype)


batch_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)
orders = st.one_of(st.sampled_from([1.0, 2.0, 3.0, 4.0]), st.floats(1.0, 4.0))


# --------------------------------------------------------------------------- known values
def test_dirac_shift_closed_form():
    x = torch.linspace(0, 1, 5, dtype=torch.float64)
    a = torch.tensor([1.0, 0, 0, 0, 0], dtype=torch.float64)
    b = torch.tensor([0, 0, 1.0, 0, 0], dtype=torch.float64)
    for p in (1.0, 1.5, 2.0, 3.0):
        assert float(wasserstein_1d(a, b, x, p=p)) == pytest.approx(0.5 ** p, rel=1e-12)
        assert float(wasserstein_distance(a, b, x, p=p)) == pytest.approx(0.5, rel=1e-12)


def test_split_mass_closed_form():
    # half the mass moves by 1, half stays: W_p^p = 0.5 * 1**p
    x = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    a = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    b = torch.tensor([0.5, 0.0, 0.5], dtype=torch.float64)
    assert float(wasserstein_1d(a, b, x, p=2)) == pytest.approx(0.5, rel=1e-12)


def test_returns_wp_power_p_by_default_and_root_on_request():
    rng = np.random.default_rng(0)
    a, b = weights(rng, (4, 9)), weights(rng, (4, 9))
    x = torch.linspace(0, 1, 9, dtype=torch.float64)
    wpp = wasserstein_1d(a, b, x, p=3.0)
    wp = wasserstein_1d(a, b, x, p=3.0, root=True)
    torch.testing.assert_close(wp, wpp ** (1 / 3), rtol=1e-12, atol=0)
    torch.testing.assert_close(wasserstein_distance(a, b, x, p=3.0), wp)


def test_deterministic():
    rng = np.random.default_rng(1)
    a, b = weights(rng, (7, 33)), weights(rng, (7, 33))
    x = torch.linspace(0, 1, 33, dtype=torch.float64)
    assert torch.equal(wasserstein_1d(a, b, x), wasserstein_1d(a, b, x))


# --------------------------------------------------------------------------- POT equality
@pytest.mark.property
@PROPERTY
@given(batch=batch_shapes, n=st.integers(1, 40), p=orders, seed=st.integers(0, 2**32 - 1),
       zeros=st.sampled_from([0.0, 0.3]), per_row=st.booleans())
def test_equals_pot_common_support_float64(batch, n, p, seed, zeros, per_row):
    rng = np.random.default_rng(seed)
    a = weights(rng, batch + (n,), zeros=zeros)
    b = weights(rng, batch + (n,), zeros=zeros)
    x = sorted_positions(rng, batch + (n,) if per_row else (n,))
    got = wasserstein_1d(a, b, x, p=p)
    ref = pot(a, b, x, p=p)
    assert got.shape == batch
    torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-13)


@pytest.mark.property
@PROPERTY
@given(batch=batch_shapes, n=st.integers(1, 30), m=st.integers(1, 30), p=orders,
       seed=st.integers(0, 2**32 - 1), shuffle=st.booleans())
def test_equals_pot_distinct_supports_float64(batch, n, m, p, seed, shuffle):
    rng = np.random.default_rng(seed)
    a = weights(rng, batch + (n,), zeros=0.2)
    b = weights(rng, batch + (m,), zeros=0.2)
    xu = torch.tensor(rng.normal(size=batch + (n,)))
    xv = torch.tensor(rng.normal(size=(m,)) + 0.5)
    if not shuffle:
        xu = xu.sort(-1).values
        xv = xv.sort(-1).values
    got = wasserstein_1d(a, b, xu, p=p, v_positions=xv)
    ref = pot(a, b, xu, xv, p=p)
    torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-13)


@pytest.mark.property
@PROPERTY
@given(batch=batch_shapes, n=st.integers(2, 64), p=orders, seed=st.integers(0, 2**32 - 1))
def test_equals_pot_float32(batch, n, p, seed):
    rng = np.random.default_rng(seed)
    a = weights(rng, batch + (n,), dtype=torch.float32)
    b = weights(rng, batch + (n,), dtype=torch.float32)
    x = torch.linspace(0, 1, n)
    got = wasserstein_1d(a, b, x, p=p)
    assert got.dtype == torch.float32
    ref = pot(a.double(), b.double(), x.double(), p=p)
    torch.testing.assert_close(got.double(), ref, rtol=1e-4, atol=1e-7)
    ref32 = pot(a, b, x, p=p)
    torch.testing.assert_close(got, ref32, rtol=1e-4, atol=1e-7)


@pytest.mark.property
@PROPERTY
@given(n=st.integers(1, 30), m=st.integers(1, 30), p=orders, seed=st.integers(0, 2**32 - 1))
def test_unequal_masses_follow_pot_convention(n, m, p, seed):
    rng = np.random.default_rng(seed)
    a = weights(rng, (3, n), normalize=False)
    b = weights(rng, (3, m), normalize=False) * 2.0
    xu, xv = sorted_positions(rng, (n,)), sorted_positions(rng, (m,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = wasserstein_1d(a, b, xu, p=p, v_positions=xv)
    torch.testing.assert_close(got, pot(a, b, xu, xv, p=p), rtol=1e-9, atol=1e-13)


@pytest.mark.property
@PROPERTY
@given(n=st.integers(1, 30), p=orders, seed=st.integers(0, 2**32 - 1),
       backend=st.sampled_from(["numba", "torch"]), scale=st.floats(0.3, 3.0))
def test_max_level_truncates_the_level_integral(n, p, seed, backend, scale):
    """Reference: POT's sum with intervals above the level clipped (paper's cutoff)."""
    rng = np.random.default_rng(seed)
    b = weights(rng, (4, n))
    a = weights(rng, (4, n)) * scale
    x = torch.linspace(0, 1, n, dtype=torch.float64)
    got = wasserstein_1d(a, b, x, p=p, max_level=1.0, backend=backend)
    ca, cb = a.cumsum(-1), b.cumsum(-1)
    qs = torch.sort(torch.cat((ca, cb), -1), -1).values
    iu = torch.searchsorted(ca, qs).clamp(max=n - 1)
    iv = torch.searchsorted(cb, qs).clamp(max=n - 1)
    delta = torch.diff(qs.clamp(max=1.0), dim=-1, prepend=torch.zeros(4, 1, dtype=qs.dtype))
    ref = (delta * (x[iu] - x[iv]).abs() ** p).sum(-1)
    torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-13)
    # authors' rule (drop whole intervals whose level exceeds 1) agrees up to rounding of b's mass
    drop = torch.where(qs > 1.0 + 1e-12, torch.zeros_like(delta), delta)
    ref_drop = (drop * (x[iu] - x[iv]).abs() ** p).sum(-1)
    torch.testing.assert_close(got, ref_drop, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- gradients
@pytest.mark.property
@PROPERTY
@given(n=st.integers(1, 25), m=st.integers(1, 25), p=orders, seed=st.integers(0, 2**32 - 1),
       common=st.booleans())
def test_gradients_equal_pot_autograd(n, m, p, seed, common):
    rng = np.random.default_rng(seed)
    if common:
        m = n
    # strictly positive, unnormalized weights: no tied levels, so the gradient is unique
    a = weights(rng, (3, n), normalize=False, positive=True).requires_grad_()
    b = (weights(rng, (3, m), normalize=False, positive=True) * 1.7).requires_grad_()
    xu = sorted_positions(rng, (3, n)).requires_grad_()
    xv = xu if common else sorted_positions(rng, (m,)).requires_grad_()
    upstream = torch.tensor(rng.normal(size=3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = wasserstein_1d(a, b, xu, p=p, v_positions=None if common else xv)
    inputs = (a, b, xu) if common else (a, b, xu, xv)
    g_got = torch.autograd.grad((got * upstream).sum(), inputs)
    ref = pot(a, b, xu, None if common else xv, p=p)
    g_ref = torch.autograd.grad((ref * upstream).sum(), inputs)
    for gg, gr in zip(g_got, g_ref):
        torch.testing.assert_close(gg, gr, rtol=1e-8, atol=1e-10)


@pytest.mark.property
@PROPERTY
@given(n=st.integers(2, 20), p=orders, seed=st.integers(0, 2**32 - 1),
       cutoff=st.booleans())
def test_gradients_through_normalization_equal_pot(n, p, seed, cutoff):
    """The SOT use: normalized spectra (ties at the final level are projected out)."""
    rng = np.random.default_rng(seed)
    sa = weights(rng, (5, n), normalize=False, positive=True).requires_grad_()
    sb = weights(rng, (5, n), normalize=False, positive=True)
    x = torch.linspace(0, 1, n, dtype=torch.float64)
    ua, ub = sa / sa.sum(-1, keepdim=True), sb / sb.sum(-1, keepdim=True)
    got = wasserstein_1d(ua, ub, x, p=p, max_level=1.0 if cutoff else None)
    ref = pot(ua, ub, x, p=p)
    torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-13)
    g1, = torch.autograd.grad(got.sum(), sa, retain_graph=True)
    g2, = torch.autograd.grad(ref.sum(), sa)
    torch.testing.assert_close(g1, g2, rtol=1e-7, atol=1e-10)


@pytest.mark.property
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 8), m=st.integers(1, 8), p=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
       seed=st.integers(0, 2**32 - 1), cutoff=st.booleans())
def test_gradcheck_float64(n, m, p, seed, cutoff):
    rng = np.random.default_rng(seed)
    a = weights(rng, (2, n), normalize=False, positive=True).requires_grad_()
    b = weights(rng, (2, m), normalize=False, positive=True).requires_grad_()
    xu = sorted_positions(rng, (n,)).requires_grad_()
    xv = (sorted_positions(rng, (m,)) + 0.1).requires_grad_()
    # keep the levels apart (finite differences must not cross a level ordering)
    la = torch.cat((a.detach().cumsum(-1), b.detach().cumsum(-1)), -1).sort(-1).values
    assume(bool((la.diff(dim=-1).abs() > 1e-4).all()))
    level = 0.8 * float(b.detach().sum(-1).min()) if cutoff else None
    if level is not None:
        assume(bool(((la - level).abs() > 1e-4).all()))
    assume(bool(((xu.detach()[:, None] - xv.detach()[None, :]).abs() > 1e-4).all()))

    def f(a_, b_, xu_, xv_):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return wasserstein_1d(a_, b_, xu_, p=p, v_positions=xv_, max_level=level)

    assert torch.autograd.gradcheck(f, (a, b, xu, xv), eps=1e-7, atol=1e-6, rtol=1e-5)


def test_gradcheck_common_support_weights():
    rng = np.random.default_rng(3)
    a = weights(rng, (3, 12), positive=True).requires_grad_()
    b = weights(rng, (3, 12), positive=True).requires_grad_()
    x = torch.linspace(0, 1, 12, dtype=torch.float64)
    for p in (1.0, 2.0, 2.5):
        assert torch.autograd.gradcheck(
            lambda a_, b_, p=p: wasserstein_1d(a_ / a_.sum(-1, keepdim=True),
                                               b_ / b_.sum(-1, keepdim=True), x, p=p),
            (a, b), eps=1e-7, atol=1e-6)


def test_backends_agree_values_and_gradients():
    rng = np.random.default_rng(4)
    for level in (None, 1.0):
        a = (weights(rng, (6, 50), positive=True) * 1.3).requires_grad_()
        b = weights(rng, (6, 50), positive=True).requires_grad_()
        x = torch.linspace(0, 1, 50, dtype=torch.float64)
        res = {}
        for backend in ("numba", "torch"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                w = wasserstein_1d(a, b, x, p=2, max_level=level, backend=backend)
            res[backend] = (w, *torch.autograd.grad(w.sum(), (a, b)))
        for x1, x2 in zip(res["numba"], res["torch"]):
            torch.testing.assert_close(x1, x2, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- metric axioms
def _measure(rng, n):
    return weights(rng, (n,), zeros=0.2), sorted_positions(rng, (n,))


@pytest.mark.property
@PROPERTY
@given(n=st.integers(1, 20), m=st.integers(1, 20), k=st.integers(1, 20), p=orders,
       seed=st.integers(0, 2**32 - 1))
def test_metric_axioms(n, m, k, p, seed):
    rng = np.random.default_rng(seed)
    (a, xa), (b, xb), (c, xc) = _measure(rng, n), _measure(rng, m), _measure(rng, k)

    def w(u, xu_, v, xv_):
        return float(wasserstein_distance(u, v, xu_, p=p, v_positions=xv_))

    # identity (same measure, possibly written on another support) and positivity
    assert w(a, xa, a, xa) == 0.0
    assert w(a, xa, b, xb) >= 0.0
    # symmetry
    assert w(a, xa, b, xb) == pytest.approx(w(b, xb, a, xa), rel=1e-9, abs=1e-12)
    # triangle inequality
    assert w(a, xa, c, xc) <= w(a, xa, b, xb) + w(b, xb, c, xc) + 1e-9


@pytest.mark.property
@PROPERTY
@given(n=st.integers(1, 30), p=orders, shift=st.floats(-5, 5, allow_subnormal=False),
       seed=st.integers(0, 2**32 - 1))
def test_translation_equals_shift(n, p, shift, seed):
    rng = np.random.default_rng(seed)
    a = weights(rng, (2, n), zeros=0.3)
    x = sorted_positions(rng, (n,))
    got = wasserstein_distance(a, a, x, p=p, v_positions=x + shift)
    torch.testing.assert_close(got, torch.full((2,), abs(shift), dtype=torch.float64),
                               rtol=1e-9, atol=1e-12)


def test_identical_measures_zero_value_and_finite_root_gradient():
    rng = np.random.default_rng(5)
    a = weights(rng, (3, 10)).requires_grad_()
    x = torch.linspace(0, 1, 10, dtype=torch.float64)
    w = wasserstein_distance(a, a.detach().clone(), x)
    assert torch.equal(w, torch.zeros(3, dtype=torch.float64))
    g, = torch.autograd.grad(w.sum(), a)
    assert torch.isfinite(g).all()


# --------------------------------------------------------------------------- zero mass
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_both_empty_rows_give_zero_value_and_zero_gradient(backend):
    rng = np.random.default_rng(6)
    a = weights(rng, (3, 8))
    b = weights(rng, (3, 8))
    a[1] = 0.0
    b[1] = 0.0
    a.requires_grad_()
    b.requires_grad_()
    x = torch.linspace(0, 1, 8, dtype=torch.float64)
    w = wasserstein_1d(a, b, x, backend=backend)
    assert float(w[1].detach()) == 0.0
    ga, gb = torch.autograd.grad(w.sum(), (a, b))
    assert torch.equal(ga[1], torch.zeros(8, dtype=torch.float64))
    assert torch.equal(gb[1], torch.zeros(8, dtype=torch.float64))
    assert torch.isfinite(ga).all() and torch.isfinite(gb).all()
    torch.testing.assert_close(w[[0, 2]], pot(a[[0, 2]], b[[0, 2]], x))


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_one_empty_measure_is_held_at_the_last_position(backend):
    x = torch.linspace(0, 1, 5, dtype=torch.float64)
    a = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.25, 0.25, 0.5, 0, 0], dtype=torch.float64, requires_grad=True)
    with pytest.warns(UserWarning, match="different total masses"):
        w = wasserstein_1d(a, b, x, p=2, backend=backend)
    expected = 0.25 * 1.0 + 0.25 * 0.75 ** 2 + 0.5 * 0.5 ** 2
    assert float(w.detach()) == pytest.approx(expected, rel=1e-12)
    assert float(w.detach()) == pytest.approx(float(pot(a, b, x).detach()), rel=1e-12)
    ga, gb = torch.autograd.grad(w, (a, b))
    assert torch.isfinite(ga).all() and torch.isfinite(gb).all()


def test_negative_zero_weights_are_accepted():
    x = torch.linspace(0, 1, 4, dtype=torch.float64)
    a = torch.tensor([-0.0, 0.5, 0.5, -0.0], dtype=torch.float64)
    b = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64)
    assert float(wasserstein_1d(a, b, x, p=1)) == pytest.approx(1 / 3, rel=1e-12)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("bad, which, match", [
    (math.nan, "u", "u_weights holds NaN/Inf"),
    (math.inf, "u", "u_weights holds NaN/Inf"),
    (-math.inf, "v", "v_weights holds NaN/Inf"),
    (-0.1, "u", "u_weights holds negative"),
    (-1e-30, "v", "v_weights holds negative"),
    (math.nan, "v", "v_weights holds NaN/Inf"),
])
def test_bad_weights_raise(backend, bad, which, match):
    a = torch.full((2, 6), 1 / 6, dtype=torch.float64)
    b = torch.full((2, 6), 1 / 6, dtype=torch.float64)
    (a if which == "u" else b)[1, 3] = bad
    with pytest.raises(ValueError, match=match):
        wasserstein_1d(a, b, torch.linspace(0, 1, 6), backend=backend)


def test_bad_arguments_raise():
    a = torch.full((2, 6), 1 / 6)
    x = torch.linspace(0, 1, 6)
    with pytest.raises(ValueError, match="batch shape"):
        wasserstein_1d(a, torch.full((3, 6), 1 / 6), x)
    with pytest.raises(ValueError, match="support points"):
        wasserstein_1d(a, torch.full((2, 5), 0.2), x)
    with pytest.raises(ValueError, match="positions has shape"):
        wasserstein_1d(a, a, torch.linspace(0, 1, 5))
    with pytest.raises(ValueError, match="v_positions has shape"):
        wasserstein_1d(a, torch.full((2, 5), 0.2), x, v_positions=x)
    with pytest.raises(ValueError, match="does not broadcast"):
        wasserstein_1d(a, a, torch.rand(3, 6).sort(-1).values)
    with pytest.raises(ValueError, match="NaN/Inf positions"):
        wasserstein_1d(a, a, torch.tensor([0, 1, 2, math.nan, 4, 5.0]))
    for p in (0.5, math.nan, math.inf, -1, True):
        with pytest.raises(ValueError, match="p="):
            wasserstein_1d(a, a, x, p=p)
    with pytest.raises(ValueError, match="max_level"):
        wasserstein_1d(a, a, x, max_level=0.0)
    with pytest.raises(ValueError, match="empty support"):
        wasserstein_1d(torch.zeros(2, 0), torch.zeros(2, 0), torch.zeros(0))
    with pytest.raises(ValueError, match="backend"):
        wasserstein_1d(a, a, x, backend="cuda")


def test_unequal_mass_warning_only_without_max_level():
    x = torch.linspace(0, 1, 4)
    a = torch.tensor([0.5, 0.5, 0.0, 0.0])
    b = torch.tensor([0.0, 0.0, 1.0, 1.0])
    with pytest.warns(UserWarning, match="different total masses"):
        wasserstein_1d(a, b, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wasserstein_1d(a, b, x, max_level=1.0)
        wasserstein_1d(a, b, x, warn_unequal_mass=False)


def test_integer_and_numpy_inputs():
    x = np.linspace(0, 1, 3)
    got = wasserstein_1d(np.array([1, 0, 0]), np.array([0, 0, 1]), x, p=2)
    assert float(got) == pytest.approx(1.0)


def test_thread_split_gives_identical_results():
    rng = np.random.default_rng(7)
    a = weights(rng, (96, 1025), dtype=torch.float32).requires_grad_()
    b = weights(rng, (96, 1025), dtype=torch.float32)
    x = torch.linspace(0, 1, 1025)
    results = []
    try:
        for threads in (1, 2, 3):
            set_num_threads(threads)
            w = wasserstein_1d(a, b, x, p=2, max_level=1.0)
            g, = torch.autograd.grad(w.sum(), a)
            results.append((w, g))
    finally:
        set_num_threads(1)
    for w, g in results[1:]:
        assert torch.equal(w, results[0][0]) and torch.equal(g, results[0][1])

    with pytest.raises(ValueError, match="threads"):
        set_num_threads(-1)
