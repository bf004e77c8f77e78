"""Per-track MPE estimates: save, load, re-threshold, re-score exactly, export to mir_eval text."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sotbench.metrics.multipitch import average_scores, evaluate_salience
from sotbench.report import estimates as est_mod
from sotbench.types import Salience


def _track(seed: int, n_bins: int = 60, n_frames: int = 80):
    rng = np.random.default_rng(seed)
    freqs = 55.0 * 2 ** (np.arange(n_bins) / 12)
    values = rng.random((n_bins, n_frames)).astype(np.float32) ** 3
    values[20, :] = 0.9  # a held tone (a plateau-free ridge)
    values[19, :], values[21, :] = 0.2, 0.2
    times = np.arange(n_frames) * 0.0116
    ref_times = np.arange(0, n_frames * 0.0116, 0.01)
    ref = [np.array([freqs[20]]) if i % 3 else np.array([freqs[20], freqs[32]]) for i in range(ref_times.size)]
    return Salience(values, freqs, times), ref_times, ref


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("est")
    writer = est_mod.EstimateWriter(threshold=0.5)
    tracks = {f"toy/t{i}": _track(i) for i in range(3)}
    for key, (sal, rt, rf) in tracks.items():
        writer.add(key, sal, rt, rf)
    path = writer.save(tmp_path / "seed0" / "estimates" / "toy.npz")
    return path, tracks


def test_rescore_at_the_run_threshold_is_exact(saved):
    path, tracks = saved
    averages, per_track = est_mod.rescore(path)
    expected = {k: evaluate_salience(s, rt, rf, threshold=0.5, name=k) for k, (s, rt, rf) in tracks.items()}
    assert per_track == expected
    assert averages == average_scores(expected)


@pytest.mark.property
@pytest.mark.filterwarnings("ignore:.*the estimate has no pitch:UserWarning")  # thresholds above every peak
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(threshold=st.floats(est_mod.DEFAULT_FLOOR, 1.0))
def test_rethresholding_equals_scoring_the_salience(saved, threshold):
    path, tracks = saved
    _, per_track = est_mod.rescore(path, threshold=threshold)
    for key, (sal, rt, rf) in tracks.items():
        assert per_track[key] == evaluate_salience(sal, rt, rf, threshold=threshold, name=key)


def test_below_floor_and_missing_files_are_clear_errors(saved, tmp_path):
    path, _ = saved
    with pytest.raises(ValueError, match="below the stored floor"):
        est_mod.rescore(path, threshold=0.01)
    with pytest.raises(ValueError, match="regenerate"):
        est_mod.load_estimates(tmp_path / "nope.npz")
    with pytest.raises(ValueError, match="floor"):
        est_mod.EstimateWriter(threshold=0.3, floor=0.4)


def _write_result(path, tracks):
    """A stored MPE record beside the estimates (new layout: seed0/<dataset>/result.json)."""
    per_item = {k: evaluate_salience(s, rt, rf, threshold=0.5, name=k) for k, (s, rt, rf) in tracks.items()}
    avg = average_scores(per_item)
    record = {"task": "mpe", "model": "toy", "loss": None, "seed": 0, "budget": "cpu", "status": "completed",
              "metrics": {f"toy/{k}": avg[k] for k in ("p", "r", "acc", "f1")}, "main_score": "toy/acc",
              "per_item": per_item, "extra": {"threshold": 0.5, "evaluated": ["toy"]}}
    result = path.parents[1] / "toy" / "result.json"
    result.parent.mkdir(exist_ok=True)
    result.write_text(json.dumps(record))
    return result


def test_rescore_result_reproduces_stored_metrics(saved):
    path, tracks = saved
    result = _write_result(path, tracks)
    (row,) = est_mod.rescore_result(result)
    assert row["exact"] is True and row["rescored"] == row["stored"] and row["n_tracks"] == 3
    (other,) = est_mod.rescore_result(result, threshold=0.95)
    assert other["exact"] is None and other["rescored"]["r"] < row["rescored"]["r"]


def test_export_mir_eval_text_reads_back(saved, tmp_path):
    import mir_eval

    path, tracks = saved
    files = est_mod.export_mir_eval(path, tmp_path / "txt")
    assert len(files) == 3
    times, freqs = mir_eval.io.load_ragged_time_series(gzip.open(files[0], "rt"))
    ref_times, ref_freqs = est_mod.to_multipitch(est_mod.load_estimates(path)["toy/t0"], 0.5)
    assert np.array_equal(times, ref_times)
    assert all(np.array_equal(a, b) for a, b in zip(freqs, ref_freqs))


def test_cli_rescore_reports_exact_reproduction(saved, capsys):
    from sotbench.cli import main

    path, tracks = saved
    result = _write_result(path, tracks)
    assert main(["rescore", str(result)]) == 0
    assert "reproduces the stored metrics exactly" in capsys.readouterr().out
    assert main(["rescore", str(result), "--threshold", "0.7"]) == 0
    assert "stored at threshold 0.5" in capsys.readouterr().out
    assert main(["rescore", str(result), "--threshold", "0.01"]) == 2
    assert "below the stored floor" in capsys.readouterr().err


def test_folder_rescore_names_results_without_estimates(saved, tmp_path):
    import shutil

    import sotbench

    path, tracks = saved
    result = _write_result(path, tracks)
    root = tmp_path / "results"
    shutil.copytree(path.parents[1], root / "seed0")
    (root / "seed1" / "toy").mkdir(parents=True)
    shutil.copy(result, root / "seed1" / "toy" / "result.json")  # a run whose estimates were never stored
    rows = sotbench.rescore(root)
    assert [r["exact"] for r in rows] == [True, None] and "no estimates file" in rows[1]["missing"]
    with pytest.raises(ValueError, match="--regenerate"):
        sotbench.rescore(root / "seed1" / "toy" / "result.json")


def test_raise_floor_keeps_scores_above_it(saved, tmp_path):
    import shutil

    path, _ = saved
    copy = shutil.copy(path, tmp_path / "toy.npz")
    before = {t: est_mod.rescore(copy, threshold=t)[1] for t in (0.4, 0.5, 0.8)}
    est_mod.raise_floor(copy, 0.4)
    assert all(est_mod.rescore(copy, threshold=t)[1] == before[t] for t in before)
    assert next(iter(est_mod.load_estimates(copy).values())).floor == 0.4
    assert copy.stat().st_size < path.stat().st_size
    with pytest.raises(ValueError, match="below the stored floor"):
        est_mod.rescore(copy, threshold=0.3)
    with pytest.raises(ValueError, match="between"):
        est_mod.raise_floor(copy, 0.6)  # above the run's threshold 0.5


def test_default_floor_policy():
    assert est_mod.default_floor(0.5) == 0.2 and est_mod.default_floor(0.1) == 0.1
    assert est_mod.default_floor(0.9) == 0.6  # rounded: a threshold of 0.6 stays usable
