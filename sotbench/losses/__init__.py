"""Spectral losses: 1-D Wasserstein (W_p), SOT, MSS and the paper's named configurations.

Importing this package registers the named loss configurations (Table 1 of
Torres et al. 2024) in :data:`sotbench.registry.LOSSES`.
"""
from . import wasserstein, mss, sot, configs  # noqa: F401  (registration)
from .mss import MSSLoss  # noqa: F401
from .sot import SOTLoss  # noqa: F401
from .wasserstein import wasserstein_1d, wasserstein_distance  # noqa: F401

try:  # SS-MPE objectives live in their own module (added separately)
    from . import ssmpe  # noqa: F401
except ImportError as err:
    if getattr(err, "name", None) not in ("sotbench.losses.ssmpe", "sotbench.losses") \
            or "ssmpe" not in str(err):
        raise
