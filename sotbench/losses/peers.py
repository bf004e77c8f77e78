r"""The SOT authors' loss package ``sot-loss`` as an optional peer (registry losses ``sot-loss-*``).

``sot-loss`` (PyPI, MIT, import name ``sot``; validated version :data:`SOT_LOSS_VERSION`)
is the first author's published implementation of the SOT losses of Torres et
al. (2024).  sotbench uses it twice:

* as an **oracle**: ``tests/losses/test_sot_loss_oracle.py`` checks that
  :func:`sotbench.losses.wasserstein.wasserstein_1d` and
  :class:`sotbench.losses.sot.SOTLoss` give the package's numbers (values and
  gradients) under the corresponding settings below;
* as a **peer**: the registry losses ``sot-loss-2048``, ``sot-loss-512`` and
  ``sot-loss-nocut`` compute the SOT term with the package itself, so a task
  can train with the authors' code in place of sotbench's.

Install it with ``bash scripts/install-peers.sh`` (pinned, ``--no-deps``).  The
package declares ``torchaudio``, whose wheel does not load with the CPU torch
used here; it imports it at module level but uses it only for its mel
transform.  :func:`import_sot_loss` therefore places a stand-in ``torchaudio``
in ``sys.modules`` *only while importing the package* (:func:`sotbench.optional.torchaudio_guard`,
as for the peer models); the stand-in's ``transforms.MelSpectrogram``
raises ``ImportError`` naming the reason.  Everything else in the package
(STFT, CQT/VQT, identity transforms, ``wasserstein_1d``) works.

Settings correspondence
-----------------------
================================  ==================================================
sotbench                          sot-loss 0.1.5
================================  ==================================================
``wasserstein_1d(u, v, x, p)``    ``wasserstein_1d(x, x, u, v, p)`` (positions first,
                                  rows (R, n); both return :math:`W_p^p`)
``max_level=1``                   ``limit_quantile_range=True`` (see "cutoff" below)
``SOTLoss(p=p)``                  ``Wasserstein1DLoss(p=p)``
``window="flattop"`` / "hann"     ``window=`` (scipy name; both periodic windows)
``spectrum="power"``              ``square_magnitude=True``
``spectrum="magnitude"``          ``square_magnitude=False``
``positions="linear"``            ``bin_position_scaling="normalized"``
                                  (``linspace(0, 1, n_fft // 2 + 1)``)
``cutoff=True``                   ``normalize=True, balanced=False,
                                  quantile_lowpass=True`` with the *target* as the
                                  package's first argument ``x``
``cutoff=False``                  ``normalize=True, balanced=True,
                                  quantile_lowpass=False``
``silence_threshold``             no counterpart: the package divides by
                                  ``mass + eps`` (``eps=0`` for exact equality)
``root=True``                     ``apply_root=True`` (the package takes
                                  ``sqrt(W + eps)`` for p = 2)
``center="reflect"``              the package's STFT framing (always centred with
                                  reflect padding; ``normalized=False``)
``normalized``                    none; cancels in the frame normalization
``axis="time"``                   ``dim=-2`` (positions: frame times in s here,
                                  frame indices there: costs differ by
                                  ``(hop / sample_rate) ** p``)
``normalize=False, cutoff=False`` ``normalize=False, balanced=False`` (raw spectra)
``MultiResolutionSOTLoss``        ``MultiResolutionSOTLoss`` (same defaults)
``circular_wasserstein_1d``       ``wasserstein_1d_circle`` / ``circular=True``
                                  (equal when the first support point is 0)
``CQTSOTLoss(positions="hz")``    ``transform="cqt"`` (``"normalized"`` positions)
``positions="log"``               none for the STFT transform
mean over batch x frames          ``reduce=True`` (mean over rows)
================================  ==================================================

Differences by design (each tested in the oracle tests):

* **cutoff**: sotbench integrates the levels up to exactly 1; the package
  drops every interval whose upper level exceeds 1, including the part of the
  straddling interval that lies below 1.  They differ by
  :math:`(1 - r_-) \, c` where :math:`r_-` is the largest merged level
  :math:`\le 1` and :math:`c` the cost of the straddling interval; zero when 1
  is itself a level.
* **silent target frames**: sotbench gives 0 (and a zero gradient); the
  package with ``balanced=False`` divides the prediction by ``eps``, so its
  value is an artefact of ``eps``.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
import types
import warnings
from typing import Any, Callable

import torch
from torch import nn

from sotbench.optional import stand_in_module, torchaudio_guard

__all__ = ["LossUnavailable", "SOT_LOSS_DIST", "SOT_LOSS_VERSION", "INSTALL_COMMAND",
           "import_sot_loss", "sot_loss_available", "SOTLossPeer"]

SOT_LOSS_DIST = "sot-loss"
#: Version the oracle tests and the peer adapter were validated with.
SOT_LOSS_VERSION = "0.1.5"
INSTALL_COMMAND = "bash scripts/install-peers.sh"


class LossUnavailable(RuntimeError):
    """Raised by a loss factory whose optional package is missing (message: the install command)."""


def _unavailable(reason: str) -> LossUnavailable:
    return LossUnavailable(
        f"this loss needs the optional package {SOT_LOSS_DIST}=={SOT_LOSS_VERSION} ({reason}). "
        f"Install it with `{INSTALL_COMMAND}` (equivalent to: pip install --no-deps "
        f"{SOT_LOSS_DIST}=={SOT_LOSS_VERSION}).")


def sot_loss_available() -> tuple[bool, str]:
    """Whether ``sot-loss`` is installed, without importing it; ``(ok, reason)`` for ``sotbench ls``."""
    if importlib.util.find_spec("sot") is None:
        return False, f"{SOT_LOSS_DIST} not installed; run `{INSTALL_COMMAND}`"
    try:
        version = importlib.metadata.version(SOT_LOSS_DIST)
    except importlib.metadata.PackageNotFoundError:
        return False, f"a module `sot` exists but not the {SOT_LOSS_DIST} distribution"
    if version != SOT_LOSS_VERSION:
        return True, f"{SOT_LOSS_DIST} {version} (validated: {SOT_LOSS_VERSION})"
    return True, ""


def _torchaudio_stand_in(reason: str) -> types.ModuleType:
    class MelSpectrogram:  # the only torchaudio name sot-loss uses
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise ImportError(
                "sot-loss's mel transform needs torchaudio, which is not usable here ("
                + reason + "); use sotbench's mel SOT loss instead")

    return stand_in_module(reason, "sot-loss",
                           transforms=types.SimpleNamespace(MelSpectrogram=MelSpectrogram))


def import_sot_loss() -> types.ModuleType:
    """Import and return ``sot.losses`` (sot-loss), or raise :class:`LossUnavailable`.

    Warns when the installed version differs from :data:`SOT_LOSS_VERSION`.
    """
    mod = sys.modules.get("sot.losses")
    if mod is not None:
        return mod
    ok, why = sot_loss_available()
    if not ok:
        raise _unavailable(why)
    if why:
        warnings.warn(f"{why}; the settings correspondence may not hold", stacklevel=2)
    try:
        with torchaudio_guard(_torchaudio_stand_in):
            return importlib.import_module("sot.losses")
    except Exception as err:  # ImportError, or a broken install
        raise _unavailable(f"import sot.losses failed: {type(err).__name__}: {err}") from err


class SOTLossPeer(nn.Module):
    """The package's ``Wasserstein1DLoss`` on signals, called as sotbench's losses are.

    Parameters
    ----------
    n_fft, hop_length : int
        STFT size and hop in samples (``fft_size``, ``hop_length``).
    window : str, default "flattop"
        scipy window name.
    spectrum : {"power", "magnitude"}, default "power"
        ``square_magnitude=True`` / ``False``.
    p : float, default 2
        Order of the cost; the loss is :math:`W_p^p`.
    cutoff : bool, default True
        ``balanced=False, quantile_lowpass=True`` (the target normalizes both
        frames) or ``balanced=True, quantile_lowpass=False`` (SOT-NoCut).
    sample_rate : float, default 16000
        Passed to the package (not used by its linear STFT positions).
    eps : float, default 1e-8
        The package's normalization epsilon (its default).

    Notes
    -----
    ``forward(pred, target)`` takes signals (B, N) and returns a scalar: the
    package's mean over frames and batch, called as ``loss(target, pred)``
    because the package's first argument normalizes both frames under the
    cutoff.  Framing is the package's own (``center=True``, reflect padding).
    Inputs are computed in float32 (the package's window is float32).
    """

    def __init__(self, n_fft: int = 2048, hop_length: int = 256, *, window: str = "flattop",
                 spectrum: str = "power", p: float = 2.0, cutoff: bool = True,
                 sample_rate: float = 16000.0, eps: float = 1e-8) -> None:
        super().__init__()
        if spectrum not in ("power", "magnitude"):
            raise ValueError(f"spectrum={spectrum!r}; use 'power' or 'magnitude'")
        sot = import_sot_loss()
        self.cutoff = bool(cutoff)
        self.inner = sot.Wasserstein1DLoss(
            transform="stft", fft_size=int(n_fft), hop_length=int(hop_length), window=window,
            square_magnitude=spectrum == "power", normalize=True, balanced=not self.cutoff,
            quantile_lowpass=self.cutoff, p=p, sample_rate=sample_rate, eps=eps,
            bin_position_scaling="normalized")
        self.n_fft = int(n_fft)
        self.settings = dict(n_fft=int(n_fft), hop_length=int(hop_length), window=window,
                             spectrum=spectrum, p=float(p), cutoff=self.cutoff, eps=float(eps))

    def extra_repr(self) -> str:
        """Settings shown by ``repr``."""
        return ", ".join(f"{k}={v!r}" for k, v in self.settings.items())

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar loss between signals ``pred`` and ``target`` of shape (B, N)."""
        from sotbench.dsp.stft import check_signals
        from sotbench.losses._checks import check_nonempty

        pred, target = check_signals(pred, target, self.n_fft)
        check_nonempty(pred, "SOTLossPeer")
        dtype = pred.dtype
        out = self.inner(target.float(), pred.float())
        return out.to(dtype)


def _peer_factory(sot_defaults: dict[str, Any], mss_weight: float) -> Callable[..., nn.Module]:
    def factory(**overrides: Any) -> nn.Module:
        from sotbench.losses.configs import _MSS_PAPER, WeightedSum
        from sotbench.losses.mss import MSSLoss

        overrides = dict(overrides)
        mss_kw = {**_MSS_PAPER, "lin_weight": 1.0, "log_weight": 0.0, **overrides.pop("mss", {})}
        w_sot = float(overrides.pop("sot_weight", 1.0))
        w_mss = float(overrides.pop("mss_weight", mss_weight))
        sot_kw = {**sot_defaults, **overrides.pop("sot", {}), **overrides}
        valid = {"n_fft", "hop_length", "window", "spectrum", "p", "cutoff", "sample_rate", "eps"}
        unknown = set(sot_kw) - valid
        if unknown:
            raise ValueError(f"unknown override(s) {sorted(unknown)}; valid: {sorted(valid)}, "
                             f"sot={{...}}, mss={{...}}, sot_weight, mss_weight")
        terms: dict[str, tuple[float, nn.Module]] = {"sot": (w_sot, SOTLossPeer(**sot_kw))}
        if w_mss:
            terms["mss"] = (w_mss, MSSLoss(**mss_kw))
        return WeightedSum(terms)
    return factory


_PEER_SOT = dict(window="flattop", spectrum="power", hop_length=256, p=2.0, sample_rate=16000.0)

#: name -> (SOT-term settings, MSS-lin weight, description)
PEER_LOSSES = {
    "sot-loss-2048": (dict(_PEER_SOT, n_fft=2048), 0.05,
                      "sot-2048 with the SOT term from the authors' package sot-loss 0.1.5 "
                      "(W2^2, flattop power, cutoff) + 0.05 MSS-lin"),
    "sot-loss-512": (dict(_PEER_SOT, n_fft=512), 0.05,
                     "sot-512 with the SOT term from sot-loss 0.1.5 + 0.05 MSS-lin"),
    "sot-loss-nocut": (dict(_PEER_SOT, n_fft=2048, cutoff=False), 0.05,
                       "sot-nocut with the SOT term from sot-loss 0.1.5 (balanced) + 0.05 MSS-lin"),
}


def _register() -> None:
    from sotbench.registry import LOSSES

    for name, (sot_kw, w_mss, desc) in PEER_LOSSES.items():
        factory = _peer_factory(sot_kw, w_mss)
        factory.__name__ = "make_" + name.replace("-", "_")
        factory.__doc__ = desc
        LOSSES.register(name, factory, description=desc, install=INSTALL_COMMAND,
                        available=sot_loss_available, peer=SOT_LOSS_DIST)


_register()
