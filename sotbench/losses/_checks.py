"""Input rules shared by the spectral losses: low-precision dtypes, empty batches, term weights."""
from __future__ import annotations

import math

import torch

__all__ = ["LOW_PRECISION", "compute_dtype", "check_term_weight", "check_nonempty"]

#: Dtypes computed in float32 and returned in the input dtype (torch's CPU FFT
#: and the compiled W_p kernel have no float16/bfloat16 path, and their
#: cumulative sums would lose the small spectral weights).
LOW_PRECISION = (torch.float16, torch.bfloat16)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a loss computes in for inputs of ``dtype`` (float32 for float16/bfloat16)."""
    return torch.float32 if dtype in LOW_PRECISION else dtype


def check_term_weight(name: str, value: object, *, allow_zero: bool = True) -> float:
    """Return ``value`` as a float, or raise ValueError unless it is finite and >= 0."""
    if isinstance(value, bool):
        raise ValueError(f"{name}={value!r} must be a real number >= 0, not a bool")
    try:
        w = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be a real number >= 0") from None
    if not math.isfinite(w) or w < 0 or (w == 0 and not allow_zero):
        need = "> 0" if not allow_zero else ">= 0"
        raise ValueError(f"{name}={value!r} must be a finite number {need} (a term weight)")
    return w


def check_nonempty(x: torch.Tensor, what: str) -> None:
    """Raise ValueError for an empty batch, whose mean loss is undefined."""
    if x.shape[0] == 0:
        raise ValueError(f"{what}: empty batch (shape {tuple(x.shape)}); the mean loss over "
                         f"no signals is undefined. Pass at least one signal, or call "
                         f"frame_losses() for per-frame values")
