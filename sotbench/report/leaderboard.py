"""Leaderboards rendered from ``result.json`` files alone.

``render_reports(results_root, out_dir)`` writes ``leaderboard.md``,
``leaderboard.html`` and ``plots/*.png``.  Rows are aggregated over seeds per
(model, loss, budget, device); the papers' published rows stand beside ours,
marked "published" with their citation.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from sotbench.report import published
from sotbench.report.document import Image, Section, Table, to_html, to_markdown
from sotbench.results import atomic_write_text, iter_results

__all__ = ["render_reports", "collect", "synth_ae_sections", "mpe_sections"]

_SOT_LABELS = {"lsd_db": "LSD [dB] ↓", "rpa": "RPA [%] ↑", "rca": "RCA [%] ↑", "od": "OD [oct]"}
_MPE_EXTRA_DATASETS = ("chorales-synth",)


def collect(results_root: Path) -> list[dict]:
    """Completed results under ``results_root`` (each with its ``_path`` relative to the root)."""
    rows = []
    for path, result in iter_results(results_root):
        result["_path"] = str(path.relative_to(results_root))
        rows.append(result)
    return rows


def _fmt(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def _group_key(result: dict) -> tuple:
    extra = result.get("extra") or {}
    return (result["model"], result.get("loss") or "-", extra.get("variant") or "", result["budget"],
            (result.get("device") or {}).get("type", "?"))


def _grouped(results: list[dict], task: str) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for result in results:
        if result["task"] == task:
            groups[_group_key(result)].append(result)
    for runs in groups.values():
        runs.sort(key=lambda r: r["seed"])
    return dict(sorted(groups.items()))


def _stats(values: list[float]) -> tuple[float, float, float]:
    """Mean, sample standard deviation (ddof=1; 0 for one seed) and median."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    if arr.size == 0:
        return (float("nan"),) * 3
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return float(arr.mean()), std, float(np.median(arr))


def _provenance(runs: list[dict]) -> str:
    commits = sorted({(r.get("git") or {}).get("commit") or "unknown" for r in runs})
    dirty = any((r.get("git") or {}).get("dirty") for r in runs)
    dates = sorted(r.get("started", "")[:10] for r in runs)
    short = ",".join(c[:8] for c in commits) + (" (dirty)" if dirty else "")
    device = sorted({(r.get("device") or {}).get("name", "?") for r in runs})
    return f"{short}; {dates[0]}..{dates[-1]}; {'; '.join(device)}"


# ----------------------------------------------------------------------------- synth-ae
def synth_ae_sections(results: list[dict], plot_dir: Path | None) -> list[Section]:
    """Table 1 of paper 000 with our rows (mean (std) and median over seeds) beside the published ones."""
    groups = _grouped(results, "synth-ae")
    if not groups:
        return []
    header = ["loss", "source", "budget", "steps x batch", "device", "seeds"]
    header += [f"{_SOT_LABELS[m]} mean (std)" for m in published.SOT_METRICS]
    header += [f"{_SOT_LABELS[m].split(' ')[0]} median" for m in published.SOT_METRICS]
    rows, provenance_rows = [], []
    ours_losses = []
    for (model, loss, variant, budget, device), runs in groups.items():
        label = loss if model == "harmonic-ae" else f"{loss} ({model})"
        stats = [_stats([(r.get("metrics") or {}).get(m) for r in runs]) for m in published.SOT_METRICS]
        rows.append([label + (f" [{variant}]" if variant else ""), "sotbench", budget, _train_size(runs[0]), device,
                     ",".join(str(r["seed"]) for r in runs)]
                    + [f"{_fmt(mean)} ({_fmt(std)})" for mean, std, _ in stats]
                    + [_fmt(med) for _, _, med in stats])
        provenance_rows.append([label, budget, str(len(runs)), _provenance(runs)])
        ours_losses.append(loss)
    for loss, pub in published.SOT_TABLE1.items():
        rows.append([loss, "published [1]", "paper", "25000 x 64", "n/a", "5"]
                    + [f"{_fmt(m)} ({_fmt(s)})" for m, s in zip(pub["mean"], pub["std"])]
                    + [_fmt(m) for m in pub["median"]])
    order = list(published.SOT_TABLE1)
    rows.sort(key=lambda r: (order.index(r[0].split(" ")[0]) if r[0].split(" ")[0] in order else len(order),
                             r[1] != "sotbench", r[2]))
    blocks: list = [
        "Harmonic autoencoder on the synthetic harmonic set (paper 000). Mean (sample std) and median over "
        "seeds of the test metrics of the checkpoint with the best validation LSD. Rows marked "
        "\"published [1]\" are the paper's numbers, not measurements of sotbench. A budget other than "
        "`paper` is a reduced budget: compare shapes of the results, not the decimals.",
        Table(header, rows),
        f"[1] {published.SOT_CITATION}.",
    ]
    if plot_dir is not None:
        blocks += _synth_ae_plots(groups, plot_dir)
    blocks.append(Table(["loss", "budget", "seeds", "provenance (commit; dates; device)"], provenance_rows,
                        caption="Provenance"))
    return [Section("synth-ae: harmonic autoencoder (SOT vs MSS)", blocks)]


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
    fig.savefig(plot_dir / name, dpi=110)
    plt.close(fig)
    return Image(f"plots/{name}", alt)


