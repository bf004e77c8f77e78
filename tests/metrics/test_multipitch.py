"""Tests of the multi-pitch protocol: peak picking by hand, scores against mir_eval."""
from __future__ import annotations

import warnings

import mir_eval.multipitch
import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sotbench.metrics.multipitch import (
    average_scores,
    evaluate_multipitch,
    evaluate_salience,
    pick_peaks,
    salience_to_multipitch,
)
from sotbench.types import Salience


def test_pick_peaks_by_hand():
    col = np.array([0.6, 0.2, 0.7, 0.9, 0.4, 0.5, 0.5, 0.1, 0.3, 0.8])
    # peaks: 0 (edge, above its neighbour), 3, 9 (edge); 5-6 plateau dropped; 8 not a peak
    mask = pick_peaks(col[:, None], threshold=0.5)[:, 0]
    assert np.nonzero(mask)[0].tolist() == [0, 3, 9]
    # threshold is inclusive
    assert np.nonzero(pick_peaks(col[:, None], threshold=0.8)[:, 0])[0].tolist() == [3, 9]
    assert np.nonzero(pick_peaks(col[:, None], threshold=0.91)[:, 0])[0].tolist() == []
    # plateau="centre" keeps one bin for the 0.5-0.5 plateau (lower middle)
    centre = pick_peaks(col[:, None], threshold=0.5, plateau="centre")[:, 0]
    assert np.nonzero(centre)[0].tolist() == [0, 3, 5, 9]
    odd = np.array([0.1, 1.0, 1.0, 1.0, 0.2, 0.3])
    assert np.nonzero(pick_peaks(odd[:, None], 0.5, plateau="centre")[:, 0])[0].tolist() == [2]
    assert not pick_peaks(odd[:, None], 0.5).any()  # saturated sigmoid plateau: dropped
    # a plateau that does not rise above a neighbour is no peak
    shelf = np.array([0.1, 0.6, 0.6, 0.9, 0.2])
    assert np.nonzero(pick_peaks(shelf[:, None], 0.5, plateau="centre")[:, 0])[0].tolist() == [3]


@pytest.mark.property
@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 6)),
              elements=st.floats(0, 1, width=16)), st.floats(0.0, 1.0))
def test_pick_peaks_matches_argrelmax(values, threshold):
    """Same peaks as scipy.signal.argrelmax on the zero-padded salience (authors' rule)."""
    padded = np.pad(values, ((1, 1), (0, 0)))
    expected = np.zeros_like(padded, dtype=bool)
    expected[scipy.signal.argrelmax(padded, axis=0)] = True
    expected = expected[1:-1] & (values >= threshold)
    np.testing.assert_array_equal(pick_peaks(values, threshold), expected)
    centre = pick_peaks(values, threshold, plateau="centre")
    assert np.all(centre >= pick_peaks(values, threshold))  # only adds plateau centres


def test_salience_to_multipitch_bins_to_hz():
    freqs = np.array([100.0, 110.0, 120.0, 130.0])
    vals = np.array([[0.1, 0.9], [0.8, 0.1], [0.2, 0.6], [0.7, 0.1]])
    times, est = salience_to_multipitch(Salience(vals, freqs, np.array([0.0, 0.01])), 0.5)
    np.testing.assert_allclose(times, [0.0, 0.01])
    assert [e.tolist() for e in est] == [[110.0, 130.0], [100.0, 120.0]]


def _mir(ref_t, ref_f, est_t, est_f):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mir_eval.multipitch.evaluate(ref_t, [np.asarray(f, float) for f in ref_f], est_t,
                                            [np.asarray(f, float) for f in est_f])


def test_scores_equal_mir_eval_same_grid():
    t = np.arange(5) * 0.01
    ref = [[220.0], [220.0, 330.0], [], [440.0], [440.0, 110.0]]
    est = [[221.0], [330.0], [500.0], [440.0, 880.0], [110.0 * 2 ** (0.6 / 12)]]
    s = evaluate_multipitch(t, ref, t, est)
    m = _mir(t, ref, t, est)
    # by hand: TP = 1 + 1 + 0 + 1 + 0 = 3; n_est = 6; n_ref = 6
    assert s["p"] == pytest.approx(100 * 3 / 6) == pytest.approx(100 * m["Precision"])
    assert s["r"] == pytest.approx(100 * 3 / 6) == pytest.approx(100 * m["Recall"])
    assert s["acc"] == pytest.approx(100 * 3 / 9) == pytest.approx(100 * m["Accuracy"])
    assert s["f1"] == pytest.approx(50.0)
    assert (s["n_ref"], s["n_est"], s["n_frames"]) == (6, 6, 5)


