"""Paper 000 synthetic set: determinism, disjoint splits, parameter ranges, physics, bad settings."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sotbench.data.synthetic import SyntheticConfig, make_synthetic_dataset
from sotbench.dsp.synth import harmonic_synth

SMALL = dict(n_examples=60, seed=3)


@pytest.fixture(scope="module")
def small():
    return make_synthetic_dataset(**SMALL)


def test_paper_split_sizes():
    assert SyntheticConfig().split_sizes() == (2800, 800, 400)


def test_same_seed_same_data_other_seed_other_data(small):
    again = make_synthetic_dataset(**SMALL)
    for name in ("train", "val", "test"):
        a, b = small.split(name), again.split(name)
        assert np.array_equal(a.audio, b.audio) and np.array_equal(a.indices, b.indices)
        assert np.array_equal(a.f0_hz, b.f0_hz)
    other = make_synthetic_dataset(n_examples=60, seed=4)
    assert not np.array_equal(other.train.f0_hz, small.train.f0_hz)


def test_splits_are_disjoint_and_cover_everything(small):
    ids = [set(small.split(n).indices.tolist()) for n in ("train", "val", "test")]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert set().union(*ids) == set(range(60))
    assert [len(s) for s in ids] == [42, 12, 6]
    small.check_disjoint()


def test_split_fractions_do_not_change_the_examples(small):
    other = make_synthetic_dataset(n_examples=60, seed=3, split=(0.5, 0.25, 0.25))
    by_id = {}
    for name in ("train", "val", "test"):
        s = small.split(name)
        by_id.update({int(i): s.audio[j] for j, i in enumerate(s.indices)})
    for name in ("train", "val", "test"):
        s = other.split(name)
        for j, i in enumerate(s.indices):
            assert np.array_equal(s.audio[j], by_id[int(i)])


def test_parameters_within_paper_ranges(small):
    for name in ("train", "val", "test"):
        s = small.split(name)
        assert s.audio.dtype == np.float32 and s.audio.shape[1] == 4096
        assert np.all((s.f0_hz >= 40) & (s.f0_hz <= 1950))
        assert np.all((s.n_harmonics >= 1) & (s.n_harmonics <= 8))
        h = np.arange(1, 9)
        active = (h[None] <= s.n_harmonics[:, None]) & (s.f0_hz[:, None] * h[None] < 8000)
        assert np.all(s.amplitudes[~active] == 0)
        assert np.all((s.amplitudes[active] >= 0.4) & (s.amplitudes[active] <= 1.0))
        np.testing.assert_allclose(np.abs(s.audio).max(1), 0.9, rtol=1e-6)


def test_high_f0_drops_partials_above_nyquist():
    ds = make_synthetic_dataset(n_examples=30, seed=1, f0_min_hz=1900, f0_max_hz=1950,
                                min_harmonics=8, max_harmonics=8)
    amps = np.concatenate([ds.split(n).amplitudes for n in ("train", "val", "test")])
    assert np.all(amps[:, :4] > 0) and np.all(amps[:, 4:] == 0)  # 5 * 1900 Hz > 8 kHz


def test_audio_equals_the_synthesizer_with_constant_controls(small):
    s = small.train
    for j in range(3):
        f0 = torch.full((1, 16), float(s.f0_hz[j]), dtype=torch.float64)
        amps = torch.tensor(s.amplitudes[j], dtype=torch.float64).expand(1, 16, 8).clone()
        y = harmonic_synth(f0, amps, 4096, 16000)[0].numpy() * s.gain[j]
        np.testing.assert_allclose(s.audio[j], y, atol=1e-5)


def test_spectrum_peaks_at_f0_harmonics(small):
    s = small.test
    j = int(np.argmax(s.n_harmonics))
    spec = np.abs(np.fft.rfft(s.audio[j] * np.hanning(4096), n=65536))
    freqs = np.fft.rfftfreq(65536, 1 / 16000)
    for h in range(1, s.n_harmonics[j] + 1):
        if s.amplitudes[j, h - 1] > 0:
            band = np.abs(freqs - h * s.f0_hz[j]) < 40
            assert spec[band].max() > 0.1 * spec.max()


@pytest.mark.parametrize("settings, match", [
    (dict(f0_max_hz=8000), "Nyquist"),
    (dict(f0_min_hz=0), "Nyquist"),
    (dict(f0_min_hz=500, f0_max_hz=400), "f0_min_hz <= f0_max_hz"),
    (dict(split=(0.7, 0.2, 0.2)), "sum"),
    (dict(split=(1.2, -0.1, -0.1)), "non-negative"),
    (dict(split=(0.5, 0.5)), "three"),
    (dict(n_examples=2), "n_examples"),
    (dict(n_examples=5, split=(0.9, 0.05, 0.05)), "empty"),
    (dict(min_harmonics=4, max_harmonics=2), "min_harmonics"),
    (dict(amplitude_min=-1), "amplitude"),
    (dict(n_exemples=10), "unknown"),
])
def test_impossible_settings_raise(settings, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic_dataset(**settings)


def test_odd_peak_warns():
    with pytest.warns(UserWarning, match="peak"):
        SyntheticConfig(n_examples=10, peak=1.5)
