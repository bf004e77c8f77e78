"""SOT on mel and CQT spectra (positions from the transform); sot-loss's CQT loss as oracle."""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import ot
import pytest
import torch

from sotbench.losses.transform_sot import CQTSOTLoss, MelSOTLoss, TransformSOTLoss, mel_filterbank

pytestmark = pytest.mark.usefixtures("one_thread")
needs_sot = pytest.mark.skipif(importlib.util.find_spec("sot") is None,
                               reason="sot-loss not installed (bash scripts/install-peers.sh)")
SR = 16000


def tone(f, n=4096, dtype=torch.float32, phase=0.0):
    t = torch.arange(n, dtype=torch.float64) / SR
    return torch.sin(2 * math.pi * f * t + phase)[None].to(dtype)


def test_mel_filterbank_is_htk_unnormalized():
    """Triangles peaking at 1 on the HTK mel scale (torchaudio's MelSpectrogram defaults)."""
    w, centres = mel_filterbank(SR, 1024, 40)
    assert w.shape == (40, 513) and centres.shape == (40,)
    mel = 2595 * np.log10(1 + centres / 700)
    np.testing.assert_allclose(np.diff(mel), np.diff(mel)[0], rtol=1e-9)  # uniform in HTK mel
    assert w.max() <= 1 + 1e-12 and w.min() >= 0
    bins = np.fft.rfftfreq(1024, 1 / SR)
    peak = bins[w.argmax(1)]
    assert np.all(np.abs(peak - centres) <= SR / 1024)  # each triangle peaks at its centre


def test_mel_sot_equals_pot_on_mel_spectra():
    loss = MelSOTLoss(SR, 1024, 256, n_mels=64, cutoff=False)
    pred, target = tone(440.0, dtype=torch.float64), tone(520.0, dtype=torch.float64)
    sp, st = loss.spectra(pred)[0], loss.spectra(target)[0]
    x = torch.linspace(0, 1, 64, dtype=torch.float64)
    xx = x[:, None].expand(-1, sp.shape[0])
    ref = ot.wasserstein_1d(xx, xx, (sp / sp.sum(-1, keepdim=True)).T,
                            (st / st.sum(-1, keepdim=True)).T, p=2)
    torch.testing.assert_close(loss.frame_losses(pred, target)[0], ref, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("positions", ["hz", "log"])
def test_cqt_positions_follow_the_transform(positions):
    loss = CQTSOTLoss(positions=positions)
    f = loss.frequencies_hz
    if positions == "hz":  # sot-loss's "normalized": (f - fmin) / (fmax - fmin)
        np.testing.assert_allclose(loss.positions.numpy(), (f - f[0]) / (f[-1] - f[0]), rtol=1e-12)
    else:  # uniform in bin index = log frequency
        np.testing.assert_allclose(loss.positions.numpy(), np.linspace(0, 1, len(f)), atol=1e-15)


def test_cqt_log_positions_make_a_semitone_cost_the_same_everywhere():
    """One semitone up at 110 Hz and at 1760 Hz: about the same cost with log positions
    (3 of 284 bin steps), 16x apart with Hz positions (the Hz gap is 16x).  The CQT's
    leakage (main lobes of a few bins, partial kernels in the edge frames) moves each
    cost by up to ~20 %, far from the factor 16 that separates the two cases."""
    costs = {}
    for positions in ("hz", "log"):
        loss = CQTSOTLoss(positions=positions, cutoff=False, p=1.0)
        costs[positions] = [float(loss(tone(f * 2 ** (1 / 12), n=16384), tone(f, n=16384)))
                            for f in (110.0, 1760.0)]
    lo, hi = costs["log"]
    assert lo == pytest.approx(3 / 284, rel=0.2) and 0.75 < hi / lo < 1.33
    lo, hi = costs["hz"]
    assert 10 < hi / lo < 20


def test_transform_loss_validates():
    with pytest.raises(ValueError, match="positions"):
        TransformSOTLoss(lambda x: x, [])
    with pytest.raises(ValueError, match="cutoff=False"):
        TransformSOTLoss(lambda x: x, [0.0, 1.0], normalize=False)
    with pytest.raises(ValueError, match="positions="):
        MelSOTLoss(positions="bark")
    loss = TransformSOTLoss(lambda x: x.abs()[:, :, None], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="bins"):
        loss(torch.ones(1, 4), torch.ones(1, 4))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision(dtype):
    loss = CQTSOTLoss(n_bins=120)
    out = loss(tone(300.0, dtype=dtype), tone(320.0, dtype=dtype))
    assert out.dtype == dtype and torch.isfinite(out)


@needs_sot
@pytest.mark.parametrize("cutoff", [False, True])
def test_package_cqt_loss_through_transform_sot(cutoff):
    """TransformSOTLoss on the package's own VQT module and bin positions == its cqt loss."""
    from sotbench.losses.peers import import_sot_loss

    sot = import_sot_loss()
    ref_mod = sot.Wasserstein1DLoss(transform="cqt", sample_rate=SR, hop_length=512, fmin=220.0,
                                    n_bins=120, bins_per_semitone=3, p=2, eps=0.0,
                                    balanced=not cutoff, quantile_lowpass=cutoff)
    pred = tone(330.0, n=16384) + 0.3 * tone(990.0, n=16384)
    target = tone(300.0, n=16384) + 0.3 * tone(900.0, n=16384)
    ref = ref_mod(target, pred)
    ours = TransformSOTLoss(ref_mod.transform_module, ref_mod.bin_positions.double(),
                            cutoff=cutoff, silence_threshold=0.0)(pred, target)
    # float32 spectra: rounding of the normalized levels (~1e-7 relative per level, over
    # 120 bins); the cutoff's straddling-interval difference is below that here
    torch.testing.assert_close(ours, ref, rtol=120 * 2 * 1.2e-7 * 10, atol=0)
