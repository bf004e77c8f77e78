"""GuitarSet (Xi et al., ISMIR 2018): solo guitar with per-string pitch contours.

Layout (under the ``GuitarSet/`` folder)::

    annotation/<player>_<style>-<tempo>-<key>_<comp|solo>.jams
    audio_mono-mic/<track>_mic.wav            (default audio)
    audio_mono-pickup_mix/<track>_mix.wav     (``audio="mix"``)

Each JAMS file (plain JSON, read without the ``jams`` package) holds six
``pitch_contour`` annotations (``annotation_metadata.data_source`` "0"-"5",
one per string) whose observations have ``value = {voiced, index,
frequency}`` on a hop of 256 / 44100 s.  The six strings are merged on the
grid ``t_k = k * 256 / 44100`` (``k = 0 .. ceil(duration / hop)``); each
voiced observation with a positive frequency goes to the nearest frame.
Both JAMS serialisations are read: ``data`` as a list of observation dicts
(JAMS >= 0.3) or as a dict of columns.

Layout rules (``docs/datasets.md#guitarset``): a track is complete when its
JAMS file and its audio exist and are not empty; one without the other is a
:class:`~sotbench.data.roots.DatasetMalformed` error naming the missing file,
unless ``skip_incomplete=True``.  The JAMS ``file_metadata.duration`` states
the recording's length, so durations are compared strictly.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ..types import MultiPitchTrack
from .audio import audio_info, load_audio
from .bach10 import _paired_file_problems
from .roots import DatasetMalformed, dataset_dir, layout_doc
from .tracks import LazyTracks, finish_track, regular_grid, resolve_incomplete, select_names

__all__ = ["load_guitarset", "read_jams_pitch_contours", "GUITARSET_HOP_S", "GUITARSET_SAMPLE_RATE"]

#: Hop of GuitarSet's pitch contours, seconds.
GUITARSET_HOP_S = 256 / 44100
#: Sample rate of GuitarSet's audio, Hz (another rate in a file's header is reported as a warning).
GUITARSET_SAMPLE_RATE = 44100
_AUDIO = {"mic": ("audio_mono-mic", "_mic.wav"), "mix": ("audio_mono-pickup_mix", "_mix.wav")}


def _observations(data) -> list[dict]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and "time" in data and "value" in data:  # column-wise serialisation
        return [{"time": t, "value": v} for t, v in zip(data["time"], data["value"], strict=True)]
    raise ValueError("unrecognised JAMS annotation data layout")


def read_jams_pitch_contours(path: str | Path, hop_s: float = GUITARSET_HOP_S,
                             duration_s: float | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Merge all ``pitch_contour`` annotations of a JAMS file onto a regular grid.

    Parameters
    ----------
    path : str or path-like
    hop_s : float
        Grid hop in seconds.
    duration_s : float, optional
        Track length; default ``file_metadata.duration`` (else the last observation).

    Returns
    -------
    times : ndarray, shape (T,)
        ``hop_s * k``.
    frequencies : list of ndarray
        Hz per frame, in string order ("0" first).

    Raises
    ------
    ValueError
        Unreadable / non-JSON file, or no ``pitch_contour`` annotation.
    """
    times, freqs, _, _ = _read_jams(path, hop_s, duration_s)
    return times, freqs


