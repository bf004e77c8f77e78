"""The results store: one folder per run, one ``result.json`` per record, nothing ever half-written.

Layout::

    <results_root>/<task>/<model>/<slot>/<budget>/seed<seed>/
        .run.lock             # held while a sotbench process runs this run (filelock)
        checkpoint.pt         # training state for resume (atomic replace; weights-only load)
        result.json           # the record of a task stored as one record (e.g. synth-ae)
        <record>/result.json  # one record per evaluated dataset (task mpe: bach10/, chorales-synth/)

``slot`` is the loss name, ``-`` for tasks without a loss, and ``train`` for an
MPE model retrained from scratch (``train=true``) instead of its shipped
checkpoint.  Everything that changes a record's numbers is either part of its
path (task, model, loss, budget, seed, dataset) or of its configuration hash
(the resolved configuration plus the data's fingerprint), so two different
configurations never compete silently for one file.

Beside a ``result.json``:

* ``result.previous.json``: the former completed result after ``overwrite=true``;
* ``result.attempt.json``: a running/failed/interrupted attempt to replace a
  completed result (the completed ``result.json`` is only replaced once the new
  run completes);
* ``result.corrupt.json``: an unreadable ``result.json`` moved aside by
  ``overwrite=true``.

``result.json`` carries ``status`` in {"running", "completed", "failed",
"interrupted"}; only "completed" records are skipped on a re-run and only they
are rendered by the reports.

Reading: :func:`iter_results` yields one dict per *run* in the shape the
reports expect (for MPE the per-dataset records of a run are merged: metrics,
per-track scores and dataset details of all its records); files that are not
sotbench results (a list, ``null``, no ``task``, a metric that is not a
number, invalid JSON) are skipped and reported through ``problems=`` or the
``sotbench.results`` logger -- they never stop a report.

The first layout (``<task>/<model>/<slot>/seed<seed>/result.json``, one record
for all datasets) is read as well; :func:`migrate_layout` moves it to this one.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch

from sotbench import io as _io
from sotbench.io import atomic_torch_save, atomic_write_text

__all__ = ["RunPaths", "RunInProgress", "atomic_write_json", "atomic_write_text", "atomic_torch_save",
           "read_result", "load_checkpoint", "load_checkpoint_payload", "ensure_writable", "run_lock",
           "iter_results", "iter_records", "scan_results", "validate_result", "merge_records",
           "migrate_layout", "to_jsonable", "NO_LOSS", "RETRAINED_SLOT"]

log = logging.getLogger("sotbench.results")

NO_LOSS = "-"
#: Slot of an MPE model retrained from scratch (``train=true``).
RETRAINED_SLOT = "train"
#: Order in which the datasets of a merged MPE run are listed (the first present gives the main score).
DATASET_ORDER = ("bach10", "urmp", "su", "trios", "guitarset", "chorales-synth")
_SEED_DIR = re.compile(r"^seed\d+$")
_STATUSES = ("running", "completed", "failed", "interrupted")


class RunInProgress(ValueError):
    """Another process holds the run folder's lock."""


@dataclass(frozen=True)
class RunPaths:
    """Where one run's files live.

    Parameters
    ----------
    root : Path
        The results root (``results_root=`` in the config).
    task, model : str
        Registry names.
    slot : str or None
        Loss name; None (tasks without a loss) is stored as ``-``; ``train``
        for a retrained MPE model.
    budget : str
        Budget name (``smoke``, ``cpu``, ``paper``, ...).
    seed : int
    record : str or None
        Sub-folder of this record (the dataset for MPE); None = the run folder.
    """

    root: Path
    task: str
    model: str
    slot: str | None
    budget: str
    seed: int
    record: str | None = None

    @property
    def run_dir(self) -> Path:
        """The run folder (lock, training checkpoint, training files)."""
        return (Path(self.root) / self.task / self.model / (self.slot or NO_LOSS) / str(self.budget)
                / f"seed{self.seed}")

    @property
    def record_dir(self) -> Path:
        """The record's folder (the run folder, or its ``record`` sub-folder)."""
        return self.run_dir / self.record if self.record else self.run_dir

    @property
    def result(self) -> Path:
        """The record's ``result.json``."""
        return self.record_dir / "result.json"

    @property
    def attempt(self) -> Path:
        """``result.attempt.json``: an attempt to replace a completed result."""
        return self.record_dir / "result.attempt.json"

    @property
    def previous_result(self) -> Path:
        """``result.previous.json``: the result replaced by ``overwrite=true``."""
        return self.record_dir / "result.previous.json"

    @property
    def corrupt_result(self) -> Path:
        """``result.corrupt.json``: an unreadable result moved aside by ``overwrite=true``."""
        return self.record_dir / "result.corrupt.json"

    @property
    def checkpoint(self) -> Path:
        """The run's training checkpoint (shared by its records)."""
        return self.run_dir / "checkpoint.pt"

    @property
    def lock(self) -> Path:
        """The run folder's lock file."""
        return self.run_dir / ".run.lock"


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


