"""Build hook: ship the top-level task definitions (``tasks/*.yaml``) inside the package.

All metadata lives in ``pyproject.toml``.  The task YAMLs stay at the top level
of the checkout (``tasks/``, where people edit them); a non-editable install
(``pip install .``, the wheel asv builds) copies them to ``sotbench/_tasks/``,
where :func:`sotbench.runner.run.tasks_dir` finds them when no checkout is
around.  Editable installs read the checkout's ``tasks/`` directly.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TASKS = Path(__file__).resolve().parent / "tasks"


class BuildPyWithTasks(build_py):
    """``build_py`` that also copies ``tasks/*.yaml`` to ``<build_lib>/sotbench/_tasks/``."""

    def run(self) -> None:
        """Build the package, then add the task definitions."""
        super().run()
        if getattr(self, "editable_mode", False):
            return
        yamls = sorted(TASKS.glob("*.yaml"))
        if not yamls:
            raise RuntimeError(f"no task definitions found in {TASKS}; the wheel would be unusable")
        target = Path(self.build_lib) / "sotbench" / "_tasks"
        target.mkdir(parents=True, exist_ok=True)
        for path in yamls:
            shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": BuildPyWithTasks})
