"""Speed of the time-frequency front ends: CQT (paper 000) and HCQT (paper 002).

``track_seconds_per_audio_second`` is wall seconds of compute per second of
input audio (lower is better; 1.0 = real time), timed with CUDA events on the
GPU.  ``time_*`` is asv's own timing of one call.  The ``seconds`` parameter
(audio length of a single mono signal) gives the scaling plot.

Settings
--------
CQT (paper 000): 16 kHz, 32.7 Hz, 36 bins/octave, 285 bins, hop 256, centred,
magnitude; the training input is ``x[:, :-1]`` of a 64 x 4096 batch, i.e.
64 x 4095 samples (16.4 s of audio).

HCQT (paper 002): 22,050 Hz, hop 256, 27.5 Hz, 60 bins/octave, 440 bins,
harmonics 0.5, 1, 2, 3, 4, 5, features in [0, 1] (``HCQT.forward``).
"""
from __future__ import annotations

import torch

from sotbench.dsp.cqt import CQT
from sotbench.dsp.hcqt import HCQT

from ._util import (
    DEVICES,
    measure,
    on_device,
    peak_cuda_mib,
    require_device,
    seeded,
    sync,
    with_unit,
)

CQT_SAMPLE_RATE = 16000
HCQT_SAMPLE_RATE = 22050
PAPER_BATCH, PAPER_SAMPLES = 64, 4095


def _noise_tone(batch: int, n: int, sample_rate: int, seed: int = 0) -> torch.Tensor:
    """Deterministic test signal: a swept tone plus a little noise (float32)."""
    g = seeded(seed)
    t = torch.arange(n, dtype=torch.float64) / sample_rate
    f = 110.0 * 2.0 ** (4.0 * (t / max(t[-1].item(), 1e-9)))  # 110 Hz .. 1.76 kHz sweep
    phase = 2 * torch.pi * torch.cumsum(f, 0) / sample_rate
    x = 0.5 * torch.sin(phase)[None].repeat(batch, 1)
    x = x + 0.01 * torch.randn(batch, n, generator=g, dtype=torch.float64)
    return x.float()


class _TransformBase:
    """Shared timing of a transform applied to ``self.audio`` (``self.audio_s`` seconds of audio)."""

    rounds = 1
    repeat = (1, 5, 10.0)
    number = 1
    warmup_time = 0.0
    timeout = 300

    def _run(self):
        with torch.no_grad():
            self.transform(self.audio)
        sync(self.device)

    def _warm(self, n: int):
        with torch.no_grad():
            self.transform(self.audio[:1, :n])
        sync(self.device)

    @with_unit("s/s")
    def track_seconds_per_audio_second(self, *params):
        """Seconds of compute per second of audio (CUDA events on the GPU)."""
        return measure(self._run, self.device) / self.audio_s


class CQTPaperBatch(_TransformBase):
    """CQT of the paper-000 training batch (64 x 4095 samples = 16.4 s of audio)."""

    params = [DEVICES, ["cropped", "nnaudio-1992v2", "nnaudio-2010v2"]]
    param_names = ["device", "implementation"]

    def setup(self, device, implementation):
        self.device = require_device(device)
        self.transform = CQT(implementation=implementation).to(self.device)
        self.audio = _noise_tone(PAPER_BATCH, PAPER_SAMPLES, CQT_SAMPLE_RATE).to(self.device)
        self.audio_s = PAPER_BATCH * PAPER_SAMPLES / CQT_SAMPLE_RATE
        self._warm(PAPER_SAMPLES)

    def time_cqt(self, device, implementation):
        self._run()

    @on_device("cuda", params)
    @with_unit("MiB")
    def track_peak_gpu_mib(self, device, implementation):
        """Peak CUDA memory of one call (kernels and input included)."""
        return peak_cuda_mib(self._run, self.device)


class _SignalBase(_TransformBase):
    """A transform of one mono signal of ``seconds`` s at ``sample_rate`` Hz."""

    params = [DEVICES, [1, 4, 16]]
    param_names = ["device", "seconds"]
    sample_rate: int

    def _make(self) -> torch.nn.Module:
        raise NotImplementedError

    def setup(self, device, seconds):
        self.device = require_device(device)
        self.transform = self._make().to(self.device)
        sr = self.sample_rate
        self.audio = _noise_tone(1, int(seconds * sr), sr).to(self.device)
        self.audio_s = float(seconds)
        self._warm(sr // 4)

    @on_device("cuda", params)
    @with_unit("MiB")
    def track_peak_gpu_mib(self, device, seconds):
        """Peak CUDA memory of one call (kernels and input included)."""
        return peak_cuda_mib(self._run, self.device)


class CQTSignal(_SignalBase):
    """CQT (paper 000, ``cropped`` implementation) of one mono signal of ``seconds`` s."""

    sample_rate = CQT_SAMPLE_RATE

    def _make(self) -> torch.nn.Module:
        return CQT()

    def time_cqt(self, device, seconds):
        self._run()

    @on_device("cpu", _SignalBase.params)
    def peakmem_cqt(self, device, seconds):
        self._run()


class HCQTSignal(_SignalBase):
    """HCQT features (paper 002 settings) of one mono signal of ``seconds`` s at 22,050 Hz."""

    sample_rate = HCQT_SAMPLE_RATE
    repeat = (1, 3, 10.0)

    def _make(self) -> torch.nn.Module:
        return HCQT()

    def time_hcqt(self, device, seconds):
        self._run()

    @on_device("cpu", _SignalBase.params)
    def peakmem_hcqt(self, device, seconds):
        self._run()
