"""``sotbench run``: resolve a Hydra configuration, run one task, store its result.

The runner owns everything a task should not care about: configuration and
budgets, device choice, seeding, the results store (atomic writes, a lock per
run folder, skip a completed record, resume a killed run), provenance and
logging.

Configuration
-------------
Each ``tasks/<task>.yaml`` becomes an option of Hydra's ``task`` config group;
its ``budgets:`` section becomes options of the ``task_budget`` group
(``<task>_<budget>``, merged into ``task`` by the defaults list
``task_budget: ${task}_${budget}``), so the composed configuration -- what
``sotbench run --cfg job`` prints -- is the one that runs.  ``budget=default``
(the default) picks the task's ``default_budget`` (``cpu`` for ``mpe``: the
whole datasets; ``smoke`` for ``synth-ae``).

Identity
--------
A run's folder is ``<results_root>/<task>/<model>/<slot>/<budget>/seed<seed>/``
(see :mod:`sotbench.results`); a task may split a run into records (MPE: one
per dataset).  A record's configuration hash covers its resolved configuration
(less runtime keys and descriptive fields) and its data fingerprint.
"""
from __future__ import annotations

import copy
import difflib
import logging
import os
import random
import re
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from sotbench import results as store
from sotbench.registry import LOSSES, MODELS, TASKS
from sotbench.runner import provenance
from sotbench.tasks.base import RecordPlan, RunContext, TaskResult

__all__ = ["tasks_dir", "register_task_configs", "compose", "execute", "run_records", "main", "parse_bool",
           "parse_device", "record_config_hash", "Outcome", "TOP_LEVEL_KEYS"]

log = logging.getLogger("sotbench")

TOP_LEVEL_KEYS = ("task", "model", "loss", "seed", "budget", "device", "threads", "progress", "overwrite",
                  "results_root", "data_root", "train")
# Keys that do not change a run's numbers and therefore stay out of the config hash.
_RUNTIME_KEYS = ("progress", "overwrite", "results_root", "data_root", "device")
# Descriptive task keys (no effect on numbers) left out of the hash.
_DESCRIPTIVE_TASK_KEYS = ("description", "default_model", "default_loss", "uses_loss", "default_budget", "budgets")
_BOOL_TOP_KEYS = ("progress", "overwrite", "train")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
DEFAULT_BUDGET = "default"


def tasks_dir() -> Path:
    """Folder holding one ``<task>.yaml`` per task.

    ``$SOTBENCH_TASKS_DIR`` if set; else the checkout's top-level ``tasks/``
    (source tree, editable install); else the copy a non-editable install
    ships inside the package (``sotbench/_tasks``, written by ``setup.py``).
    """
    env = os.environ.get("SOTBENCH_TASKS_DIR")
    if env:
        folder = Path(env)
    else:
        checkout = Path(__file__).resolve().parents[2] / "tasks"
        folder = checkout if checkout.is_dir() else Path(__file__).resolve().parents[1] / "_tasks"
    if not folder.is_dir():
        raise ValueError(f"task definitions folder {folder} not found; set SOTBENCH_TASKS_DIR to the "
                         "sotbench checkout's tasks/ folder, or reinstall (`pip install .` ships them)")
    return folder


def _load_task_yaml(name: str) -> DictConfig:
    path = tasks_dir() / f"{name}.yaml"
    try:
        return OmegaConf.load(path)
    except Exception as err:  # yaml errors
        raise ValueError(f"task definition {path} cannot be read ({type(err).__name__}: {err})") from err


def task_budgets(name: str) -> tuple[dict[str, Any], str]:
    """``({budget: overlay}, default budget name)`` of task ``name`` as defined in its YAML."""
    raw = _load_task_yaml(name)
    budgets = raw.get("budgets") or {}
    default = raw.get("default_budget")
    if default is None:
        default = "smoke" if "smoke" in budgets else next(iter(budgets), None)
    if default is not None and default not in budgets:
        raise ValueError(f"tasks/{name}.yaml: default_budget {default!r} is not one of its budgets "
                         f"({', '.join(budgets)})")
    return dict(budgets), default


