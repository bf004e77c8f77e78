"""Models, registered in :data:`sotbench.registry.MODELS` on import.

* :mod:`sotbench.models.harmonic_ae` -- paper 000's harmonic autoencoder
  (``harmonic-ae``, task ``synth-ae``).
* :mod:`sotbench.models.ssmpe` -- paper 002's SS-MPE model (task ``mpe``).
* :mod:`sotbench.models.baselines` -- DSP multi-pitch baselines (task ``mpe``).
* :mod:`sotbench.models.peers` -- published pitch estimators (task ``mpe``).

The last three are optional here: if one of those modules is absent the
others still register.  Errors inside a present module are not hidden.
"""
import importlib

from sotbench.models import harmonic_ae  # noqa: F401

for _name in ("baselines", "ssmpe", "peers"):
    try:
        importlib.import_module(f"sotbench.models.{_name}")
    except ModuleNotFoundError as _err:
        if _err.name != f"sotbench.models.{_name}":
            raise
del _name
