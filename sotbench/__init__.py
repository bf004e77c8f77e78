"""sotbench: a benchmark harness for spectral OT losses and self-supervised multi-pitch estimation.

Python API (see :mod:`sotbench.api`; imported on first use, so ``import sotbench`` stays light):
``sotbench.evaluate``, ``sotbench.load_results``, ``sotbench.register_model``, ``sotbench.validate_model``,
``sotbench.render_report``, ``sotbench.rescore``.
"""
__version__ = "0.1.0"

_API = ("evaluate", "load_results", "register_model", "validate_model", "render_report", "rescore")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from sotbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'sotbench' has no attribute {name!r}")
