"""Where datasets and generated data live on disk.

Resolution rules (documented once, used by every loader):

* **Data root** (:func:`data_root`), first match wins:

  1. an explicit value (the ``data_root=`` config setting or a function
     argument);
  2. the environment variable ``SOTBENCH_DATA_ROOT``;
  3. ``./data`` (relative to the current working directory);
  4. ``../shared/datasets`` (relative to the current working directory, then
     relative to the project root -- this is where CI keeps the real Bach10).

  An explicit value or an environment variable that names a missing folder is
  an error (:class:`DataPathNotFound`, whatever the evaluation list: falling
  back silently would evaluate on the wrong data).  The chosen root is logged
  (logger ``sotbench.data``, level INFO).

* **Dataset folder** (:func:`dataset_dir`): under the root each dataset sits in
  a folder of its usual name (:data:`DATASET_FOLDERS`, e.g. ``Bach10_v1.1/`` or
  ``Bach10/``).  Each dataset can be pointed elsewhere with its own path
  setting (``override=``, the loaders' ``path=`` keyword) or the environment
  variable ``SOTBENCH_<NAME>_DIR`` (e.g. ``SOTBENCH_BACH10_DIR``).

* **Cache** (:func:`cache_dir`): ``SOTBENCH_CACHE`` or ``~/.cache/sotbench``;
  generated datasets (``chorales-synth``, ``notes-synth``) are written there.

Errors (all :class:`DatasetError`, a ``ValueError``; every message names the
path and points to the dataset's section of ``docs/datasets.md``):

* :class:`DatasetNotFound` -- the dataset is **absent** (no folder of its
  usual name under the data root, or no data root at all when none was named).
  A runner may skip such a dataset, and only when the user did not ask for it.
* :class:`DataPathNotFound` -- a path the **user named** does not exist
  (``data_root=``, ``$SOTBENCH_DATA_ROOT``, a loader's ``path=`` or
  ``$SOTBENCH_<NAME>_DIR``).  Always an error.
* :class:`DatasetMalformed` -- the dataset is **present but broken** (a track
  folder lacking a file, a stray folder, an unreadable or empty file, audio and
  ground truth of very different lengths).  Always an error.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from sotbench.io import atomic_write_bytes, atomic_write_text, cache_dir  # re-exported

__all__ = [
    "DatasetError", "DatasetNotFound", "DataPathNotFound", "DatasetMalformed", "DATASETS_DOC",
    "layout_doc", "named_data_root", "DATASET_FOLDERS", "EXPECTED_LAYOUT", "data_root", "dataset_dir",
    "cache_dir", "atomic_write_bytes", "atomic_write_text",
]

log = logging.getLogger("sotbench.data")

#: Usual folder names of each dataset under the data root, in order of preference.
DATASET_FOLDERS: dict[str, tuple[str, ...]] = {
    "bach10": ("Bach10_v1.1", "Bach10"),
    "urmp": ("URMP",),
    "su": ("Su",),
    "trios": ("TRIOS", "TRIOS Dataset"),
    "guitarset": ("GuitarSet",),
    "nsynth": ("NSynth",),
}

#: One-line description of the files each dataset folder must hold (used in errors).
EXPECTED_LAYOUT: dict[str, str] = {
    "bach10": "folders 'NN-Name/' each holding 'NN-Name.wav' (mix) and 'NN-Name-GTF0s.mat'",
    "urmp": "'Dataset/NN_Piece_inst1_inst2.../' folders (or those folders directly) each holding "
            "'AuMix_<folder>.wav' and one 'F0s_<k>_<inst>_<NN>_<Piece>.txt' per instrument",
    "su": "'audio/<track>_audio.wav' and 'gt_F0/<track>_F0.txt' (or 'gt_Note/<track>_note.txt')",
    "trios": "piece folders (brahms, lussier, mozart, schubert, take_five) each holding 'mix.wav' "
             "and '<instrument>.mid'",
    "guitarset": "'annotation/<track>.jams' and 'audio_mono-mic/<track>_mic.wav'",
    "nsynth": "'nsynth-{train,valid,test}/examples.json' and 'nsynth-<split>/audio/<note_str>.wav'",
}

_ENV_ROOT = "SOTBENCH_DATA_ROOT"


#: The project's own description of each dataset's layout (relative to the project root).
DATASETS_DOC = "docs/datasets.md"


def layout_doc(name: str | None = None) -> str:
    """``"docs/datasets.md#<name>"``: where a dataset's expected layout is described."""
    return f"{DATASETS_DOC}#{name.lower()}" if name else DATASETS_DOC


class DatasetError(ValueError):
    """Base class of the data errors below (a ``ValueError``: bad input named with its fix)."""


class DatasetNotFound(DatasetError):
    """The dataset is absent: no folder of its usual name under the data root (or no data root).

    The only data error a runner may turn into a skipped dataset, and only for a
    dataset the user did not name explicitly.
    """


class DataPathNotFound(DatasetError):
    """A path the user named does not exist: always an error, never a skip.

    Named paths are ``data_root=``, ``$SOTBENCH_DATA_ROOT``, ``path=`` and ``$SOTBENCH_<NAME>_DIR``.
    """


class DatasetMalformed(DatasetError):
    """The dataset is present but malformed; the message names the offending file or folder.

    Always an error (a loader's ``skip_incomplete=True`` turns tracks with missing
    files into recorded skips instead; see ``docs/datasets.md``).
    """


def _project_root() -> Path:
    # sotbench/data/roots.py -> project root two levels above the package
    return Path(__file__).resolve().parents[2]


