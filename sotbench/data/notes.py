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

Quality filter (``pitch_check``, default on): a soundfont does not give
every program a usable sound at every pitch (e.g. TimGM6mb's baritone sax is
silent above MIDI 83, its xylophone and whistle give wrong pitches).  Each
rendered note must be audible and its median YIN f0 (:func:`estimate_f0`)
within 1 semitone of the nominal pitch; rejected notes are replaced by the
next candidates of the draw and listed in ``provenance.json``.

Rendering batches the notes of one program into one MIDI file, one note per
``slot_s`` (default 5 s: the 4 s note plus 1 s of silence; what is left of
a release after 4 s is below -60 dB), and cuts the
slots apart; one renderer call per batch amortises loading the soundfont.
The renderer quantises event times to its 64-sample block (1.3 ms at
48 kHz), so a note-on may fall up to 1.3 ms after the start of its clip.

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
from .tracks import hz_to_midi, midi_to_hz

__all__ = ["NotesConfig", "build_notes_synth", "load_notes_synth", "gm_family_source",
           "EXCLUDED_PROGRAMS", "eligible_programs", "NSYNTH_FAMILIES", "NSYNTH_SOURCES",
           "NSYNTH_VELOCITIES", "estimate_f0", "note_pitch_ok", "render_notes"]

log = logging.getLogger("sotbench.data")

NSYNTH_FAMILIES = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string",
                   "synth_lead", "vocal")
NSYNTH_SOURCES = ("acoustic", "electronic", "synthetic")
NSYNTH_VELOCITIES = (25, 50, 75, 100, 127)

#: GM programs (0-based) without a clear, stable pitch: drawbar / percussive / rock / church organs
#: (16-19), guitar harmonics (31), timpani (47), orchestra hit (55), synth leads 86-87 and all pads /
#: effects (86-103, see docs/datasets.md#notes-synth), and the unpitched or inharmonic
#: percussion and sound effects (112 tinkle bell, 113 agogo, 115-127: woodblock, taiko, melodic tom,
#: synth drum, reverse cymbal, fret noise, breath, seashore, bird, telephone, helicopter, applause,
#: gunshot).  A sweep of TimGM6mb (8 pitches per program, YIN) confirmed: 16-19 and 47 give octave
#: errors at nearly every pitch, 31, 55, 112, 115-127 no stable pitch at all.
EXCLUDED_PROGRAMS = frozenset({16, 17, 18, 19, 31, 47, 55, *range(86, 104), 112, 113, *range(115, 128)})

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


def estimate_f0(audio: np.ndarray, sample_rate: int, fmin: float = 25.0, fmax: float = 4200.0,
                frame: int = 2048, hop: int = 512, threshold: float = 0.15) -> tuple[float, float]:
    """Median YIN f0 of a (sustained) note.

    de Cheveigne & Kawahara's YIN: cumulative-mean-normalised difference
    function per frame, first dip below ``threshold`` (else the global
    minimum), median over the frames whose dip is below ``threshold``.

    Parameters
    ----------
    audio : ndarray, shape (n,)
    sample_rate : int
        Hz.
    fmin, fmax : float
        Search range, Hz (``fmin`` must leave ``sample_rate / fmin <= frame // 2``).
    frame, hop : int
        Samples.

    Returns
    -------
    f0_hz : float
        Median f0 of the voiced frames (NaN if none).
    voiced_fraction : float
        Share of frames whose dip is below ``threshold``.
    """
    x = np.asarray(audio, dtype=np.float64)
    w = frame // 2
    tau_min, tau_max = max(2, int(sample_rate / fmax)), int(np.ceil(sample_rate / fmin))
    if tau_max >= w:
        raise ValueError(f"fmin={fmin} Hz needs frames longer than {2 * tau_max} samples")
    if len(x) < frame:
        return float("nan"), 0.0
    starts = np.arange(0, len(x) - frame + 1, hop)
    frames = np.stack([x[s:s + frame] for s in starts])            # (F, frame)
    n_fft = 2 * frame
    spec = np.fft.rfft(frames, n_fft)
    cross = np.fft.irfft(spec * np.conj(np.fft.rfft(frames[:, :w], n_fft)), n_fft)[:, :w]
    c2 = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames ** 2, axis=1)], axis=1)
    taus = np.arange(w)
    d = c2[:, [w]] + (c2[:, w + taus] - c2[:, taus]) - 2 * cross   # difference function
    d[:, 0] = 0.0
    cum = np.cumsum(d[:, 1:], axis=1)
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] * taus[1:] / np.maximum(cum, 1e-300)
    f0s, voiced = [], 0
    for row in cmnd:
        seg = row[tau_min:tau_max]
        below = np.nonzero(seg < threshold)[0]
        if below.size:
            k = below[0]
            while k + 1 < seg.size and seg[k + 1] < seg[k]:
                k += 1
            voiced += 1
        else:
            continue
        tau = k + tau_min
        if 0 < tau < len(row) - 1:  # parabolic refinement
            a, b, c = row[tau - 1], row[tau], row[tau + 1]
            den = a - 2 * b + c
            tau = tau + (0.5 * (a - c) / den if den > 0 else 0.0)
        f0s.append(sample_rate / tau)
    if not f0s:
        return float("nan"), 0.0
    return float(np.median(f0s)), voiced / len(frames)


