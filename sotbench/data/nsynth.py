"""NSynth (Engel et al., 2017): single 4-second notes, used for training.

Layout (under the ``NSynth/`` folder; ``notes-synth`` writes the same)::

    nsynth-{train,valid,test}/examples.json     note_str -> metadata
    nsynth-{train,valid,test}/audio/<note_str>.wav   16 kHz mono, 4 s, note-off at 3 s

``note_str`` is ``<family>_<source>_<idx>-<PPP>-<VVV>`` (MIDI pitch and
velocity, 3 digits).  :func:`load_nsynth` returns :class:`NSynthNote`
records sorted by ``note_str``; audio is read on demand with
:meth:`NSynthNote.load_audio`.  The default MIDI filter ``(21, 109)``
(inclusive) is the range paper 002 trained on (A0 .. the top of its
440-bin, 60-bins-per-octave HCQT).

Layout rules (``docs/datasets.md#nsynth``): a split folder that is absent is
:class:`~sotbench.data.roots.DatasetNotFound`; a split folder without a valid
``examples.json``, an entry lacking a required field, or an entry whose WAV
file is missing or empty is :class:`~sotbench.data.roots.DatasetMalformed`
naming the file (``skip_incomplete=True`` skips entries without audio and
lists them in the result's ``skipped`` attribute).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import load_audio
from .roots import DatasetMalformed, DatasetNotFound, dataset_dir, layout_doc
from .tracks import midi_to_hz, resolve_incomplete

__all__ = ["NSynthNote", "NSynthNotes", "load_nsynth", "NSYNTH_SPLITS", "NSYNTH_SAMPLE_RATE", "nsynth_split_dir"]

NSYNTH_SPLITS = ("train", "valid", "test")
NSYNTH_SAMPLE_RATE = 16000
_REQUIRED = ("pitch", "velocity", "instrument_str")


@dataclass(frozen=True)
class NSynthNote:
    """One NSynth example.

    Attributes
    ----------
    note_str : str
        ``<family>_<source>_<idx>-<PPP>-<VVV>``.
    path : Path
        Its WAV file.
    pitch : int
        MIDI note number.
    velocity : int
        MIDI velocity.
    instrument : int
        Instrument id.
    instrument_str : str
    instrument_family_str, instrument_source_str : str
    sample_rate : int
        Hz (16,000).
    qualities_str : tuple of str
    split : str
    meta : dict
        Every other field of ``examples.json``.
    """

    note_str: str
    path: Path
    pitch: int
    velocity: int
    instrument: int
    instrument_str: str
    instrument_family_str: str
    instrument_source_str: str
    sample_rate: int
    qualities_str: tuple = ()
    split: str = ""
    meta: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def frequency_hz(self) -> float:
        """Nominal pitch in Hz (A4 = 440 Hz)."""
        return float(midi_to_hz(self.pitch))

    def load_audio(self, sample_rate: int | None = None) -> np.ndarray:
        """Read the note as float32 mono, optionally resampled (Hz); shape (n_samples,)."""
        audio, _ = load_audio(self.path, sample_rate, name=self.note_str)
        return audio


class NSynthNotes(list):
    """A list of :class:`NSynthNote` with :attr:`skipped` (note_str -> reason) for incomplete entries."""

    skipped: dict

    def __init__(self, notes=(), skipped=None):
        super().__init__(notes)
        self.skipped = dict(skipped or {})


def nsynth_split_dir(split: str, root=None, path=None) -> Path:
    """Folder ``nsynth-<split>`` of an NSynth tree (checked to hold ``examples.json``)."""
    if split not in NSYNTH_SPLITS:
        raise ValueError(f"NSynth split must be one of {NSYNTH_SPLITS}, got {split!r}")
    if path is None and root is not None and (Path(root) / f"nsynth-{split}").is_dir():
        base = Path(root)  # root is an NSynth tree itself (e.g. notes-synth)
    else:
        base = dataset_dir("nsynth", root, path)
    d = base / f"nsynth-{split}"
    if not d.is_dir():
        raise DatasetNotFound(f"NSynth split {split!r} not found: expected {str(d / 'examples.json')!r} "
                              f"and {str(d / 'audio')!r}/<note_str>.wav (see {layout_doc('nsynth')})")
    if not (d / "examples.json").is_file():
        raise DatasetMalformed(f"NSynth split folder {str(d)!r} lacks 'examples.json' "
                               f"(see {layout_doc('nsynth')})")
    return d


def load_nsynth(split: str = "train", root=None, *, path=None, midi_range=(21, 109),
                families=None, sources=None, limit: int | None = None,
                skip_incomplete: bool = False) -> NSynthNotes:
    """Read an NSynth split's metadata.

    Parameters
    ----------
    split : {"train", "valid", "test"}
    root : str or path-like, optional
        Data root, or an NSynth tree (a folder holding ``nsynth-<split>/``).
    path : str or path-like, optional
        The NSynth folder itself (overrides ``root``).
    midi_range : (int, int) or None
        Keep notes with ``lo <= pitch <= hi`` (inclusive); ``None`` keeps all.
    families, sources : iterable of str, optional
        Keep only these ``instrument_family_str`` / ``instrument_source_str``.
    limit : int, optional
        Keep the first ``limit`` notes (after sorting and filtering).
    skip_incomplete : bool
        Skip entries whose WAV file is missing or empty instead of raising
        (listed in the result's ``skipped``).

    Returns
    -------
    NSynthNotes
        A list of :class:`NSynthNote` sorted by ``note_str`` (``.skipped`` =
        skipped entries).  Audio files are checked to exist, not opened.

    Raises
    ------
    DatasetNotFound
        The split folder is absent.
    DatasetMalformed
        ``examples.json`` is missing, not valid JSON, or an entry lacks a
        required field or its audio file (see ``docs/datasets.md#nsynth``).
    """
    d = nsynth_split_dir(split, root, path)
    ex_path = d / "examples.json"
    try:
        with open(ex_path, encoding="utf-8") as fh:
            examples = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetMalformed(f"{str(ex_path)!r} is not valid JSON: {exc}") from exc
    if not isinstance(examples, dict):
        raise DatasetMalformed(f"{str(ex_path)!r} must map note_str -> metadata "
                               f"(see {layout_doc('nsynth')})")
    if midi_range is not None:
        lo, hi = int(midi_range[0]), int(midi_range[1])
        if lo > hi:
            raise ValueError(f"midi_range must be (low, high) with low <= high, got {midi_range}")
    fam = set(families) if families is not None else None
    src = set(sources) if sources is not None else None
    notes = []
    problems: dict[str, str] = {}
    for note_str in sorted(examples):
        e = examples[note_str]
        missing = [k for k in _REQUIRED if k not in e] if isinstance(e, dict) else list(_REQUIRED)
        if missing:
            raise DatasetMalformed(f"{str(ex_path)!r}: entry {note_str!r} lacks {missing} "
                                   f"(see {layout_doc('nsynth')})")
        try:
            pitch = int(e["pitch"])
            int(e["velocity"])
        except (TypeError, ValueError):
            raise DatasetMalformed(f"{str(ex_path)!r}: entry {note_str!r} has a non-integer pitch "
                                   f"{e['pitch']!r} or velocity {e['velocity']!r}") from None
        if midi_range is not None and not lo <= pitch <= hi:
            continue
        family = e.get("instrument_family_str", note_str.split("_")[0])
        source = e.get("instrument_source_str", note_str.split("_")[1] if "_" in note_str else "")
        if (fam is not None and family not in fam) or (src is not None and source not in src):
            continue
        wav = d / "audio" / f"{note_str}.wav"
        if not wav.is_file() or wav.stat().st_size == 0:
            problems[note_str] = (f"entry {note_str!r} of {str(ex_path)!r} has "
                                  f"{'no' if not wav.is_file() else 'an empty'} audio file {str(wav)!r}")
            continue
        notes.append(NSynthNote(
            note_str=note_str, path=d / "audio" / f"{note_str}.wav", pitch=pitch,
            velocity=int(e["velocity"]), instrument=int(e.get("instrument", -1)),
            instrument_str=str(e["instrument_str"]), instrument_family_str=family,
            instrument_source_str=source, sample_rate=int(e.get("sample_rate", NSYNTH_SAMPLE_RATE)),
            qualities_str=tuple(e.get("qualities_str", ())), split=split,
            meta={k: v for k, v in e.items() if k not in (
                "pitch", "velocity", "instrument", "instrument_str", "instrument_family_str",
                "instrument_source_str", "sample_rate", "qualities_str")}))
        if limit is not None and len(notes) >= limit:
            break
    skipped = resolve_incomplete("nsynth", problems, skip_incomplete,
                                 n_total=len(notes) + len(problems))
    return NSynthNotes(notes, skipped)
