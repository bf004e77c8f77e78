"""Loss input rules (issue 10): low-precision dtypes, empty batches, term weights, silence threshold."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sotbench.losses import MSSLoss, SOTLoss, wasserstein_1d
from sotbench.losses.configs import WeightedSum
from sotbench.registry import LOSSES

pytestmark = pytest.mark.usefixtures("one_thread")
LOW = [torch.float16, torch.bfloat16]


def _signals(batch=2, n=2048, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n) / 16000
    f = 200 + 600 * torch.rand(batch, 1, generator=g)
    return 0.5 * torch.sin(2 * math.pi * f * t) + 0.01 * torch.randn(batch, n, generator=g)


@pytest.mark.parametrize("dtype", LOW)
def test_wasserstein_low_precision_is_float32_math_in_the_input_dtype(dtype):
    g = torch.Generator().manual_seed(1)
    a32 = torch.rand(4, 33, generator=g)
    b32 = torch.rand(4, 33, generator=g)
    a, b = a32.to(dtype).requires_grad_(), b32.to(dtype)
    x = torch.linspace(0, 1, 33)
    out = wasserstein_1d(a, b, x, warn_unequal_mass=False)
    out.sum().backward()
    assert out.dtype == dtype and a.grad.dtype == dtype
    # exactly the float32 computation on the (rounded) inputs, then rounded once
    leaf = a.detach().float().requires_grad_()
    ref = wasserstein_1d(leaf, b.float(), x, warn_unequal_mass=False)
    ref.sum().backward()
    torch.testing.assert_close(out, ref.to(dtype), rtol=0, atol=0)
    torch.testing.assert_close(a.grad, leaf.grad.to(dtype), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("name", ["sot", "mss", "sot-2048"])
def test_losses_low_precision_signals(dtype, name):
    make = {"sot": lambda: SOTLoss(512), "mss": lambda: MSSLoss((512, 128)),
            "sot-2048": lambda: LOSSES.get("sot-2048")(n_fft=512, mss={"scales": (512,)})}[name]
    loss = make()
    pred32, target32 = _signals(seed=1), _signals(seed=2)
    pred = pred32.to(dtype).requires_grad_()
    value = loss(pred, target32.to(dtype))
    value.backward()
    assert value.dtype == dtype and pred.grad.dtype == dtype
    assert torch.isfinite(value) and torch.isfinite(pred.grad.float()).all()
    ref = loss(pred.detach().float(), target32.to(dtype).float())
    torch.testing.assert_close(value, ref.to(dtype), rtol=0, atol=0)


def test_wasserstein_empty_batch_gives_empty_result():
    a = torch.rand(0, 5, requires_grad=True)
    out = wasserstein_1d(a, torch.rand(0, 5), torch.linspace(0, 1, 5))
    assert out.shape == (0,)
    out.sum().backward()
    assert a.grad.shape == (0, 5)


def test_sot_frame_losses_empty_batch_and_scalar_losses_raise():
    assert SOTLoss(512).frame_losses(torch.zeros(0, 2048), torch.zeros(0, 2048)).shape == (0, 7)
    for loss in (SOTLoss(512), MSSLoss((512,)), LOSSES.get("sot-2048")(n_fft=512)):
        with pytest.raises(ValueError, match="empty batch"):
            loss(torch.zeros(0, 4096), torch.zeros(0, 4096))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.5, -math.inf])
def test_bad_term_weights_are_rejected(bad):
    with pytest.raises(ValueError, match="lin_weight"):
        MSSLoss(lin_weight=bad)
    with pytest.raises(ValueError, match="log_weight"):
        MSSLoss(log_weight=bad)
    with pytest.raises(ValueError, match="weight of term"):
        WeightedSum({"a": (bad, MSSLoss())})
    for key in ("mss_weight", "sot_weight"):
        with pytest.raises(ValueError, match="weight of term"):
            LOSSES.get("sot-2048")(**{key: bad})


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), -1.0, np.float32("inf"), "1e-10", True])
def test_silence_threshold_must_be_finite_nonnegative(bad):
    with pytest.raises(ValueError, match="silence_threshold"):
        SOTLoss(512, silence_threshold=bad)


def test_mss_eps_must_be_finite_positive():
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="eps"):
            MSSLoss(eps=bad)