def _synth_ae_plots(groups: dict, plot_dir: Path) -> list:
    plt = _pyplot()
    blocks = []
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for (model, loss, variant, budget, device), runs in groups.items():
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

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, ((model, loss, variant, budget, device), runs) in enumerate(groups.items()):
        for j, run in enumerate(runs):
            curves = (run.get("extra") or {}).get("curves") or {}
            steps, values = curves.get("val_step") or curves.get("step"), curves.get("val_lsd_db")
            if steps and values and len(steps) == len(values):
                ax.plot(steps, values, color=colors[i % len(colors)], alpha=0.7,
                        label=f"{loss} ({budget})" if j == 0 else None)
    ax.set_xlabel("training step")
    ax.set_ylabel("validation LSD [dB]")
    ax.set_title("Training curves (one line per seed)")
    ax.legend(fontsize=8)
    blocks.append(_save_figure(fig, plot_dir, "synth-ae-curves.png", "validation LSD during training"))
    return blocks


# ----------------------------------------------------------------------------- mpe
def _mpe_datasets(groups: dict) -> list[str]:
    seen = set()
    for runs in groups.values():
        for run in runs:
            seen |= {k.split("/")[0] for k in (run.get("metrics") or {}) if "/" in k}
    ordered = [d for d in (*published.MPE_DATASETS, *_MPE_EXTRA_DATASETS) if d in seen]
    return ordered + sorted(seen - set(ordered))


