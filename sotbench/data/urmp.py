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
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from ..types import MultiPitchTrack
from .audio import load_audio
from .roots import DatasetNotFound, dataset_dir
from .tracks import LazyTracks, check_track, matrix_to_frames, read_numeric_rows, regular_grid, select_names

__all__ = ["load_urmp", "read_f0_columns", "merge_stems"]

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
    for s, ((t, f), i) in enumerate(zip(stems, idx)):
        off = np.abs(t - (t0 + hop * i))
        if (off > hop / 4).any():
            warnings.warn(f"{name}: stem {s + 1} has {int((off > hop / 4).sum())} rows off the common "
                          f"{hop * 1000:.1f} ms grid; placed at the nearest frame", stacklevel=2)
        out[s, i] = f
    return regular_grid(n, hop, t0), out


def _pieces(base: Path) -> tuple[Path, dict[str, Path]]:
    for folder in (base / "Dataset", base):
        if folder.is_dir():
            pieces = {d.name: d for d in sorted(folder.iterdir()) if d.is_dir() and _PIECE_DIR.match(d.name)}
            if pieces:
                return folder, pieces
    raise DatasetNotFound(
        f"URMP folder {str(base)!r} has no piece folders; expected '{base}/Dataset/NN_Piece_inst1_inst2.../' "
        "(or those folders directly) holding 'AuMix_<folder>.wav' and 'F0s_<k>_....txt' per instrument")


def load_urmp(root=None, tracks=None, *, path=None, sample_rate: int | None = None) -> LazyTracks:
    """URMP mixes with the per-stem F0 annotations merged to multi-pitch ground truth.

    Parameters
    ----------
    root, path, sample_rate
        As in :func:`sotbench.data.bach10.load_bach10`.
    tracks : sequence of str or int, optional
        Piece folder names, prefixes (``"01"``) or 1-based indices; default all.

    Returns
    -------
    LazyTracks
        Frame times from the annotations (``0.023 + 0.010 k``), pitches in Hz
        in stem order.
    """
    base = dataset_dir("urmp", root, path)
    folder, pieces = _pieces(base)
    names = select_names(list(pieces), tracks, "urmp")

    def load(name: str) -> MultiPitchTrack:
        d = pieces[name]
        n_inst = len(name.split("_")[2:])
        mix = d / f"AuMix_{name}.wav"
        if not mix.is_file():
            raise DatasetNotFound(f"URMP piece {str(d)!r} lacks its mix 'AuMix_{name}.wav'")
        f0_files = []
        for k in range(1, n_inst + 1):
            found = sorted(d.glob(f"F0s_{k}_*.txt"))
            if not found:
                raise DatasetNotFound(f"URMP piece {str(d)!r} lacks 'F0s_{k}_<inst>_....txt' "
                                      f"(the folder name lists {n_inst} instruments)")
            f0_files.append(found[0])
        times, f0 = merge_stems([read_f0_columns(f) for f in f0_files], name)
        audio, sr = load_audio(mix, sample_rate)
        track = MultiPitchTrack(
            name=name, audio=audio, sample_rate=sr, times_s=times,
            frequencies_hz=matrix_to_frames(f0),
            meta={"dataset": "urmp", "audio_path": str(mix),
                  "annotation_paths": [str(f) for f in f0_files],
                  "instruments": name.split("_")[2:]})
        return check_track(track, str(d))

    return LazyTracks("urmp", names, load, folder)
