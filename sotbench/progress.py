"""The one progress-bar wrapper of sotbench (tqdm on stderr).

Models, tasks and figures show progress through :func:`progress` only, so a
bar looks the same everywhere and ``progress=false`` hides all of them.  This
module imports nothing from the rest of sotbench: any layer may use it.
"""
from __future__ import annotations

from typing import Any, Iterable, TypeVar

__all__ = ["progress"]

T = TypeVar("T")


def progress(iterable: Iterable[T], enabled: bool = True, desc: str | None = None,
             total: int | None = None, **kwargs: Any) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm progress bar when ``enabled``.

    Parameters
    ----------
    iterable : iterable
        What to iterate over.
    enabled : bool
        ``False`` returns ``iterable`` unchanged (no bar, no tqdm import).
    desc : str, optional
        Label shown before the bar.
    total : int, optional
        Number of items, for iterables without ``len``.
    **kwargs
        Passed to :class:`tqdm.auto.tqdm` (e.g. ``unit="batch"``); the bar is
        removed when done unless ``leave=True`` is given.

    Returns
    -------
    iterable
        ``iterable`` itself or the bar iterating over it.
    """
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    kwargs.setdefault("leave", False)
    return tqdm(iterable, desc=desc, total=total, **kwargs)
