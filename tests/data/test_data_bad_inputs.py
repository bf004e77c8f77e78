"""Bad data never becomes a number: each rule of docs/datasets.md fed its bad input.

Rules tested: a named data root / dataset path that does not exist; absent vs malformed datasets
for every loader; missing per-track files (error, or recorded skip with skip_incomplete=True);
audio vs ground-truth durations (tolerance, stored warning, error); TRIOS instrument-only and
pitched-only MIDI; messages pointing to docs/datasets.md; the one home of MIDI<->Hz.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import soundfile as sf

from sotbench.data import (
    EVAL_DATASETS,
    DataPathNotFound,
    DatasetError,
    DatasetMalformed,
    DatasetNotFound,
    data_root,
    load_bach10,
    load_guitarset,
    load_nsynth,
    load_su,
    load_trios,
    load_urmp,
    named_data_root,
)
from sotbench.data.roots import DATASETS_DOC, dataset_dir
from sotbench.data.tracks import (
    DURATION_ERROR_S,
    NOTE_TAIL_S,
    check_durations,
    duration_tolerance,
    hz_to_midi,
    midi_to_hz,
)

SR = 44100
BACH10_FIXTURE_S = 0.54  # length of the conftest Bach10 fixture mixes (50 frames of 46 ms every 10 ms)


def tone(freqs, duration_s=1.0, sr=SR, amp=0.2):
    t = np.arange(int(round(duration_s * sr))) / sr
    return (amp * sum(np.sin(2 * np.pi * f * t) for f in np.atleast_1d(freqs))
            / len(np.atleast_1d(freqs))).astype(np.float32)

PROJECT = Path(__file__).resolve().parents[2]
DOC = "docs/datasets.md"
LOADERS = {"bach10": load_bach10, "urmp": load_urmp, "su": load_su, "trios": load_trios,
           "guitarset": load_guitarset}


def _names_doc(err) -> None:
    assert DOC in str(err.value), f"message does not point to {DOC}: {err.value}"


# --------------------------------------------------------------------------- named paths
def test_named_data_root_missing_is_an_error_not_absent(isolated_env, tmp_path, monkeypatch):
    missing = tmp_path / "typo" / "datasets"
    assert named_data_root(None) is None and named_data_root("  ") is None  # nothing named: no error
    with pytest.raises(DataPathNotFound, match=re.escape(str(missing))) as err:
        named_data_root(missing)
    _names_doc(err)
    assert not isinstance(err.value, DatasetNotFound)  # a runner must not turn it into a skip
    monkeypatch.setenv("SOTBENCH_DATA_ROOT", str(missing))
    with pytest.raises(DataPathNotFound, match="SOTBENCH_DATA_ROOT"):
        named_data_root()
    for loader in LOADERS.values():  # every loader, whatever the dataset
        with pytest.raises(DataPathNotFound):
            loader()
    monkeypatch.delenv("SOTBENCH_DATA_ROOT")
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DataPathNotFound, match="not a directory"):
        data_root(tmp_path / "file")


def test_named_dataset_path_missing_is_an_error(isolated_env, tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(DataPathNotFound, match=r"path setting.*docs/datasets\.md#bach10"):
        load_bach10(root, path=tmp_path / "nope")
    monkeypatch.setenv("SOTBENCH_TRIOS_DIR", str(tmp_path / "nope2"))
    with pytest.raises(DataPathNotFound, match="SOTBENCH_TRIOS_DIR"):
        load_trios(root)


def test_absent_dataset_is_dataset_not_found_for_every_loader(isolated_env, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    for loader in LOADERS.values():
        with pytest.raises(DatasetNotFound) as err:
            loader(root)
        assert not isinstance(err.value, DatasetMalformed)
        _names_doc(err)
    with pytest.raises(DatasetNotFound):
        load_nsynth("valid", root)
    assert issubclass(DatasetMalformed, DatasetError) and issubclass(DatasetNotFound, DatasetError)
    assert not issubclass(DatasetMalformed, DatasetNotFound) and not issubclass(DataPathNotFound, DatasetNotFound)


def test_present_but_empty_dataset_folder_is_malformed(isolated_env, tmp_path):
    root = tmp_path / "root"
    for folder in ("Bach10_v1.1", "URMP", "Su", "TRIOS", "GuitarSet"):
        (root / folder).mkdir(parents=True)
    for loader in LOADERS.values():
        with pytest.raises(DatasetMalformed) as err:
            loader(root)
        assert str(root) in str(err.value)
        _names_doc(err)


# --------------------------------------------------------------------------- Bach10 layout
def test_bach10_track_folder_lacking_wav_names_the_file(bach10_root):
    root, _ = bach10_root
    (root / "Bach10_v1.1" / "02-OtherChorale" / "02-OtherChorale.wav").unlink()
    with pytest.raises(DatasetMalformed, match=r"02-OtherChorale' lacks '02-OtherChorale\.wav'") as err:
        load_bach10(root)
    assert "skip_incomplete=True" in str(err.value)
    _names_doc(err)
    with pytest.raises(DatasetMalformed):  # the whole folder is checked, whatever tracks= selects
        load_bach10(root, tracks=["01"])


@pytest.mark.parametrize("stray", ["11-Extra", "notes", "01-TestChorale-copy"])
def test_bach10_stray_empty_folder_is_malformed(bach10_root, stray):
    root, _ = bach10_root
    (root / "Bach10_v1.1" / stray).mkdir()
    with pytest.raises(DatasetMalformed, match=re.escape(stray)):
        load_bach10(root)


def test_bach10_hidden_folders_and_loose_files_are_ignored(bach10_root):
    root, _ = bach10_root
    (root / "Bach10_v1.1" / ".ipynb_checkpoints").mkdir()
    (root / "Bach10_v1.1" / "__MACOSX").mkdir()
    (root / "Bach10_v1.1" / "README.md").write_text("readme")
    assert len(load_bach10(root)) == 2


def test_bach10_empty_and_unreadable_files(bach10_root):
    root, _ = bach10_root
    d = root / "Bach10_v1.1" / "01-TestChorale"
    (d / "01-TestChorale.wav").write_bytes(b"")
    with pytest.raises(DatasetMalformed, match=r"empty \(0-byte\) '01-TestChorale\.wav'"):
        load_bach10(root)
    (d / "01-TestChorale.wav").write_bytes(b"RIFF....garbage, not a wav")
    tracks = load_bach10(root)  # present: the layout is fine, the content is read on access
    with pytest.raises(DatasetMalformed, match=r"01-TestChorale\.wav") as err:
        tracks[0]
    _names_doc(err)
    assert len(tracks[1].audio)  # the other track still loads
    (d / "01-TestChorale-GTF0s.mat").write_bytes(b"MATLAB garbage")
    sf.write(str(d / "01-TestChorale.wav"), tone(440.0, BACH10_FIXTURE_S), SR)
    with pytest.raises(DatasetMalformed, match=r"01-TestChorale-GTF0s\.mat"):
        load_bach10(root)[0]


def test_bach10_skip_incomplete_records_skipped_tracks(bach10_root):
    root, _ = bach10_root
    base = root / "Bach10_v1.1"
    (base / "02-OtherChorale" / "02-OtherChorale-GTF0s.mat").unlink()
    (base / "03-Empty").mkdir()
    tracks = load_bach10(root, skip_incomplete=True)
    assert tracks.names == ["01-TestChorale"]
    assert set(tracks.skipped) == {"02-OtherChorale", "03-Empty"}
    assert "02-OtherChorale-GTF0s.mat" in tracks.skipped["02-OtherChorale"]
    assert "03-Empty.wav" in tracks.skipped["03-Empty"]
    assert tracks[:1].skipped == tracks.skipped  # slicing keeps the record
    (base / "01-TestChorale" / "01-TestChorale.wav").unlink()
    with pytest.raises(DatasetMalformed, match="every track is incomplete"):
        load_bach10(root, skip_incomplete=True)


# --------------------------------------------------------------------------- other loaders' layouts
def test_urmp_missing_mix_stray_folder_and_skip(urmp_root):
    root, name, *_ = urmp_root
    d = root / "URMP" / "Dataset" / name
    (root / "URMP" / "Dataset" / "stray").mkdir()
    with pytest.raises(DatasetMalformed, match="stray"):
        load_urmp(root)
    (root / "URMP" / "Dataset" / "stray").rmdir()
    (root / "URMP" / "Dataset" / "Supplementary_Files").mkdir()  # part of the release: ignored
    two = root / "URMP" / "Dataset" / "02_Jupiter_vn_cl"
    shutil.copytree(d, two)
    (two / f"AuMix_{name}.wav").rename(two / "AuMix_02_Jupiter_vn_cl.wav")
    (d / f"AuMix_{name}.wav").unlink()
    with pytest.raises(DatasetMalformed, match=rf"lacks 'AuMix_{name}\.wav'") as err:
        load_urmp(root)
    _names_doc(err)
    tracks = load_urmp(root, skip_incomplete=True)
    assert tracks.names == ["02_Jupiter_vn_cl"]
    assert set(tracks.skipped) == {name} and f"AuMix_{name}.wav" in tracks.skipped[name]


def test_urmp_bad_rows_with_skip_incomplete_still_an_error(urmp_root):
    root, name, *_ = urmp_root
    d = root / "URMP" / "Dataset" / name
    (d / "F0s_1_vn_01_Jupiter.txt").write_text("0.023 abc\n")
    with pytest.raises(DatasetMalformed, match=r"F0s_1_vn_01_Jupiter\.txt' line 1"):
        load_urmp(root, skip_incomplete=True)[0]  # corrupt is not incomplete


def test_su_audio_without_annotation_and_annotation_without_audio(su_root):
    root, name = su_root
    base = root / "Su"
    sf.write(str(base / "audio" / "PQ03_Other_audio.wav"), tone(261.63, 0.1), SR)
    with pytest.raises(DatasetMalformed, match=r"PQ03_Other.*lacks 'gt_F0/PQ03_Other_F0\.txt'") as err:
        load_su(root)
    _names_doc(err)
    (base / "gt_F0" / "SQ01_Extra_F0.txt").write_text("0.0 440\n")
    tracks = load_su(root, skip_incomplete=True)
    assert tracks.names == [name]
    assert "gt_F0/PQ03_Other_F0.txt" in tracks.skipped["PQ03_Other"]
    assert "audio/SQ01_Extra_audio.wav" in tracks.skipped["SQ01_Extra"]


def test_guitarset_missing_files_and_skip(guitarset_root):
    root, _ = guitarset_root
    base = root / "GuitarSet"
    (base / "annotation" / "00_BN1-129-Eb_solo.jams").unlink()
    with pytest.raises(DatasetMalformed, match=r"lacks 'annotation/00_BN1-129-Eb_solo\.jams'"):
        load_guitarset(root)
    tracks = load_guitarset(root, skip_incomplete=True)
    assert tracks.names == ["00_BN1-129-Eb_comp"] and "00_BN1-129-Eb_solo" in tracks.skipped


def test_nsynth_missing_examples_and_missing_audio(nsynth_root):
    root, entries = nsynth_root
    split = root / "NSynth" / "nsynth-valid"
    gone = sorted(entries)[0]
    (split / "audio" / f"{gone}.wav").unlink()
    with pytest.raises(DatasetMalformed, match=re.escape(f"{gone}.wav")):
        load_nsynth("valid", root, midi_range=None)
    notes = load_nsynth("valid", root, midi_range=None, skip_incomplete=True)
    assert len(notes) == 2 and gone in notes.skipped
    (split / "examples.json").unlink()
    with pytest.raises(DatasetMalformed, match="lacks 'examples.json'"):
        load_nsynth("valid", root)
    (split / "examples.json").write_text(json.dumps({"x": {"pitch": "high", "velocity": 1,
                                                           "instrument_str": "a"}}))
    with pytest.raises(DatasetMalformed, match="non-integer pitch"):
        load_nsynth("valid", root)


# --------------------------------------------------------------------------- durations
def test_check_durations_tiers_both_directions():
    hop = 0.01
    tol = duration_tolerance(hop)
    assert tol == pytest.approx(0.05) and duration_tolerance(0.02) == pytest.approx(0.1)
    kw = dict(hop_s=hop, label="x track 'a'", audio_path="a.wav", annotation_path="a.mat")
    assert check_durations(25.0, 25.0 - tol + 1e-6, **kw) is None
    assert check_durations(25.0, 25.0 + tol - 1e-6, **kw) is None
    assert "without ground truth" in check_durations(25.0, 25.0 - tol - 0.2, **kw)
    assert "past the end of the audio" in check_durations(25.0, 25.0 + tol + 0.2, **kw)
    with pytest.raises(DatasetMalformed, match=r"a\.wav.*a\.mat.*docs/datasets\.md#durations"):
        check_durations(25.0, 25.0 - tol - DURATION_ERROR_S - 0.01, **kw)
    with pytest.raises(DatasetMalformed, match="later than the audio"):
        check_durations(25.0, 25.0 + tol + DURATION_ERROR_S + 0.01, **kw)
    # note-based ground truth: a release tail is normal, a long one is a warning, a cut one an error
    assert check_durations(25.0, 25.0 - NOTE_TAIL_S, open_end=True, **kw) is None
    assert "after the last note" in check_durations(25.0, 20.0, open_end=True, **kw)
    with pytest.raises(DatasetMalformed, match="less than half"):
        check_durations(25.0, 1.0, open_end=True, **kw)
    with pytest.raises(DatasetMalformed, match="later than the audio"):
        check_durations(10.0, 12.0, open_end=True, **kw)


def _rewrite_mat(path: Path, n_frames: int):
    gt = scipy.io.loadmat(str(path))["GTF0s"]
    path.unlink()  # replace a symlink by a file
    scipy.io.savemat(str(path), {"GTF0s": gt[:, :n_frames]})


def test_bach10_annotation_cut_short_warns_then_errors(bach10_root):
    root, _ = bach10_root
    mat = root / "Bach10_v1.1" / "01-TestChorale" / "01-TestChorale-GTF0s.mat"
    _rewrite_mat(mat, 40)  # last frame 0.413 s of 0.54 s: beyond the 50 ms tolerance, within 1 s
    with pytest.warns(UserWarning, match=r"ends at 0\.413 s \(0\.127 s of audio without ground truth"):
        track = load_bach10(root, tracks=["01"])[0]
    assert len(track.warnings) == 1 and "01-TestChorale-GTF0s.mat" in track.warnings[0]
    assert load_bach10(root, tracks=["02"])[0].warnings == []  # the intact track says nothing


def test_bach10_truncated_wav_warns(bach10_root):
    root, _ = bach10_root
    wav = root / "Bach10_v1.1" / "01-TestChorale" / "01-TestChorale.wav"
    sf.write(str(wav), tone(440.0, 0.3), SR)
    with pytest.warns(UserWarning, match="past the end of the audio"):
        track = load_bach10(root, tracks=["01"])[0]
    assert "0.300 s at 44100 Hz" in track.warnings[0]


@pytest.fixture
def real_bach10(tmp_path):
    """Two real Bach10 tracks symlinked into tmp_path/Bach10_v1.1 (break them by replacing files)."""
    try:
        src = dataset_dir("bach10")
    except DatasetError as exc:
        pytest.skip(f"real Bach10 not available (set SOTBENCH_DATA_ROOT or SOTBENCH_BACH10_DIR): {exc}")
    names = ["01-AchGottundHerr", "06-DieSonne"]
    if not all((src / n / f"{n}.wav").is_file() for n in names):
        pytest.skip(f"real Bach10 at {src} lacks {names}")
    dst = tmp_path / "real" / "Bach10_v1.1"
    for n in names:
        (dst / n).mkdir(parents=True)
        for f in (f"{n}.wav", f"{n}-GTF0s.mat"):
            (dst / n / f).symlink_to(src / n / f)
    return dst, names


def test_real_bach10_intact_tracks_have_no_duration_warning(real_bach10):
    base, names = real_bach10
    for track in load_bach10(base):
        assert not [w for w in track.warnings if "ground truth" in w], track.warnings


def test_real_bach10_annotation_cut_to_one_second_is_an_error(real_bach10):
    base, names = real_bach10
    mat = base / names[0] / f"{names[0]}-GTF0s.mat"
    _rewrite_mat(mat, 98)  # 1 s of a 25 s track: scored Acc 0.0 without a word before
    tracks = load_bach10(base)
    with pytest.raises(DatasetMalformed, match=r"lasts 25\.2\d\d s at 44100 Hz.*ends at 0\.993 s") as err:
        tracks[0]
    _names_doc(err)
    assert tracks[1].warnings == []


def test_real_bach10_truncated_wav_is_an_error(real_bach10):
    base, names = real_bach10
    wav = base / names[1] / f"{names[1]}.wav"
    x, sr = sf.read(str(wav), dtype="int16")
    wav.unlink()
    sf.write(str(wav), x[: len(x) // 2], sr, subtype="PCM_16")
    with pytest.raises(DatasetMalformed, match=r"06-DieSonne\.wav' lasts 16\.6\d\d s.*later than the audio"):
        load_bach10(base, tracks=["06"])[0]


def test_real_bach10_wrong_header_sample_rate_is_an_error(real_bach10):
    base, names = real_bach10
    wav = base / names[0] / f"{names[0]}.wav"
    data = bytearray(wav.read_bytes())
    wav.unlink()
    assert data[:4] == b"RIFF" and data[12:16] == b"fmt "
    assert int.from_bytes(data[24:28], "little") == 44100
    data[24:28] = (22050).to_bytes(4, "little")  # header says 22.05 kHz: the audio seems twice as long
    data[28:32] = (22050 * 2).to_bytes(4, "little")
    wav.write_bytes(bytes(data))
    with pytest.raises(DatasetMalformed, match=r"at 22050 Hz.*wrong sample rate in the audio header"):
        load_bach10(base, tracks=["01"])[0]


def test_urmp_f0_cut_short_is_an_error(urmp_root):
    root, name, (t1, f1), _ = urmp_root
    d = root / "URMP" / "Dataset" / name
    sf.write(str(d / f"AuMix_{name}.wav"), tone(440.0, 3.0, 48000), 48000)
    with pytest.raises(DatasetMalformed, match=r"F0s_\d_.*without ground truth; at most"):
        load_urmp(root)[0]


def test_guitarset_declared_duration_vs_audio(guitarset_root):
    root, _ = guitarset_root
    wav = root / "GuitarSet" / "audio_mono-mic" / "00_BN1-129-Eb_comp_mic.wav"
    sf.write(str(wav), tone(82.41, 0.3), SR)
    with pytest.warns(UserWarning, match="without ground truth"):
        assert load_guitarset(root, tracks=["00_BN1-129-Eb_comp"])[0].warnings
    sf.write(str(wav), tone(82.41, 2.0), SR)
    with pytest.raises(DatasetMalformed, match=r"00_BN1-129-Eb_comp\.jams' ends at 0\.100 s"):
        load_guitarset(root, tracks=["00_BN1-129-Eb_comp"])[0]


def test_su_notes_covering_less_than_half_the_audio_is_an_error(su_root):
    root, name = su_root
    sf.write(str(root / "Su" / "audio" / f"{name}_audio.wav"), tone(261.63, 5.0), SR)
    with pytest.raises(DatasetMalformed, match="less than half"):
        load_su(root)[0]


# --------------------------------------------------------------------------- TRIOS
def _midi(path: Path, parts):
    """parts: list of (program, is_drum, name, [(pitch, start, end), ...]) written as one MIDI file."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    for program, is_drum, name, notes in parts:
        inst = pretty_midi.Instrument(program=program, is_drum=is_drum, name=name)
        inst.notes.extend(pretty_midi.Note(velocity=80, pitch=p, start=s, end=e) for p, s, e in notes)
        pm.instruments.append(inst)
    pm.write(str(path))


