"""asv performance suite of sotbench (see docs/performance.md).

asv runs this package with the ``forkserver`` launch method (asv.conf.json):
the server imports the benchmark modules once and forks one process per
benchmark.  The heavy, stable imports below are done here, once, so each fork
starts warm.  Nothing here runs a torch operation (OpenMP thread pools must
not exist before the fork).  Missing optional modules are ignored here; the
benchmarks that need them skip in ``setup``.
"""
import importlib as _importlib

for _name in ("torch", "numpy", "scipy.signal", "ot", "numba", "nnAudio.features",
              "sotbench.registry", "sotbench.losses.wasserstein",
              "sotbench.dsp.cqt", "sotbench.dsp.hcqt"):
    try:
        _importlib.import_module(_name)
    except Exception:  # noqa: BLE001 - reported by the benchmark that needs it
        pass
del _importlib, _name
