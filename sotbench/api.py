"""sotbench's Python API: run a task, read results as a table, plug in a model, report, re-score.

The command line calls these same functions (``sotbench report`` ->
:func:`render_report`, ``sotbench rescore`` -> :func:`rescore`), and :func:`evaluate`
goes through the same runner entry point as ``sotbench run``
(:func:`sotbench.runner.run.compose` + :func:`~sotbench.runner.run.run_records`:
same configuration, budgets, skip/resume, provenance and results layout).

Example
-------
>>> import sotbench
>>> frame = sotbench.load_results("results")                # doctest: +SKIP
>>> frame.query("dataset == 'bach10' and metric == 'acc'")   # doctest: +SKIP

Tidy tables
-----------
:func:`load_results` and :func:`evaluate` return one row per run x dataset x
metric (``per_item=True``: per track / test example) with columns
:data:`RESULT_COLUMNS`; metric values keep the units of the result files
(percent for P/R/Acc/F1/RPA/RCA, dB² for ``lsd_db``, octaves for ``od``).
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = ["evaluate", "load_results", "results_frame", "register_model", "validate_model", "render_report", "rescore",
           "RESULT_COLUMNS", "ValidationReport"]

#: Columns of the tidy tables returned by :func:`load_results` and :func:`evaluate`.
RESULT_COLUMNS = ["task", "model", "loss", "variant", "budget", "seed", "dataset", "item", "metric", "value",
                  "status", "commit", "dirty", "started", "device", "config_hash", "path"]


def _rows(result: dict, path: str, per_item: bool) -> Iterable[dict]:
    base = {"task": result.get("task"), "model": result.get("model"), "loss": result.get("loss") or None,
            "variant": result.get("variant") or (result.get("extra") or {}).get("variant") or None,
            "budget": result.get("budget"), "seed": result.get("seed"), "status": result.get("status"),
            "commit": (result.get("git") or {}).get("commit"), "dirty": (result.get("git") or {}).get("dirty"),
            "started": result.get("started"), "device": (result.get("device") or {}).get("name"),
            "config_hash": result.get("config_hash"), "path": path}
    own = result.get("dataset")
    if per_item:
        for key, item in sorted((result.get("per_item") or {}).items()):
            if not isinstance(item, dict):
                continue
            dataset, name = key.split("/", 1) if "/" in key else (own, key)
            for metric, value in item.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    yield {**base, "dataset": dataset, "item": name, "metric": metric, "value": float(value)}
        return
    for key, value in sorted((result.get("metrics") or {}).items()):
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        dataset, metric = key.split("/", 1) if "/" in key else (own, key)
        yield {**base, "dataset": dataset, "item": None, "metric": metric, "value": float(value)}


def results_frame(results: Iterable[tuple[str, dict]], *, per_item: bool = False):
    """Tidy :class:`pandas.DataFrame` of ``(path, result)`` pairs (columns :data:`RESULT_COLUMNS`)."""
    import pandas as pd

    rows = [row for path, result in results for row in _rows(result, str(path), per_item)]
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    frame["value"] = frame["value"].astype(float)
    return frame


def load_results(root: str | Path = "results", *, per_item: bool = False, status: str | None = "completed",
                 problems: list | None = None):
    """Every result under ``root`` as a tidy table.

    Parameters
    ----------
    root : str or Path
        Results root (any layout :func:`sotbench.results.iter_results` reads).
    per_item : bool
        One row per track / test example and per-item metric instead of per
        dataset mean.
    status : str or None
        Keep results with this status (None: all).
    problems : list, optional
        Receives ``(path, reason)`` for files that are not sotbench results.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RESULT_COLUMNS`; ``path`` is relative to ``root``.

    Raises
    ------
    ValueError
        ``root`` does not exist.
    """
    from sotbench.results import iter_results

    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"results folder {root} does not exist; run sotbench.evaluate(...) or `sotbench run` first")

    def rel(path):
        try:
            return Path(path).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return str(path)

    pairs = [(rel(p), r) for p, r in iter_results(root, status=status, problems=problems)]
    return results_frame(pairs, per_item=per_item)


def evaluate(task: str = "mpe", model: str | None = None, datasets: Sequence[str] | None = None, *,
             loss: str | None = None, budget: str | None = None, seed: int | None = None,
             results_root: str | Path = "results", data_root: str | Path | None = None,
             device: str | None = None, overwrite: bool = False, max_tracks: int | None = None,
             overrides: Sequence[str] = (), per_item: bool = False, progress: bool = False):
    """Run (or reuse a completed) benchmark run and return its results as a tidy table.

    Parameters
    ----------
    task : str
        Registered task (``mpe``, ``synth-ae``, ...; ``sotbench ls`` lists them).
    model, loss : str, optional
        Registry names (defaults: the task's).
    datasets : sequence of str, optional
        MPE evaluation datasets (``task.eval``), e.g. ``["bach10"]``.
    budget, seed : optional
        As ``budget=`` / ``seed=`` of ``sotbench run``.
    results_root, data_root, device : optional
        Where results go, where datasets are, ``cpu``/``cuda``/``auto``.
    overwrite : bool
        Re-run a completed run instead of reusing it.
    max_tracks : int, optional
        MPE: evaluate the first ``max_tracks`` tracks of each dataset only.
    overrides : sequence of str
        Further Hydra overrides (``"task.threshold=0.4"``).
    per_item : bool
        Per-track / per-example rows.
    progress : bool
        Show progress bars.

    Returns
    -------
    pandas.DataFrame
        The run's records (columns :data:`RESULT_COLUMNS`).
    """
    from sotbench.runner.run import compose, run_records

    args = [f"task={task}"]
    for key, value in (("model", model), ("loss", loss), ("budget", budget), ("seed", seed), ("device", device),
                       ("data_root", data_root)):
        if value is not None:
            args.append(f"{key}={value}")
    args.append(f"results_root={Path(results_root)}")
    args.append(f"progress={'true' if progress else 'false'}")
    if overwrite:
        args.append("overwrite=true")
    if datasets is not None:
        if isinstance(datasets, str):
            datasets = [datasets]
        args.append("task.eval=[" + ",".join(datasets) + "]")
    if max_tracks is not None:
        args.append(f"task.max_tracks={int(max_tracks)}")
    args += list(overrides)
    cfg = compose(args)
    explicit = {a.split("=", 1)[0].lstrip("+") for a in args if "=" in a}
    outcomes = run_records(cfg, explicit=explicit)
    pairs = [(str(o.path), o.result) for o in outcomes if o.result is not None]
    return results_frame(pairs, per_item=per_item)


def register_model(name: str, factory: Callable[..., Any], *, task: str = "mpe", description: str = "",
                   validate: bool = False, **meta: Any):
    """Register a user model so ``sotbench.evaluate(model=name)`` and ``sotbench run model=name`` find it.

    Parameters
    ----------
    name : str
        Registry name (must be new).
    factory : callable
        ``factory(**settings)`` returns the model; for ``task="mpe"`` a
        :class:`~sotbench.models.base.SalienceModel` (attributes ``name``,
        ``threshold``; method ``salience(audio, sample_rate, *, progress=False)``
        returning a :class:`~sotbench.types.Salience`).
    task : str
        The task the model belongs to.
    validate : bool
        Build the model once and run :func:`validate_model` on it (MPE only).
    **meta
        Further registry metadata (``chunked=True``, ``install="pip ..."``).

    Returns
    -------
    callable
        ``factory`` (so it can be used as a decorator target).
    """
    from sotbench.registry import MODELS, load_all

    load_all()
    MODELS.register(name, factory, task=task, description=description, **meta)
    if validate and task == "mpe":
        validate_model(factory())
    return factory


class ValidationReport(dict):
    """What :func:`validate_model` measured (a dict): shapes, frame hop, tone peak and onset errors."""


def _tone(sample_rate: int, duration_s: float, freq_hz: float, onset_s: float) -> np.ndarray:
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    audio = np.zeros_like(t)
    on = t >= onset_s
    for h, a in ((1, 0.5), (2, 0.2), (3, 0.1)):
        audio[on] += a * np.sin(2 * np.pi * h * freq_hz * (t[on] - onset_s))
    return audio.astype(np.float32)


def validate_model(model, *, sample_rate: int = 22050, duration_s: float = 2.0, freq_hz: float = 440.0,
                   onset_s: float = 1.0, onset_tolerance_s: float = 0.1) -> ValidationReport:
    """Check a :class:`~sotbench.models.base.SalienceModel` on a synthetic tone (HEAR-style validator).

    The audio is ``duration_s`` of silence until ``onset_s``, then a harmonic
    tone at ``freq_hz`` (partials 1-3).  Checks:

    1. the protocol: ``threshold`` in [0, 1]; ``salience(audio, sample_rate,
       progress=False)`` returns an object with ``values`` (F, T),
       ``frequencies_hz`` (F,) and ``times_s`` (T,);
    2. values finite and within [0, 1];
    3. frequency axis: Hz, strictly increasing, positive (a MIDI or reversed
       axis fails the tone check below);
    4. time axis: frame centres in seconds, strictly increasing, starting
       within one hop of 0 and covering the audio up to one hop before its end;
    5. the tone: in the frames after the onset the salience peaks within half
       a semitone of ``freq_hz`` (the median frame);
    6. frame times: the first frame whose peak salience reaches half of the
       track's maximum lies within ``onset_tolerance_s`` of ``onset_s``.

    Returns
    -------
    ValidationReport
        ``n_freqs``, ``n_frames``, ``hop_s``, ``peak_hz``, ``peak_error_semitones``,
        ``onset_error_s``.

    Raises
    ------
    ValueError
        Listing every failed check.
    """
    problems: list[str] = []
    name = getattr(model, "name", type(model).__name__)
    threshold = getattr(model, "threshold", None)
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0.0 <= threshold <= 1.0:
        problems.append(f"threshold is {threshold!r}; set a float attribute `threshold` in [0, 1]")
    if not callable(getattr(model, "salience", None)):
        raise ValueError(f"model {name!r} has no method salience(audio, sample_rate, *, progress=False); "
                         "implement sotbench.models.base.SalienceModel")
    audio = _tone(sample_rate, duration_s, freq_hz, onset_s)
    out = model.salience(audio, sample_rate, progress=False)
    missing = [a for a in ("values", "frequencies_hz", "times_s") if not hasattr(out, a)]
    if missing:
        raise ValueError(f"model {name!r}: salience() returned {type(out).__name__} without {missing}; "
                         "return sotbench.types.Salience(values, frequencies_hz, times_s)")
    values = np.asarray(out.values, dtype=np.float64)
    freqs = np.asarray(out.frequencies_hz, dtype=np.float64)
    times = np.asarray(out.times_s, dtype=np.float64)
    report = ValidationReport(n_freqs=int(freqs.size), n_frames=int(times.size))
    if values.ndim != 2 or values.shape != (freqs.size, times.size):
        raise ValueError(f"model {name!r}: values have shape {values.shape} but there are {freqs.size} "
                         f"frequencies and {times.size} frame times; values must be (n_freqs, n_frames)"
                         + (" (it looks transposed)" if values.shape == (times.size, freqs.size) else ""))
    if not np.all(np.isfinite(values)):
        problems.append("values contain NaN or Inf")
    elif values.min() < 0.0 or values.max() > 1.0:
        problems.append(f"values span [{values.min():.3g}, {values.max():.3g}]; a salience lies in [0, 1]")
    if freqs.size < 2 or not np.all(np.diff(freqs) > 0) or freqs[0] <= 0:
        problems.append("frequencies_hz must be positive and strictly increasing (bin centres in Hz)")
    hop = float(np.median(np.diff(times))) if times.size > 1 else float("nan")
    report["hop_s"] = hop
    if times.size < 2 or not np.all(np.diff(times) > 0):
        problems.append("times_s must be strictly increasing (frame centres in seconds)")
    else:
        if not -hop <= times[0] <= hop + 1e-9:
            problems.append(f"the first frame centre is at {times[0]:.4f} s; frame centres start within one hop "
                            f"({hop:.4f} s) of 0 (are the times in samples or frames?)")
        if times[-1] < duration_s - 2 * hop or times[-1] > duration_s + 2 * hop:
            problems.append(f"the last frame centre is at {times[-1]:.3f} s for {duration_s} s of audio; "
                            "times must be seconds covering the audio")
    if not problems or all("values span" in p for p in problems):
        after = times > onset_s + 0.2
        if after.any():
            peak_bins = np.argmax(values[:, after], axis=0)
            peak_hz = float(np.median(freqs[peak_bins]))
            err = 12 * math.log2(peak_hz / freq_hz) if peak_hz > 0 else float("inf")
            report.update(peak_hz=peak_hz, peak_error_semitones=err)
            if abs(err) > 0.5:
                problems.append(f"a {freq_hz:g} Hz tone peaks at {peak_hz:.1f} Hz ({err:+.2f} semitones); "
                                "check that frequencies_hz are the bins' centres in Hz in the order of values' "
                                "rows")
        frame_max = values.max(axis=0)
        active = np.nonzero(frame_max >= 0.5 * frame_max.max())[0] if frame_max.max() > 0 else np.array([])
        if active.size:
            onset_err = float(times[active[0]] - onset_s)
            report["onset_error_s"] = onset_err
            if abs(onset_err) > onset_tolerance_s:
                problems.append(f"the tone starting at {onset_s} s shows up at {times[active[0]]:.3f} s "
                                f"({onset_err:+.3f} s); times_s must be frame centres in seconds")
        else:
            problems.append("the salience is 0 everywhere for a loud tone")
    if problems:
        raise ValueError(f"model {name!r} fails the SalienceModel checks:\n  - " + "\n  - ".join(problems))
    return report


def render_report(results_root: str | Path = "results", out_dir: str | Path = "reports", *, plots: bool = True,
           reference: str | None = None) -> list[Path]:
    """Render ``leaderboard.{md,html,csv,tex}`` (see :func:`sotbench.report.leaderboard.render_reports`)."""
    from sotbench.report.leaderboard import render_reports

    return render_reports(Path(results_root), Path(out_dir), plots=plots, reference=reference)


def rescore(path: str | Path, *, threshold: float | None = None, regenerate: bool = False,
            data_root: str | None = None) -> list[dict]:
    """Re-score the stored per-track estimates of MPE results (a ``result.json`` or a folder of them).

    Parameters
    ----------
    path : str or Path
        A ``result.json`` or any folder above MPE results.
    threshold : float, optional
        Peak threshold (default: each run's own; then the stored metrics must be
        reproduced exactly: ``exact`` is True).
    regenerate : bool
        First rebuild missing estimates by re-running the model
        (:func:`sotbench.report.estimates.regenerate_estimates`).

    Returns
    -------
    list of dict
        One per result and dataset (see :func:`sotbench.report.estimates.rescore_result`),
        with ``result`` (the file).  For a folder, a result without stored estimates gives one row
        with ``missing`` (the reason) instead of stopping the others.

    Raises
    ------
    ValueError
        ``path`` does not exist or holds no completed MPE result; a single ``result.json`` without
        estimates (the message names ``--regenerate``).
    """
    from sotbench.report import estimates
    from sotbench.results import read_result

    path = Path(path)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(path.glob("**/result.json"))
    else:
        raise ValueError(f"{path} does not exist; pass a result.json or a results folder")
    rows = []
    for file in files:
        try:
            result = read_result(file)
        except ValueError as err:
            warnings.warn(f"skipping {file}: {err}", stacklevel=2)
            continue
        if not result or result.get("task") != "mpe" or result.get("status") != "completed":
            continue
        if regenerate:
            missing = [ds for ds in estimates._record_datasets(result)
                       if not estimates.estimates_path(estimates._run_dir(file), ds).is_file()]
            if missing:
                estimates.regenerate_estimates(file, data_root=data_root)
        try:
            found = estimates.rescore_result(file, threshold=threshold)
        except ValueError as err:
            if path.is_file() or "no estimates file" not in str(err):
                raise
            rows.append({"result": str(file), "missing": str(err), "exact": None})
            continue
        rows.extend({"result": str(file), **row} for row in found)
    if not rows:
        raise ValueError(f"no completed MPE result under {path}")
    return rows
