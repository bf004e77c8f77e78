"""File I/O shared by every layer: atomic writes, safe checkpoint reads, the cache root.

This module is the one home for writing files that must never be seen half
written (result files, checkpoints, caches, reports) and for reading torch
files without executing code.  It imports nothing from the rest of sotbench,
so any layer may use it.

Conventions
-----------
* Every write goes to a temporary file in the destination folder, is flushed
  and fsynced, then renamed over the destination (``os.replace``, atomic on
  POSIX).  A killed process leaves either the old file or the new one.
* Written files get the usual permissions (``0o666`` masked by the process
  umask, i.e. 0644 under the default umask), not the 0600 that
  :func:`tempfile.mkstemp` would leave.
* Torch files are read with ``weights_only=True``: a planted pickle cannot run
  code.  Only tensors, plain containers and primitive values load.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_torch_save",
    "safe_torch_load",
    "ensure_writable_dir",
    "cache_dir",
    "CACHE_ENV",
]

#: Environment variable naming the folder for generated data (default ``~/.cache/sotbench``).
CACHE_ENV = "SOTBENCH_CACHE"


def _umask() -> int:
    """The process umask (read without changing it for longer than one call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Write a file atomically through ``write(handle)``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; parent folders are created.
    write : callable
        Called with a binary file handle open on the temporary file.

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Atomically write ``data`` to ``path`` (see :func:`atomic_write`)."""
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write UTF-8 ``text`` to ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, payload: Any, *, indent: int = 2) -> Path:
    """Atomically write ``payload`` as JSON (``allow_nan=False``: NaN/inf are an error).

    Raises
    ------
    ValueError
        ``payload`` holds NaN or infinity; convert them (e.g. to ``None``) first.
    """
    text = json.dumps(payload, indent=indent, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically ``torch.save`` ``obj`` (state dicts and plain containers) to ``path``."""
    import torch

    return atomic_write(path, lambda handle: torch.save(obj, handle))


def safe_torch_load(path: str | os.PathLike, *, map_location: Any = "cpu") -> Any:
    """Load a torch file with ``weights_only=True`` (no code runs, whatever the file holds).

    Raises
    ------
    ValueError
        The file cannot be read as weights only: it is corrupt, truncated, or
        holds pickled objects other than tensors and plain containers.  The
        message names the file and the fix.
    """
    import torch

    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise ValueError(
            f"{path} cannot be loaded as weights only ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); it is corrupt or holds foreign "
            "pickled objects: delete it (or re-run with overwrite=true) so it is written again") from err


def ensure_writable_dir(directory: str | os.PathLike, *, what: str = "folder", fix: str = "") -> Path:
    """Create ``directory`` and prove a file can be written there.

    Parameters
    ----------
    directory : str or os.PathLike
        The folder (created with its parents).
    what : str
        How the message names the folder (e.g. ``"results directory"``).
    fix : str
        How the user chooses another folder (e.g. ``"results_root=<dir>"``).

    Raises
    ------
    ValueError
        The folder cannot be created or written; the message names it and the fix.
    """
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        hint = f"; choose another with {fix}" if fix else ""
        raise ValueError(f"{what} {path} is not writable ({err.strerror}){hint}") from None
    return path


def cache_dir() -> Path:
    """Folder for generated data: ``$SOTBENCH_CACHE`` or ``~/.cache/sotbench`` (created)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    path = Path(value).expanduser() if value else Path.home() / ".cache" / "sotbench"
    path.mkdir(parents=True, exist_ok=True)
    return path
