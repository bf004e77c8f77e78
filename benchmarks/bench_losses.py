"""Speed and memory of the spectral losses (paper 000) and of their 1-D Wasserstein core.

Shapes
------
* Losses (``SOTLoss``, ``MSSLoss``) at the paper's training batch: 64 signals
  of 4096 samples at 16 kHz, prediction requiring grad.
* ``W_p`` directly at the paper's spectral shape: 576 frames (= 64 x 9 frames
  of a 2048-point STFT, hop 256, ``center=False``) x 1025 bins, float32, both
  rows normalised to mass 1, positions ``linspace(0, 1, 1025)``.
* A size sweep of frames x bins for the scaling plot.

Implementations compared in one run (``impl`` parameter)
--------------------------------------------------------
``sotbench-w1`` / ``sotbench-w2``
    :func:`sotbench.losses.wasserstein.wasserstein_1d` (``W_p^p``, p = 1 or 2).
``pot-w1`` / ``pot-w2``
    POT's ``ot.wasserstein_1d`` with the torch backend (common support passed
    as values, measures along axis 0) -- the baseline of the issue's
    ">= 20x" target.
``sotloss-w1`` / ``sotloss-w2``
    ``sot.losses.wasserstein_1d`` of the SOT authors' package sot-loss 0.1.5
    (positions as (rows, bins) values, as its loss calls it); skipped where
    the package is not installed (``bash scripts/install-peers.sh``).
``cumsum-w1``
    ``sum |cumsum(a) - cumsum(b)|`` (the W1 of two measures on a uniform grid,
    up to the bin width): the memory-bound floor any ``W_p`` on a common support
    is measured against (target: SOT-W2 within 3x of it).

``SOTLossVsPackage`` times the whole SOT term (two flattop power STFTs,
normalization with the cutoff, W2^2) of sotbench's ``sot-2048`` and of the
package's ``Wasserstein1DLoss`` (``balanced=False, quantile_lowpass=True``)
on the paper's batch, side by side.

All values are means over rows, so forward+backward means
``loss.backward()`` of a scalar.
"""
from __future__ import annotations

import time

import torch

from ._util import (
    DEVICES,
    harmonic_batch,
    loss_factory,
    measure,
    on_device,
    peak_cuda_mib,
    require_attr,
    require_device,
    seeded,
    sync,
    with_unit,
)

#: Paper 000 training batch: 64 x 4096 samples at 16 kHz.
BATCH, N_SAMPLES, SAMPLE_RATE = 64, 4096, 16000
#: W_p at the paper's shape: 64 x 9 frames (n_fft 2048, hop 256, center=False) x 1025 bins.
PAPER_FRAMES, PAPER_BINS = 576, 1025

WP_IMPLS = ["sotbench-w1", "sotbench-w2", "pot-w1", "pot-w2", "sotloss-w1", "sotloss-w2",
            "cumsum-w1"]
SWEEP_IMPLS = ["sotbench-w2", "pot-w2", "cumsum-w1"]
SWEEP_FRAMES = [64, 576, 2304]
SWEEP_BINS = [257, 1025, 4097]
#: POT above this many cells (frames x bins) is skipped in the sweep (seconds per call).
POT_MAX_CELLS = 2_400_000


def _spectra(frames: int, bins: int, device: torch.device, seed: int = 0):
    """Two batches of spectrum-like measures (rows of mass 1) and their positions."""
    g = seeded(seed)
    # peaky, non-negative rows like power spectra of harmonic sounds
    a = torch.rand(frames, bins, generator=g) ** 8
    b = torch.rand(frames, bins, generator=g) ** 8
    a = a / a.sum(-1, keepdim=True)
    b = b / b.sum(-1, keepdim=True)
    x = torch.linspace(0.0, 1.0, bins)
    return a.to(device), b.to(device), x.to(device)


