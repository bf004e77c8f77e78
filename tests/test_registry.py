"""Registries: plain imports, so a broken module makes ``sotbench ls`` fail with its own error.

The broken-module tests run in a fresh interpreter: importing a populating
module twice in one process would register its components twice.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from sotbench.cli import main
from sotbench.registry import LOSSES, MODELS, TASKS, Registry

# A meta-path finder that breaks one sotbench module in the child process.
_BREAK = textwrap.dedent("""
    import importlib.abc, importlib.util, sys

    TARGET, MODE = sys.argv[1], sys.argv[2]

    class Broken(importlib.abc.Loader):
        def create_module(self, spec):
            return None

        def exec_module(self, module):
            raise RuntimeError(f"planted failure in {module.__name__}")

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == TARGET and MODE == "raises":
                return importlib.util.spec_from_loader(name, Broken())
            return None

    if MODE == "missing":  # the module file is gone: import raises ModuleNotFoundError for it
        sys.modules[TARGET] = None
    sys.meta_path.insert(0, Finder())
    from sotbench.cli import main
    sys.exit(main(["ls"]))
""")


def _ls_with_broken(module: str, mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _BREAK, module, mode], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("module", ["sotbench.models.peers",
                                    "sotbench.tasks.mpe", "sotbench.losses.mss"])
def test_ls_fails_with_the_error_of_a_module_that_raises_on_import(module):
    out = _ls_with_broken(module, "raises")
    assert out.returncode != 0
    assert f"planted failure in {module}" in out.stderr
    assert "models:" not in out.stdout  # nothing listed from a partial registry


@pytest.mark.parametrize("module", ["sotbench.models.ssmpe"])
def test_ls_fails_when_a_populating_module_is_missing(module):
    # the former try/except ModuleNotFoundError scaffolding hid exactly this case
    out = _ls_with_broken(module, "missing")
    assert out.returncode != 0
    assert module in out.stderr


def test_ls_lists_every_registry_and_marks_missing_peer_packages(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torchcrepe", None)  # as if torchcrepe were not installed
    monkeypatch.setitem(sys.modules, "sot", None)  # as if sot-loss were not installed
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    for name in TASKS.names() + MODELS.names() + LOSSES.names():
        assert f"  {name} " in out
    lines = out.splitlines()
    for peer in ("crepe", "sot-loss-2048"):
        line = next(line for line in lines if line.startswith(f"  {peer} "))
        assert "unavailable" in line and "install-peers.sh" in line
    pesto_line = next(line for line in lines if line.startswith("  pesto "))
    assert ("unavailable" in pesto_line) == (not MODELS.entry("pesto").meta["available"]()[0])


def test_registered_names():
    assert {"mpe", "synth-ae"} <= set(TASKS.names())
    assert {"harmonic-ae", "ssmpe", "basic-pitch", "basic-pitch-notes", "crepe", "crepe-tiny",
            "pesto"} <= set(MODELS.names())
    assert {"sot-2048", "mss-lin"} <= set(LOSSES.names())


def test_unknown_name_suggests_close_names():
    with pytest.raises(ValueError, match="Did you mean 'crepe-tiny'"):
        MODELS.entry("crepe-tiyn")


def test_double_registration_is_refused():
    reg = Registry("thing")
    reg.register("a", lambda: 1)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("a", lambda: 2)


def test_unknown_name_lists_the_known_ones_with_a_correct_plural():
    from sotbench.registry import LOSSES, MODELS

    with pytest.raises(ValueError, match="Known losses: ") as err:
        LOSSES.get("sot-2084")
    assert "losss" not in str(err.value)
    with pytest.raises(ValueError, match="Known models: "):
        MODELS.get("harmonic-aee")
