"""Leaderboards rendered from ``result.json`` files alone.

``render_reports(results_root, out_dir)`` writes ``leaderboard.md``,
``leaderboard.html`` (sortable columns, rows linked to their ``result.json``),
``leaderboard.csv`` (one row per model x dataset x metric with interval bounds
and provenance; read it back with :func:`read_leaderboard_csv`),
``leaderboard.tex`` (one booktabs table per section) and ``plots/*.png``.

Rows are keyed by the fields inside each ``result.json`` (task, model, loss,
variant, budget, seed, dataset), never by its path, so any results layout
works.  Uncertainty and paired comparisons are computed by
:mod:`sotbench.report.stats` from the per-unit scores stored in ``per_item``:

* ``mpe``: one table per dataset; each cell is the mean over tracks with its
  95 % BCa bootstrap interval (``n`` tracks); ``ΔAcc`` is the paired bootstrap
  difference against the reference row (default: the best measured Acc of the
  dataset) over the same tracks, with the Wilcoxon signed-rank p-value.
* ``synth-ae``: mean over seeds with the Student-t interval (``–`` for one
  seed); per seed, the bootstrap interval over the test examples; SOT vs MSS
  paired by seed and by test example.
* Any other task (e.g. ``synth-fit``): a generic table of its scalar metrics
  over seeds; a module ``sotbench.report.<task>`` (dashes as underscores) that
  defines ``report_blocks(results, plot_dir) -> list`` adds its own blocks.

Published rows stand beside the measured row of the same model, marked with
their citation; published numbers on datasets that sotbench did not measure are
folded away.
"""
from __future__ import annotations

import importlib
import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sotbench.report import published, stats
from sotbench.report.document import Details, Image, Section, Table, to_html, to_latex, to_markdown
from sotbench.results import atomic_write_text, iter_results

__all__ = ["render_reports", "collect", "build_leaderboard", "read_leaderboard_csv", "synth_ae_sections",
           "mpe_sections", "mpe_units", "CSV_COLUMNS", "LSD_NOTE", "METRIC_LABELS"]

#: Display labels (with units and direction).  LSD is a mean *squared* dB difference: dB².
METRIC_LABELS = {"lsd_db": "LSD [dB²] ↓", "rpa": "RPA [%] ↑", "rca": "RCA [%] ↑", "od": "OD [oct]",
                 "p": "P [%] ↑", "r": "R [%] ↑", "acc": "Acc [%] ↑", "f1": "F1 [%] ↑"}
_UNITS = {"lsd_db": "dB^2", "rpa": "%", "rca": "%", "od": "octave", "p": "%", "r": "%", "acc": "%", "f1": "%",
          "rtf": "s per audio s"}
_DIRECTION = {"lsd_db": "min", "rpa": "max", "rca": "max", "od": "zero", "p": "max", "r": "max", "acc": "max",
              "f1": "max", "rtf": "min"}
LSD_NOTE = ("LSD is labelled dB²: paper 000 and its code define it as the mean over frames and bins of the "
            "squared difference of the log-magnitude spectra in dB (no square root), so its unit is dB² even "
            "though the paper's table header says dB.")
_MPE_KEYS = ("p", "r", "acc", "f1")
_MPE_EXTRA_DATASETS = ("chorales-synth",)

#: Columns of ``leaderboard.csv`` (one row per model x dataset x metric).
CSV_COLUMNS = ["task", "dataset", "model", "loss", "variant", "budget", "source", "label", "citation", "metric",
               "unit", "direction", "value", "ci_low", "ci_high", "ci_method", "confidence", "n", "n_kind",
               "published_sd", "reference", "delta", "delta_low", "delta_high", "p_wilcoxon", "significant",
               "seeds", "threshold", "commit", "dirty", "started_first", "started_last", "device", "result_path"]
#: ``result_path``: the run's ``result.json`` relative to the results root (several joined by ``;``).


def collect(results_root: Path, problems: list | None = None) -> list[dict]:
    """Completed results under ``results_root`` (read by :func:`sotbench.results.iter_results`).

    Each result gets ``_path`` (its ``result.json`` relative to the root) and,
    when it merges several per-dataset records, ``_records`` (dataset -> file
    relative to the root).  Files that are not sotbench results are appended
    to ``problems`` as ``(path, reason)`` when a list is given.
    """
    rows = []
    root = Path(results_root)
    for path, result in iter_results(root, problems=problems):
        result["_path"] = _relative(path, root)
        result["_records"] = {ds: _relative(Path(p), root) for ds, p in (result.get("records") or {}).items()}
        rows.append(result)
    return rows


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


# ----------------------------------------------------------------------------- formatting
def _finite(value) -> bool:
    return value is not None and isinstance(value, (int, float, np.floating)) and math.isfinite(value)


def _fmt(value, digits: int = 1, sign: bool = False) -> str:
    if not _finite(value):
        return "–"
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    return text


def _fmt_ci(iv: stats.Interval, digits: int = 1, sign: bool = False) -> str:
    """``"mean [low, high]"``; ``"mean [–]"`` without an interval (one seed/track)."""
    if not iv.has_interval:
        return f"{_fmt(iv.mean, digits, sign)} [–]"
    return f"{_fmt(iv.mean, digits, sign)} [{_fmt(iv.low, digits)}, {_fmt(iv.high, digits)}]"


