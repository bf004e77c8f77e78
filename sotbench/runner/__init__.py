"""Run orchestration: Hydra configuration, results store, provenance."""
