"""Tasks, registered in :data:`sotbench.registry.TASKS` on import.

* :mod:`sotbench.tasks.synth_ae` -- paper 000's synthetic harmonic
  autoencoder (``synth-ae``).
* :mod:`sotbench.tasks.mpe` -- multi-pitch estimation (``mpe``).
* :mod:`sotbench.tasks.synth_fit` -- gradient-descent f0 estimation without
  a network (``synth-fit``).

All are imported unconditionally: a broken task module is an import error,
never a silently missing registry entry.
"""
from sotbench.tasks import mpe, synth_ae, synth_fit  # noqa: F401