def _fmt_p(p: float) -> str:
    if not _finite(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


# ----------------------------------------------------------------------------- grouping / provenance
def _variant(result: dict) -> str:
    """The row variant of a result.

    ``variant`` of the result (or its ``extra``), else, outside MPE (whose per-dataset records are
    merged), the record folder between ``seed<N>/`` and ``result.json`` (e.g. synth-fit's ``known-pad-end``).
    """
    explicit = result.get("variant") or (result.get("extra") or {}).get("variant")
    if explicit:
        return str(explicit)
    parts = Path(result.get("_path", "")).parts
    if result.get("task") != "mpe" and len(parts) >= 3 and parts[-1] == "result.json" and \
            re.fullmatch(r"seed-?\d+", parts[-3]):
        return parts[-2]
    return ""


def _group_key(result: dict) -> tuple:
    return (result["model"], result.get("loss") or "-", _variant(result), str(result.get("budget", "?")),
            (result.get("device") or {}).get("type", "?"))


def _grouped(results: list[dict], task: str) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for result in results:
        if result["task"] == task:
            groups[_group_key(result)].append(result)
    for runs in groups.values():
        runs.sort(key=lambda r: (r.get("seed") if isinstance(r.get("seed"), int) else 0, r.get("started", "")))
    return dict(sorted(groups.items()))


def _prov(runs: list[dict]) -> dict:
    commits = sorted({(r.get("git") or {}).get("commit") or "unknown" for r in runs})
    dates = sorted(r.get("started", "")[:10] for r in runs)
    return {"commit": ",".join(commits), "dirty": any((r.get("git") or {}).get("dirty") for r in runs),
            "started_first": dates[0], "started_last": dates[-1],
            "device": "; ".join(sorted({(r.get("device") or {}).get("name", "?") for r in runs}))}


def _prov_text(runs: list[dict]) -> str:
    p = _prov(runs)
    short = ",".join(c[:8] for c in p["commit"].split(",")) + (" (dirty)" if p["dirty"] else "")
    return f"{short}; {p['started_first']}..{p['started_last']}; {p['device']}"


@dataclass
class _Ctx:
    results_root: Path
    out_dir: Path
    records: list = field(default_factory=list)

    def link(self, result: dict, dataset: str | None = None) -> str:
        """Path of the run's ``result.json`` (the dataset's record when it has one) relative to the report."""
        rel = (result.get("_records") or {}).get(dataset) or result["_path"]
        return os.path.relpath(self.results_root / rel, self.out_dir).replace(os.sep, "/")

    @staticmethod
    def record(result: dict, dataset: str | None = None) -> str:
        return (result.get("_records") or {}).get(dataset) or result["_path"]

    def add(self, **row) -> None:
        base = {c: None for c in CSV_COLUMNS}
        base.update(row)
        self.records.append(base)


def _metric_value(metrics: dict, key: str):
    value = metrics.get(key)
    return float(value) if _finite(value) else None


# ----------------------------------------------------------------------------- synth-ae
def _per_example(run: dict, metric: str) -> dict[str, float]:
    items = run.get("per_item") or {}
    return {k: float(v[metric]) for k, v in items.items() if isinstance(v, dict) and _finite(v.get(metric))}


def synth_ae_sections(results: list[dict], plot_dir: Path | None, ctx: _Ctx | None = None) -> list[Section]:
    """Table 1 of paper 000 with our rows (mean [95 % CI] over seeds) beside the published ones."""
    ctx = ctx or _Ctx(Path("."), Path("."))
    groups = _grouped(results, "synth-ae")
    if not groups:
        return []
    metrics = published.SOT_METRICS
    header = ["loss", "source", "budget", "steps x batch", "seeds"] + [METRIC_LABELS[m] for m in metrics]
    header += [f"{METRIC_LABELS[m].split(' ')[0]} median" for m in metrics]
    rows, links, pub_flags, prov_rows, prov_links = [], [], [], [], []
    order = list(published.SOT_TABLE1)
    measured: list[tuple] = []
    for key, runs in groups.items():
        model, loss, variant, budget, _device = key
        label = (loss if model == "harmonic-ae" else f"{loss} ({model})") + (f" [{variant}]" if variant else "")
        seeds = [r["seed"] for r in runs]
        cells, medians = [], []
        prov = _prov(runs)
        for m in metrics:
            values = [v for v in (_metric_value(r.get("metrics") or {}, m) for r in runs) if v is not None]
            iv = stats.t_ci(values)
            cells.append(_fmt_ci(iv))
            medians.append(_fmt(float(np.median(values)) if values else None))
            ctx.add(task="synth-ae", dataset="synthetic", model=model, loss=loss, variant=variant, budget=budget,
                    source="sotbench", label=label, metric=m, unit=_UNITS[m], direction=_DIRECTION[m],
                    value=iv.mean, ci_low=iv.low, ci_high=iv.high, ci_method=iv.method,
                    confidence=stats.CONFIDENCE, n=iv.n, n_kind="seeds", seeds=",".join(map(str, seeds)),
                    result_path=";".join(r["_path"] for r in runs), **prov)
        measured.append((loss, budget, runs))
        rows.append([label, "sotbench", budget, _train_size(runs[0]), ",".join(map(str, seeds))] + cells + medians)
        links.append(ctx.link(runs[-1]))
        pub_flags.append(False)
        prov_rows.append([label, budget, str(len(runs)), _prov_text(runs)])
        prov_links.append(ctx.link(runs[-1]))
    for loss, pub in published.SOT_TABLE1.items():
        rows.append([loss, "published [1]", "paper", "25000 x 64", "5"]
                    + [f"{_fmt(m)} (sd {_fmt(s)})" for m, s in zip(pub["mean"], pub["std"], strict=True)]
                    + [_fmt(m) for m in pub["median"]])
        links.append(None)
        pub_flags.append(True)
        for m, mean, sd in zip(metrics, pub["mean"], pub["std"], strict=True):
            ctx.add(task="synth-ae", dataset="synthetic", model="harmonic-ae", loss=loss, variant="",
                    budget="paper", source="published", label=loss, citation=published.SOT_CITATION, metric=m,
                    unit=_UNITS[m], direction=_DIRECTION[m], value=mean, published_sd=sd, n=5, n_kind="seeds")

    silence = _silence_reference(ctx)
    if silence is not None:  # a reference row: what an all-zero output scores (LSD only; it has no pitch)
        rows.append(["(silent output)", "reference (measured)", "–", "–", "–", f"{silence:.1f}"]
                    + ["–"] * (len(metrics) - 1) + ["–"] * len(metrics))
        links.append(None)
        pub_flags.append(False)

    def sort_key(i):
        name = rows[i][0].split(" ")[0]
        return (order.index(name) if name in order else len(order), pub_flags[i], rows[i][2])

    idx = sorted(range(len(rows)), key=sort_key)
    table = Table(header, [rows[i] for i in idx], links=[links[i] for i in idx],
                  published=[pub_flags[i] for i in idx], latex=True,
                  caption="synth-ae: test metrics, mean [95 % CI over seeds]")
    blocks: list = [
        "Harmonic autoencoder on the synthetic harmonic set (paper 000): test metrics of the checkpoint with "
        "the best validation LSD. Measured cells: mean over seeds [95 % Student-t interval over seeds; `–` with "
        "one seed]. Rows marked \"published [1]\" are the paper's numbers (mean (sd over its 5 seeds)), not "
        "measurements of sotbench. A budget other than `paper` is a reduced budget: compare shapes of the "
        "results, not the decimals.",
        LSD_NOTE,
        *_silence_note(ctx),
        table,
        f"[1] {published.SOT_CITATION}.",
    ]
    blocks += _synth_ae_within_seed(groups, ctx)
    blocks += _synth_ae_paired(groups, ctx)
    if plot_dir is not None:
        blocks += _synth_ae_plots(groups, plot_dir)
    blocks.append(Table(["loss", "budget", "seeds", "provenance (commit; dates; device)"], prov_rows,
                        caption="Provenance", links=prov_links))
    return [Section("synth-ae: harmonic autoencoder (SOT vs MSS)", blocks)]


def _silence_reference(ctx: _Ctx) -> float | None:
    """The LSD (dB²) of an all-zero output on the test split, when the synth-ae records carry it."""
    try:
        from sotbench.report.synth_fit import silence_reference

        ref = silence_reference(ctx.results_root)
    except (ImportError, ValueError, OSError):
        return None
    return float(ref["test"]) if ref and _finite(ref.get("test")) else None


def _silence_note(ctx: _Ctx) -> list[str]:
    """The silence level in words, when known (:func:`_silence_reference`)."""
    ref = _silence_reference(ctx)
    if ref is None:
        return []
    return [f"Reference level: an all-zero (silent) output scores LSD {ref:.1f} dB² on the test split "
            "(the \"(silent output)\" row); a row near it has learned little about the spectra."]


def _synth_ae_within_seed(groups: dict, ctx: _Ctx) -> list:
    metrics = published.SOT_METRICS
    rows, links = [], []
    for (_model, loss, variant, budget, _device), runs in groups.items():
        for run in runs:
            cells, n = [], 0
            for m in metrics:
                values = list(_per_example(run, m).values())
                iv = stats.bootstrap_ci(values) if values else stats.Interval(
                    float("nan"), float("nan"), float("nan"), 0, "none")
                n = max(n, iv.n)
                cells.append(_fmt_ci(iv))
            if n:
                rows.append([loss + (f" [{variant}]" if variant else ""), budget, str(run["seed"]), str(n)] + cells)
                links.append(ctx.link(run))
    if not rows:
        return []
    return [Table(["loss", "budget", "seed", "n examples"] + [METRIC_LABELS[m] for m in metrics], rows,
                  caption="synth-ae within each seed: mean over test examples [95 % bootstrap CI over examples]",
                  links=links)]


def _synth_ae_paired(groups: dict, ctx: _Ctx) -> list:
    """SOT minus MSS (same budget): paired by seed (t) and by test example within a seed (bootstrap)."""
    metrics = published.SOT_METRICS
    by_budget: dict[str, dict[str, list]] = defaultdict(dict)
    for (_model, loss, variant, budget, _device), runs in groups.items():
        if not variant:
            by_budget[budget][loss] = runs
    rows = []
    for budget, losses in sorted(by_budget.items()):
        for sot in sorted(k for k in losses if k.startswith("sot")):
            for mss in sorted(k for k in losses if k.startswith("mss")):
                a = {r["seed"]: r for r in losses[sot]}
                b = {r["seed"]: r for r in losses[mss]}
                common = sorted(set(a) & set(b))
                if not common:
                    continue
                name = f"{sot} − {mss}"
                cells = []
                for m in metrics:
                    pairs = [(_metric_value(a[s].get("metrics") or {}, m), _metric_value(b[s].get("metrics") or {}, m))
                             for s in common]
                    pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
                    if not pairs:
                        cells += ["–", "–"]
                        continue
                    res = stats.paired_t([x for x, _ in pairs], [y for _, y in pairs])
                    cells += [_fmt_ci(res.delta, sign=True) + (" *" if res.significant else ""),
                              _fmt_p(res.p_wilcoxon)]
                    _add_delta(ctx, "synth-ae", "synthetic", sot, mss, budget, m, res, "seeds", "paired t")
                rows.append([name, budget, "seeds", str(len(common))] + cells)
                for s in common:
                    cells, n = [], 0
                    for m in metrics:
                        ea, eb = _per_example(a[s], m), _per_example(b[s], m)
                        keys = sorted(set(ea) & set(eb))
                        if len(keys) < 2:
                            cells += ["–", "–"]
                            continue
                        res = stats.paired_bootstrap([ea[k] for k in keys], [eb[k] for k in keys])
                        n = len(keys)
                        cells += [_fmt_ci(res.delta, sign=True) + (" *" if res.significant else ""),
                                  _fmt_p(res.p_wilcoxon)]
                    if n:
                        rows.append([name, budget, f"test examples, seed {s}", str(n)] + cells)
                if len(common) > 1:  # each test example's score averaged over the common seeds, then paired
                    cells, n = [], 0
                    for m in metrics:
                        ea = [_per_example(a[s], m) for s in common]
                        eb = [_per_example(b[s], m) for s in common]
                        keys = sorted(set.intersection(*(set(e) for e in ea + eb)))
                        if len(keys) < 2:
                            cells += ["–", "–"]
                            continue
                        xa = [float(np.mean([e[k] for e in ea])) for k in keys]
                        xb = [float(np.mean([e[k] for e in eb])) for k in keys]
                        res = stats.paired_bootstrap(xa, xb)
                        n = len(keys)
                        cells += [_fmt_ci(res.delta, sign=True) + (" *" if res.significant else ""),
                                  _fmt_p(res.p_wilcoxon)]
                        _add_delta(ctx, "synth-ae", "synthetic", sot, mss, budget, m, res, "test examples",
                                   "paired bootstrap (example means over seeds)",
                                   seeds=",".join(map(str, common)))
                    if n:
                        rows.append([name, budget, f"test examples, mean over seeds {','.join(map(str, common))}",
                                     str(n)] + cells)
    if not rows:
        return []
    header = ["SOT − MSS", "budget", "paired over", "n"]
    for m in metrics:
        header += [f"Δ{METRIC_LABELS[m].split(' ↓')[0].split(' ↑')[0]}", "p (Wilcoxon)"]
    return [
        "Paired differences SOT − MSS (same budget, same seeds / same test examples). By seeds: Student-t "
        "95 % interval of the mean difference over seeds (with 3 seeds the Wilcoxon p cannot fall below 0.25). "
        "By test examples: paired bootstrap over the examples of one seed, or over each example's score averaged "
        "over the seeds both losses ran. * = the 95 % interval excludes 0. "
        "Lower LSD is better: a negative ΔLSD favours SOT.",
        Table(header, rows, caption="synth-ae: SOT vs MSS, paired", latex=True),
    ]


def _add_delta(ctx: _Ctx, task, dataset, model, reference, budget, metric, res, n_kind, method, **more):
    ctx.add(task=task, dataset=dataset, model=model, budget=budget, source="sotbench-paired",
            label=f"{model} − {reference}", metric=f"delta_{metric}", unit=_UNITS.get(metric),
            direction=_DIRECTION.get(metric), reference=reference, delta=res.delta.mean, delta_low=res.delta.low,
            delta_high=res.delta.high, value=res.delta.mean, ci_low=res.delta.low, ci_high=res.delta.high,
            ci_method=f"{method} ({res.delta.method})", confidence=stats.CONFIDENCE, n=res.delta.n,
            n_kind=n_kind, p_wilcoxon=res.p_wilcoxon, significant=res.significant, **more)


def _train_size(run: dict) -> str:
    """``"<steps> x <batch>"`` of a synth-ae run, read from its resolved config ("–" if absent)."""
    train = ((run.get("config") or {}).get("task") or {}).get("train") or {}
    if "steps" not in train or "batch_size" not in train:
        return "–"
    return f"{train['steps']} x {train['batch_size']}"


def _pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig, plot_dir: Path, name: str, alt: str) -> Image:
    """Write ``fig`` to ``plot_dir/name`` (110 dpi), close it, and return its report image."""
    import matplotlib.pyplot as plt

    plot_dir.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(plot_dir / name, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return Image(f"plots/{name}", alt)


def _synth_ae_plots(groups: dict, plot_dir: Path) -> list:
    plt = _pyplot()
    blocks = []
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for (_model, loss, _variant, budget, _device), runs in groups.items():
        rpa = [(r.get("metrics") or {}).get("rpa") for r in runs]
        rca = [(r.get("metrics") or {}).get("rca") for r in runs]
        ax.scatter(rpa, rca, label=f"{loss} ({budget})", alpha=0.8)
    ax.set_xlabel("RPA [%]")
    ax.set_ylabel("RCA [%]")
    ax.set_xlim(-3, 103)
    ax.set_ylim(-3, 103)
    ax.set_title("Per-seed test RPA vs RCA")
    ax.legend(fontsize=8)
    blocks.append(_save_figure(fig, plot_dir, "synth-ae-rpa-rca.png", "per-seed RPA vs RCA"))

    from sotbench.report.synth_fit import plot_synth_ae_curves_of

    by_budget: dict[str, list[dict]] = defaultdict(list)
    for (_model, _loss, _variant, budget, _device), runs in groups.items():
        by_budget[budget] += runs
    for budget, runs in sorted(by_budget.items()):
        name = f"synth-ae-curves-{budget}.png"
        if plot_synth_ae_curves_of(runs, plot_dir / name, budget=budget) is not None:
            blocks.append(Image(f"plots/{name}", f"validation LSD and RPA during training ({budget})"))
    return blocks


# ----------------------------------------------------------------------------- mpe
def _result_datasets(result: dict) -> list[str]:
    """Datasets a MPE result scored (old layout: ``<ds>/<metric>`` keys; new: a ``dataset`` field)."""
    if result.get("dataset"):
        return [str(result["dataset"])]
    extra = result.get("extra") or {}
    if extra.get("evaluated"):
        return list(extra["evaluated"])
    return sorted({k.split("/")[0] for k in (result.get("metrics") or {}) if "/" in k})


def mpe_units(result: dict, dataset: str) -> dict:
    """Per-track scores of one MPE result on one dataset.

    Returns
    -------
    dict
        ``tracks`` (list of str) and, for each of ``p``, ``r``, ``acc``, ``f1``, an
        array of per-track percentages aligned with ``tracks``; tracks flagged
        ``ref_empty`` are excluded (as in :func:`sotbench.metrics.multipitch.average_scores`).
        ``metrics``: the stored dataset means; ``rtf``: compute seconds per audio
        second over the dataset's tracks (None when the tracks carry no timing).
    """
    metrics = result.get("metrics") or {}
    own = result.get("dataset") == dataset
    stored = {k: _metric_value(metrics, f"{dataset}/{k}") if f"{dataset}/{k}" in metrics
              else (_metric_value(metrics, k) if own else None) for k in _MPE_KEYS}
    tracks, values = [], {k: [] for k in _MPE_KEYS}
    audio = compute = 0.0
    for key, item in sorted((result.get("per_item") or {}).items()):
        if "/" in key:
            ds, name = key.split("/", 1)
            if ds != dataset:
                continue
        elif own:
            name = key
        else:
            continue
        if not isinstance(item, dict):
            continue
        if _finite(item.get("audio_s")) and _finite(item.get("compute_s")):
            audio += float(item["audio_s"])
            compute += float(item["compute_s"])
        if item.get("ref_empty"):
            continue
        tracks.append(name)
        for k in _MPE_KEYS:
            values[k].append(float(item.get(k, float("nan"))))
    return {"tracks": tracks, **{k: np.asarray(v, dtype=float) for k, v in values.items()}, "metrics": stored,
            "rtf": compute / audio if audio > 0 else None}


def _mpe_datasets(results: list[dict]) -> list[str]:
    seen = {ds for r in results if r["task"] == "mpe" for ds in _result_datasets(r)}
    ordered = [d for d in (*published.MPE_DATASETS, *_MPE_EXTRA_DATASETS) if d in seen]
    return ordered + sorted(seen - set(ordered))


def _published_threshold(label: str) -> str:
    return "0.5" if "MPE" in label or "Timbre" in label else "0.3"


@dataclass
class _MpeRow:
    label: str
    model: str
    variant: str
    budget: str
    run: dict
    runs: list
    units: dict


def mpe_sections(results: list[dict], plot_dir: Path | None, ctx: _Ctx | None = None, *,
                 reference: str | None = None) -> list[Section]:
    """One table per MPE dataset: mean [95 % bootstrap CI over tracks], ΔAcc vs the reference row.

    Parameters
    ----------
    reference : str, optional
        Model name (or row label) of the reference row of every dataset; default
        (and fallback when that model was not scored on a dataset): the row with
        the best measured Acc on the dataset.
    """
    ctx = ctx or _Ctx(Path("."), Path("."))
    mpe = [r for r in results if r["task"] == "mpe"]
    if not mpe:
        return []
    datasets = _mpe_datasets(mpe)
    # group per (model, loss, variant, budget, device) and dataset; latest seed when several
    per_dataset: dict[str, dict[tuple, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for result in mpe:
        for ds in _result_datasets(result):
            per_dataset[ds][_group_key(result)].append(result)
    intro = [
        "Multi-pitch estimation (paper 002 protocol): salience -> local maxima along frequency -> threshold -> "
        "mir_eval.multipitch per track, unweighted mean over tracks; P/R/Acc in percent. Measured cells: mean "
        f"[95 % BCa bootstrap interval over the `n` tracks, {stats.N_RESAMPLES} resamples, seed {stats.SEED}]. "
        "With about 10 tracks a bootstrap interval is somewhat too narrow (it covers the true mean roughly 87-92 % "
        "of the time on synthetic data, see tests/report/test_stats.py): read it as a lower bound on the "
        "uncertainty. `ΔAcc vs ref`: paired bootstrap of the mean per-track Acc difference (row − reference) "
        "over the tracks both rows scored; * = its 95 % interval excludes 0; `p` is the two-sided Wilcoxon "
        "signed-rank p-value over the same tracks (a second opinion, not used for *). Rows marked \"published "
        "[2]\" are the paper's numbers beside sotbench's row of the same model. `s / audio s` is the measured "
        "wall-clock compute time per second of audio on the run's device (an upper bound where the machine was "
        "shared; controlled timings are in performance.md).",
    ]
    sections: list[Section] = [Section("mpe: multi-pitch estimation", intro)]
    prov_rows, prov_links, seen_prov = [], [], set()
    bach10_rows: list[_MpeRow] = []
    rows_by_ds: dict[str, list[_MpeRow]] = {}
    for ds in datasets:
        rows: list[_MpeRow] = []
        for key, runs in sorted(per_dataset[ds].items()):
            model, slot, variant, budget, _device = key
            runs.sort(key=lambda r: (r.get("seed") if isinstance(r.get("seed"), int) else 0, r.get("started", "")))
            run = runs[-1]
            label = model + (f" ({slot})" if slot != "-" else "") + (f" [{variant}]" if variant else "")
            rows.append(_MpeRow(label, model, variant, budget, run, runs, mpe_units(run, ds)))
            if id(run) not in seen_prov:
                seen_prov.add(id(run))
                prov_rows.append([label, budget, _prov_text(runs)])
                prov_links.append(ctx.link(run))
        if ds == "bach10":
            bach10_rows = rows
        rows_by_ds[ds] = rows
        sections.append(_mpe_dataset_section(ds, rows, ctx, reference))
    sections.append(table1_section(mpe, rows_by_ds))
    # published numbers on datasets sotbench did not measure: folded away
    absent = [d for d in published.MPE_DATASETS if d not in datasets]
    if absent:
        header = ["published row", "model in sotbench"] + [f"{d} P/R/Acc" for d in absent]
        rows = [[label, pub["model"] or "–"] + ["/".join(_fmt(v) for v in dict(zip(published.MPE_DATASETS,
                                                                                    pub["scores"], strict=True))[d])
                                                 for d in absent]
                for label, pub in published.SSMPE_TABLE1.items()]
        sections[-1].blocks.append(Details(f"Published numbers on datasets not measured here ({', '.join(absent)})",
                                           [Table(header, rows, published=[True] * len(rows))]))
    tail: list = [f"[2] {published.SSMPE_CITATION}."]
    notes = sorted({n for r in mpe for n in ((r.get("extra") or {}).get("notes") or [])})
    present = {r["model"] for r in mpe}
    tail += notes + [text for model, text in published.MODEL_NOTES.items() if model in present]
    if plot_dir is not None and bach10_rows:
        tail += _mpe_plot(bach10_rows, plot_dir)
    if plot_dir is not None:  # training curves stored by trained MPE runs (extra.curves, training.json)
        tail += _curves_plot(results, "mpe", plot_dir, ctx.results_root)
    tail.append(Table(["model", "budget", "provenance (commit; dates; device)"], prov_rows, caption="Provenance",
                      links=prov_links))
    sections[-1].blocks += tail
    return sections


#: paper 002's ablation rows, best first in the paper (Bach10 Acc): sotbench model -> row label
ABLATIONS = {"ssmpe": "SS-MPE (L)", "ssmpe-energy-geometric": "SS-MPE (L_g)", "ssmpe-energy": "SS-MPE (L_e)",
             "ssmpe-energy-timbre": "SS-MPE (L_t)"}


def _skip_reasons(mpe: list[dict]) -> dict[str, str]:
    """Why a Table-1 dataset has no measured record: the runner's stored skip reason, else 'not run'."""
    reasons: dict[str, str] = {}
    for result in mpe:
        for ds, why in ((result.get("extra") or {}).get("skipped") or {}).items():
            reasons.setdefault(str(ds), str(why))
    return reasons


def table1_section(mpe: list[dict], rows_by_ds: dict[str, list[_MpeRow]]) -> Section:
    """Paper 002 Table 1 layout: Acc per model on every dataset of the paper, measured beside published.

    A dataset without a measured record shows why (absent from the data root, as the runner recorded it,
    or not run); published Acc is given in the same cell as ``pub X``.
    """
    reasons = _skip_reasons(mpe)
    datasets = list(published.MPE_DATASETS)
    pub = {entry["model"]: dict(zip(datasets, entry["scores"], strict=True))
           for entry in published.SSMPE_TABLE1.values() if entry["model"]}
    measured: dict[str, dict[str, _MpeRow]] = defaultdict(dict)
    for ds, rows in rows_by_ds.items():
        for row in rows:
            if row.units["tracks"] and not row.variant:
                measured[row.model][ds] = row
    models = sorted(set(measured) | set(pub), key=lambda m: (m not in measured, m))
    header = ["model"] + [f"{d} Acc [%]" for d in datasets]
    cells = []
    for model in models:
        line = [model]
        for ds in datasets:
            row = measured.get(model, {}).get(ds)
            ours = f"{_fmt(row.units['acc'].mean())} (n {len(row.units['tracks'])})" if row else "–"
            theirs = f"pub {_fmt(pub[model][ds][2])}" if model in pub else ""
            line.append(" / ".join(x for x in (ours, theirs) if x))
        cells.append(line)
    missing = [d for d in datasets if d not in rows_by_ds]
    notes = [f"`{d}`: no measured record ({reasons.get(d, 'not under the data root, or not run')})."
             for d in missing]
    blocks: list = [
        "Paper 002's Table 1 layout: measured Acc (mean over `n` tracks) / the paper's Acc (`pub`). "
        "Intervals and paired tests are in the per-dataset tables above. One sweep fills every column when "
        "the datasets are under the data root: `sotbench run -m task=mpe model=ssmpe,ssmpe-energy,"
        "ssmpe-energy-timbre,ssmpe-energy-geometric,basic-pitch,pesto,crepe-tiny` (see README, Data).",
        Table(header, cells, caption="Acc per dataset (measured / published)", latex=True)]
    if notes:
        blocks.append("Columns without measurements: " + " ".join(notes))
    blocks += _ablation_blocks(rows_by_ds.get("bach10", []))
    return Section("mpe: paper 002 Table 1 overview", blocks, level=3)


def _ablation_blocks(rows: list[_MpeRow]) -> list:
    """The ablation ranking on Bach10 beside the paper's, with paired track-level differences."""
    by_model = {r.model: r for r in rows if r.model in ABLATIONS and r.units["tracks"] and not r.variant}
    if len(by_model) < 2:
        return []
    paper = {m: dict(zip(published.MPE_DATASETS, published.SSMPE_TABLE1[label]["scores"], strict=True))
             ["bach10"][2] for m, label in ABLATIONS.items()}
    ranked = sorted(by_model, key=lambda m: -by_model[m].units["acc"].mean())
    paper_order = sorted(ABLATIONS, key=lambda m: -paper[m])
    text = ("Ablation ranking on Bach10 (Acc %): measured "
            + " > ".join(f"{ABLATIONS[m]} {_fmt(by_model[m].units['acc'].mean())}" for m in ranked)
            + "; paper " + " > ".join(f"{ABLATIONS[m]} {_fmt(paper[m])}" for m in paper_order)
            + (". Not measured yet: " + ", ".join(f"{ABLATIONS[m]} (`{m}`)" for m in ABLATIONS if m not in by_model)
               if len(by_model) < len(ABLATIONS) else "") + ".")
    cells = []
    for i, a in enumerate(ranked):
        for b in ranked[i + 1:]:
            ua, ub = by_model[a].units, by_model[b].units
            common = sorted(set(ua["tracks"]) & set(ub["tracks"]))
            xa = [ua["acc"][ua["tracks"].index(t)] for t in common]
            xb = [ub["acc"][ub["tracks"].index(t)] for t in common]
            res = stats.paired_bootstrap(xa, xb)
            cells.append([f"{ABLATIONS[a]} − {ABLATIONS[b]}", str(len(common)),
                          _fmt_ci(res.delta, sign=True) + (" *" if res.significant else ""),
                          _fmt_p(res.p_wilcoxon), _fmt(paper[a] - paper[b], sign=True)])
    seeds = {m: len({r.get("seed") for r in by_model[m].runs}) for m in by_model}
    caveat = ("Each measured variant is one training seed "
              f"({', '.join(f'{m}: {n}' for m, n in seeds.items())} seed(s)): the intervals cover track-to-track "
              "variation only. Training-seed noise is not measured yet, so a gap is called distinguishable from "
              "seed noise only where it is large and holds on every track; small gaps (a few points) are not a "
              "ranking.")
    return [text, Table(["pair", "tracks", "ΔAcc [95 % CI] (paired bootstrap)", "p (Wilcoxon)", "paper Δ"],
                        cells, caption="Ablations on Bach10: paired track-level differences"), caveat]


def _pick_reference(rows: list[_MpeRow], reference: str | None) -> tuple[_MpeRow | None, str]:
    scored = [r for r in rows if r.units["tracks"]]
    if not scored:
        return None, ""
    if reference:
        named = [r for r in scored if reference in (r.model, r.label)]
        if named:
            return max(named, key=lambda r: r.units["acc"].mean()), f"`{reference}` (chosen)"
    best = max(scored, key=lambda r: (r.units["acc"].mean(), r.label))
    note = "best measured Acc" + (f"; `{reference}` was not scored here" if reference else "")
    return best, note


def _mpe_dataset_section(ds: str, rows: list[_MpeRow], ctx: _Ctx, reference: str | None) -> Section:
    ref, why = _pick_reference(rows, reference)
    header = ["model", "source", "budget", "threshold", "n"] + [METRIC_LABELS[k] for k in ("p", "r", "acc")]
    header += ["ΔAcc vs ref", "p (Wilcoxon)", "s / audio s"]
    pub_by_model: dict[str, list[tuple[str, tuple]]] = defaultdict(list)
    for label, pub in published.SSMPE_TABLE1.items():
        scores = dict(zip(published.MPE_DATASETS, pub["scores"], strict=True)).get(ds)
        if scores is not None:
            pub_by_model[pub["model"] or label].append((label, scores))
    by_model: dict[str, list[_MpeRow]] = defaultdict(list)
    for row in rows:
        by_model[row.model].append(row)
    order = sorted(by_model, key=lambda m: -max((r.units["acc"].mean() if r.units["tracks"] else -1.0)
                                                 for r in by_model[m]))
    order += [m for m in pub_by_model if m not in by_model]
    cells, links, flags = [], [], []
    for model in order:
        for row in sorted(by_model.get(model, []), key=lambda r: -(r.units["acc"].mean() if r.units["tracks"]
                                                                     else -1.0)):
            cells.append(_mpe_measured_cells(ds, row, ref, ctx))
            links.append(ctx.link(row.run, ds))
            flags.append(False)
        for label, scores in pub_by_model.get(model, []):
            name = model if model in by_model else label
            source = f"published [2]: {label}" if model in by_model else "published [2]"
            cells.append([name, source, "paper", _published_threshold(label), "–"]
                         + [_fmt(v) for v in scores] + ["–", "–", "–"])
            links.append(None)
            flags.append(True)
            for k, v in zip(("p", "r", "acc"), scores, strict=True):
                ctx.add(task="mpe", dataset=ds, model=name, budget="paper", source="published", label=label,
                        citation=published.SSMPE_CITATION, metric=k, unit="%", direction="max", value=v,
                        threshold=float(_published_threshold(label)))
    blocks: list = []
    if ref is not None:
        blocks.append(f"Reference row: `{ref.label}` ({why}).")
    blocks.append(Table(header, cells, caption=f"mpe on {ds}: mean [95 % CI over tracks]", links=links,
                        published=flags, latex=True))
    return Section(f"mpe: {ds}", blocks, level=3)


def _mpe_measured_cells(ds: str, row: _MpeRow, ref: _MpeRow | None, ctx: _Ctx) -> list[str]:
    units, run = row.units, row.run
    metrics = run.get("metrics") or {}
    threshold = (run.get("extra") or {}).get("threshold")
    prov = _prov(row.runs)
    common = dict(task="mpe", dataset=ds, model=row.model, loss=run.get("loss"), variant=row.variant,
                  budget=row.budget, source="sotbench", label=row.label, threshold=threshold,
                  seeds=",".join(str(r["seed"]) for r in row.runs), result_path=ctx.record(run, ds), **prov)
    out = [row.label, "sotbench", row.budget, _fmt(threshold, 2), str(len(units["tracks"]))]
    for k in _MPE_KEYS:
        if units["tracks"]:
            iv = stats.bootstrap_ci(units[k])
        else:  # no per-track scores stored: the stored mean without an interval
            value = units["metrics"].get(k)
            iv = stats.Interval(float("nan") if value is None else value, float("nan"), float("nan"), 0, "none")
        if k != "f1":
            out.append(_fmt_ci(iv))
        ctx.add(metric=k, unit="%", direction="max", value=iv.mean, ci_low=iv.low, ci_high=iv.high,
                ci_method=iv.method, confidence=stats.CONFIDENCE, n=iv.n, n_kind="tracks", **common)
    if ref is None or not units["tracks"]:
        out += ["–", "–"]
    elif ref is row:
        out += ["reference", "–"]
    else:
        a = dict(zip(units["tracks"], units["acc"], strict=True))
        b = dict(zip(ref.units["tracks"], ref.units["acc"], strict=True))
        keys = sorted(set(a) & set(b))
        if len(keys) < 2:
            out += ["–", "–"]
        else:
            res = stats.paired_bootstrap([a[k] for k in keys], [b[k] for k in keys])
            out += [_fmt_ci(res.delta, sign=True) + (" *" if res.significant else ""), _fmt_p(res.p_wilcoxon)]
            _add_delta(ctx, "mpe", ds, row.label, ref.label, row.budget, "acc", res, "tracks", "paired bootstrap",
                       threshold=threshold, result_path=ctx.record(run, ds), **prov)
    rtf = units["rtf"] if units["rtf"] is not None else _metric_value(metrics, "rtf")
    out.append(_fmt(rtf, 3))
    if rtf is not None:
        ctx.add(metric="rtf", unit=_UNITS["rtf"], direction="min", value=rtf, **common)
    return out


def _mpe_plot(rows: list[_MpeRow], plot_dir: Path) -> list:
    plt = _pyplot()
    main_rows = ("Basic-Pitch", "CREPE (multi)", "PESTO (multi)", "SS-MPE (L)")
    pub_by_model = {published.SSMPE_TABLE1[k]["model"]: published.SSMPE_TABLE1[k]["scores"][0][2]
                    for k in main_rows}
    labels, ours, err, theirs = [], [], [], []
    for row in rows:
        if not row.units["tracks"]:
            continue
        iv = stats.bootstrap_ci(row.units["acc"])
        labels.append(row.label.replace(" [", "\n["))
        ours.append(iv.mean)
        err.append((iv.mean - iv.low, iv.high - iv.mean) if iv.has_interval else (0.0, 0.0))
        theirs.append(pub_by_model.get(row.model, np.nan))
    if not labels:
        return []
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(labels) + 2), 4.0))
    x = np.arange(len(labels))
    ax.bar(x - 0.2, ours, 0.4, yerr=np.asarray(err).T, capsize=3, label="sotbench (95 % CI over tracks)")
    ax.bar(x + 0.2, theirs, 0.4, label="published", color="#bbb")
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("Bach10 Acc [%]")
    ax.legend(fontsize=8)
    return [_save_figure(fig, plot_dir, "mpe-bach10-acc.png", "Bach10 accuracy per model")]


