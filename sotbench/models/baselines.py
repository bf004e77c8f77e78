"""DSP baselines of paper 002: thresholded HCQT channels, no training.

Four :class:`~sotbench.models.base.SalienceModel` s read a salience directly off
the HCQT (:class:`sotbench.dsp.hcqt.HCQT`, paper settings, h = 1 channel grid:
440 bins from 27.5 Hz at 60 bins/octave).  They validate the evaluation
pipeline end to end and reproduce the authors' feature baselines.

Definitions (``P_h`` = HCQT power of channel ``h``; ``ref`` = the maximum of
``P_h`` over *all* channels, bins and frames of the whole track -- the
per-example maximum of the HCQT features, with the whole track as the
example):

``hcqt-h1`` (threshold 0.5)
    "Linear": ``P_1 / ref``, the h = 1 power relative to the track maximum
    (values below ``10 ** (-top_db / 10)`` set to 0, the features' floor).
    Equal to ``a_1 ** 2`` with ``a`` the authors' floored linear amplitude, so
    0.5 means 3 dB below the loudest HCQT cell of the track.
``hcqt-h1-log`` (threshold 0.9)
    The h = 1 HCQT feature: ``clip(1 + 10 log10(P_1 / ref) / top_db, 0, 1)``
    (0.9 = 8 dB below the track maximum with ``top_db = 80``).
``hcqt-harmonic-sum`` (threshold 0.3)
    "Linear" weighted harmonic sum ``sum_{h >= 1} w_h**2 P_h / ref`` with
    ``w = harmonic_weights`` (1/h**2 on amplitudes, normalized to sum 1), i.e.
    :func:`~sotbench.dsp.hcqt.harmonic_sum_target` with ``output="power"``.  It is
    not renormalized: its maximum is at most ``sum w**2 = 0.505``.  Channel
    terms below the features' floor (``P_h / ref < 1e-8``) are kept, whereas the
    target zeroes them: an absolute difference below ``1e-8 * sum w**2`` that
    cannot move a peak above any threshold >= 1e-7.
``hcqt-harmonic-sum-log`` (threshold 0.9)
    That sum in rescaled dB re its own track maximum, floor ``-top_db``
    (the harmonic-sum training target of SS-MPE; because of the sub-floor terms
    above the two differ near the floor: by up to ~0.1 below 0.13 (-70 dB),
    ~2e-4 at 0.3 and < 1e-5 above 0.5 -- nothing near the 0.9 threshold).

Input audio at any sample rate is resampled to 22,050 Hz
(:func:`sotbench.data.audio.resample`).  Tracks are processed in chunks of
``chunk_seconds`` (exact: every chunk gets its filters' full context), so the
working memory is bounded; only the two (F, T) outputs grow with the track.
"""
from __future__ import annotations

import math
import time
import warnings
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from sotbench.dsp.hcqt import HCQT, harmonic_weights
from sotbench.progress import progress as progress_bar
from sotbench.registry import MODELS
from sotbench.types import Salience

__all__ = ["HCQTBaseline", "BASELINES", "hcqt_for"]

#: name -> (variant, default threshold, description)
BASELINES: dict[str, tuple[str, float, str]] = {
    "hcqt-h1": ("h1", 0.5, "HCQT h=1 power relative to the track max, peak-picked (DSP baseline)"),
    "hcqt-h1-log": ("h1-log", 0.9, "HCQT h=1 feature in rescaled dB (DSP baseline)"),
    "hcqt-harmonic-sum": ("harmonic-sum", 0.3,
                          "weighted HCQT harmonic sum, linear power (DSP baseline)"),
    "hcqt-harmonic-sum-log": ("harmonic-sum-log", 0.9,
                              "weighted HCQT harmonic sum in rescaled dB (DSP baseline)"),
}


@lru_cache(maxsize=4)
def hcqt_for(norm: str = "none", gamma: float | None = None, device: str = "cpu") -> HCQT:
    """A shared paper-settings :class:`HCQT` (cached: building its filters is slow)."""
    return HCQT(norm=norm, gamma=gamma).to(torch.device(device))


