"""Per-track MPE estimates kept beside a run, so scores can be recomputed without the model.

File: ``<run folder>/estimates/<dataset>.npz`` (``numpy.savez_compressed``;
the run folder is the ``seed<N>`` folder in every results layout).  For each
track it stores

* ``times_s`` (T,) float64: the estimate's frame centres in seconds;
* the salience's **local maxima** whose value is ``>= floor`` (``floor =
  max(min(threshold, DEFAULT_FLOOR), threshold - DEFAULT_RANGE)``, see :func:`default_floor`):
  the number of peaks per frame (uint16), their frequency-bin indices (uint16, ascending within a frame) and float32
  salience values (exactly as the model produced them), plus the bins' centre
  frequencies in Hz (F,) float64 -- so the estimate can be re-thresholded
  at any threshold ``>= floor`` and reproduces the run's own estimate exactly at
  the run's threshold (peaks are found before thresholding, see
  :func:`sotbench.metrics.multipitch.pick_peaks`);
* the reference (``ref_times`` (T_ref,) in s, active pitches in Hz per frame),
  so re-scoring needs neither the model nor the dataset.

Arrays of track ``i`` are stored under ``t{i}/<name>``; ``index.json`` (a 0-d
string array) maps track keys (``"<dataset>/<track>"``) to ``i`` and records
floor, threshold, plateau and the format version.

:func:`to_multipitch` returns mir_eval's multipitch form (``times``, list of
frequency arrays in Hz) at a threshold; :func:`rescore` scores it with
:func:`sotbench.metrics.multipitch.evaluate_multipitch` and averages with
:func:`~sotbench.metrics.multipitch.average_scores`, which is exactly what the
task computed.  :func:`export_mir_eval` writes mir_eval's multipitch text
format (one gzipped ``.txt`` per track).
"""
from __future__ import annotations

import gzip
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["EstimateWriter", "TrackEstimate", "DEFAULT_FLOOR", "DEFAULT_RANGE", "default_floor", "load_estimates",
           "to_multipitch", "estimates_path", "rescore", "rescore_result", "export_mir_eval", "regenerate_estimates",
           "raise_floor"]

#: Lowest salience kept: ``floor = max(min(threshold, DEFAULT_FLOOR), threshold - DEFAULT_RANGE)``, so
#: estimates can be re-thresholded from ``DEFAULT_RANGE`` below the run's threshold (from 0.2 at most) upwards.
#: Lower floors keep many more (noise) peaks: on SS-MPE's Bach10 salience 0.05 keeps 6x the peaks of 0.2, and on
#: the log-magnitude DSP baselines (threshold 0.9) 0.2 keeps 5x the peaks of 0.6.
DEFAULT_FLOOR = 0.2
DEFAULT_RANGE = 0.3
FORMAT_VERSION = 2


def _ragged(freqs: Sequence) -> tuple[np.ndarray, np.ndarray]:
    arrays = [np.atleast_1d(np.asarray(f, dtype=np.float64)) for f in freqs]
    counts = np.asarray([a.size for a in arrays], dtype=np.int32)
    flat = np.concatenate(arrays) if arrays else np.zeros(0)
    return flat.astype(np.float64), counts