VIOLIN = [(69, 0.0, 0.25), (71, 0.25, 0.5)]
PIANO = [(60, 0.1, 0.3), (64, 0.3, 0.45)]


@pytest.fixture
def trios_piece(tmp_path):
    """TRIOS/mozart with stems: violin + piano parts, their stem wavs, mix.wav (0.6 s)."""
    d = tmp_path / "troot" / "TRIOS" / "mozart"
    d.mkdir(parents=True)
    _midi(d / "violin.mid", [(40, False, "violin", VIOLIN)])
    _midi(d / "piano.mid", [(0, False, "piano", PIANO)])
    for stem in ("violin", "piano", "mix"):
        sf.write(str(d / f"{stem}.wav"), tone(440.0, 0.6), SR)
    return tmp_path / "troot", d


def _counts(track):
    return sum(len(f) for f in track.frequencies_hz)


def test_trios_reference_counts_each_part_once(trios_piece):
    root, d = trios_piece
    ref = _counts(load_trios(root)[0])
    assert ref == 25 + 25 + 20 + 15  # frames each note sounds on the 10 ms grid
    _midi(d / "mix.mid", [(40, False, "violin", VIOLIN), (0, False, "piano", PIANO)])
    track = load_trios(root)[0]
    assert _counts(track) == ref and "mix.mid" in track.meta["not_instruments"]
    _midi(d / "full_score.mid", [(40, False, "violin", VIOLIN), (0, False, "piano", PIANO)])
    track = load_trios(root)[0]  # no full_score.wav stem next to it: not an instrument part
    assert _counts(track) == ref and "full_score.mid" in track.meta["not_instruments"]
    assert sorted(Path(p).name for p in track.meta["annotation_paths"]) == ["piano.mid", "violin.mid"]


