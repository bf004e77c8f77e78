"""MPE through the runner: one record per dataset, data fingerprints, error vs skip, per-track warnings."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

import sotbench.data as data
from sotbench import results as store
from sotbench.data.roots import DatasetNotFound
from sotbench.data.tracks import LazyTracks
from sotbench.runner import run
from sotbench.types import MultiPitchTrack

SR = 22050
TASK_YAML = Path(__file__).resolve().parents[2] / "tasks" / "mpe.yaml"
MODEL = "hcqt-h1-log"


def _track(name, f0, seconds=1.0, gt_seconds=None):
    n = np.arange(int(seconds * SR))
    audio = sum(0.2 / k * np.sin(2 * np.pi * k * f0 * n / SR) for k in range(1, 4)).astype(np.float32)
    times = 0.023 + 0.01 * np.arange(int(((gt_seconds or seconds) - 0.05) / 0.01))
    return MultiPitchTrack(name, audio, SR, times, [np.array([f0]) for _ in times])


def _make_loader(dataset, folder, f0s, warn=None):
    def loader(root=None, tracks=None, **kw):
        names = [f"{i + 1:02d}-t" for i in range(len(f0s))]

        def load(name):
            if warn:
                warnings.warn(f"{name}: {warn}", UserWarning, stacklevel=2)
            return _track(name, f0s[names.index(name)])
        if tracks is not None:
            names = [names[i - 1] for i in tracks]
        return LazyTracks(dataset, names, load, root=folder)
    return loader


def _absent_loader(root=None, tracks=None, **kw):
    raise DatasetNotFound("gone: expected /nowhere/Gone with NN/NN.wav (see docs/datasets.md)")


@pytest.fixture
def mpe_env(tmp_path, monkeypatch):
    folder = tmp_path / "tiny-data"
    folder.mkdir()
    (folder / "a.txt").write_text("x")
    monkeypatch.setitem(data.EVAL_DATASETS, "tiny", _make_loader("tiny", folder, [220.0, 330.0, 440.0]))
    monkeypatch.setitem(data.EVAL_DATASETS, "tiny2", _make_loader("tiny2", folder, [196.0]))
    monkeypatch.setitem(data.EVAL_DATASETS, "warny",
                        _make_loader("warny", folder, [220.0], warn="ground truth ends 20.0 s before the audio"))
    monkeypatch.setitem(data.EVAL_DATASETS, "gone", _absent_loader)
    monkeypatch.delenv("SOTBENCH_DATA_ROOT", raising=False)
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    cfg = OmegaConf.load(TASK_YAML)
    cfg.eval = ["tiny", "gone"]
    cfg.default_budget = "smoke"
    OmegaConf.save(cfg, tasks / "mpe.yaml")
    monkeypatch.setenv("SOTBENCH_TASKS_DIR", str(tasks))
    return tmp_path


def _records(env, *extra):
    cfg = run.compose(["task=mpe", f"model={MODEL}", f"results_root={env / 'results'}", "progress=false",
                       *extra])
    return run.run_records(cfg, explicit={o.split("=")[0] for o in extra})


def _run_dir(env, budget="smoke"):
    return env / "results" / "mpe" / MODEL / "-" / budget / "seed42"


def test_one_record_per_dataset_and_default_list_skip(mpe_env):
    outcomes = _records(mpe_env)
    assert [(o.key, o.action) for o in outcomes] == [("tiny", "completed"), ("gone", "skipped")]
    record = json.loads((_run_dir(mpe_env) / "tiny" / "result.json").read_text())
    assert record["config"]["task"]["eval"] == ["tiny"] and record["main_score"] == "tiny/acc"
    assert "gone" in record["extra"]["skipped"] and "absent" in record["extra"]["skipped"]["gone"]
    assert record["data_fingerprint"]["dataset"] == "tiny" and record["data_fingerprint"]["n_files"] == 1
    assert not (_run_dir(mpe_env) / "gone").exists()
    text = run.format_outcomes(outcomes)
    assert "skipped gone: absent" in text and f"result (written): {_run_dir(mpe_env) / 'tiny/result.json'}" in text
    assert "scored on 2 of its 3 tracks" in text  # smoke budget: max_tracks=2


def test_eval_string_means_a_one_item_list(mpe_env):
    outcomes = _records(mpe_env, "task.eval=tiny2")
    assert [o.key for o in outcomes] == ["tiny2"]
    assert outcomes[0].result["config"]["task"]["eval"] == ["tiny2"]


def test_another_dataset_adds_a_record_without_conflict(mpe_env):
    first = _records(mpe_env, "task.eval=[tiny]")[0].result
    second = _records(mpe_env, "task.eval=[tiny2]")
    assert second[0].action == "completed"
    again = _records(mpe_env, "task.eval=[tiny,tiny2]")
    assert [o.action for o in again] == ["reused", "reused"] and again[0].result["started"] == first["started"]
    merged = [r for _, r in store.iter_results(mpe_env / "results")]
    assert len(merged) == 1
    assert {"tiny/acc", "tiny2/acc", "rtf"} <= set(merged[0]["metrics"])
    assert set(merged[0]["records"]) == {"tiny", "tiny2"}


def test_asked_for_absent_dataset_is_an_error(mpe_env):
    with pytest.raises(DatasetNotFound, match="'gone' was asked for .*docs/datasets.md"):
        _records(mpe_env, "task.eval=[tiny,gone]")
    assert not (_run_dir(mpe_env) / "tiny").exists()  # nothing half-run


@pytest.mark.parametrize("how", ["setting", "env"])
def test_named_data_root_that_does_not_exist_is_an_error(mpe_env, monkeypatch, how):
    missing = mpe_env / "no-such-root"
    extra = [f"data_root={missing}"] if how == "setting" else []
    if how == "env":
        monkeypatch.setenv("SOTBENCH_DATA_ROOT", str(missing))
    with pytest.raises(ValueError, match="no-such-root.*not a directory"):
        _records(mpe_env, *extra)
    with pytest.raises(ValueError, match="not a directory"):
        _records(mpe_env, "task.eval=[tiny]", *extra)


def test_present_but_malformed_real_dataset_is_an_error_not_a_skip(mpe_env):
    root = mpe_env / "datasets"
    (root / "Bach10_v1.1" / "01-Broken").mkdir(parents=True)
    (root / "Bach10_v1.1" / "01-Broken" / "01-Broken.wav").write_bytes(b"")
    tasks = Path(run.tasks_dir())
    cfg = OmegaConf.load(tasks / "mpe.yaml")
    cfg.eval = ["bach10", "tiny"]
    OmegaConf.save(cfg, tasks / "mpe.yaml")
    with pytest.raises(ValueError, match="01-Broken"):
        _records(mpe_env, f"data_root={root}")


def test_changed_data_is_never_silently_reused(mpe_env):
    _records(mpe_env, "task.eval=[tiny]")
    (mpe_env / "tiny-data" / "a.txt").write_text("changed")
    with pytest.raises(ValueError, match="another configuration or data.*overwrite=true"):
        _records(mpe_env, "task.eval=[tiny]")


def test_track_warnings_are_stored_and_printed(mpe_env):
    outcome = _records(mpe_env, "task.eval=[warny]")[0]
    item = outcome.result["per_item"]["warny/01-t"]
    assert any("ground truth ends" in w for w in item["warnings"])
    assert outcome.result["extra"]["warnings"]["warny/01-t"] == item["warnings"]
    assert "warning: warny/01-t: 01-t: ground truth ends" in run.format_outcomes([outcome])


def test_whole_dataset_by_default(mpe_env):
    tasks = Path(run.tasks_dir())
    cfg = OmegaConf.load(tasks / "mpe.yaml")
    cfg.default_budget = OmegaConf.load(TASK_YAML).default_budget
    OmegaConf.save(cfg, tasks / "mpe.yaml")
    outcome = _records(mpe_env, "task.eval=[tiny]")[0]
    assert outcome.result["budget"] == "cpu"
    assert outcome.result["extra"]["datasets"]["tiny"]["n_tracks"] == 3
    assert "scored on" not in run.format_outcomes([outcome])


def test_loader_booleans_are_strict(mpe_env):
    with pytest.raises(ValueError, match=r"task.datasets.tiny.skip_incomplete='sometimes' is not a boolean"):
        _records(mpe_env, "task.eval=[tiny]", "+task.datasets.tiny.skip_incomplete=sometimes")
    outcome = _records(mpe_env, "task.eval=[tiny]", "+task.datasets.tiny.skip_incomplete=no")[0]
    assert outcome.result["extra"]["datasets"]["tiny"]["loader_options"] == {"skip_incomplete": False}
