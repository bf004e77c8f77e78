"""Property tests of the ground-truth and resampling helpers (hypothesis)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sotbench.data.audio import resample
from sotbench.data.tracks import matrix_to_frames, notes_to_frames, regular_grid

notes_st = st.lists(st.tuples(st.floats(0, 2, allow_nan=False), st.floats(0.001, 1, allow_nan=False),
                              st.integers(21, 108)), max_size=12)


@pytest.mark.property
@settings(max_examples=60, deadline=None)
@given(notes=notes_st, hop=st.sampled_from([0.01, 256 / 44100, 0.023]))
def test_notes_to_frames_matches_brute_force(notes, hop):
    times = regular_grid(int(3.2 / hop), hop)
    on = np.array([n[0] for n in notes])
    off = np.array([n[0] + n[1] for n in notes])
    hz = 440.0 * 2.0 ** ((np.array([n[2] for n in notes], dtype=float) - 69) / 12)
    got = notes_to_frames(on, off, hz, times)
    for k, t in enumerate(times):
        order = np.argsort(on, kind="stable")
        expected = [hz[i] for i in order if on[i] <= t < off[i]]
        np.testing.assert_array_equal(got[k], expected)


@pytest.mark.property
@settings(max_examples=40, deadline=None)
@given(m=st.lists(st.lists(st.sampled_from([0.0, 55.0, 110.0, 440.0, 261.6]), min_size=5, max_size=5),
                  min_size=1, max_size=4))
def test_matrix_to_frames_keeps_positive_entries_in_voice_order(m):
    mat = np.array(m)
    frames = matrix_to_frames(mat)
    assert len(frames) == mat.shape[1]
    for k, f in enumerate(frames):
        np.testing.assert_array_equal(f, [v for v in mat[:, k] if v > 0])


@pytest.mark.property
@settings(max_examples=25, deadline=None)
@given(sr_in=st.sampled_from([8000, 16000, 22050, 44100, 48000]),
       sr_out=st.sampled_from([8000, 16000, 22050, 44100, 48000]),
       n=st.integers(1000, 6000), f=st.floats(100.0, 1000.0))
def test_resample_length_and_tone(sr_in, sr_out, n, f):
    t = np.arange(n) / sr_in
    y = resample(np.sin(2 * np.pi * f * t).astype(np.float32), sr_in, sr_out)
    assert len(y) == math.ceil(n * sr_out / sr_in) and y.dtype == np.float32
    # the middle keeps the tone's frequency: compare with the ideal resampled sine
    tt = np.arange(len(y)) / sr_out
    mid = slice(len(y) // 4, 3 * len(y) // 4)
    np.testing.assert_allclose(y[mid], np.sin(2 * np.pi * f * tt[mid]), atol=0.02)