def validate_result(obj: Any) -> str | None:
    """Why ``obj`` is not a sotbench result record, or None when it is one.

    A record is a JSON object with string ``task``, ``model``, ``status`` (one
    of running/completed/failed/interrupted), an integer ``seed``, and
    ``metrics`` (when present) mapping names to numbers or null; a completed
    record names its ``main_score`` among its metrics.
    """
    if not isinstance(obj, dict):
        return f"a JSON {type(obj).__name__ if obj is not None else 'null'}, not a result object"
    for key in ("task", "model", "status"):
        if not isinstance(obj.get(key), str):
            return f"no string {key!r} (got {obj.get(key)!r})"
    if obj["status"] not in _STATUSES:
        return f"unknown status {obj['status']!r} (expected one of {', '.join(_STATUSES)})"
    seed = obj.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        return f"no integer 'seed' (got {seed!r})"
    metrics = obj.get("metrics")
    if metrics is not None or obj["status"] == "completed":
        if not isinstance(metrics, dict):
            return f"'metrics' is a {type(metrics).__name__}, not an object"
        for name, value in metrics.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                return f"metric {name!r} is {value!r}, not a number"
    if obj["status"] == "completed" and obj.get("main_score") not in (metrics or {}):
        return f"main_score {obj.get('main_score')!r} is not one of its metrics"
    for key in ("per_item", "extra", "config"):
        if obj.get(key) is not None and not isinstance(obj[key], dict):
            return f"{key!r} is a {type(obj[key]).__name__}, not an object"
    return None


def read_result(path: Path) -> dict | None:
    """Read a ``result.json``; None when absent.

    Raises
    ------
    ValueError
        The file exists but is not valid JSON or not a sotbench result (names
        the file and the fix).
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"result file {path} is corrupt ({err}); move it away or re-run with overwrite=true") from err
    except OSError as err:
        raise ValueError(f"result file {path} cannot be read ({err.strerror})") from err
    problem = validate_result(data)
    if problem:
        raise ValueError(f"result file {path} is corrupt: not a sotbench result ({problem}); move it away "
                         "or re-run with overwrite=true")
    return data


def load_checkpoint_payload(path: Path, *, config_hash: str) -> dict | None:
    """Load the runner's checkpoint payload (``state``, ``config_hash``, ``elapsed_s``); None when absent.

    Raises
    ------
    ValueError
        The file is unreadable (it is read with ``weights_only=True``: a
        planted pickle runs no code and is refused), or was written by a run
        with another configuration; the file is left in place and the message
        names the fix.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        payload = _io.safe_torch_load(path)
    except ValueError as err:  # corrupt, truncated, or foreign pickled objects
        raise ValueError(
            f"checkpoint {path} is corrupt or not sotbench's and cannot be resumed ({err}); "
            "delete it to restart this run, or re-run with overwrite=true") from err
    if not isinstance(payload, dict) or "state" not in payload:
        raise ValueError(
            f"checkpoint {path} was not written by sotbench's runner; delete it or re-run with overwrite=true")
    if payload.get("config_hash") != config_hash:
        raise ValueError(
            f"checkpoint {path} belongs to a run with another configuration "
            f"(hash {payload.get('config_hash')} != {config_hash}); re-run with overwrite=true "
            "to start over, or restore the original settings to resume")
    return payload


