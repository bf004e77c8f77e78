"""Performance report (``reports/performance.md``) rendered from asv result files.

The asv suite in ``benchmarks/`` writes one JSON file per (machine, commit,
environment) under ``.asv/results/<machine>/`` plus ``.asv/results/benchmarks.json``
(units, types and parameter names).  :func:`render_performance` reads them
(and nothing else) and writes:

* ``performance.md``: the machine, the targets of the performance issue as
  ratios measured **in one run** (one result file), and every benchmark with
  a table and a figure;
* ``plots/performance/*.png``: one figure per benchmark;
* ``plots/performance-sot-scaling.png``: W_p time and memory against
  frames x bins;
* ``plots/performance-audio-scaling.png``: CQT, HCQT and MPE inference time
  against audio length.

Targets
-------
Declared once, in :data:`RATIO_TARGETS` (W_p and SOT-loss speed ratios, each
between two parameter combinations of one benchmark, i.e. measured side by
side in one run) plus the Bach10 inference time.  ``tests/perf/test_performance_targets.py``
checks that every declared benchmark, method and parameter value exists in
``benchmarks/``: renaming a benchmark fails that test instead of silently
emptying the report.

* SOT-W2 forward+backward at 576 x 1025 at least 50x faster than POT's
  ``ot.wasserstein_1d`` and 30x faster than sot-loss's ``wasserstein_1d`` on
  the CPU (issue 15);
* SOT-W2 within 3x of a W1 computed as a plain cumulative-sum difference
  (the memory-bound floor);
* the whole SOT term against the sot-loss package (information);
* HCQT + SS-MPE inference over Bach10 (334 s of audio) in under 60 s on the
  CPU: the real measurement (opt-in benchmark ``Bach10Inference``) when the
  run has it, else ``334 s x`` the seconds per audio second measured on a
  30-s clip (about one Bach10 track).

The asv results are read by :mod:`sotbench.report.performance_asv`.
"""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from sotbench.report.document import Image, Section, Table, to_markdown
from sotbench.report.performance_asv import AsvBenchmark, AsvRun, load_runs, select_run

__all__ = [
    "AsvBenchmark",
    "AsvRun",
    "load_runs",
    "select_run",
    "RatioTarget",
    "RATIO_TARGETS",
    "target_ratios",
    "render_performance",
    "BACH10_AUDIO_S",
]

#: Seconds of audio in the ten Bach10 mixes.
BACH10_AUDIO_S = 334.0

_WP = "bench_losses.WassersteinPaperShape.time_forward_backward"
_WP_GPU = "bench_losses.WassersteinPaperShape.track_gpu_time_forward_backward"
_SWEEP_TIME = "bench_losses.WassersteinSweep.time_forward_backward"
_SWEEP_GPU_TIME = "bench_losses.WassersteinSweep.track_gpu_time_forward_backward"
_SWEEP_SAVED = "bench_losses.WassersteinSweep.track_saved_for_backward_mib"
_SWEEP_PEAKMEM = "bench_losses.WassersteinSweep.peakmem_forward_backward"
_SWEEP_GPU_MEM = "bench_losses.WassersteinSweep.track_peak_gpu_mib"
_BACH10 = "bench_throughput.Bach10Inference.track_total_seconds"
_SCALING = "bench_throughput.MPEInferenceScaling.track_seconds_per_audio_second"
_HCQT = "bench_transforms.HCQTSignal.track_seconds_per_audio_second"
_CQT = "bench_transforms.CQTSignal.track_seconds_per_audio_second"

_MODULE_TITLES = {
    "bench_losses": "Losses and W_p",
    "bench_transforms": "Transforms",
    "bench_throughput": "Throughput",
}


# ---------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------

@dataclass
class Target:
    """One target of the issue, evaluated on one run."""

    name: str
    device: str
    value: float | None
    goal: str
    passed: bool | None
    detail: str


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b not in (None, 0.0) else None


