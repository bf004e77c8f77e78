r"""SOT on other spectral transforms: mel and CQT spectra, positions from the transform.

:class:`TransformSOTLoss` applies SOT's transport
(:func:`sotbench.losses.sot.spectral_transport`: cutoff / balanced /
unbalanced, silent frames, exact gradients) to the frames of any
differentiable transform, with one position per bin.  Two ready-made losses:

* :class:`MelSOTLoss` -- mel power spectrogram (Hann STFT, reflect-centred
  frames, HTK mel filters without area normalization: torchaudio's
  ``MelSpectrogram`` defaults, which sot-loss uses; the filterbank comes from
  librosa, so torchaudio is not needed).  Positions: ``"mel"`` (default,
  uniform on the mel scale, sot-loss's ``linspace(0, 1, n_mels)``), ``"hz"``
  (centre frequencies scaled to [0, 1]) or ``"log"`` (normalized MIDI pitch
  of the centres).
* :class:`CQTSOTLoss` -- magnitude CQT of :mod:`sotbench.dsp.cqt` (paper 000's
  settings by default).  Positions: ``"hz"`` (default: ``(f - f_min) /
  (f_max - f_min)``, sot-loss's ``bin_position_scaling="normalized"``) or
  ``"log"`` (uniform in bin index = log frequency, sot-loss's
  ``"normalized_linear"``).

The loss is the mean over frames and batch of the per-frame :math:`W_p^p`,
as :class:`~sotbench.losses.sot.SOTLoss`.
"""
from __future__ import annotations

import math
from typing import Callable, Literal

import numpy as np
import torch
from torch import nn

from sotbench.dsp.stft import check_signals, spectrogram
from sotbench.losses._checks import check_nonempty, compute_dtype
from sotbench.losses.sot import hz_to_midi, spectral_transport

__all__ = ["TransformSOTLoss", "MelSOTLoss", "CQTSOTLoss", "mel_filterbank"]