# ----------------------------------------------------------------------------- other tasks
def generic_sections(results: list[dict], plot_dir: Path | None, ctx: _Ctx, task: str) -> list[Section]:
    """Scalar metrics of any other task: mean [95 % t CI over seeds]; the task's own report blocks if any."""
    groups = _grouped(results, task)
    names = sorted({k for runs in groups.values() for r in runs for k, v in (r.get("metrics") or {}).items()
                    if _finite(v) and not isinstance(v, bool)})
    rows, links = [], []
    for (model, loss, variant, budget, _device), runs in groups.items():
        label = model + (f" ({loss})" if loss != "-" else "") + (f" [{variant}]" if variant else "")
        row = [label, budget, ",".join(str(r.get("seed")) for r in runs)]
        prov = _prov(runs)
        for name in names:
            values = [v for v in (_metric_value(r.get("metrics") or {}, name) for r in runs) if v is not None]
            iv, kind = stats.t_ci(values), "seeds"
            if len(values) == 1:  # one seed: the interval over its items, when the metric is their mean
                items = list(_per_example(runs[-1], name).values())
                if len(items) >= 2 and abs(float(np.mean(items)) - values[0]) <= 1e-6 * max(1.0, abs(values[0])):
                    iv, kind = stats.bootstrap_ci(items), "examples"
                    iv = stats.Interval(values[0], iv.low, iv.high, iv.n, iv.method)
            row.append((_fmt_ci(iv, 3) + (f" (n={iv.n})" if kind == "examples" else "")) if values else "–")
            if values:
                ctx.add(task=task, dataset=str(runs[-1].get("dataset") or ""), model=model, loss=loss,
                        variant=variant, budget=budget, source="sotbench", label=label, metric=name,
                        value=iv.mean, ci_low=iv.low, ci_high=iv.high, ci_method=iv.method,
                        confidence=stats.CONFIDENCE, n=iv.n, n_kind=kind,
                        seeds=",".join(str(r.get("seed")) for r in runs),
                        result_path=";".join(r["_path"] for r in runs), **prov)
        rows.append(row)
        links.append(ctx.link(runs[-1]))
    blocks: list = [f"Scalar metrics of task `{task}`: mean over seeds [95 % Student-t interval over seeds]; with one "
                    "seed, the 95 % bootstrap interval over its test examples (n=...) where the metric is their mean, "
                    "else `–`.",
                    Table(["model", "budget", "seeds"] + [n.replace("lsd_db", "lsd_db [dB²]") for n in names], rows,
                          caption=f"{task}: mean [95 % CI]", links=links, latex=True)]
    try:
        module = importlib.import_module(f"sotbench.report.{task.replace('-', '_')}")
    except ImportError:
        module = None
    hook = getattr(module, "report_blocks", None)
    if callable(hook):
        blocks += list(hook(results=[r for r in results if r["task"] == task], plot_dir=plot_dir) or [])
    if task == "synth-fit" and module is not None:
        blocks = _synth_fit_blocks(module, ctx, plot_dir, sorted({key[3] for key in groups})) + blocks
    if plot_dir is not None:
        blocks += _curves_plot(results, task, plot_dir, ctx.results_root)
    return [Section(f"{task}", blocks)]