def test_trios_merged_score_without_stems_is_an_error(trios_piece):
    root, d = trios_piece
    for stem in ("violin", "piano"):
        (d / f"{stem}.wav").unlink()  # a copy without stem audio
    _midi(d / "mix.mid", [(40, False, "violin", VIOLIN), (0, False, "piano", PIANO)])
    assert _counts(load_trios(root)[0]) == 85  # mix.mid never counts
    _midi(d / "score.mid", [(40, False, "violin", VIOLIN), (0, False, "piano", PIANO)])
    with pytest.raises(DatasetMalformed, match=r"'score\.mid' repeats notes of .*double the reference") as err:
        load_trios(root)[0]
    _names_doc(err)


def test_trios_drums_excluded_by_content_under_innocent_names(trios_piece):
    root, d = trios_piece
    ref = _counts(load_trios(root)[0])
    drums = [(36, 0.0, 0.1), (38, 0.2, 0.3), (42, 0.4, 0.5)]
    _midi(d / "cello.mid", [(0, True, "cello", drums)])  # channel 10 under an innocent name
    sf.write(str(d / "cello.wav"), tone(440.0, 0.6), SR)
    _midi(d / "horn.mid", [(60, False, "horn", [(67, 0.0, 0.1)]), (0, False, "Snare Drum", drums),
                           (116, False, "part3", drums)])
    sf.write(str(d / "horn.wav"), tone(440.0, 0.6), SR)
    track = load_trios(root)[0]
    assert _counts(track) == ref + 10  # only the horn's pitched note
    skipped = " ".join(track.meta["skipped"])
    assert "cello.mid:cello (drum channel 10)" in skipped
    assert "horn.mid:Snare Drum (percussion track name)" in skipped
    assert "horn.mid:part3 (unpitched GM program 116)" in skipped


