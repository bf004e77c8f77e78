"""Su dataset (Su & Yang, 2015): real recordings of piano / string pieces with multi-F0 annotations.

Layout (under the ``Su/`` folder)::

    audio/<track>_audio.wav
    gt_F0/<track>_F0.txt        MIREX multi-F0: "time f1 f2 ..." per line (s, Hz; any number of Hz)
    gt_Note/<track>_note.txt    onset (s), offset (s), f0 (Hz) per line

Tracks: PQ02 PQ03 PS01 PS02 PS03 SQ01 SQ02 SQ03 VS01 VS04 (names such as
``PQ02_Dvorak``).  By default the frame-level ``gt_F0`` files are used;
``ground_truth="notes"`` samples ``gt_Note`` on a 10 ms grid instead
(frames at ``0.010 k``), as some authors do.  Non-positive values in a
``gt_F0`` line are treated as "no pitch".

Layout rules (``docs/datasets.md#su``): a track is complete when both
``audio/<track>_audio.wav`` and its annotation exist and are not empty; an
audio file without its annotation or an annotation without its audio is a
:class:`~sotbench.data.roots.DatasetMalformed` error naming the missing file,
unless ``skip_incomplete=True``.  The annotations end with the last note, so
durations are compared with a release tail allowed (``open_end``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..types import MultiPitchTrack
from .audio import audio_info, load_audio
from .bach10 import _paired_file_problems
from .roots import DatasetMalformed, dataset_dir, layout_doc
from .tracks import (
    LazyTracks,
    finish_track,
    notes_to_frames,
    read_numeric_rows,
    regular_grid,
    resolve_incomplete,
    select_names,
)

__all__ = ["load_su", "read_mirex_multif0", "read_note_list", "write_mirex_multif0"]


def read_mirex_multif0(path: str | Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """Read a MIREX multi-F0 text file.

    Each non-empty line holds a time (s) followed by zero or more frequencies
    (Hz), separated by spaces or tabs.  Values ``<= 0`` mean "no pitch".

    Returns
    -------
    times : ndarray, shape (T,)
    frequencies : list of ndarray
        Hz per frame.

    Raises
    ------
    ValueError
        Naming the file: empty file, non-numeric or non-finite values, times
        that do not increase.
    """
    path = Path(path)
    times, freqs = [], []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.replace(",", " ").split()
            if not parts:
                continue
            try:
                values = np.asarray([float(p) for p in parts], dtype=np.float64)
            except ValueError:
                raise ValueError(f"{str(path)!r} line {lineno}: not numbers: {line.strip()!r}") from None
            if not np.isfinite(values).all():
                raise ValueError(f"{str(path)!r} line {lineno}: NaN/Inf value")
            times.append(values[0])
            freqs.append(values[1:][values[1:] > 0])
    if not times:
        raise ValueError(f"annotation file {str(path)!r} is empty; expected lines 'time f1 f2 ...'")
    t = np.asarray(times)
    if t.size > 1 and not (np.diff(t) > 0).all():
        raise ValueError(f"{str(path)!r}: times must increase strictly")
    return t, freqs


def write_mirex_multif0(path: str | Path, times, frequencies) -> None:
    """Write a MIREX multi-F0 file (tab separated, values printed with full precision)."""
    from .roots import atomic_write_text

    lines = ["\t".join([repr(float(t))] + [repr(float(f)) for f in np.atleast_1d(fs)])
             for t, fs in zip(times, frequencies, strict=True)]
    atomic_write_text(path, "\n".join(lines) + "\n")


def read_note_list(path: str | Path) -> np.ndarray:
    """Read ``onset offset f0`` lines (s, s, Hz) -> array (n_notes, 3)."""
    return read_numeric_rows(path, 3, "onset offset f0")


def load_su(root=None, tracks=None, *, path=None, sample_rate: int | None = None,
            ground_truth: str = "f0", hop_s: float = 0.010, skip_incomplete: bool = False) -> LazyTracks:
    """Su dataset tracks with multi-pitch ground truth.

    Parameters
    ----------
    root, path, sample_rate
        As in :func:`sotbench.data.bach10.load_bach10`.
    tracks : sequence of str or int, optional
        Names (``"PQ02_Dvorak"``), prefixes (``"PQ02"``) or 1-based indices.
    ground_truth : {"f0", "notes"}
        ``"f0"``: frame-level ``gt_F0`` files (times from the file).
        ``"notes"``: ``gt_Note`` sampled at ``hop_s`` (frames ``hop_s * k``).
    hop_s : float
        Grid for ``ground_truth="notes"``, seconds.
    skip_incomplete : bool
        Skip tracks lacking their audio or annotation instead of raising; they
        are listed in the result's ``skipped`` attribute.

    Raises
    ------
    DatasetNotFound, DataPathNotFound, DatasetMalformed
        As for :func:`sotbench.data.bach10.load_bach10`.
    """
    if ground_truth not in ("f0", "notes"):
        raise ValueError(f"ground_truth must be 'f0' or 'notes', got {ground_truth!r}")
    hop_s = float(hop_s)
    if not hop_s > 0 or not np.isfinite(hop_s):
        raise ValueError(f"hop_s must be a positive number of seconds, got {hop_s!r}")
    base = dataset_dir("su", root, path)
    audio_dir = base / "audio"
    gt_dir, suffix = (base / "gt_F0", "_F0.txt") if ground_truth == "f0" else (base / "gt_Note", "_note.txt")
    if not audio_dir.is_dir() or not gt_dir.is_dir():
        raise DatasetMalformed(f"Su folder {str(base)!r} must hold 'audio/<track>_audio.wav' and "
                               f"'{gt_dir.name}/<track>{suffix}' (see {layout_doc('su')})")
    try:
        with_audio = {p.name[:-len("_audio.wav")] for p in audio_dir.glob("*_audio.wav")}
        with_gt = {p.name[:-len(suffix)] for p in gt_dir.glob(f"*{suffix}")}
    except OSError as err:
        raise DatasetMalformed(f"Su folder {str(base)!r} cannot be listed ({err})") from err
    if not with_audio and not with_gt:
        raise DatasetMalformed(f"Su folder {str(audio_dir)!r} has no '<track>_audio.wav' files "
                               f"(see {layout_doc('su')})")
    problems = _paired_file_problems(base, with_audio | with_gt,
                                     lambda name: (audio_dir / f"{name}_audio.wav", gt_dir / f"{name}{suffix}"))
    available = sorted((with_audio | with_gt) - set(problems))
    skipped = resolve_incomplete("su", problems, skip_incomplete, n_total=len(with_audio | with_gt))
    names = select_names(available, tracks, "su")

    def load(name: str) -> MultiPitchTrack:
        wav, gt_path = audio_dir / f"{name}_audio.wav", gt_dir / f"{name}{suffix}"
        info = audio_info(wav)
        audio, sr = load_audio(wav, sample_rate)
        if ground_truth == "f0":
            times, freqs = read_mirex_multif0(gt_path)
            end = float(times[-1])
        else:
            notes = read_note_list(gt_path)
            n = int(np.floor(max(len(audio) / sr, notes[:, 1].max()) / hop_s)) + 1
            times = regular_grid(n, hop_s)
            freqs = notes_to_frames(notes[:, 0], notes[:, 1], notes[:, 2], times)
            end = float(notes[:, 1].max())
        track = MultiPitchTrack(name=name, audio=audio, sample_rate=sr, times_s=times,
                                frequencies_hz=freqs,
                                meta={"dataset": "su", "audio_path": str(wav),
                                      "annotation_path": str(gt_path), "ground_truth": ground_truth})
        hop = float(np.median(np.diff(times))) if len(times) > 1 else hop_s
        return finish_track(track, gt_end_s=end, hop_s=hop, open_end=True, audio_path=wav,
                            annotation_path=gt_path, native_sample_rate=info.sample_rate,
                            source=str(gt_path))

    return LazyTracks("su", names, load, base, skipped)
