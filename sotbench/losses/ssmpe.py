"""The self-supervised objectives of SS-MPE (paper 002, sections 3.3-3.5).

All objectives compare salience *logits* ``(B, F, T)`` of a model with
targets in [0, 1] and reduce the same way: **sum over frequency, mean over
time and batch** (a BCE "per frame", summed over bins).

Energy concentration (section 3.3)
    * :func:`support_loss` - negative-only BCE against the h = 1 HCQT channel
      ``X1``: ``-(1 - X1) log(1 - sigmoid(z))`` (Eq. 3).
    * :func:`harmonic_loss` - positive-only BCE against the weighted harmonic
      sum ``Xbar``: ``-Xbar log(sigmoid(z))`` (Eq. 2).
    * :func:`sparsity_loss` - L1 norm of ``sigmoid(z)`` (Eq. 4).
Timbre invariance (section 3.4)
    :func:`timbre_loss` - BCE of the logits of Gaussian-equalised features
    against ``sigmoid`` of the original logits (Eq. 5).  One Gaussian curve
    per example lives on a shared log-frequency axis (:func:`eq_axis`: 660
    bins of 1/60 octave from the lowest bin of any channel), so every HCQT
    channel is equalised at its own absolute frequency; equalised features
    are clipped to [0, 1].  ``A ~ U(-0.375, 0.375)`` (gain ``1 + A``),
    ``mu ~ U(0, 659)``, ``sigma ~ U(0, 120)`` bins.
Geometric equivariance (section 3.5)
    :func:`geometric_loss` - BCE of the logits of transformed features
    against the same transform of ``sigmoid`` of the original logits
    (Eq. 6).  :func:`geometric_transform`: frequency shift (+-120 bins), time
    shift (+-86 frames = a quarter of a 4-s excerpt), both zero-filled, then
    a time stretch by ``gamma`` in [0.5, 2] (half the draws in [0.5, 1],
    half in [1, 2]) exactly as in the authors' code: linear resampling to
    ``floor(T * gamma)`` frames with ``align_corners=False`` semantics, then
    a centre crop (start ``(len - T) // 2``) or zero padding (``pad // 2``
    frames on the left).

Targets are **not** detached (as in the authors' code): gradients also flow
through ``sigmoid`` of the original logits in the timbre and geometric terms.
All weights are 1.  :data:`OBJECTIVES` names the paper's full objective and
its ablations; :class:`SSMPEObjective` evaluates one of them with a single
batched forward pass.

Randomness comes only from the ``torch.Generator`` passed in (CPU
generator; parameters are moved to the data's device), so the same generator
state gives the same transforms on any device.

This module is a lower layer: it imports neither models nor tasks; a
"model" here is any callable ``features (B, H, F, T) -> logits (B, F, T)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, cast

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "OBJECTIVES",
    "TERMS",
    "support_loss",
    "harmonic_loss",
    "sparsity_loss",
    "bce_loss",
    "eq_axis",
    "EQParams",
    "sample_gaussian_eq",
    "eq_curves",
    "equalize",
    "timbre_loss",
    "GeometricParams",
    "sample_geometric",
    "geometric_transform",
    "geometric_loss",
    "SSMPEObjective",
]

ModelFn = Callable[[Tensor], Tensor]

#: The five terms, in the order they are reported.
TERMS = ("support", "harmonic", "sparsity", "timbre", "geometric")

#: Named objectives of paper 002 (Eqs. 7-10): L, L_e, L_t, L_g.
OBJECTIVES: dict[str, tuple[str, ...]] = {
    "full": TERMS,
    "energy": ("support", "harmonic", "sparsity"),
    "energy+timbre": ("support", "harmonic", "sparsity", "timbre"),
    "energy+geometric": ("support", "harmonic", "sparsity", "geometric"),
}


def _check_logits(logits: Tensor, target: Tensor | None = None, name: str = "target") -> None:
    if logits.dim() != 3:
        raise ValueError(f"logits have shape {tuple(logits.shape)}; expected (B, F, T)")
    if target is not None and target.shape != logits.shape:
        raise ValueError(f"{name} has shape {tuple(target.shape)} but logits have "
                         f"{tuple(logits.shape)}; pass one target value per logit")


def _reduce(per_bin: Tensor) -> Tensor:
    """Sum over frequency (axis -2), mean over time and batch."""
    return per_bin.sum(dim=-2).mean()


# ----------------------------------------------------------------------------
# energy concentration
# ----------------------------------------------------------------------------

def support_loss(logits: Tensor, h1: Tensor) -> Tensor:
    """Negative-only BCE against the first-harmonic channel (Eq. 3).

    ``sum_f -(1 - X1) log(1 - sigmoid(z))``, averaged over frames and batch.

    Parameters
    ----------
    logits : Tensor, shape (B, F, T)
    h1 : Tensor, shape (B, F, T)
        The h = 1 HCQT channel, features in [0, 1].

    Returns
    -------
    Tensor, scalar, >= 0; 0 only where ``h1 = 1`` or ``sigmoid(z) = 0``.
    """
    _check_logits(logits, h1, "h1")
    z = logits.float()
    # -log(1 - sigmoid(z)) = softplus(z)
    return _reduce((1.0 - h1.float()) * F.softplus(z))


def harmonic_loss(logits: Tensor, harmonic_sum: Tensor) -> Tensor:
    """Positive-only BCE against the weighted harmonic sum (Eq. 2).

    ``sum_f -Xbar log(sigmoid(z))``, averaged over frames and batch.

    Parameters
    ----------
    logits : Tensor, shape (B, F, T)
    harmonic_sum : Tensor, shape (B, F, T)
        Harmonic-sum target in [0, 1] (:func:`sotbench.dsp.hcqt.harmonic_sum_target`).

    Returns
    -------
    Tensor, scalar, >= 0; 0 only where the target is 0 or ``sigmoid(z) = 1``.
    """
    _check_logits(logits, harmonic_sum, "harmonic_sum")
    # -log(sigmoid(z)) = softplus(-z)
    return _reduce(harmonic_sum.float() * F.softplus(-logits.float()))


def sparsity_loss(logits: Tensor) -> Tensor:
    """L1 norm of the salience ``sigmoid(z)`` over frequency (Eq. 4), mean over frames and batch.

    Returns
    -------
    Tensor, scalar in [0, F]; 0 for an all-off salience.
    """
    _check_logits(logits)
    return _reduce(torch.sigmoid(logits.float()))


def bce_loss(logits: Tensor, target: Tensor) -> Tensor:
    """Standard BCE with soft targets, summed over frequency, mean over frames and batch.

    Its minimum over the logits is the binary entropy of the target (0 only
    for hard 0/1 targets), reached at ``sigmoid(z) = target``.
    """
    _check_logits(logits, target)
    per_bin = F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="none")
    return _reduce(per_bin)


# ----------------------------------------------------------------------------
# timbre invariance: Gaussian equalisation on a shared absolute-frequency axis
# ----------------------------------------------------------------------------

def eq_axis(frequencies_hz: Tensor, bins_per_octave: int = 60) -> tuple[Tensor, int]:
    """Map every HCQT bin to a shared log-frequency equalisation axis.

    Parameters
    ----------
    frequencies_hz : Tensor, shape (H, F)
        Centre frequency of each HCQT bin in Hz (all channels).
    bins_per_octave : int
        Resolution of the axis (the HCQT's, 60 in paper 002).

    Returns
    -------
    index : Tensor of int64, shape (H, F)
        ``round(bins_per_octave * log2(f / f_lowest))``: the axis bin of each
        HCQT bin (nearest neighbour).
    n_axis : int
        Axis length, rounded up to whole octaves (660 for paper 002's HCQT:
        13.75 Hz .. 11 octaves).
    """
    freqs = torch.as_tensor(frequencies_hz, dtype=torch.float64)
    if freqs.dim() != 2 or not bool((freqs > 0).all()):
        raise ValueError("frequencies_hz must be a positive (H, F) tensor of bin frequencies in Hz")
    pos = bins_per_octave * torch.log2(freqs / freqs.min())
    index = torch.round(pos).long()
    span = float(pos.max())
    n_axis = int(math.ceil(round(span, 6) / bins_per_octave)) * bins_per_octave
    n_axis = max(n_axis, int(index.max()) + 1)
    return index, n_axis


@dataclass
class EQParams:
    """Gaussian equalisation curves, one per example: gain ``1 + A exp(-(i - mu)^2 / (2 sigma^2))``.

    Attributes
    ----------
    amplitude : Tensor (B,)
        ``A`` (gain offset at the peak; negative = cut).
    mu : Tensor (B,)
        Centre, in axis bins.
    sigma : Tensor (B,)
        Width, in axis bins.
    """

    amplitude: Tensor
    mu: Tensor
    sigma: Tensor


def sample_gaussian_eq(batch: int, n_axis: int = 660, *, max_amplitude: float = 0.375,
                       max_sigma: float = 120.0, generator: torch.Generator | None = None
                       ) -> EQParams:
    """Draw ``A ~ U(-max_amplitude, max_amplitude)``, ``mu ~ U(0, n_axis - 1)``, ``sigma ~ U(0, max_sigma)``.

    ``max_sigma = 2 * bins_per_octave`` (120) in paper 002.  Draws use the CPU
    ``generator`` in the order amplitude, mu, sigma.
    """
    if batch < 1 or n_axis < 1:
        raise ValueError(f"batch={batch} and n_axis={n_axis} must be positive")
    u = torch.rand(3, batch, generator=generator, dtype=torch.float64)
    return EQParams(amplitude=(2.0 * u[0] - 1.0) * max_amplitude,
                    mu=u[1] * (n_axis - 1), sigma=u[2] * max_sigma)


def eq_curves(params: EQParams, n_axis: int) -> Tensor:
    """Gain curves, shape (B, n_axis), float64 (``sigma`` below 1e-3 bins is treated as 1e-3)."""
    i = torch.arange(n_axis, dtype=torch.float64)
    sigma = params.sigma.double().clamp_min(1e-3)
    bump = torch.exp(-0.5 * ((i[None] - params.mu.double()[:, None]) / sigma[:, None]) ** 2)
    return 1.0 + params.amplitude.double()[:, None] * bump


def equalize(features: Tensor, params: EQParams, index: Tensor, n_axis: int) -> Tensor:
    """Apply one Gaussian EQ per example to HCQT features and clip to [0, 1].

    Parameters
    ----------
    features : Tensor, shape (B, H, F, T)
        HCQT features in [0, 1].
    params : EQParams
        One curve per example.
    index, n_axis :
        From :func:`eq_axis` for the HCQT that produced ``features``.

    Returns
    -------
    Tensor, shape (B, H, F, T), in [0, 1]
        ``clip(gain[b, index[h, f]] * features, 0, 1)``.
    """
    if features.dim() != 4 or tuple(features.shape[1:3]) != tuple(index.shape):
        raise ValueError(f"features of shape {tuple(features.shape)} do not match the EQ index "
                         f"{tuple(index.shape)}; expected (B, H, F, T) with (H, F) = index.shape")
    curves = eq_curves(params, n_axis).to(features.device, features.dtype)   # (B, n_axis)
    gain = curves[:, index.to(features.device).reshape(-1)].reshape(
        features.shape[0], *index.shape, 1)
    return (gain * features).clamp(0.0, 1.0)


def timbre_loss(model: ModelFn, features: Tensor, logits: Tensor, params: EQParams,
                index: Tensor, n_axis: int) -> Tensor:
    """Timbre-invariance loss (Eq. 5): ``BCE(model(EQ(features)), sigmoid(logits))``.

    Parameters
    ----------
    model : callable
        ``(B, H, F, T) -> (B, F, T)`` logits.
    features : Tensor, shape (B, H, F, T)
    logits : Tensor, shape (B, F, T)
        ``model(features)`` (not detached: the target carries gradient).
    params, index, n_axis :
        EQ draw and axis (:func:`sample_gaussian_eq`, :func:`eq_axis`).
    """
    return bce_loss(model(equalize(features, params, index, n_axis)), torch.sigmoid(logits.float()))


# ----------------------------------------------------------------------------
# geometric equivariance
# ----------------------------------------------------------------------------

@dataclass
class GeometricParams:
    """One geometric transform per example.

    Attributes
    ----------
    freq_shift : Tensor of int64 (B,)
        Bins; positive moves content up in frequency.
    time_shift : Tensor of int64 (B,)
        Frames; positive moves content later.
    stretch : Tensor of float64 (B,)
        ``gamma``; > 1 slows the content down (``floor(T * gamma)`` frames,
        centre-cropped to ``T``), < 1 speeds it up (zero-padded to ``T``).
    """

    freq_shift: Tensor
    time_shift: Tensor
    stretch: Tensor


def sample_geometric(batch: int, *, max_freq_shift: int = 120, max_time_shift: int = 86,
                     max_stretch: float = 2.0, generator: torch.Generator | None = None
                     ) -> GeometricParams:
    """Draw shifts uniformly in ``[-max, max]`` (integers) and a stretch in ``[1/max_stretch, max_stretch]``.

    The stretch is drawn from ``u ~ U(0, 1)``: ``u < 0.5`` maps linearly onto
    ``[1/max_stretch, 1]``, ``u >= 0.5`` onto ``[1, max_stretch]`` (half the
    draws slow down, half speed up).  Paper 002: 120 bins (2 octaves), 86
    frames (a quarter of 345), factor 2.  Draw order: frequency shift, time
    shift, stretch, all from the CPU ``generator``.
    """
    if batch < 1:
        raise ValueError(f"batch={batch} must be positive")
    if max_freq_shift < 0 or max_time_shift < 0 or max_stretch < 1:
        raise ValueError(f"need max_freq_shift >= 0, max_time_shift >= 0 and max_stretch >= 1; got "
                         f"{max_freq_shift}, {max_time_shift}, {max_stretch}")
    k = torch.randint(-int(max_freq_shift), int(max_freq_shift) + 1, (batch,), generator=generator)
    n = torch.randint(-int(max_time_shift), int(max_time_shift) + 1, (batch,), generator=generator)
    u = torch.rand(batch, generator=generator, dtype=torch.float64)
    lo = 1.0 / float(max_stretch)
    gamma = torch.where(u < 0.5, lo + (2.0 * u) * (1.0 - lo),
                        1.0 + (2.0 * u - 1.0) * (float(max_stretch) - 1.0))
    return GeometricParams(k.long(), n.long(), gamma)


def _shift(x: Tensor, shift: int, dim: int) -> Tensor:
    """Shift ``x`` by ``shift`` positions along ``dim`` with zero fill (no wrap)."""
    size = x.shape[dim]
    out = torch.zeros_like(x)
    if shift == 0:
        return x.clone()
    if abs(shift) >= size:
        return out
    if shift > 0:
        out.narrow(dim, shift, size - shift).copy_(x.narrow(dim, 0, size - shift))
    else:
        out.narrow(dim, 0, size + shift).copy_(x.narrow(dim, -shift, size + shift))
    return out


def _stretch_time(x: Tensor, gamma: float) -> Tensor:
    """Stretch the last axis of ``x`` by ``gamma``, keeping its length ``T`` (the authors' rule).

    ``F.interpolate(scale_factor=gamma, mode="linear", align_corners=False)``
    gives ``L = floor(T * gamma)`` frames, frame ``j`` reading the input at
    ``u = (j + 0.5) / gamma - 0.5`` (clamped to ``[0, T - 1]``: the edge frames
    are repeated for up to half a frame).  If ``gamma >= 1`` the frames
    ``s .. s + T - 1`` with ``s = (L - T) // 2`` are kept; otherwise the ``L``
    frames are zero-padded with ``(T - L) // 2`` frames on the left and the
    rest on the right.  So output frame ``t`` reads the input at
    ``(t + s + 0.5) / gamma - 0.5`` (when padding: ``s = -pad_left``, and the
    padded frames are 0), except that ``F.interpolate`` copies its input when
    ``L == T`` (e.g. ``T = 4``, ``gamma = 1.125``).  The fixed point of this map lies up to half a frame
    away from the centre frame ``(T - 1) / 2``, as in the authors' code.
    """
    T = x.shape[-1]
    if gamma == 1.0:
        return x.clone()
    shape = x.shape
    flat = x.reshape(1, -1, T)
    if not flat.dtype.is_floating_point:
        raise ValueError(f"x has dtype {x.dtype}; the time stretch needs a floating-point tensor")
    y = F.interpolate(flat, scale_factor=float(gamma), mode="linear", align_corners=False)
    L = y.shape[-1]
    if gamma >= 1.0:
        y = y.narrow(-1, (L - T) // 2, T)
    else:
        pad = T - L
        y = F.pad(y, (pad // 2, pad - pad // 2))
    return y.reshape(shape)


def geometric_transform(x: Tensor, params: GeometricParams) -> Tensor:
    """Apply the per-example geometric transform (zero-filled), as the authors do.

    Shift frequency by ``freq_shift`` and time by ``time_shift`` (zero fill,
    no wrap), then stretch time by ``stretch`` (:func:`_stretch_time`: linear
    resampling with ``align_corners=False`` semantics, then centre crop or
    zero padding to the input length).  The same transform applies to every
    channel of an example.

    Parameters
    ----------
    x : Tensor, shape (B, F, T) or (B, C, F, T), floating point
        Frequency on axis -2, time on axis -1.
    params : GeometricParams
        ``B`` transforms.

    Returns
    -------
    Tensor, same shape as ``x``.
    """
    if x.dim() not in (3, 4):
        raise ValueError(f"x has shape {tuple(x.shape)}; expected (B, F, T) or (B, C, F, T)")
    B = x.shape[0]
    if not (params.freq_shift.numel() == params.time_shift.numel() == params.stretch.numel() == B):
        raise ValueError(f"{B} examples but {params.freq_shift.numel()} transforms; draw one per example")
    out = []
    for b in range(B):
        k, n, g = int(params.freq_shift[b]), int(params.time_shift[b]), float(params.stretch[b])
        if not g > 0:
            raise ValueError(f"stretch factor {g} must be positive")
        out.append(_stretch_time(_shift(_shift(x[b], k, -2), n, -1), g))
    return torch.stack(out)


def geometric_loss(model: ModelFn, features: Tensor, logits: Tensor,
                   params: GeometricParams) -> Tensor:
    """Geometric-equivariance loss (Eq. 6): ``BCE(model(GM(features)), GM(sigmoid(logits)))``.

    ``logits = model(features)`` is not detached.
    """
    target = geometric_transform(torch.sigmoid(logits.float()), params)
    return bce_loss(model(geometric_transform(features, params)), target)


# ----------------------------------------------------------------------------
# the combined objective
# ----------------------------------------------------------------------------

class SSMPEObjective:
    """One of paper 002's objectives (``full``, ``energy``, ``energy+timbre``, ``energy+geometric``).

    Parameters
    ----------
    objective : str or sequence of str
        A key of :data:`OBJECTIVES` or a list of :data:`TERMS`.
    frequencies_hz : Tensor, shape (H, F)
        HCQT bin frequencies (for the shared EQ axis).
    bins_per_octave : int
    weights : mapping, optional
        Per-term multipliers (default 1 each, as in the paper).
    max_freq_shift, max_time_shift, max_stretch :
        Geometric ranges (paper 002: 120 bins, 86 frames, 2).
    eq_max_amplitude, eq_max_sigma :
        EQ ranges (paper 002: 0.375, 120 bins).

    Notes
    -----
    :meth:`__call__` runs the model **once** on the concatenation of the
    original, equalised and transformed batches (layer norms work per frame,
    so this equals three separate passes) and returns every active term and
    their weighted ``total``.
    """

    def __init__(self, objective: str | Sequence[str] = "full", *, frequencies_hz: Tensor,
                 bins_per_octave: int = 60, weights: Mapping[str, float] | None = None,
                 max_freq_shift: int = 120, max_time_shift: int = 86, max_stretch: float = 2.0,
                 eq_max_amplitude: float = 0.375, eq_max_sigma: float = 120.0) -> None:
        if isinstance(objective, str):
            if objective not in OBJECTIVES:
                raise ValueError(f"unknown objective {objective!r}; choose one of "
                                 f"{', '.join(OBJECTIVES)}")
            self.name, self.terms = objective, OBJECTIVES[objective]
        else:
            terms = tuple(objective)
            bad = [t for t in terms if t not in TERMS]
            if bad or not terms:
                raise ValueError(f"unknown objective terms {bad or terms}; choose from {TERMS}")
            self.name, self.terms = "+".join(terms), terms
        self.weights = {t: 1.0 for t in TERMS}
        if weights:
            unknown = set(weights) - set(TERMS)
            if unknown:
                raise ValueError(f"weights for unknown terms {sorted(unknown)}; terms are {TERMS}")
            self.weights.update({k: float(v) for k, v in weights.items()})
        self.eq_index, self.n_axis = eq_axis(frequencies_hz, bins_per_octave)
        self.max_freq_shift = int(max_freq_shift)
        self.max_time_shift = int(max_time_shift)
        self.max_stretch = float(max_stretch)
        self.eq_max_amplitude = float(eq_max_amplitude)
        self.eq_max_sigma = float(eq_max_sigma)

    def __call__(self, model: ModelFn, features: Tensor, support_target: Tensor,
                 harmonic_target: Tensor, generator: torch.Generator | None = None
                 ) -> dict[str, Tensor]:
        """Evaluate the objective on a batch.

        Parameters
        ----------
        model : callable ``(B, H, F, T) -> (B, F, T)`` logits
        features : Tensor, shape (B, H, F, T), in [0, 1]
        support_target : Tensor, shape (B, F, T)
            h = 1 channel of ``features``.
        harmonic_target : Tensor, shape (B, F, T)
            Harmonic-sum target.
        generator : torch.Generator, optional
            CPU generator for the EQ and geometric draws (EQ first, then
            geometric; only for active terms).

        Returns
        -------
        dict
            ``{term: scalar tensor}`` for each active term plus ``"total"``
            (weighted sum) and ``"logits"`` (the original batch's logits).
        """
        B = features.shape[0]
        batches = [features]
        use_t, use_g = "timbre" in self.terms, "geometric" in self.terms
        if use_t:
            eq = sample_gaussian_eq(B, self.n_axis, max_amplitude=self.eq_max_amplitude,
                                    max_sigma=self.eq_max_sigma, generator=generator)
            batches.append(equalize(features, eq, self.eq_index, self.n_axis))
        if use_g:
            gm = sample_geometric(B, max_freq_shift=self.max_freq_shift,
                                  max_time_shift=self.max_time_shift, max_stretch=self.max_stretch,
                                  generator=generator)
            batches.append(geometric_transform(features, gm))
        all_logits = model(torch.cat(batches) if len(batches) > 1 else features)
        parts = list(all_logits.split(B))
        logits = parts.pop(0)
        out: dict[str, Tensor] = {}
        if "support" in self.terms:
            out["support"] = support_loss(logits, support_target)
        if "harmonic" in self.terms:
            out["harmonic"] = harmonic_loss(logits, harmonic_target)
        if "sparsity" in self.terms:
            out["sparsity"] = sparsity_loss(logits)
        salience = torch.sigmoid(logits.float())
        if use_t:
            out["timbre"] = bce_loss(parts.pop(0), salience)
        if use_g:
            out["geometric"] = bce_loss(parts.pop(0), geometric_transform(salience, gm))
        total = cast(Tensor, sum(self.weights[t] * out[t] for t in self.terms))
        out["total"] = total
        out["logits"] = logits
        return out
