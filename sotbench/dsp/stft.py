"""Short-time Fourier transform front-end shared by the spectral losses.

Conventions
-----------
* Input signals are ``(B, N)`` (or ``(N,)``) float tensors; output spectra are
  ``(B, T, F)`` with ``F = n_fft // 2 + 1`` one-sided bins at
  ``k * sample_rate / n_fft`` Hz (see :func:`bin_frequencies`).
* Windows are *periodic* (DFT-even), as ``scipy.signal.get_window(name, n)``
  and ``torch.hann_window(n)`` return them.
* ``normalized=True`` multiplies the DFT by ``1 / sqrt(n_fft)`` (torch's
  ``normalized`` flag), as in Torres et al. (2024).
* Framing: ``center=True`` pads ``n_fft // 2`` zeros on both sides (torch's
  convention, constant padding).  ``pad_end=True`` (with ``center=False``)
  mimics ``tf.signal.stft(pad_end=True)`` as in DDSP and the SOT authors' code:
  zeros are appended so that frames are taken every ``hop`` samples until one
  starts past the last ``hop`` block (``ceil(N / hop)`` frames).  With neither,
  only frames that fit entirely in the signal are used
  (``1 + (N - n_fft) // hop`` frames).
"""
from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import torch

__all__ = ["get_window", "stft", "spectrogram", "bin_frequencies", "n_frames", "check_signals"]

WindowName = Literal["hann", "flattop"]
_WINDOWS = ("hann", "flattop")


@functools.lru_cache(maxsize=64)
def _window_np(name: str, n: int) -> np.ndarray:
    import scipy.signal

    return scipy.signal.get_window(name, n, fftbins=True).astype(np.float64)


def get_window(name: str, n: int, *, dtype: torch.dtype = torch.float32,
               device: torch.device | str | None = None) -> torch.Tensor:
    """Periodic analysis window ``name`` of length ``n``.

    Parameters
    ----------
    name : {"hann", "flattop"}
        Window family (scipy's definitions; flattop is scipy's 5-term
        flat-top window, as used by the SOT authors).
    n : int
        Length in samples (>= 1).

    Returns
    -------
    Tensor, shape (n,)
    """
    if name not in _WINDOWS:
        raise ValueError(f"window={name!r} is not supported; use one of {_WINDOWS}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"window length n={n!r} must be a positive integer")
    return torch.as_tensor(_window_np(name, int(n)), dtype=dtype, device=device)


def bin_frequencies(n_fft: int, sample_rate: float) -> np.ndarray:
    """Centre frequency in Hz of each one-sided DFT bin, shape ``(n_fft // 2 + 1,)``."""
    return np.fft.rfftfreq(int(n_fft), d=1.0 / float(sample_rate))


def n_frames(n_samples: int, n_fft: int, hop_length: int, *, center: bool = False,
             pad_end: bool = False) -> int:
    """Number of STFT frames for a signal of ``n_samples`` (see module conventions)."""
    if center:
        return 1 + n_samples // hop_length
    if pad_end:
        return -(-n_samples // hop_length)
    return 1 + (n_samples - n_fft) // hop_length


def _as_batch(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (B, N) or (N,), "
                         f"got {type(x).__name__}")
    if x.ndim == 1:
        x = x.unsqueeze(0)
    if x.ndim != 2:
        raise ValueError(f"{name} has shape {tuple(x.shape)}; pass signals of shape "
                         f"(B, N) or (N,)")
    if not x.is_floating_point():
        raise ValueError(f"{name} has dtype {x.dtype}; pass float32/float64 audio")
    return x


def stft(x: torch.Tensor, n_fft: int, hop_length: int, *, window: str = "hann",
         center: bool = False, pad_end: bool = False, normalized: bool = True,
         name: str = "signal") -> torch.Tensor:
    """Complex STFT of a batch of signals.

    Parameters
    ----------
    x : Tensor, shape (B, N) or (N,)
        Real signals.
    n_fft : int
        Window and DFT size in samples.
    hop_length : int
        Hop between frames in samples.
    window, center, pad_end, normalized
        See the module conventions.
    name : str
        Name used in error messages.

    Returns
    -------
    Tensor, complex, shape (B, T, n_fft // 2 + 1)

    Raises
    ------
    ValueError
        Wrong shape or dtype, ``N < n_fft`` (shorter than the window), bad sizes.
    """
    x = _as_batch(x, name)
    if not (isinstance(n_fft, (int, np.integer)) and n_fft >= 2):
        raise ValueError(f"n_fft={n_fft!r} must be an integer >= 2")
    if not (isinstance(hop_length, (int, np.integer)) and hop_length >= 1):
        raise ValueError(f"hop_length={hop_length!r} must be a positive integer")
    n = x.shape[-1]
    if n < n_fft:
        raise ValueError(
            f"{name} has {n} samples, shorter than the window n_fft={n_fft}; pass longer "
            f"signals or a smaller n_fft")
    if pad_end and not center:
        frames = n_frames(n, n_fft, hop_length, pad_end=True)
        pad = max(0, n_fft + hop_length * (frames - 1) - n)
        if pad:
            x = torch.nn.functional.pad(x, (0, pad))
    win = get_window(window, int(n_fft), dtype=x.dtype, device=x.device)
    spec = torch.stft(x, n_fft=int(n_fft), hop_length=int(hop_length), win_length=int(n_fft),
                      window=win, center=center, pad_mode="constant",
                      normalized=normalized, onesided=True, return_complex=True)
    return spec.transpose(-1, -2)


def spectrogram(x: torch.Tensor, n_fft: int, hop_length: int, *, window: str = "hann",
                center: bool = False, pad_end: bool = False, normalized: bool = True,
                power: bool = False, name: str = "signal") -> torch.Tensor:
    """Magnitude (``power=False``) or power (``power=True``) STFT, shape (B, T, F).

    Power is ``re**2 + im**2`` (smooth everywhere).  Magnitude is its square
    root, with a zero (not NaN) gradient at exactly zero magnitude.
    """
    spec = stft(x, n_fft, hop_length, window=window, center=center, pad_end=pad_end,
                normalized=normalized, name=name)
    pw = spec.real.square() + spec.imag.square()
    if power:
        return pw
    return _safe_sqrt(pw)


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    pos = x > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, x, torch.ones_like(x))),
                       torch.zeros_like(x))


def check_signals(pred: torch.Tensor, target: torch.Tensor, min_length: int,
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a (prediction, target) pair of signal batches for a spectral loss.

    Returns both as (B, N).  Raises ValueError for non-tensors, wrong ranks,
    mismatched shapes, NaN/Inf samples or ``N < min_length``.
    """
    pred = _as_batch(pred, "pred")
    target = _as_batch(target, "target")
    if pred.shape != target.shape:
        raise ValueError(f"pred has shape {tuple(pred.shape)} but target has "
                         f"{tuple(target.shape)}; pass signals of the same (B, N) shape")
    if pred.shape[-1] < min_length:
        raise ValueError(f"signals have {pred.shape[-1]} samples, shorter than the largest "
                         f"window ({min_length}); pass longer signals or smaller windows")
    for name, x in (("pred", pred), ("target", target)):
        if not bool(torch.isfinite(x.detach()).all()):
            bad = int((~torch.isfinite(x.detach())).sum())
            raise ValueError(f"{name} holds {bad} NaN/Inf sample(s); pass finite audio")
    if pred.dtype != target.dtype:
        dtype = torch.promote_types(pred.dtype, target.dtype)
        pred, target = pred.to(dtype), target.to(dtype)
    return pred, target