def test_trios_piece_without_mix_is_an_error_or_recorded_skip(trios_piece):
    root, d = trios_piece
    other = d.parent / "brahms"
    other.mkdir()
    _midi(other / "horn.mid", [(60, False, "horn", VIOLIN)])
    with pytest.raises(DatasetMalformed, match=r"brahms' lacks 'mix\.wav'") as err:
        load_trios(root)
    _names_doc(err)
    tracks = load_trios(root, skip_incomplete=True)
    assert tracks.names == ["mozart"] and "mix.wav" in tracks.skipped["brahms"]
    shutil.rmtree(other)
    (d.parent / "empty").mkdir()  # a stray empty folder
    with pytest.raises(DatasetMalformed, match="empty"):
        load_trios(root)


def test_trios_notes_cut_short_is_an_error(trios_piece):
    root, d = trios_piece
    sf.write(str(d / "mix.wav"), tone(440.0, 8.0), SR)
    with pytest.raises(DatasetMalformed, match=r"mix\.wav' lasts 8\.000 s.*less than half"):
        load_trios(root)[0]


# --------------------------------------------------------------------------- warnings, messages, one home
def test_load_warnings_are_stored_on_the_track_and_reemitted(bach10_root):
    root, _ = bach10_root
    wav = root / "Bach10_v1.1" / "01-TestChorale" / "01-TestChorale.wav"
    x = tone(440.0, BACH10_FIXTURE_S)
    x[1000:1010] = 1.0
    sf.write(str(wav), x, SR, subtype="FLOAT")
    with pytest.warns(UserWarning, match="looks clipped"):
        track = load_bach10(root, tracks=["01"])[0]
    assert len(track.warnings) == 1 and "clipped" in track.warnings[0]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a caller ignoring warnings still gets them on the track
        assert load_bach10(root, tracks=["01"])[0].warnings == track.warnings


