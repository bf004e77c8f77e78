"""Helpers shared by the dataset loaders: pitch conversions, frame grids and lazy track lists.

Ground truth conventions (all loaders): ``times_s`` are frame centres in
seconds, strictly increasing; ``frequencies_hz[k]`` is a float64 array of the
pitches (Hz, > 0) active in frame ``k``; an empty array means no pitch.  The
same pitch may appear twice in a frame when two voices play a unison (as in
Bach10's ground truth); ``mir_eval.multipitch`` matches each reference pitch
once.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..types import MultiPitchTrack

__all__ = [
    "midi_to_hz", "hz_to_midi", "matrix_to_frames", "notes_to_frames", "regular_grid",
    "check_track", "select_names", "LazyTracks",
]


def midi_to_hz(midi) -> np.ndarray:
    """MIDI note number (may be fractional) -> Hz, A4 = MIDI 69 = 440 Hz."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def hz_to_midi(hz) -> np.ndarray:
    """Hz -> fractional MIDI note number (A4 = 440 Hz = 69)."""
    return 69.0 + 12.0 * np.log2(np.asarray(hz, dtype=np.float64) / 440.0)


def matrix_to_frames(values_hz: np.ndarray) -> list[np.ndarray]:
    """Voices x frames matrix of Hz (0 or negative = silent) -> per-frame lists.

    Parameters
    ----------
    values_hz : ndarray, shape (n_voices, n_frames)

    Returns
    -------
    list of ndarray
        ``n_frames`` float64 arrays holding the positive entries of each column
        in voice order.
    """
    values_hz = np.asarray(values_hz, dtype=np.float64)
    if values_hz.ndim != 2:
        raise ValueError(f"expected a (n_voices, n_frames) matrix, got shape {values_hz.shape}")
    if not np.isfinite(values_hz).all():
        raise ValueError("pitch matrix contains NaN/Inf; the annotation file is corrupt")
    active = values_hz > 0
    return [values_hz[active[:, k], k] for k in range(values_hz.shape[1])]


def regular_grid(n_frames: int, hop_s: float, start_s: float = 0.0) -> np.ndarray:
    """Frame centres ``start_s + hop_s * k`` for ``k = 0 .. n_frames - 1`` (seconds)."""
    return start_s + hop_s * np.arange(int(n_frames), dtype=np.float64)


def notes_to_frames(onsets_s, offsets_s, pitches_hz, times_s) -> list[np.ndarray]:
    """Sample note events on frame times.

    A note is active in frame ``k`` when ``onset <= times_s[k] < offset``
    (half-open, so back-to-back notes of one voice never overlap).

    Parameters
    ----------
    onsets_s, offsets_s, pitches_hz : array-like, shape (n_notes,)
        Note start / end in seconds and pitch in Hz.
    times_s : ndarray, shape (n_frames,)
        Increasing frame times.

    Returns
    -------
    list of ndarray
        Active pitches per frame, in note order.
    """
    on = np.asarray(onsets_s, dtype=np.float64)
    off = np.asarray(offsets_s, dtype=np.float64)
    hz = np.asarray(pitches_hz, dtype=np.float64)
    times = np.asarray(times_s, dtype=np.float64)
    if not (on.shape == off.shape == hz.shape) or on.ndim != 1:
        raise ValueError(f"onsets {on.shape}, offsets {off.shape} and pitches {hz.shape} "
                         "must be 1-D arrays of one length")
    for arr, what in ((on, "onsets"), (off, "offsets"), (hz, "pitches")):
        if not np.isfinite(arr).all():
            raise ValueError(f"note {what} contain NaN/Inf")
    if (hz <= 0).any():
        raise ValueError(f"note pitches must be positive Hz, got {hz[hz <= 0][:3]}")
    frames: list[list[float]] = [[] for _ in range(len(times))]
    first = np.searchsorted(times, on, side="left")
    stop = np.searchsorted(times, off, side="left")
    for i in np.argsort(on, kind="stable"):
        for k in range(first[i], stop[i]):
            frames[k].append(hz[i])
    return [np.asarray(f, dtype=np.float64) for f in frames]