def _wp_function(impl: str):
    """Return ``f(a, b, x) -> scalar`` for ``impl`` (skips when it cannot run)."""
    if impl.startswith("sotbench-"):
        wasserstein_1d = require_attr("sotbench.losses.wasserstein", "wasserstein_1d")
        p = 1.0 if impl.endswith("w1") else 2.0

        def f(a, b, x):
            return wasserstein_1d(a, b, x, p=p).mean()
        return f
    if impl.startswith("pot-"):
        try:
            import ot
        except ImportError as err:  # pragma: no cover - POT is a dependency
            raise NotImplementedError(f"POT is not installed: {err}") from err
        p = 1 if impl.endswith("w1") else 2

        def f(a, b, x):
            xs = x[:, None].expand(-1, a.shape[0])
            return ot.wasserstein_1d(xs, xs, a.T, b.T, p=p).mean()
        return f
    if impl.startswith("sotloss-"):
        sot = _sot_loss_package()
        p = 1 if impl.endswith("w1") else 2

        def f(a, b, x):
            xs = x.expand(a.shape[0], -1)
            return sot.wasserstein_1d(xs, xs, a, b, p=p).mean()
        return f
    if impl == "cumsum-w1":
        def f(a, b, x):
            return (a.cumsum(-1) - b.cumsum(-1)).abs().sum(-1).mean()
        return f
    raise ValueError(f"unknown impl {impl!r}")


def _sot_loss_package():
    """``sot.losses`` of the optional sot-loss package; asv skip when it is not installed."""
    peers = require_attr("sotbench.losses.peers")
    try:
        return peers.import_sot_loss()
    except peers.LossUnavailable as err:
        raise NotImplementedError(str(err)) from err


