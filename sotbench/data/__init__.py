"""Datasets: real-layout loaders, embedded generated datasets, audio I/O.

Evaluation datasets (:data:`EVAL_DATASETS`) map a name to a loader
``loader(root=None, **kw) -> LazyTracks``: a sequence of
:class:`~sotbench.types.MultiPitchTrack` whose length and names are known up
front and whose items are read on access (iterate it to stream a dataset
with bounded memory; ``list(...)`` loads everything).  Common keywords:
``tracks=`` (names, prefixes or 1-based indices), ``path=`` (this dataset's
own folder, overriding the data root) and ``sample_rate=`` (resample, Hz).
``root`` is the data root (see :mod:`sotbench.data.roots`); the generated
``chorales-synth`` ignores it and renders into the cache (``cache=``,
default ``$SOTBENCH_CACHE`` or ``~/.cache/sotbench``) on first use.

Training data: :func:`load_nsynth` (real NSynth or the generated
``notes-synth``, which is written in NSynth's layout).

Bad data never becomes a number (``docs/datasets.md`` is the user-facing
description of each layout and of these rules):

* :func:`named_data_root` -- the data root the user named (``data_root=`` or
  ``$SOTBENCH_DATA_ROOT``), checked to exist (:class:`DataPathNotFound`), or
  ``None`` when none was named.  Call it up front whatever the eval list.
* Every evaluation loader raises :class:`DatasetNotFound` when the dataset is
  absent (the only error a runner may turn into a skip, for datasets the user
  did not ask for), :class:`DataPathNotFound` for a missing path the user named
  and :class:`DatasetMalformed` when it is present but broken (both always
  errors).  All three derive from :class:`DatasetError` (a ``ValueError``).
* Every evaluation loader accepts ``skip_incomplete=False``; with ``True``,
  tracks lacking a file are left out and listed in ``tracks.skipped``
  (name -> reason).
* Every loaded track carries ``track.warnings`` (list of str: duration
  mismatches within the error limit, clipping, silence, odd sample rates).

This package never imports models, tasks or the runner.
"""
from __future__ import annotations

import difflib

from .audio import audio_info, load_audio, resample, to_mono, validate_audio
from .bach10 import load_bach10
from .chorales import ChoraleConfig, build_chorales_synth, load_chorales_synth
from .guitarset import load_guitarset
from .notes import NotesConfig, build_notes_synth, load_notes_synth
from .nsynth import NSynthNote, load_nsynth
from .roots import (
    DataPathNotFound,
    DatasetError,
    DatasetMalformed,
    DatasetNotFound,
    cache_dir,
    data_root,
    dataset_dir,
    named_data_root,
)
from .su import load_su
from .tracks import LazyTracks
from .trios import load_trios
from .urmp import load_urmp

__all__ = [
    "EVAL_DATASETS", "get_eval_loader", "load_eval_dataset",
    "load_bach10", "load_urmp", "load_su", "load_trios", "load_guitarset", "load_chorales_synth",
    "build_chorales_synth", "ChoraleConfig", "load_nsynth", "NSynthNote", "load_notes_synth",
    "build_notes_synth", "NotesConfig", "LazyTracks", "DatasetError", "DatasetNotFound", "DataPathNotFound",
    "DatasetMalformed", "data_root", "named_data_root", "dataset_dir", "cache_dir", "load_audio",
    "audio_info", "resample", "to_mono", "validate_audio",
]

#: Evaluation datasets: name -> ``loader(root=None, **kw) -> LazyTracks``.
EVAL_DATASETS = {
    "bach10": load_bach10,
    "urmp": load_urmp,
    "su": load_su,
    "trios": load_trios,
    "guitarset": load_guitarset,
    "chorales-synth": load_chorales_synth,
}


def get_eval_loader(name: str):
    """Look up an evaluation dataset loader; unknown names get a did-you-mean ``ValueError``."""
    key = str(name).lower()
    if key not in EVAL_DATASETS:
        close = difflib.get_close_matches(key, EVAL_DATASETS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown evaluation dataset {name!r}{hint} "
                         f"(known: {', '.join(EVAL_DATASETS)})")
    return EVAL_DATASETS[key]


def load_eval_dataset(name: str, root=None, **kw) -> LazyTracks:
    """``get_eval_loader(name)(root, **kw)``."""
    return get_eval_loader(name)(root, **kw)
