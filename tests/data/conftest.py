"""Fixtures: tiny datasets in each real on-disk format, built inside the test run (no network).

Every builder returns the data root plus the exact values it wrote, so tests
compare the loaders' output with what was put on disk.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 44100
#: Length of the Bach10 fixture mixes: 50 ground-truth frames of 46 ms every 10 ms.
BACH10_FIXTURE_S = 0.54


def tone(freqs, duration_s=1.0, sr=SR, amp=0.2):
    """Sum of sines (float32), one per frequency in Hz."""
    t = np.arange(int(round(duration_s * sr))) / sr
    x = sum(np.sin(2 * np.pi * f * t) for f in np.atleast_1d(freqs))
    return (amp * x / max(1, len(np.atleast_1d(freqs)))).astype(np.float32)


def midi_hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=float) - 69.0) / 12.0)


@pytest.fixture
def isolated_env(monkeypatch, tmp_path):
    """No SOTBENCH_* variable from the outside leaks into a test; cwd is an empty temp folder."""
    for var in ("SOTBENCH_DATA_ROOT", "SOTBENCH_CACHE", "SOTBENCH_SOUNDFONT", "SOTBENCH_BACH10_DIR",
                "SOTBENCH_URMP_DIR", "SOTBENCH_SU_DIR", "SOTBENCH_TRIOS_DIR", "SOTBENCH_GUITARSET_DIR",
                "SOTBENCH_NSYNTH_DIR"):
        monkeypatch.delenv(var, raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.fixture
def bach10_root(tmp_path):
    """Bach10_v1.1 with two tracks: 0.54 s mixes and hand-written GTF0s (4 x 50, MIDI, zeros).

    As in the real v1.1 files, the last frame (centre 0.023 + 0.49 s, 46 ms long) ends at the end of the mix.
    """
    import scipy.io

    root = tmp_path / "root"
    gts = {}
    for i, name in enumerate(["01-TestChorale", "02-OtherChorale"]):
        d = root / "Bach10_v1.1" / name
        d.mkdir(parents=True)
        gt = np.zeros((4, 50))
        gt[0, :40] = 72 + 0.25 * i          # violin (fractional MIDI as in the real files)
        gt[1, 10:50] = 67.0
        gt[2, 5:20] = 64.5
        gt[3, :] = 48.0
        gt[3, 25] = 0.0                     # one silent frame of the bassoon
        scipy.io.savemat(str(d / f"{name}-GTF0s.mat"), {"GTF0s": gt})
        sf.write(str(d / f"{name}.wav"), tone([523.25, 196.0], BACH10_FIXTURE_S), SR, subtype="PCM_16")
        gts[name] = gt
    return root, gts


@pytest.fixture
def urmp_root(tmp_path):
    """URMP/Dataset with one duet (48 kHz) whose two F0 files have different lengths (the second one 50 ms short)."""
    root = tmp_path / "root"
    name = "01_Jupiter_vn_cl"
    d = root / "URMP" / "Dataset" / name
    d.mkdir(parents=True)
    t1 = 0.023 + 0.01 * np.arange(30)
    f1 = np.where(np.arange(30) < 20, 440.0, 0.0)
    t2 = 0.023 + 0.01 * np.arange(25)
    f2 = np.full(25, 293.66)
    np.savetxt(d / "F0s_1_vn_01_Jupiter.txt", np.c_[t1, f1], fmt="%.3f\t%.2f")
    np.savetxt(d / "F0s_2_cl_01_Jupiter.txt", np.c_[t2, f2], fmt="%.3f\t%.2f")
    sf.write(str(d / f"AuMix_{name}.wav"), tone([440.0, 293.66], 0.34, 48000), 48000, subtype="PCM_16")
    sf.write(str(d / "AuSep_1_vn_01_Jupiter.wav"), tone(440.0, 0.34, 48000), 48000, subtype="PCM_16")
    return root, name, (t1, f1), (t2, f2)


@pytest.fixture
def su_root(tmp_path):
    """Su with one track: MIREX multi-F0 (variable voices per line, a 0 entry) and a note list."""
    root = tmp_path / "root"
    base = root / "Su"
    for sub in ("audio", "gt_F0", "gt_Note"):
        (base / sub).mkdir(parents=True)
    name = "PQ02_Dvorak"
    lines = ["0.00\t261.63\t329.63", "0.01\t261.63", "0.02", "0.03\t392.00\t0\t523.25"]
    (base / "gt_F0" / f"{name}_F0.txt").write_text("\n".join(lines) + "\n")
    (base / "gt_Note" / f"{name}_note.txt").write_text("0.000\t0.025\t261.63\n0.015\t0.050\t392.0\n")
    sf.write(str(base / "audio" / f"{name}_audio.wav"), tone([261.63, 329.63], 0.1), SR)
    return root, name


@pytest.fixture
def trios_root(tmp_path):
    """TRIOS with one piece: violin.mid, piano.mid (+ a drum instrument), kick.mid (unpitched file)."""
    import pretty_midi

    root = tmp_path / "root"
    d = root / "TRIOS" / "mozart"
    d.mkdir(parents=True)
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    vn = pretty_midi.Instrument(program=40, name="violin")
    vn.notes.append(pretty_midi.Note(velocity=80, pitch=69, start=0.0, end=0.25))
    vn.notes.append(pretty_midi.Note(velocity=80, pitch=71, start=0.25, end=0.5))
    pm.instruments.append(vn)
    pm.write(str(d / "violin.mid"))
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    pno = pretty_midi.Instrument(program=0, name="piano")
    pno.notes.append(pretty_midi.Note(velocity=80, pitch=60, start=0.1, end=0.3))
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    drums.notes.append(pretty_midi.Note(velocity=80, pitch=36, start=0.0, end=0.1))
    pm.instruments.extend([pno, drums])
    pm.write(str(d / "piano.mid"))
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    kick = pretty_midi.Instrument(program=0, name="kick")  # not flagged as drums: skipped by file name
    kick.notes.append(pretty_midi.Note(velocity=80, pitch=36, start=0.0, end=0.5))
    pm.instruments.append(kick)
    pm.write(str(d / "kick.mid"))
    sf.write(str(d / "mix.wav"), tone([440.0, 261.63], 0.6), SR, subtype="PCM_16")
    return root


def _jams(contours, duration, list_layout=True):
    anns = []
    for string, obs in contours.items():
        if list_layout:
            data = [{"time": t, "duration": 0.0, "value": {"index": 0, "frequency": f, "voiced": v},
                     "confidence": None} for t, f, v in obs]
        else:
            data = {"time": [o[0] for o in obs], "duration": [0.0] * len(obs),
                    "value": [{"index": 0, "frequency": o[1], "voiced": o[2]} for o in obs],
                    "confidence": [None] * len(obs)}
        anns.append({"namespace": "pitch_contour", "annotation_metadata": {"data_source": str(string)},
                     "data": data, "sandbox": {}, "time": 0, "duration": duration})
    anns.append({"namespace": "note_midi", "annotation_metadata": {"data_source": "0"}, "data": []})
    return {"annotations": anns, "file_metadata": {"duration": duration, "title": "fixture"},
            "sandbox": {}}


@pytest.fixture
def guitarset_root(tmp_path):
    """GuitarSet with two tracks (list and column JAMS layouts), six strings, unvoiced rows."""
    root = tmp_path / "root"
    base = root / "GuitarSet"
    (base / "annotation").mkdir(parents=True)
    (base / "audio_mono-mic").mkdir(parents=True)
    hop = 256 / 44100
    contours = {s: [] for s in range(6)}
    contours[0] = [(k * hop, 82.41, True) for k in range(2, 6)]
    contours[1] = [(k * hop, 110.0, True) for k in range(4, 8)] + [(8 * hop, 110.0, False)]
    contours[5] = [(3 * hop, 329.63, True), (4 * hop, 0.0, True)]
    for name, layout in (("00_BN1-129-Eb_comp", True), ("00_BN1-129-Eb_solo", False)):
        (base / "annotation" / f"{name}.jams").write_text(json.dumps(_jams(contours, 0.1, layout)))
        sf.write(str(base / "audio_mono-mic" / f"{name}_mic.wav"), tone([82.41, 110.0], 0.1), SR)
    return root, contours


@pytest.fixture
def nsynth_root(tmp_path):
    """NSynth with a valid split of three notes (one outside MIDI 21-109)."""
    root = tmp_path / "root"
    d = root / "NSynth" / "nsynth-valid"
    (d / "audio").mkdir(parents=True)
    entries = {}
    for i, (fam, src, idx, pitch, vel) in enumerate([("keyboard", "acoustic", 4, 60, 100),
                                                      ("bass", "synthetic", 33, 20, 50),
                                                      ("flute", "acoustic", 27, 81, 127)]):
        note_str = f"{fam}_{src}_{idx:03d}-{pitch:03d}-{vel:03d}"
        entries[note_str] = {
            "note": i, "note_str": note_str, "instrument": idx, "instrument_str": f"{fam}_{src}_{idx:03d}",
            "pitch": pitch, "velocity": vel, "sample_rate": 16000, "qualities": [0] * 10,
            "qualities_str": ["bright"] if i == 0 else [], "instrument_family": 0,
            "instrument_family_str": fam, "instrument_source": 0, "instrument_source_str": src}
        sf.write(str(d / "audio" / f"{note_str}.wav"), tone(midi_hz(pitch), 4.0, 16000), 16000,
                 subtype="PCM_16")
    (d / "examples.json").write_text(json.dumps(entries))
    return root, entries


def write_wav(path: Path, audio, sr=SR, subtype="FLOAT"):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(audio), sr, subtype=subtype)
    return path


@pytest.fixture
def make_tone():
    """The :func:`tone` helper as a fixture."""
    return tone


@pytest.fixture
def wav_writer():
    """The :func:`write_wav` helper as a fixture."""
    return write_wav