def mpe_sections(results: list[dict], plot_dir: Path | None) -> list[Section]:
    """Table 1 of paper 002 (datasets as P/R/Acc column groups) with our rows and the published ones."""
    groups = _grouped(results, "mpe")
    if not groups:
        return []
    datasets = _mpe_datasets(groups)
    header = ["model", "source", "budget", "threshold"]
    for name in datasets:
        header += [f"{name} P", f"{name} R", f"{name} Acc"]
    header += ["s / audio s"]
    rows, provenance_rows = [], []
    for (model, slot, variant, budget, device), runs in groups.items():
        run = runs[-1]  # evaluation-only runs: one seed; the latest seed if several
        metrics = run.get("metrics") or {}
        threshold = (run.get("extra") or {}).get("threshold")
        label = model + (f" ({slot})" if slot != "-" else "") + (f" [{variant}]" if variant else "")
        row = [label, "sotbench", budget, _fmt(threshold, 2)]
        for name in datasets:
            row += [_fmt(metrics.get(f"{name}/{k}")) for k in ("p", "r", "acc")]
        row.append(_fmt(metrics.get("rtf"), 3))
        rows.append(row)
        provenance_rows.append([row[0], budget, _provenance(runs)])
    for label, pub in published.SSMPE_TABLE1.items():
        row = [label, "published [2]", "paper", "0.5" if "MPE" in label or "Timbre" in label else "0.3"]
        by_name = dict(zip(published.MPE_DATASETS, pub["scores"]))
        for name in datasets:
            row += [_fmt(v) for v in by_name.get(name, (None, None, None))]
        row.append("–")
        rows.append(row)
    blocks: list = [
        "Multi-pitch estimation (paper 002 protocol): salience -> local maxima along frequency -> "
        "threshold -> mir_eval.multipitch per track, averaged over tracks; P/R/Acc in percent. "
        "`chorales-synth` is sotbench's embedded rendered set (no published numbers). Rows marked "
        "\"published [2]\" are the paper's numbers. `s / audio s` is the measured wall-clock compute time per "
        "second of audio on the run's device (an upper bound where the machine was shared; controlled timings "
        "are in performance.md).",
        Table(header, rows),
        f"[2] {published.SSMPE_CITATION}.",
    ]
    notes = sorted({n for runs in groups.values() for r in runs for n in ((r.get("extra") or {}).get("notes") or [])})
    present = {model for (model, *_rest) in groups}
    blocks += notes + [text for model, text in published.MODEL_NOTES.items() if model in present]
    if plot_dir is not None and "bach10" in datasets:
        blocks += _mpe_plot(groups, plot_dir)
    blocks.append(Table(["model", "budget", "provenance (commit; dates; device)"], provenance_rows,
                        caption="Provenance"))
    return [Section("mpe: multi-pitch estimation", blocks)]


def _mpe_plot(groups: dict, plot_dir: Path) -> list:
    plt = _pyplot()
    labels, ours, theirs = [], [], []
    main_rows = ("Basic-Pitch", "CREPE (multi)", "PESTO (multi)", "SS-MPE (L)")
    pub_by_model = {published.SSMPE_TABLE1[k]["model"]: published.SSMPE_TABLE1[k]["scores"][0][2]
                    for k in main_rows}
    for (model, _, variant, budget, device), runs in groups.items():
        acc = (runs[-1].get("metrics") or {}).get("bach10/acc")
        if acc is None:
            continue
        labels.append(model + (f"\n{variant}" if variant else ""))
        ours.append(acc)
        theirs.append(pub_by_model.get(model, np.nan))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(labels) + 2), 4.0))
    x = np.arange(len(labels))
    ax.bar(x - 0.2, ours, 0.4, label="sotbench")
    ax.bar(x + 0.2, theirs, 0.4, label="published", color="#bbb")
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("Bach10 Acc [%]")
    ax.legend(fontsize=8)
    return [_save_figure(fig, plot_dir, "mpe-bach10-acc.png", "Bach10 accuracy per model")]


def render_reports(results_root: Path, out_dir: Path, *, plots: bool = True) -> list[Path]:
    """Write ``leaderboard.md``, ``leaderboard.html`` (and plots) from result files.

    Raises
    ------
    ValueError
        ``results_root`` does not exist or holds no completed result.
    """
    results_root, out_dir = Path(results_root), Path(out_dir)
    if not results_root.is_dir():
        raise ValueError(f"results folder {results_root} does not exist; run `sotbench run ...` first "
                         "or pass --results <dir>")
    results = collect(results_root)
    if not results:
        raise ValueError(f"no completed result.json under {results_root}; nothing to report")
    plot_dir = out_dir / "plots" if plots else None
    sections = synth_ae_sections(results, plot_dir) + mpe_sections(results, plot_dir)
    intro = Section("About", [
        f"Rendered by `sotbench report` from {len(results)} completed result files; every number not marked "
        "published was measured by sotbench runs whose commit, date, budget and device are listed under "
        "each table."], level=2)
    sections = [intro, *sections]
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("leaderboard.md", to_markdown("sotbench leaderboard", sections)),
                       ("leaderboard.html", to_html("sotbench leaderboard", sections))):
        atomic_write_text(out_dir / name, text)
        written.append(out_dir / name)
    return written
