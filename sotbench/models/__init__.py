"""Models, registered in :data:`sotbench.registry.MODELS` on import.

* :mod:`sotbench.models.harmonic_ae` -- paper 000's harmonic autoencoder
  (``harmonic-ae``, task ``synth-ae``).
* :mod:`sotbench.models.ssmpe` -- paper 002's SS-MPE model (task ``mpe``).
* :mod:`sotbench.models.baselines` -- DSP multi-pitch baselines (task ``mpe``).
* :mod:`sotbench.models.peers` -- published pitch estimators (task ``mpe``).

Every module here is imported unconditionally: a broken module is an import
error, never a silently missing registry entry.  Only the *optional peer
packages* (basic-pitch, torchcrepe, pesto-pitch) may be absent; their adapters
register anyway, raise :class:`~sotbench.models.base.ModelUnavailable` with the
install command when built, and ``sotbench ls`` marks them unavailable.
"""
from sotbench.models import baselines, harmonic_ae, peers, ssmpe  # noqa: F401
