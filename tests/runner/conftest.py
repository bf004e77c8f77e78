"""A toy task and model registered for runner tests (no training, deterministic, can crash on demand)."""
from __future__ import annotations

import textwrap
import time

import pytest
import torch

from sotbench.registry import MODELS, TASKS
from sotbench.tasks.base import TaskResult

CALLS = {"run": 0}


class ToyTask:
    """Accumulates seeded random numbers over ``steps``; checkpoints every step; may crash."""

    def run(self, ctx):
        CALLS["run"] += 1
        state = ctx.load_checkpoint() or {"step": 0, "total": 0.0, "rng": torch.get_rng_state()}
        torch.set_rng_state(state["rng"])
        resumed_from = state["step"]
        for step in range(state["step"], int(ctx.cfg.task.steps)):
            if CALLS.get("crash_at") == step:  # simulates a kill: not part of the config
                raise RuntimeError(f"simulated kill at step {step}")
            time.sleep(CALLS.get("sleep") or 0.0)
            state = {"step": step + 1, "total": state["total"] + float(torch.rand(())),
                     "rng": torch.get_rng_state()}
            ctx.save_checkpoint(state)
        return TaskResult(metrics={"score": state["total"]}, main_score="score", direction="max",
                          extra={"resumed_from": resumed_from})


if "toy" not in TASKS._entries:
    TASKS.register("toy", ToyTask, description="toy task for runner tests")
    MODELS.register("toy-model", lambda **kw: None, task="toy", description="toy model")


@pytest.fixture
def toy_tasks_dir(tmp_path, monkeypatch):
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "toy.yaml").write_text(textwrap.dedent("""\
        name: toy
        default_model: toy-model
        uses_loss: false
        steps: 5
        flag: false
        budgets:
          smoke: {steps: 4}
          cpu: {steps: 6}
    """))
    monkeypatch.setenv("SOTBENCH_TASKS_DIR", str(folder))
    CALLS["run"] = 0
    CALLS["crash_at"] = None
    CALLS["sleep"] = 0.0
    return folder


@pytest.fixture
def calls():
    return CALLS
