"""Named loss configurations of Table 1 (registry entries)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sotbench.losses.configs import CQT_FMAX_HZ, CQT_FMIN_HZ, WeightedSum
from sotbench.losses.mss import MSSLoss
from sotbench.losses.sot import SOTLoss, log_positions
from sotbench.registry import LOSSES

NAMES = ["mss-lin", "mss-loglin", "sot-nocut", "sot-singlescale", "sot-512", "sot-512-ls", "sot-2048"]


def signals(batch=2, seed=0):
    rng = np.random.default_rng(seed)
    t = torch.arange(4096, dtype=torch.float32) / 16000
    f0 = torch.tensor(rng.uniform(100, 900, batch), dtype=torch.float32)
    x = sum(torch.sin(2 * math.pi * h * f0[:, None] * t) / h for h in (1, 2, 3))
    return 0.9 * x / x.abs().amax(-1, keepdim=True)


def test_every_table1_row_is_registered_with_a_description():
    for name in NAMES:
        entry = LOSSES.entry(name)
        assert entry.description and len(entry.description) > 20, name


@pytest.mark.parametrize("name", NAMES)
def test_factory_builds_a_scalar_differentiable_loss(name):
    loss = LOSSES.get(name)()
    assert isinstance(loss, torch.nn.Module)
    pred = signals(seed=1).requires_grad_()
    value = loss(pred, signals(seed=2))
    assert value.shape == () and torch.isfinite(value) and float(value.detach()) > 0
    g, = torch.autograd.grad(value, pred)
    assert torch.isfinite(g).all() and g.abs().sum() > 0


def _terms(loss: WeightedSum):
    return {k: (loss.weights[k], loss.losses[k]) for k in loss.names}


def test_settings_follow_the_papers_code():
    mss_lin = LOSSES.get("mss-lin")()
    assert isinstance(mss_lin, MSSLoss)
    assert mss_lin.scales == (2048, 1024, 512, 256, 128, 64) and mss_lin.overlap == 0.75
    assert (mss_lin.lin_weight, mss_lin.log_weight, mss_lin.window) == (1.0, 0.0, "hann")
    loglin = LOSSES.get("mss-loglin")()
    assert (loglin.lin_weight, loglin.log_weight, loglin.eps) == (1.0, 1.0, 1e-5)

    expected = {  # name: (n_fft, cutoff, positions, mss weight, mss scales)
        "sot-2048": (2048, True, "linear", 0.05, (2048, 1024, 512, 256, 128, 64)),
        "sot-512": (512, True, "linear", 0.05, (2048, 1024, 512, 256, 128, 64)),
        "sot-512-ls": (512, True, "log", 0.05, (2048, 1024, 512, 256, 128, 64)),
        "sot-singlescale": (2048, True, "linear", 0.1, (512,)),
        "sot-nocut": (2048, False, "linear", 0.05, (2048, 1024, 512, 256, 128, 64)),
    }
    for name, (n_fft, cutoff, positions, w_mss, scales) in expected.items():
        terms = _terms(LOSSES.get(name)())
        w_sot, sot = terms["sot"]
        w, mss = terms["mss"]
        assert w_sot == 1.0 and w == w_mss, name
        assert (sot.n_fft, sot.cutoff, sot.positions_mode) == (n_fft, cutoff, positions), name
        assert (sot.window, sot.spectrum, sot.hop_length, sot.p) == ("flattop", "power", 256, 2.0)
        assert (sot.normalized, sot.center, sot.pad_end) == (True, False, True)
        assert (mss.scales, mss.lin_weight, mss.log_weight) == (scales, 1.0, 0.0), name


def test_log_variant_really_uses_log_positions():
    sot = _terms(LOSSES.get("sot-512-ls")())["sot"][1]
    np.testing.assert_allclose(sot.positions.numpy(), log_positions(512, 16000, CQT_FMIN_HZ, CQT_FMAX_HZ))
    assert CQT_FMAX_HZ == pytest.approx(7750.68, abs=0.01)  # 32.7 Hz * 2**(284/36)
    lin = _terms(LOSSES.get("sot-512")())["sot"][1]
    pred, target = signals(seed=3), signals(seed=4)
    assert not torch.isclose(sot(pred, target), lin(pred, target), rtol=1e-2)


def test_mixture_value_is_the_weighted_sum():
    pred, target = signals(seed=5), signals(seed=6)
    mixed = LOSSES.get("sot-2048")()
    sot = SOTLoss(2048, pad_end=True)
    mss = MSSLoss()
    expected = sot(pred, target) + 0.05 * mss(pred, target)
    torch.testing.assert_close(mixed(pred, target), expected)
    parts = mixed.components(pred, target)
    assert set(parts) == {"sot", "mss"}


def test_overrides():
    loss = LOSSES.get("sot-2048")(n_fft=1024, mss_weight=0.0)
    assert _terms(loss)["sot"][1].n_fft == 1024 and "mss" not in loss.names
    loss = LOSSES.get("sot-512")(mss={"scales": (256,)}, sot_weight=2.0)
    assert _terms(loss)["mss"][1].scales == (256,) and loss.weights["sot"] == 2.0
    assert LOSSES.get("mss-lin")(scales=(64,)).scales == (64,)
    with pytest.raises(ValueError, match="unknown override"):
        LOSSES.get("sot-2048")(nfft=1024)
    with pytest.raises(ValueError, match="unknown MSSLoss override"):
        LOSSES.get("mss-lin")(n_fft=64)


def test_unknown_name_suggests():
    with pytest.raises(ValueError, match="sot-2048"):
        LOSSES.get("sot2048")