class _WpBase:
    """Shared ``setup``/methods of the W_p benchmarks (subclasses set params)."""

    rounds = 1
    repeat = (1, 7, 10.0)
    number = 1
    warmup_time = 0.0
    timeout = 300

    def _setup(self, device, impl, frames, bins):
        self.device = require_device(device)
        self.fn = _wp_function(impl)
        self.a, self.b, self.x = _spectra(frames, bins, self.device)
        # warm up (numba compile/cache load, allocator) on a small slice
        a = self.a[:2].clone().requires_grad_(True)
        self.fn(a, self.b[:2], self.x).backward()
        sync(self.device)

    def _forward(self):
        with torch.no_grad():
            self.fn(self.a, self.b, self.x)
        sync(self.device)

    def _forward_backward(self):
        a = self.a.detach().requires_grad_(True)
        self.fn(a, self.b, self.x).backward()
        sync(self.device)

    def _saved_mib(self):
        """MiB of tensors autograd keeps for the backward pass (device-independent)."""
        total = [0]
        seen = set()

        def pack(t):
            key = t.untyped_storage().data_ptr()
            if key not in seen:
                seen.add(key)
                total[0] += t.untyped_storage().nbytes()
            return t

        a = self.a.detach().requires_grad_(True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = self.fn(a, self.b, self.x)
        loss.backward()
        return total[0] / 2.0 ** 20


class WassersteinPaperShape(_WpBase):
    """W_p at 576 x 1025: sotbench vs POT vs sot-loss vs the cumsum floor, side by side.

    ``time_*`` here is process CPU time (``timer = time.process_time``): every
    implementation runs on one thread (``OMP_NUM_THREADS=1``), and CPU time does
    not count the time other processes of a shared machine hold the core, so
    the ratios of one run do not depend on when each case ran.
    """

    params = [DEVICES, WP_IMPLS]
    param_names = ["device", "impl"]
    timer = time.process_time
    # the target ratios come from these medians: more samples than elsewhere
    # (a shared CPU is noisy); POT's slow calls stop at the time cap (docs/performance.md)
    repeat = (3, 15, 15.0)

    def setup(self, device, impl):
        self._setup(device, impl, PAPER_FRAMES, PAPER_BINS)

    def time_forward(self, device, impl):
        self._forward()

    def time_forward_backward(self, device, impl):
        self._forward_backward()

    @on_device("cuda", params)
    @with_unit("s")
    def track_gpu_time_forward_backward(self, device, impl):
        """Forward+backward timed with CUDA events (CPU: see ``time_forward_backward``)."""
        return measure(self._forward_backward, self.device)

    @on_device("cuda", params)
    @with_unit("MiB")
    def track_peak_gpu_mib(self, device, impl):
        """Peak CUDA memory of one forward+backward (inputs included)."""
        return peak_cuda_mib(self._forward_backward, self.device)

    @on_device("cpu", params)
    @with_unit("MiB")
    def track_saved_for_backward_mib(self, device, impl):
        """MiB of tensors autograd saves for backward (the same on any device)."""
        return self._saved_mib()

    @on_device("cpu", params)
    def peakmem_forward_backward(self, device, impl):
        self._forward_backward()


class WassersteinSweep(_WpBase):
    """W_p time and memory against frames x bins (scaling plot)."""

    params = [DEVICES, SWEEP_IMPLS, SWEEP_FRAMES, SWEEP_BINS]
    param_names = ["device", "impl", "frames", "bins"]
    repeat = (1, 3, 5.0)

    def setup(self, device, impl, frames, bins):
        if impl.startswith("pot-") and frames * bins > POT_MAX_CELLS:
            raise NotImplementedError(f"POT skipped above {POT_MAX_CELLS} cells (too slow)")
        self._setup(device, impl, frames, bins)

    def time_forward_backward(self, device, impl, frames, bins):
        self._forward_backward()

    @on_device("cuda", params)
    @with_unit("s")
    def track_gpu_time_forward_backward(self, device, impl, frames, bins):
        """Forward+backward timed with CUDA events (CPU: see ``time_forward_backward``)."""
        return measure(self._forward_backward, self.device)

    @on_device("cuda", params)
    @with_unit("MiB")
    def track_peak_gpu_mib(self, device, impl, frames, bins):
        """Peak CUDA memory of one forward+backward (inputs included)."""
        return peak_cuda_mib(self._forward_backward, self.device)

    @on_device("cpu", params)
    @with_unit("MiB")
    def track_saved_for_backward_mib(self, device, impl, frames, bins):
        """MiB of tensors autograd saves for backward (the same on any device)."""
        return self._saved_mib()

    @on_device("cpu", params)
    def peakmem_forward_backward(self, device, impl, frames, bins):
        self._forward_backward()


# ---------------------------------------------------------------------------
# full losses on signals
# ---------------------------------------------------------------------------

def make_sot_loss(p: int, n_fft: int, positions: str) -> torch.nn.Module:
    """The SOT term alone (no MSS) with the paper's spectra: flattop ``n_fft``, hop 256, power.

    Built from the registered ``sot-2048`` configuration with ``mss_weight=0``
    and the overrides ``p``, ``n_fft`` and, for ``positions="log"``, the
    log-frequency (MIDI) positions of ``sot-512-ls`` (CQT range 32.7 Hz ..
    7.7 kHz).
    """
    factory = loss_factory("sot-2048")
    overrides = {"p": float(p), "n_fft": int(n_fft), "mss_weight": 0.0}
    if positions == "log":
        fmin, fmax = require_attr("sotbench.losses.configs", "CQT_FMIN_HZ", "CQT_FMAX_HZ")
        overrides.update(positions="log", log_fmin=fmin, log_fmax=fmax)
    return factory(**overrides)


def make_mss_loss(scale: str) -> torch.nn.Module:
    """Registered ``mss-lin`` / ``mss-loglin`` (FFT sizes 2048..64, Hann, 75 % overlap)."""
    return loss_factory({"lin": "mss-lin", "loglin": "mss-loglin"}[scale])()


class _LossBase:
    rounds = 1
    repeat = (1, 5, 10.0)
    number = 1
    warmup_time = 0.0
    timeout = 300

    def _setup_signals(self, device):
        self.device = require_device(device)
        self.target = harmonic_batch(BATCH, N_SAMPLES, SAMPLE_RATE, seed=1).to(self.device)
        self.pred = harmonic_batch(BATCH, N_SAMPLES, SAMPLE_RATE, seed=2).to(self.device)

    def _warm(self):
        pred = self.pred[:2].detach().requires_grad_(True)
        self.loss(pred, self.target[:2]).backward()
        sync(self.device)

    def _forward(self):
        with torch.no_grad():
            self.loss(self.pred, self.target)
        sync(self.device)

    def _forward_backward(self):
        pred = self.pred.detach().requires_grad_(True)
        self.loss(pred, self.target).backward()
        sync(self.device)


class SOTLossPaperBatch(_LossBase):
    """``SOTLoss`` (W1/W2, n_fft 512/2048, linear/log positions) on 64 x 4096 samples."""

    params = [DEVICES, [1, 2], [512, 2048], ["linear", "log"]]
    param_names = ["device", "p", "n_fft", "positions"]

    def setup(self, device, p, n_fft, positions):
        self._setup_signals(device)
        self.loss = make_sot_loss(p, n_fft, positions).to(self.device)
        self._warm()

    def time_forward(self, device, p, n_fft, positions):
        self._forward()

    def time_forward_backward(self, device, p, n_fft, positions):
        self._forward_backward()

    @on_device("cuda", params)
    @with_unit("s")
    def track_gpu_time_forward_backward(self, device, p, n_fft, positions):
        """Forward+backward timed with CUDA events (CPU: see ``time_forward_backward``)."""
        return measure(self._forward_backward, self.device)

    @on_device("cuda", params)
    @with_unit("MiB")
    def track_peak_gpu_mib(self, device, p, n_fft, positions):
        """Peak CUDA memory of one forward+backward (inputs included)."""
        return peak_cuda_mib(self._forward_backward, self.device)

    @on_device("cpu", params)
    def peakmem_forward_backward(self, device, p, n_fft, positions):
        self._forward_backward()


class MSSLossPaperBatch(_LossBase):
    """``MSSLoss`` (paper 000: FFT sizes 2048..64, Hann, 75 % overlap) on 64 x 4096 samples."""

    params = [DEVICES, ["lin", "loglin"]]
    param_names = ["device", "scale"]

    def setup(self, device, scale):
        self._setup_signals(device)
        self.loss = make_mss_loss(scale).to(self.device)
        self._warm()

    def time_forward(self, device, scale):
        self._forward()

    def time_forward_backward(self, device, scale):
        self._forward_backward()

    @on_device("cuda", params)
    @with_unit("s")
    def track_gpu_time_forward_backward(self, device, scale):
        """Forward+backward timed with CUDA events (CPU: see ``time_forward_backward``)."""
        return measure(self._forward_backward, self.device)

    @on_device("cuda", params)
    @with_unit("MiB")
    def track_peak_gpu_mib(self, device, scale):
        """Peak CUDA memory of one forward+backward (inputs included)."""
        return peak_cuda_mib(self._forward_backward, self.device)

    @on_device("cpu", params)
    def peakmem_forward_backward(self, device, scale):
        self._forward_backward()


class SOTLossVsPackage(_LossBase):
    """The SOT term (W2^2, flattop power STFT 2048/256, cutoff) of sotbench and of sot-loss.

    ``sotbench``: the SOT term of the registered ``sot-2048`` (16 frames per
    signal, ``pad_end`` framing as the paper's code); ``sot-loss``: the
    package's ``Wasserstein1DLoss`` through :class:`sotbench.losses.peers.SOTLossPeer`
    (17 centred frames per signal, its own framing).
    """

    params = [DEVICES, ["sotbench", "sot-loss"]]
    param_names = ["device", "impl"]
    repeat = (3, 15, 15.0)
    timer = time.process_time  # one thread: CPU time (see WassersteinPaperShape)

    def setup(self, device, impl):
        self._setup_signals(device)
        if impl == "sotbench":
            self.loss = make_sot_loss(2, 2048, "linear")
        else:
            _sot_loss_package()
            self.loss = require_attr("sotbench.losses.peers", "SOTLossPeer")(2048, 256)
        self.loss = self.loss.to(self.device)
        self._warm()

    def time_forward_backward(self, device, impl):
        self._forward_backward()

    @on_device("cuda", params)
    @with_unit("s")
    def track_gpu_time_forward_backward(self, device, impl):
        """Forward+backward timed with CUDA events (CPU: see ``time_forward_backward``)."""
        return measure(self._forward_backward, self.device)
