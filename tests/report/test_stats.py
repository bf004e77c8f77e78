"""Report statistics: interval coverage, paired differences, edge cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sotbench.report import stats


def _binomial_tolerance(p: float, k: int, z: float = 4.5) -> float:
    """z standard errors of a coverage count over k repetitions (z=4.5: a false failure < 1e-5 per draw)."""
    return z * math.sqrt(p * (1 - p) / k)


@pytest.mark.property
@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from(["normal", "uniform", "exponential"]),
       n=st.integers(25, 40))
def test_bootstrap_interval_covers_true_mean_at_nominal_rate(seed, shape, n):
    # K independent samples of n units; count how often the 95 % BCa interval covers the true mean.
    # Tolerance: binomial error of the count (4.5 sigma) plus the known small-sample undercoverage of
    # bootstrap intervals of a mean (O(1/n): at most ~3 points at n >= 25 for these shapes).
    rng = np.random.default_rng(seed)
    k = 150
    draw = {"normal": (lambda: rng.normal(3.0, 2.0, n), 3.0),
            "uniform": (lambda: rng.uniform(0.0, 1.0, n), 0.5),
            "exponential": (lambda: rng.exponential(1.0, n), 1.0)}[shape]
    hits = sum(stats.bootstrap_ci(draw[0](), n_resamples=999, seed=i).excludes(draw[1]) is False
               for i in range(k))
    coverage = hits / k
    assert abs(coverage - 0.95) <= _binomial_tolerance(0.95, k) + 0.03, coverage


def test_t_interval_coverage_is_exact_for_normal_data():
    rng = np.random.default_rng(1)
    k = 2000
    hits = sum(not stats.t_ci(rng.normal(0.0, 1.0, 3)).excludes(0.0) for _ in range(k))
    assert abs(hits / k - 0.95) <= _binomial_tolerance(0.95, k)


@pytest.mark.property
@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=30))
def test_zero_difference_is_not_significant(values):
    # a symmetric set of differences (x and -x) has mean 0: never significant
    a = np.array(values + [-v for v in values])
    res = stats.paired_bootstrap(a, np.zeros_like(a), n_resamples=999)
    assert res.delta.mean == pytest.approx(0.0, abs=1e-9)
    assert not res.significant
    assert res.p_wilcoxon > 0.05 or math.isnan(res.p_wilcoxon)


@pytest.mark.property
@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=2, max_size=30))
def test_identical_rows_give_zero(values):
    res = stats.paired_bootstrap(values, values, n_resamples=999)
    assert (res.delta.mean, res.delta.low, res.delta.high) == (0.0, 0.0, 0.0)
    assert res.p_wilcoxon == 1.0 and not res.significant
    assert not stats.paired_t(values, values).significant


def test_clear_difference_is_significant_and_signed():
    rng = np.random.default_rng(0)
    b = rng.uniform(40, 60, 10)
    res = stats.paired_bootstrap(b + 5 + rng.normal(0, 0.5, 10), b)
    assert res.significant and 4 < res.delta.low < res.delta.mean < res.delta.high < 6
    assert res.p_wilcoxon < 0.01  # 10 positive differences: exact p = 2 / 1024


def test_matches_scipy_directly_and_is_deterministic():
    from scipy.stats import bootstrap

    values = [59.1, 62.3, 48.0, 70.2, 55.5, 61.0, 66.6, 52.2, 58.8, 63.3]
    ours = stats.bootstrap_ci(values)
    ref = bootstrap((np.array(values),), np.mean, n_resamples=stats.N_RESAMPLES,
                    random_state=np.random.default_rng(stats.SEED))
    assert (ours.low, ours.high) == (ref.confidence_interval.low, ref.confidence_interval.high)
    assert ours == stats.bootstrap_ci(values) and ours.n == 10 and ours.method == "bca"


def test_single_unit_has_no_interval_and_bad_input_is_rejected():
    one = stats.bootstrap_ci([42.0])
    assert one.mean == 42.0 and math.isnan(one.low) and not one.has_interval and one.method == "none"
    assert math.isnan(stats.t_ci([1.0]).high)
    with pytest.raises(ValueError, match="NaN"):
        stats.bootstrap_ci([1.0, float("nan")])
    with pytest.raises(ValueError, match="same units"):
        stats.paired_bootstrap([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="confidence"):
        stats.bootstrap_ci([1.0, 2.0], confidence=95)
