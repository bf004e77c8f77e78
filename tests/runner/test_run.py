"""Runner: results store layout, skip / overwrite / resume, determinism, errors."""
from __future__ import annotations

import json
import os

import pytest

from sotbench.runner import run


def _compose(tmp_path, *extra):
    return run.compose(["task=toy", f"results_root={tmp_path / 'results'}", "progress=false", *extra])


def test_result_file_has_metrics_and_provenance(toy_tasks_dir, tmp_path):
    result = run.execute(_compose(tmp_path))
    path = tmp_path / "results" / "toy" / "toy-model" / "-" / "smoke" / "seed42" / "result.json"
    on_disk = json.loads(path.read_text())
    assert on_disk == result
    assert result["status"] == "completed"
    assert result["budget"] == "smoke" and result["config"]["task"]["steps"] == 4
    assert result["main_score"] == "score" and result["direction"] == "max"
    assert len(result["config_hash"]) == 12
    assert {"torch", "numpy", "python"} <= set(result["versions"])
    assert result["device"]["type"] == "cpu" and result["duration_s"] >= 0
    assert "commit" in result["git"]


def test_budget_then_user_override_wins(toy_tasks_dir, tmp_path):
    cfg = _compose(tmp_path, "budget=cpu", "task.steps=2")
    assert cfg.task.steps == 2 and "budgets" not in cfg.task


def test_completed_run_is_skipped_unless_overwrite(toy_tasks_dir, tmp_path, calls):
    first = run.execute(_compose(tmp_path))
    again = run.execute(_compose(tmp_path))
    assert calls["run"] == 1 and again == first
    run.execute(_compose(tmp_path, "overwrite=true"))
    assert calls["run"] == 2
    previous = tmp_path / "results/toy/toy-model/-/smoke/seed42/result.previous.json"
    assert json.loads(previous.read_text())["started"] == first["started"]


def test_same_seed_same_numbers_other_seed_differs(toy_tasks_dir, tmp_path):
    a = run.execute(_compose(tmp_path / "a"))["metrics"]["score"]
    b = run.execute(_compose(tmp_path / "b"))["metrics"]["score"]
    c = run.execute(_compose(tmp_path / "c", "seed=7"))["metrics"]["score"]
    assert a == b and a != c


def test_killed_run_resumes_to_identical_numbers(toy_tasks_dir, tmp_path, calls):
    reference = run.execute(_compose(tmp_path / "ref"))["metrics"]["score"]
    calls["crash_at"] = 2
    with pytest.raises(RuntimeError, match="simulated kill"):
        run.execute(_compose(tmp_path))
    failed = json.loads((tmp_path / "results/toy/toy-model/-/smoke/seed42/result.json").read_text())
    assert failed["status"] == "failed" and "simulated kill" in failed["error"]
    calls["crash_at"] = None
    resumed = run.execute(_compose(tmp_path))
    assert resumed["extra"]["resumed_from"] == 2
    assert resumed["metrics"]["score"] == reference


def test_checkpoint_of_another_config_is_refused_and_kept(toy_tasks_dir, tmp_path, calls):
    calls["crash_at"] = 1
    with pytest.raises(RuntimeError):
        run.execute(_compose(tmp_path))
    calls["crash_at"] = None
    ckpt = tmp_path / "results/toy/toy-model/-/smoke/seed42/checkpoint.pt"
    before = ckpt.read_bytes()
    with pytest.raises(ValueError, match="another configuration.*overwrite=true"):
        run.execute(_compose(tmp_path, "task.steps=3"))
    assert ckpt.read_bytes() == before


def test_corrupt_checkpoint_is_a_clear_error_and_not_deleted(toy_tasks_dir, tmp_path, calls):
    calls["crash_at"] = 1
    with pytest.raises(RuntimeError):
        run.execute(_compose(tmp_path))
    calls["crash_at"] = None
    ckpt = tmp_path / "results/toy/toy-model/-/smoke/seed42/checkpoint.pt"
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt"):
        run.execute(_compose(tmp_path))
    assert ckpt.read_bytes() == b"not a checkpoint"


@pytest.mark.parametrize("override, message", [
    ("model=toy-modl", "did you mean 'toy-model'"),
    ("task=toyy", "did you mean 'toy'"),
    ("sead=3", "did you mean 'seed'"),
    ("budget=huge", "unknown budget 'huge'"),
    ("seed=-1", "non-negative"),
])
def test_bad_names_and_values_are_clear_errors(toy_tasks_dir, tmp_path, override, message):
    with pytest.raises(ValueError, match=f"(?i){message}"):
        run.execute(_compose(tmp_path, override))


def test_loss_on_a_task_without_loss_is_refused(toy_tasks_dir, tmp_path):
    from sotbench.registry import LOSSES

    name = LOSSES.names()[0] if LOSSES.names() else None
    if name is None:
        pytest.skip("no loss registered yet")
    with pytest.raises(ValueError, match="takes no loss"):
        run.execute(_compose(tmp_path, f"loss={name}"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; permission test meaningless")
def test_unwritable_results_root(toy_tasks_dir, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    with pytest.raises(ValueError, match="not writable"):
        run.execute(run.compose(["task=toy", f"results_root={locked / 'r'}"]))


def test_results_root_that_is_a_file(toy_tasks_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="not writable.*results_root"):
        run.execute(run.compose(["task=toy", f"results_root={blocker}"]))


def test_completed_run_with_another_config_is_not_silently_skipped(toy_tasks_dir, tmp_path, calls):
    run.execute(_compose(tmp_path))
    with pytest.raises(ValueError, match="another configuration.*overwrite=true"):
        run.execute(_compose(tmp_path, "task.steps=3"))
    assert calls["run"] == 1
    assert run.execute(_compose(tmp_path, "task.steps=3", "overwrite=true"))["config"]["task"]["steps"] == 3


def test_retraining_is_stored_apart_from_the_evaluation(toy_tasks_dir, tmp_path):
    evaluated = run.execute(_compose(tmp_path))
    retrained = run.execute(_compose(tmp_path, "train=true"))
    assert evaluated["status"] == retrained["status"] == "completed"
    assert (tmp_path / "results/toy/toy-model/train/smoke/seed42/result.json").exists()
    assert (tmp_path / "results/toy/toy-model/-/smoke/seed42/result.json").exists()
