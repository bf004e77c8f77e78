"""``chorales-synth``: four-part Bach chorales rendered like Bach10, with exact ground truth.

What it is
----------
The first ``n`` chorales of :mod:`music21`'s offline corpus (Riemenschneider
order, as :class:`music21.corpus.chorales.Iterator` yields them) that have
exactly four parts, rendered with a General MIDI soundfont
(:mod:`sotbench.data.render`) as Bach10's ensemble: soprano -> violin
(program 40), alto -> clarinet (71), tenor -> tenor sax (66), bass -> bassoon
(70); GM programs are 0-based.

Timing: the score is played as written (repeat signs are not expanded,
fermatas are not held) at a constant ``qpm`` quarter notes per minute
(default 80), after ``lead_in_s`` of silence; ``tail_s`` of release follows
the last note.  Ties are merged.  Velocity is constant.  The audio is the
mean of the renderer's two channels, peak-normalised to -1 dBFS and stored
as 16-bit WAV at ``sample_rate`` (default 22,050 Hz, the HCQT rate; pass
48000 for the renderer's native rate).

Ground truth is exact with respect to what was rendered: the note times are
read back from the very MIDI bytes given to the renderer (tick-quantised),
and a note sounds in frame ``k`` (centre ``0.010 k`` s) when
``start <= t_k < end`` (the release tail after note-off is not labelled).
A unison between two voices lists the pitch twice, as Bach10 does.

Caching
-------
Rendered tracks live under ``cache_dir()/chorales-synth/<config-hash>/``
where the hash covers every setting that changes the output (timing,
programs, velocity, rate, grid, soundfont SHA-256, renderer and music21
versions).  Per chorale: ``<name>.wav``, ``<name>.f0.txt`` (MIREX multi-F0,
full-precision floats), ``<name>.mid`` and ``<name>.json`` (provenance with
SHA-256 of each file; written last, it marks the track complete).  All files
are written atomically, so an interrupted render is simply resumed; asking
for more chorales later renders only the new ones.  ``config.json`` in the
folder records the configuration and the soundfont.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..types import MultiPitchTrack
from .audio import load_audio, write_wav_atomic
from .render import SoundFont, find_soundfont, midi_to_bytes, render_midi, renderer_version
from .roots import atomic_write_bytes, atomic_write_text, cache_dir
from .su import read_mirex_multif0, write_mirex_multif0
from .tracks import LazyTracks, finish_track, midi_to_hz, notes_to_frames, regular_grid

__all__ = ["ChoraleConfig", "build_chorales_synth", "load_chorales_synth", "chorale_notes",
           "BACH10_PROGRAMS", "DEFAULT_N_CHORALES"]

log = logging.getLogger("sotbench.data")

#: GM programs (0-based) for soprano, alto, tenor, bass: violin, clarinet, tenor sax, bassoon.
BACH10_PROGRAMS = (40, 71, 66, 70)
DEFAULT_N_CHORALES = 24
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ChoraleConfig:
    """Settings that determine the rendered audio and ground truth (all hashed).

    Attributes
    ----------
    qpm : float
        Tempo, quarter notes per minute.
    programs : tuple of int
        GM programs (0-based) for the four parts, top to bottom.
    velocity : int
        MIDI velocity of every note.
    sample_rate : int
        Stored / returned rate, Hz.
    hop_s : float
        Ground-truth grid, seconds (frames at ``hop_s * k``).
    lead_in_s, tail_s : float
        Silence before the first note; release time after the last note-off.
    resolution : int
        MIDI ticks per quarter note.
    """

    qpm: float = 80.0
    programs: tuple = BACH10_PROGRAMS
    velocity: int = 90
    sample_rate: int = 22050
    hop_s: float = 0.010
    lead_in_s: float = 0.5
    tail_s: float = 1.0
    resolution: int = 960

    def __post_init__(self):
        if not (np.isfinite(self.qpm) and self.qpm > 0):
            raise ValueError(f"qpm must be a positive tempo, got {self.qpm!r}")
        if len(self.programs) != 4 or not all(0 <= int(p) <= 127 for p in self.programs):
            raise ValueError(f"programs must be four GM programs in 0..127, got {self.programs!r}")
        if not 1 <= int(self.velocity) <= 127:
            raise ValueError(f"velocity must be in 1..127, got {self.velocity!r}")
        if int(self.sample_rate) <= 0 or self.hop_s <= 0 or self.lead_in_s < 0 or self.tail_s < 0:
            raise ValueError("sample_rate and hop_s must be positive; lead_in_s and tail_s >= 0")
        object.__setattr__(self, "programs", tuple(int(p) for p in self.programs))


def _music21_version() -> str:
    import music21

    return str(music21.__version__)


def _config_record(cfg: ChoraleConfig, sf: SoundFont) -> dict:
    return {"dataset": "chorales-synth", "format_version": _FORMAT_VERSION, **asdict(cfg),
            "programs": list(cfg.programs), "soundfont_sha256": sf.sha256,
            "renderer": f"midirenderer {renderer_version()}", "music21": _music21_version()}


def _config_hash(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def _corpus_names() -> list[str]:
    from music21 import corpus

    return [str(n) for n in corpus.chorales.Iterator(returnType="filename")]


def _track_name(index: int, corpus_name: str) -> str:
    return f"{index:03d}-{corpus_name.split('/')[-1]}"


def chorale_notes(corpus_name: str) -> list[list[tuple[float, float, int]]] | None:
    """Notes of a corpus chorale as ``[(offset_ql, duration_ql, midi), ...]`` per part.

    Offsets and durations are in quarter notes from the start of the score,
    ties merged, grace notes dropped, chords expanded.  Returns ``None`` when
    the score does not have exactly four parts.
    """
    from music21 import corpus

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = corpus.parse(corpus_name)
    parts = list(score.parts)
    if len(parts) != 4:
        return None
    out = []
    for part in parts:
        notes = []
        flat = part.stripTies().flatten()
        for el in flat.notes:
            ql = float(el.duration.quarterLength)
            if el.duration.isGrace or ql <= 0:
                continue
            off = float(el.getOffsetBySite(flat))
            for p in el.pitches:
                notes.append((off, ql, int(p.midi)))
        out.append(notes)
    return out


def _build_midi(parts, cfg: ChoraleConfig):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=cfg.resolution, initial_tempo=cfg.qpm)
    sec_per_ql = 60.0 / cfg.qpm
    end = 0.0
    for notes, program in zip(parts, cfg.programs, strict=True):
        inst = pretty_midi.Instrument(program=program, name=pretty_midi.program_to_instrument_name(program))
        for off, ql, midi in notes:
            start = cfg.lead_in_s + off * sec_per_ql
            stop = start + ql * sec_per_ql
            inst.notes.append(pretty_midi.Note(velocity=int(cfg.velocity), pitch=midi, start=start, end=stop))
            end = max(end, stop)
        pm.instruments.append(inst)
    # midirenderer stops at the last event: a no-op control change keeps the release tail
    pm.instruments[0].control_changes.append(
        pretty_midi.ControlChange(number=64, value=0, time=end + cfg.tail_s))
    data = midi_to_bytes(pm)
    import io

    back = pretty_midi.PrettyMIDI(io.BytesIO(data))  # exact (tick-quantised) times as rendered
    notes = np.asarray([(n.start, n.end, n.pitch) for inst in back.instruments for n in inst.notes],
                       dtype=np.float64).reshape(-1, 3)
    return data, notes, end + cfg.tail_s


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _track_complete(folder: Path, name: str) -> bool:
    prov = folder / f"{name}.json"
    if not prov.is_file():
        return False
    try:
        rec = json.loads(prov.read_text())
        return all((folder / f).is_file() and _sha256_file(folder / f) == h for f, h in rec["files"].items())
    except (ValueError, KeyError, OSError):
        return False


def _render_one(folder: Path, name: str, corpus_name: str, parts, cfg: ChoraleConfig, sf: SoundFont,
                record: dict) -> None:
    midi, notes, total_s = _build_midi(parts, cfg)
    audio, sr = render_midi(midi, sf, sample_rate=cfg.sample_rate, duration_s=total_s)
    peak = float(np.abs(audio).max())
    if peak <= 0:
        raise ValueError(f"chorales-synth {name}: the renderer produced silence with {sf.name}")
    audio = audio * (10 ** (-1 / 20) / peak)
    n_frames = int(np.floor((len(audio) / sr) / cfg.hop_s)) + 1
    times = regular_grid(n_frames, cfg.hop_s)
    freqs = notes_to_frames(notes[:, 0], notes[:, 1], midi_to_hz(notes[:, 2]), times)
    files = {f"{name}.wav": None, f"{name}.f0.txt": None, f"{name}.mid": None}
    write_wav_atomic(folder / f"{name}.wav", audio, sr, subtype="PCM_16")
    write_mirex_multif0(folder / f"{name}.f0.txt", times, freqs)
    atomic_write_bytes(folder / f"{name}.mid", midi)
    for f in files:
        files[f] = _sha256_file(folder / f)
    prov = {"name": name, "corpus": corpus_name, "n_notes": int(len(notes)),
            "duration_s": len(audio) / sr, "sample_rate": sr, "files": files,
            "config": record, "soundfont": sf.provenance(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    atomic_write_text(folder / f"{name}.json", json.dumps(prov, indent=1, sort_keys=True))


def build_chorales_synth(n: int = DEFAULT_N_CHORALES, *, chorales=None, config: ChoraleConfig | None = None,
                         soundfont=None, cache=None) -> tuple[Path, list[str]]:
    """Render (or find in the cache) the ``chorales-synth`` tracks.

    Parameters
    ----------
    n : int
        Number of chorales: the first ``n`` four-part chorales in corpus order.
    chorales : sequence of str, optional
        Explicit corpus names (``"bach/bwv269"``) instead of the first ``n``.
    config : ChoraleConfig, optional
    soundfont : str or path-like, optional
        See :func:`sotbench.data.render.find_soundfont`.
    cache : str or path-like, optional
        Cache root (default :func:`sotbench.data.roots.cache_dir`).

    Returns
    -------
    folder : Path
        ``<cache>/chorales-synth/<config-hash>``.
    names : list of str
        Track names ``NNN-bwvXXX`` (NNN = 1-based corpus position).
    """
    cfg = config or ChoraleConfig()
    sf = find_soundfont(soundfont)
    record = _config_record(cfg, sf)
    folder = Path(cache) if cache is not None else cache_dir()
    folder = folder / "chorales-synth" / _config_hash(record)
    folder.mkdir(parents=True, exist_ok=True)
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        atomic_write_text(cfg_path, json.dumps({**record, "soundfont": sf.provenance()}, indent=1,
                                               sort_keys=True))
    all_names = _corpus_names()
    if chorales is not None:
        wanted = [str(c) for c in chorales]
        unknown = [c for c in wanted if c not in all_names]
        if unknown:
            raise ValueError(f"chorales-synth: {unknown} are not music21 corpus chorales "
                             f"(e.g. {all_names[:3]})")
        candidates = [(all_names.index(c) + 1, c) for c in wanted]
        limit = len(candidates)
    else:
        if int(n) < 1:
            raise ValueError(f"chorales-synth: n must be >= 1, got {n!r}")
        candidates = list(enumerate(all_names, 1))
        limit = int(n)
    names: list[str] = []
    t0, c0, rendered, seconds = time.perf_counter(), time.process_time(), 0, 0.0
    for index, corpus_name in candidates:
        if len(names) >= limit:
            break
        name = _track_name(index, corpus_name)
        skip_marker = folder / f"{name}.skip"
        if skip_marker.is_file():
            continue
        if _track_complete(folder, name):
            names.append(name)
            continue
        parts = chorale_notes(corpus_name)
        if parts is None:
            if chorales is not None:
                raise ValueError(f"chorales-synth: {corpus_name} does not have exactly four parts")
            atomic_write_text(skip_marker, "not four parts\n")
            continue
        _render_one(folder, name, corpus_name, parts, cfg, sf, record)
        rendered += 1
        seconds += json.loads((folder / f"{name}.json").read_text())["duration_s"]
        names.append(name)
    if len(names) < limit:
        raise ValueError(f"chorales-synth: only {len(names)} four-part chorales available, asked for {limit}")
    if rendered:
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        log.info("chorales-synth: rendered %d chorales (%.0f s of audio) in %.1f s (%.1f CPU s, %.0fx real "
                 "time per CPU s) with %s into %s", rendered, seconds, dt, cpu, seconds / max(cpu, 1e-9),
                 sf.name, folder)
    return folder, names


def load_chorales_synth(root=None, tracks=None, *, n: int = DEFAULT_N_CHORALES, chorales=None,
                        config: ChoraleConfig | None = None, soundfont=None, sample_rate: int | None = None,
                        cache=None, skip_incomplete: bool = False, **config_overrides) -> LazyTracks:
    """The ``chorales-synth`` evaluation set (rendered on first use, then cached).

    Parameters
    ----------
    root : str or path-like, optional
        The real datasets' data root; accepted so that every entry of
        ``EVAL_DATASETS`` can be called alike, and not used: generated data is
        written to the cache, never into the (possibly read-only) data root.
    cache : str or path-like, optional
        Cache root (default ``$SOTBENCH_CACHE`` or ``~/.cache/sotbench``).
    tracks : sequence of str or int, optional
        Subset of the built tracks (names, prefixes or 1-based indices).
    n, chorales, soundfont
        See :func:`build_chorales_synth`.
    config : ChoraleConfig, optional
    sample_rate : int, optional
        Rate of the stored and returned audio (Hz); default 22,050.
    skip_incomplete : bool
        Accepted so that every evaluation loader takes the same keywords;
        without effect (an incomplete cached track is rendered again).
    **config_overrides
        Fields of :class:`ChoraleConfig` (``qpm=``, ``velocity=``, ...).

    Returns
    -------
    LazyTracks
        :class:`~sotbench.types.MultiPitchTrack` items at ``sample_rate``;
        frames at ``0.010 k`` s; ``meta`` holds the provenance record
        (soundfont path and SHA-256, configuration, file hashes).
    """
    from .tracks import select_names

    cfg = config or ChoraleConfig()
    if sample_rate is not None:
        config_overrides["sample_rate"] = int(sample_rate)
    if config_overrides:
        unknown = set(config_overrides) - set(ChoraleConfig.__dataclass_fields__)
        if unknown:
            raise ValueError(f"chorales-synth: unknown settings {sorted(unknown)}; "
                             f"known: {sorted(ChoraleConfig.__dataclass_fields__)}")
        cfg = ChoraleConfig(**{**asdict(cfg), **config_overrides})
    folder, names = build_chorales_synth(n, chorales=chorales, config=cfg, soundfont=soundfont, cache=cache)
    names = select_names(names, tracks, "chorales-synth")

    def load(name: str) -> MultiPitchTrack:
        prov = json.loads((folder / f"{name}.json").read_text())
        audio, sr = load_audio(folder / f"{name}.wav")
        times, freqs = read_mirex_multif0(folder / f"{name}.f0.txt")
        track = MultiPitchTrack(name=name, audio=audio, sample_rate=sr, times_s=times, frequencies_hz=freqs,
                                meta={"dataset": "chorales-synth", "folder": str(folder),
                                      "instruments": ["violin", "clarinet", "tenor sax", "bassoon"],
                                      **prov})
        return finish_track(track, hop_s=cfg.hop_s, open_end=True,
                            audio_path=folder / f"{name}.wav", annotation_path=folder / f"{name}.f0.txt",
                            source=str(folder / f"{name}.f0.txt"))

    return LazyTracks("chorales-synth", names, load, folder)