def _synth_fit_blocks(module, ctx: _Ctx, plot_dir: Path | None, budgets: list[str]) -> list:
    """The synth-fit helpers' table (loss x framing, t interval over seeds) and convergence-vs-distance plot."""
    import warnings

    blocks: list = []
    try:
        metrics = getattr(module, "FIT_METRICS", {})
        for budget in budgets:
            rows = module.synth_fit_rows(ctx.results_root, budget)
            if rows:
                header = ["loss", "framing", "re-framed terms", "amplitudes", "budget", "seeds"] + [
                    label.replace("LSD [dB²]", "LSD [dB²] ↓") for label, _ in metrics.values()]
                cells = [[r["loss"], r["framing"], r.get("framed_terms", "?"), r["amplitudes"], r["budget"],
                          ",".join(map(str, r["seeds"]))]
                         + [_fmt_ci(stats.Interval(r[k]["mean"], np.nan if r[k]["low"] is None else r[k]["low"],
                                                   np.nan if r[k]["high"] is None else r[k]["high"], r[k]["n"],
                                                   "t")) for k in metrics]
                         for r in rows]
                blocks.append("Framing: `pad-end` sets `pad_end=True` on every STFT term of the loss (the loss "
                              "as registered, the authors' framing), `full` sets `pad_end=False` (only frames that "
                              "lie inside the signal). \"re-framed terms\" lists the terms that have that setting; "
                              "a term without it (the SOT term of the `sot-loss` package in the `sot-loss-*` "
                              "losses) keeps its own, pad-end, framing in both rows.")
                blocks.append(Table(header, cells, caption=f"synth-fit by loss and framing ({budget}): mean "
                                    "[95 % CI over initialisation seeds]", latex=True))
            if plot_dir is not None:
                plot_dir.mkdir(parents=True, exist_ok=True)
                name = f"synth-fit-convergence-{budget}.png"
                if module.plot_convergence_vs_distance(ctx.results_root, plot_dir / name, budget=budget):
                    blocks.append(Image(f"plots/{name}", f"synth-fit convergence vs initial distance ({budget})"))
    except Exception as err:  # the helpers are another module's: report, do not fail the leaderboard
        warnings.warn(f"synth-fit report helpers failed ({type(err).__name__}: {err}); generic table only",
                      stacklevel=2)
    return blocks


