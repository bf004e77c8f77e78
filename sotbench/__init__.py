"""sotbench: a benchmark harness for spectral OT losses and self-supervised multi-pitch estimation."""
__version__ = "0.1.0"
