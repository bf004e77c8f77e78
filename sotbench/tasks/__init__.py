"""Tasks, registered in :data:`sotbench.registry.TASKS` on import.

* :mod:`sotbench.tasks.synth_ae` -- paper 000's synthetic harmonic
  autoencoder (``synth-ae``).
* :mod:`sotbench.tasks.mpe` -- multi-pitch estimation (``mpe``); optional
  here: if that module is absent ``synth-ae`` still registers.
"""
import importlib

from sotbench.tasks import synth_ae  # noqa: F401

try:
    importlib.import_module("sotbench.tasks.mpe")
except ModuleNotFoundError as _err:
    if _err.name != "sotbench.tasks.mpe":
        raise