def _load_curves(run: dict, results_root: Path) -> dict[str, tuple[list, list]]:
    """Training curves of a run: ``extra.curves`` and a ``training.json`` beside its result (step, value)."""
    import json

    out: dict[str, tuple[list, list]] = {}
    sources = [(run.get("extra") or {}).get("curves") or {}]
    path = results_root / Path(run["_path"]).parent / "training.json"
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            sources.append(data.get("curves", data) if isinstance(data, dict) else {})
        except (OSError, ValueError):
            pass
    for curves in sources:
        steps = curves.get("step") or curves.get("steps")
        for name, values in curves.items():
            if name in ("step", "steps", "val_step") or not isinstance(values, list):
                continue
            xs = curves.get("val_step") if name.startswith("val_") and curves.get("val_step") else steps
            if xs and len(xs) == len(values) and all(v is None or _finite(v) for v in values):
                out[name] = (xs, values)
    return out


def _curves_plot(results: list[dict], task: str, plot_dir: Path, root: Path) -> list:
    runs = [r for r in results if r["task"] == task]
    curves = [(r, _load_curves(r, root)) for r in runs]
    names = sorted({n for _, c in curves for n in c})[:4]
    if not names:
        return []
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for run, c in curves:
            if name in c:
                xs, ys = c[name]
                ax.plot(xs, [np.nan if y is None else y for y in ys], alpha=0.75,
                        label=f"{run['model']} {run.get('loss') or ''} {_variant(run)} s{run.get('seed')}".strip())
        ax.set_xlabel("step")
        ax.set_title(name.replace("lsd_db", "lsd [dB²]"), fontsize=9)
    axes[0][0].legend(fontsize=6)
    safe = task.replace("/", "-")
    return [_save_figure(fig, plot_dir, f"{safe}-curves.png", f"{task} training curves")]


