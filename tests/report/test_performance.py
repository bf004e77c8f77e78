"""Tests of the performance report renderer on a small fixture of asv-format results.

The fixture is written in asv's result format (api version 2, as written by
asv 0.6: ``result_columns`` + one row per benchmark, parameter values as
``repr`` strings, skipped combinations as ``null``), with hand-picked values
so every ratio in the report is known exactly.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sotbench.report.performance import (
    BACH10_AUDIO_S,
    load_runs,
    render_performance,
    select_run,
    target_ratios,
)

COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
           "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat",
           "samples", "profile"]

IMPLS = ["sotbench-w1", "sotbench-w2", "pot-w1", "pot-w2", "cumsum-w1"]


def _r(values):
    return [repr(v) for v in values]


def _benchmarks_json() -> dict:
    def meta(name, kind, unit, param_names, params):
        return {"name": name, "type": kind, "unit": unit, "param_names": param_names,
                "params": [_r(p) for p in params], "version": "x" * 64}

    b = {
        "bench_losses.WassersteinPaperShape.time_forward_backward":
            meta("bench_losses.WassersteinPaperShape.time_forward_backward", "time", "seconds",
                 ["device", "impl"], [["cpu", "cuda"], IMPLS]),
        "bench_losses.WassersteinSweep.time_forward_backward":
            meta("bench_losses.WassersteinSweep.time_forward_backward", "time", "seconds",
                 ["device", "impl", "frames", "bins"],
                 [["cpu", "cuda"], ["sotbench-w2", "cumsum-w1"], [64, 576], [257, 1025]]),
        "bench_losses.WassersteinSweep.track_saved_for_backward_mib":
            meta("bench_losses.WassersteinSweep.track_saved_for_backward_mib", "track", "MiB",
                 ["device", "impl", "frames", "bins"],
                 [["cpu", "cuda"], ["sotbench-w2", "cumsum-w1"], [64, 576], [257, 1025]]),
        "bench_losses.WassersteinSweep.peakmem_forward_backward":
            meta("bench_losses.WassersteinSweep.peakmem_forward_backward", "peakmemory", "bytes",
                 ["device", "impl", "frames", "bins"],
                 [["cpu", "cuda"], ["sotbench-w2", "cumsum-w1"], [64, 576], [257, 1025]]),
        "bench_transforms.HCQTSignal.track_seconds_per_audio_second":
            meta("bench_transforms.HCQTSignal.track_seconds_per_audio_second", "track", "s/s",
                 ["device", "seconds"], [["cpu", "cuda"], [1, 4, 16]]),
        "bench_throughput.MPEInferenceScaling.track_seconds_per_audio_second":
            meta("bench_throughput.MPEInferenceScaling.track_seconds_per_audio_second", "track",
                 "s/s", ["device", "model", "seconds"], [["cpu", "cuda"], ["ssmpe", "hcqt-h1"],
                                                          [2, 8, 30]]),
        "bench_throughput.HarmonicAETraining.track_steps_per_second":
            meta("bench_throughput.HarmonicAETraining.track_steps_per_second", "track", "steps/s",
                 ["device", "loss"], [["cpu", "cuda"], ["sot-2048", "mss-lin"]]),
    }
    b["version"] = 2
    return b


def _row(values, params, started_at):
    return [values, [_r(p) for p in params], "x" * 64, started_at, 1.0]


def _result_file(commit: str, started_at: int, *, pot_w2: float, sot_w2: float,
                 floor: float, ssmpe_rate: float, bach10_total: float | None = None) -> dict:
    wp = {"sotbench-w1": 0.01, "sotbench-w2": sot_w2, "pot-w1": 0.5, "pot-w2": pot_w2,
          "cumsum-w1": floor}
    wp_values = [wp[i] for i in IMPLS] + [None] * 5  # cuda skipped
    sweep_params = [["cpu", "cuda"], ["sotbench-w2", "cumsum-w1"], [64, 576], [257, 1025]]
    sweep_time = [1e-3, 4e-3, 9e-3, 3.6e-2, 1e-4, 4e-4, 9e-4, 3.6e-3] + [None] * 8
    sweep_mib = [0.5, 2.0, 4.5, 18.0, 0.25, 1.0, 2.25, 9.0] + [None] * 8
    sweep_rss = [v * 2 ** 20 + 300 * 2 ** 20 for v in sweep_mib[:8]] + [None] * 8
    scaling = [ssmpe_rate * 1.5, ssmpe_rate * 1.1, ssmpe_rate, 0.2, 0.15, 0.1] + [None] * 6
    results = {
        "bench_losses.WassersteinPaperShape.time_forward_backward":
            _row(wp_values, [["cpu", "cuda"], IMPLS], started_at),
        "bench_losses.WassersteinSweep.time_forward_backward":
            _row(sweep_time, sweep_params, started_at),
        "bench_losses.WassersteinSweep.track_saved_for_backward_mib":
            _row(sweep_mib, sweep_params, started_at),
        "bench_losses.WassersteinSweep.peakmem_forward_backward":
            _row(sweep_rss, sweep_params, started_at),
        "bench_transforms.HCQTSignal.track_seconds_per_audio_second":
            _row([0.12, 0.08, 0.06, None, None, None], [["cpu", "cuda"], [1, 4, 16]], started_at),
        "bench_throughput.MPEInferenceScaling.track_seconds_per_audio_second":
            _row(scaling, [["cpu", "cuda"], ["ssmpe", "hcqt-h1"], [2, 8, 30]], started_at),
        "bench_throughput.HarmonicAETraining.track_steps_per_second":
            _row([2.5, None, None, None], [["cpu", "cuda"], ["sot-2048", "mss-lin"]], started_at),
    }
    if bach10_total is not None:
        results["bench_throughput.Bach10Inference.track_total_seconds"] = _row(
            [bach10_total, None], [["cpu", "cuda"], ["ssmpe"]], started_at)
    return {
        "commit_hash": commit, "env_name": "existing-py_venv_bin_python", "date": 1_700_000_000_000,
        "params": {"arch": "x86_64", "cpu": "AMD EPYC", "machine": "testbox", "num_cpu": "2",
                   "os": "Linux", "ram": "25276502016", "python": "3.11", "torch": "2.13.0"},
        "python": "3.11", "requirements": {"torch": "2.13.0"}, "env_vars": {},
        "result_columns": COLUMNS, "results": results, "durations": {}, "version": 2,
    }


@pytest.fixture
def asv_results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    (root / "testbox").mkdir(parents=True)
    (root / "benchmarks.json").write_text(json.dumps(_benchmarks_json()))
    (root / "testbox" / "machine.json").write_text(json.dumps(
        {"arch": "x86_64", "cpu": "AMD EPYC", "machine": "testbox", "num_cpu": "2", "os": "Linux",
         "ram": "25276502016", "version": 1}))
    # an older run with different numbers: the report must not mix it in
    (root / "testbox" / "aaaaaaaa-existing-py_venv_bin_python.json").write_text(json.dumps(
        _result_file("a" * 40, 1_700_000_000_000, pot_w2=1.0, sot_w2=0.1, floor=0.1,
                     ssmpe_rate=1.0)))
    (root / "testbox" / "bbbbbbbb-existing-py_venv_bin_python.json").write_text(json.dumps(
        _result_file("b" * 40, 1_700_000_500_000, pot_w2=0.25, sot_w2=0.01, floor=0.004,
                     ssmpe_rate=0.15)))
    return root


def test_load_and_select_latest_run(asv_results):
    runs = load_runs(asv_results)
    assert [r.commit_hash[0] for r in runs] == ["a", "b"]
    run = select_run(runs)
    assert run.commit_hash == "b" * 40
    bench = run.benchmarks["bench_losses.WassersteinPaperShape.time_forward_backward"]
    assert bench.type == "time" and bench.unit == "seconds"
    assert bench.param_names == ["device", "impl"]
    assert bench.get(device="cpu", impl="pot-w2") == pytest.approx(0.25)
    assert bench.get(device="cuda", impl="pot-w2") is None  # skipped
    assert select_run(runs, commit="aaaa").commit_hash == "a" * 40
    with pytest.raises(ValueError, match="available"):
        select_run(runs, machine="nope")


def test_target_ratios_from_one_run(asv_results):
    run = select_run(load_runs(asv_results))
    targets = {(t.name.split(" ")[0] + t.goal, t.device): t for t in target_ratios(run)}
    pot = targets[("SOT-W2>= 50x", "cpu")]
    assert pot.value == pytest.approx(25.0) and pot.passed is False
    assert targets[("SOT-W2>= 30x", "cpu")].passed is None  # sot-loss not in this run
    floor = targets[("SOT-W2<= 3x", "cpu")]
    assert floor.value == pytest.approx(2.5) and floor.passed is True
    bach = targets[("HCQT< 60 s", "cpu")]
    assert bach.value == pytest.approx(0.15 * BACH10_AUDIO_S)  # 30-s clip rate x 334 s
    assert bach.passed is True and "estimated" in bach.detail
    assert not any(dev == "cuda" for _, dev in targets)  # no CUDA value -> no CUDA rows


def test_targets_fail_and_prefer_real_bach10(tmp_path):
    root = tmp_path / "r"
    (root / "m").mkdir(parents=True)
    meta = _benchmarks_json()
    meta["bench_throughput.Bach10Inference.track_total_seconds"] = {
        "type": "track", "unit": "s", "param_names": ["device", "model"]}
    (root / "benchmarks.json").write_text(json.dumps(meta))
    (root / "m" / "cccccccc-env.json").write_text(json.dumps(
        _result_file("c" * 40, 1, pot_w2=0.5, sot_w2=0.05, floor=0.01, ssmpe_rate=0.15,
                     bach10_total=75.0)))
    run = select_run(load_runs(root))
    t = [x for x in target_ratios(run) if x.value is not None]  # measured rows
    assert [x.passed for x in t] == [False, False, False]
    assert t[0].value == pytest.approx(10.0) and t[1].value == pytest.approx(5.0)
    assert t[2].value == pytest.approx(75.0) and "measured" in t[2].detail


def test_missing_benchmarks_json_warns(tmp_path):
    root = tmp_path / "r"
    (root / "m").mkdir(parents=True)
    (root / "m" / "cccccccc-env.json").write_text(json.dumps(
        _result_file("c" * 40, 1, pot_w2=0.5, sot_w2=0.05, floor=0.01, ssmpe_rate=0.15)))
    with pytest.warns(UserWarning, match="benchmarks.json"):
        run = select_run(load_runs(root))
    # types and units still follow asv's naming conventions
    assert run.benchmarks["bench_losses.WassersteinSweep.peakmem_forward_backward"].unit == "bytes"
    assert all(t.passed is None for t in target_ratios(run))


def test_render_report_and_plots(asv_results, tmp_path):
    out = tmp_path / "reports" / "performance.md"
    path = render_performance(asv_results, out)
    assert path == out
    text = out.read_text()
    assert "AMD EPYC" in text and "testbox" in text and "b" * 40 in text
    assert "25x" in text and "2.5x" in text and "met" in text
    assert f"{0.15 * BACH10_AUDIO_S:.3g} s" in text
    # each benchmark has its section, its table and its figure
    for name in ("WassersteinPaperShape.time_forward_backward", "WassersteinSweep.time_forward_backward",
                 "HCQTSignal.track_seconds_per_audio_second",
                 "HarmonicAETraining.track_steps_per_second"):
        assert f"`{name}`" in text
        png = tmp_path / "reports" / "plots" / "performance" / f"{name}.png"
        assert png.is_file() and png.stat().st_size > 1000
        assert f"plots/performance/{name}.png" in text
    for name in ("performance-sot-scaling.png", "performance-audio-scaling.png"):
        assert (tmp_path / "reports" / "plots" / name).is_file()
        assert f"plots/{name}" in text
    # values are formatted with units; the older run's numbers do not appear
    assert "250 ms" in text and "10 ms" in text and "2.5 steps/s" in text
    targets = text.split("## Targets")[1].split("\n## ")[0]
    assert "10x" not in targets and "x 1 s/s" not in targets  # the older run: POT 10x, 1 s/s
    assert "skipped" in text


def test_render_without_plots(asv_results, tmp_path):
    out = render_performance(asv_results, tmp_path / "p.md", plots=False)
    assert "![" not in out.read_text()
    assert not (tmp_path / "plots").exists()


def test_missing_results_are_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="asv run"):
        render_performance(tmp_path / "nope", tmp_path / "p.md")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no asv result file"):
        render_performance(tmp_path / "empty", tmp_path / "p.md")


def test_nan_and_failed_values_are_not_numbers(tmp_path):
    root = tmp_path / "r"
    (root / "m").mkdir(parents=True)
    data = _result_file("d" * 40, 5, pot_w2=0.5, sot_w2=0.01, floor=0.005, ssmpe_rate=0.1)
    row = data["results"]["bench_losses.WassersteinPaperShape.time_forward_backward"]
    row[0][3] = float("nan")  # pot-w2 failed
    (root / "benchmarks.json").write_text(json.dumps(_benchmarks_json()))
    (root / "m" / "dddddddd-env.json").write_text(json.dumps(data))
    run = select_run(load_runs(root))
    t = target_ratios(run)[0]
    assert t.value is None and t.passed is None
    assert not any(isinstance(v, float) and math.isnan(v)
                   for b in run.benchmarks.values() for v in b.values)
