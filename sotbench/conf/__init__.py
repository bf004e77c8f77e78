"""Hydra configuration shipped with sotbench (primary config, launchers)."""
