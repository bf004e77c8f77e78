"""Leaderboard renderer: golden files, aggregation over seeds, published rows, errors.

Regenerate the golden files after an intended change with
``SOTBENCH_UPDATE_GOLDEN=1 pytest tests/report``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sotbench.report.leaderboard import render_reports

GOLDEN = Path(__file__).parent / "golden"


def _result(task, model, loss, seed, metrics, **extra):
    return {
        "task": task, "model": model, "loss": loss, "seed": seed, "budget": "cpu", "status": "completed",
        "git": {"commit": "0123456789abcdef", "dirty": False}, "started": "2026-11-21T07:00:00+00:00",
        "device": {"type": "cpu", "name": "Test CPU"}, "metrics": metrics, "main_score": "rpa",
        "direction": "max", "extra": extra,
    }


def write_fixture_results(root: Path) -> None:
    runs = [
        _result("synth-ae", "harmonic-ae", "sot-2048", 42, {"lsd_db": 20.0, "rpa": 90.0, "rca": 99.0, "od": 0.0},
                curves={"val_step": [0, 10, 20], "val_lsd_db": [60.0, 40.0, 20.0]}),
        _result("synth-ae", "harmonic-ae", "sot-2048", 123, {"lsd_db": 30.0, "rpa": 60.0, "rca": 97.0, "od": -0.5},
                curves={"val_step": [0, 10, 20], "val_lsd_db": [61.0, 45.0, 30.0]}),
        _result("synth-ae", "harmonic-ae", "mss-lin", 42, {"lsd_db": 55.0, "rpa": 1.0, "rca": 4.0, "od": -2.0}),
        _result("mpe", "hcqt-h1", None, 0, {"bach10/p": 50.0, "bach10/r": 40.0, "bach10/acc": 30.0,
                                              "chorales-synth/p": 55.5, "chorales-synth/r": 44.4,
                                              "chorales-synth/acc": 33.3, "rtf": 0.0123}, threshold=0.5),
        _result("mpe", "basic-pitch", None, 0, {"bach10/p": 90.2, "bach10/r": 75.7, "bach10/acc": 69.9,
                                                  "rtf": 0.03}, threshold=0.3),
    ]
    for run in runs:
        folder = root / run["task"] / run["model"] / (run["loss"] or "-") / f"seed{run['seed']}"
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(run))
    failed = dict(runs[0], status="failed", seed=7, metrics={"rpa": 0.0})
    folder = root / "synth-ae/harmonic-ae/sot-2048/seed7"
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps(failed))


@pytest.fixture
def rendered(tmp_path):
    write_fixture_results(tmp_path / "results")
    render_reports(tmp_path / "results", tmp_path / "reports")
    return tmp_path / "reports"


@pytest.mark.parametrize("name", ["leaderboard.md", "leaderboard.html"])
def test_matches_golden_file(rendered, name):
    text = (rendered / name).read_text()
    golden = GOLDEN / name
    if os.environ.get("SOTBENCH_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"{name} changed; if intended, regenerate (see module docstring)"


def test_aggregates_over_seeds_and_ignores_failed_runs(rendered):
    md = (rendered / "leaderboard.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| sot-2048 | sotbench"))
    # mean (sample std) of (20, 30) = 25.0 (7.1); RPA (90, 60) = 75.0 (21.2); the failed seed 7 is ignored
    assert "| 42,123 |" in row and "25.0 (7.1)" in row and "75.0 (21.2)" in row


def test_published_rows_are_marked_and_cited(rendered):
    md = (rendered / "leaderboard.md").read_text()
    assert "| sot-2048 | published [1] | paper | 25000 x 64 | n/a | 5 | 23.5 (3.5) | 75.0 (43.2)" in md
    assert "| Basic-Pitch | published [2] |" in md and "90.2 | 75.7 | 70.0" in md
    assert "[1] Torres, Peeters, Richard" in md and "[2] Cwitkowitz, Duan" in md


def test_plots_are_written(rendered):
    for name in ("synth-ae-rpa-rca.png", "synth-ae-curves.png", "mpe-bach10-acc.png"):
        assert (rendered / "plots" / name).stat().st_size > 1000


def test_empty_or_missing_results_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        render_reports(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no completed result"):
        render_reports(tmp_path / "empty", tmp_path / "out")
