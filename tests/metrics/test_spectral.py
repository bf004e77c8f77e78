"""LSD (paper 000): an independent numpy reference, hand-computed cases, properties."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sotbench.metrics.spectral import log_power_spectrogram, log_spectral_distance


def numpy_log_power(x, n_fft=1024, hop=256, eps=1e-5):
    """Frames by hand: pad the end to ceil(N / hop) frames, periodic Hann, |DFT|^2 / n_fft."""
    n = len(x)
    frames = -(-n // hop)
    padded = np.concatenate([x, np.zeros(max(0, n_fft + hop * (frames - 1) - n))])
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    spec = np.stack([np.fft.rfft(padded[t * hop:t * hop + n_fft] * window) for t in range(frames)], 1)
    power = np.abs(spec) ** 2 / n_fft
    return 10 * np.log10(np.maximum(power, eps))


def numpy_lsd(a, b, **kw):
    return float(np.mean((numpy_log_power(a, **kw) - numpy_log_power(b, **kw)) ** 2))


def test_matches_numpy_reference():
    rng = np.random.default_rng(0)
    a = rng.normal(size=4096) * 0.3
    b = np.sin(2 * np.pi * 440 * np.arange(4096) / 16000) * 0.5
    got = log_spectral_distance(torch.tensor(a), torch.tensor(b)).item()
    assert got == pytest.approx(numpy_lsd(a, b), rel=1e-9)
    spec = log_power_spectrogram(torch.tensor(a)[None])
    assert spec.shape == (1, 513, 16)
    np.testing.assert_allclose(spec[0].numpy(), numpy_log_power(a), atol=1e-9)


def test_identical_signals_give_zero():
    x = torch.randn(3, 4096)
    assert log_spectral_distance(x, x.clone()).item() == 0.0
    z = torch.zeros(2, 4096)
    assert log_spectral_distance(z, z).item() == 0.0


def test_gain_of_ten_gives_400_db2_when_no_bin_hits_the_floor():
    rng = np.random.default_rng(1)
    x = 100 * rng.normal(size=4096)
    assert numpy_log_power(x).min() > -40  # precondition: no bin at the -50 dB floor
    got = log_spectral_distance(torch.tensor(x), torch.tensor(10 * x)).item()
    assert got == pytest.approx(400.0, rel=1e-9)  # (20 dB)^2, no square root


def test_silence_against_a_tone_uses_the_floor():
    x = np.sin(2 * np.pi * 1000 * np.arange(4096) / 16000)
    got = log_spectral_distance(torch.zeros(4096, dtype=torch.float64), torch.tensor(x)).item()
    expected = float(np.mean((numpy_log_power(x) + 50.0) ** 2))  # 10 log10(1e-5) = -50 dB
    assert got == pytest.approx(expected, rel=1e-9)


def test_reductions_and_symmetry():
    a, b = torch.randn(4, 4096), torch.randn(4, 4096)
    per = log_spectral_distance(a, b, reduction="none")
    assert per.shape == (4,)
    assert log_spectral_distance(a, b).item() == pytest.approx(per.mean().item())
    assert torch.allclose(per, log_spectral_distance(b, a, reduction="none"))


@pytest.mark.parametrize("a, b, kw, match", [
    (torch.zeros(2, 100), torch.zeros(2, 101), {}, "same shape"),
    (torch.full((1, 100), float("nan")), torch.zeros(1, 100), {}, "NaN"),
    (torch.zeros(1, 100), torch.zeros(1, 100), {"reduction": "sum"}, "reduction"),
    (torch.zeros(1, 100), torch.zeros(1, 100), {"eps": 0.0}, "eps"),
    (torch.zeros(1, 1, 100), torch.zeros(1, 1, 100), {}, "shape"),
])
def test_bad_input(a, b, kw, match):
    with pytest.raises(ValueError, match=match):
        log_spectral_distance(a, b, **kw)


@pytest.mark.property
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(300, 3000), scale=st.floats(1e-3, 10))
def test_property_symmetric_nonnegative_and_equal_to_reference(seed, n, scale):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n) * scale, rng.normal(size=n)
    ab = log_spectral_distance(torch.tensor(a), torch.tensor(b)).item()
    ba = log_spectral_distance(torch.tensor(b), torch.tensor(a)).item()
    assert ab >= 0 and ab == pytest.approx(ba, rel=1e-12)
    assert ab == pytest.approx(numpy_lsd(a, b), rel=1e-7)