@dataclass(frozen=True)
class RatioTarget:
    """A speed ratio between two parameter combinations of one benchmark.

    The ratio is ``value(slow) / value(fast)`` for times (``rate_unit=None``)
    and ``value(fast) / value(slow)`` for rates in ``rate_unit`` (e.g.
    ``"steps/s"``, higher is better): either way, how many times faster the
    fast case is.  The target is met when the ratio is ``>= goal``
    (``at_least=True``) or ``<= goal``.  ``goal=None`` marks a row shown for
    information.  ``has_device=False`` marks a benchmark without a ``device``
    parameter (CPU only).
    """

    name: str
    benchmark: str
    gpu_benchmark: str | None
    slow: dict[str, Any]
    fast: dict[str, Any]
    goal: float | None
    at_least: bool = True
    label_slow: str = ""
    label_fast: str = ""
    rate_unit: str | None = None
    has_device: bool = True

    def goal_text(self) -> str:
        """The goal as shown in the report (">= 50x", "<= 3x", "(information)")."""
        if self.goal is None:
            return "(information)"
        return f"{'>=' if self.at_least else '<='} {self.goal:g}x"


_SOT_TERM = "bench_losses.SOTLossVsPackage.time_forward_backward"
_AE_STEP = "bench_throughput.HarmonicAEStepImplementations.track_steps_per_second"
_AE_STEP_CPU = "bench_throughput.HarmonicAEStepImplementations.track_steps_per_cpu_second"
_SOT_TERM_GPU = "bench_losses.SOTLossVsPackage.track_gpu_time_forward_backward"

#: The declared speed targets (issues 2 and 15); one row per target and device.
RATIO_TARGETS: tuple[RatioTarget, ...] = (
    RatioTarget("SOT-W2 fwd+bwd vs POT `ot.wasserstein_1d` at 576 x 1025", _WP, _WP_GPU,
                {"impl": "pot-w2"}, {"impl": "sotbench-w2"}, 50.0,
                label_slow="POT", label_fast="sotbench"),
    RatioTarget("SOT-W2 fwd+bwd vs sot-loss `wasserstein_1d` at 576 x 1025", _WP, _WP_GPU,
                {"impl": "sotloss-w2"}, {"impl": "sotbench-w2"}, 30.0,
                label_slow="sot-loss", label_fast="sotbench"),
    RatioTarget("SOT-W2 fwd+bwd vs the W1 cumsum floor at 576 x 1025", _WP, _WP_GPU,
                {"impl": "sotbench-w2"}, {"impl": "cumsum-w1"}, 3.0, at_least=False,
                label_slow="sotbench", label_fast="floor"),
    RatioTarget("SOT term (STFT + W2, paper batch 64 x 4096) fwd+bwd vs sot-loss's "
                "`Wasserstein1DLoss`", _SOT_TERM, _SOT_TERM_GPU,
                {"impl": "sot-loss"}, {"impl": "sotbench"}, None,
                label_slow="sot-loss", label_fast="sotbench"),
    # issue 11: harmonic-ae training steps, the former encoder evaluation vs the current one
    RatioTarget("harmonic-ae training step (sot-2048), batch 64, one thread: fft vs direct encoder "
                "(steps per CPU second)", _AE_STEP_CPU, None,
                {"conv_impl": "direct", "batch": 64, "threads": 1},
                {"conv_impl": "fft", "batch": 64, "threads": 1}, 4.0,
                label_slow="direct", label_fast="fft", rate_unit="steps/s", has_device=False),
    RatioTarget("harmonic-ae training step, batch 16, one thread: fft vs direct (steps per CPU second)",
                _AE_STEP_CPU, None, {"conv_impl": "direct", "batch": 16, "threads": 1},
                {"conv_impl": "fft", "batch": 16, "threads": 1}, None,
                label_slow="direct", label_fast="fft", rate_unit="steps/s", has_device=False),
    RatioTarget("harmonic-ae training step, batch 64: fft on two threads vs direct on one (wall steps/s)",
                _AE_STEP, None, {"conv_impl": "direct", "batch": 64, "threads": 1},
                {"conv_impl": "fft", "batch": 64, "threads": 2}, None,
                label_slow="direct 1 thread", label_fast="fft 2 threads", rate_unit="steps/s",
                has_device=False),
    RatioTarget("harmonic-ae training step, batch 64, two threads: fft vs direct (wall steps/s)",
                _AE_STEP, None, {"conv_impl": "direct", "batch": 64, "threads": 2},
                {"conv_impl": "fft", "batch": 64, "threads": 2}, None,
                label_slow="direct", label_fast="fft", rate_unit="steps/s", has_device=False),
)


