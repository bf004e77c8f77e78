"""One registry for tasks, models and losses.

Every pluggable component of sotbench is registered here under a short
kebab-case name (``sot-2048``, ``harmonic-ae``, ``mpe``).  The command line,
the runner and the reports resolve names through these registries only, so an
unknown name always produces the same "did you mean" error and ``sotbench ls``
always lists what really exists.

This module imports nothing else from sotbench: every layer may register into
it without creating an import cycle.  :func:`load_all` imports the modules
that populate the registries.
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

__all__ = ["Entry", "Registry", "TASKS", "MODELS", "LOSSES", "load_all"]


@dataclass(frozen=True)
class Entry:
    """A registered component.

    Attributes
    ----------
    name : str
        Registry key (kebab-case).
    factory : callable
        Builds the component; its signature depends on the registry.
    description : str
        One line shown by ``sotbench ls``.
    meta : dict
        Free-form facts (task a model belongs to, install hint, ...).
    """

    name: str
    factory: Callable[..., Any]
    description: str = ""
    meta: dict = field(default_factory=dict)


class Registry:
    """Name -> :class:`Entry` mapping with helpful errors.

    Parameters
    ----------
    kind : str
        What the registry holds (``"task"``, ``"model"``, ``"loss"``); used in
        error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.plural = kind + ("es" if kind.endswith("s") else "s")  # "losses", "models", "tasks"
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, factory: Callable[..., Any] | None = None, *,
                 description: str = "", **meta: Any):
        """Register ``factory`` under ``name``; usable as a decorator.

        Raises
        ------
        ValueError
            If ``name`` is already taken by a different factory.
        """

        def _add(obj: Callable[..., Any]) -> Callable[..., Any]:
            existing = self._entries.get(name)
            if existing is not None and existing.factory is not obj:
                raise ValueError(
                    f"{self.kind} {name!r} is registered twice; pick another name")
            doc = description or (obj.__doc__ or "").strip().split("\n")[0]
            self._entries[name] = Entry(name, obj, doc, dict(meta))
            return obj

        return _add(factory) if factory is not None else _add

    def entry(self, name: str) -> Entry:
        """Return the entry for ``name``.

        Raises
        ------
        ValueError
            Unknown name; the message lists the closest known names.
        """
        load_all()
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(self.unknown_message(name)) from None

    def get(self, name: str) -> Callable[..., Any]:
        """Return the factory registered under ``name`` (see :meth:`entry`)."""
        return self.entry(name).factory

    def unknown_message(self, name: str) -> str:
        """Error text for an unknown ``name``, with "did you mean" hints."""
        close = difflib.get_close_matches(str(name), list(self._entries), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return (f"unknown {self.kind} {name!r}.{hint} "
                f"Known {self.plural}: {', '.join(sorted(self._entries))}. "
                f"Run `sotbench ls` for descriptions.")

    def names(self) -> list[str]:
        """Sorted registered names."""
        load_all()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        load_all()
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        load_all()
        return iter(sorted(self._entries.values(), key=lambda e: e.name))


TASKS = Registry("task")
MODELS = Registry("model")
LOSSES = Registry("loss")

# Modules whose import registers components.  They are imported plainly: a
# broken module raises its own error (``sotbench ls`` fails with it) instead of
# leaving a silently missing registry entry.
_POPULATING_MODULES = ("sotbench.losses", "sotbench.models", "sotbench.tasks")
_loaded = False
_loading = False


def load_all() -> None:
    """Import every module that registers components (idempotent).

    Raises
    ------
    Exception
        Whatever a populating module raises on import.  The registries are
        then not marked loaded, so later lookups fail too instead of serving a
        partial registry.
    """
    global _loaded, _loading
    if _loaded or _loading:  # _loading: a lookup made while the modules import
        return
    _loading = True
    try:
        for module in _POPULATING_MODULES:
            importlib.import_module(module)
    finally:
        _loading = False
    _loaded = True