def test_every_eval_loader_accepts_skip_incomplete():
    import inspect

    for name, loader in EVAL_DATASETS.items():
        assert "skip_incomplete" in inspect.signature(loader).parameters, name


def test_messages_point_to_the_projects_own_docs():
    doc = (PROJECT / DATASETS_DOC).read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", doc, flags=re.M)}
    used = set()
    for src in (PROJECT / "sotbench").rglob("*.py"):
        text = src.read_text()
        assert "shared/datasets/README" not in text, f"{src} points outside the repository"
        used |= set(re.findall(r"layout_doc\('([a-z0-9-]+)'\)", text))
        used |= set(re.findall(r"docs/datasets\.md#([a-z0-9-]+)", text))
    used |= {"bach10", "urmp", "su", "trios", "guitarset", "nsynth"}  # layout_doc(key) / layout_doc(dataset)
    assert used <= anchors, f"anchors missing from {DATASETS_DOC}: {sorted(used - anchors)}"


def test_midi_hz_has_one_home_in_the_data_package():
    from mir_eval.util import midi_to_hz as ref

    m = np.linspace(0.0, 127.0, 509)
    np.testing.assert_allclose(midi_to_hz(m), ref(m), rtol=1e-12)
    np.testing.assert_allclose(hz_to_midi(midi_to_hz(m)), m, atol=1e-9)
    for src in (PROJECT / "sotbench" / "data").glob("*.py"):
        if src.name == "tracks.py":
            continue
        code = src.read_text()
        assert not re.search(r"440(\.0)? \* 2(\.0)? \*\* \(", code), f"MIDI->Hz copy in {src}"
        assert not re.search(r"log2\([^)]*/ ?440", code), f"Hz->MIDI copy in {src}"