def target_ratios(run: AsvRun) -> list[Target]:
    """Evaluate the declared targets (:data:`RATIO_TARGETS`, then Bach10) on ``run``.

    Returns
    -------
    list of Target
        CPU targets first; CUDA rows are added where the run has CUDA values
        (information only: the issue's targets are stated for the CPU).
    """
    out: list[Target] = []
    for device in ("cpu", "cuda"):
        for t in RATIO_TARGETS:
            name = t.benchmark if device == "cpu" else t.gpu_benchmark
            if name is None:
                continue
            where = {"device": device} if t.has_device else {}
            slow = run.get(name, **where, **t.slow)
            fast = run.get(name, **where, **t.fast)
            if device == "cuda" and (slow is None or fast is None):
                continue
            if t.rate_unit is None:
                r = _ratio(slow, fast)
                detail = f"{t.label_slow} {_fmt_seconds(slow)} / {t.label_fast} {_fmt_seconds(fast)}"
            else:
                r = _ratio(fast, slow)
                detail = (f"{t.label_fast} {_fmt_value(fast, t.rate_unit)} / {t.label_slow} "
                          f"{_fmt_value(slow, t.rate_unit)}")
            passed = None if r is None or t.goal is None else (
                r >= t.goal if t.at_least else r <= t.goal)
            out.append(Target(t.name, device, r, t.goal_text(), passed, detail))
    for device in ("cpu", "cuda"):
        measured = run.get(_BACH10, device=device, model="ssmpe")
        bench = run.benchmarks.get(_SCALING)
        rate, secs = None, None
        if bench is not None:
            pts = [(c["seconds"], v) for c, v in bench.items()
                   if c.get("device") == device and c.get("model") == "ssmpe" and v is not None]
            if pts:
                secs, rate = max(pts)
        estimate = (f"{BACH10_AUDIO_S:g} s x {rate:.4g} s/s (SS-MPE salience of a {secs:g}-s "
                    f"clip, HCQT included)") if rate is not None else None
        if measured is not None:
            total = measured
            detail = "measured: all ten Bach10 mixes (Bach10Inference)"
            if estimate:
                detail += f"; clip estimate {rate * BACH10_AUDIO_S:.3g} s = {estimate}"
        elif rate is not None:
            total = rate * BACH10_AUDIO_S
            detail = f"estimated: {estimate}"
        elif device == "cuda":
            continue
        else:
            total, detail = None, "no SS-MPE inference result in this run"
        out.append(Target("HCQT + SS-MPE inference over Bach10 (334 s of audio)", device, total,
                          "< 60 s", None if total is None else total < 60.0, detail))
    return out


# ---------------------------------------------------------------------------
# formatting
# ---------------------------------------------------------------------------

