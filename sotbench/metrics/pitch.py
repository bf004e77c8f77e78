"""Single-pitch metrics of paper 000: RPA, RCA (``mir_eval.melody``) and the octave difference.

Every frame is treated as voiced (the synthetic tones are always voiced and
the model always outputs a pitch), and the estimates are compared with the
constant true f0 of their example, as in the authors' evaluation.

* RPA -- raw pitch accuracy: fraction of frames whose estimate lies strictly
  within ``cent_tolerance`` (50) cents of the reference
  (``mir_eval.melody.raw_pitch_accuracy``).
* RCA -- raw chroma accuracy: the same, ignoring whole-octave errors
  (``mir_eval.melody.raw_chroma_accuracy``).
* OD -- mean octave difference: per frame ``sign(d) * floor((|d| + 50) / 1200)``
  with ``d = cents(estimate) - cents(reference)``, averaged.  **Sign
  convention (the paper's Table 1): negative = the estimate lies below the
  reference** (e.g. -1 = one octave too low, +1 = one octave too high); errors
  under 1150 cents count as 0.  The authors' evaluation script computes the
  offset with ``d = cents(reference) - cents(estimate)`` and then multiplies
  the mean by -1 (``eval_paper.py``); this module applies that sign directly,
  so its numbers sit next to Table 1's with the same meaning.

RPA and RCA are returned as fractions in [0, 1] (mir_eval's convention); the
``synth-ae`` task reports them in percent like the paper.
"""
from __future__ import annotations

import mir_eval.melody as melody
import numpy as np

__all__ = ["raw_pitch_accuracy", "raw_chroma_accuracy", "octave_differences", "octave_difference",
           "pitch_metrics"]


def _prepare(reference_hz, estimate_hz) -> tuple[np.ndarray, np.ndarray]:
    """Broadcast reference to the estimate's shape, flatten, validate (Hz, > 0, finite)."""
    est = np.asarray(_to_numpy(estimate_hz), dtype=np.float64)
    ref = np.asarray(_to_numpy(reference_hz), dtype=np.float64)
    if ref.ndim == est.ndim - 1:  # one f0 per example against (B, T) frames
        ref = ref[..., None]
    try:
        ref, est = np.broadcast_arrays(ref, est)
    except ValueError:
        raise ValueError(f"reference f0 of shape {ref.shape} does not match estimates of shape "
                         f"{est.shape}; pass (B,) or (B, T) references for (B, T) estimates") from None
    ref, est = ref.ravel(), est.ravel()
    if ref.size == 0:
        raise ValueError("no frames to score; pass at least one f0 value")
    for name, values in (("reference", ref), ("estimate", est)):
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            bad = values[~(np.isfinite(values) & (values > 0))]
            raise ValueError(f"{name} f0 values must be finite and > 0 Hz (every frame is voiced); "
                             f"got {bad.size} invalid value(s), e.g. {bad[0]!r}")
    return ref, est


def _to_numpy(x):
    if hasattr(x, "detach"):
        return x.detach().cpu().double().numpy()
    return x


def _cents(ref: np.ndarray, est: np.ndarray):
    return melody.hz2cents(ref), melody.hz2cents(est), np.ones_like(ref)


def raw_pitch_accuracy(reference_hz, estimate_hz, cent_tolerance: float = 50.0) -> float:
    """Fraction of frames within ``cent_tolerance`` cents of the reference (mir_eval).

    Parameters
    ----------
    reference_hz : array-like, shape (B,), (B, T) or (T,)
        True f0 in Hz (one per example is broadcast over its frames).
    estimate_hz : array-like, shape (B, T) or (T,)
        Estimated f0 in Hz.
    cent_tolerance : float
        Cents (paper: 50, i.e. half a semitone).

    Returns
    -------
    float in [0, 1]
    """
    ref, est = _prepare(reference_hz, estimate_hz)
    ref_c, est_c, voicing = _cents(ref, est)
    return float(melody.raw_pitch_accuracy(voicing, ref_c, voicing, est_c, cent_tolerance=cent_tolerance))


def raw_chroma_accuracy(reference_hz, estimate_hz, cent_tolerance: float = 50.0) -> float:
    """Like :func:`raw_pitch_accuracy` but octave errors are forgiven (mir_eval). Fraction in [0, 1]."""
    ref, est = _prepare(reference_hz, estimate_hz)
    ref_c, est_c, voicing = _cents(ref, est)
    return float(melody.raw_chroma_accuracy(voicing, ref_c, voicing, est_c, cent_tolerance=cent_tolerance))


def octave_differences(reference_hz, estimate_hz) -> np.ndarray:
    """Per-frame signed octave offsets (integers as float64), flattened.

    ``sign(d) * floor((|d| + 50) / 1200)`` with ``d = cents(est) - cents(ref)``;
    negative = estimate below the reference (the paper's Table 1 sign).
    """
    ref, est = _prepare(reference_hz, estimate_hz)
    ref_c, est_c, _ = _cents(ref, est)
    d = est_c - ref_c
    return np.sign(d) * np.floor((np.abs(d) + 50.0) / 1200.0)


def octave_difference(reference_hz, estimate_hz) -> float:
    """Mean signed octave difference (OD), in octaves; negative = estimates too low (paper's sign)."""
    return float(np.mean(octave_differences(reference_hz, estimate_hz)))


def pitch_metrics(reference_hz, estimate_hz, cent_tolerance: float = 50.0) -> dict:
    """RPA and RCA in percent (0-100) and OD in octaves, as the paper reports them."""
    return {"rpa": 100.0 * raw_pitch_accuracy(reference_hz, estimate_hz, cent_tolerance),
            "rca": 100.0 * raw_chroma_accuracy(reference_hz, estimate_hz, cent_tolerance),
            "od": octave_difference(reference_hz, estimate_hz)}
