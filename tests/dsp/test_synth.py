"""Harmonic synthesizer: closed forms for constant controls, Nyquist removal, interpolation, gradients."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sotbench.dsp.synth import (
    SYNTH_BLOCK_ELEMENTS,
    harmonic_frequencies,
    harmonic_synth,
    oscillator_bank,
    remove_above_nyquist,
    upsample_linear,
    upsample_with_windows,
)

SR = 16000
N = 4096
T = 16


def closed_form(f0, amps, n=N, sr=SR):
    """float64 sum_h a_h sin(2 pi h f0 (n + 1) / sr), harmonics at/above Nyquist dropped."""
    t = np.arange(1, n + 1)
    out = np.zeros(n)
    for h, a in enumerate(amps, start=1):
        if h * f0 < sr / 2:
            out += a * np.sin(2 * np.pi * np.mod(h * f0 * t / sr, 1.0))
    return out


U32 = 2.0 ** -24  # float32 unit roundoff


def float32_error_bound(f0, amps, n=N, sr=SR):
    """Per-sample worst-case |harmonic_synth - closed_form| for constant float32 controls.

    First-order rounding analysis of the synthesizer's float32 path:

    * the sample-rate f0 is a float32 product of f0 with two interpolation
      weights, summed: ``|f0_env - f0| <= 4 u f0`` (weights, products, sum);
    * that frequency error accumulates in the (float64) phase of harmonic h:
      ``2 pi h (n + 1) * 4 u f0 / sr`` radians after sample n (n + 1 terms);
    * the wrapped phase is cast to float32 (``<= 2 pi u``), the sine and the
      amplitude envelope (two Hann weights) round once more (``<= 6 u`` per
      unit amplitude), and summing k partials adds ``<= k u sum(a)``.

    The first term grows with f0 * h * n, so a fixed tolerance fails for high
    f0, many partials and late samples (issue 14: 1.03e-4 at f0 681.6 Hz,
    k = 7); this bound does not depend on the draw.
    """
    h = np.arange(1, len(amps) + 1)
    a = np.asarray(amps, dtype=np.float64) * (h * f0 < sr / 2)
    t = np.arange(1, n + 1)
    phase = a @ (2 * np.pi * h[:, None] * t[None, :] * 4 * U32 * f0 / sr)
    return phase + a.sum() * (2 * np.pi * U32 + 6 * U32 + len(amps) * U32)


def constant(f0, amps):
    f0_t = torch.full((1, T), float(f0))
    a_t = torch.tensor(amps, dtype=torch.float32).expand(1, T, len(amps)).clone()
    return f0_t, a_t


def test_constant_controls_give_the_closed_form():
    amps = [1.0, 0.5, 0.25, 0.8]
    f0_t, a_t = constant(440.0, amps)
    y = harmonic_synth(f0_t, a_t, N, SR)[0].double().numpy()
    np.testing.assert_allclose(y, closed_form(440.0, amps), atol=2e-5)


def test_partials_above_nyquist_are_removed():
    amps = [1.0, 1.0, 1.0]  # 3000, 6000, 9000 Hz: the third is above Nyquist
    f0_t, a_t = constant(3000.0, amps)
    y = harmonic_synth(f0_t, a_t, N, SR)[0].double().numpy()
    np.testing.assert_allclose(y, closed_form(3000.0, amps[:2]), atol=2e-5)
    f = torch.tensor([7999.0, 8000.0, 8001.0])
    assert remove_above_nyquist(f, torch.ones(3), SR).tolist() == [1.0, 0.0, 0.0]


def test_phase_is_accurate_at_high_frequency():
    # float32 cumsum would drift by ~1e-3 rad here; the float64 phase stays exact
    f0_t, a_t = constant(1949.0, [1.0] * 4)
    y = harmonic_synth(f0_t, a_t, N, SR)[0].double().numpy()
    np.testing.assert_allclose(y, closed_form(1949.0, [1.0] * 4), atol=2e-5)


def test_harmonic_frequencies():
    f = harmonic_frequencies(torch.tensor([[100.0, 200.0]]), 3)
    assert f.shape == (1, 2, 3)
    assert f[0, 1].tolist() == [200.0, 400.0, 600.0]
    with pytest.raises(ValueError):
        harmonic_frequencies(torch.ones(1, 2), 0)


def test_upsample_with_windows_hits_frames_and_crossfades():
    frames = torch.tensor([[[1.0], [3.0], [-2.0], [0.5]]])  # (1, 4, 1)
    y = upsample_with_windows(frames, 64)[0, :, 0]
    hop = 16
    assert torch.allclose(y[::hop], frames[0, :, 0])
    # midway between frames 0 and 1: Hann weights 0.5/0.5
    assert y[hop // 2].item() == pytest.approx(2.0, abs=1e-6)
    # the last frame is held
    assert torch.allclose(y[3 * hop:], torch.full((hop,), 0.5))
    const = upsample_with_windows(torch.full((2, 16, 3), 0.7), N)
    assert torch.allclose(const, torch.full_like(const, 0.7), atol=1e-6)
    with pytest.raises(ValueError, match="multiple"):
        upsample_with_windows(frames, 63)


def test_upsample_linear_half_sample_grid():
    frames = torch.tensor([[[0.0], [10.0]]])
    y = upsample_linear(frames, 8)[0, :, 0].numpy()
    pos = (np.arange(8) + 0.5) * 2 / 8 - 0.5  # frame coordinate of each sample
    np.testing.assert_allclose(y, np.interp(pos, [0, 1], [0, 10]), atol=1e-6)


def test_upsamplers_equal_interpolate_and_overlap_add_references():
    g = torch.Generator().manual_seed(1)
    frames = torch.randn(2, 16, 3, generator=g, dtype=torch.float64)
    ref = torch.nn.functional.interpolate(frames.transpose(1, 2), size=N, mode="linear",
                                          align_corners=False).transpose(1, 2)
    assert torch.allclose(upsample_linear(frames, N), ref, atol=1e-12)
    # DDSP overlap-add: hold the last frame, Hann windows of 2 * hop every hop, trim hop at both ends
    hop = N // 16
    held = torch.cat([frames, frames[:, -1:]], 1).transpose(1, 2).reshape(6, 1, 17)
    window = torch.hann_window(2 * hop, periodic=True, dtype=torch.float64)
    ola = torch.nn.functional.conv_transpose1d(held, window.view(1, 1, -1), stride=hop)
    ola = ola[:, 0, hop:hop + N].reshape(2, 3, N).transpose(1, 2)
    assert torch.allclose(upsample_with_windows(frames, N), ola, atol=1e-12)


def test_fast_harmonic_path_equals_generic_oscillator_bank():
    g = torch.Generator().manual_seed(0)
    f0 = 100 + 900 * torch.rand(2, T, generator=g)
    amps = torch.rand(2, T, 20, generator=g)
    y = harmonic_synth(f0, amps, N, SR)
    freqs = harmonic_frequencies(upsample_linear(f0[..., None], N)[..., 0], 20)
    env = upsample_with_windows(remove_above_nyquist(harmonic_frequencies(f0, 20), amps, SR), N)
    ref = oscillator_bank(freqs, env, SR)
    assert torch.allclose(y, ref, atol=2e-4)


def test_blocked_batch_equals_row_by_row_values_and_gradients():
    # harmonic_synth evaluates large batches in blocks of rows (for cache locality): it must
    # give each row what the row alone gives, forward and backward
    rows = 2 * SYNTH_BLOCK_ELEMENTS // (N * 20) + 3
    g = torch.Generator().manual_seed(1)
    f0 = (60 + 1500 * torch.rand(rows, T, generator=g)).requires_grad_()
    amps = torch.rand(rows, T, 20, generator=g).requires_grad_()
    weights = torch.randn(rows, N, generator=g)
    (harmonic_synth(f0, amps, N, SR) * weights).sum().backward()
    for i in range(rows):
        f0_i, amps_i = f0[i:i + 1].detach().requires_grad_(), amps[i:i + 1].detach().requires_grad_()
        y_i = harmonic_synth(f0_i, amps_i, N, SR)
        (y_i * weights[i:i + 1]).sum().backward()
        assert torch.equal(y_i[0], harmonic_synth(f0[i:i + 1], amps[i:i + 1], N, SR)[0].detach())
        # gradients sum N per-sample terms; blocks change the summation order only, so the
        # difference is bounded by N float32 roundings of the largest gradient
        bound = N * torch.finfo(torch.float32).eps
        assert torch.allclose(f0.grad[i], f0_i.grad[0], rtol=0, atol=bound * float(f0_i.grad.abs().max()))
        assert torch.allclose(amps.grad[i], amps_i.grad[0], rtol=0, atol=bound * float(amps_i.grad.abs().max()))


def test_gradients_reach_f0_and_amplitudes():
    f0 = torch.full((1, T), 220.0, requires_grad=True)
    amps = torch.full((1, T, 5), 0.5, requires_grad=True)
    target = torch.tensor(closed_form(230.0, [0.5] * 5), dtype=torch.float32)[None]
    loss = (harmonic_synth(f0, amps, N, SR) - target).pow(2).mean()
    loss.backward()
    assert torch.isfinite(f0.grad).all() and f0.grad.abs().sum() > 0
    assert torch.isfinite(amps.grad).all() and amps.grad.abs().sum() > 0


def test_bad_shapes():
    with pytest.raises(ValueError):
        harmonic_synth(torch.ones(1, T), torch.ones(1, T + 1, 3), N, SR)
    with pytest.raises(ValueError, match="multiple"):
        harmonic_synth(torch.ones(1, T) * 100, torch.ones(1, T, 3), N + 1, SR)


@pytest.mark.property
@settings(max_examples=25, deadline=None)
@given(f0=st.floats(40, 1950), k=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_property_constant_tone_matches_closed_form(f0, k, seed):
    amps = list(np.random.default_rng(seed).uniform(0.4, 1.0, size=k))
    f0 = float(np.float32(f0))  # the synthesizer sees float32 controls
    f0_t, a_t = constant(f0, amps)
    y = harmonic_synth(f0_t, a_t, N, SR)[0].double().numpy()
    bound = float32_error_bound(f0, amps)
    assert np.all(np.abs(y - closed_form(f0, amps)) <= bound)
    assert math.isfinite(float(np.abs(y).max()))


def test_error_bound_is_tight_enough_to_catch_a_one_sample_phase_slip():
    # the bound must stay far below the error of a real defect (phase off by one sample)
    f0, amps = float(np.float32(1949.0)), [1.0] * 4
    bound = float32_error_bound(f0, amps)
    slipped = closed_form(f0, amps, n=N + 1)[1:]
    assert bound.max() < 0.01 * np.abs(slipped - closed_form(f0, amps)).max()


def test_issue_14_draw_passes_under_the_bound():
    f0, k, seed = 681.635, 7, 683
    amps = list(np.random.default_rng(seed).uniform(0.4, 1.0, size=k))
    f0 = float(np.float32(f0))
    y = harmonic_synth(*constant(f0, amps), N, SR)[0].double().numpy()
    assert np.all(np.abs(y - closed_form(f0, amps)) <= float32_error_bound(f0, amps))
