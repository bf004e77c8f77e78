"""Task synth-ae end to end at tiny sizes: result layout, determinism, exact resume, bad configs."""
from __future__ import annotations

import copy
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from sotbench.registry import LOSSES, TASKS
from sotbench.tasks.base import RunContext, TaskResult
from sotbench.tasks.synth_ae import parse_train_config

TASK_YAML = Path(__file__).resolve().parents[2] / "tasks" / "synth-ae.yaml"


class StandInLoss(torch.nn.Module):
    """Multi-scale L1 on STFT magnitudes (a stand-in for the registry losses)."""

    def forward(self, pred, target):
        loss = pred.new_zeros(())
        for n in (512, 128):
            w = torch.hann_window(n, device=pred.device)
            def spec(x, n=n, w=w):
                return torch.stft(x, n, n // 4, window=w, return_complex=True).abs()
            loss = loss + (spec(pred) - spec(target)).abs().mean()
        return loss


def stand_in_factory(**kw):
    return StandInLoss(**kw)


if "test-stand-in" not in LOSSES._entries:
    LOSSES.register("test-stand-in", stand_in_factory, description="tests only")

TINY = {
    "data": {"n_examples": 40, "seed": 5},
    "train": {"steps": 4, "batch_size": 4, "eval_every": 2, "checkpoint_every": 2, "eval_batch_size": 16},
}


class Killed(Exception):
    pass


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def make_ctx(tmp_path, overrides=None, *, kill_at_save=None, resume=False, seed=7):
    base = OmegaConf.load(TASK_YAML)
    task = OmegaConf.merge({k: v for k, v in base.items() if k != "budgets"}, TINY, overrides or {})
    cfg = OmegaConf.create({"task": task, "model": "harmonic-ae", "loss": "test-stand-in", "seed": seed})
    path = tmp_path / "checkpoint.pt"
    saves = []

    def save(state):
        torch.save(state, path)
        saves.append(state["step"])
        if kill_at_save is not None and len(saves) == kill_at_save:
            raise Killed

    def load():
        return torch.load(path, weights_only=False) if resume and path.exists() else None

    ctx = RunContext(cfg=cfg, run_dir=tmp_path, device=torch.device("cpu"), seed=seed, progress=False,
                     save_checkpoint=save, load_checkpoint=load, log=logging.getLogger("test"))
    return ctx, saves


def run(ctx) -> TaskResult:
    return TASKS.get("synth-ae")().run(ctx)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    ctx, saves = make_ctx(tmp_path_factory.mktemp("ref"))
    return run(ctx), saves


def test_result_layout(reference):
    result, saves = reference
    assert saves == [2, 4]
    assert result.main_score == "rpa" and result.direction == "max"
    assert set(result.metrics) == {"lsd_db", "rpa", "rca", "od", "best_step", "val_lsd_db"}
    assert 0 <= result.metrics["rpa"] <= result.metrics["rca"] <= 100
    assert result.metrics["best_step"] in (2, 4)
    assert result.metrics["lsd_db"] > 0
    assert result.extra["model"]["conv_impl"] == "fft"  # the default encoder evaluation, recorded
    silence = result.extra["silence_lsd_db"]
    assert silence["test"] > 50 and silence["val"] > 50  # a silent output is far from every tone
    curves = result.extra["curves"]
    assert curves["step"] == [2, 4] and len(curves["train_loss"]) == len(curves["val_lsd_db"]) == 2
    assert result.metrics["val_lsd_db"] == min(curves["val_lsd_db"])
    assert len(result.per_item) == result.extra["data"]["split_sizes"]["test"] == 4
    item = next(iter(result.per_item.values()))
    assert {"f0_true_hz", "f0_est_hz", "rpa", "rca", "od", "lsd_db", "n_harmonics"} <= set(item)
    assert result.extra["data"]["disjoint_splits"] is True
    assert result.extra["model"]["n_parameters"] == 46_012
    assert {"step_s", "train_s", "test_s", "total_s"} <= set(result.extra["timing"])


def test_same_seed_same_numbers(reference, tmp_path):
    again = run(make_ctx(tmp_path)[0])
    assert again.metrics == reference[0].metrics
    assert again.extra["curves"] == reference[0].extra["curves"]
    assert again.per_item == reference[0].per_item


def test_killed_run_resumes_to_identical_numbers(reference, tmp_path):
    ctx, saves = make_ctx(tmp_path, kill_at_save=1)
    with pytest.raises(Killed):
        run(ctx)
    assert saves == [2]
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["step"] == 2 and state["curves"]["step"] == [2]
    resumed_ctx, resumed_saves = make_ctx(tmp_path, resume=True)
    resumed = run(resumed_ctx)
    assert resumed_saves == [4]
    assert resumed.metrics == reference[0].metrics
    assert resumed.extra["curves"] == reference[0].extra["curves"]
    assert resumed.per_item == reference[0].per_item


def test_checkpoint_from_other_settings_is_refused(tmp_path):
    ctx, _ = make_ctx(tmp_path, kill_at_save=1)
    with pytest.raises(Killed):
        run(ctx)
    other, _ = make_ctx(tmp_path, {"data": {"seed": 6}}, resume=True)
    with pytest.raises(ValueError, match="overwrite=true"):
        run(other)


@pytest.mark.parametrize("overrides, match", [
    ({"train": {"stepz": 3}}, "Did you mean 'steps'"),
    ({"train": {"steps": 0}}, "steps"),
    ({"train": {"steps": -5}}, "steps"),
    ({"train": {"lr": 0}}, "lr"),
    ({"data": {"f0_max_hz": 9000}}, "Nyquist"),
    ({"data": {"n_exemples": 10}}, "n_examples"),
])
def test_bad_config_raises(tmp_path, overrides, match):
    with pytest.raises(ValueError, match=match):
        run(make_ctx(tmp_path, overrides)[0])


def test_missing_loss_raises(tmp_path):
    ctx, _ = make_ctx(tmp_path)
    ctx.cfg.loss = None
    ctx.cfg.task.default_loss = None
    with pytest.raises(ValueError, match="loss="):
        run(ctx)


def test_yaml_budgets_are_valid():
    base = OmegaConf.load(TASK_YAML)
    assert base.name == "synth-ae" and set(base.budgets) == {"smoke", "cpu", "cpu-long", "paper"}
    paper = OmegaConf.merge(base, base.budgets.paper)
    train = parse_train_config(OmegaConf.to_container(paper.train))
    assert train["lr"] == 1e-4 and train["weight_decay"] == 1e-4
    assert train["batch_size"] == 64 and train["steps"] == 25_000
    assert paper.data.n_examples == 4000 and list(paper.data.split) == [0.7, 0.2, 0.1]
    long = parse_train_config(OmegaConf.to_container(OmegaConf.merge(base, base.budgets["cpu-long"]).train))
    assert long["steps"] == 10_000 and long["batch_size"] == 16  # the longest run one core affords in ~1 h
    for budget in ("smoke", "cpu", "cpu-long"):
        merged = OmegaConf.merge(base, base.budgets[budget])
        parse_train_config(OmegaConf.to_container(merged.train))
        assert merged.data.seed == base.data.seed


@pytest.mark.slow
def test_smoke_budget_twice_gives_identical_metrics(tmp_path):
    base = OmegaConf.load(TASK_YAML)
    task = OmegaConf.merge({k: v for k, v in base.items() if k != "budgets"}, base.budgets.smoke)
    results = []
    for _ in range(2):
        cfg = OmegaConf.create({"task": copy.deepcopy(task), "model": "harmonic-ae",
                                "loss": "test-stand-in", "seed": 42})
        ctx = RunContext(cfg=cfg, run_dir=tmp_path, device=torch.device("cpu"), seed=42, progress=False,
                         save_checkpoint=lambda s: None, load_checkpoint=lambda: None,
                         log=logging.getLogger("test"))
        results.append(run(ctx))
    assert results[0].metrics == results[1].metrics


def test_test_set_predictions_are_stored_and_rescore_exactly(tmp_path):
    from sotbench.metrics.pitch import pitch_metrics

    ctx, _ = make_ctx(tmp_path)
    result = run(ctx)
    path = tmp_path / result.extra["predictions"]["file"]
    with np.load(path) as saved:
        arrays = {k: saved[k] for k in saved.files}
    n = len(result.per_item)
    assert arrays["f0_est_hz"].shape[0] == arrays["amplitudes"].shape[0] == n
    assert arrays["amplitudes"].shape[:2] == arrays["f0_est_hz"].shape and arrays["amplitudes"].shape[2] == 20
    rescored = pitch_metrics(arrays["f0_true_hz"], arrays["f0_est_hz"])
    assert rescored["rpa"] == result.metrics["rpa"] and rescored["rca"] == result.metrics["rca"]
    assert float(arrays["lsd_db"].mean()) == pytest.approx(result.metrics["lsd_db"], rel=1e-12)


def test_validation_is_logged_at_info_when_the_progress_bar_is_off(tmp_path, caplog):
    # progress=false (batch jobs, CI) must still say how far a long run has got
    ctx, _ = make_ctx(tmp_path)
    with caplog.at_level(logging.INFO, logger="test"):
        run(ctx)
    steps = [r.getMessage() for r in caplog.records
             if "val RPA" in r.getMessage() and r.levelno == logging.INFO]
    assert [m.split()[2] for m in steps] == ["2/4", "4/4"], steps
