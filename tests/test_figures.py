"""Loss-landscape figure (Figure 2 of paper 000): files, data and the claim behind it."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from sotbench.figures import CURVES, landscape_values, loss_landscape


def test_loss_landscape_writes_png_and_csv(tmp_path):
    paths = loss_landscape(tmp_path / "reports", n_points=41, progress=False)
    assert paths["png"] == tmp_path / "reports" / "loss-landscape.png"
    assert paths["csv"] == tmp_path / "reports" / "loss-landscape.csv"
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader(paths["csv"].open()))
    assert len(rows) == 41
    shifts = np.array([float(r["shift_hz"]) for r in rows])
    np.testing.assert_allclose(shifts, np.linspace(-2500, 2500, 41))
    for key in CURVES:
        values = np.array([float(r[key]) for r in rows])
        assert values.max() == pytest.approx(1.0) and values.min() >= 0.0
        assert values[20] == pytest.approx(0.0, abs=1e-6)  # zero shift -> zero loss
    # SOT is the distance W_2: linear in |shift| (normalized, so |shift| / 2500)
    sot = np.array([float(r["sot_w2"]) for r in rows])
    np.testing.assert_allclose(sot, np.abs(shifts) / 2500, atol=2e-3)
    raw_sq = np.array([float(r["raw_sot_w2_squared"]) for r in rows])
    np.testing.assert_allclose(raw_sq, (shifts / 8000) ** 2, rtol=1e-3, atol=1e-6)


def test_vertical_losses_saturate_while_sot_grows():
    raw = landscape_values(np.array([300.0, 600.0, 1200.0, 2400.0]))
    assert np.all(np.diff(raw["sot_w2"]) > 0)
    np.testing.assert_allclose(raw["sot_w2"][1:] / raw["sot_w2"][:-1], 2.0, rtol=0.01)
    for key in ("ss_l1", "ss_l2"):
        np.testing.assert_allclose(raw[key][1:] / raw[key][:-1], 1.0, rtol=0.05)


def test_bad_n_points(tmp_path):
    with pytest.raises(ValueError, match="n_points"):
        loss_landscape(tmp_path, n_points=2, progress=False)
