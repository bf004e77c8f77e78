"""Tests of the HCQT DSP baselines against the HCQT features and targets they are built from."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sotbench.dsp.hcqt import harmonic_sum_target
from sotbench.metrics.multipitch import salience_to_multipitch
from sotbench.models.base import SalienceModel
from sotbench.models.baselines import BASELINES, HCQTBaseline, hcqt_for
from sotbench.registry import MODELS

SR = 22050


def harmonic_tone(f0s, seconds=1.0, sr=SR, n_harm=4):
    n = np.arange(int(seconds * sr))
    x = sum(0.2 / k * np.sin(2 * np.pi * k * f0 * n / sr + k) for f0 in f0s for k in range(1, n_harm + 1))
    return np.asarray(x, dtype=np.float32)


@pytest.fixture(scope="module")
def audio():
    return harmonic_tone([220.0, 330.0], seconds=1.0)


@pytest.fixture(scope="module")
def features(audio):
    with torch.no_grad():
        return hcqt_for()(torch.from_numpy(audio)[None])


def test_registered_with_thresholds():
    for name, (variant, threshold, _) in BASELINES.items():
        entry = MODELS.entry(name)
        assert entry.meta["task"] == "mpe" and entry.meta["trainable"] is False
        model = entry.factory()
        assert isinstance(model, SalienceModel)
        assert model.name == name and model.variant == variant and model.threshold == threshold
    assert [BASELINES[n][1] for n in ("hcqt-h1", "hcqt-h1-log", "hcqt-harmonic-sum",
                                      "hcqt-harmonic-sum-log")] == [0.5, 0.9, 0.3, 0.9]
    assert MODELS.get("hcqt-h1")(threshold=0.7).threshold == 0.7


def test_values_equal_hcqt_features_and_targets(audio, features):
    """Each variant equals its definition on the whole-track HCQT features (chunked = exact)."""
    hcqt = hcqt_for()
    f1 = features[0, 1].numpy()
    floor_mask = f1 > 0
    lin = np.where(floor_mask, 10 ** ((f1 - 1) * 80 / 10), 0.0)  # a_1 ** 2 from the features
    hs_pow = harmonic_sum_target(features, hcqt.harmonics, output="power")[0].numpy()
    hs_db = harmonic_sum_target(features, hcqt.harmonics)[0].numpy()
    expected = {"h1": lin, "h1-log": f1, "harmonic-sum": hs_pow, "harmonic-sum-log": hs_db}
    for variant, ref in expected.items():
        model = HCQTBaseline(variant, chunk_seconds=0.3)  # 4 chunks
        sal = model.salience(audio, SR)
        assert sal.values.shape == (440, 1 + audio.size // 256)
        np.testing.assert_allclose(sal.frequencies_hz, hcqt.frequencies_hz[1].numpy())
        np.testing.assert_allclose(sal.times_s, np.arange(sal.values.shape[1]) * 256 / SR)
        if variant == "harmonic-sum-log":
            # the baseline keeps channel terms below the -80 dB floor that the target zeroes:
            # the two differ visibly only near the floor (documented in baselines.py)
            loud = ref > 0.3
            np.testing.assert_allclose(sal.values[loud], ref[loud], atol=5e-4, rtol=1e-3)
            assert np.abs(sal.values - ref).max() < 0.13
        else:
            np.testing.assert_allclose(sal.values, ref, atol=2e-4, rtol=1e-3, err_msg=variant)
        assert sal.values.min() >= 0 and sal.values.max() <= 1
        assert model.last_stats["audio_s"] == pytest.approx(1.0)


def test_chunking_does_not_change_the_output(audio):
    a = HCQTBaseline("harmonic-sum-log", chunk_seconds=0.25).salience(audio, SR)
    b = HCQTBaseline("harmonic-sum-log", chunk_seconds=30).salience(audio, SR)
    np.testing.assert_allclose(a.values, b.values, atol=5e-4)  # float32 HCQT near the -80 dB floor


def test_finds_the_pitches_of_two_harmonic_tones(audio):
    model = HCQTBaseline("harmonic-sum-log")
    times, est = salience_to_multipitch(model.salience(audio, SR), model.threshold)
    mid = est[len(est) // 2]
    for f0 in (220.0, 330.0):
        assert np.min(np.abs(12 * np.log2(mid / f0))) < 0.25


def test_resamples_other_rates(audio):
    """44.1 kHz input gives the same salience as 22.05 kHz input (up to resampling error)."""
    x44 = harmonic_tone([220.0, 330.0], seconds=1.0, sr=44100)
    model = HCQTBaseline("h1-log")
    a = model.salience(audio, SR).values
    b = model.salience(x44, 44100).values
    assert a.shape == b.shape
    assert np.abs(a - b)[a > 0.5].max() < 0.02


def test_bad_and_odd_input(audio):
    model = HCQTBaseline("h1")
    with pytest.raises(ValueError, match="mono"):
        model.salience(np.stack([audio, audio]), SR)
    with pytest.raises(ValueError, match="NaN"):
        model.salience(np.array([0.0, np.nan], dtype=np.float32), SR)
    with pytest.raises(ValueError, match="variant"):
        HCQTBaseline("h7")
    with pytest.raises(ValueError, match="threshold"):
        HCQTBaseline("h1", threshold=2.0)
    with pytest.warns(UserWarning, match="silent"):
        sal = model.salience(np.zeros(4000, dtype=np.float32), SR)
    assert sal.values.max() == 0.0