def _env_path(var: str) -> Path | None:
    value = os.environ.get(var, "").strip()
    return Path(value).expanduser() if value else None


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve the folder that holds the real datasets.

    Parameters
    ----------
    explicit : str or path-like, optional
        The ``data_root`` config value.  Takes precedence over everything.

    Returns
    -------
    Path
        An existing directory (absolute).

    Raises
    ------
    DataPathNotFound
        If ``explicit`` or ``SOTBENCH_DATA_ROOT`` names a missing folder.
    DatasetNotFound
        If nothing was named and none of the default locations exists.
    """
    if explicit is not None and str(explicit).strip():
        path = Path(explicit).expanduser()
        if not path.is_dir():
            raise DataPathNotFound(
                f"data root {str(path)!r} (from the data_root setting) does not exist or is not a "
                "directory; point data_root= at the folder that holds Bach10_v1.1/, URMP/, Su/, ... "
                f"(see {layout_doc('data-root')})")
        log.info("data root %s (from the data_root setting)", path)
        return path.resolve()
    env = _env_path(_ENV_ROOT)
    if env is not None:
        if not env.is_dir():
            raise DataPathNotFound(
                f"data root {str(env)!r} (from ${_ENV_ROOT}) does not exist or is not a directory; "
                f"fix or unset {_ENV_ROOT} (see {layout_doc('data-root')})")
        log.info("data root %s (from $%s)", env, _ENV_ROOT)
        return env.resolve()
    candidates = [(Path.cwd() / "data", "./data"),
                  (Path.cwd().parent / "shared" / "datasets", "../shared/datasets"),
                  (_project_root().parent / "shared" / "datasets",
                   "../shared/datasets (from the project root)")]
    for path, label in candidates:
        if path.is_dir():
            log.info("data root %s (default %s)", path, label)
            return path.resolve()
    tried = ", ".join(str(p) for p, _ in candidates)
    raise DatasetNotFound(
        f"no data root found (tried {tried}); set data_root= or ${_ENV_ROOT} to the folder "
        f"holding the datasets (see {layout_doc('data-root')})")


def named_data_root(explicit: str | os.PathLike | None = None) -> Path | None:
    """The data root the user named, checked; ``None`` when none was named.

    Parameters
    ----------
    explicit : str or path-like, optional
        The ``data_root`` config value (``None`` or blank = not named).

    Returns
    -------
    Path or None
        ``data_root(explicit)`` when ``explicit`` or ``$SOTBENCH_DATA_ROOT``
        is set; ``None`` otherwise (the defaults ``./data`` and
        ``../shared/datasets`` are not "named": their absence is not an error).

    Raises
    ------
    DataPathNotFound
        The named folder does not exist.  Runners call this before evaluating
        anything, whatever the evaluation list (even one of generated datasets
        only), so a mistyped root never goes unnoticed.
    """
    named = (explicit is not None and str(explicit).strip()) or _env_path(_ENV_ROOT) is not None
    return data_root(explicit) if named else None


def _known(name: str) -> str:
    key = name.lower()
    if key not in DATASET_FOLDERS:
        import difflib
        close = difflib.get_close_matches(key, DATASET_FOLDERS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown dataset {name!r}{hint} (known: {', '.join(DATASET_FOLDERS)})")
    return key


def dataset_dir(name: str, root: str | os.PathLike | None = None,
                override: str | os.PathLike | None = None) -> Path:
    """Locate one dataset's folder.

    Parameters
    ----------
    name : str
        Dataset key: one of :data:`DATASET_FOLDERS` (``bach10``, ``urmp``, ...).
    root : str or path-like, optional
        Data root (see :func:`data_root`).  A path whose folder name is one of
        the dataset's usual names (e.g. ``.../Bach10_v1.1``) is taken as the
        dataset folder itself.
    override : str or path-like, optional
        This dataset's own path setting; wins over ``SOTBENCH_<NAME>_DIR`` and
        the root.

    Returns
    -------
    Path
        An existing directory.  Its contents are checked by the loader.

    Raises
    ------
    DataPathNotFound
        ``override`` or ``SOTBENCH_<NAME>_DIR`` names a missing folder (or
        ``root`` does, see :func:`data_root`).
    DatasetNotFound
        The dataset's folder is absent under the root; names the expected
        path(s) and the files that should be there.
    """
    key = _known(name)
    folders = DATASET_FOLDERS[key]
    expected = EXPECTED_LAYOUT[key]
    env_var = f"SOTBENCH_{key.upper()}_DIR"
    for source, value in (("path setting", override), (f"${env_var}", _env_path(env_var))):
        if value is not None and str(value).strip():
            path = Path(value).expanduser()
            if not path.is_dir():
                raise DataPathNotFound(
                    f"{key} folder {str(path)!r} (from the {source}) does not exist; "
                    f"it should hold {expected} (see {layout_doc(key)})")
            log.info("%s folder %s (from the %s)", key, path, source)
            return path
    if root is not None and Path(root).name in folders and Path(root).is_dir():
        return Path(root)
    base = data_root(root)
    for folder in folders:
        path = base / folder
        if path.is_dir():
            log.info("%s folder %s", key, path)
            return path
    names = " or ".join(f"{str(base / f)!r}" for f in folders)
    raise DatasetNotFound(
        f"{key} not found: expected {names} holding {expected}; "
        f"set its path setting (path=...) or ${env_var} if it lives elsewhere (see {layout_doc(key)})")

