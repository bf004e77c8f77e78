"""``sotbench run``: resolve a Hydra configuration, run one task, store its result.

The runner owns everything a task should not care about: configuration and
budgets, device choice, seeding, the results store (atomic writes, skip a
completed run, resume a killed one), provenance and logging.
"""
from __future__ import annotations

import copy
import difflib
import logging
import os
import random
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from sotbench.registry import LOSSES, MODELS, TASKS
from sotbench import results as store
from sotbench.runner import provenance
from sotbench.tasks.base import RunContext, TaskResult

__all__ = ["tasks_dir", "register_task_configs", "compose", "execute", "main", "TOP_LEVEL_KEYS"]

log = logging.getLogger("sotbench")

TOP_LEVEL_KEYS = ("task", "model", "loss", "seed", "budget", "device", "threads", "progress", "overwrite",
                  "results_root", "data_root", "train")
# Keys that do not change a run's numbers and therefore stay out of the config hash.
_RUNTIME_KEYS = ("progress", "overwrite", "results_root", "data_root", "device")


def tasks_dir() -> Path:
    """Folder holding one ``<task>.yaml`` per task (``$SOTBENCH_TASKS_DIR`` or the repo's ``tasks/``)."""
    env = os.environ.get("SOTBENCH_TASKS_DIR")
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "tasks"
    if not folder.is_dir():
        raise ValueError(f"task definitions folder {folder} not found; set SOTBENCH_TASKS_DIR to the "
                         "sotbench checkout's tasks/ folder (install with `pip install -e .`)")
    return folder


def register_task_configs() -> list[str]:
    """Register every ``tasks/*.yaml`` as an option of Hydra's ``task`` config group."""
    from hydra.core.config_store import ConfigStore

    names = []
    for path in sorted(tasks_dir().glob("*.yaml")):
        ConfigStore.instance().store(group="task", name=path.stem, node=OmegaConf.load(path))
        names.append(path.stem)
    return names


def check_overrides(overrides: list[str]) -> None:
    """Refuse unknown top-level keys and unknown task names before Hydra composes.

    Raises
    ------
    ValueError
        With a "did you mean" hint.
    """
    task_names = [p.stem for p in tasks_dir().glob("*.yaml")]
    for item in overrides:
        if "=" not in item or item.startswith(("hydra", "+", "~")):
            continue
        key, value = item.split("=", 1)
        top = key.split(".")[0]
        if top not in TOP_LEVEL_KEYS:
            close = difflib.get_close_matches(top, TOP_LEVEL_KEYS, n=2, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"unknown config key {top!r}.{hint} Known keys: {', '.join(TOP_LEVEL_KEYS)}; "
                             "task settings go under task.<key> (e.g. task.train.steps=100).")
        if key == "task":
            for name in value.split(","):
                if name not in task_names:
                    close = difflib.get_close_matches(name, task_names, n=2, cutoff=0.5)
                    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
                    raise ValueError(f"unknown task {name!r}.{hint} Known tasks: {', '.join(sorted(task_names))} "
                                     f"(one YAML each in {tasks_dir()}). Run `sotbench ls` for descriptions.")


def compose(overrides: list[str] | None = None) -> DictConfig:
    """Compose the configuration a ``sotbench run`` with ``overrides`` would use (no Hydra app)."""
    from hydra import compose as hydra_compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    overrides = list(overrides or [])
    check_overrides(overrides)
    register_task_configs()
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="sotbench.conf", version_base="1.3"):
        cfg = hydra_compose(config_name="config", overrides=overrides)
    return apply_budget(cfg, [o for o in overrides if o.startswith("task.")])


def apply_budget(cfg: DictConfig, task_overrides: list[str]) -> DictConfig:
    """Overlay ``task.budgets[budget]`` on the task config, then re-apply the user's ``task.*`` overrides.

    The user's explicit settings win over the budget's.

    Raises
    ------
    ValueError
        Unknown budget for this task.
    """
    cfg = copy.deepcopy(cfg)
    budgets = cfg.task.get("budgets") or {}
    if cfg.budget not in budgets:
        raise ValueError(f"unknown budget {cfg.budget!r} for task {cfg.task.name!r}; "
                         f"choose one of {', '.join(budgets)} (budget=<name>)")
    OmegaConf.set_struct(cfg, False)
    task = OmegaConf.merge(cfg.task, budgets[cfg.budget])
    if task_overrides:
        task = OmegaConf.merge(task, OmegaConf.from_dotlist([o[len("task."):] for o in task_overrides]))
    del task["budgets"]
    cfg.task = task
    return cfg


def _resolve_names(cfg: DictConfig) -> DictConfig:
    """Fill the task's default model/loss and check every name against the registries."""
    TASKS.entry(cfg.task.name)
    model = cfg.model or cfg.task.get("default_model")
    model_entry = MODELS.entry(model)
    model_task = model_entry.meta.get("task")
    if model_task is not None and model_task != cfg.task.name:
        fit = [e.name for e in MODELS if e.meta.get("task") == cfg.task.name]
        raise ValueError(f"model {model!r} belongs to task {model_task!r}, not {cfg.task.name!r}; "
                         f"models for {cfg.task.name!r}: {', '.join(fit)}")
    uses_loss = bool(cfg.task.get("uses_loss", False))
    loss = cfg.loss if cfg.loss not in (None, "-") else (cfg.task.get("default_loss") if uses_loss else None)
    if loss is not None and not uses_loss:
        raise ValueError(f"task {cfg.task.name!r} takes no loss (got loss={loss!r}); drop the loss= setting")
    if loss is not None:
        LOSSES.entry(loss)
    if not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {cfg.seed!r}")
    cfg.model, cfg.loss = model, loss
    return cfg


