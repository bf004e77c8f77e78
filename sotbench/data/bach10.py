"""Bach10 (Duan, Pardo & Zhang, IEEE TASLP 18(8), 2010), v1.1 layout.

Layout (under the ``Bach10_v1.1/`` or ``Bach10/`` folder of the data root)::

    NN-Name/NN-Name.wav          mix, 44.1 kHz mono PCM16, 25-42 s
    NN-Name/NN-Name-GTF0s.mat    variable GTF0s, float64, 4 x T, MIDI (fractional), 0 = silent;
                                 rows violin, clarinet, saxophone, bassoon

Ground-truth frame ``k`` is centred at ``t = 0.023 + 0.010 k`` s (46 ms
frames, 10 ms hop).  Pitches are converted from MIDI to Hz
(:func:`~sotbench.data.tracks.midi_to_hz`); zeros become "no pitch".
Evaluation only: Bach10 is a test set.

Layout rules (``docs/datasets.md#bach10``): every visible sub-folder of the
Bach10 folder must be a complete track folder; a track folder lacking its
``.wav`` or ``-GTF0s.mat`` (or an empty one), and any other folder, is a
:class:`~sotbench.data.roots.DatasetMalformed` error naming it, unless
``skip_incomplete=True`` (then it is skipped and listed in
``LazyTracks.skipped``).  Hidden folders (``.name``) and ``__MACOSX`` are
ignored.  The ground truth covers the whole mix (last frame centre within a
hop of the end, measured on the real v1.1 files), so durations are compared
strictly (:func:`~sotbench.data.tracks.check_durations`).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..types import MultiPitchTrack
from .audio import audio_info, load_audio
from .roots import DatasetMalformed, dataset_dir, layout_doc
from .tracks import (
    LazyTracks,
    finish_track,
    matrix_to_frames,
    midi_to_hz,
    regular_grid,
    resolve_incomplete,
    select_names,
)

__all__ = ["load_bach10", "read_gtf0s", "BACH10_INSTRUMENTS", "BACH10_FRAME_START_S", "BACH10_HOP_S",
           "BACH10_SAMPLE_RATE"]

#: Row order of ``GTF0s`` (the dataset's stems are spelled ``saxphone``).
BACH10_INSTRUMENTS = ("violin", "clarinet", "saxophone", "bassoon")
#: Centre of ground-truth frame 0, in seconds (half of the 46 ms frame).
BACH10_FRAME_START_S = 0.023
#: Ground-truth hop, in seconds.
BACH10_HOP_S = 0.010
#: Sample rate of the Bach10 mixes, Hz (another rate in a file's header is reported as a warning).
BACH10_SAMPLE_RATE = 44100

_TRACK_DIR = re.compile(r"^\d{2}-.+")


def read_gtf0s(path: str | Path) -> np.ndarray:
    """Read ``NN-Name-GTF0s.mat`` and return the (4, T) MIDI matrix (0 = silent).

    Raises ``ValueError`` if the variable is missing, empty, not 2-D with 4
    rows, or holds NaN / Inf / negative values.
    """
    import scipy.io

    path = Path(path)
    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as exc:
        raise ValueError(f"cannot read Bach10 ground truth {str(path)!r}: {exc}") from exc
    if "GTF0s" not in mat:
        keys = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(f"{str(path)!r} has no variable 'GTF0s' (found {keys}); "
                         "is this a Bach10 -GTF0s.mat file?")
    gt = np.asarray(mat["GTF0s"], dtype=np.float64)
    if gt.ndim != 2 or gt.shape[0] != len(BACH10_INSTRUMENTS) or gt.shape[1] == 0:
        raise ValueError(f"{str(path)!r}: GTF0s must have shape (4, T>0) (violin, clarinet, "
                         f"saxophone, bassoon), got {gt.shape}")
    if not np.isfinite(gt).all() or (gt < 0).any():
        raise ValueError(f"{str(path)!r}: GTF0s holds NaN/Inf or negative MIDI numbers")
    return gt


def _visible_dirs(base: Path, dataset: str) -> list[Path]:
    """Sub-folders of ``base`` except hidden ones and archive debris; unreadable -> DatasetMalformed."""
    try:
        return [d for d in sorted(base.iterdir())
                if d.is_dir() and not d.name.startswith(".") and d.name != "__MACOSX"]
    except OSError as err:
        raise DatasetMalformed(f"{dataset} folder {str(base)!r} cannot be listed ({err}); "
                               f"expected layout: {layout_doc(dataset)}") from err


def _required(path: Path) -> str | None:
    """Why a required per-track file is unusable (missing / empty), or ``None``."""
    if not path.is_file():
        return f"lacks {path.name!r}"
    if path.stat().st_size == 0:
        return f"has an empty (0-byte) {path.name!r}"
    return None


def _paired_file_problems(base: Path, names, files_of) -> dict[str, str]:
    """Tracks whose required files (in sub-folders of ``base``) are missing or empty: name -> reason.

    ``files_of(name)`` gives the track's required paths; reasons name each file with its folder.
    """
    problems: dict[str, str] = {}
    for name in sorted(names):
        paths = files_of(name)
        why = [w.replace("lacks '", f"lacks '{p.parent.name}/") for w, p in ((_required(p), p) for p in paths) if w]
        if why:
            problems[name] = f"track {name!r} in {str(base)!r} " + " and ".join(why)
    return problems


def _track_dirs(base: Path, skip_incomplete: bool) -> tuple[dict[str, Path], dict[str, str]]:
    subdirs = _visible_dirs(base, "bach10")
    dirs: dict[str, Path] = {}
    problems: dict[str, str] = {}
    for d in subdirs:
        name = d.name
        if not _TRACK_DIR.match(name):
            problems[name] = (f"folder {str(d)!r} is not a Bach10 track folder ('NN-Name/' holding "
                              "'NN-Name.wav' and 'NN-Name-GTF0s.mat'); remove or move it")
            continue
        why = [w for w in (_required(d / f"{name}.wav"), _required(d / f"{name}-GTF0s.mat")) if w]
        if why:
            problems[name] = f"track folder {str(d)!r} {' and '.join(why)}"
        else:
            dirs[name] = d
    if not subdirs:
        raise DatasetMalformed(
            f"Bach10 folder {str(base)!r} exists but has no track folders; expected 'NN-Name/' folders "
            "(e.g. '01-AchGottundHerr/') each holding 'NN-Name.wav' and 'NN-Name-GTF0s.mat' "
            f"(see {layout_doc('bach10')})")
    skipped = resolve_incomplete("bach10", problems, skip_incomplete, n_total=len(subdirs))
    return dirs, skipped


def load_bach10(root=None, tracks=None, *, path=None, sample_rate: int | None = None,
                skip_incomplete: bool = False) -> LazyTracks:
    """Bach10 mixes with frame-level multi-pitch ground truth.

    Parameters
    ----------
    root : str or path-like, optional
        Data root (see :func:`sotbench.data.roots.data_root`) or the Bach10
        folder itself.
    tracks : sequence of str or int, optional
        Track names (``"01-AchGottundHerr"``), prefixes (``"01"``) or 1-based
        indices; default all ten.
    path : str or path-like, optional
        This dataset's own folder (overrides ``root``).
    sample_rate : int, optional
        Resample the audio to this rate (Hz); default native 44,100 Hz.
    skip_incomplete : bool
        Skip track folders lacking a file (and stray folders) instead of
        raising; they are listed in the result's ``skipped`` attribute.

    Returns
    -------
    LazyTracks
        Sequence of :class:`~sotbench.types.MultiPitchTrack` (loaded on
        access); ``times_s = 0.023 + 0.010 k``; pitches in Hz, voice order
        violin, clarinet, saxophone, bassoon.  ``track.warnings`` lists
        data-quality warnings; ``.skipped`` the skipped folders.

    Raises
    ------
    DatasetNotFound
        No Bach10 folder under the data root (absent dataset).
    DataPathNotFound
        ``root`` / ``path`` names a missing folder.
    DatasetMalformed
        A track folder lacks a file, a stray folder, an unreadable file, or
        audio and ground truth of different lengths (see ``docs/datasets.md``).
    """
    base = dataset_dir("bach10", root, path)
    dirs, skipped = _track_dirs(base, skip_incomplete)
    names = select_names(list(dirs), tracks, "bach10")

    def load(name: str) -> MultiPitchTrack:
        d = dirs[name]
        wav, mat = d / f"{name}.wav", d / f"{name}-GTF0s.mat"
        info = audio_info(wav)
        audio, sr = load_audio(wav, sample_rate)
        gt = read_gtf0s(mat)
        hz = np.where(gt > 0, midi_to_hz(gt), 0.0)
        times = regular_grid(gt.shape[1], BACH10_HOP_S, BACH10_FRAME_START_S)
        track = MultiPitchTrack(
            name=name, audio=audio, sample_rate=sr, times_s=times,
            frequencies_hz=matrix_to_frames(hz),
            meta={"dataset": "bach10", "audio_path": str(wav), "annotation_path": str(mat),
                  "instruments": list(BACH10_INSTRUMENTS), "hop_s": BACH10_HOP_S})
        return finish_track(track, hop_s=BACH10_HOP_S, audio_path=wav, annotation_path=mat,
                            native_sample_rate=info.sample_rate, expected_sample_rate=BACH10_SAMPLE_RATE,
                            source=str(mat))

    return LazyTracks("bach10", names, load, base, skipped)