def test_scores_equal_mir_eval_resampled_grid():
    """Estimates on an 11.6 ms grid are resampled (nearest) to the 10 ms reference grid."""
    rng = np.random.default_rng(1)
    ref_t = 0.023 + 0.01 * np.arange(200)
    ref = [np.sort(rng.choice([110.0, 220.0, 330.0, 440.0], size=rng.integers(0, 4), replace=False))
           for _ in ref_t]
    est_t = np.arange(150) * 256 / 22050
    est = [np.sort(rng.choice([110.0, 221.0, 330.0, 445.0, 600.0], size=rng.integers(0, 4),
                              replace=False)) for _ in est_t]
    s = evaluate_multipitch(ref_t, ref, est_t, est)
    m = _mir(ref_t, ref, est_t, est)
    for k, mk in (("p", "Precision"), ("r", "Recall"), ("acc", "Accuracy")):
        assert s[k] == pytest.approx(100 * m[mk])
    # reference frames past the last estimate time (1.73 s) get no estimate
    res = mir_eval.multipitch.resample_multipitch(est_t, est, ref_t)
    assert res[-1].size == 0
    assert s["n_est"] == sum(r.size for r in res)


def test_salience_path_equals_mir_eval():
    freqs = 27.5 * 2 ** (np.arange(440) / 60)
    T = 50
    times = np.arange(T) * 256 / 22050
    vals = np.zeros((440, T))
    vals[240, :] = 0.9  # 440 Hz
    vals[241, :] = 0.5
    vals[180, 10:] = 0.6  # 220 Hz from frame 10
    vals[300, :5] = 0.4  # below threshold
    sal = Salience(vals, freqs, times)
    ref_t = 0.023 + 0.01 * np.arange(50)
    ref = [[220.0, 440.0] if t > 0.2 else [440.0] for t in ref_t]
    s = evaluate_salience(sal, ref_t, ref, threshold=0.5)
    est_t, est = salience_to_multipitch(sal, 0.5)
    m = _mir(ref_t, ref, est_t, est)
    assert s["acc"] == pytest.approx(100 * m["Accuracy"])
    assert s["p"] == pytest.approx(100 * m["Precision"]) and s["r"] == pytest.approx(100 * m["Recall"])
    assert s["acc"] > 90


def test_empty_estimates_and_references_are_explicit():
    t = np.arange(3) * 0.01
    with pytest.warns(UserWarning, match="no pitch in any reference frame"):
        s = evaluate_multipitch(t, [[220.0], [], [220.0]], t, [[], [], []])
    assert (s["p"], s["r"], s["acc"], s["f1"]) == (0.0, 0.0, 0.0, 0.0) and s["est_empty"]
    with pytest.warns(UserWarning, match="reference has no pitch"):
        e = evaluate_multipitch(t, [[], [], []], t, [[220.0], [], []])
    assert e["ref_empty"] and all(np.isfinite(e[k]) for k in ("p", "r", "acc", "f1"))
    with pytest.warns(UserWarning, match="excluded"):
        avg = average_scores([s, e])
    assert avg["n_tracks"] == 1 and avg["acc"] == 0.0
    with pytest.raises(ValueError, match="no track"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            average_scores([e])
    # empty estimate grid (a zero-length track) is handled too
    with pytest.warns(UserWarning):
        z = evaluate_multipitch(t, [[220.0], [], []], np.array([]), [])
    assert z["r"] == 0.0


def test_out_of_range_and_bad_input():
    t = np.arange(2) * 0.01
    with pytest.warns(UserWarning, match="dropped 1"):
        s = evaluate_multipitch(t, [[220.0], [220.0]], t, [[220.0, 6000.0], [220.0]])
    assert s["p"] == 100.0
    with pytest.raises(ValueError, match="Hz"):
        evaluate_multipitch(t, [[220.0], [9000.0]], t, [[220.0], [220.0]])
    with pytest.raises(ValueError, match="frames"):
        evaluate_multipitch(t, [[220.0]], t, [[220.0], [220.0]])
    with pytest.raises(ValueError, match="NaN"):
        pick_peaks(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="plateau"):
        pick_peaks(np.zeros((2, 2)), plateau="left")


def test_average_scores():
    a = {"p": 50.0, "r": 100.0, "acc": 50.0, "f1": 200 / 3}
    b = {"p": 100.0, "r": 0.0, "acc": 0.0, "f1": 0.0}
    avg = average_scores({"a": a, "b": b})
    assert avg == {"p": 75.0, "r": 50.0, "acc": 25.0, "f1": pytest.approx(100 / 3), "n_tracks": 2}
