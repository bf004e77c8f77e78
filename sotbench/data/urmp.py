"""URMP (Li et al., IEEE TMM 2019): chamber-music mixes with per-stem F0 annotations.

Layout (under the ``URMP/`` folder; the piece folders may sit in
``URMP/Dataset/`` as in the release, or directly in ``URMP/``)::

    NN_Piece_inst1_inst2.../AuMix_NN_Piece_inst1_inst2....wav      mix
    NN_Piece_inst1_inst2.../F0s_<k>_<inst>_<NN>_<Piece>.txt        k = 1..n_instruments

Each ``F0s_`` file has two columns: time (s, starting at 0.023 with a 10 ms
hop) and f0 (Hz, 0 = silent).  The stems are merged onto one common grid
``t0 + hop * k`` (``t0`` = earliest first time, ``hop`` = median spacing of the
first stem); a stem shorter than the others is silent past its end.  Rows are
placed by rounding ``(t - t0) / hop``; rows off that grid by more than a
quarter hop trigger a warning.

Layout rules (``docs/datasets.md#urmp``): every visible folder next to the
piece folders must be a piece folder (``Supplementary*`` folders, hidden
folders and ``__MACOSX`` are ignored); a piece lacking its mix or one of its
``F0s_<k>_*.txt`` files (or holding an empty one) is a
:class:`~sotbench.data.roots.DatasetMalformed` error naming the file unless
``skip_incomplete=True``.  The F0 rows cover the whole recording, so audio and
ground-truth durations are compared strictly.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from ..types import MultiPitchTrack
from .audio import audio_info, load_audio
from .bach10 import _required, _visible_dirs
from .roots import DatasetMalformed, dataset_dir, layout_doc
from .tracks import (
    LazyTracks,
    finish_track,
    matrix_to_frames,
    read_numeric_rows,
    regular_grid,
    resolve_incomplete,
    select_names,
)

__all__ = ["load_urmp", "read_f0_columns", "merge_stems", "URMP_SAMPLE_RATE"]

#: Sample rate of URMP's audio, Hz (another rate in a file's header is reported as a warning).
URMP_SAMPLE_RATE = 48000

_PIECE_DIR = re.compile(r"^\d{2}_[^_]+_.+")


def read_f0_columns(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a two-column (time s, f0 Hz) text file; returns ``(times, f0)``.

    Raises ``ValueError`` naming the file for an empty file, a row without
    exactly two numbers, NaN/Inf, negative f0, or times that do not increase.
    """
    arr = read_numeric_rows(path, 2, "time f0")
    times, f0 = arr[:, 0], arr[:, 1]
    if not np.isfinite(arr).all():
        raise ValueError(f"{str(path)!r} contains NaN/Inf")
    if (f0 < 0).any():
        raise ValueError(f"{str(path)!r} contains negative f0 values; 0 marks silence")
    if times.size > 1 and not (np.diff(times) > 0).all():
        raise ValueError(f"{str(path)!r}: times must increase strictly")
    return times, f0


