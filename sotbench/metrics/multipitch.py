"""Frame-level multi-pitch evaluation (paper 002, section 4.2).

Protocol, applied identically to every model (SS-MPE, DSP baselines, peers):

1. **Peak picking** (:func:`pick_peaks`): in every frame keep the local maxima
   of the salience along frequency.  A bin is a peak when it is *strictly*
   greater than both neighbours; the rows beyond the first and last bins count
   as 0 (so an edge bin with a positive value above its one neighbour is a
   peak).  This is the authors' rule (``scipy.signal.argrelmax`` on the
   zero-padded salience).  **Plateaus** (two or more adjacent bins with the
   same maximal value, e.g. a float32 sigmoid saturated at exactly 1.0) are
   *not* peaks under this rule (``plateau="drop"``, default, the authors');
   ``plateau="centre"`` instead keeps one peak at the centre of a plateau that
   rises above both its outer neighbours (lower-middle bin for even widths).
2. **Threshold**: a peak is active when its salience is ``>= threshold``
   (per model; 0.5 for SS-MPE, 0.3 for the peers).
3. **Hz**: active bins become their centre frequencies in Hz.
4. **Scoring** (:func:`evaluate_multipitch`): ``mir_eval.multipitch.evaluate``
   per track.  When the estimate frame times differ from the reference frame
   times, mir_eval resamples the *estimates* onto the reference times by
   nearest neighbour (``scipy.interpolate.interp1d(kind="nearest")`` on the
   frame index); reference frames outside the estimate time range get no
   estimate.  A pitch counts as correct within half a semitone (mir_eval's
   default window).  Precision, recall and accuracy are mir_eval's
   (TP/n_est, TP/n_ref, TP/(n_est + n_ref - TP), summed over all frames of the
   track); F1 = 2 P R / (P + R) (0 when P + R = 0).
5. **Averaging** (:func:`average_scores`): the unweighted mean over tracks of
   each per-track score (F1 included), in percent.

Edge cases (never a silent NaN):

* A track whose reference has no pitch in any frame: recall is undefined.
  It is scored with mir_eval's convention (undefined ratios = 0), flagged
  ``ref_empty`` and **excluded** from :func:`average_scores` with a warning.
* A model that estimates no pitch in any frame: precision = 0 (mir_eval's
  convention), recall = 0; flagged ``est_empty`` with a warning and averaged
  normally (it is a genuine failure).
* Estimated frequencies outside mir_eval's accepted range [20, 5000] Hz are
  dropped with a warning (mir_eval would raise); references outside it raise
  ``ValueError``.
"""
from __future__ import annotations

import math
import warnings
from typing import Iterable, Sequence

import numpy as np

from sotbench.types import Salience

__all__ = [
    "pick_peaks",
    "salience_to_multipitch",
    "evaluate_multipitch",
    "evaluate_salience",
    "average_scores",
    "SCORE_KEYS",
]

#: Keys of the percentage scores returned per track and on average.
SCORE_KEYS = ("p", "r", "acc", "f1")


