"""Tasks, registered in :data:`sotbench.registry.TASKS` on import.

* :mod:`sotbench.tasks.synth_ae` -- paper 000's synthetic harmonic
  autoencoder (``synth-ae``).
* :mod:`sotbench.tasks.mpe` -- multi-pitch estimation (``mpe``).

Both are imported unconditionally: a broken task module is an import error,
never a silently missing registry entry.
"""
from sotbench.tasks import mpe, synth_ae  # noqa: F401
