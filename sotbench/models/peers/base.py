"""Common machinery of the peer adapters: input checks, salience caching, timing, registration."""
from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from sotbench.data.audio import validate_audio
from sotbench.models.peers import cache
from sotbench.models.peers.optional import INSTALL_COMMAND, availability
from sotbench.registry import MODELS
from sotbench.types import Salience

__all__ = ["ADAPTER_VERSION", "DEFAULT_THRESHOLD", "PeerModel", "check_audio", "register_peer"]

#: Bumped whenever an adapter's output changes, to invalidate cached saliences.
ADAPTER_VERSION = 1

#: Default peak-picking threshold of paper 002 for the peers.
DEFAULT_THRESHOLD = 0.3


def check_audio(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    """Validate a peer's input: sotbench's audio policy plus the peers' range and rate checks.

    Returns
    -------
    audio : ndarray, shape (n_samples,), float32
    sample_rate : int
        In Hz.

    Raises
    ------
    ValueError
        Not real-valued, not mono, empty, NaN/Inf samples, or a sample rate
        that is not a positive integer number of Hz
        (:func:`sotbench.data.audio.validate_audio`).

    Warns
    -----
    UserWarning
        Samples outside [-1, 1], a sample rate below 8 kHz, and the warnings of
        :func:`~sotbench.data.audio.validate_audio` (clipping, silence).
    """
    audio = np.asarray(audio)
    if not np.issubdtype(audio.dtype, np.number) or np.iscomplexobj(audio):
        raise ValueError(f"audio must be real-valued, got dtype {audio.dtype}")
    if isinstance(sample_rate, bool):
        raise ValueError(f"sample_rate must be a positive integer number of Hz, got {sample_rate!r}")
    audio = validate_audio(audio, sample_rate, name="peer input")
    sample_rate = int(sample_rate)
    if sample_rate < 8000:
        warnings.warn(f"sample_rate {sample_rate} Hz is unusually low for pitch estimation; "
                      "check that it is in Hz", stacklevel=3)
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:
        warnings.warn(f"audio peaks at {peak:.3g}, outside [-1, 1]; models expect float audio "
                      "in [-1, 1] (divide integer PCM by its full scale)", stacklevel=3)
    return audio, sample_rate


class _Timer:
    """Wall-clock and process-CPU seconds spent inside a ``with`` block."""

    def __enter__(self) -> _Timer:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self.wall0
        self.cpu_s = time.process_time() - self.cpu0


class PeerModel:
    """Common machinery of the peer adapters (validation, caching, timing).

    Subclasses set ``name``, ``dist`` and implement :meth:`_compute` and
    :meth:`_settings`.

    Parameters
    ----------
    threshold : float
        Default peak-picking threshold on the salience (paper 002: 0.3).
    cache : bool
        Cache saliences on disk (:mod:`sotbench.models.peers.cache`).

    Attributes
    ----------
    last_stats : dict
        After each :meth:`salience` call: ``cached`` (bool), ``audio_s``
        (seconds of audio), ``wall_s`` / ``cpu_s`` (seconds spent computing the
        salience, measured when it was first computed; process CPU time counts
        every thread), ``wall_s_per_audio_s``, ``cpu_s_per_audio_s``,
        ``cache_path`` (str or None).
    """

    name: str = ""
    dist: str = ""

    def __init__(self, *, threshold: float = DEFAULT_THRESHOLD, cache: bool = True) -> None:
        threshold = float(threshold)
        if not 0.0 <= threshold <= 1.0 or math.isnan(threshold):
            raise ValueError(f"threshold must lie in [0, 1] (salience scale), got {threshold}")
        self.threshold = threshold
        self.cache = bool(cache)
        self.last_stats: dict[str, Any] = {}
        self.package_version = "unknown"

    # -- to implement -----------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        """Settings that change the output (part of the cache key)."""
        return {}

    def _compute(self, audio: np.ndarray, sample_rate: int, progress: bool) -> Salience:
        raise NotImplementedError

    # -- public -----------------------------------------------------------
    @property
    def version(self) -> str:
        """Tag identifying the output: adapter version, package version, settings."""
        settings = json.dumps(self._settings(), sort_keys=True)
        digest = hashlib.sha1(settings.encode()).hexdigest()[:8]
        return f"{self.dist}-{self.package_version}-a{ADAPTER_VERSION}-{digest}"

    def salience(self, audio: np.ndarray, sample_rate: int, *, progress: bool = False) -> Salience:
        """Salience-gram of a whole mono track.

        Parameters
        ----------
        audio : ndarray, shape (n_samples,)
            Mono float audio in [-1, 1] at any sample rate.
        sample_rate : int
            Sample rate of ``audio`` in Hz; the adapter resamples to what the
            model needs.
        progress : bool
            Show a progress bar over the model's chunks.

        Returns
        -------
        Salience
            ``values`` (F, T) in [0, 1]; ``frequencies_hz`` (F,) in Hz;
            ``times_s`` (T,) frame centres in seconds from the first sample.
        """
        audio, sample_rate = check_audio(audio, sample_rate)
        audio_s = audio.size / sample_rate
        path = self._cache_path(audio, sample_rate) if self.cache else None
        if path is not None:
            hit = cache.load_cached(path)
            if hit is not None:
                sal, stats = hit
                self.last_stats = dict(stats, cached=True, audio_s=audio_s, cache_path=str(path))
                return sal
        with _Timer() as timer:
            sal = self._compute(audio, sample_rate, progress)
        stats = {"wall_s": timer.wall_s, "cpu_s": timer.cpu_s,
                 "wall_s_per_audio_s": timer.wall_s / audio_s,
                 "cpu_s_per_audio_s": timer.cpu_s / audio_s}
        if path is not None:
            cache.store(path, sal, stats)
        self.last_stats = dict(stats, cached=False, audio_s=audio_s,
                               cache_path=None if path is None else str(path))
        return sal

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, threshold={self.threshold}, {self.version})"

    def _cache_path(self, audio: np.ndarray, sample_rate: int) -> Path | None:
        try:
            root = cache.salience_cache_dir()
        except OSError as err:
            warnings.warn(f"salience cache unavailable ({err}); set SOTBENCH_CACHE to a writable "
                          "folder or pass cache=False", stacklevel=4)
            return None
        return root / self.name / self.version / f"{cache.audio_sha1(audio, sample_rate)}.npz"


def register_peer(name: str, factory: Callable[..., PeerModel], description: str, *,
                  module: str, dist: str) -> None:
    """Register a peer in :data:`~sotbench.registry.MODELS` (task ``mpe``).

    ``module`` / ``dist`` name the optional package, checked without importing
    it by ``sotbench ls`` (``meta["available"]``).
    """
    MODELS.register(name, factory, task="mpe", install=INSTALL_COMMAND, peer=True,
                    available=availability(module, dist), description=description)
