"""A non-editable install (``pip install .``, the wheel asv builds) ships the task YAMLs.

The wheel is built from a copy of this checkout's sources without build
isolation (offline, a few seconds), unpacked into a temporary folder with ``pip install --target`` and
imported from there in a fresh interpreter whose working directory is outside
the checkout, so only the packaged copy of ``tasks/*.yaml`` can be found.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TASK_YAMLS = sorted(p.name for p in (ROOT / "tasks").glob("*.yaml"))

_PROBE = """
import json, sotbench
from sotbench.runner.run import task_budgets, tasks_dir
print(json.dumps({"package": sotbench.__file__, "tasks_dir": str(tasks_dir()),
                  "yamls": sorted(p.name for p in tasks_dir().glob("*.yaml")),
                  "budgets": {n: sorted(task_budgets(n)[0]) for n in ("mpe", "synth-ae")}}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # build from a clean copy of what a build needs, as asv does from a fresh clone: a stale
    # build/ folder in the checkout (files removed since) must not leak into the wheel tested here
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("sotbench", "tasks"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
           "-q", "-w", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=out)
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("sotbench-*.whl")
    return path


def test_wheel_contains_the_task_yamls_and_py_typed(wheel):
    assert TASK_YAMLS, "no tasks/*.yaml in the checkout"
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in TASK_YAMLS:
        assert f"sotbench/_tasks/{name}" in names
        packaged = zipfile.ZipFile(wheel).read(f"sotbench/_tasks/{name}")
        assert packaged == (ROOT / "tasks" / name).read_bytes()
    assert "sotbench/py.typed" in names
    assert "sotbench/conf/config.yaml" in names


def test_installed_wheel_finds_the_task_yamls_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                           str(site), str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    env = {k: v for k, v in os.environ.items() if k != "SOTBENCH_TASKS_DIR"}
    env["PYTHONPATH"] = str(site)
    probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                           timeout=300, cwd=tmp_path, env=env)
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert Path(seen["package"]).is_relative_to(site)  # the installed copy, not the checkout
    assert Path(seen["tasks_dir"]) == site / "sotbench" / "_tasks"
    assert seen["yamls"] == TASK_YAMLS
    assert "smoke" in seen["budgets"]["synth-ae"]
