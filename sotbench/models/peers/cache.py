"""On-disk cache of peer saliences.

Peer models are slow on a CPU (CREPE-full costs seconds of CPU time per second
of audio, see ``docs/performance.md``), so every adapter caches its salience
under ``$SOTBENCH_CACHE/salience/<model>/<version tag>/<audio sha1>.npz``
(:func:`sotbench.io.cache_dir`, default ``~/.cache/sotbench``).  The version
tag covers the package version, the adapter version and the settings that
change the output; the key covers the samples and their rate.  Files are
written atomically (:func:`sotbench.io.atomic_write`); an unreadable file is
ignored with a warning and recomputed.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sotbench.io import atomic_write, cache_dir
from sotbench.types import Salience

__all__ = ["salience_cache_dir", "audio_sha1", "load_cached", "store"]


def salience_cache_dir() -> Path:
    """Root of the salience cache: ``$SOTBENCH_CACHE/salience`` (default ``~/.cache/sotbench``)."""
    return cache_dir() / "salience"


def audio_sha1(audio: np.ndarray, sample_rate: int) -> str:
    """Hex SHA-1 of the float32 samples and their rate (the cache key)."""
    h = hashlib.sha1()
    h.update(f"{sample_rate}:".encode())
    h.update(np.ascontiguousarray(audio, dtype=np.float32).tobytes())
    return h.hexdigest()


def load_cached(path: Path) -> tuple[Salience, dict[str, Any]] | None:
    """The cached salience and its compute stats, or ``None`` (absent or unreadable, with a warning)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            sal = Salience(data["values"], data["frequencies_hz"], data["times_s"])
            stats = json.loads(str(data["stats"]))
        return sal, stats
    except Exception as err:  # corrupt or foreign file: recompute and overwrite
        warnings.warn(f"ignoring unreadable cached salience {path} ({err}); recomputing",
                      stacklevel=3)
        return None


def store(path: Path, sal: Salience, stats: dict[str, Any]) -> None:
    """Write ``sal`` and ``stats`` atomically to ``path``; warn (do not fail) when it cannot be written."""
    try:
        atomic_write(path, lambda fh: np.savez(fh, values=sal.values, frequencies_hz=sal.frequencies_hz,
                                               times_s=sal.times_s, stats=json.dumps(stats)))
    except OSError as err:
        warnings.warn(f"could not cache salience at {path} ({err}); set SOTBENCH_CACHE to a "
                      "writable folder or pass cache=False", stacklevel=3)