def merge_stems(stems: list[tuple[np.ndarray, np.ndarray]], name: str = "track"
                ) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-stem (times, f0) series onto one regular grid.

    Returns
    -------
    times : ndarray, shape (T,)
    f0 : ndarray, shape (n_stems, T)
        Hz, 0 = silent (also outside a stem's annotated span).
    """
    if not stems:
        raise ValueError(f"{name}: no stems to merge")
    t0 = min(float(t[0]) for t, _ in stems)
    ref = stems[0][0]
    hop = float(np.median(np.diff(ref))) if ref.size > 1 else 0.01
    if hop <= 0:
        raise ValueError(f"{name}: cannot infer the annotation hop")
    idx = [np.rint((t - t0) / hop).astype(np.int64) for t, _ in stems]
    n = int(max(i.max() for i in idx)) + 1
    out = np.zeros((len(stems), n))
    for s, ((t, f), i) in enumerate(zip(stems, idx, strict=True)):
        off = np.abs(t - (t0 + hop * i))
        if (off > hop / 4).any():
            warnings.warn(f"{name}: stem {s + 1} has {int((off > hop / 4).sum())} rows off the common "
                          f"{hop * 1000:.1f} ms grid; placed at the nearest frame", stacklevel=2)
        out[s, i] = f
    return regular_grid(n, hop, t0), out


def _piece_files(d: Path) -> tuple[Path, list[Path], list[str]]:
    """The mix, the ``F0s_<k>_*.txt`` files in stem order, and what is missing or empty."""
    name = d.name
    n_inst = len(name.split("_")[2:])
    mix = d / f"AuMix_{name}.wav"
    why = [w for w in (_required(mix),) if w]
    f0_files = []
    for k in range(1, n_inst + 1):
        found = sorted(d.glob(f"F0s_{k}_*.txt"))
        if not found:
            why.append(f"lacks 'F0s_{k}_<inst>_....txt' (the folder name lists {n_inst} instruments)")
            continue
        w = _required(found[0])
        if w:
            why.append(w)
        f0_files.append(found[0])
    return mix, f0_files, why


def _pieces(base: Path, skip_incomplete: bool) -> tuple[Path, dict[str, Path], dict[str, str]]:
    folder = base / "Dataset" if (base / "Dataset").is_dir() else base
    subdirs = [d for d in _visible_dirs(folder, "urmp") if not d.name.startswith("Supplementary")]
    if not any(_PIECE_DIR.match(d.name) for d in subdirs):
        raise DatasetMalformed(
            f"URMP folder {str(base)!r} exists but has no piece folders; expected "
            f"'{base}/Dataset/NN_Piece_inst1_inst2.../' (or those folders directly) holding "
            f"'AuMix_<folder>.wav' and 'F0s_<k>_....txt' per instrument (see {layout_doc('urmp')})")
    pieces: dict[str, Path] = {}
    problems: dict[str, str] = {}
    for d in subdirs:
        if not _PIECE_DIR.match(d.name):
            problems[d.name] = (f"folder {str(d)!r} is not a URMP piece folder "
                                "('NN_Piece_inst1_inst2...'); remove or move it")
            continue
        why = _piece_files(d)[2]
        if why:
            problems[d.name] = f"piece folder {str(d)!r} {' and '.join(why)}"
        else:
            pieces[d.name] = d
    skipped = resolve_incomplete("urmp", problems, skip_incomplete, n_total=len(subdirs))
    return folder, pieces, skipped


def load_urmp(root=None, tracks=None, *, path=None, sample_rate: int | None = None,
              skip_incomplete: bool = False) -> LazyTracks:
    """URMP mixes with the per-stem F0 annotations merged to multi-pitch ground truth.

    Parameters
    ----------
    root, path, sample_rate
        As in :func:`sotbench.data.bach10.load_bach10`.
    tracks : sequence of str or int, optional
        Piece folder names, prefixes (``"01"``) or 1-based indices; default all.
    skip_incomplete : bool
        Skip pieces lacking a file (and stray folders) instead of raising;
        they are listed in the result's ``skipped`` attribute.

    Returns
    -------
    LazyTracks
        Frame times from the annotations (``0.023 + 0.010 k``), pitches in Hz
        in stem order; ``track.warnings`` per track, ``.skipped``.

    Raises
    ------
    DatasetNotFound, DataPathNotFound, DatasetMalformed
        As for :func:`sotbench.data.bach10.load_bach10`.
    """
    base = dataset_dir("urmp", root, path)
    folder, pieces, skipped = _pieces(base, skip_incomplete)
    names = select_names(list(pieces), tracks, "urmp")

    def load(name: str) -> MultiPitchTrack:
        d = pieces[name]
        mix, f0_files, why = _piece_files(d)
        if why:  # changed on disk since the loader was called
            raise DatasetMalformed(f"URMP piece folder {str(d)!r} {' and '.join(why)}")
        stems = [read_f0_columns(f) for f in f0_files]
        times, f0 = merge_stems(stems, name)
        info = audio_info(mix)
        audio, sr = load_audio(mix, sample_rate)
        track = MultiPitchTrack(
            name=name, audio=audio, sample_rate=sr, times_s=times,
            frequencies_hz=matrix_to_frames(f0),
            meta={"dataset": "urmp", "audio_path": str(mix),
                  "annotation_paths": [str(f) for f in f0_files],
                  "instruments": name.split("_")[2:]})
        hop = float(times[1] - times[0]) if len(times) > 1 else 0.01
        return finish_track(track, hop_s=hop, audio_path=mix,
                            annotations=[(float(t[-1]), f) for (t, _), f in zip(stems, f0_files, strict=True)],
                            native_sample_rate=info.sample_rate, expected_sample_rate=URMP_SAMPLE_RATE,
                            source=str(d))

    return LazyTracks("urmp", names, load, folder, skipped)
