"""SS-MPE training hook (sotbench.tasks.mpe_training) on tiny in-memory note sets."""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from sotbench.models.ssmpe import count_parameters, load_ssmpe_checkpoint
from sotbench.tasks import mpe_training as mt
from sotbench.tasks.base import RunContext

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@dataclass(frozen=True)
class FakeNote:
    """A harmonic tone standing in for an NSynth note (0.5 s, decaying over the last 0.125 s)."""

    note_str: str
    pitch: int
    seed: int

    def load_audio(self, sample_rate: int) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        t = np.arange(sample_rate // 2) / sample_rate
        f0 = 440.0 * 2 ** ((self.pitch - 69) / 12)
        x = sum(rng.uniform(0.1, 1) / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6)
                if k * f0 < sample_rate / 2)
        return (0.3 * x * np.minimum(1.0, np.maximum(0.0, (0.5 - t) * 8))).astype(np.float32)


def fake_notes(cfg, split, data_root=None):
    n = 12 if split == "train" else 3
    offset = 0 if split == "train" else 100
    notes = [FakeNote(f"fake_{split}_{i:03d}", 40 + 3 * i, offset + i) for i in range(n)]
    return notes, {"dataset": "fake-tones", "folder": split}


class Store:
    """In-memory ctx.save_checkpoint / load_checkpoint; optionally interrupts after a save."""

    def __init__(self, interrupt_after: int | None = None):
        self.state, self.saves, self.interrupt_after = None, 0, interrupt_after

    def save(self, state):
        self.state = {k: (v.copy() if isinstance(v, dict) else v) for k, v in state.items()}
        self.saves += 1
        if self.interrupt_after is not None and self.saves >= self.interrupt_after:
            raise KeyboardInterrupt("simulated crash after a checkpoint")

    def load(self):
        return self.state


TINY = dict(batch_size=4, crop_frames=12, checkpoint_every=2, max_steps=4, max_epochs=100,
            n_valid=2, duration_s=0.5, val_batch_size=2, threads=1)


def make_ctx(tmp_path: Path, store: Store, model="ssmpe", seed=0, **train) -> RunContext:
    cfg = OmegaConf.create({"model": model, "budget": "smoke", "data_root": None,
                            "task": {"name": "mpe", "train": {"enabled": True, **TINY, **train}}})
    return RunContext(cfg=cfg, run_dir=tmp_path, device=torch.device("cpu"), seed=seed,
                      progress=False, save_checkpoint=store.save, load_checkpoint=store.load,
                      log=logging.getLogger("test-ssmpe-training"))


@pytest.fixture(autouse=True)
def patched_notes(monkeypatch):
    monkeypatch.setattr(mt, "load_training_notes", fake_notes)


def weights(path: Path) -> dict:
    net, payload = load_ssmpe_checkpoint(path)
    return {k: v.clone() for k, v in net.state_dict().items()}, payload


# --------------------------------------------------------------------- configuration

def test_config_defaults_and_validation():
    cfg = mt.parse_train_config({"enabled": True}, "ssmpe")
    assert cfg["objective"] == "full" and cfg["batch_size"] == 20 and cfg["lr"] == 1e-4
    assert cfg["grad_clip"] == 10.0 and cfg["plateau_factor"] == 0.5 and cfg["data"] == "auto"
    assert mt.parse_train_config({}, "ssmpe-energy-timbre")["objective"] == "energy+timbre"
    with pytest.warns(UserWarning, match="overrides the objective of model 'ssmpe'"):
        assert mt.parse_train_config({"objective": "energy"}, "ssmpe")["objective"] == "energy"
    with pytest.raises(ValueError, match="unknown task.train settings"):
        mt.parse_train_config({"learning_rate": 1e-3})
    with pytest.raises(ValueError, match="choose one of"):
        mt.parse_train_config({"objective": "everything"})
    with pytest.raises(ValueError, match="auto, notes-synth or nsynth"):
        mt.parse_train_config({"data": "maestro"})
    with pytest.raises(ValueError, match="batch_size"):
        mt.parse_train_config({"batch_size": 0})


def test_step_batches_cover_each_note_once_per_epoch():
    seen = np.concatenate([mt._step_batch(7, s, 23, 5) for s in range(4)])      # 4 batches/epoch
    assert len(set(seen.tolist())) == 20
    assert np.array_equal(mt._step_batch(7, 5, 23, 5), mt._step_batch(7, 5, 23, 5))
    assert not np.array_equal(mt._step_batch(7, 0, 23, 5), mt._step_batch(7, 4, 23, 5))


# --------------------------------------------------------------------- training