def training_curves_section(results_root: Path, plot_dir: Path | None, out_dir: Path) -> list[Section]:
    """Training curves stored as ``curves.json`` (format ``sotbench-curves/1``) anywhere under the results root.

    The format: ``{"format": "sotbench-curves/1", "x": "step", "series": {name: {"x": [...], "y": [...]}},
    "meta": {...}}``.  Series whose name ends in ``total`` are plotted (else the first two), one panel per
    series name, one line per file.
    """
    import json

    runs = []
    for path in sorted(Path(results_root).glob("**/curves.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("format") != "sotbench-curves/1" or \
                not isinstance(data.get("series"), dict):
            continue
        runs.append((path, data))
    if not runs:
        return []
    names = sorted({n for _, d in runs for n in d["series"]})
    panels = [n for n in names if n.endswith("total")][:4] or names[:2]
    rows, links = [], []
    for path, data in runs:
        meta = data.get("meta") or {}
        rows.append([_relative(path, results_root), str(meta.get("model", "?")), str(meta.get("objective", "–")),
                     str(meta.get("budget", "–")), str(meta.get("seed", "–")), str(meta.get("best_step", "–"))])
        links.append(os.path.relpath(Path(path).resolve(), Path(out_dir).resolve()).replace(os.sep, "/"))
    blocks: list = ["Training curves stored beside the runs (`curves.json`); x axis: "
                    f"{runs[0][1].get('x', 'step')}.",
                    Table(["file", "model", "objective", "budget", "seed", "best step"], rows, links=links)]
    if plot_dir is not None and panels:
        plt = _pyplot()
        fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.6), squeeze=False)
        for ax, name in zip(axes[0], panels, strict=True):
            for path, data in runs:
                series = data["series"].get(name) or {}
                xs, ys = series.get("x") or [], series.get("y") or []
                if xs and len(xs) == len(ys):
                    meta = data.get("meta") or {}
                    ax.plot(xs, [np.nan if y is None else y for y in ys], alpha=0.8,
                            label=f"{meta.get('model', path.parent.name)} {meta.get('objective', '')} "
                                  f"s{meta.get('seed', '')}".strip())
            ax.set_xlabel(runs[0][1].get("x", "step"))
            ax.set_title(name, fontsize=9)
        axes[0][0].legend(fontsize=6)
        blocks.append(_save_figure(fig, plot_dir, "training-curves.png", "training curves"))
    return [Section("Training curves", blocks)]


