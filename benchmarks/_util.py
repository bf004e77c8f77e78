"""Shared helpers of the asv suite: devices, skips, and timing that waits for the GPU.

Conventions used by every benchmark module
------------------------------------------
* A ``device`` parameter takes ``"cpu"`` or ``"cuda"``; :func:`require_device`
  raises ``NotImplementedError`` (asv's "skip") in ``setup`` where CUDA is absent.
* Only what may legitimately be absent skips (``NotImplementedError`` from
  ``setup``): a missing third-party package (:func:`require_attr`) or an
  optional peer model / checkpoint (:func:`mpe_model`).  A missing or broken
  sotbench module, attribute or registry entry is an error: the suite fails
  loudly instead of silently measuring less.
* asv's own timer (``time_*``) does not wait for asynchronous CUDA kernels; the
  ``time_*`` benchmarks therefore end with :func:`sync`, and the ``track_*``
  timings use :func:`measure`, which times CUDA work with ``torch.cuda.Event``
  pairs and CPU work with :func:`time.perf_counter`.
* Peak GPU memory is reported by ``track_*`` benchmarks in MiB
  (:func:`peak_cuda_mib`); on the CPU they skip with ``SkipNotImplemented``.
"""
from __future__ import annotations

import importlib
import itertools
import os
import statistics
import time
from typing import Any, Callable

import numpy as np
import torch
from asv_runner.benchmarks.mark import SkipNotImplemented  # skip from inside a benchmark function

__all__ = [
    "DEVICES",
    "SkipNotImplemented",
    "require_device",
    "require_attr",
    "loss_factory",
    "mpe_model",
    "model_names",
    "sync",
    "measure",
    "peak_cuda_mib",
    "cpu_only_gpu_skip",
    "on_device",
    "with_unit",
    "seeded",
    "harmonic_batch",
    "polyphonic_audio",
]

#: Values of the ``device`` parameter.
DEVICES = ["cpu", "cuda"]

#: Wall-clock budget (s) of one :func:`measure` call before it stops repeating.
#: Small on purpose: ``asv run --quick`` calls every ``track_*`` once, and asv
#: repeats full runs itself (``repeat`` attribute).
MEASURE_BUDGET_S = float(os.environ.get("SOTBENCH_BENCH_BUDGET_S", "1.0"))
#: A single call shorter than this (s) is repeated once and the warm call kept.
REPEAT_BELOW_S = 5.0


def require_device(device: str) -> torch.device:
    """Return ``torch.device(device)`` or skip (``NotImplementedError``) when unavailable.

    Parameters
    ----------
    device : {"cpu", "cuda"}
    """
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise NotImplementedError("CUDA is not available on this machine")
        return torch.device("cuda")
    raise ValueError(f"device={device!r}; use 'cpu' or 'cuda'")


def require_attr(module: str, *names: str) -> Any:
    """Import ``module`` and return its attribute(s); skip only when a third-party package is missing.

    Returns the module when no ``names`` are given, the attribute for one name,
    a tuple for several.  A missing third-party package raises
    ``NotImplementedError`` (asv skip: the benchmark cannot run here).  A
    missing or broken sotbench module and a missing attribute are errors
    (``ModuleNotFoundError``, ``AttributeError``): they must fail loudly.
    """
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name is None or err.name == "sotbench" or err.name.startswith("sotbench."):
            raise
        raise NotImplementedError(f"{module} needs {err.name}, which is not installed: {err}") from err
    if not names:
        return mod
    values = [getattr(mod, name) for name in names]
    return values[0] if len(values) == 1 else tuple(values)


def loss_factory(name: str) -> Callable[..., torch.nn.Module]:
    """Factory of the registered loss ``name`` (an unknown name is a ``ValueError``)."""
    from sotbench.registry import LOSSES

    return LOSSES.get(name)


def model_names(task: str) -> list[str]:
    """Registered model names of ``task`` (``"mpe"`` or ``"synth-ae"``), sorted."""
    from sotbench.registry import MODELS

    return [e.name for e in MODELS if e.meta.get("task") == task]


def mpe_model(name: str, device: torch.device, **settings: Any):
    """Build the registered MPE model ``name`` on ``device``, or skip.

    Skips (``NotImplementedError``) when the factory raises
    :class:`~sotbench.models.base.ModelUnavailable` (peer not installed, no
    checkpoint) or when the model cannot run on ``device``; an unregistered
    name is a ``ValueError``.  Peers are
    built with ``cache=False`` so every call computes (their salience cache
    would otherwise turn the benchmark into a file read).
    """
    from sotbench.models.base import ModelUnavailable
    from sotbench.registry import MODELS

    entry = MODELS.entry(name)
    kwargs = dict(settings)
    if entry.meta.get("peer"):
        kwargs.setdefault("cache", False)
        if device.type != "cpu":
            raise NotImplementedError(f"peer {name!r} runs on the CPU only")
    else:
        kwargs.setdefault("device", device.type)
    try:
        return entry.factory(**kwargs)
    except ModelUnavailable as err:
        raise NotImplementedError(f"model {name!r} unavailable: {err}") from err
    except TypeError as err:  # factory without a device/cache keyword
        if "device" in kwargs and device.type == "cpu" and "device" in str(err):
            kwargs.pop("device")
            return entry.factory(**kwargs)
        raise


