"""Every ``sotbench`` sub-command fed bad input: a clear message, a non-zero exit, never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sotbench.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def spots(tmp_path):
    """A file where a folder is expected, and a results folder holding only foreign files."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    foreign = tmp_path / "foreign"
    for name, content in {"list": "[]", "null": "null", "notask": '{"model": "m", "status": "completed", '
                          '"seed": 1}', "badjson": "{oops"}.items():
        (foreign / name).mkdir(parents=True)
        (foreign / name / "result.json").write_text(content)
    return {"file": blocker, "foreign": foreign, "tmp": tmp_path}


RUN_CASES = [
    (["task=mpee"], "did you mean 'mpe'"),
    (["task=mpe", "model=ssmp"], "did you mean 'ssmpe'"),
    (["task=synth-ae", "loss=sot2048"], "did you mean 'sot-2048'"),
    (["task=synth-ae", "model=ssmpe"], "belongs to task 'mpe'"),
    (["lose=sot-2048"], "did you mean 'loss'"),
    (["task=mpe", "budget=huge"], "unknown budget 'huge'"),
    (["overwrite=maybe"], "overwrite='maybe' is not a boolean"),
    (["train=nope"], "train='nope' is not a boolean"),
    (["progress=2"], "progress='2' is not a boolean"),
    (["task=mpe", "task.train.enabled=sometimes"], "task.train.enabled='sometimes' is not a boolean"),
    (["device=gpu"], "device='gpu' is not a device"),
    (["device=cuda:x"], "is not a device"),
    (["seed=-1"], "non-negative integer"),
    (["seed=abc"], "non-negative integer"),
    (["threads=0"], "threads must be an integer >= 1"),
    (["threads=two"], "threads must be an integer >= 1"),
    (["task=mpe", "model=hcqt-h1", "data_root={tmp}/no-such-root"], "not a directory"),
    (["task=mpe", "model=hcqt-h1", "task.eval=[bach1O]"], "did you mean 'bach10'"),
    (["task=mpe", "model=hcqt-h1", "task.eval=[]"], "must name at least one dataset"),
    (["results_root={file}/sub"], "not writable"),
    (["bogus-positional"], "not a key=value setting"),
]
if not torch.cuda.is_available():
    RUN_CASES.append((["device=cuda"], "CUDA is not available"))


def _fill(argv, spots):
    return [a.format(tmp=spots["tmp"], file=spots["file"], foreign=spots["foreign"]) for a in argv]


@pytest.mark.parametrize("argv, message", RUN_CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_run_bad_input(argv, message, spots, capsys, monkeypatch):
    monkeypatch.delenv("SOTBENCH_DATA_ROOT", raising=False)
    argv = ["run", *_fill(argv, spots), "progress=false"]
    if not any(a.startswith("results_root=") for a in argv):
        argv.append(f"results_root={spots['tmp'] / 'results'}")
    code = main(argv)
    out = capsys.readouterr()
    text = out.out + out.err
    assert code != 0, text
    assert "Traceback" not in text
    assert message.lower() in text.lower(), text


OTHER_CASES = [
    (["lss"], "did you mean 'ls'"),
    (["ls", "extra"], "unrecognized arguments"),
    (["report", "--results", "{tmp}/no-such-results"], "does not exist"),
    (["report", "--results", "{foreign}"], "no completed result"),
    (["report", "--results", "{foreign}", "--out", "{file}/out"], "not writable"),
    (["report", "--bogus"], "unrecognized arguments"),
    (["figure", "landscape"], "unknown figure"),
    (["figure", "loss-landscape", "--out", "{file}/out"], "not writable"),
]


@pytest.mark.parametrize("argv, message", OTHER_CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_other_commands_bad_input(argv, message, spots, capsys):
    code = main(_fill(argv, spots))
    out = capsys.readouterr()
    text = out.out + out.err
    assert code != 0 and "Traceback" not in text, text
    assert message.lower() in text.lower(), text


def test_report_names_foreign_files_and_renders_the_rest(spots, capsys):
    good = ROOT / "results" / "synth-ae" / "harmonic-ae" / "mss-lin" / "cpu" / "seed42" / "result.json"
    dest = spots["foreign"] / "synth-ae/harmonic-ae/mss-lin/cpu/seed42/result.json"
    dest.parent.mkdir(parents=True)
    dest.write_text(good.read_text())
    string_metric = json.loads(good.read_text())
    string_metric["metrics"]["lsd_db"] = "12.3"
    (spots["foreign"] / "strmetric").mkdir()
    (spots["foreign"] / "strmetric" / "result.json").write_text(json.dumps(string_metric))
    code = main(["report", "--results", str(spots["foreign"]), "--out", str(spots["tmp"] / "out")])
    out = capsys.readouterr()
    assert code == 0, out.err
    for name, reason in [("list", "a JSON list"), ("null", "a JSON null"), ("notask", "no string 'task'"),
                         ("badjson", "corrupt"), ("strmetric", "metric 'lsd_db' is '12.3', not a number")]:
        line = [ln for ln in out.err.splitlines() if f"/{name}/result.json" in ln]
        assert line and reason in line[0], (name, out.err)
    assert "Traceback" not in out.err
    assert (spots["tmp"] / "out" / "leaderboard.md").exists()


def test_bad_input_through_the_installed_entry_point(spots):
    """The real console script (Hydra's own error handling included) prints no traceback."""
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    env.pop("SOTBENCH_DATA_ROOT", None)
    for argv, message in [(["run", "task.eval=[bach10"], "error"),
                          (["run", "overwrite=no-way", f"results_root={spots['tmp']}"], "not a boolean")]:
        done = subprocess.run([sys.executable, "-m", "sotbench.cli", *argv], cwd=ROOT, capture_output=True,
                              text=True, timeout=300, env=env)
        text = done.stdout + done.stderr
        assert done.returncode != 0 and "Traceback" not in text and message in text.lower(), text