def note_pitch_ok(clip: np.ndarray, sample_rate: int, pitch: int, note_off_s: float,
                  tolerance_semitones: float = 1.0) -> tuple[bool, float]:
    """Whether a rendered note sounds at its nominal MIDI pitch.

    The sustained part (0.1 s to ``min(1.3, note_off_s)`` s) must be audible
    (peak >= 1e-3), mostly voiced (>= half the YIN frames), and its median
    YIN f0 within ``tolerance_semitones`` of ``pitch``.  Returns
    ``(ok, f0_hz)``.
    """
    seg = np.asarray(clip[int(0.1 * sample_rate):int(min(1.3, note_off_s) * sample_rate)])
    if seg.size == 0 or np.abs(seg).max() < 1e-3:
        return False, float("nan")
    nominal = float(midi_to_hz(pitch))
    fmax = min(4200.0, 0.45 * sample_rate, 2.5 * nominal)
    f0, voiced = estimate_f0(seg, sample_rate, fmin=25.0, fmax=max(fmax, 50.0))
    if not np.isfinite(f0) or voiced < 0.5:
        return False, f0
    return bool(abs(float(hz_to_midi(f0)) - pitch) <= tolerance_semitones), f0


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
    pitch_check : bool
        Drop notes that are silent or whose YIN f0 is more than
        ``pitch_tolerance`` semitones from the nominal pitch
        (:func:`note_pitch_ok`); the next candidates of the draw replace them.
    pitch_tolerance : float
        Semitones.
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
    slot_s: float = 5.0
    batch: int = 32
    pitch_check: bool = True
    pitch_tolerance: float = 1.0

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


def _candidates(cfg: NotesConfig, split: str, programs: list[int]) -> list[tuple[int, int, int]]:
    """All (program, pitch, velocity) triples of a split in their seeded draw order."""
    pitches = range(cfg.midi_range[0], cfg.midi_range[1] + 1)
    grid = [(p, m, v) for p in programs for m in pitches for v in cfg.velocities]
    seed = [cfg.seed, 1 + ("train", "valid", "test").index(split)]
    return [grid[i] for i in np.random.default_rng(seed).permutation(len(grid))]


