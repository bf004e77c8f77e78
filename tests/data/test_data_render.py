"""Generated datasets: soundfont choice, chorales-synth and notes-synth (tiny sizes).

Checks that the ground truth matches the score (music21's own chordify as the
reference) and the audio (spectral evidence at the labelled pitches, against
pitch- and time-shifted controls), that renders are deterministic, and that
the cache is used.
"""
from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from sotbench.data import render as render_mod
from sotbench.data.chorales import ChoraleConfig, build_chorales_synth, load_chorales_synth
from sotbench.data.notes import (
    EXCLUDED_PROGRAMS,
    NotesConfig,
    build_notes_synth,
    eligible_programs,
    estimate_f0,
    load_notes_synth,
    render_notes,
)
from sotbench.data.nsynth import load_nsynth
from sotbench.data.render import find_soundfont

CHORALE = "bach/bwv269"  # Riemenschneider 1: four parts, 4/4, begins with a pickup


@pytest.fixture
def no_debian(monkeypatch, tmp_path):
    """Pin the soundfont to pretty_midi's TimGM6mb so results do not depend on the machine."""
    monkeypatch.delenv("SOTBENCH_SOUNDFONT", raising=False)
    monkeypatch.setattr(render_mod, "DEBIAN_SOUNDFONT", tmp_path / "no-such.sf2")


def _semitones(a, b):
    return 12 * np.log2(a / b)


# --------------------------------------------------------------------------- soundfont
def test_soundfont_resolution(no_debian, monkeypatch, tmp_path):
    sf = find_soundfont()
    assert sf.origin == "pretty_midi" and sf.name == "TimGM6mb.sf2"
    assert sf.sha256 == hashlib.sha256(sf.path.read_bytes()).hexdigest()
    assert sf.provenance()["sha256"] == sf.sha256
    copy = tmp_path / "copy.sf2"
    copy.write_bytes(sf.path.read_bytes())
    assert find_soundfont(copy).origin == "explicit"
    monkeypatch.setattr(render_mod, "DEBIAN_SOUNDFONT", copy)
    assert find_soundfont().origin == "debian"  # preferred when present
    monkeypatch.setenv("SOTBENCH_SOUNDFONT", str(tmp_path / "missing.sf2"))
    with pytest.raises(ValueError, match="missing.sf2.*SOTBENCH_SOUNDFONT"):
        find_soundfont()


