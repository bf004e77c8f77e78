"""Tests of the HCQT (paper-002 settings) against direct summation and physics."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sotbench.dsp.hcqt import HCQT, harmonic_sum_target, harmonic_weights, power_to_features, support_target

SR = 22050
HARMONICS = (0.5, 1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def hcqt() -> HCQT:
    return HCQT()


def tone(freqs, amps=None, seconds=0.5, sr=SR):
    n = np.arange(int(seconds * sr))
    amps = np.ones(len(freqs)) if amps is None else amps
    x = sum(a * np.sin(2 * np.pi * f * n / sr + 0.3 * i) for i, (f, a) in enumerate(zip(freqs, amps)))
    return torch.tensor(np.asarray(x, dtype=np.float32))[None]


def direct_power(m: HCQT, x: np.ndarray, f: float, t: int) -> float:
    """|sum_m x(c+m) w(m) e^{-i 2 pi f m / sr}|^2 by plain summation (float64)."""
    alpha = 2 ** (1 / m.bins_per_octave) - 1
    L = m.Q * m.sample_rate / (f + m.gamma / alpha)
    half = int(np.ceil(L / 2))
    mm = np.arange(-half, half + 1)
    w = np.where(np.abs(mm) < L / 2, 0.5 + 0.5 * np.cos(2 * np.pi * mm / L), 0.0)
    if m.norm == "amplitude":
        w = 2 * w / w.sum()
    idx = t * m.hop_length + mm
    seg = np.zeros(len(mm))
    ok = (idx >= 0) & (idx < len(x))
    seg[ok] = x[idx[ok]]
    return float(abs(np.sum(seg * w * np.exp(-2j * np.pi * f * mm / m.sample_rate))) ** 2)


def test_shapes_times_frequencies(hcqt):
    x = torch.randn(2, 3000)
    p = hcqt.power(x)
    assert p.shape == (2, 6, 440, 1 + 3000 // 256)
    assert hcqt.n_frames(3000) == 12
    np.testing.assert_allclose(hcqt.frame_times(3), [0, 256 / SR, 512 / SR])
    f = hcqt.frequencies_hz
    assert f.shape == (6, 440)
    np.testing.assert_allclose(f[1, 0], 27.5)
    np.testing.assert_allclose(f[1, 60], 55.0)
    np.testing.assert_allclose(f[:, 0].numpy(), 27.5 * np.array(HARMONICS))
    # octave channels share one lattice: channel 2 bin k == channel 1 bin k + 60
    np.testing.assert_allclose(f[2, :380].numpy(), f[1, 60:].numpy())


def test_invalid_bins_counted_and_exactly_zero(hcqt):
    invalid = (~hcqt.valid_mask).sum(dim=1).tolist()
    # band-edge rule; the centre >= Nyquist rule gives 16/41/60 for h = 3/4/5
    assert invalid == [0, 0, 0, 17, 41, 61]
    centre_rule = (hcqt.frequencies_hz >= SR / 2).sum(dim=1).tolist()
    assert centre_rule == [0, 0, 0, 16, 41, 60]
    assert bool((hcqt.frequencies_hz[hcqt.valid_mask] < SR / 2).all())
    x = torch.randn(1, 4000)  # white noise has energy up to Nyquist
    p = hcqt.power(x)
    mask = ~hcqt.valid_mask
    assert float(p[0][mask].abs().max()) == 0.0
    feats = hcqt(x)
    assert float(feats[0][mask].abs().max()) == 0.0
    assert float(p[0][hcqt.valid_mask].min()) > 0.0


def test_power_matches_direct_summation(hcqt):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SR // 2).astype(np.float32) * 0.1
    p = hcqt.power(torch.tensor(x)[None])
    for c, k, t in [(0, 0, 0), (1, 0, 5), (1, 439, 20), (3, 200, 42), (5, 378, 10), (2, 10, 43),
                    (4, 398, 3)]:
        ref = direct_power(hcqt, x.astype(np.float64), float(hcqt.frequencies_hz[c, k]), t)
        assert float(p[0, c, k, t]) == pytest.approx(ref, rel=1e-4)


def test_amplitude_norm_is_calibrated():
    m = HCQT(fmin=110.0, n_bins=120, harmonics=(1, 2), norm="amplitude")
    k = 37
    f = float(m.frequencies_hz[0, k])
    p = m.power(0.25 * tone([f], seconds=1.0))
    # a sinusoid of amplitude A at a bin centre has |X| = A
    assert float(p[0, 0, k, 40]) == pytest.approx(0.25 ** 2, rel=0.02)
    x = tone([f], seconds=0.5).numpy()[0].astype(np.float64)
    assert float(m.power(torch.tensor(x, dtype=torch.float32)[None])[0, 0, k, 10]) == pytest.approx(
        direct_power(m, x, f, 10), rel=1e-4)


def test_iter_power_equals_power(hcqt):
    x = torch.randn(1, SR) * 0.1
    full = hcqt.power(x)
    chunks = list(hcqt.iter_power(x, chunk_frames=23))
    assert [t0 for t0, _ in chunks] == list(range(0, full.shape[-1], 23))
    joined = torch.cat([c for _, c in chunks], dim=-1)
    torch.testing.assert_close(joined, full, rtol=1e-4, atol=1e-6 * float(full.max()))


def test_features_scale(hcqt):
    x = tone([220.0, 330.0], seconds=0.4)
    feats = hcqt(x)
    p = hcqt.power(x)
    assert float(feats.min()) >= 0.0 and float(feats.max()) == pytest.approx(1.0)
    ref = p.max()
    expected = (1 + 10 * torch.log10((p / ref).clamp(min=1e-8)) / 80).clamp(0, 1)
    expected = expected * hcqt.valid_mask[None, :, :, None]
    torch.testing.assert_close(feats, expected, rtol=1e-5, atol=1e-5)
    # per example: scaling one example does not change the other's features
    both = hcqt(torch.cat([x, 0.01 * x + 0.001 * torch.randn_like(x)]))
    torch.testing.assert_close(both[0], feats[0], rtol=0, atol=5e-4)  # float32, batch-dependent


def test_bad_and_odd_input(hcqt):
    with pytest.raises(ValueError, match="batch"):
        hcqt.power(torch.zeros(100))
    with pytest.raises(ValueError, match="NaN"):
        hcqt.power(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="empty"):
        hcqt.power(torch.zeros(1, 0))
    with pytest.raises(ValueError, match="norm"):
        HCQT(norm="l3")
    with pytest.warns(UserWarning, match="silent"):
        feats = hcqt(torch.zeros(1, 1000))
    assert float(feats.abs().max()) == 0.0


def test_harmonic_sum_and_support_targets(hcqt):
    w = harmonic_weights(HARMONICS)
    raw = torch.tensor([0, 1, 1 / 4, 1 / 9, 1 / 16, 1 / 25])
    torch.testing.assert_close(w, raw / raw.sum())
    x = tone([110.0, 220.0, 330.0, 440.0], amps=[1, 0.5, 0.3, 0.2], seconds=0.4)
    feats = hcqt(x)
    amp = torch.where(feats > 0, 10 ** ((feats - 1) * 80 / 20), torch.zeros_like(feats))
    pw = ((amp * w[None, :, None, None]) ** 2).sum(1)
    torch.testing.assert_close(harmonic_sum_target(feats, HARMONICS, output="power"), pw)
    target = harmonic_sum_target(feats, HARMONICS)
    expected = (1 + 10 * torch.log10((pw / pw.max()).clamp(min=1e-8)) / 80).clamp(0, 1)
    torch.testing.assert_close(target, expected, rtol=1e-5, atol=1e-5)
    assert target.shape == (1, 440, feats.shape[-1])
    torch.testing.assert_close(support_target(feats, HARMONICS), feats[:, 1])
    # the harmonic sum peaks at the fundamental of a harmonic tone
    k110 = 60 * 2  # 110 Hz = 27.5 * 2**2
    assert int(target[0, :, 10].argmax()) == k110
    with pytest.raises(ValueError):
        support_target(feats[:, 2:], HARMONICS[2:])


def bin_freq(k: float, h: float = 1.0) -> float:
    return 27.5 * h * 2 ** (k / 60)


@pytest.mark.property
@settings(max_examples=10, deadline=None)
@given(k=st.integers(min_value=0, max_value=430), frac=st.floats(-0.3, 0.3))
def test_tone_peaks_at_its_bin_in_every_channel(hcqt, k, frac):
    """A tone at f peaks at bin(f) in channel 1 and at bin(f / h) (the channel-h bin of f)."""
    f = bin_freq(k + frac)
    # 0.8 s tone, frame 34 (0.39 s): every filter (<= 0.36 s long) sees a steady tone
    feats = hcqt(tone([f], seconds=0.8))[0, :, :, 34]
    for c, h in enumerate(HARMONICS):
        pos = k + frac - 60 * math.log2(h)  # index of f in channel h
        if not (1 <= pos <= 438) or not bool(hcqt.valid_mask[c, int(round(pos))]):
            continue
        if f > 0.97 * SR / 2:
            continue
        if abs(pos - math.floor(pos) - 0.5) < 0.05:
            # within 0.05 bin (1 cent at 60 bins per octave) of the midpoint between two bins the nearest bin is a tie that the
            # neighbouring filters' unequal bandwidths (constant Q) break either way; nothing to assert
            continue
        peak = int(feats[c].argmax())
        assert abs(peak - pos) <= 0.5 + 1e-6, (h, f, peak, pos)


@pytest.mark.property
@settings(max_examples=8, deadline=None)
@given(k=st.integers(min_value=20, max_value=300), shift=st.integers(min_value=-20, max_value=60))
def test_pitch_shift_moves_h1_peak_by_k_bins(hcqt, k, shift):
    """Moving a harmonic tone by s/60 octave moves the h=1 channel peak by s bins."""
    def h1_peak(kk):
        f0 = bin_freq(kk)
        x = tone([f0, 2 * f0, 3 * f0], amps=[1.0, 0.5, 0.25], seconds=0.8)
        return int(hcqt(x)[0, 1, :, 34].argmax())

    assert h1_peak(k + shift) - h1_peak(k) == shift


@pytest.mark.property
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2 ** 16), gain=st.floats(1e-3, 1.0), n=st.integers(1, 3000))
def test_features_in_unit_interval_and_gain_invariant(hcqt, seed, gain, n):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, n, generator=g) * 0.1
    # the invariance holds while the scaled example is above the silence floor (``amin``); below it the
    # features are all 0 by design (tested in test_silent_input_gives_zero_features_and_warns)
    assume(float(hcqt.power(gain * x).max()) > 10 * hcqt.amin)
    f1, f2 = hcqt(x), hcqt(gain * x)
    assert float(f1.min()) >= 0.0 and float(f1.max()) <= 1.0
    assert float(f1.max()) == pytest.approx(1.0)
    assert f1.shape[-1] == 1 + n // 256
    # dB relative to the example's max: invariant to the input gain
    torch.testing.assert_close(f1, f2, rtol=0, atol=2e-4)
    assert float(f1[0][~hcqt.valid_mask].abs().max()) == 0.0


def test_power_to_features_reference_and_silence():
    p = torch.tensor([[[1.0, 0.1, 1e-9, 0.0]]])
    f = power_to_features(p, 80.0)
    torch.testing.assert_close(f, torch.tensor([[[1.0, 0.875, 0.0, 0.0]]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        power_to_features(p, 80.0)  # no warning when not silent


def test_silent_input_gives_zero_features_and_warns(hcqt):
    x = torch.full((1, 2048), 1e-9)  # power far below the silence floor amin
    with pytest.warns(UserWarning, match="silent"):
        feats = hcqt(x)
    assert float(feats.abs().max()) == 0.0
