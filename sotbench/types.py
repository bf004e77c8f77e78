"""Plain data types shared by every layer (no behaviour beyond validation).

Conventions used throughout sotbench:

* audio is ``float32`` mono in [-1, 1], shape ``(n_samples,)``; sample rates in Hz;
* frequencies are in Hz unless a name says ``midi``;
* frame times are the *centre* of the analysis frame, in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Salience", "MultiPitchTrack"]


@dataclass
class Salience:
    """A pitch salience-gram over known frequencies and frame times.

    Attributes
    ----------
    values : ndarray, shape (n_freqs, n_frames)
        Salience in [0, 1] (probability-like; higher = more likely active).
    frequencies_hz : ndarray, shape (n_freqs,)
        Centre frequency of each row, in Hz, strictly increasing.
    times_s : ndarray, shape (n_frames,)
        Time of each column (frame centre), in seconds, increasing.
    """

    values: np.ndarray
    frequencies_hz: np.ndarray
    times_s: np.ndarray

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float32)
        self.frequencies_hz = np.asarray(self.frequencies_hz, dtype=np.float64)
        self.times_s = np.asarray(self.times_s, dtype=np.float64)
        n_freqs, n_frames = self.values.shape
        if self.frequencies_hz.shape != (n_freqs,):
            raise ValueError(
                f"salience has {n_freqs} rows but {self.frequencies_hz.shape} frequencies; "
                "pass one frequency per row")
        if self.times_s.shape != (n_frames,):
            raise ValueError(
                f"salience has {n_frames} columns but {self.times_s.shape} frame times; "
                "pass one time per column")
        if not np.all(np.isfinite(self.values)):
            raise ValueError("salience contains NaN or Inf values; check the model output")


@dataclass
class MultiPitchTrack:
    """An audio track with frame-level multi-pitch ground truth.

    Attributes
    ----------
    name : str
        Track identifier, unique within its dataset.
    audio : ndarray, shape (n_samples,)
        Mono float32 audio.
    sample_rate : int
        In Hz.
    times_s : ndarray, shape (n_frames,)
        Ground-truth frame times in seconds.
    frequencies_hz : list of ndarray
        Active pitches per frame in Hz (empty array = no pitch), as
        ``mir_eval.multipitch`` expects.
    meta : dict
        Provenance (dataset, source files, soundfont, ...).
    warnings : list of str
        Data-quality warnings raised while loading this track (e.g. audio and
        ground-truth durations that disagree within the tolerance, clipping);
        runners store them with the track's scores.  See ``docs/datasets.md``.
    """

    name: str
    audio: np.ndarray
    sample_rate: int
    times_s: np.ndarray
    frequencies_hz: list
    meta: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Audio length in seconds."""
        return len(self.audio) / float(self.sample_rate)