# ----------------------------------------------------------------------------- entry points
def build_leaderboard(results_root: Path, out_dir: Path | None = None, *, plots: bool = True,
                      reference: str | None = None):
    """Sections and the tidy leaderboard table built from the result files under ``results_root``.

    Returns
    -------
    sections : list of Section
    frame : pandas.DataFrame
        One row per model x dataset x metric (columns :data:`CSV_COLUMNS`).

    Raises
    ------
    ValueError
        ``results_root`` does not exist or holds no completed result.
    """
    import pandas as pd

    results_root = Path(results_root)
    out_dir = Path(out_dir) if out_dir is not None else results_root
    if not results_root.is_dir():
        raise ValueError(f"results folder {results_root} does not exist; run `sotbench run ...` first "
                         "or pass --results <dir>")
    problems: list = []
    results = collect(results_root, problems)
    if not results:
        raise ValueError(f"no completed result.json under {results_root}; nothing to report")
    ctx = _Ctx(results_root.resolve(), out_dir.resolve())
    plot_dir = out_dir / "plots" if plots else None
    sections = synth_ae_sections(results, plot_dir, ctx) + mpe_sections(results, plot_dir, ctx, reference=reference)
    for task in sorted({r["task"] for r in results} - {"synth-ae", "mpe"}):
        sections += generic_sections(results, plot_dir, ctx, task)
    sections += training_curves_section(results_root, plot_dir, out_dir)
    intro = Section("About", [
        f"Rendered by `sotbench report` from {len(results)} completed result files; every number not marked "
        "published was measured by sotbench runs whose commit, date, budget and device are listed under "
        "each table, and each measured row links to its `result.json`. Exports: `leaderboard.csv` (one row "
        "per model x dataset x metric with interval bounds and provenance) and `leaderboard.tex` (booktabs).",
        stats.METHOD_NOTE], level=2)
    if problems:
        intro.blocks.append(Details(f"{len(problems)} file(s) under the results folder are not sotbench results "
                                    "and were skipped", [f"`{_relative(Path(p), results_root)}`: {why}"
                                                         for p, why in problems]))
    frame = _typed(pd.DataFrame(ctx.records, columns=CSV_COLUMNS))
    return [intro, *sections], frame


