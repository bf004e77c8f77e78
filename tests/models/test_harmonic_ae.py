"""harmonic-ae (paper 000): parameter count, shapes, pitch mapping, Toeplitz head, registry."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sotbench.dsp.cqt import cqt_frequencies
from sotbench.models.harmonic_ae import (
    FFT_BLOCK_FRAMES,
    PAPER_N_PARAMETERS,
    ExpSigmoid,
    HarmonicAutoencoder,
    ToeplitzLinear,
    conv1d_fft,
    count_parameters,
)
from sotbench.registry import MODELS

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return HarmonicAutoencoder()


def tone(f0, n=4096, sr=16000, harmonics=(1.0, 0.5)):
    t = np.arange(1, n + 1) / sr
    x = sum(a * np.sin(2 * np.pi * (h + 1) * f0 * t) for h, a in enumerate(harmonics))
    return torch.tensor(0.9 * x / np.abs(x).max(), dtype=torch.float32)


def test_parameter_count_is_the_papers(model):
    assert count_parameters(model) == PAPER_N_PARAMETERS == 46_012
    by_module = {name: sum(p.numel() for p in m.parameters())
                 for name, m in model.encoder.named_children()}
    assert by_module["layernorm"] == 570
    assert by_module["prefilter"] == 40 * 15 + 40
    assert by_module["residual"] == 40 * 40 * 15 + 40
    assert by_module["pitch_head"] == 855 + 285 - 1
    assert by_module["amplitude_head"] == 855 * 20 + 20
    assert model.encoder.body[6].p == 0.5  # Dropout(0.5) before the last 1x1 conv


def test_state_dict_holds_parameters_only(model):
    assert sum(v.numel() for v in model.state_dict().values()) == 46_012


def test_forward_shapes_and_ranges(model):
    model.eval()
    x = torch.stack([tone(220.0), tone(1000.0), tone(55.0)])
    out = model(x)
    assert out.f0_hz.shape == (3, 16)
    assert out.amplitudes.shape == (3, 16, 20)
    assert out.audio.shape == (3, 4096)
    assert out.pitch_probabilities.shape == (3, 16, 285)
    assert torch.allclose(out.pitch_probabilities.sum(-1), torch.ones(3, 16))
    f = cqt_frequencies()
    assert (out.f0_hz >= f[0] - 1e-3).all() and (out.f0_hz <= f[-1] + 1e-2).all()
    assert (out.amplitudes > 0).all() and (out.amplitudes <= 2 + 1e-6).all()
    assert torch.isfinite(out.audio).all()


def test_soft_argmax_maps_positions_to_cqt_bins(model):
    f = cqt_frequencies()
    for k in (0, 1, 100, 284):
        hz = model.unit_to_hz(torch.tensor(k / 284, dtype=torch.float64)).item()
        assert hz == pytest.approx(f[k], rel=1e-9)
    # a one-hot distribution at bin k gives exactly bin k's frequency
    probs = torch.zeros(285)
    probs[150] = 1
    assert model.unit_to_hz(probs @ model.positions).item() == pytest.approx(f[150], rel=1e-5)


def test_features_are_the_cqt_of_x_without_its_last_sample(model):
    x = torch.randn(2, 4096)
    feats = model.features(x)
    assert feats.shape == (2, 16, 285)
    assert torch.equal(feats, model.cqt(x[:, :-1]).transpose(1, 2))
    model.eval()
    a, b = model(x), model(x, features=feats)
    assert torch.equal(a.audio, b.audio)


def test_cqt_implementations_agree():
    torch.manual_seed(0)
    a = HarmonicAutoencoder()
    torch.manual_seed(0)
    b = HarmonicAutoencoder(cqt_implementation="nnaudio-1992v2")
    x = torch.randn(2, 4096)
    assert torch.allclose(a.features(x), b.features(x), rtol=1e-4, atol=1e-6)


def test_toeplitz_matmul_equals_its_convolution_and_is_shift_equivariant():
    torch.manual_seed(0)
    layer = ToeplitzLinear(855, 285)
    x = torch.randn(5, 855)
    assert torch.allclose(layer(x), layer.forward_conv(x), atol=1e-5)
    # shifting the input by s shifts the output by s (away from the borders)
    small = ToeplitzLinear(40, 40)
    v = torch.zeros(1, 40)
    v[0, 10] = 1.0
    shifted = torch.roll(v, 5, dims=1)
    assert torch.allclose(torch.roll(small(v), 5, dims=1)[0, 5:], small(shifted)[0, 5:], atol=1e-6)


def test_backward_is_bitwise_reproducible_with_two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        torch.manual_seed(3)
        model = HarmonicAutoencoder().eval()
        x = torch.stack([tone(300.0), tone(1200.0)])
        grads = []
        for _ in range(3):
            model.zero_grad()
            (model(x).audio - x).abs().mean().backward()
            grads.append([p.grad.clone() for p in model.parameters()])
        assert all(torch.equal(a, b) for g in grads[1:] for a, b in zip(grads[0], g))
    finally:
        torch.set_num_threads(threads)


def test_exp_sigmoid():
    act = ExpSigmoid()
    assert act(torch.tensor(0.0)).item() == pytest.approx(2 * 0.5 ** math.log(10) + 1e-7)
    assert act(torch.tensor(-100.0)).item() == pytest.approx(1e-7)
    assert act(torch.tensor(100.0)).item() == pytest.approx(2.0)


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(1)
    model = HarmonicAutoencoder().train()
    x = torch.stack([tone(300.0), tone(700.0)])
    out = model(x)
    (out.audio - x).abs().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_eval_mode_is_deterministic_and_train_mode_uses_dropout():
    torch.manual_seed(2)
    model = HarmonicAutoencoder()
    x = torch.stack([tone(300.0)])
    model.eval()
    assert torch.equal(model(x).f0_hz, model(x).f0_hz)
    model.train()
    assert not torch.equal(model(x).amplitudes, model(x).amplitudes)


def test_bad_input(model):
    with pytest.raises(ValueError, match="multiple"):
        model(torch.zeros(1, 4000))
    with pytest.raises(ValueError, match=r"\(B, N\)"):
        model(torch.zeros(4096))
    with pytest.raises(ValueError, match="features"):
        model(torch.zeros(2, 4096), features=torch.zeros(2, 15, 285))
    with pytest.raises(ValueError, match="temperature"):
        HarmonicAutoencoder(temperature=0)


def test_registered_for_synth_ae():
    entry = MODELS.entry("harmonic-ae")
    assert entry.meta["task"] == "synth-ae"
    assert isinstance(entry.factory(), HarmonicAutoencoder)
    with pytest.raises(ValueError, match="temperature"):
        entry.factory(temprature=0.2)


def test_conv1d_fft_equals_conv1d_values_and_gradients():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 40, 285, generator=g, dtype=torch.float64, requires_grad=True)
    w = (0.1 * torch.randn(40, 40, 15, generator=g, dtype=torch.float64)).requires_grad_()
    b = torch.randn(40, generator=g, dtype=torch.float64, requires_grad=True)
    out = torch.randn(6, 40, 285, generator=g, dtype=torch.float64)
    ref = torch.nn.functional.conv1d(x, w, b, padding=7)
    new = conv1d_fft(x, w, b)
    # float64: both are the same sums in another order (FFT rounding ~ 1e-16 * log n)
    assert torch.allclose(new, ref, rtol=0, atol=1e-12 * float(ref.detach().abs().max()))
    grads_ref = torch.autograd.grad((ref * out).sum(), (x, w, b))
    grads_new = torch.autograd.grad((new * out).sum(), (x, w, b))
    for a, c in zip(grads_new, grads_ref):
        assert torch.allclose(a, c, rtol=0, atol=1e-12 * float(c.abs().max()))
    with pytest.raises(ValueError, match="odd"):
        conv1d_fft(x, w[..., :14])


@pytest.mark.parametrize("impl", ["fft", "fft-residual"])
def test_fft_encoder_equals_direct_encoder_forward_and_gradients(impl):
    # the speed-up is an exact reformulation: same parameters, same outputs and gradients up to
    # rounding.  Compared in float64 (dropout off so both see the same network): in float32 the
    # encoder's ~1e-7 relative f0 rounding is amplified by the synthesizer's phase (2 pi h n df / sr
    # after n samples), which would hide a real difference behind a loose tolerance.
    torch.manual_seed(3)
    direct = HarmonicAutoencoder(conv_impl="direct", dropout=0.0)
    fft = HarmonicAutoencoder(conv_impl=impl, dropout=0.0)
    fft.load_state_dict(direct.state_dict())
    t = torch.arange(4096) / 16000.0
    x = torch.stack([0.5 * torch.sin(2 * math.pi * f * t) + 0.2 * torch.sin(4 * math.pi * f * t)
                     for f in (110.0, 440.0, 1000.0, 73.0, 1700.0)])
    feats = direct.features(x).double()
    assert feats.shape[0] * feats.shape[1] > FFT_BLOCK_FRAMES  # several blocks, the last one partial
    outs = []
    for model in (direct.double(), fft.double()):
        out = model(x.double(), features=feats)
        loss = (out.audio - x.double()).pow(2).mean() + out.f0_hz.log().mean()
        model.zero_grad()
        loss.backward()
        outs.append((out, {k: p.grad.clone() for k, p in model.named_parameters()}))
    (a, ga), (b, gb) = outs
    for u, v in ((a.f0_hz, b.f0_hz), (a.audio, b.audio), (a.amplitudes, b.amplitudes)):
        assert torch.allclose(u, v, rtol=0, atol=1e-9 * float(u.detach().abs().max()))
    for name in ga:
        scale = float(ga[name].abs().max())
        assert torch.allclose(ga[name], gb[name], rtol=0, atol=1e-9 * scale + 1e-15), name


def test_fft_encoder_float32_logits_match_direct():
    # float32, as trained: the encoder outputs agree to float32 rounding
    torch.manual_seed(4)
    direct = HarmonicAutoencoder(conv_impl="direct").eval()
    fft = HarmonicAutoencoder(conv_impl="fft").eval()
    fft.load_state_dict(direct.state_dict())
    frames = torch.rand(32, 285)
    (la, aa), (lb, ab) = direct.encoder(frames), fft.encoder(frames)
    assert torch.allclose(la, lb, rtol=0, atol=1e-5 * float(la.detach().abs().max()))
    assert torch.allclose(aa, ab, rtol=1e-5, atol=1e-7)


def test_conv_impl_setting_is_validated():
    with pytest.raises(ValueError, match="conv_impl"):
        HarmonicAutoencoder(conv_impl="winograd")


@pytest.mark.parametrize("impl", ["fft", "fft-residual"])
def test_fft_path_draws_the_same_dropout_mask_in_training(impl):
    # train mode, dropout on: with the same random state both paths give the same output
    torch.manual_seed(5)
    direct = HarmonicAutoencoder(conv_impl="direct").train()
    fft = HarmonicAutoencoder(conv_impl=impl).train()
    fft.load_state_dict(direct.state_dict())
    frames = torch.rand(2 * FFT_BLOCK_FRAMES + 7, 285)  # three blocks in the fft path
    torch.manual_seed(11)
    la, aa = direct.encoder(frames)
    torch.manual_seed(11)
    lb, ab = fft.encoder(frames)
    assert torch.allclose(la, lb, rtol=0, atol=1e-5 * float(la.detach().abs().max()))
    assert torch.allclose(aa, ab, rtol=1e-5, atol=1e-7)
    torch.manual_seed(12)
    lc, _ = fft.encoder(frames)
    assert not torch.allclose(lb, lc)  # and the mask really is random
