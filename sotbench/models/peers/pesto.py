"""PESTO (Riou et al., 2023) adapter through pesto-pitch: ``pesto``.

Axis and frame-time conventions (checked by ``tests/models/test_peers.py``):
row ``b`` is MIDI ``b / 3`` (384 bins, 3 bins/semitone from MIDI 0, after the
model's own pitch-shift roll); centred CQT frames at ``t = k * hop / sr`` where
``hop = round(step_ms * sr / 1000)`` samples at the rate the model runs at.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from sotbench.data.tracks import midi_to_hz
from sotbench.models.peers.base import DEFAULT_THRESHOLD, PeerModel, register_peer
from sotbench.models.peers.optional import check_version, import_peer
from sotbench.progress import progress as progress_bar
from sotbench.types import Salience

__all__ = ["Pesto"]


class Pesto(PeerModel):
    """PESTO (Riou et al., 2023) through pesto-pitch: the 384-bin softmax activations.

    Parameters
    ----------
    checkpoint : str
        Checkpoint name shipped with pesto-pitch (``"mir-1k_g7"``, default) or
        a path.  ``"mir-1k"`` is refused: in pesto-pitch 2.0.1 it loads with
        some weights left at random values (key-name mismatch).
    step_ms : float
        Hop in milliseconds (paper: 10).
    model_sample_rate : int or None
        Rate the audio is resampled to before the model (PESTO builds its CQT
        for any rate).  ``None`` runs at the input's own rate.
    threshold : float
        Peak-picking threshold (paper 002: 0.3).
    cache : bool
        Cache saliences on disk.
    chunk_s : float
        Longest audio span in seconds processed at once; longer tracks are cut
        into chunks with enough context on both sides (half the CQT kernel) that
        the result is identical to a single pass.
    """

    name = "pesto"
    dist = "pesto-pitch"

    def __init__(self, *, checkpoint: str = "mir-1k_g7", step_ms: float = 10.0,
                 model_sample_rate: int | None = None, threshold: float = DEFAULT_THRESHOLD,
                 cache: bool = True, chunk_s: float = 120.0) -> None:
        super().__init__(threshold=threshold, cache=cache)
        if checkpoint == "mir-1k":
            raise ValueError(
                "checkpoint 'mir-1k' of pesto-pitch 2.0.1 loads with some weights left random "
                "(key-name mismatch); use checkpoint='mir-1k_g7' (the default)")
        if not float(step_ms) > 0:
            raise ValueError(f"step_ms must be > 0 milliseconds, got {step_ms}")
        if model_sample_rate is not None and int(model_sample_rate) <= 0:
            raise ValueError(f"model_sample_rate must be a positive rate in Hz or None, "
                             f"got {model_sample_rate}")
        if not float(chunk_s) > 0:
            raise ValueError(f"chunk_s must be > 0 seconds, got {chunk_s}")
        self.checkpoint = str(checkpoint)
        self.step_ms = float(step_ms)
        self.model_sample_rate = None if model_sample_rate is None else int(model_sample_rate)
        self.chunk_s = float(chunk_s)
        self._pesto = import_peer("pesto", model=self.name, dist=self.dist, torchaudio=True)
        self.package_version = check_version(self.dist)
        self._models: dict[int, Any] = {}

    def _settings(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "step_ms": self.step_ms,
                "model_sample_rate": self.model_sample_rate, "resample": "soxr_hq"}

    def _model(self, sr: int):
        if sr not in self._models:
            loader = import_peer("pesto.loader", model=self.name, dist=self.dist, torchaudio=True)
            try:
                model = loader.load_model(self.checkpoint, self.step_ms, sampling_rate=sr)
            except FileNotFoundError as err:
                raise ValueError(f"unknown PESTO checkpoint {self.checkpoint!r}: {err}; "
                                 "use 'mir-1k_g7' or a path to a .ckpt file") from err
            self._models = {sr: model.eval()}  # keep one rate's kernels only
        return self._models[sr]

    def hop_samples(self, sr: int) -> int:
        """Hop in samples at rate ``sr`` exactly as PESTO rounds it."""
        return int(self.step_ms * sr / 1000 + 0.5)

    def _compute(self, audio: np.ndarray, sample_rate: int, progress: bool) -> Salience:
        import torch

        sr = sample_rate if self.model_sample_rate is None else self.model_sample_rate
        if sr != sample_rate:
            import librosa

            audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=sr, res_type="soxr_hq")
            audio = np.asarray(audio, dtype=np.float32)
        model = self._model(sr)
        hop = self.hop_samples(sr)
        half_kernel = max(int(k.kernel_width) // 2 for k in model.preprocessor.hcqt_kernels.cqt_kernels)
        n = audio.size
        n_frames = 1 + n // hop
        # PESTO's centred CQT reflect-pads by half a kernel, which needs more
        # samples than that: zero-pad short clips at the end, keep the frames
        # of the original length.
        if n <= half_kernel:
            warnings.warn(f"clip of {n} samples is shorter than PESTO's half CQT kernel "
                          f"({half_kernel} samples at {sr} Hz); zero-padding it", stacklevel=3)
            audio = np.concatenate([audio, np.zeros(half_kernel + 1 - n, dtype=np.float32)])
        # Frame k is centred on sample k*hop and sees [k*hop - half, k*hop + half).
        margin_frames = half_kernel // hop + 1
        chunk_frames = max(2 * margin_frames, int(self.chunk_s * sr) // hop)
        starts = list(range(0, n_frames, chunk_frames))
        acts = []
        with torch.inference_mode():
            for f0 in progress_bar(starts, progress, self.name):
                f1 = min(f0 + chunk_frames, n_frames)
                if len(starts) == 1:
                    a0, a1 = 0, audio.size
                else:  # context on both sides; chunks touching the ends keep the reflect padding
                    a0 = max(0, (f0 - margin_frames) * hop)
                    a1 = min(audio.size, (f1 - 1 + margin_frames) * hop + 1)
                skip = f0 - a0 // hop
                x = torch.from_numpy(np.ascontiguousarray(audio[a0:a1]))
                _, _, _, act = model(x, sr=sr, convert_to_freq=False, return_activations=True)
                acts.append(act.numpy()[skip:skip + (f1 - f0)])
        values = np.concatenate(acts, axis=0)[:n_frames].T
        bins_per_semitone = int(model.bins_per_semitone)
        freqs = midi_to_hz(np.arange(values.shape[0]) / bins_per_semitone)
        times = np.arange(values.shape[1]) * (hop / sr)
        return Salience(np.clip(values, 0.0, 1.0), freqs, times)


def _pesto(**settings: Any) -> Pesto:
    return Pesto(**settings)


register_peer("pesto", _pesto, "PESTO mir-1k_g7 (pesto-pitch 2.0.1), monophonic peer, multi-peak variant",
              module="pesto", dist="pesto-pitch")
