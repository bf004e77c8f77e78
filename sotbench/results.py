"""The results store: one directory per run, written so nothing is ever half-written.

Layout::

    <results_root>/<task>/<model>/<loss or ->/seed<seed>/
        result.json       # status + metrics + provenance (atomic replace)
        checkpoint.pt     # training state for resume (atomic replace)
        result.previous.json  # the former result when a run is overwritten

``result.json`` carries ``status`` in {"running", "completed", "failed",
"interrupted"}; only "completed" runs are skipped on a re-run and only they
are rendered by the reports.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sotbench import io as _io
from sotbench.io import atomic_torch_save, atomic_write_text

__all__ = ["RunPaths", "atomic_write_json", "atomic_write_text", "atomic_torch_save", "read_result",
           "load_checkpoint", "ensure_writable", "iter_results", "to_jsonable"]

NO_LOSS = "-"


@dataclass(frozen=True)
class RunPaths:
    """Where one run's files live.

    Parameters
    ----------
    root : Path
        The results root (``results_root=`` in the config).
    task, model : str
        Registry names.
    loss : str or None
        Loss name; None (tasks without a loss) is stored as ``-``.
    seed : int
    """

    root: Path
    task: str
    model: str
    loss: str | None
    seed: int

    @property
    def run_dir(self) -> Path:
        return self.root / self.task / self.model / (self.loss or NO_LOSS) / f"seed{self.seed}"

    @property
    def result(self) -> Path:
        return self.run_dir / "result.json"

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    @property
    def previous_result(self) -> Path:
        return self.run_dir / "result.previous.json"


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars and arrays, paths and tuples to JSON types.

    Non-finite floats become ``None`` so the JSON stays standard; callers that
    care about NaN must flag it themselves (metrics never produce one silently).
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, torch.Tensor):
        return to_jsonable(obj.detach().cpu().tolist())
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):  # numpy
        return to_jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def atomic_write_json(path: Path, payload: dict) -> None:
    """Atomically write ``payload`` as indented JSON (non-finite floats become null)."""
    _io.atomic_write_json(path, to_jsonable(payload))


def read_result(path: Path) -> dict | None:
    """Read a ``result.json``; None when absent.

    Raises
    ------
    ValueError
        The file exists but is not valid JSON (names the file and the fix).
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"result file {path} is corrupt ({err}); move it away or re-run with overwrite=true") from err


def load_checkpoint(path: Path, *, config_hash: str) -> dict | None:
    """Load a run's training state written by the runner; None when absent.

    Raises
    ------
    ValueError
        The file is unreadable, or was written by a run with another
        configuration; the file is left in place and the message names the fix.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        payload = _io.safe_torch_load(path)
    except ValueError as err:  # corrupt, truncated, or foreign pickled objects
        raise ValueError(
            f"checkpoint {path} is corrupt and cannot be resumed ({type(err).__name__}: {err}); "
            "delete it to restart this run, or re-run with overwrite=true") from err
    if not isinstance(payload, dict) or "state" not in payload:
        raise ValueError(
            f"checkpoint {path} was not written by sotbench's runner; delete it or re-run with overwrite=true")
    if payload.get("config_hash") != config_hash:
        raise ValueError(
            f"checkpoint {path} belongs to a run with another configuration "
            f"(hash {payload.get('config_hash')} != {config_hash}); re-run with overwrite=true "
            "to start over, or restore the original settings to resume")
    return payload["state"]


def ensure_writable(directory: Path) -> None:
    """Create ``directory`` and prove a file can be written there.

    Raises
    ------
    ValueError
        The directory cannot be created or written; names the path and the fix.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(
            f"results directory {directory} is not writable ({err.strerror}); "
            "choose another with results_root=<dir>") from err


def iter_results(root: Path, *, status: str | None = "completed"):
    """Yield ``(path, result)`` for every ``result.json`` under ``root``, sorted by path.

    Parameters
    ----------
    status : str or None
        Keep only results with this status (None keeps all).
    """
    for path in sorted(Path(root).glob("**/result.json")):
        result = read_result(path)
        if status is None or result.get("status") == status:
            yield path, result
