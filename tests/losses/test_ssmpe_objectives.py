"""SS-MPE objectives (sotbench.losses.ssmpe) against direct formulas and invariants."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from sotbench.losses.ssmpe import (
    OBJECTIVES,
    TERMS,
    EQParams,
    GeometricParams,
    SSMPEObjective,
    bce_loss,
    eq_axis,
    eq_curves,
    equalize,
    geometric_loss,
    geometric_transform,
    harmonic_loss,
    sample_gaussian_eq,
    sample_geometric,
    sparsity_loss,
    support_loss,
    timbre_loss,
)

HARMONICS = (0.5, 1, 2, 3, 4, 5)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def paper_frequencies(n_bins: int = 440) -> torch.Tensor:
    """HCQT bin frequencies of paper 002 (27.5 Hz * h * 2^(k/60)), shape (6, n_bins)."""
    k = torch.arange(n_bins, dtype=torch.float64)
    return torch.stack([27.5 * h * 2.0 ** (k / 60.0) for h in HARMONICS])


def rand(*shape, seed=0, dtype=torch.float32):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --------------------------------------------------------------------- energy terms

def test_support_loss_matches_negative_only_bce_reference():
    z = 4 * torch.randn(3, 20, 7, generator=torch.Generator().manual_seed(1))
    t = rand(3, 20, 7, seed=2)
    # negative-only BCE = BCE with zero weight on the positive term
    ref = F.binary_cross_entropy_with_logits(z, t, pos_weight=torch.tensor(0.0), reduction="none")
    assert torch.allclose(support_loss(z, t), ref.sum(1).mean(), rtol=1e-5)
    direct = -((1 - t.double()) * torch.log(1 - torch.sigmoid(z.double()))).sum(1).mean()
    assert torch.allclose(support_loss(z, t).double(), direct, rtol=1e-5)


def test_support_loss_zero_where_it_should_be():
    t = torch.zeros(2, 440, 5)
    assert float(support_loss(torch.full((2, 440, 5), -40.0), t)) < 1e-12
    # a full-scale h1 channel cancels the loss whatever the output
    assert float(support_loss(torch.full((2, 440, 5), 40.0), torch.ones(2, 440, 5))) == 0.0
    # activity where the h1 channel is empty is penalised: log(1 + e^z) per bin
    assert math.isclose(float(support_loss(torch.full((1, 10, 3), 2.0), torch.zeros(1, 10, 3))),
                        10 * math.log1p(math.exp(2.0)), rel_tol=1e-6)


def test_harmonic_loss_matches_positive_only_bce_and_is_zero_without_target():
    z = 4 * torch.randn(2, 30, 9, generator=torch.Generator().manual_seed(3))
    t = rand(2, 30, 9, seed=4)
    direct = -(t.double() * torch.log(torch.sigmoid(z.double()))).sum(1).mean()
    assert torch.allclose(harmonic_loss(z, t).double(), direct, rtol=1e-5)
    assert float(harmonic_loss(z, torch.zeros_like(t))) == 0.0
    assert float(harmonic_loss(torch.full_like(z, 40.0), t)) < 1e-12


def test_sparsity_loss_is_l1_of_salience():
    assert float(sparsity_loss(torch.full((2, 440, 4), -40.0))) < 1e-12
    assert math.isclose(float(sparsity_loss(torch.full((2, 440, 4), 40.0))), 440.0, rel_tol=1e-6)
    z = torch.randn(3, 16, 5, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(sparsity_loss(z), torch.sigmoid(z).abs().sum(1).mean())


def test_reduction_sums_frequency_and_averages_time_and_batch():
    z = torch.randn(2, 8, 6, generator=torch.Generator().manual_seed(6))
    t = rand(2, 8, 6, seed=7)
    base = bce_loss(z, t)
    assert torch.allclose(bce_loss(torch.cat([z, z], 1), torch.cat([t, t], 1)), 2 * base)
    assert torch.allclose(bce_loss(torch.cat([z, z], 2), torch.cat([t, t], 2)), base)
    assert torch.allclose(bce_loss(torch.cat([z, z], 0), torch.cat([t, t], 0)), base)


def test_bce_minimum_is_target_entropy_at_matching_logits():
    t = rand(2, 12, 5, seed=8, dtype=torch.float64).clamp(0.05, 0.95)
    z = torch.logit(t).requires_grad_(True)
    loss = bce_loss(z, t)
    loss.backward()
    entropy = -(t * t.log() + (1 - t) * (1 - t).log()).sum(1).mean()
    assert torch.allclose(loss.double(), entropy, rtol=1e-5)
    assert float(z.grad.abs().max()) < 1e-6
    assert float(bce_loss(z.detach() + 0.5, t)) > float(loss.detach())


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="one target value per logit"):
        support_loss(torch.zeros(1, 4, 3), torch.zeros(1, 4, 2))
    with pytest.raises(ValueError, match=r"\(B, F, T\)"):
        sparsity_loss(torch.zeros(4, 3))


# --------------------------------------------------------------------- equalisation

def test_eq_axis_of_paper_hcqt():
    index, n_axis = eq_axis(paper_frequencies(), 60)
    assert n_axis == 660                               # 11 octaves from 13.75 Hz
    assert int(index.min()) == 0 and int(index.max()) < 660
    h = {hh: i for i, hh in enumerate(HARMONICS)}
    # the same absolute frequency lands on the same axis bin in every channel
    assert torch.equal(index[h[1], :380], index[h[0.5], 60:440])
    assert torch.equal(index[h[2], :380], index[h[1], 60:440])
    assert int(index[h[1], 0]) == 60
    assert int(index[h[3], 0]) == round(60 * math.log2(6))


def test_eq_gain_is_per_absolute_frequency():
    index, n_axis = eq_axis(paper_frequencies(), 60)
    params = EQParams(torch.tensor([0.3]), torch.tensor([300.0]), torch.tensor([40.0]))
    out = equalize(torch.full((1, 6, 440, 2), 0.5), params, index, n_axis)
    gain = out[0, :, :, 0] / 0.5
    assert torch.allclose(gain[1, :380], gain[0, 60:440])        # h=1 vs h=0.5, one octave apart
    peak = int(torch.argmax(gain[1]))
    assert abs(int(index[1, peak]) - 300) <= 1
    assert math.isclose(float(gain.max()), 1.3, rel_tol=1e-3)


def test_eq_identity_at_zero_amplitude():
    index, n_axis = eq_axis(paper_frequencies(), 60)
    x = rand(2, 6, 440, 3, seed=9)
    params = EQParams(torch.zeros(2), torch.tensor([10.0, 500.0]), torch.tensor([5.0, 0.0]))
    assert torch.equal(equalize(x, params, index, n_axis), x)


@pytest.mark.property
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), amplitude=st.floats(-0.375, 0.375),
       mu=st.floats(0, 659), sigma=st.floats(0, 120))
def test_eq_keeps_features_in_unit_interval(seed, amplitude, mu, sigma):
    index, n_axis = eq_axis(paper_frequencies(), 60)
    x = rand(2, 6, 440, 3, seed=seed)
    x[0, :, :, 0] = 1.0                                           # full-scale cells get boosted
    params = EQParams(torch.tensor([amplitude, -amplitude], dtype=torch.float64),
                      torch.tensor([mu, mu], dtype=torch.float64),
                      torch.tensor([sigma, sigma], dtype=torch.float64))
    out = equalize(x, params, index, n_axis)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert torch.isfinite(out).all()
    gain = eq_curves(params, n_axis)
    assert float(gain.min()) >= 1 - 0.375 - 1e-12 and float(gain.max()) <= 1 + 0.375 + 1e-12


def test_eq_sampling_ranges_and_determinism():
    p = sample_gaussian_eq(4000, 660, generator=torch.Generator().manual_seed(0))
    assert float(p.amplitude.abs().max()) <= 0.375 and float(p.amplitude.min()) < -0.3
    assert 0 <= float(p.mu.min()) and float(p.mu.max()) <= 659
    assert 0 <= float(p.sigma.min()) and float(p.sigma.max()) <= 120
    q = sample_gaussian_eq(4000, 660, generator=torch.Generator().manual_seed(0))
    assert torch.equal(p.mu, q.mu) and torch.equal(p.sigma, q.sigma)


# --------------------------------------------------------------------- geometric transforms

def _authors_geometric(x, k, n, gamma):
    """The authors' translation + distortion (ss-mpe v0.1.0, objectives.py), re-written from its
    description for one example ``x`` of shape (C, F, T): zero-filled shifts (roll of the input
    concatenated with zeros, then the first T), ``F.interpolate(scale_factor=gamma, mode='linear')``
    (align_corners defaults to False), then a centre crop from ``(len - T) // 2`` (gamma >= 1) or
    ``pad // 2`` zeros on the left and the rest on the right (gamma < 1)."""
    import torch.nn.functional as F

    T = x.shape[-1]
    y = torch.cat([x, torch.zeros_like(x)], dim=-2).roll(k, -2).narrow(-2, 0, x.shape[-2])
    y = torch.cat([y, torch.zeros_like(y)], dim=-1).roll(n, -1).narrow(-1, 0, T)
    z = F.interpolate(y, scale_factor=gamma, mode="linear")
    if gamma >= 1:
        return z.narrow(-1, (z.shape[-1] - T) // 2, T)
    pad = T - z.shape[-1]
    return F.pad(z, (pad // 2, pad - pad // 2))


def test_shifts_then_negated_shifts_are_exact_where_nothing_was_cropped():
    x = rand(3, 2, 40, 30, seed=10) + 0.1
    ones = torch.ones(3, dtype=torch.float64)
    params = GeometricParams(torch.tensor([5, -7, 0]), torch.tensor([-3, 4, 29]), ones)
    negated = GeometricParams(-params.freq_shift, -params.time_shift, ones)
    back = geometric_transform(geometric_transform(x, params), negated)
    keep = geometric_transform(geometric_transform(torch.ones_like(x), params), negated) == 1.0
    assert torch.equal(back[keep], x[keep])
    assert int(keep[0, 0].sum()) == (40 - 5) * (30 - 3)
    assert torch.equal(back[~keep], torch.zeros_like(back[~keep]))


@pytest.mark.property
@settings(max_examples=40, deadline=None)
@given(k=st.integers(-12, 12), n=st.integers(-10, 10), gamma=st.floats(0.5, 2.0),
       T=st.integers(4, 60), seed=st.integers(0, 2**16))
def test_geometric_transform_equals_the_authors_formulation(k, n, gamma, T, seed):
    # same operations in the same order (F.interpolate is computed row by row), so bit-identical.
    # Shifts of T frames or more differ by design: the authors' roll of [x, 0] then wraps x around
    # (sotbench: all zero); the paper's and the cpu budget's ranges stay below T.
    n = max(-(T - 1), min(T - 1, n))
    x = rand(2, 3, 16, T, seed=seed)
    params = GeometricParams(torch.tensor([k, -k]), torch.tensor([n, -n]),
                             torch.tensor([gamma, 1.0 / gamma], dtype=torch.float64))
    y = geometric_transform(x, params)
    for b, (kb, nb, gb) in enumerate([(k, n, gamma), (-k, -n, 1.0 / gamma)]):
        assert torch.equal(y[b], _authors_geometric(x[b], kb, nb, gb))
    # (B, F, T) input: the transform of each channel alone
    assert torch.equal(geometric_transform(x[:, 1], params), y[:, 1])


@pytest.mark.property
@settings(max_examples=40, deadline=None)
@given(gamma=st.floats(0.5, 2.0), T=st.integers(4, 60), slope=st.floats(-1, 1), offset=st.floats(-1, 1))
def test_stretch_is_linear_resampling_with_half_frame_convention(gamma, T, slope, offset):
    # closed form, independent of F.interpolate: on a signal linear in time, output frame t is
    # the signal at u = (t + s + 0.5) / gamma - 0.5 clamped to [0, T - 1], with s = (L - T) // 2
    # (crop) or s = -((T - L) // 2) (pad, 0 outside the L resampled frames), L = floor(T * gamma);
    # u = t when L == T.
    # Float64 data, positions from float32 arithmetic in torch: |error| <= |slope| * 4 T 2**-24.
    t = torch.arange(T, dtype=torch.float64)
    x = (offset + slope * t)[None, None]
    y = geometric_transform(x, GeometricParams(torch.tensor([0]), torch.tensor([0]),
                                               torch.tensor([gamma], dtype=torch.float64)))[0, 0]
    L = math.floor(T * gamma)
    s = (L - T) // 2 if gamma >= 1 else -((T - L) // 2)
    u = ((t + s + 0.5) / gamma - 0.5).clamp(0, T - 1)
    if L == T:   # F.interpolate copies its input when the size does not change (so do the authors)
        u = t
    inside = (t + s >= 0) & (t + s < L)
    expected = torch.where(inside, offset + slope * u, torch.zeros_like(u))
    assert torch.allclose(y, expected, rtol=0, atol=abs(slope) * 4 * T * 2.0**-24 + 1e-12)


def test_stretch_is_not_about_the_centre_frame():
    # the authors' rule: T = 21, gamma = 2 -> 42 frames, crop from 10, so frame t reads
    # u = (t + 10.5) / 2 - 0.5 = t / 2 + 4.75: the centre frame 10 reads 9.75, not 10
    x = torch.arange(21, dtype=torch.float64)[None, None]
    y = geometric_transform(x, GeometricParams(torch.tensor([0]), torch.tensor([0]),
                                               torch.tensor([2.0], dtype=torch.float64)))[0, 0]
    assert float(y[10]) == 9.75 and float(y[0]) == 4.75 and float(y[20]) == 14.75
    # gamma = 0.5: 10 frames, 5 zeros on the left and 6 on the right; frame 5 + j reads 2 j + 0.5
    y = geometric_transform(x, GeometricParams(torch.tensor([0]), torch.tensor([0]),
                                               torch.tensor([0.5], dtype=torch.float64)))[0, 0]
    assert torch.equal(y[5:15], 2 * torch.arange(10, dtype=torch.float64) + 0.5)
    assert float(y[:5].abs().sum()) == 0 and float(y[15:].abs().sum()) == 0


def test_transform_is_the_same_for_every_channel():
    x = rand(2, 6, 30, 25, seed=13)
    p = sample_geometric(2, max_freq_shift=10, max_time_shift=6, generator=torch.Generator().manual_seed(3))
    y = geometric_transform(x, p)
    for c in range(6):
        assert torch.equal(y[:, c], geometric_transform(x[:, c], p))


def test_geometric_sampling_ranges():
    p = sample_geometric(4000, max_freq_shift=120, max_time_shift=86,
                         generator=torch.Generator().manual_seed(0))
    assert int(p.freq_shift.min()) == -120 and int(p.freq_shift.max()) == 120
    assert int(p.time_shift.abs().max()) == 86
    assert 0.5 <= float(p.stretch.min()) and float(p.stretch.max()) <= 2.0
    below = float((p.stretch < 1).double().mean())
    assert 0.45 < below < 0.55                                     # half the draws slow down
    q = sample_geometric(4000, max_freq_shift=120, max_time_shift=86,
                         generator=torch.Generator().manual_seed(0))
    assert torch.equal(p.stretch, q.stretch) and torch.equal(p.freq_shift, q.freq_shift)


# --------------------------------------------------------------------- invariance losses

def h1_model(features: torch.Tensor) -> torch.Tensor:
    """A toy 'model': logits proportional to the h = 1 channel (elementwise, hence equivariant)."""
    return 20.0 * (features[:, 1] - 0.5)


def test_timbre_loss_minimal_for_a_timbre_blind_model():
    index, n_axis = eq_axis(paper_frequencies(), 60)
    x = rand(2, 6, 440, 4, seed=14)
    const = torch.full((2, 440, 4), -1.5)
    blind = lambda f: const  # noqa: E731 - ignores its input entirely
    params = sample_gaussian_eq(2, n_axis, generator=torch.Generator().manual_seed(1))
    loss = timbre_loss(blind, x, const, params, index, n_axis)
    p = torch.sigmoid(torch.tensor(-1.5))
    entropy = float(-(p * p.log() + (1 - p) * (1 - p).log())) * 440
    assert math.isclose(float(loss), entropy, rel_tol=1e-5)
    sensitive = timbre_loss(h1_model, x, h1_model(x),
                            EQParams(torch.tensor([0.375, -0.375]), torch.tensor([200.0, 200.0]),
                                     torch.tensor([100.0, 100.0])), index, n_axis)
    assert float(sensitive) > float(bce_loss(h1_model(x), torch.sigmoid(h1_model(x)))) + 1.0


def test_geometric_loss_minimal_for_an_equivariant_model_under_shifts():
    x = rand(2, 6, 440, 30, seed=15)
    logits = h1_model(x)
    shifts = GeometricParams(torch.tensor([7, -20]), torch.tensor([3, -5]), torch.ones(2, dtype=torch.float64))
    loss = geometric_loss(h1_model, x, logits, shifts)
    target = geometric_transform(torch.sigmoid(logits), shifts)
    # the model maps zero-filled input to sigmoid(-10) ~ 4.5e-5 where the target is exactly 0
    minimum = bce_loss(torch.logit(target.double().clamp(1e-12, 1 - 1e-12)), target.double())
    assert float(loss) - float(minimum) < 0.05
    not_equivariant = lambda f: h1_model(f).flip(-2)  # noqa: E731
    assert float(geometric_loss(not_equivariant, x, not_equivariant(x), shifts)) > float(loss) + 10


# --------------------------------------------------------------------- combined objective

def small_net():
    from sotbench.models.ssmpe import SSMPENet

    torch.manual_seed(0)
    return SSMPENet(n_bins=64)


def test_objective_presets_and_total():
    assert OBJECTIVES["full"] == TERMS
    assert set(OBJECTIVES) == {"full", "energy", "energy+timbre", "energy+geometric"}
    with pytest.raises(ValueError, match="choose one of"):
        SSMPEObjective("energy+pitch", frequencies_hz=paper_frequencies(64))
    net = small_net()
    x = rand(2, 6, 64, 12, seed=16)
    for name, terms in OBJECTIVES.items():
        obj = SSMPEObjective(name, frequencies_hz=paper_frequencies(64), max_time_shift=3)
        out = obj(net, x, x[:, 1], rand(2, 64, 12, seed=17), generator=torch.Generator().manual_seed(0))
        assert set(out) == set(terms) | {"total", "logits"}
        assert torch.allclose(out["total"], sum(out[t] for t in terms))


def test_batched_objective_equals_separate_terms():
    net = small_net().double()
    x = rand(3, 6, 64, 16, seed=18, dtype=torch.float64)
    harm = rand(3, 64, 16, seed=19, dtype=torch.float64)
    freqs = paper_frequencies(64)
    obj = SSMPEObjective("full", frequencies_hz=freqs, max_time_shift=4, max_freq_shift=10)
    out = obj(net, x, x[:, 1], harm, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)                           # same draws, same order
    eq = sample_gaussian_eq(3, obj.n_axis, generator=g)
    gm = sample_geometric(3, max_freq_shift=10, max_time_shift=4, generator=g)
    logits = net(x)
    assert torch.allclose(out["logits"].double(), logits, atol=1e-10)
    assert torch.allclose(out["support"].double(), support_loss(logits, x[:, 1]).double())
    assert torch.allclose(out["harmonic"].double(), harmonic_loss(logits, harm).double())
    assert torch.allclose(out["sparsity"].double(), sparsity_loss(logits).double())
    index, n_axis = eq_axis(freqs, 60)
    assert torch.allclose(out["timbre"].double(),
                          timbre_loss(net, x, logits, eq, index, n_axis).double(), rtol=1e-6)
    assert torch.allclose(out["geometric"].double(),
                          geometric_loss(net, x, logits, gm).double(), rtol=1e-6)


def test_gradients_finite_and_flow_through_targets():
    net = small_net()
    x = rand(2, 6, 64, 10, seed=20)
    x[0] = 0.0                                                      # a silent example
    obj = SSMPEObjective("full", frequencies_hz=paper_frequencies(64), max_time_shift=2)
    out = obj(net, x, x[:, 1], rand(2, 64, 10, seed=21), generator=torch.Generator().manual_seed(1))
    out["total"].backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # targets are not detached: the invariance terms alone also move the original branch
    net.zero_grad()
    z = torch.zeros(1, 4, 5, requires_grad=True)
    bce_loss(torch.ones(1, 4, 5), torch.sigmoid(z)).backward()   # dBCE/dtarget = -logit
    assert z.grad is not None and float(z.grad.abs().sum()) > 0


def test_objective_is_deterministic_given_the_generator():
    net = small_net()
    x = rand(2, 6, 64, 10, seed=22)
    obj = SSMPEObjective("full", frequencies_hz=paper_frequencies(64), max_time_shift=2)
    def run(s):
        with torch.no_grad():
            return obj(net, x, x[:, 1], x[:, 2], generator=torch.Generator().manual_seed(s))

    a, b, c = run(3), run(3), run(4)
    assert float(a["total"]) == float(b["total"])
    assert float(a["geometric"]) != float(c["geometric"])


def test_bad_objective_terms_and_weights():
    with pytest.raises(ValueError, match="unknown objective terms"):
        SSMPEObjective(["support", "pitch"], frequencies_hz=paper_frequencies(64))
    with pytest.raises(ValueError, match="unknown terms"):
        SSMPEObjective("full", frequencies_hz=paper_frequencies(64), weights={"pitch": 1.0})
    obj = SSMPEObjective(["support", "sparsity"], frequencies_hz=paper_frequencies(64),
                         weights={"sparsity": 0.0})
    x = rand(1, 6, 64, 4, seed=23)
    out = obj(small_net(), x, x[:, 1], x[:, 1])
    assert torch.allclose(out["total"], out["support"])
    assert np.isfinite(float(out["total"].detach()))