def sync(device: torch.device | str) -> None:
    """Wait for queued CUDA work (no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _time_once(fn: Callable[[], Any], device: torch.device) -> float:
    if device.type == "cuda":
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(fn: Callable[[], Any], device: torch.device | str, *, budget_s: float | None = None,
            max_repeat: int = 25, warmup: bool = True) -> float:
    """Median wall time of ``fn()`` in seconds; CUDA work timed with CUDA events.

    Parameters
    ----------
    fn : callable
        Work to time (no arguments).
    device : torch.device or str
        Where the work runs.  On ``cuda`` each call is bracketed by a pair of
        ``torch.cuda.Event`` (``enable_timing=True``) and the end event is
        synchronized, so the time covers the GPU kernels, not just their launch.
    budget_s : float, optional
        Stop repeating once this much time was spent (default
        ``MEASURE_BUDGET_S``, env ``SOTBENCH_BENCH_BUDGET_S``).  A call that
        alone exceeds the budget is timed twice (the second, warm call is
        kept) if it took less than ``REPEAT_BELOW_S`` (5 s), else once.
    max_repeat : int
        At most this many timed calls.
    warmup : bool
        Drop the first call from the median when at least three calls were made
        (lazy initialisation, caches, cuDNN autotuning); see ``budget_s`` for
        calls longer than the budget.

    Returns
    -------
    float
        Median seconds per call.
    """
    device = torch.device(device)
    budget = MEASURE_BUDGET_S if budget_s is None else float(budget_s)
    sync(device)
    times: list[float] = []
    while True:
        times.append(_time_once(fn, device))
        if sum(times) >= budget or len(times) >= max_repeat:
            break
    if warmup and len(times) == 1 and times[0] < REPEAT_BELOW_S and max_repeat > 1:
        # one call over budget: time a second, warm call when that is affordable
        times = [_time_once(fn, device)]
    if warmup and len(times) >= 3:
        times = times[1:]
    return float(statistics.median(times))


def peak_cuda_mib(fn: Callable[[], Any], device: torch.device | str) -> float:
    """Peak CUDA memory allocated while running ``fn()``, in MiB (2**20 bytes).

    The peak is relative to nothing: it includes tensors allocated before the
    call (inputs, model weights), i.e. what the device must hold.  Raises
    :class:`SkipNotImplemented` on the CPU (use ``peakmem_*`` there).
    """
    device = torch.device(device)
    if device.type != "cuda":
        raise SkipNotImplemented("peak GPU memory is measured on cuda only")
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated(device) / 2.0 ** 20


def cpu_only_gpu_skip(device: torch.device | str) -> None:
    """Skip (inside a benchmark function) a GPU-only measurement on the CPU."""
    if torch.device(device).type != "cuda":
        raise SkipNotImplemented("GPU-only measurement")


def on_device(device: str, params: list, also_skip: list | tuple = ()) -> Callable:
    """Decorator: run a benchmark only for parameter combinations on ``device``.

    ``params`` is the class's ``params`` list whose first entry is the device
    list.  The other combinations (and ``also_skip``, e.g. the class's own
    ``skip_params``, which a function-level list replaces) are listed in the
    function's ``skip_params`` attribute, which asv checks *before* calling
    ``setup`` (no wasted setup, reported as skipped, like ``asv_runner``'s
    ``skip_for_params``).
    """
    combos = list(itertools.product(*params))
    skip = [c for c in combos if c[0] != device or c in set(map(tuple, also_skip))]

    def decorate(func):
        func.skip_params = skip
        return func

    return decorate


def with_unit(unit: str) -> Callable:
    """Decorator setting the ``unit`` asv shows for a ``track_*`` benchmark."""

    def decorate(func):
        func.unit = unit
        return func

    return decorate


def seeded(seed: int = 0) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (same inputs every run)."""
    return torch.Generator().manual_seed(int(seed))


def harmonic_batch(batch: int, n_samples: int, sample_rate: int = 16000, seed: int = 0,
                   n_harmonics: int = 8) -> torch.Tensor:
    """Deterministic batch of paper 000's synthetic harmonic tones (:func:`sotbench.data.synthetic.synthetic_batch`).

    f0 uniform in [40, 1950] Hz, 1..``n_harmonics`` partials with amplitudes
    uniform in [0.4, 1] (those at or above Nyquist dropped), each row
    peak-normalised to 0.9.

    Returns
    -------
    Tensor, shape (batch, n_samples), float32 (CPU)
    """
    from sotbench.data.synthetic import synthetic_batch

    return torch.from_numpy(synthetic_batch(batch, seed=seed, n_samples=n_samples,
                                            sample_rate=sample_rate, max_harmonics=n_harmonics))


def polyphonic_audio(seconds: float, sample_rate: int = 44100, seed: int = 0,
                     voices: int = 4, note_s: float = 0.5) -> np.ndarray:
    """Deterministic four-voice harmonic "chorale" (a stand-in for Bach10 audio).

    Each voice plays a new MIDI note every ``note_s`` seconds in its own
    register (bass .. soprano), with 6 decaying harmonics.

    Returns
    -------
    ndarray, shape (round(seconds * sample_rate),), float32 in [-0.9, 0.9]
    """
    from sotbench.data.tracks import midi_to_hz

    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    x = np.zeros(n)
    seg = max(1, int(round(note_s * sample_rate)))
    n_notes = -(-n // seg)
    for v in range(voices):
        midi = rng.integers(36 + 12 * v, 48 + 12 * v, size=n_notes)
        f0 = midi_to_hz(np.repeat(midi, seg)[:n])
        phase = 2 * np.pi * np.cumsum(f0) / sample_rate
        for h in range(1, 7):
            if np.all(h * f0 < sample_rate / 2):
                x += (0.6 ** h) * np.sin(h * phase)
    x *= 0.9 / max(np.abs(x).max(), 1e-9)
    return x.astype(np.float32)
