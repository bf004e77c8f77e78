"""Differentiable harmonic synthesizer (DDSP-style) used by paper 000.

Frame-rate controls (f0 in Hz and one amplitude per harmonic) are turned into
audio by an additive bank of sinusoids at integer multiples of f0:

``s(n) = sum_h a_h(n) sin(phi_h(n))``, ``phi_h(n) = sum_{m <= n} 2 pi h f0(m) / sr``

Conventions (those of DDSP and of the authors' code, which produced Table 1):

* the phase is the *inclusive* cumulative sum of the angular frequency, so all
  initial phases are zero "before" sample 0 and ``phi_h(0) = 2 pi h f0(0) / sr``;
* f0 is upsampled from frames to samples by linear interpolation with
  half-sample-centred coordinates (``align_corners=False``; frame ``t`` sits at
  sample ``(t + 0.5) * N / T - 0.5``, held flat beyond the first/last centre);
* amplitudes are upsampled by Hann-window overlap-add (50 % overlap, hop
  ``N / T``; frame ``t`` sits at sample ``t * N / T`` and the last frame is
  held for one extra hop), which is smooth and exact for constant controls;
* harmonics at or above Nyquist are silenced, at frame rate before the
  amplitude upsampling and again at sample rate.

All functions work on any device (float32 or float64); gradients flow to f0
and to the amplitudes.  Both upsamplers are applied as small (T, N) matrix
products, so their backward passes are deterministic on GPUs too.  The phase is accumulated in float64 and wrapped to
``[0, 2 pi)`` before the sine, which removes the float32 phase drift of a
plain ``cumsum`` (the values are otherwise the same).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

__all__ = ["harmonic_frequencies", "remove_above_nyquist", "upsample_linear",
           "upsample_with_windows", "oscillator_bank", "harmonic_synth"]


def harmonic_frequencies(f0_hz: torch.Tensor, n_harmonics: int) -> torch.Tensor:
    """Integer multiples of f0.

    Parameters
    ----------
    f0_hz : Tensor, shape (..., T)
        Fundamental frequencies in Hz.
    n_harmonics : int
        Number of harmonics H (harmonic numbers 1..H).

    Returns
    -------
    Tensor, shape (..., T, H)
        ``f0_hz[..., None] * [1, 2, ..., H]`` in Hz.
    """
    if int(n_harmonics) != n_harmonics or n_harmonics < 1:
        raise ValueError(f"n_harmonics={n_harmonics!r} must be a positive integer")
    ratios = torch.arange(1, int(n_harmonics) + 1, device=f0_hz.device, dtype=f0_hz.dtype)
    return f0_hz.unsqueeze(-1) * ratios


def remove_above_nyquist(frequencies_hz: torch.Tensor, amplitudes: torch.Tensor,
                         sample_rate: float) -> torch.Tensor:
    """Zero the amplitudes of partials at or above the Nyquist frequency.

    Parameters
    ----------
    frequencies_hz, amplitudes : Tensor, same shape
        Partial frequencies in Hz and their linear amplitudes.
    sample_rate : float
        Sample rate in Hz; partials with ``f >= sample_rate / 2`` are removed.

    Returns
    -------
    Tensor
        ``amplitudes`` with the offending entries set to 0 (differentiable
        for the others).
    """
    return torch.where(frequencies_hz >= sample_rate / 2.0, torch.zeros_like(amplitudes), amplitudes)


def upsample_linear(frames: torch.Tensor, n_samples: int) -> torch.Tensor:
    """Linear interpolation from frame rate to sample rate (``align_corners=False``).

    Parameters
    ----------
    frames : Tensor, shape (B, T, C)
    n_samples : int

    Returns
    -------
    Tensor, shape (B, n_samples, C)
    """
    if frames.ndim != 3:
        raise ValueError(f"upsample_linear expects (B, T, C) frames, got shape {tuple(frames.shape)}")
    if int(n_samples) < 1:
        raise ValueError(f"n_samples={n_samples!r} must be >= 1")
    matrix = _matrix(_linear_matrix, frames.shape[1], int(n_samples), frames)
    return torch.einsum("btc,tn->bnc", frames, matrix)


def upsample_with_windows(frames: torch.Tensor, n_samples: int) -> torch.Tensor:
    """Hann-window overlap-add upsampling (DDSP ``upsample_with_windows``, ``add_endpoint=True``).

    Parameters
    ----------
    frames : Tensor, shape (B, T, C)
    n_samples : int
        Output length; must be a multiple of ``T`` (hop = ``n_samples // T``).

    Returns
    -------
    Tensor, shape (B, n_samples, C)
        Sample ``t * hop`` equals frame ``t``; between two frames the values
        cross-fade with complementary raised-cosine weights (the periodic Hann
        window of length ``2 * hop`` sums to one at 50 % overlap).

    Raises
    ------
    ValueError
        ``n_samples`` not a multiple of ``T``, or fewer samples than frames.
    """
    if frames.ndim != 3:
        raise ValueError(f"upsample_with_windows expects (B, T, C) frames, got shape {tuple(frames.shape)}")
    n_frames = frames.shape[1]
    n_samples = int(n_samples)
    if n_samples < n_frames or n_samples % n_frames:
        raise ValueError(f"upsample_with_windows needs n_samples ({n_samples}) to be a multiple of the "
                         f"number of frames ({n_frames}); choose N = frames * hop")
    matrix = _matrix(_window_matrix, n_frames, n_samples, frames)
    return torch.einsum("btc,tn->bnc", frames, matrix)


# Both upsamplers are linear maps (T frames -> N samples) applied as a small
# (T, N) matrix product: the same values as F.interpolate / conv_transpose1d,
# but the backward pass is a plain matrix product, deterministic on every
# device (interpolate's CUDA backward uses atomic adds).

@functools.lru_cache(maxsize=32)
def _linear_matrix(n_frames: int, n_samples: int) -> np.ndarray:
    pos = (np.arange(n_samples) + 0.5) * n_frames / n_samples - 0.5  # frame coordinate per sample
    pos = np.clip(pos, 0.0, n_frames - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_frames - 1)
    frac = pos - lo
    m = np.zeros((n_frames, n_samples))
    m[lo, np.arange(n_samples)] += 1.0 - frac
    m[hi, np.arange(n_samples)] += frac
    return m


@functools.lru_cache(maxsize=32)
def _window_matrix(n_frames: int, n_samples: int) -> np.ndarray:
    hop = n_samples // n_frames
    k = np.arange(2 * hop)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * k / (2 * hop))  # periodic Hann, length 2 * hop
    full = np.zeros((n_frames + 1, (n_frames + 2) * hop))
    for t in range(n_frames + 1):  # frame t's window starts at t * hop (before the trim)
        full[t, t * hop:t * hop + 2 * hop] = window
    m = full[:, hop:hop + n_samples]
    m[n_frames - 1] += m[n_frames]  # the held last frame adds to the last frame's weights
    return m[:n_frames]


def _matrix(builder, n_frames: int, n_samples: int, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(builder(int(n_frames), int(n_samples)), dtype=like.dtype, device=like.device)


def oscillator_bank(frequencies_hz: torch.Tensor, amplitudes: torch.Tensor,
                    sample_rate: float) -> torch.Tensor:
    """Sum of sinusoids with sample-wise frequencies and amplitudes.

    Parameters
    ----------
    frequencies_hz : Tensor, shape (B, N, K)
        Sample-wise frequencies in Hz.
    amplitudes : Tensor, shape (B, N, K)
        Sample-wise linear amplitudes.
    sample_rate : float
        Hz.

    Returns
    -------
    Tensor, shape (B, N)
        ``sum_k a_k(n) sin(phi_k(n))`` with ``phi_k`` the inclusive cumulative
        sum of ``2 pi f_k / sample_rate`` (float64, wrapped to [0, 2 pi));
        partials at or above Nyquist are silenced.
    """
    amplitudes = remove_above_nyquist(frequencies_hz, amplitudes, sample_rate)
    omega = frequencies_hz.double() * (2.0 * math.pi / float(sample_rate))
    phase = torch.remainder(torch.cumsum(omega, dim=1), 2.0 * math.pi).to(amplitudes.dtype)
    return (amplitudes * torch.sin(phase)).sum(-1)


def harmonic_synth(f0_hz: torch.Tensor, amplitudes: torch.Tensor, n_samples: int,
                   sample_rate: float) -> torch.Tensor:
    """Harmonic synthesizer: frame-rate f0 and harmonic amplitudes to audio.

    Parameters
    ----------
    f0_hz : Tensor, shape (B, T)
        Frame-wise fundamental frequency in Hz (> 0).
    amplitudes : Tensor, shape (B, T, H)
        Frame-wise linear amplitude of harmonics 1..H (no normalisation is
        applied: the amplitudes are used as given).
    n_samples : int
        Output length N; a multiple of T (the hop is N / T samples).
    sample_rate : float
        Hz.

    Returns
    -------
    Tensor, shape (B, N)
        The synthesized audio (float32).

    Raises
    ------
    ValueError
        Shape mismatches or ``n_samples`` not a multiple of ``T``.
    """
    if f0_hz.ndim != 2 or amplitudes.ndim != 3 or amplitudes.shape[:2] != f0_hz.shape:
        raise ValueError(f"harmonic_synth expects f0 (B, T) and amplitudes (B, T, H); got "
                         f"{tuple(f0_hz.shape)} and {tuple(amplitudes.shape)}")
    # Rows are independent: synthesize them in blocks whose (rows, N, H) sample-rate
    # tensors stay in cache (forward and backward), not in one pass over the batch.
    rows = max(1, SYNTH_BLOCK_ELEMENTS // max(n_samples * amplitudes.shape[-1], 1))
    if f0_hz.shape[0] > rows:
        return torch.cat([_harmonic_synth_rows(f0_hz[i:i + rows], amplitudes[i:i + rows], n_samples,
                                               sample_rate) for i in range(0, f0_hz.shape[0], rows)])
    return _harmonic_synth_rows(f0_hz, amplitudes, n_samples, sample_rate)


#: Sample-rate elements (rows x N x H) per block of :func:`harmonic_synth`: 4 rows of 4096 samples x
#: 20 harmonics, whose float64 phases (2.6 MB) stay in cache.
SYNTH_BLOCK_ELEMENTS = 4 * 4096 * 20


def _harmonic_synth_rows(f0_hz: torch.Tensor, amplitudes: torch.Tensor, n_samples: int,
                         sample_rate: float) -> torch.Tensor:
    """:func:`harmonic_synth` of a block of rows (validated by the caller)."""
    n_harmonics = amplitudes.shape[-1]
    frame_freqs = harmonic_frequencies(f0_hz, n_harmonics)               # (B, T, H)
    amplitudes = remove_above_nyquist(frame_freqs, amplitudes, sample_rate)
    amp_env = upsample_with_windows(amplitudes, n_samples)                # (B, N, H)
    f0_env = upsample_linear(f0_hz.unsqueeze(-1), n_samples)[..., 0]      # (B, N)
    freq_env = harmonic_frequencies(f0_env, n_harmonics)                  # (B, N, H)
    amp_env = remove_above_nyquist(freq_env, amp_env, sample_rate)
    # The harmonics' frequencies are h * f0, so their phases are h times the
    # fundamental's: one float64 cumsum instead of H (same values as
    # oscillator_bank(freq_env, amp_env, sample_rate) to float32 precision).
    phase0 = torch.cumsum(f0_env.double() * (2.0 * math.pi / float(sample_rate)), dim=1)
    ratios = torch.arange(1, n_harmonics + 1, device=f0_hz.device, dtype=torch.float64)
    phase = torch.remainder(phase0.unsqueeze(-1) * ratios, 2.0 * math.pi).to(amp_env.dtype)
    return (amp_env * torch.sin(phase)).sum(-1)
