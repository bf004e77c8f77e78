"""Runner rules of issue 10 sections 1-2: identity, strict booleans, devices, corrupt results, locks,
durations across resumes, planted pickles, the configuration that really runs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from sotbench.runner import run

RUN = Path("results/toy/toy-model/-/smoke/seed42")


def _compose(tmp_path, *extra):
    return run.compose(["task=toy", f"results_root={tmp_path / 'results'}", "progress=false", *extra])


def _result(tmp_path, budget="smoke"):
    return json.loads((tmp_path / str(RUN).replace("smoke", budget) / "result.json").read_text())


# ----------------------------------------------------------------------------- identity
def test_budgets_are_separate_records_not_a_conflict(toy_tasks_dir, tmp_path, calls):
    smoke = run.execute(_compose(tmp_path))
    cpu = run.execute(_compose(tmp_path, "budget=cpu"))
    assert smoke["budget"] == "smoke" and cpu["budget"] == "cpu" and calls["run"] == 2
    assert _result(tmp_path)["config"]["task"]["steps"] == 4
    assert _result(tmp_path, "cpu")["config"]["task"]["steps"] == 6


def test_default_budget_is_the_tasks_default(toy_tasks_dir, tmp_path):
    cfg = _compose(tmp_path)
    assert cfg.budget == "smoke" and cfg.task.steps == 4 and "budgets" not in cfg.task


@pytest.mark.parametrize("override, message", [
    ("budget=huge", "unknown budget 'huge' for task 'toy'"),
    ("budget=smok", "(?i)did you mean 'smoke'"),
])
def test_unknown_budget_is_a_clear_error(toy_tasks_dir, tmp_path, override, message):
    with pytest.raises(ValueError, match=message):
        _compose(tmp_path, override)


def test_cfg_job_prints_the_configuration_that_runs(toy_tasks_dir, tmp_path, capsys):
    from sotbench.cli import main

    assert main(["run", "task=toy", "budget=cpu", f"results_root={tmp_path}", "--cfg", "job"]) == 0
    out = capsys.readouterr().out
    assert "steps: 6" in out and "budget: cpu" in out and "budgets" not in out


def test_run_prints_where_its_result_is(toy_tasks_dir, tmp_path, capsys):
    from sotbench.cli import main

    assert main(["run", "task=toy", f"results_root={tmp_path}", "progress=false"]) == 0
    out = capsys.readouterr().out
    assert f"result (written): {tmp_path / 'toy/toy-model/-/smoke/seed42/result.json'}" in out
    assert main(["run", "task=toy", f"results_root={tmp_path}", "progress=false"]) == 0
    assert "result (already completed, reused)" in capsys.readouterr().out


# ----------------------------------------------------------------------------- booleans, devices
@pytest.mark.parametrize("spelling, expected", [
    ("true", True), ("yes", True), ("on", True), ("1", True), ("TRUE", True),
    ("false", False), ("no", False), ("off", False), ("0", False), ("No", False),
    (True, True), (False, False), (1, True), (0, False),
])
def test_parse_bool_accepts_the_usual_spellings(spelling, expected):
    assert run.parse_bool("overwrite", spelling) is expected


@pytest.mark.parametrize("bad", ["maybe", "2", 2, "", "none", 0.5, None])
def test_parse_bool_refuses_anything_else_naming_key_and_value(bad):
    with pytest.raises(ValueError, match=rf"overwrite={bad!r} is not a boolean.*overwrite=true"):
        run.parse_bool("overwrite", bad)


@pytest.mark.parametrize("spelling", ["no", "off", "0", "'false'"])
def test_overwrite_no_never_replaces_a_completed_result(toy_tasks_dir, tmp_path, calls, spelling):
    first = run.execute(_compose(tmp_path))
    again = run.execute(_compose(tmp_path, f"overwrite={spelling}"))
    assert calls["run"] == 1 and again["started"] == first["started"]
    assert not (tmp_path / RUN / "result.previous.json").exists()


@pytest.mark.parametrize("override", ["overwrite=maybe", "train=nope", "progress=2", "task.flag=perhaps"])
def test_bad_booleans_are_errors_naming_the_key(toy_tasks_dir, tmp_path, override):
    key, value = override.split("=")
    with pytest.raises(ValueError, match=rf"{key}='?{value}'? is not a boolean"):
        run.execute(_compose(tmp_path, override))


def test_task_boolean_keys_are_parsed(toy_tasks_dir, tmp_path):
    assert run.execute(_compose(tmp_path, "task.flag=yes"))["config"]["task"]["flag"] is True


@pytest.mark.parametrize("device, message", [
    ("gpu", "not a device"), ("cuda:x", "not a device"), ("cpu:0", "not a device"), ("", "not a device"),
])
def test_bad_device_names_are_clear_errors(toy_tasks_dir, tmp_path, device, message):
    with pytest.raises(ValueError, match=message):
        run.execute(_compose(tmp_path, f"device={device}"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_clear_error(toy_tasks_dir, tmp_path):
    for device in ("cuda", "cuda:1"):
        with pytest.raises(ValueError, match="CUDA is not available"):
            run.execute(_compose(tmp_path, f"device={device}"))


def test_good_devices(toy_tasks_dir, tmp_path):
    assert run.parse_device("auto").type in ("cpu", "cuda")
    assert run.execute(_compose(tmp_path, "device=cpu"))["device"]["type"] == "cpu"


# ----------------------------------------------------------------------------- corrupt / failing results
@pytest.mark.parametrize("content", ["{truncated", "[]", "null", '{"status": "completed"}'])
def test_overwrite_replaces_a_corrupt_result(toy_tasks_dir, tmp_path, content):
    path = tmp_path / RUN / "result.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(ValueError, match="corrupt.*overwrite=true"):
        run.execute(_compose(tmp_path))
    assert path.read_text() == content
    result = run.execute(_compose(tmp_path, "overwrite=true"))
    assert result["status"] == "completed" and json.loads(path.read_text()) == result
    assert (tmp_path / RUN / "result.corrupt.json").read_text() == content


def test_a_failing_overwrite_never_replaces_the_completed_result(toy_tasks_dir, tmp_path, calls):
    done = run.execute(_compose(tmp_path))
    before = (tmp_path / RUN / "result.json").read_bytes()
    calls["crash_at"] = 2
    with pytest.raises(RuntimeError, match="simulated kill"):
        run.execute(_compose(tmp_path, "overwrite=true"))
    assert (tmp_path / RUN / "result.json").read_bytes() == before
    attempt = json.loads((tmp_path / RUN / "result.attempt.json").read_text())
    assert attempt["status"] == "failed" and "simulated kill" in attempt["error"]
    calls["crash_at"] = None
    assert run.execute(_compose(tmp_path))["started"] == done["started"]  # still reused
    replaced = run.execute(_compose(tmp_path, "overwrite=true"))
    assert replaced["status"] == "completed" and not (tmp_path / RUN / "result.attempt.json").exists()
    assert json.loads((tmp_path / RUN / "result.previous.json").read_bytes()) == json.loads(before)


def test_resumed_run_records_total_duration(toy_tasks_dir, tmp_path, calls):
    calls["sleep"] = 0.25
    calls["crash_at"] = 3
    with pytest.raises(RuntimeError):
        run.execute(_compose(tmp_path))
    failed = _result(tmp_path)
    assert failed["duration_s"] >= 0.7
    calls["crash_at"] = None
    resumed = run.execute(_compose(tmp_path))
    assert resumed["extra"]["resumed_from"] == 3
    assert resumed["resumed_after_s"] >= failed["duration_s"] - 1e-3
    assert resumed["session_duration_s"] < 0.7 + 0.5  # one step left in this session
    assert resumed["duration_s"] >= failed["duration_s"] + resumed["session_duration_s"] - 0.01


# ----------------------------------------------------------------------------- nothing foreign runs
class _Planted:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ['PLANTED_MARKER']}",))


def test_planted_pickle_in_checkpoint_runs_no_code(toy_tasks_dir, tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PLANTED_MARKER", str(marker))
    ckpt = tmp_path / RUN / "checkpoint.pt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"config_hash": "x", "state": _Planted()}, ckpt)
    with pytest.raises(ValueError, match="weights only"):
        run.execute(_compose(tmp_path))
    assert not marker.exists()
    assert ckpt.exists()  # left for the user to inspect


def test_planted_pickle_through_the_cli(toy_tasks_dir, tmp_path, monkeypatch, capsys):
    from sotbench.cli import main

    marker = tmp_path / "pwned"
    monkeypatch.setenv("PLANTED_MARKER", str(marker))
    ckpt = tmp_path / "r" / "toy/toy-model/-/smoke/seed42/checkpoint.pt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"config_hash": "x", "state": _Planted()}, ckpt)
    assert main(["run", "task=toy", f"results_root={tmp_path / 'r'}", "progress=false"]) == 2
    err = capsys.readouterr().err
    assert "weights only" in err and "Traceback" not in err and not marker.exists()


# ----------------------------------------------------------------------------- two processes, one run
_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    import conftest  # registers the toy task
    if sys.argv[2] == "hold":  # hold the run (and its lock) until the test creates <root>/release
        import os
        original = conftest.ToyTask.run
        def held(self, ctx):
            while not os.path.exists(os.path.join(sys.argv[1], "release")):
                time.sleep(0.05)
            return original(self, ctx)
        conftest.ToyTask.run = held
    else:
        conftest.CALLS["sleep"] = float(sys.argv[2])
    conftest.CALLS["crash_at"] = int(sys.argv[3]) if sys.argv[3] != "-" else None
    from sotbench.runner import run
    from sotbench.results import RunInProgress
    cfg = run.compose(["task=toy", "results_root=" + sys.argv[1], "progress=false"] + sys.argv[4:])
    try:
        print("STATUS", run.execute(cfg)["status"], flush=True)
    except RunInProgress as err:
        print("IN PROGRESS", err, flush=True)
        sys.exit(3)
""")


