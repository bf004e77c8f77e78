"""Importing optional third-party packages that drag in an unusable ``torchaudio``.

Several optional peers (torchcrepe, pesto-pitch, sot-loss) import ``torchaudio``
at module level but never need it for what sotbench asks of them (audio arrays
are passed in; their mel transform is not used).  The PyPI torchaudio wheel
does not load with every CPU torch build.  :func:`torchaudio_guard` therefore
places a caller-made stand-in in ``sys.modules`` *only while the peer package
is imported* and removes it right after, so nothing else in the process sees
it.  The stand-in's attributes raise an ``ImportError`` naming the reason.

This module imports nothing from the rest of sotbench: losses and models both
use it.
"""
from __future__ import annotations

import contextlib
import sys
import types
from typing import Any, Callable, Iterator

__all__ = ["stand_in_module", "torchaudio_guard"]


def stand_in_module(reason: str, user: str, **attributes: Any) -> types.ModuleType:
    """A stand-in ``torchaudio`` module carrying ``attributes``.

    Parameters
    ----------
    reason : str
        Why the real torchaudio failed to import (first line of the error).
    user : str
        Who needs the stand-in (for its docstring), e.g. ``"a peer model"``.
    **attributes
        The only names the importing package touches, each raising an
        explanatory ``ImportError`` when used.

    Returns
    -------
    types.ModuleType
        Named ``torchaudio``, with ``__sotbench_stand_in__ = True``.
    """
    shim = types.ModuleType("torchaudio")
    shim.__doc__ = (f"sotbench stand-in for torchaudio, present only while {user} is imported; "
                    "the real torchaudio failed to import: " + reason)
    shim.__sotbench_stand_in__ = True  # type: ignore[attr-defined]
    for name, value in attributes.items():
        setattr(shim, name, value)
    return shim


@contextlib.contextmanager
def torchaudio_guard(make_stand_in: Callable[[str], types.ModuleType]) -> Iterator[None]:
    """Make ``import torchaudio`` succeed during the block if it fails otherwise.

    If the real torchaudio imports, nothing is changed.  Otherwise
    ``make_stand_in(reason)`` is placed in ``sys.modules`` for the duration of
    the block and the previous entry (absent, or ``None`` that blocks the
    import on purpose) is restored afterwards, so only modules imported inside
    the block hold a reference to the stand-in.
    """
    try:
        import torchaudio  # noqa: F401
    except Exception as err:  # ImportError, or OSError from a wheel built for another torch
        reason = f"{type(err).__name__}: {err}".splitlines()[0][:200]
    else:
        yield
        return
    shim = make_stand_in(reason)
    missing = object()
    previous = sys.modules.get("torchaudio", missing)
    sys.modules["torchaudio"] = shim
    try:
        yield
    finally:
        if sys.modules.get("torchaudio") is shim:
            if previous is missing:
                del sys.modules["torchaudio"]
            else:
                sys.modules["torchaudio"] = previous  # type: ignore[assignment]