def load_checkpoint(path: Path, *, config_hash: str) -> dict | None:
    """The training state of :func:`load_checkpoint_payload` (None when there is no checkpoint)."""
    payload = load_checkpoint_payload(path, config_hash=config_hash)
    return None if payload is None else payload["state"]


def ensure_writable(directory: Path) -> None:
    """Create ``directory`` and prove a file can be written there (ValueError naming the fix)."""
    _io.ensure_writable_dir(directory, what="results directory", fix="results_root=<dir>")


@contextlib.contextmanager
def run_lock(paths: RunPaths, *, wait: bool = False) -> Iterator[None]:
    """Hold the run folder's lock (``.run.lock``) for the duration of the block.

    Parameters
    ----------
    wait : bool
        Wait for another process to finish instead of failing at once.

    Raises
    ------
    RunInProgress
        Another process holds the lock and ``wait`` is false.
    """
    from filelock import FileLock, Timeout

    ensure_writable(paths.run_dir)
    lock = FileLock(str(paths.lock), timeout=-1 if wait else 0)
    try:
        lock.acquire()
    except Timeout:
        raise RunInProgress(
            f"run {paths.run_dir} is in progress in another sotbench process (lock {paths.lock}); "
            "wait for it to finish -- running the same command again then reuses its result") from None
    try:
        yield
    finally:
        lock.release()


# ----------------------------------------------------------------------------- reading
def _seed_dir(path: Path) -> Path | None:
    for parent in path.parents:
        if _SEED_DIR.match(parent.name):
            return parent
    return None


def scan_results(root: Path) -> tuple[list[tuple[Path, dict]], list[tuple[Path, str]]]:
    """Read every ``result.json`` under ``root``.

    Returns
    -------
    records : list of (Path, dict)
        Valid records, sorted by path.
    problems : list of (Path, str)
        Files that are not sotbench results, with the reason.
    """
    records: list[tuple[Path, dict]] = []
    problems: list[tuple[Path, str]] = []
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"results folder {root} does not exist; pass --results <folder holding result.json files>")
    for path in sorted(root.glob("**/result.json")):
        try:
            record = read_result(path)
        except ValueError as err:
            problems.append((path, str(err).replace(f"result file {path} is ", "").split("; move it away")[0]))
            continue
        if record is not None:
            records.append((path, record))
    return records, problems


def iter_records(root: Path, *, status: str | None = "completed",
                 problems: list | None = None) -> Iterator[tuple[Path, dict]]:
    """Yield ``(path, record)`` for every valid ``result.json`` under ``root`` (no merging).

    Files that are not sotbench results are appended to ``problems`` as
    ``(path, reason)`` when a list is given, else logged as warnings.
    """
    records, bad = scan_results(root)
    _report_problems(bad, problems)
    for path, record in records:
        if status is None or record.get("status") == status:
            yield path, record


def _report_problems(bad: list, problems: list | None) -> None:
    if problems is not None:
        problems.extend(bad)
    else:
        for path, reason in bad:
            log.warning("skipping %s: %s", path, reason)


def _dataset_of(record: dict) -> str | None:
    ev = ((record.get("config") or {}).get("task") or {}).get("eval")
    if isinstance(ev, list) and len(ev) == 1:
        return str(ev[0])
    return (record.get("extra") or {}).get("dataset")


