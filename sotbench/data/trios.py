"""TRIOS (Fritsch & Plumbley, ICASSP 2013): five score-aligned chamber pieces.

Layout (under the ``TRIOS/`` folder; the Zenodo archive unpacks to
``TRIOS Dataset/``, also accepted)::

    <piece>/mix.wav             pieces: brahms, lussier, mozart, schubert, take_five
    <piece>/<instrument>.wav    stems (unused)
    <piece>/<instrument>.mid    notes aligned to the audio

Multi-pitch ground truth is built from the aligned MIDI with
:mod:`pretty_midi`: a note sounds in frame ``k`` when
``start <= 0.010 k < end`` (10 ms grid, frames at ``0.010 k`` from 0 to the
end of the audio or of the last note).  Unpitched parts are skipped: MIDI
instruments flagged as drums (channel 10) and files whose name is a
percussion instrument (:data:`UNPITCHED_NAMES`, e.g. ``kick.mid``,
``snare.mid``); what was skipped is listed in ``meta["skipped"]``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..types import MultiPitchTrack
from .audio import load_audio
from .roots import DatasetNotFound, dataset_dir
from .tracks import LazyTracks, check_track, midi_to_hz, notes_to_frames, regular_grid, select_names

__all__ = ["load_trios", "midi_notes", "UNPITCHED_NAMES", "TRIOS_HOP_S"]

#: Ground-truth grid of TRIOS (and of other MIDI-derived ground truth), seconds.
TRIOS_HOP_S = 0.010
#: File stems (lower case) treated as unpitched percussion.
UNPITCHED_NAMES = frozenset({
    "drums", "drum", "drumset", "drumkit", "kick", "bassdrum", "bass_drum", "snare", "hihat", "hi-hat",
    "hat", "ride", "crash", "cymbal", "cymbals", "tom", "toms", "percussion", "perc",
})


def midi_notes(path: str | Path, skip_drums: bool = True) -> tuple[np.ndarray, list[str]]:
    """Read a MIDI file's notes as an array ``(n_notes, 3)`` of start s, end s, MIDI pitch.

    Instruments flagged ``is_drum`` are skipped (and named in the returned
    list) when ``skip_drums``.  Zero-length notes are dropped.
    """
    import pretty_midi

    path = Path(path)
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:
        raise ValueError(f"cannot read MIDI file {str(path)!r}: {exc}") from exc
    rows, skipped = [], []
    for inst in pm.instruments:
        if skip_drums and inst.is_drum:
            skipped.append(f"{path.name}:{inst.name or 'drums'}")
            continue
        rows.extend((n.start, n.end, n.pitch) for n in inst.notes if n.end > n.start)
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    return arr, skipped


def load_trios(root=None, tracks=None, *, path=None, sample_rate: int | None = None,
               hop_s: float = TRIOS_HOP_S) -> LazyTracks:
    """TRIOS mixes with multi-pitch ground truth from the aligned MIDI.

    Parameters
    ----------
    root, path, sample_rate
        As in :func:`sotbench.data.bach10.load_bach10`.
    tracks : sequence of str or int, optional
        Piece names (``"mozart"``) or 1-based indices (alphabetical order).
    hop_s : float
        Ground-truth grid in seconds (default 10 ms).
    """
    base = dataset_dir("trios", root, path)
    pieces = {d.name: d for d in sorted(base.iterdir()) if d.is_dir() and (d / "mix.wav").is_file()}
    if not pieces:
        raise DatasetNotFound(
            f"TRIOS folder {str(base)!r} has no piece folders; expected '<piece>/mix.wav' and "
            "'<piece>/<instrument>.mid' for brahms, lussier, mozart, schubert, take_five")
    names = select_names(list(pieces), tracks, "trios")

    def load(name: str) -> MultiPitchTrack:
        d = pieces[name]
        mids = sorted(p for p in d.iterdir() if p.suffix.lower() in (".mid", ".midi"))
        if not mids:
            raise DatasetNotFound(f"TRIOS piece {str(d)!r} has no '<instrument>.mid' files")
        notes, skipped, used = [], [], []
        for mid in mids:
            if mid.stem.lower() in UNPITCHED_NAMES:
                skipped.append(mid.name)
                continue
            arr, sk = midi_notes(mid)
            skipped.extend(sk)
            if len(arr):
                notes.append(arr)
                used.append(mid.name)
        if not notes:
            raise ValueError(f"TRIOS piece {str(d)!r}: no pitched notes in {[m.name for m in mids]}")
        notes_arr = np.concatenate(notes)
        audio, sr = load_audio(d / "mix.wav", sample_rate)
        end = max(len(audio) / sr, float(notes_arr[:, 1].max()))
        times = regular_grid(int(np.floor(end / hop_s)) + 1, hop_s)
        freqs = notes_to_frames(notes_arr[:, 0], notes_arr[:, 1], midi_to_hz(notes_arr[:, 2]), times)
        track = MultiPitchTrack(name=name, audio=audio, sample_rate=sr, times_s=times,
                                frequencies_hz=freqs,
                                meta={"dataset": "trios", "audio_path": str(d / "mix.wav"),
                                      "annotation_paths": [str(d / m) for m in used],
                                      "skipped": skipped, "hop_s": hop_s})
        return check_track(track, str(d))

    return LazyTracks("trios", names, load, base)