def _read_jams(path, hop_s: float = GUITARSET_HOP_S, duration_s: float | None = None):
    """:func:`read_jams_pitch_contours` plus the declared duration (or None) and the last observation time."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            jam = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read JAMS file {str(path)!r}: {exc}") from exc
    if not isinstance(jam, dict) or not isinstance(jam.get("annotations", []), list):
        raise ValueError(f"JAMS file {str(path)!r} is not a JAMS object (a JSON object with "
                         "'annotations')")
    contours = [a for a in jam.get("annotations", []) if a.get("namespace") == "pitch_contour"]
    if not contours:
        raise ValueError(f"JAMS file {str(path)!r} has no 'pitch_contour' annotation; "
                         "GuitarSet files hold six (one per string)")
    if len(contours) != 6:
        warnings.warn(f"{str(path)!r}: {len(contours)} pitch_contour annotations (GuitarSet has 6)",
                      stacklevel=2)

    def source(a):
        src = str((a.get("annotation_metadata") or {}).get("data_source", ""))
        return (0, int(src)) if src.isdigit() else (1, src)

    contours.sort(key=source)
    per_string = []
    last_time = 0.0
    try:
        for a in contours:
            obs = []
            for o in _observations(a.get("data", [])):
                value = o["value"] or {}
                f = float(value.get("frequency", 0.0))
                t = float(o["time"])
                last_time = max(last_time, t)
                if value.get("voiced", True) and f > 0 and np.isfinite(f):
                    obs.append((t, f))
            per_string.append(obs)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"JAMS file {str(path)!r}: malformed pitch_contour observation ({exc})") from exc
    declared = (jam.get("file_metadata") or {}).get("duration")
    try:
        declared = float(declared) if declared is not None else None
    except (TypeError, ValueError):
        raise ValueError(f"JAMS file {str(path)!r}: file_metadata.duration {declared!r} is not a "
                         "number") from None
    if declared is not None and not (np.isfinite(declared) and declared > 0):
        raise ValueError(f"JAMS file {str(path)!r}: file_metadata.duration {declared!r} must be a "
                         "positive number of seconds")
    if duration_s is None:
        duration_s = declared or last_time
    n = int(np.ceil(float(duration_s) / hop_s)) + 1
    n = max(n, int(np.rint(last_time / hop_s)) + 1)
    frames: list[list[float]] = [[] for _ in range(n)]
    for obs in per_string:
        used = set()
        for t, f in obs:
            k = int(np.rint(t / hop_s))
            if k in used:  # one pitch per string and frame
                continue
            used.add(k)
            frames[k].append(f)
    return regular_grid(n, hop_s), [np.asarray(f, dtype=np.float64) for f in frames], declared, last_time


def load_guitarset(root=None, tracks=None, *, path=None, sample_rate: int | None = None,
                   audio: str = "mic", skip_incomplete: bool = False) -> LazyTracks:
    """GuitarSet tracks with the six strings' pitch contours merged.

    Parameters
    ----------
    root, path, sample_rate
        As in :func:`sotbench.data.bach10.load_bach10`.
    tracks : sequence of str or int, optional
        Track names (``"00_BN1-129-Eb_comp"``), prefixes (``"00_"`` = player
        0) or 1-based indices.
    audio : {"mic", "mix"}
        ``audio_mono-mic`` (default) or ``audio_mono-pickup_mix``.
    skip_incomplete : bool
        Skip tracks lacking their audio or JAMS file instead of raising; they
        are listed in the result's ``skipped`` attribute.

    Raises
    ------
    DatasetNotFound, DataPathNotFound, DatasetMalformed
        As for :func:`sotbench.data.bach10.load_bach10`.
    """
    if audio not in _AUDIO:
        raise ValueError(f"audio must be one of {sorted(_AUDIO)}, got {audio!r}")
    base = dataset_dir("guitarset", root, path)
    ann_dir = base / "annotation"
    audio_dir, suffix = base / _AUDIO[audio][0], _AUDIO[audio][1]
    if not ann_dir.is_dir() or not audio_dir.is_dir():
        raise DatasetMalformed(f"GuitarSet folder {str(base)!r} must hold 'annotation/<track>.jams' and "
                               f"'{audio_dir.name}/<track>{suffix}' (see {layout_doc('guitarset')})")
    try:
        with_gt = {p.stem for p in ann_dir.glob("*.jams")}
        with_audio = {p.name[:-len(suffix)] for p in audio_dir.glob(f"*{suffix}")}
    except OSError as err:
        raise DatasetMalformed(f"GuitarSet folder {str(base)!r} cannot be listed ({err})") from err
    if not with_gt and not with_audio:
        raise DatasetMalformed(f"GuitarSet folder {str(ann_dir)!r} has no '.jams' files "
                               f"(see {layout_doc('guitarset')})")
    problems = _paired_file_problems(base, with_gt | with_audio,
                                     lambda name: (ann_dir / f"{name}.jams", audio_dir / f"{name}{suffix}"))
    skipped = resolve_incomplete("guitarset", problems, skip_incomplete, n_total=len(with_gt | with_audio))
    available = sorted((with_gt | with_audio) - set(problems))
    names = select_names(available, tracks, "guitarset")

    def load(name: str) -> MultiPitchTrack:
        wav, jams_path = audio_dir / f"{name}{suffix}", ann_dir / f"{name}.jams"
        info = audio_info(wav)
        x, sr = load_audio(wav, sample_rate)
        times, freqs, declared, last_obs = _read_jams(jams_path)
        track = MultiPitchTrack(name=name, audio=x, sample_rate=sr, times_s=times, frequencies_hz=freqs,
                                meta={"dataset": "guitarset", "audio_path": str(wav),
                                      "annotation_path": str(jams_path), "hop_s": GUITARSET_HOP_S})
        end = max(declared, last_obs) if declared is not None else last_obs
        return finish_track(track, gt_end_s=end, hop_s=GUITARSET_HOP_S, open_end=declared is None,
                            audio_path=wav, annotation_path=jams_path, native_sample_rate=info.sample_rate,
                            expected_sample_rate=GUITARSET_SAMPLE_RATE, source=str(jams_path))

    return LazyTracks("guitarset", names, load, base, skipped)
