"""Uncertainty and paired significance for the leaderboard.

Conventions
-----------
* All functions take plain sequences of per-unit scores (one value per track,
  per seed or per test example) in the metric's own unit (percent, dB², octaves)
  and return numbers in the same unit.
* The statistic is always the **unweighted mean** over units, as in the
  leaderboard's point estimates.
* Confidence intervals are two-sided at level ``confidence`` (default 0.95).
  Bootstrap intervals come from :func:`scipy.stats.bootstrap` with the BCa
  method, ``n_resamples`` resamples (default :data:`N_RESAMPLES`) and a fixed
  seed (default :data:`SEED`): the same input always gives the same interval.
* A paired comparison of rows ``a`` and ``b`` on the same units reports
  ``delta = mean(a - b)`` with a paired bootstrap interval (resampling the
  units, i.e. the differences), and the two-sided Wilcoxon signed-rank p-value
  (:func:`scipy.stats.wilcoxon`, zero differences dropped, "wilcox" method) as
  a second opinion.  The difference is called **significant** when the
  bootstrap interval excludes 0; the p-value is reported, not used for the call.
* Fewer than two units: no interval can be estimated; bounds are NaN and the
  report prints ``–`` (never a zero-width interval).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["N_RESAMPLES", "SEED", "CONFIDENCE", "Interval", "Paired", "bootstrap_ci", "t_ci", "paired_bootstrap",
           "paired_t", "METHOD_NOTE"]

#: Bootstrap resamples used by the report.
N_RESAMPLES = 9999
#: Seed of the bootstrap's random generator (fixed: reports are reproducible).
SEED = 0
#: Two-sided confidence level of every interval in the report.
CONFIDENCE = 0.95

METHOD_NOTE = (f"95 % intervals: BCa bootstrap of the mean (scipy.stats.bootstrap, {N_RESAMPLES} resamples, "
               f"seed {SEED}) over tracks or test examples; Student-t interval of the mean over seeds. "
               "Paired differences: paired bootstrap of the mean difference over the same units (significant, "
               "marked *, when its 95 % interval excludes 0) with the two-sided Wilcoxon signed-rank p-value as a "
               "second opinion.")


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval.

    Attributes
    ----------
    mean : float
        Unweighted mean of the units (NaN when there are none).
    low, high : float
        Interval bounds (NaN when ``n < 2``).
    n : int
        Number of units (tracks, seeds, test examples).
    method : str
        ``"bca"``, ``"percentile"``, ``"t"``, ``"exact"`` (all units equal) or ``"none"`` (``n < 2``).
    """

    mean: float
    low: float
    high: float
    n: int
    method: str

    @property
    def has_interval(self) -> bool:
        """True when both bounds are finite (``n >= 2``)."""
        return math.isfinite(self.low) and math.isfinite(self.high)

    def excludes(self, value: float = 0.0) -> bool:
        """True when the interval exists and ``value`` lies outside it."""
        return self.has_interval and not (self.low <= value <= self.high)


@dataclass(frozen=True)
class Paired:
    """A paired comparison ``a - b`` over the same units.

    Attributes
    ----------
    delta : Interval
        Mean difference with its paired interval.
    p_wilcoxon : float
        Two-sided Wilcoxon signed-rank p-value (1.0 when every difference is 0;
        NaN when ``n < 2``).
    significant : bool
        ``delta`` interval excludes 0.
    """

    delta: Interval
    p_wilcoxon: float
    significant: bool


def _as_array(values: Sequence[float], what: str) -> np.ndarray:
    arr = np.asarray([np.nan if v is None else v for v in values], dtype=float).ravel()
    if np.isnan(arr).any():
        raise ValueError(f"{what} contains {int(np.isnan(arr).sum())} missing/NaN value(s); drop the units "
                         "that were not scored before computing an interval")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains infinite values; the mean is undefined")
    return arr


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence} must lie in (0, 1), e.g. 0.95")