def _unragged(flat: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    return np.split(np.asarray(flat, dtype=np.float64), np.cumsum(counts)[:-1]) if counts.size else []


def default_floor(threshold: float) -> float:
    """``max(min(threshold, DEFAULT_FLOOR), threshold - DEFAULT_RANGE)`` (never above ``threshold``)."""
    return round(max(min(float(threshold), DEFAULT_FLOOR), float(threshold) - DEFAULT_RANGE), 6)


class EstimateWriter:
    """Collects the estimates of one dataset's tracks and writes them to one ``.npz``.

    Parameters
    ----------
    threshold : float
        The run's peak threshold.
    plateau : {"drop", "centre"}
        The run's plateau rule.
    floor : float, optional
        Lowest salience kept; default :func:`default_floor`.  Must
        not exceed ``threshold`` (the run's estimate must be reproducible).
    """

    def __init__(self, *, threshold: float, plateau: str = "drop", floor: float | None = None):
        floor = default_floor(threshold) if floor is None else float(floor)
        if not math.isfinite(floor) or floor > threshold:
            raise ValueError(f"floor={floor} must be finite and <= threshold={threshold}; "
                             "otherwise the run's own estimate could not be reproduced")
        self.threshold, self.plateau, self.floor = float(threshold), plateau, floor
        self._arrays: dict[str, np.ndarray] = {}
        self._keys: list[str] = []

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: str, salience, ref_times: np.ndarray, ref_freqs: Sequence) -> None:
        """Record track ``key``: its salience's peaks (>= floor) and its reference.

        Parameters
        ----------
        key : str
            ``"<dataset>/<track>"``, as in ``per_item``.
        salience : sotbench.types.Salience
            Values (F, T) float32, ``frequencies_hz`` (F,), ``times_s`` (T,).
        ref_times : ndarray, shape (T_ref,)
            Reference frame times in s.
        ref_freqs : sequence of array-like
            Reference active pitches per frame in Hz.
        """
        from sotbench.metrics.multipitch import pick_peaks

        if key in self._keys:
            raise ValueError(f"track {key!r} was already added; track keys must be unique")
        values = np.asarray(salience.values, dtype=np.float32)
        mask = pick_peaks(values, self.floor, plateau=self.plateau)
        if values.shape[0] > np.iinfo(np.uint16).max:
            raise ValueError(f"{key}: {values.shape[0]} frequency bins; at most 65535 are supported")
        bins, frames = np.nonzero(mask)
        order = np.lexsort((bins, frames))  # frame-major, ascending frequency bins within a frame
        i = len(self._keys)
        flat, counts = _ragged(ref_freqs)
        self._arrays.update({
            f"t{i}/times_s": np.asarray(salience.times_s, dtype=np.float64),
            f"t{i}/frequencies_hz": np.asarray(salience.frequencies_hz, dtype=np.float64),
            f"t{i}/peak_count": np.bincount(frames, minlength=values.shape[1]).astype(np.uint16),
            f"t{i}/peak_bin": bins[order].astype(np.uint16),
            f"t{i}/peak_value": values[bins[order], frames[order]],
            f"t{i}/ref_times": np.asarray(ref_times, dtype=np.float64),
            f"t{i}/ref_freqs": flat, f"t{i}/ref_counts": counts,
        })
        self._keys.append(key)

    def save(self, path: Path) -> Path:
        """Write the ``.npz`` atomically (:func:`sotbench.io.atomic_write_bytes`); returns the path."""
        from sotbench.io import atomic_write_bytes

        index = {"version": FORMAT_VERSION, "tracks": self._keys, "threshold": self.threshold,
                 "floor": self.floor, "plateau": self.plateau}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{"index.json": np.array(json.dumps(index))}, **self._arrays)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
        return path


@dataclass(frozen=True)
class TrackEstimate:
    """One track's stored estimate (see module docstring for units)."""

    key: str
    times_s: np.ndarray
    frequencies_hz: np.ndarray
    peak_count: np.ndarray
    peak_bin: np.ndarray
    peak_value: np.ndarray
    ref_times: np.ndarray
    ref_freqs: list
    floor: float
    plateau: str