def _select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} asked for but CUDA is not available here; use device=cpu or device=auto")
    return device


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _hashed_config(cfg: DictConfig) -> dict:
    plain = OmegaConf.to_container(cfg, resolve=True)
    return {k: v for k, v in plain.items() if k not in _RUNTIME_KEYS}


def execute(cfg: DictConfig) -> dict:
    """Run (or skip, or resume) the run described by a composed config; return its result dict.

    Parameters
    ----------
    cfg : DictConfig
        From :func:`compose` (budget already applied).

    Returns
    -------
    dict
        The content of the run's ``result.json``.
    """
    cfg = _resolve_names(copy.deepcopy(cfg))
    device = _select_device(str(cfg.device))
    if cfg.get("threads") is not None:
        if int(cfg.threads) < 1:
            raise ValueError(f"threads must be >= 1, got {cfg.threads!r}; use threads=null for torch's default")
        torch.set_num_threads(int(cfg.threads))
    root = Path(cfg.results_root).expanduser().resolve()
    # A model retrained from scratch (MPE: train=true) is another run than the shipped checkpoint's evaluation.
    retrained = bool(cfg.get("train")) or bool(OmegaConf.select(cfg, "task.train.enabled", default=False))
    slot = cfg.loss or (f"train-{cfg.budget}" if retrained else None)
    paths = store.RunPaths(root, cfg.task.name, cfg.model, slot, int(cfg.seed))
    store.ensure_writable(paths.run_dir)
    hashed = _hashed_config(cfg)
    chash = provenance.config_hash(hashed)
    label = f"task={cfg.task.name} model={cfg.model} loss={cfg.loss or '-'} seed={cfg.seed} budget={cfg.budget}"

    previous = store.read_result(paths.result)
    if previous is not None and previous.get("status") == "completed":
        if not cfg.overwrite and previous.get("config_hash") != chash:
            raise ValueError(f"{paths.result} holds a completed run with another configuration "
                             f"(hash {previous.get('config_hash')} != {chash}); pass overwrite=true to replace it "
                             "(the old result is kept as result.previous.json) or choose another results_root")
        if not cfg.overwrite:
            log.info("skip %s: already completed (%s); pass overwrite=true to run again", label, paths.result)
            return previous
        os.replace(paths.result, paths.previous_result)
        paths.checkpoint.unlink(missing_ok=True)
        log.info("overwrite %s: previous result kept as %s", label, paths.previous_result)
    elif paths.checkpoint.exists() and cfg.overwrite:
        paths.checkpoint.unlink()

    started = time.time()
    record = {
        "task": cfg.task.name, "model": cfg.model, "loss": cfg.loss, "seed": int(cfg.seed),
        "budget": cfg.budget, "status": "running", "config": OmegaConf.to_container(cfg, resolve=True),
        "config_hash": chash, "git": provenance.git_commit(), "versions": provenance.package_versions(),
        "device": provenance.device_description(device),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    store.atomic_write_json(paths.result, record)
    seed_everything(int(cfg.seed))

    def save_checkpoint(state: dict) -> None:
        store.atomic_torch_save(paths.checkpoint, {"config_hash": chash, "state": state})

    resumed = store.load_checkpoint(paths.checkpoint, config_hash=chash)
    if resumed is not None:
        log.info("resume %s from %s", label, paths.checkpoint)
    ctx = RunContext(cfg=cfg, run_dir=paths.run_dir, device=device, seed=int(cfg.seed),
                     progress=bool(cfg.progress), save_checkpoint=save_checkpoint,
                     load_checkpoint=lambda: resumed, log=log)
    log.info("run %s on %s (%s)", label, device, record["device"]["name"])
    task = TASKS.get(cfg.task.name)()
    try:
        result: TaskResult = task.run(ctx)
    except BaseException as err:
        status = "interrupted" if isinstance(err, KeyboardInterrupt) else "failed"
        record.update(status=status, duration_s=round(time.time() - started, 3),
                      error=f"{type(err).__name__}: {err}",
                      traceback=traceback.format_exc(limit=20))
        store.atomic_write_json(paths.result, record)
        log.error("%s %s after %.1f s: %s", status, label, time.time() - started, err)
        raise
    record.update(status="completed", duration_s=round(time.time() - started, 3),
                  finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  metrics=result.metrics, main_score=result.main_score, direction=result.direction,
                  per_item=result.per_item, extra=result.extra)
    store.atomic_write_json(paths.result, record)
    log.info("done %s in %.1f s: %s = %s", label, record["duration_s"], result.main_score,
             result.metrics.get(result.main_score))
    return store.read_result(paths.result)


def _hydra_entry(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from sotbench.report.summary import format_run_summary

    overrides = [o for o in HydraConfig.get().overrides.task if o.startswith("task.")]
    try:
        result = execute(apply_budget(cfg, overrides))
    except ValueError as err:  # configuration and input errors: the message says the fix
        print(f"sotbench run: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print(format_run_summary(result))


def main(argv: list[str]) -> int:
    """Entry point of ``sotbench run``: ``argv`` are Hydra arguments (``key=value``, ``-m``, ...)."""
    import hydra

    try:
        check_overrides([a for a in argv if not a.startswith("-")])
    except ValueError as err:
        print(f"sotbench run: error: {err}", file=sys.stderr)
        return 2
    register_task_configs()
    app = hydra.main(config_path="../conf", config_name="config", version_base="1.3")(_hydra_entry)
    saved = sys.argv
    sys.argv = ["sotbench run", *argv]
    try:
        app()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    finally:
        sys.argv = saved
    return 0