def register_task_configs() -> list[str]:
    """Register every ``tasks/*.yaml`` as a ``task`` option and its budgets as ``task_budget`` options.

    Returns
    -------
    list of str
        Task names.
    """
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    names, budget_names = [], {DEFAULT_BUDGET}
    for path in sorted(tasks_dir().glob("*.yaml")):
        raw = _load_task_yaml(path.stem)
        budgets, default = task_budgets(path.stem)
        node = OmegaConf.masked_copy(raw, [k for k in raw if k != "budgets"])
        cs.store(group="task", name=path.stem, node=node)
        if not budgets:  # a task without budgets: one implicit empty budget
            budgets, default = {"default": {}}, "default"
        for bname, overlay in budgets.items():
            cs.store(group="task_budget", name=f"{path.stem}_{bname}", package="_global_",
                     node={"budget": bname, "task": overlay or {}})
            budget_names.add(bname)
        cs.store(group="task_budget", name=f"{path.stem}_{DEFAULT_BUDGET}", package="_global_",
                 node={"budget": default, "task": budgets[default] or {}})
        names.append(path.stem)
    for bname in sorted(budget_names):
        cs.store(group="budget", name=bname, package="_global_", node={})
    return names


def _did_you_mean(value: str, choices) -> str:
    close = difflib.get_close_matches(value, list(choices), n=2, cutoff=0.5)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def check_overrides(overrides: list[str]) -> None:
    """Refuse unknown top-level keys, task names and budgets before Hydra composes.

    Raises
    ------
    ValueError
        With a "did you mean" hint.
    """
    task_names = sorted(p.stem for p in tasks_dir().glob("*.yaml"))
    chosen_tasks = ["synth-ae"]
    chosen_budgets: list[str] = []
    for item in overrides:
        if item.startswith(("hydra", "~")) or "=" not in item:
            if not item.startswith(("hydra", "~", "-")) and "=" not in item:
                raise ValueError(f"argument {item!r} is not a key=value setting; e.g. task=mpe model=ssmpe "
                                 "(see `sotbench --help`)")
            continue
        key, value = item.split("=", 1)
        key = key.lstrip("+")
        top = key.split(".")[0]
        if top not in TOP_LEVEL_KEYS:
            raise ValueError(f"unknown config key {top!r}.{_did_you_mean(top, TOP_LEVEL_KEYS)} Known keys: "
                             f"{', '.join(TOP_LEVEL_KEYS)}; task settings go under task.<key> "
                             "(e.g. task.train.steps=100).")
        if key == "task":
            chosen_tasks = _sweep_values(value)
            for name in chosen_tasks:
                if name not in task_names:
                    raise ValueError(f"unknown task {name!r}.{_did_you_mean(name, task_names)} Known tasks: "
                                     f"{', '.join(task_names)} (one YAML each in {tasks_dir()}). "
                                     "Run `sotbench ls` for descriptions.")
        if key == "budget":
            chosen_budgets = _sweep_values(value)
        if key in _BOOL_TOP_KEYS:
            for v in _sweep_values(value):
                parse_bool(key, v)
        if key == "device":
            for v in _sweep_values(value):
                parse_device(v, check_available=False)
    for task in chosen_tasks:
        if task not in task_names:
            continue
        budgets, _ = task_budgets(task)
        for budget in chosen_budgets:
            if budget != DEFAULT_BUDGET and budget not in budgets:
                raise ValueError(f"unknown budget {budget!r} for task {task!r}.{_did_you_mean(budget, budgets)} "
                                 f"Choose one of {', '.join(budgets) or '(none)'} (budget=<name>), or "
                                 f"budget={DEFAULT_BUDGET} for the task's default")


def _sweep_values(value: str) -> list[str]:
    value = value.strip()
    if value.startswith(("range(", "choice(", "glob(", "interval(", "tag(", "sort(", "shuffle(")):
        return []
    return [v.strip().strip("'\"") for v in value.split(",")] if value else [""]


