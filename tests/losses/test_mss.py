"""MSSLoss against an independent numpy STFT reference."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch

from sotbench.losses.mss import DEFAULT_SCALES, MSSLoss


def np_mag(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT| with a periodic Hann window, 1/sqrt(n_fft) scaling, DDSP pad_end framing."""
    n = x.shape[-1]
    frames = -(-n // hop)
    pad = max(0, n_fft + hop * (frames - 1) - n)
    x = np.pad(x, [(0, 0), (0, pad)])
    n_frames = 1 + (x.shape[-1] - n_fft) // hop
    win = scipy.signal.get_window("hann", n_fft, fftbins=True)
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    seg = x[:, idx] * win
    return np.abs(np.fft.rfft(seg, axis=-1)) / math.sqrt(n_fft)


def np_mss(pred, target, scales, lin, log, eps=1e-5):
    total = 0.0
    for s in scales:
        sp, st = np_mag(pred, s, s // 4), np_mag(target, s, s // 4)
        total += lin * np.mean(np.abs(st - sp))
        total += log * np.mean(np.abs(np.log(np.maximum(st, eps)) - np.log(np.maximum(sp, eps))))
    return total


@pytest.fixture
def signals():
    rng = np.random.default_rng(0)
    t = np.arange(4096) / 16000
    target = np.stack([0.8 * np.sin(2 * np.pi * 440 * t), rng.normal(0, 0.1, 4096)])
    pred = np.stack([0.5 * np.sin(2 * np.pi * 470 * t + 1), rng.normal(0, 0.2, 4096)])
    return pred, target


@pytest.mark.parametrize("lin, log", [(1.0, 0.0), (1.0, 1.0), (0.3, 2.0)])
def test_equals_numpy_reference(signals, lin, log):
    pred, target = signals
    got = MSSLoss(lin_weight=lin, log_weight=log)(torch.tensor(pred), torch.tensor(target))
    ref = np_mss(pred, target, DEFAULT_SCALES, lin, log)
    assert float(got) == pytest.approx(ref, rel=1e-9)


def test_float32_and_single_scale(signals):
    pred, target = (torch.tensor(s, dtype=torch.float32) for s in signals)
    got = MSSLoss(scales=(512,))(pred, target)
    assert got.dtype == torch.float32 and got.shape == ()
    assert float(got) == pytest.approx(np_mss(*signals, (512,), 1.0, 0.0), rel=1e-4)


def test_hop_respects_overlap():
    loss = MSSLoss()
    assert [loss.hop(s) for s in DEFAULT_SCALES] == [512, 256, 128, 64, 32, 16]
    assert MSSLoss(overlap=0.5).hop(64) == 32


def test_symmetric_zero_and_positive(signals):
    p, t = (torch.tensor(s) for s in signals)
    loss = MSSLoss(log_weight=1.0)
    assert float(loss(t, t)) == 0.0
    assert float(loss(p, t)) == pytest.approx(float(loss(t, p)), rel=1e-12)
    assert float(loss(p, t)) > 0


def test_silent_signals_have_finite_gradients():
    pred = torch.zeros(2, 4096, dtype=torch.float64, requires_grad=True)
    target = torch.zeros(2, 4096, dtype=torch.float64)
    target[0, ::7] = 0.1
    value = MSSLoss(log_weight=1.0)(pred, target)
    g, = torch.autograd.grad(value, pred)
    assert torch.isfinite(value) and torch.isfinite(g).all()


def test_log_term_uses_eps_floor():
    pred = torch.zeros(1, 2048, dtype=torch.float64)
    target = torch.zeros(1, 2048, dtype=torch.float64)
    target[0, 0] = 1.0  # an impulse: flat magnitude spectrum per frame that sees it
    only_log = MSSLoss(scales=(64,), lin_weight=0.0, log_weight=1.0, eps=1e-5)
    ref = np_mss(pred.numpy(), target.numpy(), (64,), 0.0, 1.0, eps=1e-5)
    assert float(only_log(pred, target)) == pytest.approx(ref, rel=1e-9)


def test_bad_input_raises(signals):
    p, t = (torch.tensor(s) for s in signals)
    loss = MSSLoss()
    bad = p.clone()
    bad[1, 5] = math.nan
    with pytest.raises(ValueError, match="pred holds 1 NaN/Inf"):
        loss(bad, t)
    with pytest.raises(ValueError, match="same"):
        loss(p[:, :3000], t)
    with pytest.raises(ValueError, match="shorter than the largest window"):
        loss(p[:, :1000], t[:, :1000])
    for kwargs in (dict(scales=()), dict(scales=(1,)), dict(overlap=1.0),
                   dict(lin_weight=0.0, log_weight=0.0), dict(eps=0.0), dict(lin_weight=-1.0)):
        with pytest.raises(ValueError):
            MSSLoss(**kwargs)
