"""Reader of asv result files: the runs of the performance suite as plain Python objects.

The asv suite in ``benchmarks/`` writes one JSON file per (machine, commit,
environment) under ``.asv/results/<machine>/`` plus ``.asv/results/benchmarks.json``
(units, types and parameter names).  :func:`load_runs` reads them and nothing
else; :func:`select_run` picks one run.  The renderer is
:mod:`sotbench.report.performance`.

Values
------
asv stores one value per parameter combination (median for ``time_*``,
maximum resident set size in bytes for ``peakmem_*``, the returned number
for ``track_*``); ``null``/NaN means skipped (e.g. CUDA absent, a peer not
installed) or failed.  Parameter values are stored as Python ``repr`` strings
and parsed back here.
"""
from __future__ import annotations

import ast
import itertools
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

__all__ = ["AsvBenchmark", "AsvRun", "load_runs", "select_run"]


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------

def _parse_param(text: Any) -> Any:
    """Asv stores parameter values as ``repr`` strings; turn them back into values."""
    if not isinstance(text, str):
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _number(value: Any) -> float | None:
    """A finite float, or None for null/NaN/failed entries."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


@dataclass
class AsvBenchmark:
    """One benchmark of one run: values per parameter combination.

    Attributes
    ----------
    name : str
        Full asv name, ``module.Class.method``.
    type : str
        ``time``, ``peakmem``, ``mem`` or ``track``.
    unit : str
        ``seconds`` (time), ``bytes`` (peakmem/mem) or the ``track`` unit.
    param_names : list of str
    params : list of list
        Parsed parameter values per parameter (asv order).
    values : list of float or None
        One per combination, in ``itertools.product(*params)`` order; None =
        skipped or failed.
    """

    name: str
    type: str
    unit: str
    param_names: list[str]
    params: list[list[Any]]
    values: list[float | None]

    @property
    def short_name(self) -> str:
        """``Class.method``."""
        return ".".join(self.name.split(".")[1:]) or self.name

    @property
    def module(self) -> str:
        """The benchmark file (``bench_losses``, ...)."""
        return self.name.split(".")[0]

    def items(self) -> Iterator[tuple[dict[str, Any], float | None]]:
        """Yield ``({param_name: value}, result)`` for every combination."""
        combos = list(itertools.product(*self.params)) if self.params else [()]
        for combo, value in zip(combos, self.values, strict=False):
            yield dict(zip(self.param_names, combo, strict=False)), value

    def get(self, **selection: Any) -> float | None:
        """The value of the single combination matching ``selection`` (None if absent)."""
        for combo, value in self.items():
            if all(combo.get(k) == v for k, v in selection.items()):
                return value
        return None


@dataclass
class AsvRun:
    """One asv result file: one machine, one commit, one environment.

    Attributes
    ----------
    path : Path
    machine : str
    commit_hash : str
    env_name : str
    info : dict
        Machine and environment facts (``machine``, ``cpu``, ``num_cpu``,
        ``os``, ``ram``, ``python``, requirement versions).
    started_at : float
        Latest benchmark start time (ms since the epoch; 0 if unknown).
    benchmarks : dict of name -> AsvBenchmark
    """

    path: Path
    machine: str
    commit_hash: str
    env_name: str
    info: dict
    started_at: float
    date: float | None = None
    benchmarks: dict[str, AsvBenchmark] = field(default_factory=dict)

    def get(self, name: str, **selection: Any) -> float | None:
        """Value of benchmark ``name`` at ``selection`` (None when absent/skipped/failed)."""
        bench = self.benchmarks.get(name)
        return None if bench is None else bench.get(**selection)


def _infer_type(method: str) -> tuple[str, str]:
    for prefix, kind, unit in (("time_", "time", "seconds"), ("peakmem_", "peakmem", "bytes"),
                               ("mem_", "memory", "bytes"), ("track_", "track", "unit")):
        if method.startswith(prefix):
            return kind, unit
    return "track", "unit"


def _load_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); re-run asv or delete the file") from err


def load_runs(asv_results_dir: str | os.PathLike) -> list[AsvRun]:
    """Read every asv result file under ``asv_results_dir``.

    Parameters
    ----------
    asv_results_dir : path-like
        asv's ``results_dir`` (``.asv/results``): ``benchmarks.json`` and one
        folder per machine holding ``machine.json`` and ``<commit>-<env>.json``.

    Returns
    -------
    list of AsvRun
        Sorted by ``started_at`` (oldest first).

    Raises
    ------
    FileNotFoundError
        The folder does not exist.
    ValueError
        It holds no result file (run ``asv run`` first) or a malformed one.
    """
    root = Path(asv_results_dir)
    if not root.is_dir():
        raise FileNotFoundError(
            f"asv results folder {str(root)!r} does not exist; run `asv run` (results go to "
            f".asv/results, see docs/performance.md) or pass the right folder")
    meta = {}
    if (root / "benchmarks.json").is_file():
        meta = {k: v for k, v in _load_json(root / "benchmarks.json").items() if isinstance(v, dict)}
    else:
        warnings.warn(f"{str(root)!r} has no benchmarks.json (asv writes it on every run): "
                      "parameter names and units are unknown, so the targets cannot be evaluated; "
                      "re-run asv to restore it", stacklevel=2)
    runs: list[AsvRun] = []
    for machine_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        machine_info = {}
        if (machine_dir / "machine.json").is_file():
            machine_info = _load_json(machine_dir / "machine.json")
        for path in sorted(machine_dir.glob("*.json")):
            if path.name == "machine.json":
                continue
            data = _load_json(path)
            if "results" not in data or "commit_hash" not in data:
                raise ValueError(f"{path} is not an asv result file (no 'results'/'commit_hash')")
            columns = data.get("result_columns") or ["result", "params", "version", "started_at"]
            info = {k: v for k, v in machine_info.items() if k != "version"}
            info.update(data.get("params") or {})
            run = AsvRun(path=path, machine=str(info.get("machine", machine_dir.name)),
                         commit_hash=str(data["commit_hash"]), env_name=str(data.get("env_name", "")),
                         info=info, started_at=0.0, date=data.get("date"))
            for name, row in data["results"].items():
                cols = dict(zip(columns, row, strict=False))
                kind, unit = _infer_type(name.split(".")[-1])
                bmeta = meta.get(name, {})
                kind = bmeta.get("type", kind)
                unit = bmeta.get("unit", unit)
                params = [[_parse_param(v) for v in vals] for vals in (cols.get("params") or [])]
                names = list(bmeta.get("param_names") or [f"param{i + 1}" for i in range(len(params))])
                result = cols.get("result")
                if not isinstance(result, list):
                    result = [result]
                run.benchmarks[name] = AsvBenchmark(name, kind, unit, names, params,
                                                    [_number(v) for v in result])
                started = cols.get("started_at")
                if isinstance(started, (int, float)):
                    run.started_at = max(run.started_at, float(started))
            runs.append(run)
    if not runs:
        raise ValueError(f"no asv result file under {str(root)!r}; run `asv run` first "
                         "(an `asv run --dry-run` saves nothing)")
    runs.sort(key=lambda r: (r.started_at, r.date or 0))
    return runs


def select_run(runs: list[AsvRun], *, machine: str | None = None,
               commit: str | None = None) -> AsvRun:
    """The latest run, optionally of one machine and/or commit (hash prefix).

    Raises
    ------
    ValueError
        Nothing matches; the message lists what exists.
    """
    chosen = [r for r in runs
              if (machine is None or r.machine == machine)
              and (commit is None or r.commit_hash.startswith(commit))]
    if not chosen:
        have = ", ".join(sorted({f"{r.machine}@{r.commit_hash[:8]}" for r in runs}))
        raise ValueError(f"no asv run for machine={machine!r} commit={commit!r}; available: {have}")
    return chosen[-1]
