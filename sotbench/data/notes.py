"""``notes-synth``: NSynth-like single notes rendered from General MIDI programs.

What it is
----------
Single notes of 4 s at 16 kHz (note-on at 0 s, note-off at 3 s, 1 s of
release), MIDI pitches 21-108, velocities {25, 50, 75, 100, 127} (NSynth's),
over the GM programs that have a clear pitch (:data:`EXCLUDED_PROGRAMS` are
left out), rendered with a GM soundfont (:mod:`sotbench.data.render`).  It is
written in NSynth's own layout, so :func:`sotbench.data.nsynth.load_nsynth`
reads it::

    <cache>/notes-synth/<config-hash>/nsynth-{train,valid,test}/examples.json
    <cache>/notes-synth/<config-hash>/nsynth-{train,valid,test}/audio/<note_str>.wav
    <cache>/notes-synth/<config-hash>/provenance.json

``note_str`` is ``<family>_<source>_<program:03d>-<pitch:03d>-<velocity:03d>``
with NSynth family / source names assigned to each GM program
(:func:`gm_family_source`); ``instrument`` is the GM program (0-based).

Splits follow NSynth's rule that instruments do not cross splits: the
eligible programs are shuffled with ``seed``; the first ``valid_fraction``
go to ``valid``, the next ``test_fraction`` to ``test``, the rest to
``train``.  Within a split, (program, pitch, velocity) triples are drawn
without replacement from a seeded permutation of all triples.  Audio is the
mean of the renderer's channels at the rendered level (velocity changes
loudness, as in NSynth), stored as 16-bit WAV.

Rendering batches the notes of one program into one MIDI file, one note per
``slot_s`` (default 6 s: the 4 s note plus 2 s of silence), and cuts the
slots apart; one renderer call per batch amortises loading the soundfont.

The folder name hashes every setting (sizes, seed, soundfont SHA-256,
renderer version); the folder is built under a temporary name and renamed
when complete, so a folder that exists is complete.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .audio import write_wav_atomic
from .nsynth import NSynthNote, load_nsynth
from .render import SoundFont, find_soundfont, render_midi, renderer_version
from .roots import atomic_write_text, cache_dir

__all__ = ["NotesConfig", "build_notes_synth", "load_notes_synth", "gm_family_source",
           "EXCLUDED_PROGRAMS", "eligible_programs", "NSYNTH_FAMILIES", "NSYNTH_SOURCES",
           "NSYNTH_VELOCITIES"]

log = logging.getLogger("sotbench.data")

NSYNTH_FAMILIES = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string",
                   "synth_lead", "vocal")
NSYNTH_SOURCES = ("acoustic", "electronic", "synthetic")
NSYNTH_VELOCITIES = (25, 50, 75, 100, 127)

#: GM programs (0-based) without a clear, stable pitch: drawbar / percussive / rock / church organs
#: (16-19), guitar harmonics (31), timpani (47), orchestra hit (55), synth leads 86-87 and all pads /
#: effects (86-103, as listed in ../shared/datasets/README.md), and the unpitched percussion and sound
#: effects (113 agogo, 115-127: woodblock, taiko, melodic tom, synth drum, reverse cymbal, fret noise,
#: breath, seashore, bird, telephone, helicopter, applause, gunshot).
EXCLUDED_PROGRAMS = frozenset({16, 17, 18, 19, 31, 47, 55, *range(86, 104), 113, *range(115, 128)})

_FAMILY_RANGES = [  # (first, last, family, source) in GM program order
    (0, 1, "keyboard", "acoustic"), (2, 2, "keyboard", "electronic"), (3, 3, "keyboard", "acoustic"),
    (4, 5, "keyboard", "electronic"), (6, 6, "keyboard", "acoustic"), (7, 7, "keyboard", "electronic"),
    (8, 15, "mallet", "acoustic"), (16, 21, "organ", "acoustic"), (22, 22, "reed", "acoustic"),
    (23, 23, "organ", "acoustic"), (24, 25, "guitar", "acoustic"), (26, 31, "guitar", "electronic"),
    (32, 32, "bass", "acoustic"), (33, 37, "bass", "electronic"), (38, 39, "bass", "synthetic"),
    (40, 49, "string", "acoustic"), (50, 51, "string", "synthetic"), (52, 53, "vocal", "acoustic"),
    (54, 54, "vocal", "synthetic"), (55, 55, "string", "synthetic"), (56, 61, "brass", "acoustic"),
    (62, 63, "brass", "synthetic"), (64, 71, "reed", "acoustic"), (72, 79, "flute", "acoustic"),
    (80, 103, "synth_lead", "synthetic"), (104, 107, "guitar", "acoustic"), (108, 108, "mallet", "acoustic"),
    (109, 109, "reed", "acoustic"), (110, 110, "string", "acoustic"), (111, 111, "reed", "acoustic"),
    (112, 112, "mallet", "acoustic"), (113, 113, "mallet", "acoustic"), (114, 114, "mallet", "acoustic"),
    (115, 127, "mallet", "synthetic"),
]
_FORMAT_VERSION = 1


def gm_family_source(program: int) -> tuple[str, str]:
    """NSynth ``(instrument_family_str, instrument_source_str)`` assigned to a GM program (0-based)."""
    program = int(program)
    for lo, hi, fam, src in _FAMILY_RANGES:
        if lo <= program <= hi:
            return fam, src
    raise ValueError(f"GM program must be in 0..127, got {program}")


def eligible_programs() -> list[int]:
    """GM programs used by default: 0..127 minus :data:`EXCLUDED_PROGRAMS`."""
    return [p for p in range(128) if p not in EXCLUDED_PROGRAMS]


@dataclass(frozen=True)
class NotesConfig:
    """Settings of ``notes-synth`` (all part of the folder hash).

    Attributes
    ----------
    sizes : dict
        Notes per split, e.g. ``{"train": 512, "valid": 64, "test": 64}``.
    seed : int
        Seeds the program-to-split assignment and the note draw.
    programs : tuple of int, optional
        GM programs to use; default :func:`eligible_programs`.
    midi_range : (int, int)
        Inclusive pitch range (MIDI).
    velocities : tuple of int
    valid_fraction, test_fraction : float
        Share of the programs held out for ``valid`` / ``test``.
    duration_s, note_off_s : float
        Clip length and note-off time, seconds.
    sample_rate : int
        Hz.
    slot_s : float
        Spacing of notes inside one render batch (>= ``duration_s``).
    batch : int
        Notes per renderer call.
    """

    sizes: dict = field(default_factory=lambda: {"train": 512, "valid": 64, "test": 64})
    seed: int = 0
    programs: tuple | None = None
    midi_range: tuple = (21, 108)
    velocities: tuple = NSYNTH_VELOCITIES
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    duration_s: float = 4.0
    note_off_s: float = 3.0
    sample_rate: int = 16000
    slot_s: float = 6.0
    batch: int = 32

    def __post_init__(self):
        unknown = set(self.sizes) - {"train", "valid", "test"}
        if unknown or any(int(v) < 0 for v in self.sizes.values()):
            raise ValueError(f"sizes must map train/valid/test to counts >= 0, got {self.sizes!r}")
        lo, hi = self.midi_range
        if not 0 <= lo <= hi <= 127:
            raise ValueError(f"midi_range must satisfy 0 <= low <= high <= 127, got {self.midi_range!r}")
        if self.programs is not None:
            bad = [p for p in self.programs if not 0 <= int(p) <= 127]
            if bad or not self.programs:
                raise ValueError(f"programs must be GM programs in 0..127, got {self.programs!r}")
            object.__setattr__(self, "programs", tuple(sorted({int(p) for p in self.programs})))
        if not all(1 <= int(v) <= 127 for v in self.velocities):
            raise ValueError(f"velocities must be in 1..127, got {self.velocities!r}")
        if not 0 < self.note_off_s <= self.duration_s <= self.slot_s:
            raise ValueError("need 0 < note_off_s <= duration_s <= slot_s")
        if not (0 <= self.valid_fraction and 0 <= self.test_fraction
                and self.valid_fraction + self.test_fraction < 1):
            raise ValueError("valid_fraction and test_fraction must be >= 0 and sum to < 1")
        if int(self.batch) < 1 or int(self.sample_rate) <= 0:
            raise ValueError("batch and sample_rate must be positive")
        object.__setattr__(self, "sizes", {k: int(self.sizes.get(k, 0)) for k in ("train", "valid", "test")})


def _split_programs(cfg: NotesConfig) -> dict[str, list[int]]:
    programs = list(cfg.programs) if cfg.programs is not None else eligible_programs()
    rng = np.random.default_rng([cfg.seed, 0])
    order = [programs[i] for i in rng.permutation(len(programs))]
    n = len(order)
    n_valid = int(round(cfg.valid_fraction * n)) if cfg.sizes["valid"] else 0
    n_test = int(round(cfg.test_fraction * n)) if cfg.sizes["test"] else 0
    if cfg.sizes["valid"]:
        n_valid = max(n_valid, 1)
    if cfg.sizes["test"]:
        n_test = max(n_test, 1)
    if n_valid + n_test >= n and cfg.sizes["train"]:
        raise ValueError(f"notes-synth: {n} programs cannot be split into train/valid/test; "
                         "use more programs or smaller valid/test fractions")
    return {"valid": sorted(order[:n_valid]), "test": sorted(order[n_valid:n_valid + n_test]),
            "train": sorted(order[n_valid + n_test:])}


def _draw_notes(cfg: NotesConfig, split: str, programs: list[int]) -> list[tuple[int, int, int]]:
    size = cfg.sizes[split]
    if size == 0:
        return []
    pitches = range(cfg.midi_range[0], cfg.midi_range[1] + 1)
    grid = [(p, m, v) for p in programs for m in pitches for v in cfg.velocities]
    if size > len(grid):
        raise ValueError(f"notes-synth: {split} asks for {size} notes but only {len(grid)} "
                         "(program, pitch, velocity) combinations exist")
    seed = [cfg.seed, 1 + ("train", "valid", "test").index(split)]
    perm = np.random.default_rng(seed).permutation(len(grid))[:size]
    return [grid[i] for i in perm]


def _note_str(program: int, pitch: int, velocity: int) -> str:
    fam, src = gm_family_source(program)
    return f"{fam}_{src}_{program:03d}-{pitch:03d}-{velocity:03d}"


def _record(cfg: NotesConfig, sf: SoundFont) -> dict:
    rec = asdict(cfg)
    rec.update(dataset="notes-synth", format_version=_FORMAT_VERSION,
               programs=list(cfg.programs) if cfg.programs is not None else eligible_programs(),
               midi_range=list(cfg.midi_range), velocities=list(cfg.velocities),
               soundfont_sha256=sf.sha256, renderer=f"midirenderer {renderer_version()}")
    return rec


def render_notes(notes: list[tuple[int, int, int]], cfg: NotesConfig, sf: SoundFont) -> list[np.ndarray]:
    """Render ``(program, pitch, velocity)`` notes of one program; returns one clip per note.

    Each clip has ``duration_s * sample_rate`` samples, note-on at sample 0 and
    note-off at ``note_off_s``.
    """
    import pretty_midi

    if not notes:
        return []
    programs = {p for p, _, _ in notes}
    if len(programs) != 1:
        raise ValueError("render_notes renders one program per call")
    pm = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=notes[0][0])
    for i, (_, pitch, vel) in enumerate(notes):
        inst.notes.append(pretty_midi.Note(velocity=int(vel), pitch=int(pitch), start=i * cfg.slot_s,
                                           end=i * cfg.slot_s + cfg.note_off_s))
    total = (len(notes) - 1) * cfg.slot_s + cfg.duration_s
    inst.control_changes.append(pretty_midi.ControlChange(number=64, value=0, time=total))
    pm.instruments.append(inst)
    audio, sr = render_midi(pm, sf, sample_rate=cfg.sample_rate, duration_s=total)
    n = int(round(cfg.duration_s * sr))
    starts = [int(round(i * cfg.slot_s * sr)) for i in range(len(notes))]
    return [audio[s:s + n].copy() for s in starts]


def build_notes_synth(config: NotesConfig | None = None, *, soundfont=None, cache=None, **overrides) -> Path:
    """Render (or find in the cache) ``notes-synth``; returns its NSynth-layout root folder.

    Parameters
    ----------
    config : NotesConfig, optional
    soundfont : str or path-like, optional
        See :func:`sotbench.data.render.find_soundfont`.
    cache : str or path-like, optional
        Cache root (default :func:`sotbench.data.roots.cache_dir`).
    **overrides
        Fields of :class:`NotesConfig` (``sizes=``, ``seed=``, ...).

    Returns
    -------
    Path
        ``<cache>/notes-synth/<config-hash>``, holding ``nsynth-<split>/``.
    """
    cfg = config or NotesConfig()
    if overrides:
        unknown = set(overrides) - set(NotesConfig.__dataclass_fields__)
        if unknown:
            raise ValueError(f"notes-synth: unknown settings {sorted(unknown)}; "
                             f"known: {sorted(NotesConfig.__dataclass_fields__)}")
        cfg = NotesConfig(**{**asdict(cfg), **overrides})
    sf = find_soundfont(soundfont)
    record = _record(cfg, sf)
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]
    parent = (Path(cache) if cache is not None else cache_dir()) / "notes-synth"
    final = parent / digest
    if (final / "provenance.json").is_file():
        return final
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{digest}.tmp-{os.getpid()}-{time.time_ns()}"
    t0 = time.perf_counter()
    try:
        split_programs = _split_programs(cfg)
        counts = {}
        for split in ("train", "valid", "test"):
            notes = _draw_notes(cfg, split, split_programs[split])
            split_dir = tmp / f"nsynth-{split}"
            (split_dir / "audio").mkdir(parents=True, exist_ok=True)
            examples = {}
            by_program: dict[int, list] = {}
            for note in notes:
                by_program.setdefault(note[0], []).append(note)
            for program in sorted(by_program):
                group = sorted(by_program[program])
                for b in range(0, len(group), int(cfg.batch)):
                    chunk = group[b:b + int(cfg.batch)]
                    for (prog, pitch, vel), clip in zip(chunk, render_notes(chunk, cfg, sf)):
                        name = _note_str(prog, pitch, vel)
                        peak = float(np.abs(clip).max())
                        if peak >= 1.0:  # keep the 16-bit file unclipped
                            clip = clip * (0.99 / peak)
                        write_wav_atomic(split_dir / "audio" / f"{name}.wav", clip, cfg.sample_rate)
                        fam, src = gm_family_source(prog)
                        examples[name] = {
                            "note_str": name, "pitch": pitch, "velocity": vel, "instrument": prog,
                            "instrument_str": name.rsplit("-", 2)[0], "sample_rate": cfg.sample_rate,
                            "instrument_family": NSYNTH_FAMILIES.index(fam), "instrument_family_str": fam,
                            "instrument_source": NSYNTH_SOURCES.index(src), "instrument_source_str": src,
                            "qualities": [0] * 10, "qualities_str": [], "gm_program": prog,
                            "peak": round(peak, 6)}
            for i, name in enumerate(sorted(examples)):
                examples[name]["note"] = i
            atomic_write_text(split_dir / "examples.json",
                              json.dumps({k: examples[k] for k in sorted(examples)}, indent=1))
            counts[split] = len(examples)
        dt = time.perf_counter() - t0
        prov = {"config": record, "soundfont": sf.provenance(), "counts": counts,
                "split_programs": split_programs, "render_seconds": round(dt, 2),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        atomic_write_text(tmp / "provenance.json", json.dumps(prov, indent=1, sort_keys=True))
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "provenance.json").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
        total = sum(counts.values())
        log.info("notes-synth: rendered %d notes in %.1f s (%.0f notes/s) with %s into %s",
                 total, dt, total / max(dt, 1e-9), sf.name, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def load_notes_synth(split: str = "train", *, config: NotesConfig | None = None, soundfont=None,
                     cache=None, midi_range=(21, 109), **overrides) -> list[NSynthNote]:
    """Build (first call) and read one split of ``notes-synth`` with :func:`load_nsynth`."""
    root = build_notes_synth(config, soundfont=soundfont, cache=cache, **overrides)
    return load_nsynth(split, root, midi_range=midi_range)
