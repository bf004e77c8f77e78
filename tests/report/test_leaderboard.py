"""Leaderboard renderer: golden files, intervals, paired differences, published rows, exports, errors.

Regenerate the golden files after an intended change with
``SOTBENCH_UPDATE_GOLDEN=1 pytest tests/report/test_leaderboard.py`` and review the diff.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sotbench.report import stats
from sotbench.report.leaderboard import build_leaderboard, read_leaderboard_csv, render_reports

GOLDEN = Path(__file__).parent / "golden"


def _result(task, model, loss, seed, metrics, per_item=None, **extra):
    return {
        "task": task, "model": model, "loss": loss, "seed": seed, "budget": "cpu", "status": "completed",
        "git": {"commit": "0123456789abcdef", "dirty": False}, "started": "2026-11-21T07:00:00+00:00",
        "device": {"type": "cpu", "name": "Test CPU"}, "metrics": metrics, "main_score": next(iter(metrics)),
        "direction": "max", "per_item": per_item or {}, "extra": extra,
    }


def _tracks(ds, accs, p=None, r=None):
    return {f"{ds}/t{i}": {"p": (p or accs)[i], "r": (r or accs)[i], "acc": a, "f1": a, "ref_empty": False}
            for i, a in enumerate(accs)}


HCQT_BACH10 = [25.0, 30.0, 35.0, 28.0, 32.0]
BP_BACH10 = [68.0, 71.0, 70.5, 69.0, 71.0]


def _examples(lsd, rpa):
    return {f"{i:04d}": {"lsd_db": a, "rpa": b, "rca": 99.0, "od": 0.0} for i, (a, b) in enumerate(zip(lsd, rpa))}


def write_fixture_results(root: Path) -> None:
    runs = [
        _result("synth-ae", "harmonic-ae", "sot-2048", 42, {"lsd_db": 20.0, "rpa": 90.0, "rca": 99.0, "od": 0.0},
                _examples([18.0, 20.0, 22.0], [80.0, 90.0, 100.0]),
                curves={"step": [0, 10, 20], "val_lsd_db": [60.0, 40.0, 20.0], "val_rpa": [0.0, 50.0, 90.0]}),
        _result("synth-ae", "harmonic-ae", "sot-2048", 123, {"lsd_db": 30.0, "rpa": 60.0, "rca": 97.0, "od": -0.5},
                _examples([28.0, 30.0, 32.0], [50.0, 60.0, 70.0]),
                curves={"step": [0, 10, 20], "val_lsd_db": [61.0, 45.0, 30.0]}),  # no RPA curve
        _result("synth-ae", "harmonic-ae", "mss-lin", 42, {"lsd_db": 55.0, "rpa": 1.0, "rca": 4.0, "od": -2.0},
                _examples([50.0, 55.0, 60.0], [0.0, 1.0, 2.0])),
        _result("mpe", "hcqt-h1", None, 0, {"bach10/p": 50.0, "bach10/r": 40.0, "bach10/acc": float(np.mean(HCQT_BACH10)),
                                              "chorales-synth/p": 55.5, "chorales-synth/r": 44.4,
                                              "chorales-synth/acc": 33.3, "rtf": 0.0123},
                {**_tracks("bach10", HCQT_BACH10), **_tracks("chorales-synth", [33.3, 30.0, 36.6])},
                threshold=0.5, evaluated=["bach10", "chorales-synth"]),
        _result("mpe", "basic-pitch", None, 0, {"bach10/p": 90.2, "bach10/r": 75.7,
                                                  "bach10/acc": float(np.mean(BP_BACH10)), "rtf": 0.03},
                _tracks("bach10", BP_BACH10), threshold=0.3, evaluated=["bach10"]),
        {**_result("toy-task", "toy", None, 1, {"score": 0.5, "lsd_db": 3.0}), "dataset": "toyset"},
    ]
    for run in runs:
        folder = root / run["task"] / run["model"] / (run["loss"] or "-") / f"seed{run['seed']}"
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(run))
    failed = dict(runs[0], status="failed", seed=7, metrics={"rpa": 0.0})
    folder = root / "synth-ae/harmonic-ae/sot-2048/seed7"
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps(failed))


@pytest.fixture
def rendered(tmp_path):
    write_fixture_results(tmp_path / "results")
    render_reports(tmp_path / "results", tmp_path / "reports")
    return tmp_path / "reports"


@pytest.mark.parametrize("name", ["leaderboard.md", "leaderboard.html", "leaderboard.tex", "leaderboard.csv"])
def test_matches_golden_file(rendered, name):
    text = (rendered / name).read_text()
    golden = GOLDEN / name
    if os.environ.get("SOTBENCH_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"{name} changed; if intended, regenerate (see module docstring)"


def _row(md: str, start: str) -> list[str]:
    line = next(line for line in md.splitlines() if re.match(r"\|\s*" + re.escape(start) + r"\s*\|", line))
    return [c.strip() for c in line.strip("|").split("|")]


def test_synth_ae_interval_over_seeds_and_single_seed_dash(rendered):
    md = (rendered / "leaderboard.md").read_text()
    row = _row(md, "sot-2048")
    assert row[1] == "sotbench" and row[4] == "42,123"  # the failed seed 7 is ignored
    iv = stats.t_ci([20.0, 30.0])
    assert row[5] == f"25.0 [{iv.low:.1f}, {iv.high:.1f}]"
    single = _row(md, "mss-lin")
    assert single[5] == "55.0 [–]" and "(0.0)" not in md


def test_mpe_cells_are_bootstrap_intervals_over_tracks(rendered):
    md = (rendered / "leaderboard.md").read_text()
    bach10 = md.split("### mpe: bach10")[1].split("### ")[0]
    row = _row(bach10, "hcqt-h1")
    iv = stats.bootstrap_ci(HCQT_BACH10)
    assert row[4] == "5" and row[7] == f"{iv.mean:.1f} [{iv.low:.1f}, {iv.high:.1f}]"
    # reference = best measured Acc (basic-pitch); paired difference over the same 5 tracks
    assert "Reference row: `basic-pitch` (best measured Acc)" in bach10
    res = stats.paired_bootstrap(HCQT_BACH10, BP_BACH10)
    assert row[8] == f"{res.delta.mean:+.1f} [{res.delta.low:.1f}, {res.delta.high:.1f}] *"
    assert row[9] == f"{res.p_wilcoxon:.3f}"
    assert _row(bach10, "basic-pitch")[8] == "reference"


def test_reference_is_selectable(tmp_path):
    write_fixture_results(tmp_path / "results")
    sections, frame = build_leaderboard(tmp_path / "results", tmp_path / "out", plots=False, reference="hcqt-h1")
    deltas = frame[(frame.metric == "delta_acc") & (frame.dataset == "bach10")]
    assert list(deltas.reference) == ["hcqt-h1"] and deltas.delta.iloc[0] > 0 and bool(deltas.significant.iloc[0])


def test_published_rows_beside_measured_rows_and_absent_datasets_folded(rendered):
    md = (rendered / "leaderboard.md").read_text()
    lines = [line for line in md.splitlines() if line.startswith("| basic-pitch ")]
    assert "sotbench" in lines[0] and "published [2]: Basic-Pitch" in lines[1]
    assert md.index(lines[0]) + len(lines[0]) + 1 == md.index(lines[1])  # adjacent
    assert "| sot-2048 | published [1] |" in re.sub(r"\s+\|", " |", md)
    assert "[1] Torres, Peeters, Richard" in md and "[2] Cwitkowitz, Duan" in md
    folded = md.split("<details>")[1].split("</details>")[0]
    assert "urmp" in folded and "guitarset" in folded and "bach10 P/R/Acc" not in folded


def test_synth_ae_paired_by_seed_and_example(rendered):
    md = (rendered / "leaderboard.md").read_text()
    by_seed = _row(md, "sot-2048 − mss-lin")
    assert by_seed[2] == "seeds" and by_seed[3] == "1" and by_seed[4] == "-35.0 [–]"
    examples = [line for line in md.splitlines() if "test examples, seed 42" in line][0]
    res = stats.paired_bootstrap([18.0, 20.0, 22.0], [50.0, 55.0, 60.0])
    assert f"{res.delta.mean:+.1f} [{res.delta.low:.1f}, {res.delta.high:.1f}] *" in examples


def test_csv_round_trips_and_has_provenance(tmp_path):
    write_fixture_results(tmp_path / "results")
    render_reports(tmp_path / "results", tmp_path / "reports", plots=False)
    _, frame = build_leaderboard(tmp_path / "results", tmp_path / "reports", plots=False)
    back = read_leaderboard_csv(tmp_path / "reports" / "leaderboard.csv")
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    acc = back[(back.model == "hcqt-h1") & (back.dataset == "bach10") & (back.metric == "acc")].iloc[0]
    assert acc.n == 5 and acc.n_kind == "tracks" and acc.ci_low < acc.value < acc.ci_high
    assert acc.commit == "0123456789abcdef" and acc.result_path == "mpe/hcqt-h1/-/seed0/result.json"
    pub = back[(back.source == "published") & (back.label == "Basic-Pitch") & (back.metric == "acc")]
    assert set(pub.dataset) == {"bach10"} and pub.value.iloc[0] == 70.0 and pub.citation.iloc[0].startswith("Cwit")


def test_latex_is_booktabs_and_escaped(rendered):
    tex = (rendered / "leaderboard.tex").read_text()
    assert tex.count(r"\toprule") == tex.count(r"\bottomrule") >= 4 and r"\midrule" in tex
    body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    assert re.search(r"(?<!\\)%", body) is None and "dB\\textsuperscript{2}" in body


def test_html_sortable_linked_code_and_self_contained(rendered):
    page = (rendered / "leaderboard.html").read_text()
    assert 'class="sortable"' in page and "<script>" in page and "sbSort" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched at view time
    assert "<code>sotbench report</code>" in page and "`" not in page.split("<script>")[0]
    links = re.findall(r'<a href="([^"]+)">result.json</a>', page)
    assert links and all((rendered / link).resolve().is_file() for link in links)
    assert 'class="published"' in page


def test_lsd_is_labelled_db_squared_everywhere(rendered):
    for name in ("leaderboard.md", "leaderboard.html"):
        text = (rendered / name).read_text()
        assert "LSD [dB]" not in text and "LSD [dB²]" in text and "squared" in text


def test_other_tasks_get_a_generic_section(rendered):
    md = (rendered / "leaderboard.md").read_text()
    assert "## toy-task" in md and "0.500 [–]" in md and "lsd_db [dB²]" in md


def test_plots_are_written(rendered):
    for name in ("synth-ae-rpa-rca.png", "synth-ae-curves-cpu.png", "mpe-bach10-acc.png"):
        assert (rendered / "plots" / name).stat().st_size > 1000


def test_empty_or_missing_results_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        render_reports(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no completed result"):
        render_reports(tmp_path / "empty", tmp_path / "out")


def test_sot_vs_mss_paired_over_examples_averaged_over_seeds(tmp_path):
    root = tmp_path / "results"
    runs = []
    for seed, shift in ((1, 0.0), (2, 2.0)):
        runs.append(_result("synth-ae", "harmonic-ae", "sot-2048", seed, {"lsd_db": 20.0 + shift},
                            _examples([18.0 + shift, 20.0 + shift, 22.0 + shift], [1, 2, 3])))
        runs.append(_result("synth-ae", "harmonic-ae", "mss-lin", seed, {"lsd_db": 30.0 + shift},
                            _examples([29.0 + shift, 30.0 + shift, 31.0 + shift], [1, 2, 3])))
    for run in runs:
        folder = root / run["loss"] / f"seed{run['seed']}"
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(run))
    _, frame = build_leaderboard(root, tmp_path / "out", plots=False)
    pooled = frame[(frame.metric == "delta_lsd_db") & (frame.n_kind == "test examples")].iloc[0]
    # per-example means over seeds: sot (19, 21, 23), mss (30, 31, 32) -> differences (-11, -10, -9)
    expected = stats.paired_bootstrap([19.0, 21.0, 23.0], [30.0, 31.0, 32.0])
    assert (pooled.delta, pooled.delta_low, pooled.delta_high) == (expected.delta.mean, expected.delta.low,
                                                                   expected.delta.high)
    assert pooled.delta == -10.0 and bool(pooled.significant) and pooled.seeds == "1,2"
    by_seed = frame[(frame.metric == "delta_lsd_db") & (frame.n_kind == "seeds")].iloc[0]
    assert by_seed.delta == -10.0 and by_seed.n == 2


def test_training_curves_from_curves_json(tmp_path):
    write_fixture_results(tmp_path / "results")
    folder = tmp_path / "results" / "mpe" / "toy" / "train" / "cpu" / "seed1"
    folder.mkdir(parents=True)
    (folder / "curves.json").write_text(json.dumps({
        "format": "sotbench-curves/1", "x": "step",
        "series": {"train/total": {"x": [1, 2, 3], "y": [3.0, 2.0, 1.5]}, "valid/total": {"x": [1, 3], "y": [4.0, 2.0]},
                   "train/other": {"x": [1], "y": [0.0]}},
        "meta": {"model": "toy", "objective": "full", "seed": 1, "budget": "cpu", "best_step": 3}}))
    (tmp_path / "results" / "stray").mkdir()
    (tmp_path / "results" / "stray" / "curves.json").write_text("[1, 2]")  # not a curves file: ignored
    render_reports(tmp_path / "results", tmp_path / "reports")
    md = (tmp_path / "reports" / "leaderboard.md").read_text()
    section = md.split("## Training curves")[1]
    assert "mpe/toy/train/cpu/seed1/curves.json" in section and "stray" not in section
    assert (tmp_path / "reports" / "plots" / "training-curves.png").stat().st_size > 1000


def test_records_of_other_tasks_are_rows_not_seeds(tmp_path):
    root = tmp_path / "results"
    for record, score in (("known-pad-end", 0.25), ("unknown", 0.75)):
        run = {**_result("synth-fit", "harmonic-synth", "sot-2048", 0, {"rpa": score})}
        folder = root / "synth-fit" / "harmonic-synth" / "sot-2048" / "cpu" / "seed0" / record
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(run))
    _, frame = build_leaderboard(root, tmp_path / "out", plots=False)
    rpa = frame[frame.metric == "rpa"].set_index("variant").value
    assert rpa.to_dict() == {"known-pad-end": 0.25, "unknown": 0.75}


def test_generic_single_seed_interval_over_examples_only_for_means(tmp_path):
    root = tmp_path / "results"
    items = {f"{i}": {"rpa": v, "median_err": v} for i, v in enumerate([10.0, 20.0, 30.0, 40.0])}
    run = _result("synth-fit", "harmonic-synth", "sot-2048", 0, {"rpa": 25.0, "median_err": 25.0 + 1.0}, items)
    folder = root / "synth-fit" / "seed0"
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps(run))
    _, frame = build_leaderboard(root, tmp_path / "out", plots=False)
    rpa = frame[frame.metric == "rpa"].iloc[0]
    expected = stats.bootstrap_ci([10.0, 20.0, 30.0, 40.0])
    assert (rpa.value, rpa.ci_low, rpa.ci_high, rpa.n, rpa.n_kind) == (25.0, expected.low, expected.high, 4,
                                                                        "examples")
    med = frame[frame.metric == "median_err"].iloc[0]  # not the items' mean: no interval invented
    assert med.value == 26.0 and pd.isna(med.ci_low) and med.n_kind == "seeds"


def test_table1_overview_has_every_paper_dataset_and_says_why_a_column_is_empty(rendered):
    md = (rendered / "leaderboard.md").read_text()
    section = md.split("### mpe: paper 002 Table 1 overview", 1)[1]
    header = _row(section, "model")
    assert header[1:] == [f"{d} Acc [%]" for d in ("bach10", "urmp", "su", "trios", "guitarset")]
    row = _row(section, "basic-pitch")
    assert row[1] == f"{np.mean(BP_BACH10):.1f} (n {len(BP_BACH10)}) / pub 70.0"
    assert row[2] == "– / pub 64.9"  # urmp: not measured, published beside it
    assert "`urmp`: no measured record" in section