def read_numeric_rows(path: str | Path, n_columns: int, layout: str) -> np.ndarray:
    """Read a whitespace-separated text file of ``n_columns`` numbers per line.

    Parameters
    ----------
    path : path-like
    n_columns : int
        Numbers expected on every non-empty line.
    layout : str
        What a line holds, for error messages (e.g. ``"time f0"``).

    Returns
    -------
    ndarray, shape (n_lines, n_columns), float64

    Raises
    ------
    ValueError
        A line that is not numbers or has another column count (file and line named), or an empty file.
    """
    path = Path(path)
    rows = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                values = [float(p) for p in parts]
            except ValueError:
                raise ValueError(f"{str(path)!r} line {lineno}: not numbers: {line.strip()!r}") from None
            if len(values) != n_columns:
                raise ValueError(f"{str(path)!r} line {lineno}: expected {n_columns} columns ({layout}), "
                                 f"got {len(values)}")
            rows.append(values)
    if not rows:
        raise ValueError(f"annotation file {str(path)!r} is empty; expected lines '{layout}'")
    return np.asarray(rows, dtype=np.float64)

def check_track(track: MultiPitchTrack, source: str | None = None) -> MultiPitchTrack:
    """Validate a track's ground truth; warn about legal-but-odd content.

    Raises ``ValueError`` when times are not finite and strictly increasing,
    when the number of frames and pitch lists differ, or when a pitch is not
    a positive finite number.  Warns when no frame has a pitch at all, or when
    the annotation extends more than 1 s past the end of the audio.
    """
    label = source or track.name
    times = np.asarray(track.times_s, dtype=np.float64)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"{label}: ground truth has no frames (times shape {times.shape}); "
                         "the annotation is empty")
    if not np.isfinite(times).all() or (times.size > 1 and not (np.diff(times) > 0).all()):
        raise ValueError(f"{label}: ground-truth frame times must be finite and strictly increasing")
    if len(track.frequencies_hz) != times.size:
        raise ValueError(f"{label}: {times.size} frame times but {len(track.frequencies_hz)} pitch lists")
    n_active = 0
    for k, f in enumerate(track.frequencies_hz):
        f = np.asarray(f, dtype=np.float64)
        if f.size and (not np.isfinite(f).all() or (f <= 0).any()):
            raise ValueError(f"{label}: frame {k} has invalid pitches {f}; pitches must be positive Hz")
        n_active += bool(f.size)
    if n_active == 0:
        warnings.warn(f"{label}: no frame of the ground truth has a pitch", stacklevel=2)
    if track.sample_rate and times[-1] > track.duration_s + 1.0:
        warnings.warn(f"{label}: ground truth runs to {times[-1]:.2f} s but the audio lasts "
                      f"{track.duration_s:.2f} s", stacklevel=2)
    track.times_s = times
    track.frequencies_hz = [np.asarray(f, dtype=np.float64) for f in track.frequencies_hz]
    return track


def select_names(available: Sequence[str], wanted, dataset: str) -> list[str]:
    """Pick tracks by exact name, by prefix (e.g. ``"01"`` or ``"PQ02"``) or by 1-based index.

    ``wanted=None`` keeps all.  Unknown selections raise ``ValueError`` listing
    the available names.
    """
    available = list(available)
    if wanted is None:
        return available
    if isinstance(wanted, (str, int)):
        wanted = [wanted]
    chosen: list[str] = []
    for w in wanted:
        if isinstance(w, (int, np.integer)) and not isinstance(w, bool):
            if not 1 <= int(w) <= len(available):
                raise ValueError(f"{dataset}: track index {w} out of range 1..{len(available)}")
            matches = [available[int(w) - 1]]
        else:
            w = str(w)
            matches = [a for a in available if a == w] or [a for a in available if a.startswith(w)]
        if not matches:
            raise ValueError(f"{dataset}: no track named {w!r}; available: {', '.join(available)}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


class LazyTracks(Sequence):
    """A read-only sequence of :class:`~sotbench.types.MultiPitchTrack` loaded on access.

    ``len()`` and :attr:`names` are known without reading audio; indexing or
    iterating reads one track at a time (nothing is kept in memory), so whole
    datasets can be iterated with bounded memory.  ``list(tracks)`` loads all.

    Parameters
    ----------
    dataset : str
        Dataset name (for messages).
    names : sequence of str
        Track names, in order.
    load : callable
        ``load(name) -> MultiPitchTrack``.
    root : Path, optional
        Folder the tracks come from (informational).
    """

    def __init__(self, dataset: str, names: Sequence[str], load: Callable[[str], MultiPitchTrack],
                 root: Path | None = None) -> None:
        self.dataset = dataset
        self.names = list(names)
        self.root = root
        self._load = load

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return LazyTracks(self.dataset, self.names[index], self._load, self.root)
        if isinstance(index, str):
            if index not in self.names:
                raise KeyError(f"{self.dataset}: no track {index!r}")
            return self._load(index)
        return self._load(self.names[index])

    def __repr__(self) -> str:
        return f"LazyTracks({self.dataset!r}, {len(self)} tracks, root={str(self.root)!r})"