def test_training_writes_a_loadable_model_file_with_curves(tmp_path):
    store = Store()
    path = mt.train_ssmpe(make_ctx(tmp_path, store))
    assert path == tmp_path / "ssmpe-full.pt"
    net, payload = load_ssmpe_checkpoint(path)
    assert count_parameters(net) == 545_189
    meta = payload["meta"]
    assert meta["objective"] == "full" and meta["steps"] == 4 and meta["seed"] == 0
    assert meta["curves"]["step"] == [2, 4]
    assert all(math.isfinite(v) for v in meta["curves"]["val_total"])
    assert set(meta["curves"]["val_terms"]) == {"support", "harmonic", "sparsity", "timbre", "geometric"}
    assert meta["best_step"] in (2, 4)
    assert meta["best_val_total"] == min(meta["curves"]["val_total"])
    summary = json.loads((tmp_path / "training.json").read_text())
    assert summary["curves"]["val_total"] == meta["curves"]["val_total"]
    assert store.saves == 2 and store.state["done"] is True


def test_same_seed_same_weights_and_exact_resume(tmp_path):
    a = mt.train_ssmpe(make_ctx(tmp_path / "a", Store(), checkpoint_every=2, max_steps=4))
    crash = Store(interrupt_after=1)                       # killed right after the step-2 checkpoint
    with pytest.raises(KeyboardInterrupt):
        mt.train_ssmpe(make_ctx(tmp_path / "b", crash, checkpoint_every=2, max_steps=4))
    assert crash.state["step"] == 2
    crash.interrupt_after = None
    b = mt.train_ssmpe(make_ctx(tmp_path / "b", crash, checkpoint_every=2, max_steps=4))
    wa, pa = weights(a)
    wb, pb = weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert pa["meta"]["curves"]["val_total"] == pb["meta"]["curves"]["val_total"]
    # continuing a finished run to more steps = training that long in one go
    c = mt.train_ssmpe(make_ctx(tmp_path / "b", crash, checkpoint_every=2, max_steps=5))
    d = mt.train_ssmpe(make_ctx(tmp_path / "d", Store(), checkpoint_every=2, max_steps=5))
    wc, _ = weights(c)
    wd, _ = weights(d)
    assert all(torch.equal(wc[k], wd[k]) for k in wc)
    e = mt.train_ssmpe(make_ctx(tmp_path / "e", Store(), seed=1, checkpoint_every=2, max_steps=2))
    we, _ = weights(e)
    assert not all(torch.equal(wa[k], we[k]) for k in wa)


def test_resume_refuses_another_configuration(tmp_path):
    store = Store()
    mt.train_ssmpe(make_ctx(tmp_path, store, max_steps=2))
    with pytest.raises(ValueError, match="different SS-MPE training configuration"):
        mt.train_ssmpe(make_ctx(tmp_path, store, max_steps=2, lr=1e-3))


@pytest.mark.parametrize("model,objective", [("ssmpe-energy", "energy"),
                                             ("ssmpe-energy-timbre", "energy+timbre"),
                                             ("ssmpe-energy-geometric", "energy+geometric")])
def test_ablations_train_through_their_model_names(tmp_path, model, objective):
    path = mt.train_ssmpe(make_ctx(tmp_path, Store(), model=model, max_steps=2))
    _, payload = load_ssmpe_checkpoint(path)
    assert path.name == f"ssmpe-{objective.replace('+', '-')}.pt"
    assert payload["meta"]["objective"] == objective
    assert set(payload["meta"]["curves"]["val_terms"]) == set(mt.OBJECTIVES[objective])


def test_early_stopping_and_lr_halving(tmp_path, monkeypatch):
    # a validation loss that never improves: the plateau rule halves the lr, early stopping ends
    flat = {t: 1.0 for t in mt.OBJECTIVES["full"]} | {"total": 5.0}
    monkeypatch.setattr(mt, "_validate", lambda *a, **k: dict(flat))
    path = mt.train_ssmpe(make_ctx(tmp_path, Store(), max_steps=40, checkpoint_every=1,
                                   plateau_epochs=0.3, early_stop_epochs=1.0))
    _, payload = load_ssmpe_checkpoint(path)
    meta = payload["meta"]
    # 12 notes / batch 4 = 3 steps per epoch: patience 1 validation, stop after 3 without improvement
    assert meta["stopped_early"] is True and meta["steps"] == 4 and meta["best_step"] == 1
    assert meta["curves"]["lr"] == [1e-4, 1e-4, 1e-4, 5e-5]


def test_too_few_notes_for_a_batch(tmp_path):
    with pytest.raises(ValueError, match="cannot fill a batch"):
        mt.train_ssmpe(make_ctx(tmp_path, Store(), batch_size=64))


def test_init_output_bias_starts_from_a_quiet_salience(tmp_path):
    quiet = mt.train_ssmpe(make_ctx(tmp_path / "q", Store(), max_steps=2, lr=1e-12,
                                    init_output_bias=-6.0))
    default = mt.train_ssmpe(make_ctx(tmp_path / "d", Store(), max_steps=2, lr=1e-12))
    sq = load_ssmpe_checkpoint(quiet)[1]["meta"]["curves"]["val_terms"]["sparsity"][0]
    sd = load_ssmpe_checkpoint(default)[1]["meta"]["curves"]["val_terms"]["sparsity"][0]
    assert sq < 440 * 0.01 < sd                       # sum over 440 bins of sigmoid(-6) ~ 1.1


# --------------------------------------------------------------------- TrainConfig (one home of the defaults)

