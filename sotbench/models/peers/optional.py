"""Importing the optional peer packages: install hints, version pins, the torchaudio guard.

torchcrepe and pesto import ``torchaudio`` at module level but use it only to
read audio files, which sotbench never asks them to do (arrays are passed in).
When ``import torchaudio`` fails, :func:`torchaudio_guard` (built on
:func:`sotbench.optional.torchaudio_guard`) places a stand-in module in
``sys.modules`` *only while importing the peer package*; the stand-in has a
single ``load`` function that raises an explanatory ``ImportError``.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import logging
import sys
import types
import warnings
from typing import Any, Callable, Iterator

from sotbench.models.base import ModelUnavailable
from sotbench.optional import stand_in_module
from sotbench.optional import torchaudio_guard as _torchaudio_guard

__all__ = [
    "INSTALL_COMMAND",
    "INSTALL_DETAIL",
    "PINNED_VERSIONS",
    "unavailable",
    "check_version",
    "torchaudio_guard",
    "import_peer",
    "quiet_import_logging",
    "availability",
]

#: Documented install command for the peers (see ``scripts/install-peers.sh``).
INSTALL_COMMAND = "bash scripts/install-peers.sh"

#: What the install script does, spelled out for people without the script.
INSTALL_DETAIL = (
    "PIP_CONSTRAINT=constraints.txt pip install -e '.[peers]' && "
    "PIP_CONSTRAINT=constraints.txt pip install --no-deps "
    "basic-pitch==0.4.0 torchcrepe==0.0.24 pesto-pitch==2.0.1")

#: Package versions the adapters were validated with (Bach10 reproduction).
PINNED_VERSIONS = {"basic-pitch": "0.4.0", "torchcrepe": "0.0.24", "pesto-pitch": "2.0.1"}


def unavailable(model: str, dist: str, reason: str) -> ModelUnavailable:
    """The :class:`ModelUnavailable` error for ``model`` missing ``dist``, with the install command."""
    return ModelUnavailable(
        f"model {model!r} needs the optional package {dist}=={PINNED_VERSIONS.get(dist, '?')} "
        f"({reason}). Install the peer models with `{INSTALL_COMMAND}` "
        f"(equivalent to: {INSTALL_DETAIL}).")


def check_version(dist: str) -> str:
    """Installed version of ``dist`` (``"unknown"`` if not found); warn when it differs from the pin."""
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
    pinned = PINNED_VERSIONS.get(dist)
    if pinned is not None and version != pinned:
        warnings.warn(
            f"{dist} {version} is installed but sotbench's adapter was validated with "
            f"{dist} {pinned}; axes or scores may differ. Run `{INSTALL_COMMAND}` to pin it.",
            stacklevel=3)
    return version


def _torchaudio_stand_in(reason: str) -> types.ModuleType:
    def load(*args: Any, **kwargs: Any) -> None:  # the only attribute the peers touch
        raise ImportError(
            "torchaudio is not usable in this environment (" + reason + "); sotbench passes "
            "audio arrays to the peer models instead of file names")

    return stand_in_module(reason, "a peer package", load=load)


def torchaudio_guard() -> contextlib.AbstractContextManager[None]:
    """Make ``import torchaudio`` succeed while a peer imports (:func:`sotbench.optional.torchaudio_guard`).

    The stand-in has only ``load``, which raises ``ImportError``.
    """
    return _torchaudio_guard(_torchaudio_stand_in)


@contextlib.contextmanager
def quiet_import_logging() -> Iterator[None]:
    """Silence WARNING-level logging during the block.

    basic_pitch logs a WARNING per missing optional backend (TF, TFLite,
    CoreML) on the root logger at import time; sotbench uses ONNX on purpose.
    """
    previous = logging.root.manager.disable
    logging.disable(max(previous, logging.WARNING))
    try:
        yield
    finally:
        logging.disable(previous)


def import_peer(module: str, *, model: str, dist: str, torchaudio: bool = False) -> types.ModuleType:
    """Import an optional peer package or raise :class:`ModelUnavailable`.

    Parameters
    ----------
    module : str
        Module to import (``"torchcrepe"``, ``"basic_pitch.inference"``, ...).
    model, dist : str
        Registry name of the model and PyPI distribution, for the error message.
    torchaudio : bool
        Import under :func:`torchaudio_guard`.
    """
    loaded = sys.modules.get(module)
    if loaded is not None:
        return loaded
    guard = torchaudio_guard() if torchaudio else contextlib.nullcontext()
    try:
        with guard, quiet_import_logging():
            return importlib.import_module(module)
    except Exception as err:  # ImportError, or e.g. OSError from a broken binary wheel
        raise unavailable(model, dist, f"import {module} failed: {type(err).__name__}: {err}") from err


def availability(module: str, dist: str) -> Callable[[], tuple[bool, str]]:
    """Return a cheap check for ``sotbench ls``: is ``module`` (from ``dist``) installed.

    The returned callable finds the module without importing it and returns
    ``(True, "")`` or ``(False, reason with the install command)``.
    """

    def check() -> tuple[bool, str]:
        if module in sys.modules and sys.modules[module] is None:
            return False, f"{dist} is blocked in this process; run `{INSTALL_COMMAND}`"
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return False, f"{dist} is not installed; run `{INSTALL_COMMAND}`"
        return True, ""

    return check
