"""Helpers shared by the dataset loaders: pitch conversions, frame grids and lazy track lists.

Ground truth conventions (all loaders): ``times_s`` are frame centres in
seconds, strictly increasing; ``frequencies_hz[k]`` is a float64 array of the
pitches (Hz, > 0) active in frame ``k``; an empty array means no pitch.  The
same pitch may appear twice in a frame when two voices play a unison (as in
Bach10's ground truth); ``mir_eval.multipitch`` matches each reference pitch
once.

This module is the one home of MIDI <-> Hz conversion (:func:`midi_to_hz`,
:func:`hz_to_midi`) and of the data-quality policy every loader applies
(``docs/datasets.md`` describes it for users):

* **Durations** (:func:`check_durations`): audio and ground truth may differ
  by :func:`duration_tolerance` (``DURATION_TOLERANCE_FRAMES`` = 5 annotation
  frames, at least ``DURATION_TOLERANCE_MIN_S`` = 50 ms) without a word; up to
  ``DURATION_ERROR_S`` = 1 s more is a warning stored on the track; more is a
  :class:`~sotbench.data.roots.DatasetMalformed` error.  Note-based ground
  truth (``open_end=True``) ends with the last note, so audio may run on for a
  release tail: only a tail longer than ``NOTE_TAIL_S`` = 3 s is a warning,
  and an annotation that covers less than half of the audio is an error.
* **Warnings** raised while a track loads (durations, clipping, silence,
  channels mixed, empty ground truth) are emitted with :mod:`warnings` *and*
  stored in ``track.warnings`` (:class:`LazyTracks` does this), so a runner
  can write them to ``result.json``.
* **Incomplete tracks** (:func:`resolve_incomplete`): a track whose files are
  missing is an error naming the files, unless the loader was called with
  ``skip_incomplete=True``; skipped tracks are then listed in
  :attr:`LazyTracks.skipped`.
* **Malformed content**: any ``ValueError`` / ``OSError`` raised while a track
  loads becomes :class:`~sotbench.data.roots.DatasetMalformed` naming the
  dataset, the track and (from the original message) the file.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..types import MultiPitchTrack
from .roots import DatasetError, DatasetMalformed, layout_doc

__all__ = [
    "midi_to_hz", "hz_to_midi", "matrix_to_frames", "notes_to_frames", "regular_grid",
    "check_track", "check_durations", "finish_track", "duration_tolerance", "resolve_incomplete", "select_names",
    "LazyTracks", "DURATION_TOLERANCE_FRAMES", "DURATION_TOLERANCE_MIN_S", "DURATION_ERROR_S",
    "NOTE_TAIL_S",
]

log = logging.getLogger("sotbench.data")

#: Annotation frames by which audio and ground-truth durations may differ without a word.
DURATION_TOLERANCE_FRAMES = 5
#: Lower bound of that tolerance, seconds (covers half an analysis window at the end).
DURATION_TOLERANCE_MIN_S = 0.05
#: Mismatch beyond the tolerance (seconds) up to which a warning is stored; beyond it, an error.
DURATION_ERROR_S = 1.0
#: Audio after the last note of note-based ground truth (release, reverb) accepted silently, seconds.
NOTE_TAIL_S = 3.0


def midi_to_hz(midi) -> np.ndarray:
    """MIDI note number (may be fractional) -> Hz, A4 = MIDI 69 = 440 Hz.

    The one MIDI -> Hz conversion of sotbench: ``440 * 2 ** ((m - 69) / 12)``
    (float64, any shape; equals ``mir_eval.util.midi_to_hz`` and
    ``librosa.midi_to_hz``).
    """
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def hz_to_midi(hz) -> np.ndarray:
    """Hz -> fractional MIDI note number (A4 = 440 Hz = 69); inverse of :func:`midi_to_hz`.

    ``hz`` must be positive (0 Hz gives ``-inf`` with a numpy warning).
    """
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

def duration_tolerance(hop_s: float | None) -> float:
    """Seconds by which audio and ground truth may disagree silently.

    ``max(DURATION_TOLERANCE_FRAMES * hop_s, DURATION_TOLERANCE_MIN_S)``
    (``hop_s`` = the annotation's frame hop in seconds; ``None`` = the minimum).
    """
    hop = float(hop_s) if hop_s else 0.0
    return max(DURATION_TOLERANCE_FRAMES * hop, DURATION_TOLERANCE_MIN_S)


def check_durations(audio_s: float, gt_end_s: float, *, hop_s: float | None, label: str,
                    audio_path=None, annotation_path=None, sample_rate: int | None = None,
                    open_end: bool = False) -> str | None:
    """Compare an audio duration with the extent of its ground truth.

    Parameters
    ----------
    audio_s : float
        Audio length in seconds (samples / the file's sample rate).
    gt_end_s : float
        Where the ground truth ends, seconds: the last frame centre of a
        frame-level annotation, or the last note offset of note-based ground
        truth.
    hop_s : float or None
        The annotation's frame hop, seconds (sets :func:`duration_tolerance`).
    label : str
        ``"<dataset> track <name>"`` for messages.
    audio_path, annotation_path : path-like, optional
        Named in messages.
    sample_rate : int, optional
        The audio file's own rate (Hz), named in messages (a wrong header rate
        scales the duration).
    open_end : bool
        ``True`` for note-based ground truth, which ends with the last note:
        audio may continue for a release tail (see module docstring).

    Returns
    -------
    str or None
        A warning message when the mismatch exceeds the tolerance by at most
        ``DURATION_ERROR_S`` (or, with ``open_end``, when the tail is longer
        than ``NOTE_TAIL_S``); ``None`` when they agree.

    Raises
    ------
    DatasetMalformed
        When the mismatch exceeds the tolerance by more than
        ``DURATION_ERROR_S`` (with ``open_end``: when the annotation runs that
        far past the audio, or covers less than half of it).
    """
    audio_s, gt_end_s = float(audio_s), float(gt_end_s)
    tol = duration_tolerance(hop_s)
    diff = audio_s - gt_end_s  # > 0: audio longer than the ground truth
    rate = f" at {int(sample_rate)} Hz" if sample_rate else ""
    if audio_path or annotation_path:
        what = (f"{label}: audio {str(audio_path)!r} lasts {audio_s:.3f} s{rate} but its ground truth "
                f"{str(annotation_path)!r} ends at {gt_end_s:.3f} s")
    else:
        what = f"{label}: audio lasts {audio_s:.3f} s{rate} but its ground truth ends at {gt_end_s:.3f} s"
    hint = ("a truncated audio file, a wrong sample rate in the audio header, or a cut or foreign "
            f"annotation? (tolerances: {layout_doc('durations')})")
    if diff < -tol:
        excess = -diff - tol
        if excess > DURATION_ERROR_S:
            raise DatasetMalformed(f"{what} ({-diff:.3f} s later than the audio; at most "
                                   f"{tol + DURATION_ERROR_S:.3f} s is accepted): {hint}")
        return f"{what} ({-diff:.3f} s past the end of the audio, tolerance {tol:.3f} s)"
    if diff > tol:
        if open_end:
            if gt_end_s < 0.5 * audio_s and diff > tol + NOTE_TAIL_S:
                raise DatasetMalformed(f"{what}: the notes cover less than half of the audio: {hint}")
            if diff > tol + NOTE_TAIL_S:
                return (f"{what} ({diff:.3f} s of audio after the last note; a release tail of up to "
                        f"{NOTE_TAIL_S:g} s is expected)")
            return None
        excess = diff - tol
        if excess > DURATION_ERROR_S:
            raise DatasetMalformed(f"{what} ({diff:.3f} s of audio without ground truth; at most "
                                   f"{tol + DURATION_ERROR_S:.3f} s is accepted): {hint}")
        return f"{what} ({diff:.3f} s of audio without ground truth, tolerance {tol:.3f} s)"
    return None


def resolve_incomplete(dataset: str, problems: Mapping[str, str], skip_incomplete: bool,
                       n_total: int | None = None) -> dict[str, str]:
    """Apply the incomplete-track rule to the problems a loader found in its layout.

    Parameters
    ----------
    dataset : str
        Dataset key (for messages and the documentation anchor).
    problems : mapping
        Track (or folder) name -> what is wrong, naming the missing file(s).
    skip_incomplete : bool
        The loader's ``skip_incomplete`` keyword.
    n_total : int, optional
        Number of track folders seen (to refuse a dataset where nothing is left).

    Returns
    -------
    dict
        The skipped tracks (name -> reason); empty when there were no problems.

    Raises
    ------
    DatasetMalformed
        If there are problems and ``skip_incomplete`` is false (all problems are
        listed), or if every track is incomplete.
    """
    problems = dict(problems)
    if not problems:
        return {}
    listed = "; ".join(problems.values())
    if not skip_incomplete:
        raise DatasetMalformed(
            f"{dataset}: {len(problems)} incomplete track(s): {listed}. Restore the files, or pass "
            f"skip_incomplete=True to skip incomplete tracks (they are recorded as skipped); "
            f"expected layout: {layout_doc(dataset)}")
    if n_total is not None and len(problems) >= n_total:
        raise DatasetMalformed(f"{dataset}: every track is incomplete ({listed}); expected layout: "
                               f"{layout_doc(dataset)}")
    for name, reason in problems.items():
        log.warning("%s: skipping incomplete track %s: %s", dataset, name, reason)
    return problems


def check_track(track: MultiPitchTrack, source: str | None = None) -> MultiPitchTrack:
    """Validate a track's ground truth; warn about legal-but-odd content.

    Raises ``ValueError`` when times are not finite and strictly increasing,
    when the number of frames and pitch lists differ, or when a pitch is not
    a positive finite number.  Warns when no frame has a pitch at all.
    Durations are checked separately (:func:`check_durations`).
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
    track.times_s = times
    track.frequencies_hz = [np.asarray(f, dtype=np.float64) for f in track.frequencies_hz]
    return track


def finish_track(track: MultiPitchTrack, *, gt_end_s: float | None = None, hop_s: float | None = None,
                 open_end: bool = False, audio_path=None, annotation_path=None,
                 native_sample_rate: int | None = None, expected_sample_rate: int | None = None,
                 source: str | None = None, annotations: Sequence[tuple[float, object]] | None = None
                 ) -> MultiPitchTrack:
    """The checks every loader applies to a track it built; warnings go to ``warnings.warn``.

    :func:`check_track` (ground-truth sanity), then :func:`check_durations`
    with ``gt_end_s`` (default: the last frame time), then, when
    ``expected_sample_rate`` is given, a warning if the audio file's own rate
    (``native_sample_rate``, Hz) differs from the rate the dataset is
    documented to have.  ``annotations`` = ``[(end_s, path), ...]`` checks
    several annotation files (e.g. one per stem) instead of ``gt_end_s`` /
    ``annotation_path``.  :class:`LazyTracks` stores the warnings in
    ``track.warnings``.
    """
    label = f"{track.meta.get('dataset', 'dataset')} track {track.name!r}"
    track = check_track(track, source or label)
    if annotations is None:
        end = float(track.times_s[-1]) if gt_end_s is None else float(gt_end_s)
        annotations = [(end, annotation_path)]
    for end, ann_path in annotations:
        msg = check_durations(track.duration_s, end, hop_s=hop_s, label=label, audio_path=audio_path,
                              annotation_path=ann_path, sample_rate=native_sample_rate,
                              open_end=open_end)
        if msg:
            warnings.warn(msg, stacklevel=2)
    if expected_sample_rate and native_sample_rate and int(native_sample_rate) != int(expected_sample_rate):
        warnings.warn(f"{label}: audio {str(audio_path)!r} says {int(native_sample_rate)} Hz but this "
                      f"dataset is {int(expected_sample_rate)} Hz (see {layout_doc(track.meta.get('dataset'))});"
                      " a resampled copy, or a wrong header rate?", stacklevel=2)
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

    Every loaded track carries ``track.warnings`` (list of str): the warnings
    emitted while it loaded (also re-emitted with :mod:`warnings`).  Errors
    raised while loading (``ValueError``, ``OSError``) reach the caller as
    :class:`~sotbench.data.roots.DatasetMalformed` naming the track.

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
    skipped : mapping, optional
        Tracks left out because they are incomplete (name -> reason naming the
        missing file); only with a loader's ``skip_incomplete=True``.

    Attributes
    ----------
    skipped : dict
        As above (empty when nothing was skipped).  Runners record it.
    """

    def __init__(self, dataset: str, names: Sequence[str], load: Callable[[str], MultiPitchTrack],
                 root: Path | None = None, skipped: Mapping[str, str] | None = None) -> None:
        self.dataset = dataset
        self.names = list(names)
        self.root = root
        self.skipped = dict(skipped or {})
        self._load = load

    def __len__(self) -> int:
        return len(self.names)

    def _load_checked(self, name: str) -> MultiPitchTrack:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                track = self._load(name)
            except DatasetError:
                raise
            except (ValueError, OSError) as err:
                raise DatasetMalformed(f"{self.dataset} track {name!r}: {err} (expected layout: "
                                       f"{layout_doc(self.dataset)})") from err
        messages = []
        for w in caught:
            text = str(w.message)
            if text not in messages:
                messages.append(text)
            # re-emit outside the recording context: the caller's filters apply
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        track.warnings = list(getattr(track, "warnings", None) or []) + \
            [m for m in messages if m not in (getattr(track, "warnings", None) or [])]
        return track

    def __getitem__(self, index):
        if isinstance(index, slice):
            return LazyTracks(self.dataset, self.names[index], self._load, self.root, self.skipped)
        if isinstance(index, str):
            if index not in self.names:
                raise KeyError(f"{self.dataset}: no track {index!r}")
            return self._load_checked(index)
        return self._load_checked(self.names[index])

    def __repr__(self) -> str:
        return f"LazyTracks({self.dataset!r}, {len(self)} tracks, root={str(self.root)!r})"
