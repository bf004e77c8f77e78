"""Real-layout loaders parse fixtures written in each dataset's own format exactly."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from sotbench.data import (
    EVAL_DATASETS,
    DatasetMalformed,
    DatasetNotFound,
    get_eval_loader,
    load_bach10,
    load_guitarset,
    load_nsynth,
    load_su,
    load_trios,
    load_urmp,
)
from sotbench.types import MultiPitchTrack


def hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=float) - 69.0) / 12.0)


# --------------------------------------------------------------------------- Bach10
def test_bach10_fixture_exact(bach10_root):
    root, gts = bach10_root
    tracks = load_bach10(root)
    assert len(tracks) == 2 and tracks.names == ["01-TestChorale", "02-OtherChorale"]
    for track, (name, gt) in zip(tracks, gts.items()):
        assert isinstance(track, MultiPitchTrack) and track.name == name
        assert track.sample_rate == 44100 and track.audio.dtype == np.float32 and track.audio.ndim == 1
        np.testing.assert_allclose(track.times_s, 0.023 + 0.010 * np.arange(50), rtol=0, atol=1e-12)
        assert len(track.frequencies_hz) == 50
        for k in range(50):
            expected = hz(gt[gt[:, k] > 0, k])  # voice order violin, clarinet, sax, bassoon
            np.testing.assert_allclose(track.frequencies_hz[k], expected, rtol=1e-12)
    t0 = tracks[0]
    np.testing.assert_allclose(t0.frequencies_hz[25], hz([72, 67, 0][:2]))  # sax off, bassoon gap
    np.testing.assert_allclose(t0.frequencies_hz[0], [hz(72), hz(48)])
    assert t0.meta["instruments"] == ["violin", "clarinet", "saxophone", "bassoon"]


def test_bach10_track_selection_and_resampling(bach10_root):
    root, _ = bach10_root
    assert load_bach10(root, tracks=["02"]).names == ["02-OtherChorale"]
    assert load_bach10(root, tracks=[1]).names == ["01-TestChorale"]
    with pytest.raises(ValueError, match="no track named 'zz'"):
        load_bach10(root, tracks=["zz"])
    t = load_bach10(root, tracks=["01"], sample_rate=22050)[0]
    assert t.sample_rate == 22050 and len(t.audio) == round(0.54 * 22050)


def test_bach10_malformed_layouts_name_paths(bach10_root, tmp_path):
    root, _ = bach10_root
    d = root / "Bach10_v1.1" / "02-OtherChorale"
    (d / "02-OtherChorale-GTF0s.mat").unlink()
    with pytest.raises(DatasetMalformed, match=r"02-OtherChorale.*lacks '02-OtherChorale-GTF0s\.mat'"):
        load_bach10(root)
    empty = tmp_path / "empty" / "Bach10"
    empty.mkdir(parents=True)
    with pytest.raises(DatasetMalformed, match=r"NN-Name/.*GTF0s\.mat"):
        load_bach10(empty.parent)
    (tmp_path / "none").mkdir()
    with pytest.raises(DatasetNotFound, match=r"none/Bach10_v1\.1.*or.*none/Bach10'"):
        load_bach10(tmp_path / "none")


@pytest.mark.filterwarnings("ignore:.*of audio without ground truth")  # the tiny matrices below are short
def test_bach10_bad_mat_contents(bach10_root):
    import scipy.io

    root, _ = bach10_root
    mat = root / "Bach10_v1.1" / "01-TestChorale" / "01-TestChorale-GTF0s.mat"
    scipy.io.savemat(str(mat), {"Other": np.zeros((4, 3))})
    with pytest.raises(ValueError, match="no variable 'GTF0s'"):
        load_bach10(root, tracks=["01"])[0]
    scipy.io.savemat(str(mat), {"GTF0s": np.zeros((3, 5))})
    with pytest.raises(ValueError, match=r"shape \(4, T>0\)"):
        load_bach10(root, tracks=["01"])[0]
    g = np.zeros((4, 5))
    g[0, 1] = np.nan
    scipy.io.savemat(str(mat), {"GTF0s": g})
    with pytest.raises(ValueError, match="NaN"):
        load_bach10(root, tracks=["01"])[0]
    scipy.io.savemat(str(mat), {"GTF0s": np.zeros((4, 5))})  # legal but odd: nothing ever sounds
    with pytest.warns(UserWarning, match="no frame of the ground truth has a pitch"):
        load_bach10(root, tracks=["01"])[0]


def test_bach10_stereo_and_nan_audio(bach10_root, make_tone):
    root, _ = bach10_root
    wav = root / "Bach10_v1.1" / "01-TestChorale" / "01-TestChorale.wav"
    x = make_tone(440.0, 0.54)
    sf.write(str(wav), np.c_[x, x], 44100)
    with pytest.warns(UserWarning, match="averaged to mono"):
        assert load_bach10(root, tracks=["01"])[0].audio.ndim == 1
    x[100] = np.nan
    sf.write(str(wav), x, 44100, subtype="FLOAT")
    with pytest.raises(ValueError, match=r"01-TestChorale\.wav.*NaN"):
        load_bach10(root, tracks=["01"])[0]


# --------------------------------------------------------------------------- URMP
def test_urmp_merges_stems_on_common_grid(urmp_root):
    root, name, (t1, f1), (t2, f2) = urmp_root
    tracks = load_urmp(root)
    assert tracks.names == [name]
    with pytest.warns(UserWarning, match=r"F0s_2_cl_01_Jupiter\.txt' ends at 0\.263 s \(0\.077 s of audio without"):
        tr = tracks[0]
    assert len(tr.warnings) == 1 and "F0s_2_cl" in tr.warnings[0]  # the shorter stem, stored on the track
    np.testing.assert_allclose(tr.times_s, t1, atol=1e-9)
    for k in range(30):
        exp = [f for f in (f1[k], f2[k] if k < 25 else 0.0) if f > 0]
        np.testing.assert_allclose(tr.frequencies_hz[k], exp)
    assert tr.meta["instruments"] == ["vn", "cl"]
    # the piece folders may also sit directly under URMP/
    flat = root / "URMP"
    (flat / "Dataset" / name).rename(flat / name)
    (flat / "Dataset").rmdir()
    with pytest.warns(UserWarning, match="without ground truth"):
        assert load_urmp(root)[0].name == name


def test_urmp_empty_or_missing_annotation(urmp_root):
    root, name, *_ = urmp_root
    d = root / "URMP" / "Dataset" / name
    (d / "F0s_2_cl_01_Jupiter.txt").write_text("\n")
    with pytest.raises(DatasetMalformed, match=r"F0s_2_cl_01_Jupiter\.txt.*is empty"):
        load_urmp(root)[0]
    (d / "F0s_2_cl_01_Jupiter.txt").unlink()
    with pytest.raises(DatasetMalformed, match="lacks 'F0s_2_"):
        load_urmp(root)
    (d / "F0s_1_vn_01_Jupiter.txt").write_text("0.023 440 7\n")
    (d / "F0s_2_cl_01_Jupiter.txt").write_text("0.023 440\n")
    with pytest.raises(ValueError, match="expected 2 columns"):
        load_urmp(root)[0]


# --------------------------------------------------------------------------- Su
def test_su_mirex_multif0(su_root):
    root, name = su_root
    tr = load_su(root, tracks=["PQ02"])[0]
    assert tr.name == name
    np.testing.assert_allclose(tr.times_s, [0.0, 0.01, 0.02, 0.03])
    expected = [[261.63, 329.63], [261.63], [], [392.0, 523.25]]  # the 0 entry means no pitch
    for got, exp in zip(tr.frequencies_hz, expected):
        np.testing.assert_allclose(got, exp)


def test_su_note_ground_truth(su_root):
    root, _ = su_root
    tr = load_su(root, ground_truth="notes")[0]
    np.testing.assert_allclose(tr.times_s[:6], 0.01 * np.arange(6))
    expected = [[261.63], [261.63], [261.63, 392.0], [392.0], [392.0], []]
    for got, exp in zip(tr.frequencies_hz[:6], expected):
        np.testing.assert_allclose(got, exp)


def test_su_empty_and_garbage_annotations(su_root):
    root, name = su_root
    gt = root / "Su" / "gt_F0" / f"{name}_F0.txt"
    gt.write_text("\n\n")
    with pytest.raises(ValueError, match=r"_F0\.txt.*is empty"):
        load_su(root)[0]
    gt.write_text("0.0 abc\n")
    with pytest.raises(ValueError, match="line 1: not numbers"):
        load_su(root)[0]
    gt.write_text("0.01 100\n0.00 100\n")
    with pytest.raises(ValueError, match="increase"):
        load_su(root)[0]
    with pytest.raises(ValueError, match="ground_truth"):
        load_su(root, ground_truth="midi")


# --------------------------------------------------------------------------- TRIOS
def test_trios_midi_ground_truth_skips_drums(trios_root):
    tr = load_trios(trios_root)[0]
    assert tr.name == "mozart"
    np.testing.assert_allclose(tr.times_s[:3], [0.0, 0.01, 0.02])
    assert tr.times_s[-1] == pytest.approx(0.6)
    a4, b4, c4 = hz([69, 71, 60])

    def at(t):
        return sorted(tr.frequencies_hz[int(round(t / 0.01))])

    np.testing.assert_allclose(at(0.05), [a4])                 # drum/kick notes never appear
    np.testing.assert_allclose(at(0.15), sorted([a4, c4]))
    np.testing.assert_allclose(at(0.25), sorted([b4, c4]))     # half-open: A4 ended at 0.25
    np.testing.assert_allclose(at(0.30), [b4])                 # piano note ended at 0.30
    assert at(0.5) == [] and at(0.55) == []
    assert "kick.mid (percussion file name)" in tr.meta["skipped"]
    assert "piano.mid:drums (drum channel 10)" in tr.meta["skipped"]


def test_trios_malformed(trios_root, tmp_path):
    d = trios_root / "TRIOS" / "mozart"
    for m in d.glob("*.mid"):
        m.unlink()
    with pytest.raises(DatasetMalformed, match="instrument>.mid"):
        load_trios(trios_root)
    (d / "violin.mid").write_bytes(b"garbage")
    with pytest.raises(DatasetMalformed, match=r"cannot read MIDI file .*violin\.mid"):
        load_trios(trios_root)[0]
    (tmp_path / "t2" / "TRIOS" / "brahms").mkdir(parents=True)
    with pytest.raises(DatasetMalformed, match="mix.wav"):
        load_trios(tmp_path / "t2")


# --------------------------------------------------------------------------- GuitarSet
def test_guitarset_merges_six_strings(guitarset_root):
    root, contours = guitarset_root
    tracks = load_guitarset(root)
    assert tracks.names == ["00_BN1-129-Eb_comp", "00_BN1-129-Eb_solo"]
    hop = 256 / 44100
    for tr in tracks:  # list layout and column layout give the same result
        np.testing.assert_allclose(tr.times_s[:4], hop * np.arange(4))
        assert len(tr.times_s) == int(np.ceil(0.1 / hop)) + 1
        exp = {2: [82.41], 3: [82.41, 329.63], 4: [82.41, 110.0], 5: [82.41, 110.0], 6: [110.0],
               7: [110.0], 8: []}  # frame 8: unvoiced; frequency 0 on string 5 dropped
        for k, e in exp.items():
            np.testing.assert_allclose(tr.frequencies_hz[k], e)
        assert tr.frequencies_hz[0].size == 0


def test_guitarset_bad_jams(guitarset_root):
    root, _ = guitarset_root
    p = root / "GuitarSet" / "annotation" / "00_BN1-129-Eb_comp.jams"
    p.write_text("{not json")
    with pytest.raises(ValueError, match=r"cannot read JAMS file .*00_BN1-129-Eb_comp\.jams"):
        load_guitarset(root)[0]
    p.write_text(json.dumps({"annotations": [], "file_metadata": {"duration": 1.0}}))
    with pytest.raises(ValueError, match="no 'pitch_contour'"):
        load_guitarset(root)[0]
    (root / "GuitarSet" / "audio_mono-mic" / "00_BN1-129-Eb_solo_mic.wav").unlink()
    with pytest.raises(DatasetMalformed, match="_solo_mic.wav"):
        load_guitarset(root)


# --------------------------------------------------------------------------- NSynth
def test_nsynth_records_filter_and_audio(nsynth_root):
    root, entries = nsynth_root
    notes = load_nsynth("valid", root)
    assert [n.note_str for n in notes] == ["flute_acoustic_027-081-127", "keyboard_acoustic_004-060-100"]
    n = notes[1]
    assert (n.pitch, n.velocity, n.instrument, n.instrument_family_str, n.sample_rate) == \
        (60, 100, 4, "keyboard", 16000)
    assert n.qualities_str == ("bright",) and n.frequency_hz == pytest.approx(261.6256, rel=1e-6)
    x = n.load_audio()
    assert x.shape == (64000,) and x.dtype == np.float32
    assert n.load_audio(8000).shape == (32000,)
    assert len(load_nsynth("valid", root, midi_range=None)) == 3
    assert [m.note_str for m in load_nsynth("valid", root, families=["flute"])] == \
        ["flute_acoustic_027-081-127"]


def test_nsynth_missing_split_and_bad_json(nsynth_root):
    root, _ = nsynth_root
    with pytest.raises(DatasetNotFound, match=r"nsynth-train.*examples\.json"):
        load_nsynth("train", root)
    with pytest.raises(ValueError, match="split must be one of"):
        load_nsynth("dev", root)
    (root / "NSynth" / "nsynth-valid" / "examples.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_nsynth("valid", root)


# --------------------------------------------------------------------------- registry-free mapping
def test_eval_datasets_mapping(bach10_root):
    assert set(EVAL_DATASETS) == {"bach10", "urmp", "su", "trios", "guitarset", "chorales-synth"}
    root, _ = bach10_root
    assert len(EVAL_DATASETS["bach10"](root)) == 2
    with pytest.raises(ValueError, match="did you mean 'bach10'"):
        get_eval_loader("bach1")