@pytest.mark.property
def test_check_durations_outcome_is_monotone_in_the_mismatch():
    from hypothesis import assume, given, settings
    from hypothesis import strategies as st

    def outcome(audio_s, gt_end_s, hop, open_end=False):
        try:
            msg = check_durations(audio_s, gt_end_s, hop_s=hop, label="t", open_end=open_end)
        except DatasetMalformed:
            return 2
        return 1 if msg else 0

    @settings(max_examples=200, deadline=None)
    @given(audio=st.floats(5.0, 600.0), d1=st.floats(0.0, 4.0), d2=st.floats(0.0, 4.0),
           hop=st.sampled_from([0.005805, 0.01, 0.02]), sign=st.sampled_from([-1.0, 1.0]))
    def check(audio, d1, d2, hop, sign):
        lo, hi = sorted((d1, d2))
        tol = duration_tolerance(hop)
        edges = (tol, tol + DURATION_ERROR_S, tol + NOTE_TAIL_S)
        # stay off the thresholds by more than float rounding of audio +- mismatch
        assume(all(abs(x - e) > 1e-6 for x in (lo, hi) for e in edges))
        # a larger mismatch is never judged milder, in either direction
        assert outcome(audio, audio - sign * lo, hop) <= outcome(audio, audio - sign * hi, hop)
        # frame-level ground truth: the verdict depends on |mismatch| only
        assert outcome(audio, audio - lo, hop) == outcome(audio, audio + lo, hop)
        # note-based ground truth is never stricter than frame-level ground truth
        assert outcome(audio, audio - lo, hop, open_end=True) <= outcome(audio, audio - lo, hop)
        expected = 0 if lo <= tol else 1 if lo <= tol + DURATION_ERROR_S else 2
        assert outcome(audio, audio - lo, hop) == expected

    check()