class HCQTBaseline:
    """One of the four DSP baselines (see module docstring).

    Parameters
    ----------
    variant : {"h1", "h1-log", "harmonic-sum", "harmonic-sum-log"}
    threshold : float, optional
        Peak threshold; default the variant's (0.5, 0.9, 0.3, 0.9).
    chunk_seconds : float
        Audio per HCQT chunk (bounds memory to ~``chunk_seconds * 2.4`` MB).
    norm, gamma
        HCQT filter settings (see :class:`~sotbench.dsp.hcqt.HCQT`).
    device : str
        Torch device for the HCQT.

    Attributes
    ----------
    name : str
    threshold : float
    last_stats : dict
        After :meth:`salience`: ``audio_s``, ``wall_s``, ``cpu_s``,
        ``wall_s_per_audio_s``, ``cpu_s_per_audio_s``, ``cached`` (False).
    """

    sample_rate = 22050

    def __init__(self, variant: str = "h1", *, threshold: float | None = None,
                 chunk_seconds: float = 30.0, norm: str = "none", gamma: float | None = None,
                 device: str = "cpu", name: str | None = None) -> None:
        defaults = {v: (n, t) for n, (v, t, _) in BASELINES.items()}
        if variant not in defaults:
            raise ValueError(f"variant={variant!r} is unknown; use one of {sorted(defaults)}")
        self.variant = variant
        self.name = name or defaults[variant][0]
        self.threshold = float(defaults[variant][1] if threshold is None else threshold)
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold={threshold} must lie in [0, 1] (salience scale)")
        if not chunk_seconds > 0:
            raise ValueError(f"chunk_seconds={chunk_seconds} must be positive")
        self.chunk_seconds = float(chunk_seconds)
        self.norm, self.gamma, self.device = norm, gamma, str(device)
        self.hcqt = hcqt_for(norm, gamma, self.device)
        self.last_stats: dict[str, Any] = {}

    def to(self, device) -> "HCQTBaseline":
        """Move the HCQT to ``device`` (returns self)."""
        self.device = str(torch.device(device))
        self.hcqt = hcqt_for(self.norm, self.gamma, self.device)
        return self

    def __repr__(self) -> str:
        return (f"HCQTBaseline(name={self.name!r}, variant={self.variant!r}, "
                f"threshold={self.threshold}, norm={self.norm!r})")

    def salience(self, audio: np.ndarray, sample_rate: int, *, progress: bool = False) -> Salience:
        """Salience-gram of a whole mono track (see module docstring).

        Parameters
        ----------
        audio : ndarray, shape (n_samples,)
            Mono float audio in [-1, 1].
        sample_rate : int
            In Hz; resampled to 22,050 Hz.
        progress : bool
            Progress bar over chunks.

        Returns
        -------
        Salience
            (440, T) values in [0, 1] on the h = 1 bin frequencies (Hz) and
            frame centres ``t * 256 / 22050`` s.
        """
        from sotbench.data.audio import resample, validate_audio

        wall0, cpu0 = time.perf_counter(), time.process_time()
        audio = validate_audio(audio, sample_rate, name=f"{self.name} input")
        audio_s = audio.size / float(sample_rate)
        x = resample(audio, int(sample_rate), self.sample_rate)
        hcqt = self.hcqt
        c1 = hcqt.channel_index(1)
        w2 = (harmonic_weights(hcqt.harmonics).double() ** 2)
        w2 = w2.to(hcqt.frequencies_hz.device)[:, None, None]
        chunk_frames = max(1, int(math.ceil(self.chunk_seconds * self.sample_rate / hcqt.hop_length)))
        n_frames = hcqt.n_frames(x.size)
        p1 = np.empty((hcqt.n_bins, n_frames), dtype=np.float64)
        hsum = np.empty((hcqt.n_bins, n_frames), dtype=np.float64)
        ref = 0.0
        chunks = progress_bar(hcqt.iter_power(torch.from_numpy(x)[None], chunk_frames), progress,
                              self.name, total=-(-n_frames // chunk_frames))
        with torch.no_grad():
            for t0, p in chunks:
                p = p[0].double()
                t1 = t0 + p.shape[-1]
                ref = max(ref, float(p.max()))
                p1[:, t0:t1] = p[c1].cpu().numpy()
                hsum[:, t0:t1] = (p * w2).sum(0).cpu().numpy()
        values = self._finish(p1, hsum, ref)
        freqs = hcqt.frequencies_hz[c1].cpu().numpy()
        sal = Salience(values.astype(np.float32), freqs, hcqt.frame_times(n_frames))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        self.last_stats = {"audio_s": audio_s, "wall_s": wall, "cpu_s": cpu,
                           "wall_s_per_audio_s": wall / audio_s, "cpu_s_per_audio_s": cpu / audio_s,
                           "cached": False}
        return sal

    def _finish(self, p1: np.ndarray, hsum: np.ndarray, ref: float) -> np.ndarray:
        top_db = self.hcqt.top_db
        floor = 10.0 ** (-top_db / 10.0)
        if not ref > self.hcqt.amin:
            warnings.warn(f"{self.name}: the track is silent (max HCQT power {ref:.3g}); "
                          "salience is all 0", stacklevel=3)
            return np.zeros_like(p1)
        if self.variant == "h1":
            rel = p1 / ref
            return np.where(rel >= floor, rel, 0.0)
        if self.variant == "h1-log":
            return _rescaled_db(p1 / ref, top_db)
        if self.variant == "harmonic-sum":
            return hsum / ref
        peak = float(hsum.max())
        if not peak > 0:
            return np.zeros_like(hsum)
        return _rescaled_db(hsum / peak, top_db)


def _rescaled_db(ratio: np.ndarray, top_db: float) -> np.ndarray:
    floor = 10.0 ** (-top_db / 10.0)
    return np.clip(1.0 + 10.0 * np.log10(np.maximum(ratio, floor)) / top_db, 0.0, 1.0)


def _factory(name: str, variant: str):
    def make(**settings: Any) -> HCQTBaseline:
        return HCQTBaseline(variant, name=name, **settings)

    make.__name__ = f"make_{variant.replace('-', '_')}"
    make.__doc__ = BASELINES[name][2]
    return make


for _name, (_variant, _threshold, _desc) in BASELINES.items():
    MODELS.register(_name, _factory(_name, _variant), task="mpe", description=_desc,
                    trainable=False, threshold=_threshold, baseline=True, chunked=True)