def _normalized(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


class TransformSOTLoss(nn.Module):
    """SOT transport on the frames of a spectral transform.

    Parameters
    ----------
    transform : callable
        Maps signals (B, N) to non-negative spectra (B, F, T) (``layout="bins-first"``,
        as nnAudio, torchaudio and sot-loss) or (B, T, F) (``"frames-first"``).
    positions : array-like, shape (F,)
        Position of each bin (the cost is in ``units ** p``).
    layout : {"bins-first", "frames-first"}
        Axis order of the transform's output.
    min_length : int, default 1
        Shortest accepted signal (samples).
    p, cutoff, normalize, root, silence_threshold
        As in :class:`~sotbench.losses.sot.SOTLoss`.

    Notes
    -----
    ``forward(pred, target)`` on signals (B, N) returns the scalar mean of
    :meth:`frame_losses` (B, T).  float16/bfloat16 signals are computed in
    float32 and the result is returned in the input dtype.
    """

    positions: torch.Tensor  # (F,) positions of the transform's bins, a buffer

    def __init__(self, transform: Callable[[torch.Tensor], torch.Tensor], positions, *,
                 layout: Literal["bins-first", "frames-first"] = "bins-first",
                 min_length: int = 1, p: float = 2.0, cutoff: bool = True,
                 normalize: bool = True, root: bool = False,
                 silence_threshold: float = 1e-10) -> None:
        super().__init__()
        if layout not in ("bins-first", "frames-first"):
            raise ValueError(f"layout={layout!r}; use 'bins-first' or 'frames-first'")
        if isinstance(p, bool) or not (isinstance(p, (int, float)) and math.isfinite(p) and p >= 1):
            raise ValueError(f"p={p!r}; pass a real number p >= 1")
        if not normalize and cutoff:
            raise ValueError("normalize=False transports raw spectra; pass cutoff=False")
        try:
            ok = math.isfinite(float(silence_threshold)) and float(silence_threshold) >= 0
        except (TypeError, ValueError):
            ok = False
        if isinstance(silence_threshold, (bool, str)) or not ok:
            raise ValueError(f"silence_threshold={silence_threshold!r} must be a finite number >= 0")
        pos = torch.as_tensor(np.asarray(positions, dtype=np.float64))
        if pos.ndim != 1 or pos.numel() == 0 or not bool(torch.isfinite(pos).all()):
            raise ValueError("positions must be a non-empty 1-D array of finite values")
        self.transform = transform
        self.layout = layout
        self.min_length = int(min_length)
        self.p, self.cutoff, self.normalize = float(p), bool(cutoff), bool(normalize)
        self.root, self.silence_threshold = bool(root), float(silence_threshold)
        self.register_buffer("positions", pos, persistent=False)

    def spectra(self, x: torch.Tensor) -> torch.Tensor:
        """Frames of the transform, shape (B, T, F)."""
        s = self.transform(x)
        if self.layout == "bins-first":
            s = s.transpose(-1, -2)
        if s.shape[-1] != self.positions.shape[0]:
            raise ValueError(f"the transform gives {s.shape[-1]} bins but {self.positions.shape[0]} "
                             f"positions were given")
        return s

    def frame_losses(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-frame :math:`W_p^p` (or :math:`W_p`), shape (B, T)."""
        pred, target = check_signals(pred, target, self.min_length)
        check_nonempty(pred, type(self).__name__)
        out_dtype = pred.dtype
        dtype = compute_dtype(out_dtype)
        s_pred = self.spectra(pred.to(dtype))
        s_tgt = self.spectra(target.to(dtype))
        batch, frames, bins = s_tgt.shape
        w = spectral_transport(s_pred.reshape(-1, bins), s_tgt.reshape(-1, bins),
                               self.positions, p=self.p, cutoff=self.cutoff,
                               normalize=self.normalize, root=self.root,
                               silence_threshold=self.silence_threshold)
        return w.reshape(batch, frames).to(out_dtype)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar loss: mean of :meth:`frame_losses`."""
        return self.frame_losses(pred, target).mean()


def mel_filterbank(sample_rate: float, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """HTK mel filters without normalization (torchaudio's defaults), from librosa.

    Returns
    -------
    weights : ndarray, shape (n_mels, n_fft // 2 + 1)
        Triangular filters on the one-sided DFT bins.
    centres_hz : ndarray, shape (n_mels,)
        Centre frequency of each filter in Hz.
    """
    import librosa

    fmax = sample_rate / 2 if fmax is None else fmax
    if not (0 <= fmin < fmax <= sample_rate / 2):
        raise ValueError(f"fmin={fmin!r}, fmax={fmax!r}: need 0 <= fmin < fmax <= sample_rate / 2")
    weights = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin,
                                  fmax=fmax, htk=True, norm=None, dtype=np.float64)
    centres = librosa.mel_frequencies(n_mels=n_mels + 2, fmin=fmin, fmax=fmax, htk=True)[1:-1]
    return weights, centres


class _MelTransform(nn.Module):
    """Power STFT (Hann, centred with reflect padding) followed by a mel filterbank, (B, T, n_mels)."""

    weights: torch.Tensor  # (n_mels, n_fft // 2 + 1) filterbank, a buffer

    def __init__(self, weights: np.ndarray, n_fft: int, hop_length: int) -> None:
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.register_buffer("weights", torch.as_tensor(weights), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = self.n_fft // 2
        x = torch.nn.functional.pad(x.unsqueeze(-2), (half, half), mode="reflect").squeeze(-2)
        s = spectrogram(x, self.n_fft, self.hop_length, window="hann", normalized=False,
                        power=True)  # (B, T, F)
        return s @ self.weights.to(s.dtype).T  # (B, T, n_mels)


class MelSOTLoss(TransformSOTLoss):
    """SOT on mel power spectrograms (see the module docstring).

    Parameters
    ----------
    sample_rate : float, default 16000
    n_fft, hop_length : int, default 1024, 256
    n_mels : int, default 128
    fmin, fmax : float, optional
        Filterbank range in Hz (default 0 .. Nyquist).
    positions : {"mel", "hz", "log"}, default "mel"
    **transport
        ``p``, ``cutoff``, ``normalize``, ``root``, ``silence_threshold``.
    """

    def __init__(self, sample_rate: float = 16000.0, n_fft: int = 1024, hop_length: int = 256,
                 n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
                 positions: Literal["mel", "hz", "log"] = "mel", **transport) -> None:
        weights, centres = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax)
        if positions == "mel":
            pos = np.linspace(0.0, 1.0, n_mels)
        elif positions == "hz":
            pos = _normalized(centres)
        elif positions == "log":
            if centres[0] <= 0:
                raise ValueError("positions='log' needs fmin > 0 (the first mel centre is 0 Hz)")
            pos = _normalized(hz_to_midi(centres))
        else:
            raise ValueError(f"positions={positions!r}; use 'mel', 'hz' or 'log'")
        super().__init__(_MelTransform(weights, int(n_fft), int(hop_length)), pos,
                         layout="frames-first", min_length=int(n_fft) // 2 + 1, **transport)
        self.centres_hz = centres


class CQTSOTLoss(TransformSOTLoss):
    """SOT on magnitude CQT frames of :class:`sotbench.dsp.cqt.CQT` (see the module docstring).

    Parameters
    ----------
    sample_rate, fmin_hz, n_bins, bins_per_octave, hop_length
        CQT settings (paper 000's by default).
    positions : {"hz", "log"}, default "hz"
    spectrum : {"magnitude", "power"}, default "magnitude"
    **transport
        ``p``, ``cutoff``, ``normalize``, ``root``, ``silence_threshold``.
    """

    def __init__(self, sample_rate: int = 16000, fmin_hz: float = 32.7, n_bins: int = 285,
                 bins_per_octave: int = 36, hop_length: int = 256,
                 positions: Literal["hz", "log"] = "hz",
                 spectrum: Literal["magnitude", "power"] = "magnitude", **transport) -> None:
        from sotbench.dsp.cqt import CQT

        cqt = CQT(sample_rate, fmin_hz, n_bins, bins_per_octave, hop_length)
        freqs = np.asarray(cqt.frequencies_hz, dtype=np.float64)
        if positions == "hz":
            pos = _normalized(freqs)
        elif positions == "log":
            pos = np.linspace(0.0, 1.0, len(freqs))
        else:
            raise ValueError(f"positions={positions!r}; use 'hz' or 'log'")
        if spectrum not in ("magnitude", "power"):
            raise ValueError(f"spectrum={spectrum!r}; use 'magnitude' or 'power'")
        transform = cqt if spectrum == "magnitude" else (lambda x: cqt(x).square())
        super().__init__(transform, pos, layout="bins-first", **transport)
        self.cqt = cqt
        self.frequencies_hz = freqs