def test_train_config_is_the_one_home_of_the_defaults():
    from hydra.core.config_store import ConfigStore

    cfg = mt.TrainConfig.from_settings({"lr": 3e-4, "notes_synth": {"sizes": {"train": 40}}}, "ssmpe")
    assert isinstance(cfg, mt.TrainConfig) and cfg.lr == 3e-4 and cfg.batch_size == 20
    assert cfg.notes_synth.sizes["train"] == 40 and cfg.notes_synth.seed == 0
    assert mt.TRAIN_DEFAULTS == mt.TrainConfig().as_dict()
    assert mt.parse_train_config({}, "ssmpe") == {**mt.TRAIN_DEFAULTS, "objective": "full"}
    # registered as a Hydra structured config
    node = ConfigStore.instance().load("ssmpe/train.yaml").node
    assert OmegaConf.to_object(node) == mt.TrainConfig()
    # wrong types are errors that name the key
    with pytest.raises(ValueError, match="batch_size"):
        mt.TrainConfig.from_settings({"batch_size": "twenty"})


def test_task_yaml_only_overrides_known_train_settings():
    # tasks/mpe.yaml: every task.train key (base and budgets) is a TrainConfig field, and the budgets
    # compose into valid configurations
    from sotbench.runner.run import tasks_dir

    raw = OmegaConf.to_container(OmegaConf.load(tasks_dir() / "mpe.yaml"))
    sections = [raw.get("train") or {}] + [(b or {}).get("train") or {} for b in (raw.get("budgets") or {}).values()]
    known = {f for f in mt.TRAIN_DEFAULTS} | {"enabled"}
    # the base section may only repeat TrainConfig's defaults (it must not become a second home)
    defaults = mt.TrainConfig().as_dict()
    for key, value in (raw.get("train") or {}).items():
        if key != "enabled":
            assert value == defaults[key], (key, value, defaults[key])
    for section in sections:
        assert set(section) <= known, set(section) - known
        merged = OmegaConf.to_container(OmegaConf.merge(raw.get("train") or {}, section))
        mt.TrainConfig.from_settings(merged, "ssmpe")


# --------------------------------------------------------------------- outputs: curves, TensorBoard, provenance

def test_curves_file_is_generic_and_matches_the_model_meta(tmp_path):
    ctx = make_ctx(tmp_path, Store(), model="ssmpe-energy-timbre")
    ctx.git_commit = "0123abc"                                # what the runner records for the run
    path = mt.train_ssmpe(ctx)
    meta = load_ssmpe_checkpoint(path)[1]["meta"]
    curves = json.loads((tmp_path / "curves.json").read_text())
    assert curves["format"] == mt.CURVES_FORMAT and curves["x"] == "step"
    terms = ["total", "support", "harmonic", "sparsity", "timbre"]
    assert set(curves["series"]) == {f"{s}/{t}" for s in ("train", "valid") for t in terms} | {"lr"}
    for series in curves["series"].values():
        assert series["x"] == [2, 4] and len(series["y"]) == 2
    assert curves["series"]["valid/total"]["y"] == meta["curves"]["val_total"]
    assert curves["series"]["train/timbre"]["y"] == meta["curves"]["train_terms"]["timbre"]
    assert curves["meta"]["best_step"] == meta["best_step"] and curves["meta"]["objective"] == "energy+timbre"
    assert meta["commit"] == "0123abc"
    assert not (tmp_path / "tensorboard").exists()                # off by default
    assert not list(tmp_path.glob("*.tmp*"))                      # atomic writes leave no temporaries


def test_tensorboard_scalars_when_enabled(tmp_path, monkeypatch):
    written = []

    class FakeWriter:
        def __init__(self, log_dir):
            self.log_dir = log_dir

        def add_scalar(self, name, value, step):
            written.append((name, value, step))

        def flush(self):
            pass

        def close(self):
            written.append("closed")

    monkeypatch.setattr(mt, "_summary_writer", lambda log_dir: FakeWriter(log_dir))
    mt.train_ssmpe(make_ctx(tmp_path, Store(), model="ssmpe-energy", tensorboard=True))
    assert written[-1] == "closed"
    scalars = {(n, s) for n, _, s in written[:-1]}
    assert {("valid/total", 2), ("valid/total", 4), ("train/sparsity", 4), ("lr", 2)} <= scalars


def test_tensorboard_requested_but_missing_names_the_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard") or name == "tensorboard":
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ValueError, match="pip install tensorboard"):
        mt._summary_writer(tmp_path / "tb")


def test_a_finished_run_is_not_trained_again(tmp_path, monkeypatch):
    # the runner calls the hook once per evaluation record: the second call reuses the model file
    store = Store()
    first = mt.train_ssmpe(make_ctx(tmp_path, store, max_steps=2))
    before = first.read_bytes()

    def fail(*a, **k):
        raise AssertionError("features recomputed for a finished run")

    monkeypatch.setattr(mt, "NoteFeatures", fail)
    assert mt.train_ssmpe(make_ctx(tmp_path, store, max_steps=2)) == first
    assert first.read_bytes() == before and store.saves == 1
