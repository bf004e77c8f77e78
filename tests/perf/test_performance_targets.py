"""The declared performance targets name benchmarks that exist (renaming one fails here)."""
from __future__ import annotations

import importlib
import inspect

import pytest

from sotbench.report.performance import RATIO_TARGETS


def _benchmark(full_name: str):
    module, cls, method = full_name.split(".")
    mod = importlib.import_module(f"benchmarks.{module}")
    klass = getattr(mod, cls)
    assert inspect.isfunction(getattr(klass, method)), full_name
    return klass


@pytest.mark.parametrize("target", RATIO_TARGETS, ids=lambda t: t.name[:40])
def test_declared_targets_exist_in_the_suite(target):
    for name in filter(None, (target.benchmark, target.gpu_benchmark)):
        klass = _benchmark(name)
        params = dict(zip(klass.param_names, klass.params))
        if target.has_device:
            assert "device" in params and {"cpu", "cuda"} <= set(params["device"])
        else:
            assert "device" not in params and target.gpu_benchmark is None
        for combo in (target.slow, target.fast):
            for key, value in combo.items():
                assert key in params, f"{name} has no parameter {key!r}"
                assert value in params[key], f"{name}: {key}={value!r} not in {params[key]}"


def test_renamed_benchmark_is_detected(monkeypatch):
    import benchmarks.bench_losses as bl

    monkeypatch.delattr(bl.WassersteinPaperShape, "time_forward_backward")
    with pytest.raises(AttributeError):
        _benchmark(RATIO_TARGETS[0].benchmark)