def load_estimates(path: Path) -> dict[str, TrackEstimate]:
    """Read an estimates ``.npz``; keys are ``"<dataset>/<track>"`` in stored order.

    Raises
    ------
    ValueError
        The file is missing, not an estimates file, or of an unknown version.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no estimates file {path}; regenerate it with `sotbench rescore <result> --regenerate`")
    with np.load(path, allow_pickle=False) as data:
        if "index.json" not in data:
            raise ValueError(f"{path} is not a sotbench estimates file (no index.json)")
        index = json.loads(str(data["index.json"]))
        if index.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path} has estimates format {index.get('version')}; this sotbench reads "
                             f"{FORMAT_VERSION}: regenerate it")
        out = {}
        for i, key in enumerate(index["tracks"]):
            def g(name, i=i):
                return data[f"t{i}/{name}"]

            out[key] = TrackEstimate(key, g("times_s"), g("frequencies_hz"), g("peak_count"), g("peak_bin"),
                                     g("peak_value"), g("ref_times"), _unragged(g("ref_freqs"), g("ref_counts")),
                                     float(index["floor"]), str(index["plateau"]))
    return out


def to_multipitch(est: TrackEstimate, threshold: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """mir_eval multipitch form of a stored estimate at ``threshold``.

    Returns
    -------
    times_s : ndarray, shape (T,)
    frequencies_hz : list of ndarray
        Active pitches per frame in Hz, ascending (the task's
        :func:`~sotbench.metrics.multipitch.salience_to_multipitch` output).

    Raises
    ------
    ValueError
        ``threshold`` is below the stored floor (those peaks were not kept).
    """
    if not math.isfinite(threshold) or threshold < est.floor:
        raise ValueError(f"threshold={threshold} is below the stored floor {est.floor} of {est.key}; "
                         f"rescoring works for thresholds >= {est.floor}")
    keep = est.peak_value.astype(np.float64) >= threshold
    bins = np.split(est.peak_bin.astype(np.int64), np.cumsum(est.peak_count.astype(np.int64))[:-1])
    keeps = np.split(keep, np.cumsum(est.peak_count.astype(np.int64))[:-1])
    return est.times_s.astype(np.float64), [est.frequencies_hz[b[k]] for b, k in zip(bins, keeps, strict=True)]


def rescore(path: Path, *, threshold: float | None = None) -> tuple[dict, dict]:
    """Score the estimates in ``path`` at ``threshold`` (default: the run's own).

    Returns
    -------
    averages : dict
        ``p``, ``r``, ``acc``, ``f1`` (percent) and ``n_tracks`` over tracks
        (tracks with an empty reference excluded, as in the task).
    per_track : dict
        ``"<dataset>/<track>"`` -> :func:`~sotbench.metrics.multipitch.evaluate_multipitch` output.
    """
    import warnings

    from sotbench.metrics.multipitch import average_scores, evaluate_multipitch

    if not Path(path).is_file():
        raise ValueError(f"no estimates file {path}; regenerate it with `sotbench rescore <result> --regenerate`")
    with np.load(Path(path), allow_pickle=False) as data:
        index = json.loads(str(data["index.json"]))
    t = float(index["threshold"] if threshold is None else threshold)
    per_track = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # already reported when the run scored them
        for key, est in load_estimates(path).items():
            times, freqs = to_multipitch(est, t)
            per_track[key] = evaluate_multipitch(est.ref_times, est.ref_freqs, times, freqs, name=key)
        averages = average_scores(per_track, name=str(path))
    return averages, per_track


def raise_floor(path: Path, floor: float) -> Path:
    """Drop the stored peaks below ``floor`` (a smaller file; thresholds >= ``floor`` score the same).

    Raises
    ------
    ValueError
        ``floor`` is above the run's threshold (its own estimate would be lost) or below the stored floor.
    """
    from sotbench.io import atomic_write_bytes

    path = Path(path)
    with np.load(path, allow_pickle=False) as data:
        index = json.loads(str(data["index.json"]))
        arrays = {k: data[k] for k in data.files if k != "index.json"}
    if not index["floor"] <= floor <= index["threshold"]:
        raise ValueError(f"floor={floor} must lie between the stored floor {index['floor']} and the run's "
                         f"threshold {index['threshold']}")
    for i in range(len(index["tracks"])):
        values = arrays[f"t{i}/peak_value"]
        keep = values.astype(np.float64) >= floor
        frames = np.repeat(np.arange(arrays[f"t{i}/peak_count"].size), arrays[f"t{i}/peak_count"].astype(np.int64))
        arrays[f"t{i}/peak_count"] = np.bincount(frames[keep], minlength=arrays[f"t{i}/peak_count"].size
                                                 ).astype(np.uint16)
        arrays[f"t{i}/peak_bin"] = arrays[f"t{i}/peak_bin"][keep]
        arrays[f"t{i}/peak_value"] = values[keep]
    index["floor"] = float(floor)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{"index.json": np.array(json.dumps(index))}, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def estimates_path(run_dir: Path, dataset: str) -> Path:
    """``<run folder>/estimates/<dataset>.npz``."""
    return Path(run_dir) / "estimates" / f"{dataset}.npz"


def _run_dir(result_path: Path) -> Path:
    for parent in Path(result_path).parents:
        if parent.name.startswith("seed") and parent.name[4:].lstrip("-").isdigit():
            return parent
    return Path(result_path).parent


def _record_datasets(result: dict) -> list[str]:
    ev = ((result.get("config") or {}).get("task") or {}).get("eval")
    extra = result.get("extra") or {}
    if extra.get("evaluated"):
        return list(extra["evaluated"])
    if isinstance(ev, list):
        return [str(e) for e in ev]
    return sorted({k.split("/")[0] for k in (result.get("metrics") or {}) if "/" in k})


def rescore_result(result_path: Path, *, threshold: float | None = None) -> list[dict]:
    """Re-score the stored estimates of one MPE ``result.json`` and compare with its stored metrics.

    Returns
    -------
    list of dict
        Per dataset: ``dataset``, ``threshold`` (used), ``stored_threshold``,
        ``stored`` and ``rescored`` (``p``/``r``/``acc``/``f1``), ``exact``
        (rescored == stored, bit for bit, when the thresholds are equal; None
        otherwise), ``estimates`` (the file).

    Raises
    ------
    ValueError
        Not an MPE result, or an estimates file is missing.
    """
    from sotbench.results import read_result

    result_path = Path(result_path)
    result = read_result(result_path)
    if result is None or result.get("task") != "mpe":
        raise ValueError(f"{result_path} is not an MPE result.json; rescore reads task 'mpe' results")
    stored_t = float((result.get("extra") or {}).get("threshold"))
    metrics = result.get("metrics") or {}
    out = []
    for ds in _record_datasets(result):
        path = estimates_path(_run_dir(result_path), ds)
        averages, _ = rescore(path, threshold=threshold)
        stored = {k: metrics.get(f"{ds}/{k}") for k in ("p", "r", "acc", "f1")}
        used = stored_t if threshold is None else float(threshold)
        exact = (all(averages[k] == stored[k] for k in stored) if used == stored_t else None)
        out.append({"dataset": ds, "threshold": used, "stored_threshold": stored_t, "stored": stored,
                    "rescored": {k: averages[k] for k in stored}, "n_tracks": averages["n_tracks"],
                    "exact": exact, "estimates": str(path)})
    return out


def export_mir_eval(path: Path, out_dir: Path, *, threshold: float | None = None) -> list[Path]:
    """Write mir_eval multipitch text files (``<track>.txt.gz``: ``time<TAB>f1<TAB>f2...`` per frame).

    Readable with ``mir_eval.io.load_ragged_time_series(gzip.open(p, "rt"))``.
    """
    with np.load(Path(path), allow_pickle=False) as data:
        index = json.loads(str(data["index.json"]))
    t = float(index["threshold"] if threshold is None else threshold)
    written = []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for key, est in load_estimates(path).items():
        times, freqs = to_multipitch(est, t)
        lines = ["\t".join([repr(float(time))] + [repr(float(f)) for f in fs])
                 for time, fs in zip(times, freqs, strict=True)]
        target = out_dir / (key.replace("/", "__") + ".txt.gz")
        with gzip.open(target, "wt") as handle:
            handle.write("\n".join(lines) + "\n")
        written.append(target)
    return written


def regenerate_estimates(result_path: Path, *, data_root: str | None = None, progress: bool = False) -> list[Path]:
    """Re-run the model of a completed MPE result on its tracks and store the estimates.

    The model is rebuilt from the result's resolved configuration (model
    name, ``task.model_settings``, ``chunk_seconds``, the threshold and plateau
    it used); the stored per-track scores must be reproduced exactly by the new
    estimates (else ``ValueError``: the model or data changed since the run).

    Returns
    -------
    list of Path
        The estimates files written (one per dataset of the result).
    """
    import types

    import torch
    from omegaconf import OmegaConf

    from sotbench.data import get_eval_loader
    from sotbench.metrics.multipitch import evaluate_salience
    from sotbench.registry import load_all
    from sotbench.results import read_result
    from sotbench.tasks.mpe import GENERATED_DATASETS, build_model

    load_all()
    result_path = Path(result_path)
    result = read_result(result_path)
    if result is None or result.get("task") != "mpe":
        raise ValueError(f"{result_path} is not an MPE result.json")
    cfg = OmegaConf.create(result.get("config") or {})
    extra = result.get("extra") or {}
    checkpoint = extra.get("checkpoint")
    ctx = types.SimpleNamespace(cfg=cfg, device=torch.device("cpu"))
    model = build_model(ctx, result["model"], checkpoint)
    threshold, plateau = float(extra["threshold"]), str(extra.get("plateau", "drop"))
    root = data_root if data_root is not None else cfg.get("data_root")
    written = []
    for ds in _record_datasets(result):
        info = (extra.get("datasets") or {}).get(ds) or {}
        options = dict(info.get("loader_options") or {})
        names = list(info.get("tracks") or [])
        tracks = get_eval_loader(ds)(None if ds in GENERATED_DATASETS else root, **options)
        by_name = {}
        for i in range(len(tracks)):
            track = tracks[i]
            if not names or track.name in names:
                by_name[track.name] = track
        writer = EstimateWriter(threshold=threshold, plateau=plateau)
        for name in names or list(by_name):
            if name not in by_name:
                raise ValueError(f"track {name!r} of {result_path} is not in dataset {ds!r} any more")
            track = by_name[name]
            key = f"{ds}/{name}"
            sal = model.salience(track.audio, track.sample_rate, progress=False)
            scores = evaluate_salience(sal, track.times_s, track.frequencies_hz, threshold=threshold,
                                       plateau=plateau, name=key)
            stored = (result.get("per_item") or {}).get(key) or {}
            if any(stored.get(k) != scores[k] for k in ("p", "r", "acc", "f1")):
                raise ValueError(f"{key}: re-running {result['model']} gives Acc {scores['acc']!r}, the result "
                                 f"stores {stored.get('acc')!r}; the model or data changed since the run, so "
                                 "its estimates cannot be regenerated (re-run the task instead)")
            writer.add(key, sal, track.times_s, track.frequencies_hz)
        written.append(writer.save(estimates_path(_run_dir(result_path), ds)))
    return written
