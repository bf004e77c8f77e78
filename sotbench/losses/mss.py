r"""Multi-scale spectral (MSS) loss.

.. math::

    \mathcal{L}_{MSS}(s, \hat s) = \sum_{\gamma \in \Gamma}
        w_{lin} \, \mathrm{mean}|S_\gamma - \hat S_\gamma|
      + w_{log} \, \mathrm{mean}|\log \max(S_\gamma, \epsilon) - \log \max(\hat S_\gamma, \epsilon)|

with :math:`S_\gamma` the magnitude STFT at FFT size :math:`\gamma` (Hann
window, hop :math:`\gamma (1 - \text{overlap})`).  "Mean" is over batch, frames
and bins (the L1 norm of the paper, divided by the element count, as in the
authors' and DDSP's code).  MSS-Lin is ``lin_weight=1, log_weight=0``;
MSS-LogLin is ``lin_weight=1, log_weight=1`` (Torres et al. 2024, Sec. 4).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from sotbench.dsp.stft import check_signals, spectrogram
from sotbench.losses._checks import check_nonempty, check_term_weight, compute_dtype

__all__ = ["MSSLoss", "DEFAULT_SCALES"]

DEFAULT_SCALES: tuple[int, ...] = (2048, 1024, 512, 256, 128, 64)


class MSSLoss(nn.Module):
    """Multi-scale spectral loss between batches of signals.

    Parameters
    ----------
    scales : sequence of int, default (2048, 1024, 512, 256, 128, 64)
        FFT (= window) sizes in samples.
    overlap : float, default 0.75
        Frame overlap; hop = ``int(scale * (1 - overlap))`` (>= 1).
    lin_weight : float, default 1.0
        Weight of the L1 distance between magnitudes.
    log_weight : float, default 0.0
        Weight of the L1 distance between natural-log magnitudes.
    eps : float, default 1e-5
        Floor of the magnitudes inside the log (``log(max(S, eps))``).
    window : {"hann", "flattop"}, default "hann"
        Periodic analysis window.
    center, pad_end, normalized : bool
        Framing and scaling, see :mod:`sotbench.dsp.stft`.  Defaults
        (``center=False``, ``pad_end=True``, ``normalized=True``) follow the
        authors' code (DDSP convention).

    Notes
    -----
    ``forward(pred, target)`` takes signals of shape (B, N) (or (N,)) and
    returns a scalar.  The loss is symmetric in its arguments.  Signals shorter
    than the largest scale, NaN/Inf samples or mismatched shapes raise
    ``ValueError``.  Magnitudes use a zero-safe square root, so silent signals
    give finite gradients.
    """

    def __init__(self, scales: Sequence[int] = DEFAULT_SCALES, *, overlap: float = 0.75,
                 lin_weight: float = 1.0, log_weight: float = 0.0, eps: float = 1e-5,
                 window: str = "hann", center: bool = False, pad_end: bool = True,
                 normalized: bool = True) -> None:
        super().__init__()
        scales = tuple(int(s) for s in scales)
        if not scales or any(s < 2 for s in scales):
            raise ValueError(f"scales={scales!r}: pass one or more FFT sizes >= 2")
        if not 0.0 <= overlap < 1.0:
            raise ValueError(f"overlap={overlap!r} must be in [0, 1)")
        lin_weight = check_term_weight("lin_weight", lin_weight)
        log_weight = check_term_weight("log_weight", log_weight)
        if lin_weight == 0 and log_weight == 0:
            raise ValueError(f"lin_weight={lin_weight!r}, log_weight={log_weight!r}: weights "
                             f"must be >= 0 and not both 0")
        if isinstance(eps, bool) or not (math.isfinite(float(eps)) and float(eps) > 0):
            raise ValueError(f"eps={eps!r} must be a finite number > 0")
        self.scales = scales
        self.overlap = float(overlap)
        self.lin_weight = float(lin_weight)
        self.log_weight = float(log_weight)
        self.eps = float(eps)
        self.window = window
        self.center = bool(center)
        self.pad_end = bool(pad_end)
        self.normalized = bool(normalized)

    def hop(self, scale: int) -> int:
        """Hop size in samples for one scale."""
        return max(1, int(scale * (1.0 - self.overlap)))

    def extra_repr(self) -> str:
        """Settings shown by ``repr``."""
        return (f"scales={self.scales}, overlap={self.overlap}, lin_weight={self.lin_weight}, "
                f"log_weight={self.log_weight}, eps={self.eps}, window={self.window!r}")

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return the scalar MSS loss between ``pred`` and ``target`` (B, N).

        float16/bfloat16 signals are computed in float32 and the result is
        returned in the input dtype; an empty batch raises ValueError.
        """
        pred, target = check_signals(pred, target, max(self.scales))
        check_nonempty(pred, "MSSLoss")
        out_dtype = pred.dtype
        dtype = compute_dtype(out_dtype)
        pred, target = pred.to(dtype), target.to(dtype)
        total = pred.new_zeros(())
        for scale in self.scales:
            s_pred, s_tgt = (spectrogram(x, scale, self.hop(scale), window=self.window, center=self.center,
                                         pad_end=self.pad_end, normalized=self.normalized, power=False,
                                         name=name)
                             for x, name in ((pred, "pred"), (target, "target")))
            if self.lin_weight:
                total = total + self.lin_weight * (s_tgt - s_pred).abs().mean()
            if self.log_weight:
                log_t = torch.log(s_tgt.clamp_min(self.eps))
                log_p = torch.log(s_pred.clamp_min(self.eps))
                total = total + self.log_weight * (log_t - log_p).abs().mean()
        return total.to(out_dtype)
