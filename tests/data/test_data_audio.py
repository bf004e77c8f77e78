"""Audio loading policy: mono mixing, exact resampling, NaN refusal, clipping / silence warnings."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sotbench.data.audio import load_audio, resample, to_mono, validate_audio


def _peak_hz(x, sr):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)]


def test_stereo_is_averaged_with_warning(tmp_path):
    left = np.full(1000, 0.5, np.float32)
    right = np.full(1000, -0.1, np.float32)
    sf.write(tmp_path / "st.wav", np.c_[left, right], 8000, subtype="FLOAT")
    with pytest.warns(UserWarning, match="2 channels averaged to mono"):
        x, sr = load_audio(tmp_path / "st.wav")
    assert sr == 8000 and x.dtype == np.float32 and x.shape == (1000,)
    np.testing.assert_allclose(x, 0.2, atol=1e-7)


def test_single_channel_2d_is_not_warned():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert to_mono(np.zeros((10, 1))).shape == (10,)


def test_other_sample_rate_is_resampled_exactly(tmp_path, make_tone):
    x = make_tone(1000.0, 1.0, 48000)
    sf.write(tmp_path / "a.wav", x, 48000, subtype="FLOAT")
    y, sr = load_audio(tmp_path / "a.wav", 22050)
    assert sr == 22050 and len(y) == 22050  # ceil(48000 * 147 / 320)
    assert abs(_peak_hz(y, sr) - 1000.0) < 1.5
    # a rate pair without a small ratio is still exact: 44100 -> 16000 = 160/441
    z = resample(make_tone(440.0, 0.5, 44100), 44100, 16000)
    assert len(z) == 8000 and abs(_peak_hz(z, 16000) - 440.0) < 2.5
    # amplitude is preserved in the pass band
    assert abs(np.abs(y[1000:-1000]).max() - 0.2) < 0.01


def test_resample_rejects_bad_rates():
    with pytest.raises(ValueError, match="positive integer"):
        resample(np.zeros(10), 44100.5, 16000)
    with pytest.raises(ValueError, match="positive integer"):
        resample(np.zeros(10), 0, 16000)


def test_nan_audio_is_refused(tmp_path):
    x = np.zeros(100, np.float32)
    x[17] = np.nan
    sf.write(tmp_path / "nan.wav", x, 8000, subtype="FLOAT")
    with pytest.raises(ValueError, match=r"NaN/Inf.*sample 17"):
        load_audio(tmp_path / "nan.wav")
    with pytest.raises(ValueError, match="NaN/Inf"):
        validate_audio(np.array([0.0, np.inf]))


def test_silence_and_clipping_warn(tmp_path):
    sf.write(tmp_path / "silent.wav", np.zeros(800, np.float32), 8000)
    with pytest.warns(UserWarning, match="silent"):
        load_audio(tmp_path / "silent.wav")
    clipped = np.clip(3 * np.sin(np.linspace(0, 20, 800)), -1, 1).astype(np.float32)
    sf.write(tmp_path / "clip.wav", clipped, 8000, subtype="FLOAT")
    with pytest.warns(UserWarning, match="clipped"):
        load_audio(tmp_path / "clip.wav")
    # isolated full-scale samples are the peaks of a normalised file, not clipping
    import warnings

    peaky = (0.5 * np.sin(np.linspace(0, 20, 800))).astype(np.float32)
    peaky[[100, 400]] = [1.0, -1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_audio(peaky)
    peaky[401:403] = -1.0  # three in a row: a flat top
    with pytest.warns(UserWarning, match="longest 3 samples"):
        validate_audio(peaky)


def test_empty_missing_and_bad_shape(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 8000)
    with pytest.raises(ValueError, match="no samples"):
        load_audio(tmp_path / "empty.wav")
    with pytest.raises(ValueError, match="does not exist"):
        load_audio(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not a wav file")
    with pytest.raises(ValueError, match="cannot read audio"):
        load_audio(tmp_path / "junk.wav")
    with pytest.raises(ValueError, match="mono"):
        validate_audio(np.zeros((2, 10)))


def test_validate_audio_refuses_non_real_input_and_bool_rates():
    with pytest.raises(ValueError, match="real numbers, got dtype complex"):
        validate_audio(np.ones(10, dtype=np.complex64))
    with pytest.raises(ValueError, match="real numbers, got dtype <U"):
        validate_audio(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="positive integer number of Hz, got True"):
        validate_audio(np.ones(10, np.float32), True)
    np.testing.assert_array_equal(validate_audio(np.array([0, 1, -1], dtype=np.int16), warn=False),
                                  [0.0, 1.0, -1.0])


def test_empty_and_garbage_files_name_the_file(tmp_path):
    from sotbench.data.audio import audio_info

    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for fn in (audio_info, load_audio):
        with pytest.raises(ValueError, match=r"empty\.wav' is empty \(0 bytes\)"):
            fn(empty)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    for fn in (audio_info, load_audio):
        with pytest.raises(ValueError, match=r"cannot read audio file .*bad\.wav"):
            fn(bad)
    sf.write(str(tmp_path / "ok.wav"), np.zeros(4410, np.float32), 44100)
    info = audio_info(tmp_path / "ok.wav")
    assert (info.n_samples, info.sample_rate, info.channels) == (4410, 44100, 1)
    assert info.duration_s == pytest.approx(0.1)
