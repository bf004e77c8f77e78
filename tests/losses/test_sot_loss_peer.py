"""The ``sot-loss-*`` registry losses wrapping the authors' package, and its absence."""
from __future__ import annotations

import importlib.util

import pytest
import torch

from sotbench.losses import peers
from sotbench.registry import LOSSES

HAVE_SOT = importlib.util.find_spec("sot") is not None
needs_sot = pytest.mark.skipif(not HAVE_SOT, reason="sot-loss not installed "
                               "(bash scripts/install-peers.sh)")
pytestmark = pytest.mark.usefixtures("one_thread")


def _absent(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(peers.importlib.util, "find_spec",
                        lambda name, *a: None if name == "sot" else real(name, *a))
    monkeypatch.delitem(peers.sys.modules, "sot.losses", raising=False)


@pytest.mark.parametrize("name", sorted(peers.PEER_LOSSES))
def test_absent_package_raises_with_install_command(monkeypatch, name):
    _absent(monkeypatch)
    with pytest.raises(peers.LossUnavailable, match="bash scripts/install-peers.sh"):
        LOSSES.get(name)()
    ok, why = LOSSES.entry(name).meta["available"]()
    assert not ok and "install-peers.sh" in why


def test_ls_reports_absent_package(monkeypatch, capsys):
    from sotbench.cli import main

    _absent(monkeypatch)
    assert main(["ls"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "sot-loss-2048" in ln)
    assert "unavailable" in line and "install-peers.sh" in line


@needs_sot
def test_import_leaves_no_torchaudio_stand_in():
    import sys

    peers.import_sot_loss()
    ta = sys.modules.get("torchaudio")
    assert ta is None or not getattr(ta, "__sotbench_stand_in__", False)


@needs_sot
@pytest.mark.parametrize("name", sorted(peers.PEER_LOSSES))
def test_peer_is_a_signal_loss_and_matches_the_package(name):
    sot = peers.import_sot_loss()
    loss = LOSSES.get(name)()
    g = torch.Generator().manual_seed(0)
    t = torch.arange(4096) / 16000
    target = torch.sin(2 * torch.pi * 440 * t).expand(2, -1) + 0.01 * torch.randn(2, 4096, generator=g)
    pred = (torch.sin(2 * torch.pi * 470 * t).expand(2, -1)
            + 0.01 * torch.randn(2, 4096, generator=g)).requires_grad_()
    value = loss(pred, target)
    assert value.shape == () and torch.isfinite(value)
    value.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    # the SOT term is the package's own number, called with the target first
    kw = peers.PEER_LOSSES[name][0]
    cut = kw.get("cutoff", True)
    ref = sot.Wasserstein1DLoss(transform="stft", fft_size=kw["n_fft"], hop_length=256,
                                window="flattop", square_magnitude=True, balanced=not cut,
                                quantile_lowpass=cut, p=2)(target, pred.detach())
    torch.testing.assert_close(loss.losses["sot"](pred.detach(), target), ref, rtol=0, atol=0)


@needs_sot
def test_peer_overrides_are_checked():
    with pytest.raises(ValueError, match="unknown override"):
        LOSSES.get("sot-loss-2048")(n_mels=3)
    loss = LOSSES.get("sot-loss-2048")(n_fft=512, mss_weight=0)
    assert list(loss.losses) == ["sot"]
    assert loss.losses["sot"].settings["n_fft"] == 512