def _fmt_seconds(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x >= 1.0:
        return f"{x:.3g} s"
    if x >= 1e-3:
        return f"{x * 1e3:.3g} ms"
    return f"{x * 1e6:.3g} us"


def _fmt_value(x: float | None, unit: str) -> str:
    if x is None:
        return "n/a"
    if unit == "seconds" or unit == "s":
        return _fmt_seconds(x)
    if unit == "bytes":
        return f"{x / 2 ** 20:.4g} MiB"
    return f"{x:.4g} {unit}".rstrip()


def _plot_unit(bench: AsvBenchmark) -> tuple[float, str]:
    """(scale, label) to plot a benchmark's values."""
    if bench.unit == "bytes":
        return 1.0 / 2 ** 20, "MiB (peak RSS)"
    if bench.unit in ("seconds", "s"):
        return 1.0, "seconds"
    return 1.0, bench.unit


def _fmt_param(v: Any) -> str:
    return str(v)


def _machine_table(run: AsvRun) -> Table:
    keys = ["machine", "cpu", "num_cpu", "arch", "os", "ram", "python"]
    rows = []
    for k in keys:
        if k in run.info:
            v = run.info[k]
            if k == "ram":
                try:
                    v = f"{int(v) / 2 ** 30:.1f} GiB"
                except (TypeError, ValueError):
                    pass
            rows.append([k, str(v)])
    for k, v in sorted(run.info.items()):
        if k not in keys and k not in ("version",) and isinstance(v, (str, int, float)):
            rows.append([k, str(v) if v != "" else "(latest)"])
    rows.append(["commit", run.commit_hash])
    rows.append(["environment", run.env_name])
    if run.started_at:
        when = _dt.datetime.fromtimestamp(run.started_at / 1e3, _dt.timezone.utc)
        rows.append(["run finished (UTC)", when.strftime("%Y-%m-%d %H:%M")])
    rows.append(["result file", run.path.name])
    return Table(["", "value"], rows)


# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _numeric_axis(bench: AsvBenchmark) -> str | None:
    """Name of the x axis for a line plot (a numeric parameter), or None (bar chart)."""
    names = bench.param_names
    if "frames" in names and "bins" in names:
        return "frames x bins"
    for name, values in zip(names, bench.params, strict=False):
        if name == "device":
            continue
        if len(values) >= 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                    for v in values):
            return name
    return None


def _x_of(combo: dict, axis: str) -> float:
    if axis == "frames x bins":
        return float(combo["frames"]) * float(combo["bins"])
    return float(combo[axis])


def _bench_figure(bench: AsvBenchmark, path: Path) -> bool:
    """Draw one benchmark's figure; False when it has no value to draw."""
    points = [(c, v) for c, v in bench.items() if v is not None]
    if not points:
        return False
    plt = _plt()
    scale, ylabel = _plot_unit(bench)
    axis = _numeric_axis(bench)
    if axis is not None:
        drop = {"frames", "bins"} if axis == "frames x bins" else {axis}
        series: dict[str, list[tuple[float, float]]] = {}
        for combo, v in points:
            label = ", ".join(f"{_fmt_param(combo[k])}" for k in bench.param_names if k not in drop)
            series.setdefault(label or bench.short_name, []).append((_x_of(combo, axis), v * scale))
        fig, ax = plt.subplots(figsize=(6.0, 3.8))
        for label, pts in sorted(series.items()):
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_xlabel(axis)
        vals = [v * scale for _, v in points]
        if min(vals) > 0 and max(vals) / min(vals) > 30:
            ax.set_yscale("log")
        if len(series) > 1:
            ax.legend(fontsize=7)
    else:
        labels = [", ".join(_fmt_param(c[k]) for k in bench.param_names) or bench.short_name
                  for c, _ in points]
        vals = [v * scale for _, v in points]
        fig, ax = plt.subplots(figsize=(6.0, max(1.6, 0.32 * len(points) + 1.0)))
        ax.barh(range(len(points)), vals, color="#4c72b0")
        ax.set_yticks(range(len(points)))
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        if min(vals) > 0 and max(vals) / min(vals) > 30:
            ax.set_xscale("log")
        ax.set_xlabel(ylabel)
        ylabel = None
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.set_title(bench.short_name, fontsize=9)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def _series(run: AsvRun, name: str, x_of, label_of, value_of=lambda c, v: v):
    bench = run.benchmarks.get(name)
    out: dict[str, list[tuple[float, float]]] = {}
    if bench is None:
        return out
    for combo, v in bench.items():
        if v is None:
            continue
        out.setdefault(label_of(combo), []).append((x_of(combo), value_of(combo, v)))
    for pts in out.values():
        pts.sort()
    return out