_FLOAT_COLUMNS = ("value", "ci_low", "ci_high", "confidence", "published_sd", "delta", "delta_low", "delta_high",
                  "p_wilcoxon", "threshold")
_BOOL_COLUMNS = ("significant", "dirty")


def _typed(frame):
    """Column dtypes of the leaderboard table: float64, Int64 (``n``), boolean, and string (missing = NA)."""
    import pandas as pd

    out = frame.reindex(columns=CSV_COLUMNS).copy()
    for col in CSV_COLUMNS:
        if col in _FLOAT_COLUMNS:
            out[col] = pd.to_numeric(out[col]).astype("float64")
        elif col == "n":
            out[col] = pd.to_numeric(out[col]).astype("Int64")
        elif col in _BOOL_COLUMNS:
            out[col] = out[col].map(lambda v: pd.NA if v is None or v is pd.NA or v == "" or
                                    (isinstance(v, float) and math.isnan(v))
                                    else (v if isinstance(v, (bool, np.bool_)) else str(v) == "True"))
            out[col] = out[col].astype("boolean")
        else:
            out[col] = out[col].map(lambda v: pd.NA if v is None or v is pd.NA or v == "" or
                                    (isinstance(v, float) and math.isnan(v)) else str(v)).astype("string")
    return out


def read_leaderboard_csv(path: Path):
    """Read ``leaderboard.csv`` back into the frame :func:`build_leaderboard` returns (exact round trip).

    Floats are written with Python's shortest round-trip repr and read back with
    pandas' default (exact) parser; empty text cells read as missing (NA).
    """
    import pandas as pd

    frame = pd.read_csv(path, dtype=object, keep_default_na=False, na_values=[""])
    return _typed(frame)


def render_reports(results_root: Path, out_dir: Path, *, plots: bool = True,
                   reference: str | None = None) -> list[Path]:
    """Write ``leaderboard.{md,html,csv,tex}`` (and plots) from result files.

    Parameters
    ----------
    reference : str, optional
        Model name of the MPE reference row (default: the best row of each dataset).

    Raises
    ------
    ValueError
        ``results_root`` does not exist or holds no completed result.
    """
    results_root, out_dir = Path(results_root), Path(out_dir)
    sections, frame = build_leaderboard(results_root, out_dir, plots=plots, reference=reference)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("leaderboard.md", to_markdown("sotbench leaderboard", sections)),
                       ("leaderboard.html", to_html("sotbench leaderboard", sections)),
                       ("leaderboard.tex", to_latex("sotbench leaderboard", sections)),
                       ("leaderboard.csv", frame.to_csv(index=False, lineterminator="\n"))):
        atomic_write_text(out_dir / name, text)
        written.append(out_dir / name)
    return written
