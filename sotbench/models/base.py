"""The interface every multi-pitch model implements.

A :class:`SalienceModel` turns mono audio into a :class:`~sotbench.types.Salience`
over known frequencies (Hz) and frame times (s).  The MPE task scores every
model through this interface alone (peak picking, threshold, mir_eval), so
SS-MPE, the DSP baselines and the peers are compared the same way.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from sotbench.types import Salience

__all__ = ["SalienceModel", "ModelUnavailable", "count_parameters"]


def count_parameters(module) -> int:
    """Number of trainable parameters (``requires_grad``) of a ``torch.nn.Module``.

    The one home of this helper: every model and task imports it from here.
    """
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


class ModelUnavailable(RuntimeError):
    """Raised by a model factory whose optional dependencies are missing.

    The message must say what is missing and give the install command.
    """


@runtime_checkable
class SalienceModel(Protocol):
    """A multi-pitch estimator.

    Attributes
    ----------
    name : str
        Registry name.
    threshold : float
        Default peak-picking threshold on the salience (paper 002: 0.5 for
        SS-MPE, 0.3 for the peers).
    """

    name: str
    threshold: float

    def salience(self, audio: np.ndarray, sample_rate: int, *, progress: bool = False) -> Salience:
        """Salience-gram of a whole mono track.

        Parameters
        ----------
        audio : ndarray, shape (n_samples,)
            Mono float32 audio in [-1, 1].
        sample_rate : int
            Sample rate of ``audio`` in Hz; the model resamples as it needs.
        progress : bool
            Show a progress bar for long tracks.
        """
        ...