def _render_split(cfg: NotesConfig, split: str, programs: list[int], sf: SoundFont, audio_dir: Path,
                  stats: dict) -> dict[str, dict]:
    """Render the first ``sizes[split]`` candidates that pass the pitch check; returns examples."""
    size = cfg.sizes[split]
    if size == 0:
        return {}
    cands = _candidates(cfg, split, programs)
    if size > len(cands):
        raise ValueError(f"notes-synth: {split} asks for {size} notes but only {len(cands)} "
                         "(program, pitch, velocity) combinations exist")
    accepted: list[tuple[int, str, dict]] = []  # (draw position, note_str, example)
    pos = 0
    while len(accepted) < size and pos < len(cands):
        need = size - len(accepted)
        take = list(range(pos, min(len(cands), pos + need + max(2, need // 8))))
        pos = take[-1] + 1
        by_program: dict[int, list[int]] = {}
        for i in take:
            by_program.setdefault(cands[i][0], []).append(i)
        for program in sorted(by_program):
            idx = sorted(by_program[program], key=lambda i: cands[i])
            for b in range(0, len(idx), int(cfg.batch)):
                chunk = idx[b:b + int(cfg.batch)]
                clips = render_notes([cands[i] for i in chunk], cfg, sf)
                for i, clip in zip(chunk, clips, strict=True):
                    prog, pitch, vel = cands[i]
                    f0 = float("nan")
                    if cfg.pitch_check:
                        ok, f0 = note_pitch_ok(clip, cfg.sample_rate, pitch, cfg.note_off_s,
                                               cfg.pitch_tolerance)
                        if not ok:
                            stats["rejected"].append(f"{split}:{_note_str(prog, pitch, vel)}")
                            continue
                    name = _note_str(prog, pitch, vel)
                    peak = float(np.abs(clip).max())
                    if peak >= 1.0:  # keep the 16-bit file unclipped
                        clip = clip * (0.99 / peak)
                    write_wav_atomic(audio_dir / f"{name}.wav", clip, cfg.sample_rate)
                    fam, src = gm_family_source(prog)
                    accepted.append((i, name, {
                        "note_str": name, "pitch": pitch, "velocity": vel, "instrument": prog,
                        "instrument_str": name.rsplit("-", 2)[0], "sample_rate": cfg.sample_rate,
                        "instrument_family": NSYNTH_FAMILIES.index(fam), "instrument_family_str": fam,
                        "instrument_source": NSYNTH_SOURCES.index(src), "instrument_source_str": src,
                        "qualities": [0] * 10, "qualities_str": [], "gm_program": prog,
                        "peak": round(peak, 6),
                        "f0_check_hz": round(f0, 3) if np.isfinite(f0) else None}))
                stats["rendered"] += len(chunk)
    if len(accepted) < size:
        raise ValueError(f"notes-synth: only {len(accepted)} of the {len(cands)} candidate notes of "
                         f"split {split!r} pass the pitch check; ask for fewer notes")
    accepted.sort()
    for _, name, _ in accepted[size:]:  # rendered in the last round but not needed
        (audio_dir / f"{name}.wav").unlink()
    examples = {name: ex for _, name, ex in accepted[:size]}
    for i, name in enumerate(sorted(examples)):
        examples[name]["note"] = i
    return {k: examples[k] for k in sorted(examples)}


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
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        split_programs = _split_programs(cfg)
        counts = {}
        stats: dict = {"rendered": 0, "rejected": []}
        for split in ("train", "valid", "test"):
            split_dir = tmp / f"nsynth-{split}"
            (split_dir / "audio").mkdir(parents=True, exist_ok=True)
            examples = _render_split(cfg, split, split_programs[split], sf, split_dir / "audio", stats)
            atomic_write_text(split_dir / "examples.json", json.dumps(examples, indent=1))
            counts[split] = len(examples)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        prov = {"config": record, "soundfont": sf.provenance(), "counts": counts,
                "split_programs": split_programs, "render_seconds": round(dt, 2), "render_cpu_seconds": round(cpu, 2),
                "rendered": stats["rendered"], "rejected_by_pitch_check": stats["rejected"],
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        atomic_write_text(tmp / "provenance.json", json.dumps(prov, indent=1, sort_keys=True))
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "provenance.json").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
        total = sum(counts.values())
        log.info("notes-synth: kept %d of %d rendered notes in %.1f s (%.1f CPU s, %.0f rendered notes per "
                 "CPU s) with %s into %s", total, stats["rendered"], dt, cpu, stats["rendered"] / max(cpu, 1e-9),
                 sf.name, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def load_notes_synth(split: str = "train", *, config: NotesConfig | None = None, soundfont=None,
                     cache=None, **overrides) -> list[NSynthNote]:
    """Build (first call) and read one split of ``notes-synth`` with :func:`load_nsynth`.

    Keywords are those of :func:`build_notes_synth`; all notes are returned
    (they already lie in the configured ``midi_range``).
    """
    root = build_notes_synth(config, soundfont=soundfont, cache=cache, **overrides)
    return load_nsynth(split, root, midi_range=None)
