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
  an error (falling back silently would evaluate on the wrong data).  The
  chosen root is logged (logger ``sotbench.data``, level INFO).

* **Dataset folder** (:func:`dataset_dir`): under the root each dataset sits in
  a folder of its usual name (:data:`DATASET_FOLDERS`, e.g. ``Bach10_v1.1/`` or
  ``Bach10/``).  Each dataset can be pointed elsewhere with its own path
  setting (``override=``, the loaders' ``path=`` keyword) or the environment
  variable ``SOTBENCH_<NAME>_DIR`` (e.g. ``SOTBENCH_BACH10_DIR``).

* **Cache** (:func:`cache_dir`): ``SOTBENCH_CACHE`` or ``~/.cache/sotbench``;
  generated datasets (``chorales-synth``, ``notes-synth``) are written there.

A missing or malformed dataset raises :class:`DatasetNotFound` (a
``ValueError``) whose message names the path that was expected and the files
that should be in it.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from sotbench.io import atomic_write_bytes, atomic_write_text, cache_dir  # re-exported

__all__ = [
    "DatasetNotFound", "DATASET_FOLDERS", "EXPECTED_LAYOUT", "data_root", "dataset_dir",
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


class DatasetNotFound(ValueError):
    """A dataset (or the data root) is missing or does not have the expected layout."""


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
    DatasetNotFound
        If ``explicit`` or ``SOTBENCH_DATA_ROOT`` names a missing folder, or if
        none of the default locations exists.
    """
    if explicit is not None and str(explicit).strip():
        path = Path(explicit).expanduser()
        if not path.is_dir():
            raise DatasetNotFound(
                f"data root {str(path)!r} (from the data_root setting) is not a directory; "
                "point data_root= at the folder that holds Bach10_v1.1/, URMP/, Su/, ...")
        log.info("data root %s (from the data_root setting)", path)
        return path.resolve()
    env = _env_path(_ENV_ROOT)
    if env is not None:
        if not env.is_dir():
            raise DatasetNotFound(
                f"data root {str(env)!r} (from ${_ENV_ROOT}) is not a directory; "
                f"fix or unset {_ENV_ROOT}")
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
        "holding the datasets (see ../shared/datasets/README.md)")


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
    DatasetNotFound
        Naming the expected path(s) and the files that should be there.
    """
    key = _known(name)
    folders = DATASET_FOLDERS[key]
    expected = EXPECTED_LAYOUT[key]
    env_var = f"SOTBENCH_{key.upper()}_DIR"
    for source, value in (("path setting", override), (f"${env_var}", _env_path(env_var))):
        if value is not None and str(value).strip():
            path = Path(value).expanduser()
            if not path.is_dir():
                raise DatasetNotFound(
                    f"{key} folder {str(path)!r} (from the {source}) does not exist; "
                    f"it should hold {expected}")
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
        f"set its path setting (path=...) or ${env_var} if it lives elsewhere")

