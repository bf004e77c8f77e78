"""sot-loss (the SOT authors' package) as an oracle for sotbench's W_p and SOT loss.

The settings correspondence is documented in :mod:`sotbench.losses.peers`.
Everything here runs in float64, where a wrong setting (a float32-rounded
window, an ``eps`` in the normalization, another framing or position grid)
shows up at >= 1e-8 relative, while the two implementations of the same
quantity differ only by rounding: sums of at most ``n + m`` interval terms
(each interval width a difference of two cumulative sums, absolute error
<= ``(n + m) * eps64 * mass``), so the tolerances below are that bound with a
factor 4 of margin, and ``1e-9`` relative for the SOT loss (FFT rounding,
``O(log n_fft * eps64)`` per bin, amplified by at most the number of bins).

Gradients are compared on draws without ties between the two measures'
cumulative weights (strictly positive weights of unequal total mass), where
W_p is differentiable; at ties both packages pick a subgradient, not
necessarily the same one.

Differences by design, each tested against the claim:

* the cutoff: sotbench integrates the levels up to exactly 1, the package
  drops the whole interval that straddles 1 (:func:`_straddle_term`);
* silent target frames: sotbench returns 0 and a zero gradient; the package
  with exact normalization (``eps=0``) returns NaN.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.signal
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sotbench.losses.sot import SOTLoss, linear_positions
from sotbench.losses.wasserstein import wasserstein_1d

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("sot") is None,
                       reason="sot-loss not installed (bash scripts/install-peers.sh)"),
    pytest.mark.usefixtures("one_thread"),
]
EPS = float(np.finfo(np.float64).eps)
SETTINGS = settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def sot():
    from sotbench.losses.peers import import_sot_loss

    return import_sot_loss()


def _rows(seed: int, rows: int, n: int, *, lo: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, 1.0, (rows, n)) * rng.uniform(0.5, 2.0, (rows, 1))


def _positions(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.uniform(-1.0, 2.0, n)) + np.arange(n) * 1e-6  # strictly increasing


def _bound(u: torch.Tensor, v: torch.Tensor, xu, xv, p: float) -> float:
    mass = float(max(u.sum(-1).max(), v.sum(-1).max()))
    span = float(max(xu.max(), xv.max()) - min(xu.min(), xv.min()))
    k = u.shape[-1] + v.shape[-1]
    return 4 * k * EPS * mass * max(span, 1e-300) ** p * (1 + p)


@pytest.mark.property
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 40), m=st.integers(1, 40),
       rows=st.integers(1, 4), p=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
       common=st.booleans())
def test_wasserstein_1d_equals_sot_loss_values_and_gradients(sot, seed, n, m, rows, p, common):
    """``wasserstein_1d(u, v, x, p)`` == ``sot.wasserstein_1d(x, x, u, v, p)``, with gradients."""
    if common:
        m = n
    u = torch.tensor(_rows(seed, rows, n), requires_grad=True)
    v = torch.tensor(_rows(seed + 1, rows, m), requires_grad=True)
    xu = torch.tensor(_positions(seed + 2, n), requires_grad=True)
    xv = xu if common else torch.tensor(_positions(seed + 3, m), requires_grad=True)
    ours = wasserstein_1d(u, v, xu, p, v_positions=None if common else xv,
                          warn_unequal_mass=False)
    ref = sot.wasserstein_1d(xu.expand(rows, n), xv.expand(rows, m), u, v, p=p)
    tol = _bound(u.detach(), v.detach(), xu.detach(), xv.detach(), p)
    torch.testing.assert_close(ours, ref, rtol=0, atol=tol)
    inputs = (u, v, xu) if common else (u, v, xu, xv)
    g_ours = torch.autograd.grad(ours.sum(), inputs)
    g_ref = torch.autograd.grad(ref.sum(), inputs)
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=0, atol=tol * (n + m))


@pytest.mark.property
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 40), p=st.sampled_from([1.0, 2.0, 3.0]),
       scale=st.floats(0.3, 3.0))
def test_cutoff_equals_quantile_lowpass_when_one_is_a_level(sot, seed, n, p, scale):
    """``max_level=1`` == ``limit_quantile_range=True`` when the target's levels end at exactly 1.

    The target's weights are dyadic (k / 2**20), so its cumulative sums are
    exact and its last level is 1.0: no interval straddles 1.
    """
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 2**14, n).astype(np.float64)
    k[rng.integers(0, n)] += 2**20 - k.sum()  # integers summing to 2**20, all >= 1
    target = torch.tensor(k / 2**20)[None]
    assert float(target.cumsum(-1)[0, -1]) == 1.0
    pred = torch.tensor(_rows(seed + 1, 1, n) * scale / n, requires_grad=True)
    x = torch.tensor(linear_positions(2 * (n - 1)) if n > 1 else [0.0])
    ours = wasserstein_1d(pred, target, x, p, max_level=1.0)
    ref = sot.wasserstein_1d(x.expand(1, n), x.expand(1, n), target, pred, p=p,
                             limit_quantile_range=True)
    tol = _bound(pred.detach(), target, x, x, p)
    torch.testing.assert_close(ours, ref, rtol=0, atol=tol)
    g1, = torch.autograd.grad(ours.sum(), pred)
    g2, = torch.autograd.grad(ref.sum(), pred)
    torch.testing.assert_close(g1, g2, rtol=0, atol=tol * 2 * n)


def _straddle_term(u: np.ndarray, v: np.ndarray, x: np.ndarray, p: float) -> np.ndarray:
    """Per row, the part of the interval straddling level 1 that lies below 1: ``(1 - r_-) c``.

    Computed independently of both implementations from the merged levels
    ``r`` (sorted cumulative weights of both rows) and the quantile functions
    (first index whose cumulative weight reaches the level, clamped).
    """
    out = np.zeros(u.shape[0])
    for i in range(u.shape[0]):
        cu, cv = np.cumsum(u[i]), np.cumsum(v[i])
        r = np.sort(np.concatenate((cu, cv)))
        above = np.nonzero(r > 1.0)[0]
        if above.size == 0:
            continue
        k = above[0]
        lo = r[k - 1] if k > 0 else 0.0
        qu = x[min(np.searchsorted(cu, r[k]), len(cu) - 1)]
        qv = x[min(np.searchsorted(cv, r[k]), len(cv) - 1)]
        out[i] = max(1.0 - lo, 0.0) * abs(qu - qv) ** p
    return out


@pytest.mark.property
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 40), p=st.sampled_from([1.0, 2.0]),
       rows=st.integers(1, 6))
def test_cutoff_differs_from_quantile_lowpass_by_the_straddling_interval(sot, seed, n, p, rows):
    """sotbench - sot-loss == ``(1 - r_-) * c`` of the interval straddling 1 (0 if 1 is a level)."""
    target = torch.tensor(_rows(seed, rows, n))
    target = target / target.sum(-1, keepdim=True)  # top level 1 +- a few ulp
    pred = torch.tensor(_rows(seed + 1, rows, n)) / target.new_tensor(n / 2.0)
    x = torch.tensor(linear_positions(2 * (n - 1)))
    ours = wasserstein_1d(pred, target, x, p, max_level=1.0)
    ref = sot.wasserstein_1d(x.expand(rows, n), x.expand(rows, n), target, pred, p=p,
                             limit_quantile_range=True)
    claim = _straddle_term(target.numpy(), pred.numpy(), x.numpy(), p)
    tol = _bound(pred, target, x, x, p)
    np.testing.assert_allclose((ours - ref).numpy(), claim, rtol=0, atol=tol)


# --------------------------------------------------------------------------- SOT loss
def _package_loss(sot, n_fft, hop, window, spectrum, p, cutoff):
    """The package's loss in float64 with the exact (not float32-rounded) window."""
    m = sot.Wasserstein1DLoss(transform="stft", fft_size=n_fft, hop_length=hop, window=window,
                              square_magnitude=spectrum == "power", normalize=True,
                              balanced=not cutoff, quantile_lowpass=cutoff, p=p, eps=0.0,
                              reduce=False).double()
    m.transform_module.window = torch.as_tensor(
        scipy.signal.get_window(window, n_fft, fftbins=True), dtype=torch.float64)
    return m