def _sot_scaling_plot(run: AsvRun, path: Path) -> bool:
    cells = lambda c: float(c["frames"]) * float(c["bins"])  # noqa: E731
    label = lambda c: f"{c['impl']} ({c['device']})"  # noqa: E731
    time_s = _series(run, _SWEEP_TIME, cells, label)
    for k, v in _series(run, _SWEEP_GPU_TIME, cells, lambda c: f"{c['impl']} (cuda, events)").items():
        time_s[k] = v
    mem = _series(run, _SWEEP_SAVED, cells, lambda c: f"{c['impl']}: saved for backward")
    mem.update(_series(run, _SWEEP_PEAKMEM, cells, lambda c: f"{c['impl']}: peak RSS (cpu)",
                       lambda c, v: v / 2 ** 20))
    mem.update(_series(run, _SWEEP_GPU_MEM, cells, lambda c: f"{c['impl']}: peak GPU"))
    if not time_s and not mem:
        return False
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11.0, 4.0))
    for lab, pts in sorted(time_s.items()):
        ax1.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=lab)
    ax1.set(xscale="log", yscale="log", xlabel="frames x bins", ylabel="seconds (fwd+bwd)",
            title="W_p time vs frames x bins")
    for lab, pts in sorted(mem.items()):
        ax2.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=lab)
    ax2.set(xscale="log", yscale="log", xlabel="frames x bins", ylabel="MiB",
            title="W_p memory vs frames x bins")
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _audio_scaling_plot(run: AsvRun, path: Path) -> bool:
    secs = lambda c: float(c["seconds"])  # noqa: E731
    total = lambda c, v: v * float(c["seconds"])  # noqa: E731  (s/s -> seconds of compute)
    series = {}
    series.update(_series(run, _HCQT, secs, lambda c: f"HCQT ({c['device']})", total))
    series.update(_series(run, _CQT, secs, lambda c: f"CQT paper 000 ({c['device']})", total))
    series.update(_series(run, _SCALING, secs, lambda c: f"{c['model']} inference ({c['device']})",
                          total))
    if not series:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for lab, pts in sorted(series.items()):
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=lab)
    xs = [p[0] for pts in series.values() for p in pts]
    lo, hi = min(xs), max(xs)
    ax.plot([lo, hi], [lo, hi], color="grey", ls=":", label="real time")
    ax.set(xscale="log", yscale="log", xlabel="audio length (s)", ylabel="compute (s)",
           title="Time vs audio length")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

def _bench_table(bench: AsvBenchmark) -> tuple[Table | None, int]:
    rows, missing = [], 0
    for combo, value in bench.items():
        if value is None:
            missing += 1
            continue
        rows.append([_fmt_param(combo[k]) for k in bench.param_names] + [_fmt_value(value, bench.unit)])
    if not rows:
        return None, missing
    header = list(bench.param_names) + [
        {"seconds": "time", "bytes": "peak RSS"}.get(bench.unit, f"value ({bench.unit})")]
    return Table(header, rows), missing


