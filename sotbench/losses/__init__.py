"""Spectral losses: 1-D Wasserstein (W_p), SOT, MSS and the paper's named configurations.

Importing this package registers the named loss configurations (Table 1 of
Torres et al. 2024) and the ``sot-loss-*`` peer losses (the authors' package,
optional: their factories raise :class:`~sotbench.losses.peers.LossUnavailable`
with the install command when it is absent) in :data:`sotbench.registry.LOSSES`.
"""
from . import circular, configs, mss, peers, sot, ssmpe, transform_sot, wasserstein  # noqa: F401
from .circular import circular_wasserstein_1d  # noqa: F401
from .mss import MSSLoss  # noqa: F401
from .peers import LossUnavailable  # noqa: F401
from .sot import MultiResolutionSOTLoss, SOTLoss  # noqa: F401
from .transform_sot import CQTSOTLoss, MelSOTLoss, TransformSOTLoss  # noqa: F401
from .wasserstein import wasserstein_1d, wasserstein_distance  # noqa: F401
