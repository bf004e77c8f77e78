"""synth-fit report helpers: aggregation over seeds, pooled distance bins, plots from result files only."""
from __future__ import annotations

import json

import pytest

from sotbench.report.synth_fit import (
    convergence_by_distance,
    plot_convergence_vs_distance,
    plot_synth_ae_curves,
    silence_reference,
    synth_fit_markdown,
    synth_fit_rows,
)


def write(root, loss, seed, framing, rpa, bins, budget="cpu", applied_to=None):
    d = root / "synth-fit" / "harmonic-synth" / loss / budget / f"seed{seed}" / f"known-{framing}"
    d.mkdir(parents=True)
    record = {"task": "synth-fit", "model": "harmonic-synth", "loss": loss, "seed": seed, "budget": budget,
              "status": "completed", "config": {"task": {"framing": framing}},
              "metrics": {"rpa": rpa, "rca": rpa + 10, "od": 0.0, "lsd_db": 50.0, "converged": rpa,
                          "median_abs_error_cents": 10.0},
              "main_score": "rpa", "direction": "max", "per_item": {},
              "extra": {"framing": {"name": framing, **({"applied_to": applied_to} if applied_to else {})},
                        "amplitudes": "known",
                        "convergence_vs_distance": [{"lo": lo, "hi": hi, "n": n, "n_converged": c,
                                                     "rate": 100.0 * c / n if n else None}
                                                    for (lo, hi, n, c) in bins]}}
    (d / "result.json").write_text(json.dumps(record))


@pytest.fixture()
def root(tmp_path):
    write(tmp_path, "sot-2048", 0, "full", 50.0, [(0, 1, 2, 2), (1, 6, 2, 0)])
    write(tmp_path, "sot-2048", 1, "full", 70.0, [(0, 1, 3, 3), (1, 6, 1, 0)])
    write(tmp_path, "sot-2048", 0, "pad-end", 10.0, [(0, 1, 2, 1), (1, 6, 2, 0)])
    write(tmp_path, "mss-lin", 0, "full", 20.0, [(0, 1, 4, 1), (1, 6, 0, 0)])
    return tmp_path


def test_rows_aggregate_seeds_with_t_interval(root):
    rows = synth_fit_rows(root, "cpu")
    full = [r for r in rows if r["framing"] == "full"]
    assert [r["loss"] for r in full] == ["sot-2048", "mss-lin"]  # best RPA first
    sot = full[0]
    assert sot["seeds"] == [0, 1] and sot["rpa"]["mean"] == 60.0 and sot["rpa"]["n"] == 2
    assert sot["rpa"]["low"] < 60.0 < sot["rpa"]["high"]
    assert full[1]["rpa"]["low"] is None  # one seed: no interval
    assert [r["framing"] for r in rows][0] == "pad-end"


def test_distance_bins_pool_over_seeds(root):
    table = convergence_by_distance(root, "cpu")
    bins = table[("sot-2048", "full", "known", "cpu")]
    assert [(b["n"], b["n_converged"]) for b in bins] == [(5, 5), (3, 0)]
    assert table[("mss-lin", "full", "known", "cpu")][1]["rate"] is None


def test_plots_and_markdown(root, tmp_path):
    out = plot_convergence_vs_distance(root, tmp_path / "plots" / "conv.png")
    assert out.exists() and out.stat().st_size > 1000
    assert plot_convergence_vs_distance(root, tmp_path / "x.png", budget="paper") is None
    md = synth_fit_markdown(root)
    assert "| sot-2048 | full | known | 2 | 60.0 [" in md
    assert plot_synth_ae_curves(root, tmp_path / "c.png") is None  # no synth-ae record


def write_ae(root, loss, seed, silence, budget="cpu-long"):
    d = root / "synth-ae" / "harmonic-ae" / loss / budget / f"seed{seed}"
    d.mkdir(parents=True)
    record = {"task": "synth-ae", "model": "harmonic-ae", "loss": loss, "seed": seed, "budget": budget,
              "status": "completed", "config": {}, "metrics": {"lsd_db": 90.0, "rpa": 10.0, "rca": 20.0, "od": -1.0},
              "main_score": "rpa", "direction": "max", "per_item": {},
              "extra": {"curves": {"step": [500, 1000], "val_lsd_db": [120.0, 100.0], "val_rpa": [2.0, 9.0],
                                   "train_loss": [1.0, 0.5]},
                        "silence_lsd_db": {"test": silence, "val": silence + 3}}}
    (d / "result.json").write_text(json.dumps(record))


def test_synth_ae_curves_and_silence_reference(tmp_path):
    assert silence_reference(tmp_path) is None
    write_ae(tmp_path, "sot-2048", 42, 116.1)
    write_ae(tmp_path, "mss-lin", 42, 116.1)
    assert silence_reference(tmp_path) == {"test": 116.1, "val": 119.1, "n_records": 2}
    out = plot_synth_ae_curves(tmp_path, tmp_path / "curves.png")
    assert out.exists() and out.stat().st_size > 1000
    write_ae(tmp_path, "sot-512", 42, 117.0)
    with pytest.raises(ValueError, match="disagree"):
        silence_reference(tmp_path)


def test_leaderboard_has_a_silent_output_reference_row(tmp_path):
    from sotbench.report.leaderboard import render_reports

    write_ae(tmp_path / "results", "sot-2048", 42, 116.1)
    write_ae(tmp_path / "results", "mss-lin", 42, 116.1)
    render_reports(tmp_path / "results", tmp_path / "out", plots=False)
    md = (tmp_path / "out" / "leaderboard.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| (silent output)"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "reference (measured)" and cells[5] == "116.1"


def test_rows_name_the_terms_a_framing_was_applied_to(tmp_path):
    # a loss term without a pad_end setting (e.g. the sot-loss package's SOT term) is not re-framed:
    # the row must say which terms were
    write(tmp_path, "sot-2048", 0, "full", 50.0, [], applied_to=["losses.sot:SOTLoss", "losses.mss:MSSLoss"])
    write(tmp_path, "sot-loss-2048", 0, "full", 10.0, [], applied_to=["losses.mss:MSSLoss"])
    write(tmp_path, "mss-lin", 0, "full", 20.0, [])  # an older record without the list
    terms = {r["loss"]: r["framed_terms"] for r in synth_fit_rows(tmp_path, "cpu")}
    assert terms == {"sot-2048": "SOT+MSS", "sot-loss-2048": "MSS", "mss-lin": "?"}
