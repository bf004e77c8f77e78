"""What the runner gives a task and what a task gives back."""
from __future__ import annotations

import copy
import difflib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

__all__ = ["RunContext", "TaskResult", "RecordPlan"]


@dataclass
class RunContext:
    """Everything a task needs from the runner.

    Attributes
    ----------
    cfg : omegaconf.DictConfig
        The fully resolved configuration (task section under ``cfg.task``).
    run_dir : Path
        The run folder ``results/<task>/<model>/<slot>/<budget>/seed<seed>/``
        (shared by the run's records, e.g. MPE's per-dataset ones); the task
        may write extra files here (checkpoints go through
        :attr:`save_checkpoint`).
    device : torch.device
        Where to compute (chosen by the runner: ``device=auto|cpu|cuda``).
    seed : int
        Seed already applied to python, numpy and torch by the runner.
    progress : bool
        Show progress bars (``progress=false`` turns them off).
    save_checkpoint : callable(dict) -> None
        Atomically writes the training state to ``run_dir/checkpoint.pt``.
    load_checkpoint : callable() -> dict or None
        The last saved state, or None; raises ValueError on a corrupt file.
    log : logging.Logger
    git_commit : str or None
        Commit of the sotbench source tree the runner recorded (None outside
        a git checkout); tasks store it in their artefacts (model files).
    """

    cfg: Any
    run_dir: Path
    device: torch.device
    seed: int
    progress: bool
    save_checkpoint: Callable[[dict], None]
    load_checkpoint: Callable[[], dict | None]
    log: logging.Logger
    git_commit: str | None = None


@dataclass
class TaskResult:
    """What a finished task returns to the runner (all JSON-serialisable).

    Attributes
    ----------
    metrics : dict[str, float]
        Aggregate metrics (e.g. ``{"lsd_db": .., "rpa": ..}``), percentages
        in 0-100 where the paper reports percentages.
    main_score : str
        Key of ``metrics`` that ranks runs on the leaderboard.
    direction : {"max", "min"}
        Whether a larger main score is better.
    per_item : dict
        Per-example or per-track metrics (e.g. ``{"bach10/01-AchGottundHerr": {...}}``).
    extra : dict
        Anything else worth keeping (training curves, timings, dataset provenance).
    """

    metrics: dict
    main_score: str
    direction: str
    per_item: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


@dataclass
class RecordPlan:
    """One record a run will write (a task may split a run into several, e.g. one per dataset).

    A task class may define ``plan(cfg, explicit) -> list[RecordPlan]``
    (``explicit``: the config keys the user set, e.g. ``{"task.eval"}``); the
    runner then runs the task once per planned record, with ``overrides``
    merged into ``cfg.task``, and stores each in ``<run folder>/<key>/``.
    Without ``plan`` a run is one record stored in the run folder itself.

    Attributes
    ----------
    key : str or None
        Sub-folder of the record (None = the run folder).
    overrides : dict
        Task settings of this record (e.g. ``{"eval": ["bach10"]}``).
    fingerprint : dict or None
        Identity of the data the record is computed from; part of the
        configuration hash, so a changed dataset is never silently reused.
    skip_reason : str or None
        Set when the record is skipped (e.g. a dataset of a default list that
        is absent); recorded in the run's other records and printed.
    """

    key: str | None = None
    overrides: dict = field(default_factory=dict)
    fingerprint: dict | None = None
    skip_reason: str | None = None


def to_plain(cfg: Any) -> Any:
    """OmegaConf containers -> plain python (dicts/lists, interpolations resolved); other values copied."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=True)
    return copy.deepcopy(cfg)


def reject_unknown(section: str, keys, known) -> None:
    """Raise ValueError naming the first key of ``task.<section>`` not in ``known``, with a did-you-mean hint."""
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=2, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"unknown setting task.{section}.{key}.{hint} "
                             f"Known: {', '.join(sorted(known))}")
