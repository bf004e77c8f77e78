"""The one progress-bar wrapper of sotbench (tqdm on stderr).

Models, tasks and figures show progress through :func:`progress` (wrapping an
iterable) and :func:`counter` (a bar updated by hand) only, so a bar looks the
same everywhere and ``progress=false`` hides all of them.  This
module imports nothing from the rest of sotbench: any layer may use it.
"""
from __future__ import annotations

from typing import Any, Iterable, TypeVar

__all__ = ["progress", "counter"]

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


def counter(total: int | None, enabled: bool = True, desc: str | None = None, initial: int = 0,
            **kwargs: Any) -> Any:
    """A tqdm bar advanced by hand (``bar.update(n)``), silent when not ``enabled``.

    Parameters
    ----------
    total : int or None
        Number of units the bar counts to.
    enabled : bool
        ``False`` returns a disabled bar: ``update``/``close``/``set_postfix``
        and ``with`` work and print nothing.
    desc : str, optional
        Label shown before the bar.
    initial : int
        Units already done (a resumed run).
    **kwargs
        Passed to :class:`tqdm.auto.tqdm` (``unit``, ``leave``, ``dynamic_ncols`` ...).

    Returns
    -------
    tqdm.auto.tqdm
        Close it (or use it as a context manager) when done.
    """
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, disable=not enabled, **kwargs)
