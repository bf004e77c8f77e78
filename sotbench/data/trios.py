"""TRIOS (Fritsch & Plumbley, ICASSP 2013): five score-aligned chamber pieces.

Layout (under the ``TRIOS/`` folder; the Zenodo archive unpacks to
``TRIOS Dataset/``, also accepted)::

    <piece>/mix.wav             pieces: brahms, lussier, mozart, schubert, take_five
    <piece>/<instrument>.wav    stems (used only to tell instrument parts from other MIDI files)
    <piece>/<instrument>.mid    notes aligned to the audio

Multi-pitch ground truth is built from the aligned MIDI with
:mod:`pretty_midi`: a note sounds in frame ``k`` when
``start <= 0.010 k < end`` (10 ms grid, frames at ``0.010 k`` from 0 to the
end of the audio or of the last note).

Which MIDI files are ground truth (``docs/datasets.md#trios``):

* only **instrument parts**: ``mix.mid`` (the merged score that copies
  circulating with MIREX tooling add) is never one; when the piece folder holds
  stem audio, a ``.mid`` counts only if ``<same name>.wav`` exists next to it
  (any other ``.mid`` is ignored and recorded in ``meta["not_instruments"]``);
  a file whose notes all repeat notes of the other parts (a merged or copied
  score under another name) is a :class:`~sotbench.data.roots.DatasetMalformed`
  error, since it would double the reference;
* only **pitched** parts, judged by what the file holds: instruments flagged
  as drums (MIDI channel 10, ``is_drum``), instruments whose track name is a
  percussion word, GM programs that are unpitched percussion or sound effects
  (:data:`UNPITCHED_PROGRAMS`), and -- for the real ``take_five`` files, whose
  drums are program 0 on an ordinary channel -- files whose name is a
  percussion word (:data:`UNPITCHED_NAMES`).  What was excluded is listed in
  ``meta["skipped"]``.

A piece folder without ``mix.wav`` or without any pitched instrument MIDI
(including a stray empty folder) is an error naming it, unless
``skip_incomplete=True``.  Note-based ground truth ends with the last note, so
durations are compared with a release tail allowed (``open_end``); the last note of all parts is compared (one part may
rest at the end).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..types import MultiPitchTrack
from .audio import audio_info, load_audio
from .bach10 import _required, _visible_dirs
from .roots import DatasetMalformed, dataset_dir, layout_doc
from .tracks import (
    LazyTracks,
    finish_track,
    midi_to_hz,
    notes_to_frames,
    regular_grid,
    resolve_incomplete,
    select_names,
)

__all__ = ["load_trios", "midi_notes", "instrument_midis", "UNPITCHED_NAMES", "UNPITCHED_PROGRAMS",
           "TRIOS_HOP_S"]

#: Ground-truth grid of TRIOS (and of other MIDI-derived ground truth), seconds.
TRIOS_HOP_S = 0.010
#: File stems / MIDI track names (lower case) treated as unpitched percussion.
UNPITCHED_NAMES = frozenset({
    "drums", "drum", "drumset", "drumkit", "kick", "bassdrum", "bass_drum", "snare", "hihat", "hi-hat",
    "hat", "ride", "crash", "cymbal", "cymbals", "tom", "toms", "percussion", "perc",
})
#: General MIDI programs (0-based) without a definite pitch: agogo, woodblock, taiko, melodic tom,
#: synth drum, reverse cymbal and the sound effects 120-127.
UNPITCHED_PROGRAMS = frozenset({113, 115, 116, 117, 118, *range(119, 128)})
#: Stems of MIDI files that are never an instrument part.
NOT_INSTRUMENT_STEMS = frozenset({"mix"})
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")


def _percussion_name(text: str) -> bool:
    text = text.strip().lower()
    return text in UNPITCHED_NAMES or any(w in UNPITCHED_NAMES for w in _WORD.findall(text))


def midi_notes(path: str | Path, skip_drums: bool = True) -> tuple[np.ndarray, list[str]]:
    """Read a MIDI file's pitched notes as an array ``(n_notes, 3)`` of start s, end s, MIDI pitch.

    With ``skip_drums``, unpitched instruments are left out and named in the
    returned list (``"<file>:<instrument> (<why>)"``): ``is_drum`` (channel 10),
    a GM program in :data:`UNPITCHED_PROGRAMS`, or a percussion track name.
    Zero-length notes are dropped.
    """
    import pretty_midi

    path = Path(path)
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:
        raise ValueError(f"cannot read MIDI file {str(path)!r}: {exc}") from exc
    rows, skipped = [], []
    for inst in pm.instruments:
        label = inst.name or ("drums" if inst.is_drum else f"program {inst.program}")
        why = None
        if inst.is_drum:
            why = "drum channel 10"
        elif inst.program in UNPITCHED_PROGRAMS:
            why = f"unpitched GM program {inst.program}"
        elif inst.name and _percussion_name(inst.name):
            why = "percussion track name"
        if skip_drums and why:
            skipped.append(f"{path.name}:{label} ({why})")
            continue
        rows.extend((n.start, n.end, n.pitch) for n in inst.notes if n.end > n.start)
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    return arr, skipped


def instrument_midis(piece: Path) -> tuple[list[Path], dict[str, str]]:
    """The MIDI files of a piece folder that are instrument parts, and the others with the reason.

    See the module docstring: ``mix.mid`` never; with stem audio present, only
    ``<name>.mid`` with a ``<name>.wav`` next to it.
    """
    piece = Path(piece)
    mids = sorted(p for p in piece.iterdir() if p.is_file() and p.suffix.lower() in (".mid", ".midi"))
    stems = {p.stem.lower() for p in piece.iterdir()
             if p.is_file() and p.suffix.lower() == ".wav" and p.stem.lower() not in NOT_INSTRUMENT_STEMS}
    parts, others = [], {}
    for m in mids:
        if m.stem.lower() in NOT_INSTRUMENT_STEMS:
            others[m.name] = "merged mix score, not an instrument part"
        elif stems and m.stem.lower() not in stems:
            others[m.name] = f"no stem audio '{m.stem}.wav' next to it, so not an instrument part"
        else:
            parts.append(m)
    return parts, others


def _duplicates(files: list[tuple[str, np.ndarray]], tol_s: float = 0.005) -> dict[str, list[str]]:
    """Files (with >= 2 notes) whose every note repeats a note of another file (pitch, start, end)."""
    found: dict[str, list[str]] = {}
    for i, (name, arr) in enumerate(files):
        if len(arr) < 2:
            continue
        others = [(n, a) for j, (n, a) in enumerate(files) if j != i and len(a)]
        if not others:
            continue
        pool = np.concatenate([a for _, a in others])
        match = np.zeros(len(arr), dtype=bool)
        for k, (s, e, p) in enumerate(arr):
            match[k] = bool(np.any((pool[:, 2] == p) & (np.abs(pool[:, 0] - s) <= tol_s)
                                   & (np.abs(pool[:, 1] - e) <= tol_s)))
        if match.all():
            found[name] = [n for n, _ in others]
    return found


def _piece_problem(d: Path) -> str | None:
    why = _required(d / "mix.wav")
    if why:
        return f"piece folder {str(d)!r} {why}"
    parts, _ = instrument_midis(d)
    if not parts:
        return f"piece folder {str(d)!r} has no instrument MIDI file '<instrument>.mid'"
    empty = [p.name for p in parts if p.stat().st_size == 0]
    if empty:
        return f"piece folder {str(d)!r} has empty (0-byte) {', '.join(empty)}"
    return None


def load_trios(root=None, tracks=None, *, path=None, sample_rate: int | None = None,
               hop_s: float = TRIOS_HOP_S, skip_incomplete: bool = False) -> LazyTracks:
    """TRIOS mixes with multi-pitch ground truth from the aligned MIDI.

    Parameters
    ----------
    root, path, sample_rate
        As in :func:`sotbench.data.bach10.load_bach10`.
    tracks : sequence of str or int, optional
        Piece names (``"mozart"``) or 1-based indices (alphabetical order).
    hop_s : float
        Ground-truth grid in seconds (default 10 ms).
    skip_incomplete : bool
        Skip piece folders lacking ``mix.wav`` or instrument MIDI instead of
        raising; they are listed in the result's ``skipped`` attribute.

    Returns
    -------
    LazyTracks
        ``meta["annotation_paths"]`` = the MIDI files used, ``meta["skipped"]``
        = unpitched parts left out, ``meta["not_instruments"]`` = other MIDI
        files ignored; ``track.warnings``; ``.skipped``.

    Raises
    ------
    DatasetNotFound, DataPathNotFound, DatasetMalformed
        As for :func:`sotbench.data.bach10.load_bach10`.
    """
    hop_s = float(hop_s)
    if not hop_s > 0 or not np.isfinite(hop_s):
        raise ValueError(f"hop_s must be a positive number of seconds, got {hop_s!r}")
    base = dataset_dir("trios", root, path)
    subdirs = _visible_dirs(base, "trios")
    if not subdirs:
        raise DatasetMalformed(
            f"TRIOS folder {str(base)!r} exists but has no piece folders; expected '<piece>/mix.wav' and "
            "'<piece>/<instrument>.mid' for brahms, lussier, mozart, schubert, take_five "
            f"(see {layout_doc('trios')})")
    problems = {d.name: why for d in subdirs if (why := _piece_problem(d))}
    skipped = resolve_incomplete("trios", problems, skip_incomplete, n_total=len(subdirs))
    pieces = {d.name: d for d in subdirs if d.name not in problems}
    names = select_names(list(pieces), tracks, "trios")

    def load(name: str) -> MultiPitchTrack:
        d = pieces[name]
        why = _piece_problem(d)
        if why:  # changed on disk since the loader was called
            raise DatasetMalformed(why)
        parts, others = instrument_midis(d)
        per_file, skipped_parts, used = [], [], []
        for mid in parts:
            if mid.stem.lower() in UNPITCHED_NAMES:
                skipped_parts.append(f"{mid.name} (percussion file name)")
                continue
            arr, sk = midi_notes(mid)
            skipped_parts.extend(sk)
            if len(arr):
                per_file.append((mid.name, arr))
                used.append(mid.name)
            elif not sk:
                skipped_parts.append(f"{mid.name} (no notes)")
        if not per_file:
            raise DatasetMalformed(f"TRIOS piece {str(d)!r}: no pitched notes in "
                                   f"{[m.name for m in parts]} (excluded: {skipped_parts})")
        dup = _duplicates(per_file)
        if dup:
            listed = "; ".join(f"{k!r} repeats notes of {v}" for k, v in dup.items())
            raise DatasetMalformed(
                f"TRIOS piece {str(d)!r}: {listed}; such a file (a merged or copied score) would double "
                f"the reference. Remove it, or keep only '<instrument>.mid' files with their "
                f"'<instrument>.wav' stems (see {layout_doc('trios')})")
        notes_arr = np.concatenate([a for _, a in per_file])
        mix = d / "mix.wav"
        info = audio_info(mix)
        audio, sr = load_audio(mix, sample_rate)
        end = max(len(audio) / sr, float(notes_arr[:, 1].max()))
        times = regular_grid(int(np.floor(end / hop_s)) + 1, hop_s)
        freqs = notes_to_frames(notes_arr[:, 0], notes_arr[:, 1], midi_to_hz(notes_arr[:, 2]), times)
        track = MultiPitchTrack(name=name, audio=audio, sample_rate=sr, times_s=times,
                                frequencies_hz=freqs,
                                meta={"dataset": "trios", "audio_path": str(mix),
                                      "annotation_paths": [str(d / m) for m in used],
                                      "skipped": skipped_parts, "not_instruments": others, "hop_s": hop_s})
        return finish_track(track, hop_s=hop_s, open_end=True, audio_path=mix,
                            annotations=[max((float(a[:, 1].max()), str(d / n)) for n, a in per_file)],
                            native_sample_rate=info.sample_rate, source=str(d))

    return LazyTracks("trios", names, load, base, skipped)
