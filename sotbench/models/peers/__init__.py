"""Peer multi-pitch estimators: Basic-Pitch, CREPE (torchcrepe) and PESTO.

Each adapter wraps a published, pre-trained model shipped inside its PyPI wheel
and exposes it through :class:`sotbench.models.base.SalienceModel`, so the MPE
task scores the peers exactly like SS-MPE (local maxima along frequency,
threshold, ``mir_eval.multipitch``).  For the monophonic models (CREPE, PESTO)
this is the "multi" variant of paper 002's Table 1.

Registered models (``sotbench.registry.MODELS``, ``task="mpe"``):

============================  ==============================================================
``basic-pitch``               Basic-Pitch 0.4.0 ``contour`` output (ONNX model, 264 bins,
                              3 bins/semitone from 27.5 Hz, ~86 frames/s).
``basic-pitch-notes``         Extra row: Basic-Pitch's own note post-processing, rasterised
                              to a frame-level pitch set (value 1 at each active note).
``crepe``                     torchcrepe 0.0.24 ``full`` (360 bins of 20 cents, 10 ms hop).
``crepe-tiny``                torchcrepe 0.0.24 ``tiny``.
``pesto``                     pesto-pitch 2.0.1 ``mir-1k_g7`` (384 bins, 3 bins/semitone from
                              MIDI 0, 10 ms hop).
============================  ==============================================================

Modules (one per peer, plus the shared parts):

* :mod:`~sotbench.models.peers.optional` -- importing the optional packages
  (install hint, version pins, the torchaudio stand-in guard);
* :mod:`~sotbench.models.peers.cache` -- the on-disk salience cache
  (``$SOTBENCH_CACHE/salience/...``; ``cache=False`` disables it);
* :mod:`~sotbench.models.peers.base` -- :class:`PeerModel` (input checks,
  caching, timing in ``model.last_stats``) and registration;
* :mod:`~sotbench.models.peers.basic_pitch`, :mod:`~sotbench.models.peers.crepe`,
  :mod:`~sotbench.models.peers.pesto` -- the adapters, each with its axis and
  frame-time conventions (checked by ``tests/models/test_peers.py``).

Importing this package never needs a peer package: a missing one makes the
factory raise :class:`~sotbench.models.base.ModelUnavailable` with the install
command, and ``sotbench ls`` marks the model unavailable.
"""
from sotbench.models.peers.base import ADAPTER_VERSION, DEFAULT_THRESHOLD, PeerModel
from sotbench.models.peers.basic_pitch import BasicPitch, BasicPitchNotes, _basic_pitch, _basic_pitch_notes
from sotbench.models.peers.cache import salience_cache_dir
from sotbench.models.peers.crepe import TorchCrepe, _crepe, _crepe_tiny, crepe_bin_frequencies
from sotbench.models.peers.optional import INSTALL_COMMAND, INSTALL_DETAIL, PINNED_VERSIONS
from sotbench.models.peers.optional import import_peer as _import_peer
from sotbench.models.peers.pesto import Pesto, _pesto

__all__ = [
    "ADAPTER_VERSION",
    "DEFAULT_THRESHOLD",
    "INSTALL_COMMAND",
    "INSTALL_DETAIL",
    "PINNED_VERSIONS",
    "PeerModel",
    "BasicPitch",
    "BasicPitchNotes",
    "TorchCrepe",
    "Pesto",
    "crepe_bin_frequencies",
    "salience_cache_dir",
]

# Private names kept for tests and callers of the former single module.
_FACTORIES = (_basic_pitch, _basic_pitch_notes, _crepe, _crepe_tiny, _pesto, _import_peer)
