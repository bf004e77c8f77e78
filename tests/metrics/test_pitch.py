"""RPA / RCA (mir_eval.melody) and the octave difference: hand-computed cases and properties."""
from __future__ import annotations

import mir_eval.melody as melody
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sotbench.metrics.pitch import (
    octave_difference,
    octave_differences,
    pitch_metrics,
    raw_chroma_accuracy,
    raw_pitch_accuracy,
)

C = lambda cents: 440.0 * 2 ** (cents / 1200)  # noqa: E731  440 Hz shifted by cents


def test_hand_computed_frames():
    est = np.array([C(49), C(51), 880.0, 220.0])
    assert raw_pitch_accuracy(440.0, est) == pytest.approx(0.25)       # only +49 c is within 50 c
    assert raw_chroma_accuracy(440.0, est) == pytest.approx(0.75)      # + both octave errors
    np.testing.assert_array_equal(octave_differences(440.0, est), [0, 0, 1, -1])
    assert octave_difference(440.0, est) == 0.0


def test_octave_difference_thresholds_and_sign():
    # d = cents(est) - cents(ref); |d| + 50 must reach 1200 for one octave
    np.testing.assert_array_equal(octave_differences(440.0, [C(1149), C(1151), C(-1151), 110.0, C(3600)]),
                                  [0, 1, -1, -2, 3])
    assert octave_difference(440.0, [220.0, 220.0, 440.0, 440.0]) == pytest.approx(-0.5)  # too low = -


def test_octave_low_estimate_is_negative_as_in_table_1():
    # paper 000's sign (authors' eval_paper.py multiplies their offset by -1): an estimate one
    # octave below the truth in every frame gives OD = -1, two octaves below gives -2
    assert octave_difference(1000.0, np.full((1, 16), 500.0)) == -1.0
    assert octave_difference([1000.0, 400.0], np.array([[250.0] * 4, [100.0] * 4])) == -2.0
    assert pitch_metrics(440.0, [880.0, 880.0])["od"] == 1.0


def test_matches_mir_eval_directly():
    rng = np.random.default_rng(0)
    ref = rng.uniform(40, 1950, size=50)
    est = ref[:, None] * 2 ** (rng.normal(0, 0.6, size=(50, 16)))
    r = np.repeat(ref, 16)
    v = np.ones(r.size)
    rc, ec = melody.hz2cents(r), melody.hz2cents(est.ravel())
    assert raw_pitch_accuracy(ref, est) == melody.raw_pitch_accuracy(v, rc, v, ec)
    assert raw_chroma_accuracy(ref, est) == melody.raw_chroma_accuracy(v, rc, v, ec)
    m = pitch_metrics(ref, est)
    assert m["rpa"] == pytest.approx(100 * melody.raw_pitch_accuracy(v, rc, v, ec))
    assert m["rca"] == pytest.approx(100 * melody.raw_chroma_accuracy(v, rc, v, ec))


def test_per_example_reference_broadcasts_over_frames():
    ref = np.array([100.0, 1000.0])
    est = np.array([[100.0] * 4, [1000.0, 1000.0, 2000.0, 500.0]])
    assert raw_pitch_accuracy(ref, est) == pytest.approx(6 / 8)
    assert raw_pitch_accuracy(np.repeat(ref[:, None], 4, 1), est) == pytest.approx(6 / 8)


@pytest.mark.parametrize("ref, est, match", [
    (440.0, [0.0, 440.0], "> 0"),
    (440.0, [np.nan], "finite"),
    (-1.0, [440.0], "> 0"),
    ([440.0, 220.0, 110.0], np.ones((2, 4)), "does not match"),
    (440.0, [], "no frames"),
])
def test_bad_input(ref, est, match):
    with pytest.raises(ValueError, match=match):
        raw_pitch_accuracy(ref, est)


@pytest.mark.property
@settings(max_examples=40, deadline=None)
@given(f0=st.floats(30, 4000), k=st.integers(-3, 3),
       detune=st.lists(st.floats(-600, 600), min_size=1, max_size=20))
def test_property_octaves_and_ordering(f0, k, detune):
    est = f0 * 2.0 ** (k + np.asarray(detune) / 1200)
    assert raw_pitch_accuracy(f0, est) <= raw_chroma_accuracy(f0, est) + 1e-12
    exact = f0 * 2.0 ** np.full(3, float(k))
    assert octave_difference(f0, exact) == pytest.approx(k)
    assert raw_chroma_accuracy(f0, exact) == 1.0
