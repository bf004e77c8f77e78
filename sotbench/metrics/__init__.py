"""Evaluation metrics.

* :mod:`sotbench.metrics.spectral` -- log-spectral distance (paper 000's LSD).
* :mod:`sotbench.metrics.pitch` -- raw pitch / raw chroma accuracy through
  ``mir_eval.melody`` and the mean octave difference (paper 000).
* :mod:`sotbench.metrics.multipitch` -- multi-pitch peak picking and
  ``mir_eval.multipitch`` scores (paper 002).

Submodules are imported explicitly by their users; this package imports
nothing so that each metric stays usable on its own.
"""
