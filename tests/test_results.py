"""Results store primitives: atomic writes never leave partial files."""
from __future__ import annotations

import json

import pytest

from sotbench import results


def test_atomic_json_round_trip_converts_numpy_and_non_finite(tmp_path):
    import numpy as np

    path = tmp_path / "a" / "result.json"
    results.atomic_write_json(path, {"x": np.float32(1.5), "v": np.arange(3), "nan": float("nan")})
    assert json.loads(path.read_text()) == {"x": 1.5, "v": [0, 1, 2], "nan": None}


def test_corrupt_result_file_is_a_clear_error(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("{truncated")
    with pytest.raises(ValueError, match="corrupt.*overwrite=true"):
        results.read_result(path)


# ----------------------------------------------------------------------------- reading layer
def _record(task="mpe", ds="bach10", acc=50.0, **extra):
    return {"task": task, "model": "m", "loss": None, "seed": 42, "budget": "cpu", "status": "completed",
            "config": {"task": {"name": task, "eval": [ds]}}, "config_hash": ds,
            "metrics": {f"{ds}/acc": acc, "rtf": 0.5}, "main_score": f"{ds}/acc", "direction": "max",
            "per_item": {f"{ds}/t1": {"acc": acc}},
            "extra": {"datasets": {ds: {"n_tracks": 1}}, "evaluated": [ds], "audio_s": 10.0, "compute_s": 1.0},
            **extra}


@pytest.mark.parametrize("content, reason", [
    ("[]", "a JSON list"), ("null", "a JSON null"), ('{"model": "m", "status": "completed", "seed": 1}',
                                                    "no string 'task'"),
    ("{oops", "corrupt"), ('"text"', "a JSON str"),
])
def test_iter_results_skips_foreign_files_and_names_them(tmp_path, content, reason):
    results.atomic_write_json(tmp_path / "mpe/m/-/cpu/seed42/bach10/result.json", _record())
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "result.json").write_text(content)
    problems = []
    rows = list(results.iter_results(tmp_path, problems=problems))
    assert len(rows) == 1 and rows[0][1]["metrics"]["bach10/acc"] == 50.0
    assert [p for p, _ in problems] == [tmp_path / "bad" / "result.json"] and reason in problems[0][1]


def test_string_metric_is_not_a_result(tmp_path):
    bad = _record()
    bad["metrics"]["bach10/acc"] = "50"
    assert "metric 'bach10/acc' is '50', not a number" in results.validate_result(bad)
    assert results.validate_result(_record()) is None


def test_per_dataset_records_merge_into_one_run(tmp_path):
    run_dir = tmp_path / "mpe/m/-/cpu/seed42"
    results.atomic_write_json(run_dir / "chorales-synth/result.json", _record(ds="chorales-synth", acc=70.0))
    results.atomic_write_json(run_dir / "bach10/result.json", _record(ds="bach10", acc=60.0))
    (path, merged), = list(results.iter_results(tmp_path))
    assert path == run_dir / "bach10/result.json" and merged["main_score"] == "bach10/acc"
    assert merged["metrics"] == {"bach10/acc": 60.0, "chorales-synth/acc": 70.0, "rtf": 0.1}
    assert merged["extra"]["evaluated"] == ["bach10", "chorales-synth"]
    assert set(merged["records"]) == {"bach10", "chorales-synth"} and merged["duration_s"] == 0
    assert len(list(results.iter_results(tmp_path, merge=False))) == 2


def test_migration_splits_and_keeps_metrics_and_provenance(tmp_path):
    old = _record(ds="bach10")
    old["config"]["task"] = {"name": "mpe", "eval": ["bach10", "chorales-synth"], "datasets": {"chorales-synth": {}}}
    old["metrics"] = {"bach10/acc": 60.0, "chorales-synth/acc": 70.0, "rtf": 0.2}
    old["per_item"] = {"bach10/t1": {"acc": 60.0}, "chorales-synth/c1": {"acc": 70.0}}
    old["extra"] = {"datasets": {"bach10": {"n_tracks": 1, "audio_s": 10.0, "compute_s": 1.0},
                                 "chorales-synth": {"n_tracks": 1, "audio_s": 10.0, "compute_s": 3.0}},
                    "evaluated": ["bach10", "chorales-synth"], "skipped": {}}
    old.update(git={"commit": "abc"}, started="2026-01-01T00:00:00+00:00", duration_s=12.0)
    results.atomic_write_json(tmp_path / "mpe/m/-/seed42/result.json", old)
    syn = _record(task="synth-ae", ds="x")
    results.atomic_write_json(tmp_path / "synth-ae/h/sot/seed1/result.json", syn)
    before = {r["task"]: r for _, r in results.iter_results(tmp_path)}
    log = results.migrate_layout(tmp_path, data_root=str(tmp_path / "no-data"))
    assert len(log) == 3 and not (tmp_path / "mpe/m/-/seed42").exists()
    bach = json.loads((tmp_path / "mpe/m/-/cpu/seed42/bach10/result.json").read_text())
    assert bach["metrics"] == {"bach10/acc": 60.0, "rtf": 0.1} and bach["git"] == {"commit": "abc"}
    assert bach["config"]["task"]["eval"] == ["bach10"] and bach["legacy_config_hash"] == "bach10"
    assert bach["data_fingerprint"]["source"] == "migration"
    assert (tmp_path / "synth-ae/h/sot/cpu/seed1/result.json").exists()
    after = {r["task"]: r for _, r in results.iter_results(tmp_path)}
    assert {k: v for k, v in after["mpe"]["metrics"].items() if k != "rtf"} == \
        {k: v for k, v in before["mpe"]["metrics"].items() if k != "rtf"}
    assert after["mpe"]["per_item"] == before["mpe"]["per_item"]
    assert results.migrate_layout(tmp_path) == []  # idempotent