def _signals(seed: int, batch: int, n: int, f0s: list[float]) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000.0
    out = 0.05 * rng.standard_normal((batch, n))
    for b in range(batch):
        for f in f0s:
            out[b] += rng.uniform(0.2, 1.0) * np.sin(2 * np.pi * f * (1 + 0.03 * b) * t
                                                     + rng.uniform(0, 6.3))
    return torch.tensor(out)


def _reflect(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    return torch.nn.functional.pad(x[:, None], (n_fft // 2, n_fft // 2), mode="reflect")[:, 0]


sot_settings = dict(
    seed=st.integers(0, 2**31 - 1), n_fft=st.sampled_from([128, 256, 512]),
    window=st.sampled_from(["flattop", "hann"]), spectrum=st.sampled_from(["power", "magnitude"]),
    p=st.sampled_from([1.0, 2.0, 3.0]),
    f0s=st.lists(st.floats(60.0, 4000.0), min_size=1, max_size=3))


@pytest.mark.property
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(**sot_settings)
def test_sotloss_nocut_equals_wasserstein1dloss_balanced(sot, seed, n_fft, window, spectrum, p, f0s):
    """SOTLoss(cutoff=False) == Wasserstein1DLoss(balanced=True): frame values and d/d pred."""
    hop, n = n_fft // 4, 2 * n_fft
    target = _signals(seed, 2, n, f0s)
    pred = _signals(seed + 1, 2, n, [f * 1.07 for f in f0s]).requires_grad_()
    ours_mod = SOTLoss(n_fft, hop, window=window, spectrum=spectrum, p=p, cutoff=False,
                       center=False, normalized=False, silence_threshold=0.0)
    ours = ours_mod.frame_losses(_reflect(pred, n_fft), _reflect(target, n_fft))
    x = torch.as_tensor(linear_positions(n_fft))
    ref = _package_loss(sot, n_fft, hop, window, spectrum, p, False)(
        target, pred, x_positions=x, y_positions=x)
    torch.testing.assert_close(ours.reshape(-1), ref, rtol=1e-9, atol=1e-15)
    g1, = torch.autograd.grad(ours.mean(), pred)
    g2, = torch.autograd.grad(ref.mean(), pred)
    torch.testing.assert_close(g1, g2, rtol=1e-7, atol=1e-9 * float(g2.abs().max()))


@pytest.mark.property
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(**sot_settings)
def test_sotloss_cutoff_equals_lowpass_up_to_the_straddling_interval(sot, seed, n_fft, window,
                                                                    spectrum, p, f0s):
    """SOTLoss(cutoff=True) == Wasserstein1DLoss(balanced=False, quantile_lowpass=True, x=target)
    up to the claimed straddling-interval term, frame by frame."""
    hop, n = n_fft // 4, 2 * n_fft
    target = _signals(seed, 2, n, f0s)
    pred = 1.3 * _signals(seed + 1, 2, n, [f * 1.07 for f in f0s])
    ours = SOTLoss(n_fft, hop, window=window, spectrum=spectrum, p=p, cutoff=True,
                   center=False, normalized=False, silence_threshold=0.0
                   ).frame_losses(_reflect(pred, n_fft), _reflect(target, n_fft)).reshape(-1)
    x = torch.as_tensor(linear_positions(n_fft))
    pkg = _package_loss(sot, n_fft, hop, window, spectrum, p, True)
    ref = pkg(target, pred, x_positions=x, y_positions=x)
    # the package's own normalized frames, for the claimed difference
    spec = [pkg.transform_module(s).transpose(1, 2).reshape(-1, n_fft // 2 + 1) for s in (target, pred)]
    if spectrum == "power":
        spec = [s ** 2 for s in spec]
    mass = spec[0].sum(-1, keepdim=True)
    claim = _straddle_term((spec[0] / mass).numpy(), (spec[1] / mass).numpy(), x.numpy(), p)
    np.testing.assert_allclose((ours - ref).numpy(), claim, rtol=1e-6,
                               atol=1e-9 * float(ref.abs().max()))


def test_silent_target_frames_zero_here_nan_in_the_package(sot):
    """A silent target frame: sotbench 0 with zero gradient; the package with eps=0: NaN."""
    n_fft, hop, n = 256, 64, 1024
    target = torch.zeros(1, n, dtype=torch.float64)
    pred = _signals(0, 1, n, [440.0]).requires_grad_()
    ours = SOTLoss(n_fft, hop, center=False, normalized=False, silence_threshold=0.0
                   ).frame_losses(_reflect(pred, n_fft), _reflect(target, n_fft))
    assert torch.equal(ours, torch.zeros_like(ours))
    g, = torch.autograd.grad(ours.sum(), pred)
    assert torch.equal(g, torch.zeros_like(g))
    x = torch.as_tensor(linear_positions(n_fft))
    ref = _package_loss(sot, n_fft, hop, "flattop", "power", 2.0, True)(
        target, pred.detach(), x_positions=x, y_positions=x)
    assert torch.isnan(ref).all()


# --------------------------------------------------------------------------- features
@pytest.mark.property
@settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_fft=st.sampled_from([128, 256]),
       p=st.sampled_from([1.0, 2.0]), f0s=st.lists(st.floats(60.0, 4000.0), min_size=1, max_size=2))
def test_time_axis_equals_package_dim_minus_2(sot, seed, n_fft, p, f0s):
    """axis="time" == ``dim=-2`` (positions: frame times in s here, frame indices there:
    the costs differ by the factor ``(hop / sample_rate) ** p``)."""
    hop, n, sr = n_fft // 4, 2 * n_fft, 16000.0
    target = _signals(seed, 2, n, f0s)
    pred = _signals(seed + 1, 2, n, f0s).requires_grad_()
    ours = SOTLoss(n_fft, hop, p=p, cutoff=False, center="reflect", normalized=False,
                   silence_threshold=0.0, axis="time", sample_rate=sr).frame_losses(pred, target)
    pkg = _package_loss(sot, n_fft, hop, "flattop", "power", p, False)
    pkg.dim = -2
    pkg.bin_positions = None
    ref = pkg(target, pred) * (hop / sr) ** p
    torch.testing.assert_close(ours.reshape(-1), ref, rtol=1e-9, atol=1e-15)
    g1, = torch.autograd.grad(ours.mean(), pred)
    g2, = torch.autograd.grad(ref.mean(), pred)
    torch.testing.assert_close(g1, g2, rtol=1e-7, atol=1e-9 * float(g2.abs().max()))


@pytest.mark.property
@settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_fft=st.sampled_from([128, 256]),
       p=st.sampled_from([1.0, 2.0]), gain=st.floats(0.3, 3.0),
       f0s=st.lists(st.floats(60.0, 4000.0), min_size=1, max_size=2))
def test_unbalanced_equals_package_unnormalized(sot, seed, n_fft, p, gain, f0s):
    """normalize=False == ``normalize=False, balanced=False`` (raw spectra, unequal masses)."""
    hop, n = n_fft // 4, 2 * n_fft
    target = _signals(seed, 1, n, f0s)
    pred = (gain * _signals(seed + 1, 1, n, [f * 1.1 for f in f0s])).requires_grad_()
    ours = SOTLoss(n_fft, hop, p=p, cutoff=False, normalize=False, center="reflect",
                   normalized=False).frame_losses(pred, target)
    pkg = _package_loss(sot, n_fft, hop, "flattop", "power", p, False)
    pkg.normalize, pkg.balanced = False, False
    x = torch.as_tensor(linear_positions(n_fft))
    ref = pkg(target, pred, x_positions=x, y_positions=x)
    torch.testing.assert_close(ours.reshape(-1), ref, rtol=1e-9,
                               atol=1e-12 * float(ref.detach().abs().max()))
    g1, = torch.autograd.grad(ours.mean(), pred)
    g2, = torch.autograd.grad(ref.mean(), pred)
    torch.testing.assert_close(g1, g2, rtol=1e-7, atol=1e-9 * float(g2.abs().max()))


def test_multiresolution_equals_package(sot):
    """MultiResolutionSOTLoss == the package's (default resolutions, balanced)."""
    from sotbench.losses.sot import MultiResolutionSOTLoss

    target = _signals(5, 2, 4096, [220.0, 330.0])
    pred = _signals(6, 2, 4096, [233.0, 350.0]).requires_grad_()
    ours = MultiResolutionSOTLoss(cutoff=False, center="reflect", normalized=False,
                                  silence_threshold=0.0)(pred, target)
    pkg = sot.MultiResolutionSOTLoss(transform="stft", window="flattop", square_magnitude=True,
                                     balanced=True, p=2, eps=0.0).double()
    for term in pkg.loss_modules:
        n_fft = term.transform_module.fft_size
        term.transform_module.window = torch.as_tensor(
            scipy.signal.get_window("flattop", n_fft, fftbins=True), dtype=torch.float64)
        term.bin_positions = torch.as_tensor(linear_positions(n_fft))
    ref = pkg(target, pred)
    torch.testing.assert_close(ours, ref, rtol=1e-9, atol=0)
    g1, = torch.autograd.grad(ours, pred)
    g2, = torch.autograd.grad(ref, pred)
    torch.testing.assert_close(g1, g2, rtol=1e-7, atol=1e-9 * float(g2.abs().max()))