def _spawn(script, root, sleep, crash="-", *extra):
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, str(script), str(root), str(sleep), str(crash), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.slow  # three Python processes importing torch and Hydra (~40 s on a loaded 2-core CPU)
def test_two_identical_runs_one_runs_the_other_says_in_progress(toy_tasks_dir, tmp_path):
    script = tmp_path / "runone.py"
    script.write_text(_SCRIPT.format(tests=str(Path(__file__).parent)))
    root = tmp_path / "results"
    first = _spawn(script, root, "hold")
    lock_taken = root / "toy/toy-model/-/smoke/seed42/result.json"
    deadline = time.time() + 60
    while not lock_taken.exists() and time.time() < deadline:
        time.sleep(0.05)
    second = _spawn(script, root, 0.0)
    out2, err2 = second.communicate(timeout=120)
    (root / "release").write_text("")
    out1, err1 = first.communicate(timeout=120)
    assert first.returncode == 0 and "STATUS completed" in out1, err1[-2000:]
    assert second.returncode == 3 and "is in progress in another sotbench process" in out2, out2 + err2[-2000:]
    completed = json.loads(lock_taken.read_text())
    assert completed["status"] == "completed"
    # a duplicate that fails afterwards (overwrite=true, crashing) leaves the completed result alone
    third = _spawn(script, root, 0.0, 1, "overwrite=true")
    third.communicate(timeout=120)
    assert third.returncode != 0
    assert json.loads(lock_taken.read_text()) == completed