def merge_records(records: list[tuple[Path, dict]]) -> tuple[Path, dict]:
    """Merge the per-dataset records of one MPE run into one result in the single-record shape.

    ``metrics``, ``per_item``, ``extra.datasets`` and ``extra.skipped`` are
    unions; ``extra.evaluated`` lists the datasets in :data:`DATASET_ORDER`;
    the first of them gives ``main_score``; ``rtf`` is recomputed over all
    tracks; ``duration_s`` is the sum; ``records`` maps each dataset to its
    file; ``config_hashes`` maps each dataset to its record's hash.

    Returns
    -------
    (Path, dict)
        The main record's path and the merged result.
    """
    if len(records) == 1:
        path, record = records[0]
        merged = dict(record)
        ds = _dataset_of(record)
        merged["records"] = {ds or "-": str(path)}
        return path, merged

    def order(item):
        ds = _dataset_of(item[1]) or ""
        return (DATASET_ORDER.index(ds) if ds in DATASET_ORDER else len(DATASET_ORDER), ds)

    records = sorted(records, key=order)
    main_path, main = records[0]
    merged = {k: v for k, v in main.items()}
    metrics: dict = {}
    per_item: dict = {}
    extra = dict(main.get("extra") or {})
    datasets: dict = {}
    skipped: dict = {}
    warnings_: dict = {}
    evaluated: list = []
    hashes: dict = {}
    files: dict = {}
    audio = compute = 0.0
    for path, record in records:
        ds = _dataset_of(record) or path.parent.name
        metrics.update({k: v for k, v in (record.get("metrics") or {}).items() if k != "rtf"})
        per_item.update(record.get("per_item") or {})
        rex = record.get("extra") or {}
        datasets.update(rex.get("datasets") or {})
        skipped.update(rex.get("skipped") or {})
        warnings_.update(rex.get("warnings") or {})
        evaluated.extend(e for e in (rex.get("evaluated") or [ds]) if e not in evaluated)
        audio += float(rex.get("audio_s") or 0.0)
        compute += float(rex.get("compute_s") or 0.0)
        hashes[ds] = record.get("config_hash")
        files[ds] = str(path)
    for ds in evaluated:
        skipped.pop(ds, None)
    if audio > 0:
        metrics["rtf"] = compute / audio
    extra.update(datasets=datasets, skipped=skipped, evaluated=evaluated, audio_s=audio, compute_s=compute)
    if warnings_:
        extra["warnings"] = warnings_
    merged.update(metrics=metrics, per_item=per_item, extra=extra, main_score=main.get("main_score"),
                  duration_s=sum(float(r.get("duration_s") or 0.0) for _, r in records),
                  started=min(str(r.get("started", "")) for _, r in records),
                  config_hashes=hashes, records=files)
    return main_path, merged


def iter_results(root: Path, *, status: str | None = "completed", merge: bool = True,
                 problems: list | None = None) -> Iterator[tuple[Path, dict]]:
    """Yield ``(path, result)`` for every run under ``root``, sorted by path.

    Parameters
    ----------
    root : Path
        Results root.
    status : str or None
        Keep only records with this status (None keeps all).
    merge : bool
        Merge the per-dataset records of one run (same run folder) into one
        result (see :func:`merge_records`): the shape of a single-record run,
        with ``records`` naming the files.  ``merge=False`` is
        :func:`iter_records`.
    problems : list, optional
        Receives ``(path, reason)`` for each file that is not a sotbench
        result (a list, ``null``, no ``task``, a string metric, invalid JSON);
        without it they are logged as warnings.  They never stop the iteration.
    """
    if not merge:
        yield from iter_records(root, status=status, problems=problems)
        return
    groups: dict[Path, list[tuple[Path, dict]]] = {}
    singles: list[tuple[Path, dict]] = []
    for path, record in iter_records(root, status=status, problems=problems):
        seed_dir = _seed_dir(path)
        if record.get("task") == "mpe" and seed_dir is not None and path.parent != seed_dir:
            groups.setdefault(seed_dir, []).append((path, record))
        else:
            singles.append((path, record))
    out = singles + [merge_records(items) for items in groups.values()]
    yield from sorted(out, key=lambda item: str(item[0]))


# ----------------------------------------------------------------------------- migration



