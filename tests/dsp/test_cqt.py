"""CQT at paper 000's settings: the cropped evaluation equals nnAudio's CQT1992v2, physics of a pure tone."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sotbench.dsp.cqt import CQT, cqt_frequencies


@pytest.fixture(scope="module")
def cqts():
    return CQT(implementation="cropped"), CQT(implementation="nnaudio-1992v2")


def test_frequencies_match_paper():
    f = cqt_frequencies()
    assert f.shape == (285,)
    assert f[0] == pytest.approx(32.7)
    assert f[36] == pytest.approx(65.4)
    assert f[-1] == pytest.approx(32.7 * 2 ** (284 / 36))
    assert f[-1] < 8000


@pytest.mark.parametrize("length", [4095, 4096, 1000, 9000])
def test_cropped_equals_nnaudio_1992v2(cqts, length):
    cropped, reference = cqts
    x = torch.randn(3, length, generator=torch.Generator().manual_seed(length))
    a, b = cropped(x), reference(x)
    assert a.shape == b.shape == (3, 285, length // 256 + 1)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-5 * float(b.abs().max()))


def test_paper_clip_gives_16_frames(cqts):
    x = torch.zeros(2, 4095)
    assert cqts[0](x).shape == (2, 285, 16)
    assert cqts[0].n_frames(4095) == 16


def test_pure_tone_peaks_at_its_bin(cqts):
    sr = 16000
    for k in (20, 100, 200, 280):
        f = cqt_frequencies()[k]
        n = np.arange(4095)
        x = torch.tensor(np.sin(2 * np.pi * f * n / sr), dtype=torch.float32)[None]
        spec = cqts[0](x)[0]
        assert int(spec[:, 6:10].mean(1).argmax()) == k


def test_one_dimensional_input(cqts):
    x = torch.randn(4095)
    assert torch.equal(cqts[0](x), cqts[0](x[None])[0])


def test_kernels_are_not_in_state_dict_and_follow_device(cqts):
    cqt = cqts[0]
    assert len(cqt.state_dict()) == 0
    moved = cqt.to(torch.float32).to("cpu")
    assert all(b.device.type == "cpu" for b in moved.buffers())


def test_2010v2_is_available_but_differs_in_the_low_octaves():
    fast, reference = CQT(implementation="nnaudio-2010v2"), CQT(implementation="nnaudio-1992v2")
    x = torch.randn(2, 4095, generator=torch.Generator().manual_seed(0))
    a, b = fast(x), reference(x)
    assert a.shape == b.shape
    low = (a[:, :36] - b[:, :36]).norm() / b[:, :36].norm()
    assert low > 0.05  # documented: not the authors' transform


def test_bad_settings():
    with pytest.raises(ValueError, match="Nyquist"):
        CQT(n_bins=300)
    with pytest.raises(ValueError, match="implementation"):
        CQT(implementation="fast")
    with pytest.raises(ValueError, match="hop_length"):
        CQT(hop_length=0)
    with pytest.raises(ValueError, match="shape"):
        CQT()(torch.zeros(1, 1, 100))