def test_result_files_get_the_usual_permissions(toy_tasks_dir, tmp_path):
    old = os.umask(0o022)
    try:
        run.execute(_compose(tmp_path))
    finally:
        os.umask(old)
    assert (tmp_path / RUN / "result.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / RUN / "checkpoint.pt").stat().st_mode & 0o777 == 0o644


def test_mpe_default_budget_evaluates_whole_datasets_and_smoke_is_asked_for():
    default = run.compose(["task=mpe"])
    smoke = run.compose(["task=mpe", "budget=smoke"])
    assert default.budget == "cpu" and default.task.max_tracks is None
    assert smoke.budget == "smoke" and smoke.task.max_tracks == 2


# ----------------------------------------------------------------------------- a task split into records
class _SplitTask:
    """Trains once (checkpointed in the run folder), then scores one 'part' per record."""

    trained = 0

    def plan(self, cfg, explicit):
        from sotbench.tasks.base import RecordPlan

        return [RecordPlan(p, {"parts": [p]}, {"part": p}) for p in cfg.task.parts]

    def run(self, ctx):
        from sotbench.tasks.base import TaskResult

        state = ctx.load_checkpoint()
        if state is None:
            _SplitTask.trained += 1
            state = {"weights": 3.0}
            ctx.save_checkpoint(state)
        part = ctx.cfg.task.parts[0]
        return TaskResult(metrics={f"{part}/score": state["weights"] * len(part)}, main_score=f"{part}/score",
                          direction="max")


def test_split_run_trains_once_and_writes_one_record_per_part(toy_tasks_dir, tmp_path):
    from sotbench.registry import MODELS, TASKS

    if "toysplit" not in TASKS._entries:
        TASKS.register("toysplit", _SplitTask, description="split toy")
        MODELS.register("toysplit-model", lambda **kw: None, task="toysplit", description="toy")
    (toy_tasks_dir / "toysplit.yaml").write_text(
        "name: toysplit\ndefault_model: toysplit-model\nuses_loss: false\nparts: [a, bb]\nbudgets:\n  smoke: {}\n")
    _SplitTask.trained = 0
    cfg = run.compose(["task=toysplit", f"results_root={tmp_path / 'r'}", "progress=false"])
    outcomes = run.run_records(cfg)
    assert [(o.key, o.action) for o in outcomes] == [("a", "completed"), ("bb", "completed")]
    assert _SplitTask.trained == 1
    base = tmp_path / "r/toysplit/toysplit-model/-/smoke/seed42"
    assert json.loads((base / "bb/result.json").read_text())["metrics"] == {"bb/score": 6.0}
    assert (base / "checkpoint.pt").exists()
    more = run.run_records(run.compose(["task=toysplit", f"results_root={tmp_path / 'r'}", "progress=false",
                                        "task.parts=[a,ccc]"]))
    assert [(o.key, o.action) for o in more] == [("a", "reused"), ("ccc", "completed")] and _SplitTask.trained == 1