def bootstrap_ci(values: Sequence[float], *, confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                 seed: int = SEED, method: str = "BCa") -> Interval:
    """Bootstrap confidence interval of the mean of ``values``.

    Parameters
    ----------
    values : sequence of float, shape (n,)
        One score per unit (e.g. per-track Acc in percent).
    confidence : float
        Two-sided level in (0, 1).
    n_resamples : int
        Bootstrap resamples (>= 100).
    seed : int
        Seed of :class:`numpy.random.Generator` passed to scipy.
    method : {"BCa", "percentile", "basic"}
        scipy's interval method.  When BCa is undefined (e.g. nearly all units
        equal) the percentile interval is returned instead (``Interval.method``
        says which).

    Returns
    -------
    Interval
        ``n < 2``: bounds NaN, method ``"none"``; all values equal: the
        zero-width interval at that value, method ``"exact"``.
    """
    from scipy import stats

    _check_confidence(confidence)
    if n_resamples < 100:
        raise ValueError(f"n_resamples={n_resamples} is too few for a {confidence:.0%} interval; use >= 1000")
    arr = _as_array(values, "values")
    n = arr.size
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0, "none")
    mean = float(arr.mean())
    if n < 2:
        return Interval(mean, float("nan"), float("nan"), n, "none")
    if np.all(arr == arr[0]):
        return Interval(mean, mean, mean, n, "exact")
    used = method.lower()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DegenerateDataWarning: handled by the fallback below
        res = stats.bootstrap((arr,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                              method=method, random_state=np.random.default_rng(seed), vectorized=True)
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)) and used != "percentile":
        used = "percentile"
        res = stats.bootstrap((arr,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                              method="percentile", random_state=np.random.default_rng(seed), vectorized=True)
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Interval(mean, low, high, n, used)


def t_ci(values: Sequence[float], *, confidence: float = CONFIDENCE) -> Interval:
    """Student-t confidence interval of the mean (for a handful of seeds).

    ``mean ± t_{(1+c)/2, n-1} · s / sqrt(n)`` with the sample standard deviation
    ``s`` (ddof=1).  With 2–5 seeds a bootstrap has too few distinct resamples;
    the t interval is wide, which is the honest answer.  ``n < 2``: bounds NaN.
    """
    from scipy import stats

    _check_confidence(confidence)
    arr = _as_array(values, "values")
    n = arr.size
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0, "none")
    mean = float(arr.mean())
    if n < 2:
        return Interval(mean, float("nan"), float("nan"), n, "none")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * arr.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n, "t")


def _pair(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    x, y = _as_array(a, "a"), _as_array(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"paired comparison needs the same units in the same order; got {x.size} and {y.size} "
                         "values (align both rows on the common tracks/seeds first)")
    return x - y


def _wilcoxon(d: np.ndarray) -> float:
    from scipy import stats

    if d.size < 2:
        return float("nan")
    if np.all(d == 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample / ties notes
        return float(stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, confidence: float = CONFIDENCE,
                     n_resamples: int = N_RESAMPLES, seed: int = SEED) -> Paired:
    """Paired bootstrap of ``mean(a - b)`` over the same units, plus Wilcoxon.

    Parameters
    ----------
    a, b : sequence of float, shape (n,)
        Scores of two rows on the same units, aligned (unit i of ``a`` is unit i
        of ``b``).

    Returns
    -------
    Paired
        Identical rows give ``delta.mean == 0`` with the zero-width interval,
        p = 1, not significant.
    """
    d = _pair(a, b)
    delta = bootstrap_ci(d, confidence=confidence, n_resamples=n_resamples, seed=seed)
    return Paired(delta, _wilcoxon(d), delta.excludes(0.0))


def paired_t(a: Sequence[float], b: Sequence[float], *, confidence: float = CONFIDENCE) -> Paired:
    """Paired Student-t interval of ``mean(a - b)`` (for seeds), plus Wilcoxon.

    With n seeds the smallest two-sided Wilcoxon p is ``2 / 2**n`` (0.25 for 3
    seeds): it cannot reach 0.05 below 6 seeds.
    """
    d = _pair(a, b)
    if d.size >= 2 and np.all(d == d[0]):
        delta = Interval(float(d[0]), float(d[0]), float(d[0]), d.size, "exact")
    else:
        delta = t_ci(d, confidence=confidence)
    return Paired(delta, _wilcoxon(d), delta.excludes(0.0))