def pick_peaks(values: np.ndarray, threshold: float = 0.5, *, plateau: str = "drop") -> np.ndarray:
    """Boolean mask of active pitches: local maxima along frequency, thresholded.

    Parameters
    ----------
    values : ndarray, shape (F, T)
        Salience (frequency along axis 0).
    threshold : float
        A peak is kept when ``value >= threshold``.
    plateau : {"drop", "centre"}
        How a run of equal maximal values is handled (see module docstring).

    Returns
    -------
    ndarray of bool, shape (F, T)
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"salience has shape {v.shape}; expected (n_freqs, n_frames)")
    if not np.all(np.isfinite(v)):
        raise ValueError("salience contains NaN or Inf; check the model output")
    if not (math.isfinite(threshold)):
        raise ValueError(f"threshold={threshold} must be a finite number")
    if plateau not in ("drop", "centre"):
        raise ValueError(f"plateau={plateau!r} is unknown; use 'drop' or 'centre'")
    F, T = v.shape
    if F == 0 or T == 0:
        return np.zeros((F, T), dtype=bool)
    zero = np.zeros((1, T))
    padded = np.concatenate([zero, v, zero], axis=0)
    centre = padded[1:-1]
    peaks = (centre > padded[:-2]) & (centre > padded[2:])
    if plateau == "centre":
        peaks |= _plateau_centres(padded)
    return peaks & (v >= threshold)


def _plateau_centres(padded: np.ndarray) -> np.ndarray:
    """Centres of runs (length >= 2) of equal values above both outer neighbours."""
    F = padded.shape[0] - 2
    out = np.zeros((F, padded.shape[1]), dtype=bool)
    eq = padded[1:] == padded[:-1]  # eq[i]: padded[i] == padded[i + 1]
    cols = np.nonzero(eq[1:-1].any(axis=0))[0]  # ties between real bins only
    for t in cols:
        col = padded[:, t]
        i = 1
        while i <= F:
            j = i
            while j + 1 <= F and col[j + 1] == col[i]:
                j += 1
            if j > i and col[i] > col[i - 1] and col[i] > col[j + 1]:
                out[(i + j) // 2 - 1, t] = True
            i = j + 1
    return out


def salience_to_multipitch(salience: Salience, threshold: float = 0.5, *,
                           plateau: str = "drop") -> tuple[np.ndarray, list[np.ndarray]]:
    """Frame-level multi-pitch estimate from a salience-gram.

    Parameters
    ----------
    salience : Salience
        Values (F, T) with bin frequencies in Hz and frame times in s.
    threshold : float
        Peak threshold.
    plateau : {"drop", "centre"}
        See :func:`pick_peaks`.

    Returns
    -------
    times_s : ndarray, shape (T,)
    frequencies_hz : list of ndarray
        Active pitches per frame in Hz, ascending (empty arrays when none).
    """
    mask = pick_peaks(salience.values, threshold, plateau=plateau)
    freqs = salience.frequencies_hz
    return (np.asarray(salience.times_s, dtype=np.float64),
            [freqs[np.nonzero(mask[:, t])[0]] for t in range(mask.shape[1])])


def _as_freq_list(freqs: Iterable, what: str) -> list[np.ndarray]:
    out = []
    for f in freqs:
        a = np.atleast_1d(np.asarray(f, dtype=np.float64))
        if a.ndim != 1:
            raise ValueError(f"{what} frame has shape {a.shape}; pass one 1-D array of Hz per frame")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{what} contains NaN or Inf frequencies")
        out.append(a[a > 0])  # 0 / negative = unvoiced by convention
    return out


def evaluate_multipitch(ref_times: np.ndarray, ref_freqs: Sequence, est_times: np.ndarray,
                        est_freqs: Sequence, *, name: str = "track") -> dict:
    """Score one track with ``mir_eval.multipitch`` (percent).

    Parameters
    ----------
    ref_times, est_times : ndarray, shape (T_ref,), (T_est,)
        Frame times in seconds, non-decreasing.
    ref_freqs, est_freqs : sequence of array-like
        Active pitches per frame in Hz (empty = none; values <= 0 are ignored).
    name : str
        Used in warnings.

    Returns
    -------
    dict
        ``p``, ``r``, ``acc``, ``f1`` in percent (0-100); ``n_ref``, ``n_est``
        (pitch counts on the reference grid, after resampling), ``n_frames``;
        ``ref_empty`` / ``est_empty`` flags.
    """
    import mir_eval.multipitch as mpe

    ref_times = np.asarray(ref_times, dtype=np.float64)
    est_times = np.asarray(est_times, dtype=np.float64)
    ref = _as_freq_list(ref_freqs, "reference")
    est = _as_freq_list(est_freqs, "estimate")
    if len(ref) != ref_times.size:
        raise ValueError(f"{name}: {ref_times.size} reference times but {len(ref)} frames of pitches")
    if len(est) != est_times.size:
        raise ValueError(f"{name}: {est_times.size} estimate times but {len(est)} frames of pitches")
    if ref_times.size == 0:
        raise ValueError(f"{name}: the reference has no frames; check the annotation file")
    for f in ref:
        if f.size and (f.min() < mpe.MIN_FREQ or f.max() > mpe.MAX_FREQ):
            raise ValueError(f"{name}: reference frequency outside mir_eval's range "
                             f"[{mpe.MIN_FREQ}, {mpe.MAX_FREQ}] Hz (min {f.min():.2f}, "
                             f"max {f.max():.2f}); are the annotations in Hz?")
    n_drop = 0
    for i, f in enumerate(est):
        keep = (f >= mpe.MIN_FREQ) & (f <= mpe.MAX_FREQ)
        if not keep.all():
            n_drop += int((~keep).sum())
            est[i] = f[keep]
    if n_drop:
        warnings.warn(f"{name}: dropped {n_drop} estimated pitches outside mir_eval's range "
                      f"[{mpe.MIN_FREQ}, {mpe.MAX_FREQ}] Hz", stacklevel=2)
    n_ref = sum(f.size for f in ref)
    ref_empty = n_ref == 0
    if ref_empty:
        warnings.warn(f"{name}: the reference has no pitch in any frame; recall is undefined "
                      "(scored 0 and excluded from dataset averages)", stacklevel=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = mpe.evaluate(ref_times, ref, est_times, est)
        est_on_ref = (est if (est_times.size == ref_times.size
                              and np.allclose(est_times, ref_times))
                      else mpe.resample_multipitch(est_times, est, ref_times))
    expected = ("Estimate times not equal to reference times", "Estimate frequencies are all empty",
                "Reference frequencies are all empty", "Estimated frequencies are empty",
                "Estimated times are empty")
    for w in caught:
        if not str(w.message).startswith(expected):
            warnings.warn(f"{name}: mir_eval: {w.message}", stacklevel=2)
    n_est = sum(np.asarray(f).size for f in est_on_ref)
    est_empty = n_est == 0
    if est_empty and not ref_empty:
        warnings.warn(f"{name}: the estimate has no pitch in any reference frame; "
                      "precision, recall and accuracy are 0", stacklevel=2)
    p, r, acc = (float(scores["Precision"]), float(scores["Recall"]), float(scores["Accuracy"]))
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    out = {"p": 100 * p, "r": 100 * r, "acc": 100 * acc, "f1": 100 * f1,
           "n_ref": int(n_ref), "n_est": int(n_est), "n_frames": int(ref_times.size),
           "ref_empty": bool(ref_empty), "est_empty": bool(est_empty)}
    for k in SCORE_KEYS:
        if not math.isfinite(out[k]):  # defensive: mir_eval should never produce this
            raise RuntimeError(f"{name}: score {k} is {out[k]}; please report this")
    return out


def evaluate_salience(salience: Salience, ref_times: np.ndarray, ref_freqs: Sequence, *,
                      threshold: float = 0.5, plateau: str = "drop", name: str = "track") -> dict:
    """Peak-pick, threshold and score a salience-gram against a reference (percent)."""
    est_times, est_freqs = salience_to_multipitch(salience, threshold, plateau=plateau)
    return evaluate_multipitch(ref_times, ref_freqs, est_times, est_freqs, name=name)


def average_scores(per_track: Sequence[dict] | dict, *, name: str = "dataset") -> dict:
    """Unweighted mean of per-track scores over tracks (percent).

    Parameters
    ----------
    per_track : sequence of dict or dict of dict
        Outputs of :func:`evaluate_multipitch`.  Tracks flagged ``ref_empty``
        are excluded (warning).

    Returns
    -------
    dict
        Mean ``p``, ``r``, ``acc``, ``f1`` and ``n_tracks`` (tracks averaged).

    Raises
    ------
    ValueError
        When no track can be averaged (none given, or all references empty).
    """
    items = list(per_track.values()) if isinstance(per_track, dict) else list(per_track)
    used = [s for s in items if not s.get("ref_empty", False)]
    if len(used) < len(items):
        warnings.warn(f"{name}: {len(items) - len(used)} of {len(items)} tracks have an empty "
                      "reference and are excluded from the average", stacklevel=2)
    if not used:
        raise ValueError(f"{name}: no track to average ({len(items)} given, all with empty "
                         "references or none at all)")
    out = {k: float(np.mean([s[k] for s in used])) for k in SCORE_KEYS}
    out["n_tracks"] = len(used)
    return out