def parse_bool(key: str, value: Any) -> bool:
    """Strict boolean: true/false/yes/no/on/off/1/0 (any case) or a bool.

    Raises
    ------
    ValueError
        Naming the key, the value and the accepted spellings.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"{key}={value!r} is not a boolean; use {key}=true or {key}=false "
                     "(also accepted: yes/no, on/off, 1/0)")


_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def parse_device(name: Any, *, check_available: bool = True) -> torch.device | None:
    """Validate ``device=``: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` (and ``mps`` where torch has it).

    Returns
    -------
    torch.device or None
        The device (``auto`` resolves to CUDA when available, else CPU); None
        when ``check_available`` is false.

    Raises
    ------
    ValueError
        An unknown spelling, or a device this machine does not have.
    """
    text = str(name).strip().lower()
    if not _DEVICE.match(text):
        raise ValueError(f"device={name!r} is not a device; use device=auto, cpu, cuda or cuda:N"
                         + (" (or mps)" if _mps_available() else ""))
    if not check_available:
        return None
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={name!r} asked for but CUDA is not available here; "
                             "use device=cpu or device=auto")
        index = int(text.split(":")[1]) if ":" in text else 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"device={name!r}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                             f"(cuda:0..cuda:{torch.cuda.device_count() - 1})")
    if text == "mps" and not _mps_available():
        raise ValueError(f"device={name!r}: torch has no MPS backend here; use device=cpu or device=auto")
    return torch.device(text)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def compose(overrides: list[str] | None = None) -> DictConfig:
    """Compose the configuration a ``sotbench run`` with ``overrides`` would use (no Hydra app)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    overrides = list(overrides or [])
    check_overrides(overrides)
    register_task_configs()
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="sotbench.conf", version_base="1.3"):
        return hydra_compose(config_name="config", overrides=overrides)


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(node, dict):
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}{k}." if not isinstance(v, dict) or v else f"{prefix}{k}"))
            if isinstance(v, dict) and not v:
                out[f"{prefix}{k}"] = {}
    else:
        out[prefix.rstrip(".")] = node
    return out


def _task_defaults(task: str, budget: str) -> dict:
    raw = OmegaConf.to_container(_load_task_yaml(task), resolve=True)
    budgets, _ = task_budgets(task)
    raw.pop("budgets", None)
    overlay = budgets.get(budget) or {}
    return OmegaConf.to_container(OmegaConf.merge(raw, overlay), resolve=True)


def explicit_task_keys(cfg: DictConfig) -> set[str]:
    """``task.*`` keys whose value differs from the task YAML + budget defaults (what the user set)."""
    defaults = _flatten(_task_defaults(cfg.task.name, cfg.budget))
    actual = _flatten(OmegaConf.to_container(cfg.task, resolve=True))
    return {f"task.{k}" for k in set(defaults) | set(actual) if defaults.get(k, object()) != actual.get(k)}


def _coerce_bools(cfg: DictConfig) -> None:
    """Parse every boolean setting strictly (top-level flags and task keys whose default is a bool)."""
    for key in _BOOL_TOP_KEYS:
        if key in cfg:
            cfg[key] = parse_bool(key, cfg[key])
    defaults = _flatten(_task_defaults(cfg.task.name, cfg.budget))
    for key, default in defaults.items():
        if isinstance(default, bool):
            value = OmegaConf.select(cfg.task, key, default=None)
            if value is not None and not isinstance(value, bool):
                OmegaConf.update(cfg.task, key, parse_bool(f"task.{key}", value), merge=False)


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
    if not isinstance(cfg.seed, int) or isinstance(cfg.seed, bool) or cfg.seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {cfg.seed!r}")
    cfg.model, cfg.loss = model, loss
    return cfg


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _strip_none(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_none(v) for k, v in node.items() if v is not None}
    return node


def hashed_config(config: dict, fingerprint: dict | None = None) -> dict:
    """What a record's configuration hash covers (see :func:`record_config_hash`)."""
    plain = {k: copy.deepcopy(v) for k, v in config.items() if k not in _RUNTIME_KEYS}
    task = dict(plain.get("task") or {})
    for key in _DESCRIPTIVE_TASK_KEYS:
        task.pop(key, None)
    train_node = task.get("train")
    retrained = bool(plain.get("train")) or (isinstance(train_node, dict) and bool(train_node.get("enabled")))
    if task.get("name") == "mpe" and not retrained:
        task.pop("train", None)  # training settings do not change a shipped checkpoint's evaluation
    plain["task"] = _strip_none(task)
    if fingerprint is not None:
        plain["data"] = {k: v for k, v in fingerprint.items() if k != "source"}
    return plain


def record_config_hash(config: dict, fingerprint: dict | None = None) -> str:
    """Hash of what changes a record's numbers (12 hex digits).

    It covers the resolved configuration less runtime keys (progress, overwrite, results_root,
    data_root, device) and descriptive task keys, with null task settings dropped and MPE training
    settings dropped unless the model is retrained, plus the data fingerprint.
    """
    return provenance.config_hash(hashed_config(config, fingerprint))


@dataclass
class Outcome:
    """What happened to one record: ``action`` in {"completed", "reused", "skipped"}."""

    key: str | None
    path: Path
    action: str
    result: dict | None = None
    reason: str | None = None


def _read_previous(paths: store.RunPaths, overwrite: bool) -> dict | None:
    try:
        return store.read_result(paths.result)
    except ValueError:
        if not overwrite:
            raise
        os.replace(paths.result, paths.corrupt_result)
        log.warning("overwrite: unreadable %s moved to %s", paths.result, paths.corrupt_result)
        return None


def _run_record(cfg: DictConfig, paths: store.RunPaths, plan: RecordPlan, device: torch.device,
                checkpoint_hash: str, skipped: dict[str, str], shared_checkpoint: bool = False) -> Outcome:
    plain_cfg = OmegaConf.to_container(cfg, resolve=True)
    chash = record_config_hash(plain_cfg, plan.fingerprint)
    label = (f"task={cfg.task.name} model={cfg.model} loss={cfg.loss or '-'} budget={cfg.budget} "
             f"seed={cfg.seed}" + (f" [{plan.key}]" if plan.key else ""))
    paths.record_dir.mkdir(parents=True, exist_ok=True)
    previous = _read_previous(paths, bool(cfg.overwrite))
    replacing = False
    if previous is not None and previous.get("status") == "completed":
        if not cfg.overwrite and previous.get("config_hash") != chash:
            raise ValueError(f"{paths.result} holds a completed run with another configuration or data "
                             f"(hash {previous.get('config_hash')} != {chash}); pass overwrite=true to replace "
                             "it (the old result is kept as result.previous.json) or choose another "
                             "results_root")
        if not cfg.overwrite:
            log.info("skip %s: already completed (%s); pass overwrite=true to run again", label, paths.result)
            return Outcome(plan.key, paths.result, "reused", previous)
        replacing = True
    target = paths.attempt if replacing else paths.result

    # total duration across resumes: what the previous attempt of this record had spent
    prior_s = 0.0
    earlier = previous if not replacing else _quiet_read(paths.attempt)
    if earlier and earlier.get("status") in ("failed", "interrupted", "running") \
            and earlier.get("config_hash") == chash and paths.checkpoint.exists():
        prior_s = float(earlier.get("duration_s") or 0.0)

    started = time.time()
    record = {
        "task": cfg.task.name, "model": cfg.model, "loss": cfg.loss, "seed": int(cfg.seed),
        "budget": cfg.budget, "status": "running", "config": plain_cfg,
        "config_hash": chash, "data_fingerprint": plan.fingerprint,
        "git": provenance.git_commit(), "versions": provenance.package_versions(),
        "device": provenance.device_description(device),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if plan.fingerprint is None:
        del record["data_fingerprint"]
    store.atomic_write_json(target, record)
    seed_everything(int(cfg.seed))

    def elapsed() -> float:
        return prior_s + (time.time() - started)

    def save_checkpoint(state: dict) -> None:
        store.atomic_torch_save(paths.checkpoint, {"config_hash": checkpoint_hash, "state": state,
                                                   "elapsed_s": elapsed()})

    payload = store.load_checkpoint_payload(paths.checkpoint, config_hash=checkpoint_hash)
    resumed = None if payload is None else payload["state"]
    if payload is not None and not shared_checkpoint:  # a shared (training) checkpoint's time is another record's
        prior_s = max(prior_s, float(payload.get("elapsed_s") or 0.0))
        log.info("resume %s from %s (%.1f s spent before)", label, paths.checkpoint, prior_s)
    ctx = RunContext(cfg=cfg, run_dir=paths.run_dir, device=device, seed=int(cfg.seed),
                     progress=bool(cfg.progress), save_checkpoint=save_checkpoint,
                     load_checkpoint=lambda: resumed, log=log,
                     git_commit=(record.get("git") or {}).get("commit"))
    log.info("run %s on %s (%s)", label, device, record["device"]["name"])
    task = TASKS.get(cfg.task.name)()
    try:
        result: TaskResult = task.run(ctx)
    except BaseException as err:
        status = "interrupted" if isinstance(err, KeyboardInterrupt) else "failed"
        record.update(status=status, duration_s=round(elapsed(), 3),
                      session_duration_s=round(time.time() - started, 3),
                      error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc(limit=20))
        store.atomic_write_json(target, record)
        log.error("%s %s after %.1f s: %s (record: %s)", status, label, time.time() - started, err, target)
        raise
    extra = dict(result.extra or {})
    if skipped:
        extra["skipped"] = {**dict(extra.get("skipped") or {}), **skipped}
    record.update(status="completed", duration_s=round(elapsed(), 3),
                  session_duration_s=round(time.time() - started, 3),
                  finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  metrics=result.metrics, main_score=result.main_score, direction=result.direction,
                  per_item=result.per_item, extra=extra)
    if prior_s > 0:
        record["resumed_after_s"] = round(prior_s, 3)
    if replacing:
        os.replace(paths.result, paths.previous_result)
        log.info("overwrite %s: previous result kept as %s", label, paths.previous_result)
    store.atomic_write_json(paths.result, record)
    paths.attempt.unlink(missing_ok=True)
    log.info("done %s in %.1f s: %s = %s", label, record["duration_s"], result.main_score,
             result.metrics.get(result.main_score))
    return Outcome(plan.key, paths.result, "completed", store.read_result(paths.result))


def _quiet_read(path: Path) -> dict | None:
    try:
        return store.read_result(path)
    except ValueError:
        return None


def run_records(cfg: DictConfig, *, explicit: set[str] | None = None, wait: bool = False) -> list[Outcome]:
    """Run (or reuse, or resume) every record of the run described by a composed config.

    Parameters
    ----------
    cfg : DictConfig
        From :func:`compose` or Hydra (budget already applied).
    explicit : set of str, optional
        Config keys the user set (``task.eval``...); added to those that differ
        from the task's defaults.
    wait : bool
        Wait for another process running the same run instead of failing.

    Returns
    -------
    list of Outcome
        One per planned record, in plan order.

    Raises
    ------
    ValueError
        Bad configuration or input (the message names the value and the fix);
        :class:`sotbench.results.RunInProgress` when another process runs it.
    """
    cfg = copy.deepcopy(cfg)
    OmegaConf.set_struct(cfg, False)
    cfg = _resolve_names(cfg)
    _coerce_bools(cfg)
    device = parse_device(cfg.device)
    if cfg.get("threads") is not None:
        if isinstance(cfg.threads, bool) or not isinstance(cfg.threads, int) or int(cfg.threads) < 1:
            raise ValueError(f"threads must be an integer >= 1, got {cfg.threads!r}; use threads=null for "
                             "torch's default")
        torch.set_num_threads(int(cfg.threads))
    root = Path(str(cfg.results_root)).expanduser().resolve()
    retrained = bool(cfg.get("train")) or bool(OmegaConf.select(cfg, "task.train.enabled", default=False))
    slot = cfg.loss or (store.RETRAINED_SLOT if retrained else None)
    base = store.RunPaths(root, cfg.task.name, cfg.model, slot, str(cfg.budget), int(cfg.seed))
    store.ensure_writable(base.run_dir)
    explicit = set(explicit or ()) | explicit_task_keys(cfg)

    task_cls = TASKS.get(cfg.task.name)
    planner = getattr(task_cls, "plan", None)
    plans = planner(task_cls(), cfg, frozenset(explicit)) if callable(planner) else [RecordPlan()]
    skipped = {p.key: p.skip_reason for p in plans if p.skip_reason}
    # the training-state checkpoint is shared by the records of a run: its hash leaves out what varies per record
    plain = OmegaConf.to_container(cfg, resolve=True)
    shared = hashed_config(plain)
    if len(plans) > 1 or plans[0].key is not None:
        for key in {k for p in plans for k in p.overrides}:  # the settings that vary per record
            shared["task"].pop(key, None)
    checkpoint_hash = provenance.config_hash(shared) if (len(plans) > 1 or plans[0].key) else None

    outcomes: list[Outcome] = []
    with store.run_lock(base, wait=wait):
        if cfg.overwrite and base.checkpoint.exists():
            base.checkpoint.unlink()
        for plan in plans:
            paths = store.RunPaths(root, cfg.task.name, cfg.model, slot, str(cfg.budget), int(cfg.seed),
                                   plan.key)
            if plan.skip_reason:
                log.warning("skipping %s: %s", plan.key, plan.skip_reason)
                outcomes.append(Outcome(plan.key, paths.result, "skipped", reason=plan.skip_reason))
                continue
            sub = copy.deepcopy(cfg)
            if plan.overrides:
                for key, value in plan.overrides.items():
                    sub.task[key] = value
            chash = checkpoint_hash or record_config_hash(OmegaConf.to_container(sub, resolve=True),
                                                          plan.fingerprint)
            outcomes.append(_run_record(sub, paths, plan, device, chash, skipped,
                                        shared_checkpoint=checkpoint_hash is not None))
    return outcomes


def execute(cfg: DictConfig, *, explicit: set[str] | None = None) -> dict:
    """Run a configuration that makes one record and return that record (see :func:`run_records`)."""
    done = [o for o in run_records(cfg, explicit=explicit) if o.result is not None]
    if len(done) != 1:
        raise ValueError(f"execute() expects one record, got {len(done)}; use run_records()")
    return done[0].result


def format_outcomes(outcomes: list[Outcome]) -> str:
    """The lines ``sotbench run`` prints after its records: summaries, where each result is, skips, warnings."""
    from sotbench.report.summary import format_run_summary

    lines: list[str] = []
    for o in outcomes:
        if o.result is not None:
            lines.append(format_run_summary(o.result))
            lines.extend(_notes(o.result))
    lines.append("")
    for o in outcomes:
        what = {"completed": "written", "reused": "already completed, reused"}.get(o.action, o.action)
        if o.action == "skipped":
            lines.append(f"skipped {o.key}: {o.reason}")
        else:
            lines.append(f"result ({what}): {o.path}")
    return "\n".join(lines)


def _notes(result: dict) -> list[str]:
    extra = result.get("extra") or {}
    notes = []
    for ds, info in (extra.get("datasets") or {}).items():
        n, total = info.get("n_tracks"), info.get("n_available")
        if isinstance(n, int) and isinstance(total, int) and n < total:
            notes.append(f"note: {ds} scored on {n} of its {total} tracks (budget={result.get('budget')}); "
                         "published numbers are over the whole dataset -- not comparable")
    if result.get("task") != "mpe" and result.get("budget") not in ("paper", None):
        notes.append(f"note: budget={result.get('budget')} is a reduced budget; published numbers use the "
                     "paper's full settings -- compare shapes, not decimals")
    for ds, info in (extra.get("datasets") or {}).items():
        for track, reason in (info.get("skipped_tracks") or {}).items():
            notes.append(f"skipped track {ds}/{track}: {reason}")
    for key, messages in (extra.get("warnings") or {}).items():
        for message in messages:
            notes.append(f"warning: {message}" if str(message).startswith(key) else f"warning: {key}: {message}")
    return notes


def _hydra_entry(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    explicit = {o.split("=", 1)[0].lstrip("+") for o in HydraConfig.get().overrides.task if "=" in o}
    try:
        outcomes = run_records(cfg, explicit=explicit)
    except ValueError as err:  # configuration and input errors: the message says the fix
        print(f"sotbench run: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print(format_outcomes(outcomes))


_FLAGS_WITH_VALUE = ("--cfg", "-c", "--package", "-p", "--info", "-i", "--config-name", "-cn", "--config-path",
                     "-cp", "--config-dir", "-cd", "--experimental-rerun")


def _override_args(argv: list[str]) -> list[str]:
    """The ``key=value`` overrides among Hydra's command-line arguments (flags and their values dropped)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _FLAGS_WITH_VALUE:
            skip = True
            continue
        if arg.startswith("-"):
            continue
        out.append(arg)
    return out


def main(argv: list[str]) -> int:
    """Entry point of ``sotbench run``: ``argv`` are Hydra arguments (``key=value``, ``-m``, ...)."""
    import hydra

    try:
        check_overrides(_override_args(argv))
        register_task_configs()
    except ValueError as err:
        print(f"sotbench run: error: {err}", file=sys.stderr)
        return 2
    app = hydra.main(config_path="../conf", config_name="config", version_base="1.3")(_hydra_entry)
    saved = sys.argv
    sys.argv = ["sotbench run", *argv]
    try:
        app()
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 1
    finally:
        sys.argv = saved
    return 0
