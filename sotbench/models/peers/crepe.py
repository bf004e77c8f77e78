"""CREPE (Kim et al., 2018) adapter through torchcrepe: ``crepe`` (full) and ``crepe-tiny``.

Axis and frame-time conventions (checked by ``tests/models/test_peers.py``):
row ``b`` is ``10 * 2 ** ((20 b + 1997.3794084376191) / 1200)`` Hz (360 bins of
20 cents); audio is resampled to 16 kHz with ``resampy`` (as torchcrepe does);
frames are centred at ``t = hop k / 16000`` s (zero padding of half a window
each side; hop 160 samples = 10 ms by default).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sotbench.io import safe_torch_load
from sotbench.models.peers.base import DEFAULT_THRESHOLD, PeerModel, register_peer
from sotbench.models.peers.optional import check_version, import_peer, unavailable
from sotbench.progress import progress as progress_bar
from sotbench.types import Salience

__all__ = ["TorchCrepe", "crepe_bin_frequencies"]

# torchcrepe's bin -> cents offset (cents relative to 10 Hz of bin 0).
_CREPE_CENTS_OFFSET = 1997.3794084376191
_CREPE_CENTS_PER_BIN = 20.0
_CREPE_SAMPLE_RATE = 16000


def crepe_bin_frequencies() -> np.ndarray:
    """Centre frequency in Hz of torchcrepe's 360 bins: ``10 * 2 ** ((20 b + 1997.38) / 1200)``."""
    cents = _CREPE_CENTS_PER_BIN * np.arange(360, dtype=np.float64) + _CREPE_CENTS_OFFSET
    return 10.0 * 2.0 ** (cents / 1200.0)


class TorchCrepe(PeerModel):
    """CREPE (Kim et al., 2018) through torchcrepe: the 360-bin sigmoid activations.

    Parameters
    ----------
    capacity : {"full", "tiny"}
        Model size.
    threshold : float
        Peak-picking threshold (paper 002: 0.3).
    cache : bool
        Cache saliences on disk (strongly advised for ``full``, the slowest
        peer; measured costs in ``docs/performance.md``).
    hop_length : int
        Hop in samples at 16 kHz (160 = 10 ms, the paper's setting).
    batch_size : int
        Frames per forward pass (bounds memory on long tracks).
    """

    dist = "torchcrepe"

    def __init__(self, *, capacity: str = "full", threshold: float = DEFAULT_THRESHOLD,
                 cache: bool = True, hop_length: int = 160, batch_size: int = 512) -> None:
        super().__init__(threshold=threshold, cache=cache)
        if capacity not in ("full", "tiny"):
            raise ValueError(f"capacity must be 'full' or 'tiny', got {capacity!r}")
        if int(hop_length) < 1 or int(batch_size) < 1:
            raise ValueError(f"hop_length and batch_size must be >= 1, got {hop_length}, {batch_size}")
        self.capacity = capacity
        self.name = "crepe" if capacity == "full" else f"crepe-{capacity}"
        self.hop_length = int(hop_length)
        self.batch_size = int(batch_size)
        self._tc = import_peer("torchcrepe", model=self.name, dist=self.dist, torchaudio=True)
        try:
            import resampy  # noqa: F401
        except ImportError as err:
            raise unavailable(self.name, "resampy", str(err)) from err
        self.package_version = check_version(self.dist)
        weights = Path(self._tc.__file__ or ".").parent / "assets" / f"{capacity}.pth"
        if not weights.is_file():
            raise unavailable(self.name, self.dist, f"weights {weights} are missing")
        net = self._tc.Crepe(capacity)
        net.load_state_dict(safe_torch_load(weights, map_location="cpu"))
        self._net = net.eval()

    def _settings(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "hop_length": self.hop_length, "resample": "resampy"}

    def _compute(self, audio: np.ndarray, sample_rate: int, progress: bool) -> Salience:
        import resampy
        import torch

        sr = _CREPE_SAMPLE_RATE
        if sample_rate != sr:
            # torchcrepe.resample uses resampy's default filter: same numbers as torchcrepe.predict
            audio = resampy.resample(audio, sample_rate, sr)
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
        n_frames = 1 + x.shape[1] // self.hop_length
        probs = []
        batches = self._tc.preprocess(x, sr, hop_length=self.hop_length,
                                      batch_size=self.batch_size, device="cpu", pad=True)
        total = math.ceil(n_frames / self.batch_size)
        with torch.inference_mode():
            for frames in progress_bar(batches, progress, self.name, total=total):
                probs.append(self._net(frames).numpy())
        values = np.concatenate(probs, axis=0).T
        times = np.arange(values.shape[1]) * (self.hop_length / sr)
        return Salience(np.clip(values, 0.0, 1.0), crepe_bin_frequencies(), times)


def _crepe(**settings: Any) -> TorchCrepe:
    settings.setdefault("capacity", "full")
    return TorchCrepe(**settings)


def _crepe_tiny(**settings: Any) -> TorchCrepe:
    if settings.get("capacity", "tiny") != "tiny":
        raise ValueError("model 'crepe-tiny' has capacity 'tiny'; use model 'crepe' for 'full'")
    settings["capacity"] = "tiny"
    return TorchCrepe(**settings)


register_peer("crepe", _crepe, "CREPE full (torchcrepe 0.0.24), monophonic peer, multi-peak variant",
              module="torchcrepe", dist="torchcrepe")
register_peer("crepe-tiny", _crepe_tiny,
              "CREPE tiny (torchcrepe 0.0.24), monophonic, multi-peak variant",
              module="torchcrepe", dist="torchcrepe")