def _relpath(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def render_performance(asv_results_dir: str | os.PathLike, out_path: str | os.PathLike, *,
                       plots_dir: str | os.PathLike | None = None, machine: str | None = None,
                       commit: str | None = None, plots: bool = True) -> Path:
    """Write the performance report from asv result files.

    Parameters
    ----------
    asv_results_dir : path-like
        asv's results folder (``.asv/results``).
    out_path : path-like
        The Markdown file to write (``reports/performance.md``).
    plots_dir : path-like, optional
        Where PNGs go; default ``<out_path's folder>/plots``.  Per-benchmark
        figures go to ``<plots_dir>/performance/``.
    machine : str, optional
        asv machine name (default: the machine of the latest run).
    commit : str, optional
        Commit hash or prefix (default: the latest run).
    plots : bool
        Draw the figures (False: tables only).

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    FileNotFoundError, ValueError
        No results (see :func:`load_runs`) or no run matching ``machine``/``commit``.

    Notes
    -----
    Every number in the report comes from one run (one asv result file), so
    the target ratios compare values measured side by side.
    """
    out_path = Path(out_path)
    out_dir = out_path.parent
    plot_root = Path(plots_dir) if plots_dir is not None else out_dir / "plots"
    runs = load_runs(asv_results_dir)
    run = select_run(runs, machine=machine, commit=commit)

    sections: list[Section] = []
    intro = (f"Rendered from the asv results in `{Path(asv_results_dir).as_posix()}` "
             f"(run `{run.path.name}`; {len(runs)} run(s) found, the latest"
             f"{' matching' if machine or commit else ''} is shown).  Every value below comes from this "
             "one result file (one machine, commit and environment; asv merges the benchmarks "
             "of several `asv run -b ...` calls at one commit into it), and each target ratio "
             "compares values of one benchmark measured side by side.  `time` = asv median wall "
             "time of one call (process CPU time, one thread, for `WassersteinPaperShape` and "
             "`SOTLossVsPackage`: see docs/performance.md); `peak RSS` = maximum "
             "resident memory of the benchmark process; `track` values are returned by the "
             "benchmark (CUDA timings through `torch.cuda.Event`).  `steps/s` is higher-is-better; "
             "every other value lower-is-better.")
    sections.append(Section("Machine", [intro, _machine_table(run)]))

    targets = target_ratios(run)
    rows = []
    for t in targets:
        if t.value is None:
            value = "n/a"
        elif "Bach10" in t.name:
            value = f"{t.value:.3g} s"
        else:
            value = f"{t.value:.3g}x"
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t.passed]
        if t.passed is None and t.goal == "(information)" and t.value is not None:
            verdict = "-"
        rows.append([t.name, t.device, value, t.goal, verdict, t.detail])
    sections.append(Section("Targets", [
        "Each ratio compares implementations timed side by side by one benchmark "
        "(`WassersteinPaperShape` for W_p, `SOTLossVsPackage` for the SOT term, asv medians; "
        "`HarmonicAEStepImplementations` for the training step, a ratio of steps/s, so higher is faster; "
        "declared in `sotbench.report.performance.RATIO_TARGETS`); the Bach10 time is measured on the ten mixes "
        "when the run has the opt-in `Bach10Inference`, else estimated from a 30-s clip.  "
        "Without a trained SS-MPE checkpoint the benchmarks run SS-MPE with random weights "
        "(same network and HCQT, hence the same cost).",
        Table(["target", "device", "measured", "goal", "verdict", "from"], rows)]))

    scaling_blocks: list = []
    if plots:
        p = plot_root / "performance-sot-scaling.png"
        if _sot_scaling_plot(run, p):
            scaling_blocks.append(Image(_relpath(p, out_dir), "W_p time and memory vs frames x bins"))
        p = plot_root / "performance-audio-scaling.png"
        if _audio_scaling_plot(run, p):
            scaling_blocks.append(Image(_relpath(p, out_dir), "CQT, HCQT and inference time vs audio length"))
    if scaling_blocks:
        sections.append(Section("Scaling", [
            "Left: `WassersteinSweep` forward+backward time; right: memory (tensors saved for "
            "backward, peak RSS of the process, peak GPU memory).  Below: seconds of compute "
            "against audio length (`track_seconds_per_audio_second` x length)."] + scaling_blocks))

    by_module: dict[str, list[AsvBenchmark]] = {}
    for bench in sorted(run.benchmarks.values(), key=lambda b: b.name):
        by_module.setdefault(bench.module, []).append(bench)
    for module, benches in by_module.items():
        sections.append(Section(_MODULE_TITLES.get(module, module), []))
        for bench in benches:
            table, missing = _bench_table(bench)
            blocks: list = []
            if table is None:
                blocks.append(f"No value in this run ({missing} combination(s) skipped or failed).")
            else:
                if plots:
                    png = plot_root / "performance" / f"{bench.short_name}.png"
                    if _bench_figure(bench, png):
                        blocks.append(Image(_relpath(png, out_dir), bench.short_name))
                blocks.append(table)
                if missing:
                    blocks.append(f"{missing} combination(s) skipped (device or package absent) "
                                  "or failed.")
            sections.append(Section(f"`{bench.short_name}` ({bench.type})", blocks, level=3))

    text = to_markdown("sotbench performance", sections)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out_path)
    return out_path


def _iter_names(runs: Iterable[AsvRun]) -> list[str]:  # pragma: no cover - debugging aid
    return sorted({n for r in runs for n in r.benchmarks})
