"""The ``sotbench`` command line: ls, error messages, and a real Hydra sweep through joblib."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sotbench.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_ls_lists_every_registry(capsys):
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    for name in ("synth-ae", "mpe", "harmonic-ae", "ssmpe", "hcqt-h1", "basic-pitch", "sot-2048", "mss-lin",
                 "sot-512-ls"):
        assert f"  {name} " in out, name


@pytest.mark.parametrize("argv, message", [
    (["lss"], "did you mean 'ls'"),
    (["run", "task=synthae"], "did you mean 'synth-ae'"),
    (["run", "task=synth-ae", "loss=sot2048"], "did you mean 'sot-2048'"),
    (["run", "task=mpe", "model=basic-pich"], "did you mean 'basic-pitch'"),
    (["run", "lose=sot-2048"], "did you mean 'loss'"),
    (["run", "task=synth-ae", "model=ssmpe"], "belongs to task 'mpe'"),
    (["figure", "landscape"], "unknown figure"),
])
def test_bad_names_exit_2_with_a_hint(argv, message, capsys, tmp_path):
    assert main([*argv, f"results_root={tmp_path}"] if argv[0] == "run" else argv) == 2
    assert message.lower() in capsys.readouterr().err.lower()


@pytest.mark.slow
def test_joblib_sweep_runs_each_point_once_and_skips_on_rerun(tmp_path):
    """A Hydra multirun through the joblib launcher (the single-host scale-out path)."""
    argv = [sys.executable, "-m", "sotbench.cli", "run", "-m", "hydra/launcher=local", "task=synth-ae",
            "loss=mss-lin", "seed=1,2", "budget=smoke", "task.data.n_examples=48", "task.train.steps=2",
            "task.train.eval_every=2", "task.train.checkpoint_every=2", "task.train.batch_size=8",
            "progress=false", f"results_root={tmp_path / 'results'}",
            f"hydra.sweep.dir={tmp_path / 'multirun'}"]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    files = sorted((tmp_path / "results/synth-ae/harmonic-ae/mss-lin/smoke").glob("seed*/result.json"))
    assert [f.parent.name for f in files] == ["seed1", "seed2"]
    first = [json.loads(f.read_text()) for f in files]
    assert all(r["status"] == "completed" for r in first)
    again = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    logs = again.stdout + again.stderr  # Hydra logs to the console (stdout)
    assert again.returncode == 0 and logs.count("result (already completed, reused)") == 2, logs[-2000:]
    assert [json.loads(f.read_text())["started"] for f in files] == [r["started"] for r in first]
