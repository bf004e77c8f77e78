"""Named loss configurations of Table 1 of Torres et al. (2024), registered in ``LOSSES``.

Every factory takes keyword overrides and returns an ``nn.Module`` whose
``forward(pred, target)`` takes signals (B, N) and returns a scalar.

Settings follow the authors' published training configurations (the code that
produced Table 1): SOT on the power spectrum of a periodic flattop STFT
(hop 256, ``normalized=True``, ``center=False``, frames padded at the end as
in DDSP's ``pad_end``), W2^2 between frames, cutoff on; MSS on Hann
magnitudes, FFT sizes 2048..64, 75 % overlap, L1 means.

==================  =========================================================
name                objective
==================  =========================================================
mss-lin             MSS, linear term only
mss-loglin          MSS, linear + log term (eps 1e-5)
sot-2048            SOT (n_fft 2048) + 0.05 * MSS-lin
sot-512             SOT (n_fft 512) + 0.05 * MSS-lin
sot-512-ls          SOT (n_fft 512, log-frequency positions) + 0.05 * MSS-lin
sot-singlescale     SOT (n_fft 2048) + 0.1 * MSS-lin at 512 only
sot-nocut           SOT (n_fft 2048, no cutoff) + 0.05 * MSS-lin
==================  =========================================================

``sot-512-ls`` maps bins to MIDI pitch normalized between the CQT range of the
paper's encoder (32.7 Hz and 32.7 * 2**(284/36) Hz), as the authors intended;
their code silently used linear positions there (see :mod:`sotbench.losses.sot`).

Overrides
---------
For the mixed configurations, keyword overrides that are ``SOTLoss``
parameters go to the SOT term; ``mss={...}`` overrides the MSS term,
``sot={...}`` the SOT term explicitly, and ``sot_weight`` / ``mss_weight`` the
weights.  For the MSS-only configurations overrides go to ``MSSLoss``.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import torch
from torch import nn

from sotbench.losses._checks import check_term_weight
from sotbench.losses.mss import DEFAULT_SCALES, MSSLoss
from sotbench.losses.sot import SOTLoss
from sotbench.registry import LOSSES

__all__ = ["WeightedSum", "CQT_FMIN_HZ", "CQT_FMAX_HZ"]

#: Frequency range of the paper's CQT (fmin 32.7 Hz, 36 bins/octave, 285 bins).
CQT_FMIN_HZ = 32.7
CQT_FMAX_HZ = 32.7 * 2.0 ** (284 / 36)

_SOT_PAPER = dict(window="flattop", spectrum="power", hop_length=256, center=False,
                  pad_end=True, normalized=True, p=2.0, sample_rate=16000.0)
_MSS_PAPER = dict(scales=DEFAULT_SCALES, overlap=0.75, window="hann", center=False,
                  pad_end=True, normalized=True, eps=1e-5)


class WeightedSum(nn.Module):
    """Weighted sum of losses ``sum_k weight_k * loss_k(pred, target)``.

    Parameters
    ----------
    terms : dict of name -> (weight, module)
        The named terms, in order.
    """

    def __init__(self, terms: dict[str, tuple[float, nn.Module]]) -> None:
        super().__init__()
        if not terms:
            raise ValueError("WeightedSum needs at least one term")
        self.names = list(terms)
        self.weights = {k: check_term_weight(f"weight of term {k!r}", w)
                        for k, (w, _) in terms.items()}
        self.losses = nn.ModuleDict({k: m for k, (_, m) in terms.items()})

    def components(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each term's weighted value (for logging), keyed by name."""
        return {k: self.weights[k] * self.losses[k](pred, target) for k in self.names}

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar sum of the weighted terms."""
        terms = iter(self.components(pred, target).values())
        total = next(terms)
        for term in terms:  # same order and rounding as sum(), without its int start
            total = total + term
        return total

    def extra_repr(self) -> str:
        """Term weights shown by ``repr``."""
        return ", ".join(f"{k}: {self.weights[k]}" for k in self.names)


def _params(cls) -> set[str]:
    return {k for k in inspect.signature(cls.__init__).parameters if k != "self"}


def _mss_only(defaults: dict[str, Any]) -> Callable[..., nn.Module]:
    def factory(**overrides: Any) -> nn.Module:
        unknown = set(overrides) - _params(MSSLoss)
        if unknown:
            raise ValueError(f"unknown MSSLoss override(s) {sorted(unknown)}; valid: "
                             f"{sorted(_params(MSSLoss))}")
        return MSSLoss(**{**_MSS_PAPER, **defaults, **overrides})
    return factory


def _sot_mix(sot_defaults: dict[str, Any], mss_weight: float,
             mss_defaults: dict[str, Any] | None = None) -> Callable[..., nn.Module]:
    def factory(**overrides: Any) -> nn.Module:
        overrides = dict(overrides)
        sot_kw = {**_SOT_PAPER, **sot_defaults, **overrides.pop("sot", {})}
        mss_kw = {**_MSS_PAPER, "lin_weight": 1.0, "log_weight": 0.0, **(mss_defaults or {}),
                  **overrides.pop("mss", {})}
        w_sot = float(overrides.pop("sot_weight", 1.0))
        w_mss = float(overrides.pop("mss_weight", mss_weight))
        unknown = set(overrides) - _params(SOTLoss)
        if unknown:
            raise ValueError(
                f"unknown override(s) {sorted(unknown)}; pass SOTLoss parameters "
                f"{sorted(_params(SOTLoss))}, or sot={{...}}, mss={{...}}, sot_weight, mss_weight")
        sot_kw.update(overrides)
        terms: dict[str, tuple[float, nn.Module]] = {"sot": (w_sot, SOTLoss(**sot_kw))}
        if w_mss:
            terms["mss"] = (w_mss, MSSLoss(**mss_kw))
        return WeightedSum(terms)
    return factory


_REGISTRATIONS = {
    "mss-lin": (_mss_only(dict(lin_weight=1.0, log_weight=0.0)),
                "MSS-Lin: L1 on Hann STFT magnitudes, FFT 2048..64, 75% overlap (Torres et al. 2024)"),
    "mss-loglin": (_mss_only(dict(lin_weight=1.0, log_weight=1.0)),
                   "MSS-LogLin: MSS linear + log-magnitude L1 terms (eps 1e-5)"),
    "sot-2048": (_sot_mix(dict(n_fft=2048), 0.05),
                 "SOT-2048: W2^2 on flattop power spectra (n_fft 2048, cutoff) + 0.05 MSS-lin"),
    "sot-512": (_sot_mix(dict(n_fft=512), 0.05),
                "SOT-512: W2^2 on flattop power spectra (n_fft 512, cutoff) + 0.05 MSS-lin"),
    "sot-512-ls": (_sot_mix(dict(n_fft=512, positions="log", log_fmin=CQT_FMIN_HZ,
                                 log_fmax=CQT_FMAX_HZ), 0.05),
                   "SOT-512-LS: SOT-512 with log-frequency (MIDI) positions, really applied "
                   "+ 0.05 MSS-lin"),
    "sot-singlescale": (_sot_mix(dict(n_fft=2048), 0.1, dict(scales=(512,))),
                        "SOT-SingleScale: SOT-2048 + 0.1 MSS-lin at FFT size 512 only"),
    "sot-nocut": (_sot_mix(dict(n_fft=2048, cutoff=False), 0.05),
                  "SOT-NoCut: SOT-2048 without the frequency cutoff (both frames normalized) "
                  "+ 0.05 MSS-lin"),
}

for _name, (_factory, _desc) in _REGISTRATIONS.items():
    _factory.__name__ = "make_" + _name.replace("-", "_")
    _factory.__doc__ = _desc
    LOSSES.register(_name, _factory, description=_desc)
