"""Constant-Q transform at paper 000's settings, on any device.

Paper 000 (SOT harmonic autoencoder) feeds its encoder the *linear* magnitude
of an nnAudio CQT: 16 kHz, lowest bin 32.7 Hz (C1), 36 bins per octave, 285
bins (up to about 7.72 kHz), hop 256, centred frames with zero ("constant")
padding.  The authors used nnAudio's ``CQT`` (= ``CQT1992v2``: time-domain
kernels convolved with the signal) and hard-wired it to CUDA, so their code
cannot run on a CPU.  :class:`CQT` here fixes that: it is an ordinary
``nn.Module`` whose kernels are non-persistent buffers that follow
``.to(device)``.

Implementations (``implementation=``)
-------------------------------------
``"cropped"`` (default)
    nnAudio's ``CQT1992v2`` kernels, evaluated exactly but only over the taps
    that can touch the signal.  ``CQT1992v2`` zero-pads every kernel to the
    longest one (32,768 taps here, far longer than a 4,095-sample clip) and
    pads the signal by half that on each side, so most of its multiply-adds
    hit zeros.  Splitting the bins into octave groups, each cut to its own
    non-zero support and to the window of taps that overlap the signal, gives
    the same numbers (float32 rounding, relative error ~1e-7) with far fewer
    multiply-adds (timings: ``docs/performance.md`` and ``benchmarks/bench_transforms.py``).
``"nnaudio-1992v2"``
    nnAudio's ``CQT1992v2`` itself (the authors' transform; the reference
    the tests compare against).
``"nnaudio-2010v2"``
    nnAudio's ``CQT2010v2`` (octave-wise downsampling).  Fast but *not* the
    authors' transform: its anti-aliasing filters change
    the magnitudes by ~4 % overall and by ~50 % in the lowest octave
    (32.7-65 Hz, where f0s of 40-65 Hz live), so it is offered for
    comparison only.  ``nnAudio.features.VQT(gamma=0)`` gives the same
    numbers as ``CQT2010v2`` here.

Conventions
-----------
Input ``(B, L)`` float32 audio; output ``(B, n_bins, T)`` linear magnitudes
with ``T = L // hop_length + 1`` frames, frame ``t`` centred on sample
``t * hop_length``; nnAudio's "librosa" normalisation (kernels L1-normalised,
output scaled by the square root of the kernel lengths).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CQT", "cqt_frequencies", "IMPLEMENTATIONS"]

IMPLEMENTATIONS = ("cropped", "nnaudio-1992v2", "nnaudio-2010v2")


def cqt_frequencies(fmin_hz: float = 32.7, n_bins: int = 285, bins_per_octave: int = 36) -> np.ndarray:
    """Centre frequencies of the CQT bins in Hz: ``fmin_hz * 2 ** (k / bins_per_octave)``.

    Returns
    -------
    ndarray, shape (n_bins,)
        float64 frequencies in Hz (bin 0 = ``fmin_hz``).
    """
    return float(fmin_hz) * 2.0 ** (np.arange(int(n_bins)) / float(bins_per_octave))


class CQT(nn.Module):
    """Magnitude CQT (paper 000 settings by default) usable on CPU and GPU.

    Parameters
    ----------
    sample_rate : int
        Sample rate of the input in Hz (paper: 16000).
    fmin_hz : float
        Centre frequency of the lowest bin in Hz (paper: 32.7, C1).
    n_bins : int
        Number of bins (paper: 285, i.e. 7 11/12 octaves).
    bins_per_octave : int
        Bins per octave (paper: 36, three per semitone).
    hop_length : int
        Frame hop in samples (paper: 256).
    implementation : {"cropped", "nnaudio-1992v2", "nnaudio-2010v2"}
        See the module docstring; ``"cropped"`` equals ``"nnaudio-1992v2"``.

    Raises
    ------
    ValueError
        Non-positive sizes, an unknown implementation, or a top bin at or above
        the Nyquist frequency.

    Notes
    -----
    Frames are centred with zero padding (nnAudio ``center=True,
    pad_mode="constant"``) as in the authors' code.  The kernels are
    non-persistent buffers: they move with ``.to(device)`` but are not part of
    ``state_dict()`` (they are rebuilt from the settings).
    """

    _sqrt_lengths: torch.Tensor  # (n_bins,) square roots of the filter lengths, a buffer

    def __init__(self, sample_rate: int = 16000, fmin_hz: float = 32.7, n_bins: int = 285,
                 bins_per_octave: int = 36, hop_length: int = 256,
                 implementation: str = "cropped") -> None:
        super().__init__()
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"unknown CQT implementation {implementation!r}; "
                             f"use one of {', '.join(IMPLEMENTATIONS)}")
        for name, value in (("sample_rate", sample_rate), ("n_bins", n_bins),
                            ("bins_per_octave", bins_per_octave), ("hop_length", hop_length)):
            if int(value) != value or value < 1:
                raise ValueError(f"CQT {name}={value!r} must be a positive integer")
        if not (fmin_hz > 0):
            raise ValueError(f"CQT fmin_hz={fmin_hz!r} must be > 0 Hz")
        freqs = cqt_frequencies(fmin_hz, n_bins, bins_per_octave)
        if freqs[-1] >= sample_rate / 2:
            n_max = int(np.sum(freqs < sample_rate / 2))
            raise ValueError(
                f"CQT top bin {freqs[-1]:.1f} Hz is at or above the Nyquist frequency "
                f"{sample_rate / 2:g} Hz; lower n_bins to at most {n_max} or raise sample_rate")
        self.sample_rate = int(sample_rate)
        self.fmin_hz = float(fmin_hz)
        self.n_bins = int(n_bins)
        self.bins_per_octave = int(bins_per_octave)
        self.hop_length = int(hop_length)
        self.implementation = implementation
        self.frequencies_hz = freqs

        from nnAudio import features  # local import: nnAudio prints nothing with verbose=False

        kwargs = dict(sr=self.sample_rate, hop_length=self.hop_length, fmin=self.fmin_hz,
                      n_bins=self.n_bins, bins_per_octave=self.bins_per_octave,
                      pad_mode="constant", output_format="Magnitude", verbose=False)
        self._nnaudio: nn.Module | None = None
        if implementation == "nnaudio-2010v2":
            self._nnaudio = features.CQT2010v2(**kwargs)
            return
        reference = features.CQT1992v2(center=True, **kwargs)
        if implementation == "nnaudio-1992v2":
            self._nnaudio = reference
            return
        # "cropped": keep each octave group's non-zero kernel support only.
        self.kernel_width = int(reference.kernel_width)
        real = reference.cqt_kernels_real[:, 0]
        imag = reference.cqt_kernels_imag[:, 0]
        self._groups: list[tuple[int, int, int, int]] = []  # (bin0, bin1, tap0, tap1)
        for g, start in enumerate(range(0, self.n_bins, self.bins_per_octave)):
            stop = min(start + self.bins_per_octave, self.n_bins)
            nonzero = ((real[start:stop] != 0) | (imag[start:stop] != 0)).any(0).nonzero()[:, 0]
            tap0, tap1 = int(nonzero.min()), int(nonzero.max()) + 1
            weight = torch.cat([real[start:stop, tap0:tap1], imag[start:stop, tap0:tap1]], 0)
            self.register_buffer(f"_kernel{g}", weight.unsqueeze(1).contiguous(), persistent=False)
            self._groups.append((start, stop, tap0, tap1))
        self.register_buffer("_sqrt_lengths", reference.lenghts.sqrt().float(), persistent=False)
        del reference

    def n_frames(self, n_samples: int) -> int:
        """Number of frames for an input of ``n_samples`` samples (``n_samples // hop + 1``)."""
        return int(n_samples) // self.hop_length + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """CQT magnitude.

        Parameters
        ----------
        x : Tensor, shape (B, L) or (L,)
            float32 audio at ``sample_rate``.

        Returns
        -------
        Tensor, shape (B, n_bins, T) (or (n_bins, T) for 1-D input)
            Linear magnitudes; ``T = L // hop_length + 1``.
        """
        squeeze = x.ndim == 1
        if squeeze:
            x = x.unsqueeze(0)
        if x.ndim != 2:
            raise ValueError(f"CQT expects audio of shape (B, L) or (L,), got {tuple(x.shape)}")
        if x.shape[-1] < 1:
            raise ValueError("CQT got an empty signal; pass at least one sample")
        x = x.float()
        if self._nnaudio is not None:
            out = self._nnaudio(x)
        else:
            out = self._cropped(x)
        return out[0] if squeeze else out

    def _cropped(self, x: torch.Tensor) -> torch.Tensor:
        # nnAudio pads the signal by P = W // 2 zeros on each side and slides
        # W-tap kernels with stride hop.  Output t = sum_j xp[t*hop + j] k[j]
        # with xp[i] = x[i - P]; only taps j in [P - (T-1)*hop, P + L) can
        # touch the signal, and only the group's non-zero support matters.
        length = x.shape[-1]
        width, hop = self.kernel_width, self.hop_length
        pad = width // 2
        n_frames = (length + 2 * pad - width) // hop + 1
        outputs = []
        for g, (start, stop, tap0, tap1) in enumerate(self._groups):
            kernel = getattr(self, f"_kernel{g}")
            j0 = max(tap0, pad - (n_frames - 1) * hop)
            j1 = min(tap1, pad + length)
            n = stop - start
            if j1 <= j0:  # no tap of this group ever overlaps the signal
                outputs.append(x.new_zeros(x.shape[0], n, n_frames))
                continue
            end = j1 + (n_frames - 1) * hop  # exclusive, in padded coordinates
            left, right = pad - j0, end - pad - length
            segment = F.pad(x, (max(left, 0), max(right, 0)))
            if left < 0:
                segment = segment[:, -left:]
            if right < 0:
                segment = segment[:, :right]
            y = F.conv1d(segment.unsqueeze(1), kernel[:, :, j0 - tap0:j1 - tap0], stride=hop)
            magnitude = torch.sqrt(y[:, :n] ** 2 + y[:, n:] ** 2)
            outputs.append(magnitude * self._sqrt_lengths[start:stop, None])
        return torch.cat(outputs, 1)

    def extra_repr(self) -> str:
        """Settings shown by ``repr``."""
        return (f"sample_rate={self.sample_rate}, fmin_hz={self.fmin_hz}, n_bins={self.n_bins}, "
                f"bins_per_octave={self.bins_per_octave}, hop_length={self.hop_length}, "
                f"implementation={self.implementation!r}")
