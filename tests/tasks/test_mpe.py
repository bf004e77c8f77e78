"""Tests of task ``mpe`` on tiny generated datasets (and real Bach10 when present)."""
from __future__ import annotations

import logging
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

import sotbench.data as data
from sotbench.data.roots import DatasetNotFound
from sotbench.registry import MODELS, Entry
from sotbench.tasks.base import RunContext
from sotbench.types import MultiPitchTrack, Salience

mpe = pytest.importorskip("sotbench.tasks.mpe")

SR = 22050
TASK_YAML = Path(__file__).resolve().parents[2] / "tasks" / "mpe.yaml"


def _track(name, f0s, seconds=1.0):
    n = np.arange(int(seconds * SR))
    audio = sum(0.2 / k * np.sin(2 * np.pi * k * f * n / SR) for f in f0s for k in range(1, 4))
    times = 0.023 + 0.01 * np.arange(int((seconds - 0.05) / 0.01))
    return MultiPitchTrack(name, audio.astype(np.float32), SR, times,
                           [np.array(sorted(f0s), dtype=float) for _ in times])


def _tiny_loader(root=None, tracks=None, **kw):
    items = [_track("01-a", [220.0]), _track("02-b", [196.0, 330.0]), _track("03-c", [440.0])]
    if tracks is not None:
        items = [items[i - 1] for i in tracks]
    return items


def _missing_loader(root=None, tracks=None, **kw):
    raise DatasetNotFound("expected /nowhere/Bach10_v1.1 with NN-Name/NN-Name.wav")


@pytest.fixture
def datasets(monkeypatch):
    monkeypatch.setitem(data.EVAL_DATASETS, "tiny", _tiny_loader)
    monkeypatch.setitem(data.EVAL_DATASETS, "gone", _missing_loader)


def make_ctx(model, overrides=None, top=None):
    task = OmegaConf.merge(OmegaConf.load(TASK_YAML), overrides or {})
    del task["budgets"]
    cfg = OmegaConf.create({"model": model, "task": task, "data_root": None, "train": False,
                            **(top or {})})
    run_dir = Path(tempfile.mkdtemp(prefix="sotbench-test-mpe-"))  # the task writes estimates/ there
    return RunContext(cfg=cfg, run_dir=run_dir, device=torch.device("cpu"), seed=0,
                      progress=False, save_checkpoint=lambda s: None, load_checkpoint=lambda: None,
                      log=logging.getLogger("test-mpe"))


def test_yaml_budgets_and_registration():
    cfg = OmegaConf.load(TASK_YAML)
    assert cfg.name == "mpe" and list(cfg.eval) == ["bach10", "chorales-synth"]
    assert cfg.threshold is None and cfg.train.enabled is False
    assert set(cfg.budgets) == {"smoke", "cpu", "paper"}
    assert cfg.budgets.smoke.max_tracks == 2
    from sotbench.registry import TASKS
    assert TASKS.get("mpe") is mpe.MPETask


def test_run_scores(datasets):
    ctx = make_ctx("hcqt-harmonic-sum-log", {"eval": ["tiny"], "max_tracks": 2})
    res = mpe.MPETask().run(ctx)
    assert res.main_score == "tiny/acc" and res.direction == "max"
    assert set(res.metrics) == {"tiny/p", "tiny/r", "tiny/acc", "tiny/f1", "rtf"}
    assert set(res.per_item) == {"tiny/01-a", "tiny/02-b"}
    assert res.extra["datasets"]["tiny"]["n_tracks"] == 2 and res.extra["datasets"]["tiny"]["n_available"] == 3
    assert res.extra["threshold"] == 0.9 and res.extra["threshold_source"] == "model"
    item = res.per_item["tiny/01-a"]
    assert item["audio_s"] == pytest.approx(1.0) and item["rtf"] > 0
    # the average is the unweighted mean of the per-track scores
    assert res.metrics["tiny/acc"] == pytest.approx(np.mean([v["acc"] for v in res.per_item.values()]))
    assert res.metrics["tiny/acc"] > 50  # harmonic sum finds clean harmonic tones
    assert all(np.isfinite(v) for v in res.metrics.values())


def test_threshold_override_changes_scores(datasets):
    base = mpe.MPETask().run(make_ctx("hcqt-h1-log", {"eval": ["tiny"]}))
    strict = mpe.MPETask().run(make_ctx("hcqt-h1-log", {"eval": ["tiny"], "threshold": 0.999}))
    assert strict.extra["threshold"] == 0.999 and strict.extra["threshold_source"] == "task"
    assert strict.metrics["tiny/r"] < base.metrics["tiny/r"]


def test_all_missing_or_bad_config(datasets):
    with pytest.raises(DatasetNotFound, match="dataset gone .*cannot be read.*Bach10"):
        mpe.MPETask().run(make_ctx("hcqt-h1", {"eval": ["gone"]}))
    with pytest.raises(ValueError, match="unknown evaluation dataset"):
        mpe.MPETask().run(make_ctx("hcqt-h1", {"eval": ["bach1O"]}))
    with pytest.raises(ValueError, match="threshold"):
        mpe.MPETask().run(make_ctx("hcqt-h1", {"eval": ["tiny"], "threshold": 1.5}))


class _Fixed:
    """A trainable stand-in: salience peaks at the checkpoint's pitch."""

    threshold = 0.5

    def __init__(self, checkpoint=None):
        self.checkpoint = checkpoint
        self.name = "fake-trainable"

    def salience(self, audio, sample_rate, *, progress=False):
        freqs = 27.5 * 2 ** (np.arange(440) / 60)
        n = 1 + len(audio) * 22050 // sample_rate // 256
        vals = np.zeros((440, n))
        vals[240] = 1.0  # 440 Hz
        return Salience(vals, freqs, np.arange(n) * 256 / 22050)


def test_training_hook(datasets, monkeypatch):
    monkeypatch.setitem(MODELS._entries, "fake-trainable",
                        Entry("fake-trainable", _Fixed, "test", {"task": "mpe", "trainable": True}))
    calls = []
    fake = types.ModuleType("sotbench.tasks.mpe_training")
    fake.train_ssmpe = lambda ctx: calls.append(ctx) or "/tmp/ckpt.pt"
    monkeypatch.setitem(sys.modules, "sotbench.tasks.mpe_training", fake)
    # not requested: no training
    res = mpe.MPETask().run(make_ctx("fake-trainable", {"eval": ["tiny"]}))
    assert calls == [] and res.extra["checkpoint"] is None
    # requested through the task section
    res = mpe.MPETask().run(make_ctx("fake-trainable", {"eval": ["tiny"], "train": {"enabled": True}}))
    assert len(calls) == 1 and res.extra["checkpoint"] == "/tmp/ckpt.pt"
    assert res.per_item["tiny/03-c"]["acc"] == pytest.approx(100.0)  # 440 Hz track
    # requested through the top-level `train=true`
    mpe.MPETask().run(make_ctx("fake-trainable", {"eval": ["tiny"]}, top={"train": True}))
    assert len(calls) == 2


def test_real_bach10_two_tracks():
    try:
        tracks = data.load_bach10(None, tracks=[1])
        len(tracks)
    except DatasetNotFound as err:
        pytest.skip(f"real Bach10 not available: {err}")
    ctx = make_ctx("hcqt-h1-log", {"eval": ["bach10"], "max_tracks": 1})
    res = mpe.MPETask().run(ctx)
    assert list(res.per_item) == ["bach10/01-AchGottundHerr"]
    assert 10 < res.metrics["bach10/acc"] < 60  # a weak DSP baseline, but far above chance
    assert res.metrics["rtf"] < 2.0
