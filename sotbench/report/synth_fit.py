"""synth-fit section helpers for the leaderboard (and synth-ae curve plots): read result files only.

The leaderboard calls these with the results root; nothing here imports a
task, a model or a loss.  Inputs are the ``result.json`` records written by
``sotbench run task=synth-fit ...`` (one per loss x seed x framing, in
``<root>/synth-fit/<model>/<loss>/<budget>/seed<s>/<amplitudes>-<framing>/``)
and, for :func:`plot_synth_ae_curves`, the synth-ae records (``extra.curves``
and ``extra.silence_lsd_db``).

* :func:`synth_fit_rows` -- one row per (loss, framing, amplitudes, budget):
  mean and Student-t 95 % interval over initialisation seeds of RPA, RCA, LSD
  and the percent converged (:func:`sotbench.report.stats.t_ci`);
* :func:`convergence_by_distance` -- pooled over seeds: examples and
  converged examples per initial-distance bin (octaves);
* :func:`plot_convergence_vs_distance` -- the figure the issue asks for:
  convergence rate vs ``|log2(f0_init / f0_true)|``, one line per loss, one
  panel per framing;
* :func:`synth_fit_markdown` -- the table as Markdown;
* :func:`plot_synth_ae_curves` -- validation LSD and RPA over steps for the
  synth-ae runs of one budget, with the silence level as a reference line;
* :func:`silence_reference` -- the silence level itself (the leaderboard's
  reference row for synth-ae).
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from sotbench.report.stats import t_ci
from sotbench.results import iter_results

__all__ = ["synth_fit_records", "synth_fit_rows", "convergence_by_distance", "plot_convergence_vs_distance",
           "synth_fit_markdown", "plot_synth_ae_curves", "plot_synth_ae_curves_of", "silence_reference",
           "FIT_METRICS"]

#: metric key -> (label, higher is better)
FIT_METRICS = {"rpa": ("RPA [%]", True), "rca": ("RCA [%]", True), "converged": ("conv. <50c [%]", True),
               "lsd_db": ("LSD [dB²]", False)}
FRAMING_ORDER = ("pad-end", "full")


def _framing(record: dict) -> str:
    return str(((record.get("extra") or {}).get("framing") or {}).get("name")
               or (record.get("config") or {}).get("task", {}).get("framing") or "?")


def _amplitudes(record: dict) -> str:
    return str((record.get("extra") or {}).get("amplitudes") or "known")


def synth_fit_records(root: str | Path, budget: str | None = None) -> list[dict]:
    """Completed synth-fit records under ``root`` (optionally of one budget)."""
    out = []
    for _path, record in iter_results(Path(root)):
        if record.get("task") != "synth-fit":
            continue
        if budget is not None and record.get("budget") != budget:
            continue
        out.append(record)
    return out


def _groups(records: list[dict]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        groups[(str(r.get("loss")), _framing(r), _amplitudes(r), str(r.get("budget")))].append(r)
    return groups


def synth_fit_rows(root: str | Path, budget: str | None = None) -> list[dict[str, Any]]:
    """One row per (loss, framing, amplitudes, budget), aggregated over seeds.

    Returns
    -------
    list of dict
        ``loss, framing, amplitudes, budget, seeds`` (sorted list),
        ``framed_terms`` (the loss terms the framing set ``pad_end`` on, e.g.
        ``"SOT+MSS"``; a term without that setting keeps its own framing) and for
        each key of :data:`FIT_METRICS` an entry ``{"mean", "low", "high",
        "n"}`` (95 % Student-t interval over seeds; bounds None with one
        seed).  Rows sorted by framing, then by mean RPA (best first).
    """
    rows = []
    for (loss, framing, amps, bud), recs in _groups(synth_fit_records(root, budget)).items():
        row: dict[str, Any] = {"loss": loss, "framing": framing, "amplitudes": amps, "budget": bud,
                               "seeds": sorted(int(r.get("seed", -1)) for r in recs),
                               "framed_terms": _framed_terms(recs)}
        for key in FIT_METRICS:
            values = [float(r["metrics"][key]) for r in recs if key in (r.get("metrics") or {})]
            ci = t_ci(values)
            row[key] = {"mean": ci.mean, "low": ci.low if ci.has_interval else None,
                        "high": ci.high if ci.has_interval else None, "n": ci.n}
        rows.append(row)
    order = {f: i for i, f in enumerate(FRAMING_ORDER)}
    rows.sort(key=lambda r: (r["budget"], r["amplitudes"], order.get(r["framing"], 9),
                             -(r["rpa"]["mean"] if math.isfinite(r["rpa"]["mean"]) else -1)))
    return rows


def _framed_terms(records: list[dict]) -> str:
    """Short names of the loss terms a framing was applied to (``extra.framing.applied_to``), over records."""
    names: list[str] = []
    for r in records:
        for entry in ((r.get("extra") or {}).get("framing") or {}).get("applied_to") or []:
            name = str(entry).rsplit(":", 1)[-1].removesuffix("Loss") or str(entry)
            if name not in names:
                names.append(name)
    return "+".join(names) if names else "?"


def convergence_by_distance(root: str | Path, budget: str | None = None) -> dict[tuple, list[dict]]:
    """Per (loss, framing, amplitudes, budget): bins pooled over seeds.

    Returns
    -------
    dict
        key -> list of ``{"lo", "hi", "n", "n_converged", "rate"}`` (rate in
        %, None for an empty bin), from each record's
        ``extra.convergence_vs_distance`` (all records of a key share the bins).
    """
    out = {}
    for key, recs in _groups(synth_fit_records(root, budget)).items():
        pooled: dict[tuple, list[int]] = {}
        for r in recs:
            for b in (r.get("extra") or {}).get("convergence_vs_distance") or []:
                acc = pooled.setdefault((float(b["lo"]), float(b["hi"])), [0, 0])
                acc[0] += int(b["n"])
                acc[1] += int(b["n_converged"])
        out[key] = [{"lo": lo, "hi": hi, "n": n, "n_converged": c, "rate": (100.0 * c / n) if n else None}
                    for (lo, hi), (n, c) in sorted(pooled.items())]
    return out


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_convergence_vs_distance(root: str | Path, path: str | Path, *, budget: str | None = "cpu",
                                 amplitudes: str = "known") -> Path | None:
    """Convergence rate vs initial distance, one line per loss, one panel per framing.

    Parameters
    ----------
    root : path
        Results root.
    path : path
        Output image (PNG).
    budget : str or None
        Only records of this budget (None = all).
    amplitudes : {"known", "learned"}
        Which amplitude setting to draw.

    Returns
    -------
    Path or None
        ``path``, or None when there is no record to draw.
    """
    table = {k: v for k, v in convergence_by_distance(root, budget).items() if k[2] == amplitudes}
    if not table:
        return None
    plt = _pyplot()
    framings = [f for f in FRAMING_ORDER if any(k[1] == f for k in table)] or sorted({k[1] for k in table})
    fig, axes = plt.subplots(1, len(framings), figsize=(5.2 * len(framings), 3.8), sharey=True, squeeze=False)
    losses = sorted({k[0] for k in table})
    cmap = plt.get_cmap("tab10")
    for ax, framing in zip(axes[0], framings, strict=True):
        for i, loss in enumerate(losses):
            bins = next((v for k, v in table.items() if k[0] == loss and k[1] == framing), None)
            if not bins:
                continue
            xs = [0.5 * (b["lo"] + b["hi"]) for b in bins if b["rate"] is not None]
            ys = [b["rate"] for b in bins if b["rate"] is not None]
            style = "-" if loss.startswith("sot") else "--"
            ax.plot(xs, ys, style, marker="o", ms=3, color=cmap(i % 10), label=loss)
        ax.set_title(f"framing: {framing}")
        ax.set_xlabel("initial distance |log2(f0_init / f0_true)| [octaves]")
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
        if ax.get_lines():
            ax.legend(fontsize=7, loc="upper right")
    axes[0][0].set_ylabel("converged within 50 cents [%]")
    fig.suptitle(f"synth-fit: gradient-descent f0 estimation ({amplitudes} amplitudes"
                 + (f", budget {budget}" if budget else "") + "; pooled over seeds)", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def _fmt(cell: dict, digits: int = 1) -> str:
    if cell is None or not math.isfinite(cell["mean"]):
        return "–"
    text = f"{cell['mean']:.{digits}f}"
    if cell.get("low") is not None:
        text += f" [{cell['low']:.{digits}f}, {cell['high']:.{digits}f}]"
    return text


def synth_fit_markdown(root: str | Path, budget: str | None = "cpu") -> str:
    """The synth-fit table as Markdown (mean [95 % t-interval over seeds]); empty string when no record."""
    rows = synth_fit_rows(root, budget)
    if not rows:
        return ""
    head = ["loss", "framing", "amplitudes", "seeds"] + [label for label, _ in FIT_METRICS.values()]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["loss"], r["framing"], r["amplitudes"], str(len(r["seeds"]))]
        cells += [_fmt(r[k]) for k in FIT_METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_synth_ae_curves(root: str | Path, path: str | Path, *, budget: str = "cpu-long",
                         include_running: bool = False) -> Path | None:
    """Validation LSD and RPA over training steps of the synth-ae runs of ``budget``.

    One line per (loss, seed); the LSD panel draws the silence level (the
    LSD of an all-zero output on the validation split, ``extra.silence_lsd_db``)
    as a dashed reference line.

    Parameters
    ----------
    include_running : bool
        Also draw records that are not completed (their curves so far), when
        they carry curves.

    Returns
    -------
    Path or None
        ``path``, or None without a record of that budget.
    """
    recs = [r for _p, r in iter_results(Path(root), status=None if include_running else "completed")
            if r.get("task") == "synth-ae" and r.get("budget") == budget]
    return plot_synth_ae_curves_of(recs, path, budget=budget)


def plot_synth_ae_curves_of(records: list[dict], path: str | Path, *, budget: str) -> Path | None:
    """:func:`plot_synth_ae_curves` of given synth-ae records (those without curves are left out)."""
    recs = [r for r in records if ((r.get("extra") or {}).get("curves") or {}).get("step")]
    if not recs:
        return None
    plt = _pyplot()
    fig, (ax_lsd, ax_rpa) = plt.subplots(1, 2, figsize=(10, 3.8))
    silence = []
    for r in sorted(recs, key=lambda r: (str(r.get("loss")), int(r.get("seed", 0)))):
        c = r["extra"]["curves"]
        label = f"{r.get('loss')} seed {r.get('seed')}"
        for ax, key in ((ax_lsd, "val_lsd_db"), (ax_rpa, "val_rpa")):
            if len(c.get(key) or []) == len(c["step"]):  # a curve missing from a record is left out
                ax.plot(c["step"], c[key], label=label)
        s = (r["extra"].get("silence_lsd_db") or {}).get("val")
        if s is not None:
            silence.append(float(s))
    if silence:
        ax_lsd.axhline(sum(silence) / len(silence), color="grey", ls="--", lw=1,
                       label="silent output (val)")
    ax_lsd.set_ylabel("validation LSD [dB²]")
    ax_rpa.set_ylabel("validation RPA [%]")
    for ax in (ax_lsd, ax_rpa):
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"synth-ae validation curves, budget {budget}", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def silence_reference(root: str | Path) -> dict[str, float] | None:
    """LSD of an all-zero output on the synth-ae splits, from the synth-ae records.

    Returns
    -------
    dict or None
        ``{"test": dB^2, "val": dB^2, "n_records": int}`` (the records'
        ``extra.silence_lsd_db``, which must agree: they are computed from the
        same generated data), or None when no record carries it.

    Raises
    ------
    ValueError
        Records that disagree by more than 1e-3 dB^2 (different data sets
        mixed in one results root).
    """
    values: dict[str, list[float]] = {"test": [], "val": []}
    for _p, r in iter_results(Path(root)):
        ref = (r.get("extra") or {}).get("silence_lsd_db") if r.get("task") == "synth-ae" else None
        if not ref:
            continue
        for split in values:
            if ref.get(split) is not None:
                values[split].append(float(ref[split]))
    if not values["test"]:
        return None
    for split, vs in values.items():
        if vs and max(vs) - min(vs) > 1e-3:
            raise ValueError(f"synth-ae records disagree on the silence LSD of the {split} split "
                             f"({min(vs):.4f} .. {max(vs):.4f} dB^2): their data sets differ")
    return {"test": values["test"][0], "val": values["val"][0] if values["val"] else float("nan"),
            "n_records": len(values["test"])}
