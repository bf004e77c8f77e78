"""The cluster code path: a two-point Hydra sweep through submitit's local executor (hydra/launcher=submitit_local)
writes the same result files as the sequential sweep."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["task=synth-ae", "loss=mss-lin", "seed=1,2", "budget=smoke", "task.data.n_examples=48",
         "task.train.steps=2", "task.train.eval_every=2", "task.train.checkpoint_every=2",
         "task.train.batch_size=8", "progress=false"]


def _sweep(tmp_path, name, *launcher):
    argv = [sys.executable, "-m", "sotbench.cli", "run", "-m", *launcher, *SWEEP,
            f"results_root={tmp_path / name / 'results'}", f"hydra.sweep.dir={tmp_path / name / 'multirun'}"]
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    root = tmp_path / name / "results"
    return {str(p.relative_to(root)): json.loads(p.read_text()) for p in sorted(root.glob("**/result.json"))}


@pytest.mark.slow
def test_submitit_local_sweep_matches_the_sequential_sweep(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    sequential = _sweep(tmp_path, "sequential")
    submitit = _sweep(tmp_path, "submitit", "hydra/launcher=submitit_local")
    assert list(sequential) == list(submitit) == [
        "synth-ae/harmonic-ae/mss-lin/smoke/seed1/result.json", "synth-ae/harmonic-ae/mss-lin/smoke/seed2/result.json"]
    for key in sequential:
        a, b = sequential[key], submitit[key]
        assert a["status"] == b["status"] == "completed"
        assert a["config_hash"] == b["config_hash"]
        assert a["metrics"] == b["metrics"], key  # same seed, same device, same numbers
    assert (tmp_path / "submitit" / "multirun" / ".submitit").is_dir()  # really went through submitit
