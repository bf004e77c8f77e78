"""The Bach10 loader on the real dataset (skipped with a reason where it is absent)."""
from __future__ import annotations

import numpy as np
import pytest

from sotbench.data import load_bach10
from sotbench.data.roots import DatasetNotFound, dataset_dir


@pytest.fixture(scope="module")
def bach10_dir():
    try:
        d = dataset_dir("bach10")
    except DatasetNotFound as exc:
        pytest.skip(f"real Bach10 not available (set SOTBENCH_DATA_ROOT or SOTBENCH_BACH10_DIR): {exc}")
    if len([p for p in d.iterdir() if p.is_dir()]) < 10:
        pytest.skip(f"real Bach10 at {d} is incomplete (fewer than 10 track folders)")
    return d


def _pitch_score(audio, sr, times, freqs, shift_semitones=0.0, time_shift_s=0.0):
    """Mean over voiced frames of the log-magnitude at the labelled pitches above the frame median."""
    n_fft = 4096
    pad = np.pad(audio.astype(np.float64), n_fft // 2)
    bins = np.fft.rfftfreq(n_fft, 1 / sr)
    win = np.hanning(n_fft)
    scores = []
    for k in range(0, len(times), 7):
        f = freqs[k]
        if not len(f):
            continue
        c = int(round((times[k] + time_shift_s) * sr))
        if c < 0 or c + n_fft > len(pad):
            continue
        mag = np.log(np.abs(np.fft.rfft(pad[c:c + n_fft] * win)) + 1e-9)
        ref = np.median(mag)
        for hz in np.asarray(f) * 2 ** (shift_semitones / 12):
            # within half a semitone (at least the nearest bin)
            sel = np.abs(bins - hz) <= max(hz * (2 ** (0.5 / 12) - 1), sr / n_fft / 2)
            scores.append(mag[sel].max() - ref)
    return float(np.mean(scores))


# 04-ChristeDuBeistand and 08-FuerDeinenThron have short flat tops at full scale (42 and 9 samples):
# the loader rightly warns about them.
@pytest.mark.filterwarnings("ignore:.*audio looks clipped")
def test_all_ten_tracks_load_with_exact_frames_and_hz(bach10_dir):
    import scipy.io
    from mir_eval.util import midi_to_hz

    tracks = load_bach10(bach10_dir)
    assert len(tracks) == 10
    assert [n[:3] for n in tracks.names] == [f"{i:02d}-" for i in range(1, 11)]
    for track in tracks:
        assert track.sample_rate == 44100 and track.audio.dtype == np.float32 and track.audio.ndim == 1
        assert 25.0 <= track.duration_s <= 42.5
        gt = scipy.io.loadmat(str(bach10_dir / track.name / f"{track.name}-GTF0s.mat"))["GTF0s"]
        assert gt.shape[0] == 4 and len(track.times_s) == gt.shape[1]
        np.testing.assert_allclose(track.times_s, 0.023 + 0.010 * np.arange(gt.shape[1]), rtol=0, atol=1e-9)
        assert abs(track.times_s[-1] - track.duration_s) < 0.1  # annotation covers the audio
        for k in range(0, gt.shape[1], 13):
            col = gt[:, k]
            np.testing.assert_allclose(track.frequencies_hz[k], midi_to_hz(col[col > 0]), rtol=1e-12)
        assert max(len(f) for f in track.frequencies_hz) <= 4
        allf = np.concatenate([f for f in track.frequencies_hz if len(f)])
        assert allf.min() > 60 and allf.max() < 1400  # bassoon .. violin range in Hz


def test_ground_truth_agrees_with_the_audio(bach10_dir):
    track = load_bach10(bach10_dir, tracks=["01"])[0]
    true = _pitch_score(track.audio, track.sample_rate, track.times_s, track.frequencies_hz)
    wrong_pitch = _pitch_score(track.audio, track.sample_rate, track.times_s, track.frequencies_hz, 6.0)
    wrong_time = _pitch_score(track.audio, track.sample_rate, track.times_s, track.frequencies_hz,
                              time_shift_s=0.5)
    assert true > wrong_pitch + 1.0 and true > wrong_time + 0.3, (true, wrong_pitch, wrong_time)
