"""A tiny user model for sotbench's MPE task: STFT magnitude on a log-frequency axis.

It implements the :class:`sotbench.models.base.SalienceModel` protocol:

* ``name`` and ``threshold`` attributes (the peak threshold in [0, 1]);
* ``salience(audio, sample_rate, *, progress=False)`` -> :class:`sotbench.types.Salience` with
  ``values`` (F, T) in [0, 1], ``frequencies_hz`` (F,) bin centres in Hz, ascending, and
  ``times_s`` (T,) frame centres in seconds.

Run it: ``python examples/stft_salience.py`` validates the model on a tone, registers it and
evaluates it on a small generated dataset (``chorales-synth``, first 2 tracks; rendered into the
cache on first use).
"""
from __future__ import annotations

import numpy as np

from sotbench.types import Salience


class StftSalience:
    """STFT magnitude on a log-frequency axis, in dB mapped to [0, 1].

    Hann window of ``n_fft`` samples, hop ``hop`` samples, centred frames; interpolated onto
    ``bins_per_semitone`` log-spaced bins from ``fmin_hz`` to ``fmax_hz``; ``dynamic_range_db`` below the
    track's maximum maps to 0.
    """

    def __init__(self, *, n_fft: int = 4096, hop: int = 256, fmin_hz: float = 55.0, fmax_hz: float = 1760.0,
                 bins_per_semitone: int = 1, dynamic_range_db: float = 40.0, threshold: float = 0.6):
        if n_fft < 2 or hop < 1:
            raise ValueError(f"n_fft={n_fft} and hop={hop} must be positive (n_fft >= 2)")
        self.name = "example-stft"
        self.n_fft, self.hop, self.threshold = n_fft, hop, threshold
        self.dynamic_range_db = dynamic_range_db
        n_bins = int(round(12 * bins_per_semitone * np.log2(fmax_hz / fmin_hz))) + 1
        self.frequencies_hz = fmin_hz * 2.0 ** (np.arange(n_bins) / (12 * bins_per_semitone))

    def salience(self, audio: np.ndarray, sample_rate: int, *, progress: bool = False) -> Salience:
        """Salience (F, T) of mono ``audio`` at ``sample_rate`` Hz; frame t is centred at ``t * hop`` samples."""
        audio = np.asarray(audio, dtype=np.float64).ravel()
        pad = self.n_fft // 2
        padded = np.pad(audio, (pad, pad))
        n_frames = 1 + max(0, (padded.size - self.n_fft) // self.hop)
        index = np.arange(self.n_fft)[None, :] + self.hop * np.arange(n_frames)[:, None]
        frames = padded[index] * np.hanning(self.n_fft)[None, :]
        magnitude = np.abs(np.fft.rfft(frames, axis=1)).T  # (n_fft // 2 + 1, T)
        fft_hz = np.fft.rfftfreq(self.n_fft, 1.0 / sample_rate)
        log_mag = np.stack([np.interp(self.frequencies_hz, fft_hz, magnitude[:, t]) for t in range(n_frames)],
                           axis=1)
        db = 20 * np.log10(np.maximum(log_mag, 1e-10))
        values = np.clip(1 + (db - db.max()) / self.dynamic_range_db, 0.0, 1.0)
        times = np.arange(n_frames) * self.hop / sample_rate  # centred frames: frame t is centred at t * hop
        return Salience(values.astype(np.float32), self.frequencies_hz, times)


def main() -> None:
    """Validate, register and evaluate the example model (writes ``results-example/``)."""
    import sotbench

    print(sotbench.validate_model(StftSalience()))
    sotbench.register_model("example-stft", StftSalience, task="mpe",
                            description="example: STFT magnitude on a semitone axis (examples/stft_salience.py)")
    frame = sotbench.evaluate(task="mpe", model="example-stft", datasets=["chorales-synth"], max_tracks=2,
                              results_root="results-example")
    print(frame[["model", "dataset", "metric", "value"]].to_string(index=False))


if __name__ == "__main__":
    main()