def migrate_layout(root: Path, *, data_root: str | None = None, dry_run: bool = False) -> list[str]:
    """Move results of the first layout to this one; returns a log of what was done.

    A file ``<task>/<model>/<slot>/seed<N>/result.json`` (no budget folder)
    becomes ``<task>/<model>/<slot>/<budget>/seed<N>/result.json``; an MPE
    record holding several datasets is split into one record per dataset
    (``.../seed<N>/<dataset>/result.json``) with that dataset's metrics,
    per-track scores and details, ``config.task.eval = [<dataset>]``, the data
    fingerprint computed now from the data then present (``data_fingerprint``
    with ``"source": "migration"``) and the configuration hash of the new
    scheme (the former one kept as ``legacy_config_hash``).  Provenance (git,
    versions, device, dates, durations) is kept as is; a split record keeps
    the whole run's ``duration_s`` and says so in ``duration_note``.  Files
    already in the new layout are left alone; re-running is a no-op.
    Checkpoints move with their result.
    """
    from sotbench.runner.run import record_config_hash

    root = Path(root)
    done: list[str] = []
    for path in sorted(root.glob("*/*/*/seed*/result.json")):
        rel = path.relative_to(root)
        task, model, slot, seed_name = rel.parts[:4]
        try:
            record = read_result(path)
        except ValueError as err:
            done.append(f"left {rel}: {err}")
            continue
        if record is None:
            continue
        budget = str(record.get("budget") or "unknown")
        new_run = root / task / model / slot / budget / seed_name
        targets: list[tuple[str | None, dict]] = list(_split_mpe(record, data_root=data_root)) \
            if task == "mpe" else [(None, dict(record))]
        for ds, rec in targets:
            dest = (new_run / ds if ds else new_run) / "result.json"
            rec.setdefault("legacy_config_hash", record.get("config_hash"))
            rec["config_hash"] = record_config_hash(rec["config"], rec.get("data_fingerprint"))
            rec["migrated_from"] = str(rel)
            if dest.exists():
                done.append(f"kept {dest.relative_to(root)} (exists); {rel} not copied there")
                continue
            done.append(f"{rel} -> {dest.relative_to(root)}")
            if not dry_run:
                atomic_write_json(dest, rec)
        if not dry_run:
            old_dir = path.parent
            for extra in ("checkpoint.pt",):
                if (old_dir / extra).exists() and not (new_run / extra).exists():
                    os.replace(old_dir / extra, new_run / extra)
            path.unlink()
            for leftover in old_dir.glob("result.previous.json"):
                os.replace(leftover, (new_run / "result.previous.json") if task != "mpe"
                           else new_run / "legacy.result.previous.json")
            with contextlib.suppress(OSError):
                old_dir.rmdir()
    return done


def _split_mpe(record: dict, *, data_root: str | None) -> list[tuple[str, dict]]:
    from sotbench.tasks.mpe import data_fingerprint

    extra = record.get("extra") or {}
    evaluated = list(extra.get("evaluated") or [])
    out = []
    for ds in evaluated:
        rec = json.loads(json.dumps(record))  # deep copy
        rec["metrics"] = {k: v for k, v in record["metrics"].items() if k.startswith(f"{ds}/")}
        info = (extra.get("datasets") or {}).get(ds) or {}
        if info.get("audio_s"):
            rec["metrics"]["rtf"] = float(info["compute_s"]) / float(info["audio_s"])
        rec["main_score"] = f"{ds}/acc"
        rec["per_item"] = {k: v for k, v in (record.get("per_item") or {}).items() if k.startswith(f"{ds}/")}
        rex = dict(extra)
        rex.update(datasets={ds: info}, evaluated=[ds], audio_s=info.get("audio_s", 0.0),
                   compute_s=info.get("compute_s", 0.0), dataset=ds,
                   skipped={k: v for k, v in (extra.get("skipped") or {}).items()})
        rec["extra"] = rex
        task_cfg = rec["config"]["task"]
        task_cfg["eval"] = [ds]
        task_cfg["datasets"] = {ds: (task_cfg.get("datasets") or {}).get(ds) or {}} \
            if ds in (task_cfg.get("datasets") or {}) else {}
        try:
            fp = data_fingerprint(ds, data_root, dict(info.get("loader_options") or {}))
            fp["source"] = "migration"
        except ValueError as err:
            fp = {"dataset": ds, "source": "migration", "unavailable": str(err)}
        rec["data_fingerprint"] = fp
        if len(evaluated) > 1:
            rec["duration_note"] = (f"duration_s is the whole run over {', '.join(evaluated)}; this dataset's "
                                    f"compute is extra.compute_s")
        out.append((ds, rec))
    return out