# --------------------------------------------------------------------------- chorales-synth
@pytest.fixture(scope="module")
def chorale_build(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(render_mod, "DEBIAN_SOUNDFONT", tmp_path_factory.mktemp("x") / "no-such.sf2")
    mp.delenv("SOTBENCH_SOUNDFONT", raising=False)
    cache = tmp_path_factory.mktemp("cache")
    dataroot = tmp_path_factory.mktemp("dataroot")
    tracks = load_chorales_synth(dataroot, chorales=[CHORALE], cache=cache)
    assert not list(dataroot.iterdir())  # generated data never goes into the data root
    yield cache, tracks
    mp.undo()


def _chordify_reference(cfg: ChoraleConfig, times):
    """MIDI pitch sets sounding at each time, from music21's chordify of the score."""
    from music21 import corpus

    score = corpus.parse(CHORALE)
    chords = list(score.chordify().flatten().notes)
    spans = [(float(c.offset), float(c.offset + c.duration.quarterLength), {p.midi for p in c.pitches})
             for c in chords]
    ref = []
    for t in times:
        ql = (t - cfg.lead_in_s) * cfg.qpm / 60.0
        hit = [s for s in spans if s[0] <= ql < s[1]]
        ref.append(hit[0][2] if hit else set())
    return ref


def test_chorale_ground_truth_matches_score(chorale_build):
    _, tracks = chorale_build
    assert tracks.names == ["001-bwv269"]
    tr = tracks[0]
    cfg = ChoraleConfig()
    assert tr.sample_rate == 22050 and tr.audio.dtype == np.float32 and tr.audio.ndim == 1
    np.testing.assert_allclose(tr.times_s, 0.01 * np.arange(len(tr.times_s)))
    assert abs(tr.times_s[-1] - tr.duration_s) < 0.011
    sec_per_ql = 60.0 / cfg.qpm
    ref = _chordify_reference(cfg, tr.times_s)
    checked = 0
    for t, got, exp in zip(tr.times_s, tr.frequencies_hz, ref):
        ql = (t - cfg.lead_in_s) / sec_per_ql
        if abs(ql * 4 - round(ql * 4)) * sec_per_ql / 4 < 0.003:  # within 3 ms of a 16th boundary
            continue
        midi = set(np.rint(69 + 12 * np.log2(got / 440.0)).astype(int)) if len(got) else set()
        assert midi == exp, (t, midi, exp)
        np.testing.assert_allclose(got, 440 * 2 ** ((np.rint(69 + 12 * np.log2(got / 440)) - 69) / 12))
        checked += 1
    assert checked > 0.9 * len(tr.times_s)
    assert all(len(f) == 0 for f, t in zip(tr.frequencies_hz, tr.times_s) if t < cfg.lead_in_s)
    assert max(len(f) for f in tr.frequencies_hz) == 4
    meta = tr.meta
    assert meta["soundfont"]["name"] == "TimGM6mb.sf2" and len(meta["soundfont"]["sha256"]) == 64
    assert meta["config"]["programs"] == [40, 71, 66, 70]


def _pitch_score(audio, sr, times, freqs, shift=0.0, time_shift=0.0):
    n_fft = 4096
    pad = np.pad(audio.astype(np.float64), n_fft // 2)
    bins = np.fft.rfftfreq(n_fft, 1 / sr)
    win = np.hanning(n_fft)
    out = []
    for k in range(0, len(times), 5):
        if not len(freqs[k]):
            continue
        c = int(round((times[k] + time_shift) * sr))
        if c < 0 or c + n_fft > len(pad):
            continue
        mag = np.log(np.abs(np.fft.rfft(pad[c:c + n_fft] * win)) + 1e-9)
        for hz in np.asarray(freqs[k]) * 2 ** (shift / 12):
            # within half a semitone (at least the nearest bin)
            sel = np.abs(bins - hz) <= max(hz * (2 ** (0.5 / 12) - 1), sr / n_fft / 2)
            out.append(mag[sel].max() - np.median(mag))
    return float(np.mean(out))


def test_chorale_ground_truth_matches_audio(chorale_build):
    tr = chorale_build[1][0]
    args = (tr.audio, tr.sample_rate, tr.times_s, tr.frequencies_hz)
    true, pitch_off, late = _pitch_score(*args), _pitch_score(*args, shift=6.0), _pitch_score(*args, time_shift=0.4)
    assert true > pitch_off + 1.0 and true > late + 0.3, (true, pitch_off, late)
    # silence before the first note, sound right after it
    lead = int(ChoraleConfig().lead_in_s * tr.sample_rate)
    assert np.abs(tr.audio[:lead - 100]).max() < 1e-4
    assert np.abs(tr.audio[lead:lead + 4000]).max() > 0.05


def test_chorale_cache_and_determinism(chorale_build, tmp_path, monkeypatch, no_debian):
    cache, tracks = chorale_build
    folder = tracks.root
    assert folder.parent == cache / "chorales-synth"
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["001-bwv269.f0.txt", "001-bwv269.json", "001-bwv269.mid", "001-bwv269.wav", "config.json"]
    prov = json.loads((folder / "001-bwv269.json").read_text())
    assert prov["files"]["001-bwv269.wav"] == hashlib.sha256((folder / "001-bwv269.wav").read_bytes()).hexdigest()

    def boom(*a, **k):
        raise AssertionError("cached track was rendered again")

    monkeypatch.setattr("sotbench.data.chorales.render_midi", boom)
    again = load_chorales_synth(chorales=[CHORALE], cache=cache)[0]
    np.testing.assert_array_equal(again.audio, tracks[0].audio)
    monkeypatch.undo()
    # determinism: a fresh cache renders the very same bytes
    fresh_folder, _ = build_chorales_synth(chorales=[CHORALE], cache=tmp_path)
    assert fresh_folder.name == folder.name
    for name in ("001-bwv269.wav", "001-bwv269.f0.txt", "001-bwv269.mid"):
        assert (fresh_folder / name).read_bytes() == (folder / name).read_bytes(), name
    # a damaged file is detected by its hash and re-rendered
    (fresh_folder / "001-bwv269.wav").write_bytes(b"broken")
    build_chorales_synth(chorales=[CHORALE], cache=tmp_path)
    assert (fresh_folder / "001-bwv269.wav").read_bytes() == (folder / "001-bwv269.wav").read_bytes()
    # a different setting gets its own folder
    other, _ = build_chorales_synth(chorales=[CHORALE], cache=tmp_path, config=ChoraleConfig(qpm=100))
    assert other != fresh_folder


def test_chorale_bad_settings():
    with pytest.raises(ValueError, match="qpm"):
        ChoraleConfig(qpm=0)
    with pytest.raises(ValueError, match="four GM programs"):
        ChoraleConfig(programs=(40, 71, 66))
    with pytest.raises(ValueError, match="not music21 corpus chorales"):
        build_chorales_synth(chorales=["bach/bwv9999"])
    with pytest.raises(ValueError, match="unknown settings"):
        load_chorales_synth(tempo=3)


# --------------------------------------------------------------------------- notes-synth
TINY = dict(sizes={"train": 6, "valid": 2, "test": 2}, programs=(0, 24, 40, 56, 71, 73, 32, 11, 65, 68),
            midi_range=(40, 90))


@pytest.fixture(scope="module")
def notes_build(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(render_mod, "DEBIAN_SOUNDFONT", tmp_path_factory.mktemp("x") / "no-such.sf2")
    mp.delenv("SOTBENCH_SOUNDFONT", raising=False)
    cache = tmp_path_factory.mktemp("cache")
    root = build_notes_synth(cache=cache, **TINY)
    yield cache, root
    mp.undo()


def test_notes_synth_layout_read_by_nsynth_loader(notes_build):
    _, root = notes_build
    prov = json.loads((root / "provenance.json").read_text())
    assert prov["counts"] == {"train": 6, "valid": 2, "test": 2}
    assert prov["soundfont"]["name"] == "TimGM6mb.sf2"
    progs = {}
    for split, n in prov["counts"].items():
        notes = load_nsynth(split, root)
        assert len(notes) == n
        ex = json.loads((root / f"nsynth-{split}" / "examples.json").read_text())
        assert sorted(ex) == [m.note_str for m in notes]
        for m in notes:
            assert re.fullmatch(r"[a-z_]+_(acoustic|electronic|synthetic)_\d{3}-\d{3}-\d{3}", m.note_str)
            assert 40 <= m.pitch <= 90 and m.velocity in (25, 50, 75, 100, 127)
            assert m.instrument in TINY["programs"] and m.instrument not in EXCLUDED_PROGRAMS
            x = m.load_audio()
            assert x.shape == (64000,) and m.sample_rate == 16000
        progs[split] = {m.instrument for m in notes}
    assert not (progs["train"] & progs["valid"]) and not (progs["train"] & progs["test"])
    assert not (progs["valid"] & progs["test"])


def test_notes_synth_pitch_and_note_off(notes_build):
    _, root = notes_build
    for m in load_nsynth("train", root) + load_nsynth("valid", root) + load_nsynth("test", root):
        x = m.load_audio()
        f0, voiced = estimate_f0(x[1600:20800], 16000)
        assert abs(_semitones(f0, m.frequency_hz)) < 1.0, (m.note_str, f0)
        # the strongest spectral peak is a harmonic of the nominal pitch
        seg = x[1600:33600] * np.hanning(32000)
        spec = np.abs(np.fft.rfft(seg))
        freqs = np.fft.rfftfreq(32000, 1 / 16000)
        spec[freqs < 20] = 0  # some soundfont samples carry a DC offset
        peak = freqs[np.argmax(spec)]
        h = max(1, round(peak / m.frequency_hz))
        assert h <= 10 and abs(_semitones(peak, h * m.frequency_hz)) < 1.0, (m.note_str, peak)


def test_single_note_spectral_peak_and_release(no_debian):
    cfg = NotesConfig()
    sf = find_soundfont()
    notes = [(73, 72, 100), (40, 67, 100), (71, 62, 100)]  # flute, violin, clarinet
    for (prog, pitch, _), clip in zip(notes, render_notes(notes[:1], cfg, sf) + render_notes(notes[1:2], cfg, sf)
                                      + render_notes(notes[2:], cfg, sf)):
        seg = clip[int(0.5 * 16000):int(2.5 * 16000)]
        spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
        freqs = np.fft.rfftfreq(len(seg), 1 / 16000)
        spec[freqs < 20] = 0
        peak = freqs[np.argmax(spec)]
        nominal = 440 * 2 ** ((pitch - 69) / 12)
        assert abs(_semitones(peak, nominal)) < 1.0, (prog, pitch, peak)
        held = np.sqrt(np.mean(clip[16000:32000] ** 2))
        released = np.sqrt(np.mean(clip[int(3.6 * 16000):] ** 2))
        assert 20 * np.log10(released / held) < -20  # note-off at 3 s


def test_notes_synth_deterministic_and_cached(notes_build, tmp_path, monkeypatch, no_debian):
    cache, root = notes_build

    def boom(*a, **k):
        raise AssertionError("cached notes-synth was rendered again")

    monkeypatch.setattr("sotbench.data.notes.render_notes", boom)
    assert build_notes_synth(cache=cache, **TINY) == root
    assert len(load_notes_synth("valid", cache=cache, **TINY)) == 2
    monkeypatch.undo()
    again = build_notes_synth(cache=tmp_path, **TINY)
    assert again.name == root.name
    for split in ("train", "valid", "test"):
        a = (root / f"nsynth-{split}" / "examples.json").read_bytes()
        assert a == (again / f"nsynth-{split}" / "examples.json").read_bytes()
        for wav in (root / f"nsynth-{split}" / "audio").iterdir():
            assert wav.read_bytes() == (again / f"nsynth-{split}" / "audio" / wav.name).read_bytes()
    assert not list(tmp_path.glob("notes-synth/.*"))  # no temporary folder left behind


def test_notes_synth_settings():
    assert not set(eligible_programs()) & EXCLUDED_PROGRAMS
    assert {16, 17, 18, 19, 31, 47, 55, 86, 103}.issubset(EXCLUDED_PROGRAMS)
    with pytest.raises(ValueError, match="sizes"):
        NotesConfig(sizes={"training": 3})
    with pytest.raises(ValueError, match="midi_range"):
        NotesConfig(midi_range=(90, 40))
    with pytest.raises(ValueError, match="unknown settings"):
        build_notes_synth(size=3)


@pytest.mark.parametrize("f0", [27.5, 110.0, 261.63, 1046.5, 4186.0])
def test_estimate_f0_on_harmonic_tones(f0):
    sr = 16000
    t = np.arange(sr) / sr
    x = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 6) if h * f0 < sr / 2)
    est, voiced = estimate_f0(x, sr)
    assert voiced > 0.9 and abs(_semitones(est, f0)) < 0.1
    # a missing fundamental is still heard at f0
    if 3 * f0 < sr / 2:
        y = sum(np.sin(2 * np.pi * h * f0 * t) for h in (2, 3, 4) if h * f0 < sr / 2)
        est, _ = estimate_f0(y, sr)
        assert abs(_semitones(est, f0)) < 0.1
