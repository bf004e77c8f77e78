"""Spectral reconstruction metrics: paper 000's log-spectral distance (LSD).

``LSD(s, s_hat) = mean over frames and bins of (10 log10 P - 10 log10 P_hat)^2``

with ``P = max(|STFT|^2, eps)``: the mean *squared* difference of the power
spectra in decibels, **no square root** (paper 000, Eq. 8, and the authors'
evaluation code).  Its unit is therefore dB^2 (squared decibels), even though
Table 1 of the paper labels the column "LSD [dB]"; sotbench keeps the paper's
numbers comparable and calls the metric ``lsd_db``.

STFT conventions (authors' evaluation code, which produced Table 1):
periodic Hann window of ``n_fft`` = 1024 samples, hop 256, no centring, the
end padded with zeros until the window has slid past the last sample
(``ceil(N / hop)`` frames, TensorFlow's ``pad_end=True``), ``normalized=True``
(the DFT is scaled by ``1 / sqrt(n_fft)``), power clamped below at
``eps = 1e-5`` (i.e. a -50 dB floor on that normalised scale).
"""
from __future__ import annotations

import torch

__all__ = ["log_spectral_distance", "log_power_spectrogram"]


def _as_tensor(x, name: str) -> torch.Tensor:
    t = torch.as_tensor(x)
    if not torch.is_floating_point(t):
        t = t.float()
    if t.dtype not in (torch.float32, torch.float64):
        t = t.float()
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2:
        raise ValueError(f"{name} must be audio of shape (B, N) or (N,), got {tuple(t.shape)}")
    if t.shape[-1] < 1:
        raise ValueError(f"{name} is empty; pass at least one sample")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or infinite samples; check the model output")
    return t


def log_power_spectrogram(audio, *, n_fft: int = 1024, hop_length: int = 256,
                          eps: float = 1e-5) -> torch.Tensor:
    """``10 log10(max(|STFT|^2, eps))`` with the LSD's STFT conventions.

    Parameters
    ----------
    audio : array-like, shape (B, N) or (N,)
        Audio (any sample rate; the metric does not use it).
    n_fft, hop_length : int
        Window length and hop in samples (paper: 1024, 256).
    eps : float
        Power floor (paper: 1e-5).

    Returns
    -------
    Tensor, shape (B, n_fft // 2 + 1, ceil(N / hop_length))
        Log power in dB.
    """
    if int(n_fft) != n_fft or n_fft < 2 or int(hop_length) != hop_length or hop_length < 1:
        raise ValueError(f"n_fft={n_fft!r} and hop_length={hop_length!r} must be integers >= 2 and >= 1")
    if not eps > 0:
        raise ValueError(f"eps={eps!r} must be > 0 (paper: 1e-5)")
    x = _as_tensor(audio, "audio")
    length = x.shape[-1]
    n_frames = -(-length // hop_length)
    pad = max(0, n_fft + hop_length * (n_frames - 1) - length)
    x = torch.nn.functional.pad(x, (0, pad))
    window = torch.hann_window(n_fft, periodic=True, dtype=x.dtype, device=x.device)
    spec = torch.stft(x, n_fft=n_fft, hop_length=hop_length, win_length=n_fft, window=window,
                      center=False, normalized=True, return_complex=True)
    power = spec.real ** 2 + spec.imag ** 2
    return 10.0 * torch.log10(power.clamp_min(eps))


def log_spectral_distance(reference, estimate, *, n_fft: int = 1024, hop_length: int = 256,
                          eps: float = 1e-5, reduction: str = "mean") -> torch.Tensor:
    """Paper 000's log-spectral distance in dB^2 (mean squared dB difference, no square root).

    Parameters
    ----------
    reference, estimate : array-like, shape (B, N) or (N,)
        Target and reconstructed audio of equal shape.
    n_fft, hop_length : int
        STFT window and hop (paper: 1024, 256).
    eps : float
        Power floor before the log (paper: 1e-5).
    reduction : {"mean", "none"}
        ``"none"`` gives one value per example, shape (B,); ``"mean"`` their
        mean (all examples have the same number of frames and bins, so this is
        also the mean over every frame and bin of the batch).

    Returns
    -------
    Tensor
        Scalar or (B,), in dB^2; 0 for identical inputs.

    Raises
    ------
    ValueError
        Shape mismatch, empty or non-finite audio, bad STFT settings or
        an unknown reduction.
    """
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction={reduction!r}; use 'mean' or 'none'")
    ref = _as_tensor(reference, "reference")
    est = _as_tensor(estimate, "estimate")
    if ref.shape != est.shape:
        raise ValueError(f"reference {tuple(ref.shape)} and estimate {tuple(est.shape)} must have "
                         f"the same shape")
    dtype = torch.promote_types(ref.dtype, est.dtype)
    diff = (log_power_spectrogram(ref.to(dtype), n_fft=n_fft, hop_length=hop_length, eps=eps)
            - log_power_spectrogram(est.to(ref.device, dtype), n_fft=n_fft, hop_length=hop_length, eps=eps))
    per_example = (diff ** 2).mean(dim=(1, 2))
    return per_example.mean() if reduction == "mean" else per_example
