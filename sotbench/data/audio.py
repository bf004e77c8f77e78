"""Audio loading, resampling and validation.

The one home of audio validation in sotbench: every loader reads audio
through :func:`load_audio`, and code that receives audio arrays (models,
renderers) checks them with :func:`validate_audio`.  :func:`load_audio`
returns float32 mono audio in [-1, 1] at a known sample rate and applies the
bad-input policy of sotbench:

* multi-channel (stereo) audio is averaged to mono with a warning;
* another sample rate than the requested one is resampled exactly
  (:func:`resample`, polyphase, rational factor ``target / original``);
* NaN or Inf samples, empty audio and wrong shapes are refused with
  ``ValueError`` naming the file;
* clipped audio (runs of at least ``CLIP_RUN`` = 3 consecutive samples at or
  beyond ``CLIP_LEVEL`` = 0.999 of full scale: flat tops, not the isolated
  full-scale peaks of a normalised file) and silent audio (peak below
  -80 dBFS) are accepted with a warning.
"""
from __future__ import annotations

import io
import os
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = [
    "load_audio", "audio_info", "AudioInfo", "decode_wav_bytes", "to_mono", "resample", "validate_audio",
    "write_wav_atomic", "CLIP_LEVEL", "CLIP_RUN", "SILENCE_PEAK",
]

#: Absolute sample value treated as full scale when looking for clipping.
CLIP_LEVEL = 0.999
#: Consecutive full-scale samples that count as a clipped (flat) top; isolated full-scale
#: samples are normal in peak-normalised files.
CLIP_RUN = 3
#: Peak amplitude below which audio is reported as silent (-80 dBFS).
SILENCE_PEAK = 1e-4


def _as_rate(value, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a positive integer number of Hz, got {value!r}")
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a positive integer number of Hz, got {value!r}") from None
    if not np.isfinite(rate) or rate <= 0 or rate != int(rate):
        raise ValueError(f"{what} must be a positive integer number of Hz, got {value!r}")
    return int(rate)


def to_mono(audio: np.ndarray, name: str = "audio") -> np.ndarray:
    """Average channels to mono.

    Parameters
    ----------
    audio : ndarray, shape (n_samples,) or (n_samples, n_channels)
        Channels last, as :mod:`soundfile` returns them.
    name : str
        Used in messages.

    Returns
    -------
    ndarray, shape (n_samples,)
        Mean over channels (a warning says that channels were mixed).
    """
    audio = np.asarray(audio)
    if audio.ndim == 1:
        return audio
    if audio.ndim != 2:
        raise ValueError(f"{name}: audio must have shape (n_samples,) or (n_samples, n_channels), "
                         f"got {audio.shape}")
    if audio.shape[1] == 1:
        return audio[:, 0]
    warnings.warn(f"{name}: {audio.shape[1]} channels averaged to mono", stacklevel=3)
    return audio.mean(axis=1)


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample by the exact rational factor ``target_sr / orig_sr``.

    Uses :func:`scipy.signal.resample_poly` (polyphase FIR with a Kaiser
    window, zero phase: no delay is introduced).  The output has
    ``ceil(n * target_sr / orig_sr)`` samples.

    Parameters
    ----------
    audio : ndarray, shape (n_samples,)
    orig_sr, target_sr : int
        Sample rates in Hz (positive integers).

    Returns
    -------
    ndarray, shape (n_out,), float32
    """
    orig_sr = _as_rate(orig_sr, "original sample rate")
    target_sr = _as_rate(target_sr, "target sample rate")
    audio = np.asarray(audio, dtype=np.float32)
    if orig_sr == target_sr:
        return audio
    from scipy.signal import resample_poly

    ratio = Fraction(target_sr, orig_sr)
    out = resample_poly(audio.astype(np.float64), ratio.numerator, ratio.denominator)
    return out.astype(np.float32)


def validate_audio(audio: np.ndarray, sample_rate: int | None = None, name: str = "audio", *,
                   warn: bool = True) -> np.ndarray:
    """Check mono audio against sotbench's bad-input policy.

    Parameters
    ----------
    audio : array-like, shape (n_samples,)
        Real-valued samples (any real numeric dtype; converted to float32).
    sample_rate : int, optional
        Checked to be a positive integer when given.
    name : str
        File or track name used in messages.
    warn : bool
        Emit the clipping / silence warnings (default); ``False`` checks only
        the errors (e.g. for synthesised audio that is normalised afterwards).

    Returns
    -------
    ndarray, float32
        The same samples.

    Raises
    ------
    ValueError
        Wrong shape, no samples, or NaN / Inf samples.

    Warns
    -----
    UserWarning
        Clipped audio (a run of ``CLIP_RUN`` samples with ``|x| >= CLIP_LEVEL``) or silence
        (peak below ``SILENCE_PEAK`` = -80 dBFS).
    """
    if sample_rate is not None:
        _as_rate(sample_rate, f"{name}: sample rate")
    audio = np.asarray(audio)
    if audio.dtype == object or np.iscomplexobj(audio) or not (
            np.issubdtype(audio.dtype, np.floating) or np.issubdtype(audio.dtype, np.integer)):
        raise ValueError(f"{name}: audio must hold real numbers, got dtype {audio.dtype}")
    audio = audio.astype(np.float32, copy=False)
    if audio.ndim != 1:
        raise ValueError(f"{name}: audio must be mono with shape (n_samples,), got {audio.shape}; "
                         "mix channels with sotbench.data.audio.to_mono")
    if audio.size == 0:
        raise ValueError(f"{name}: audio has no samples; check the file")
    finite = np.isfinite(audio)
    if not finite.all():
        bad = int((~finite).sum())
        raise ValueError(f"{name}: audio contains {bad} NaN/Inf samples (first at sample "
                         f"{int(np.argmin(finite))}); repair or drop the file")
    if not warn:
        return audio
    peak = float(np.abs(audio).max())
    if peak < SILENCE_PEAK:
        warnings.warn(f"{name}: audio is silent (peak {peak:.2e} < {SILENCE_PEAK:g}, i.e. -80 dBFS); "
                      "no pitch can be detected in it", stacklevel=2)
    elif peak >= CLIP_LEVEL:
        runs = _full_scale_runs(audio)
        if runs.size and runs.max() >= CLIP_RUN:
            warnings.warn(f"{name}: audio looks clipped ({int(runs[runs >= CLIP_RUN].sum())} samples in "
                          f"{int((runs >= CLIP_RUN).sum())} flat tops at full scale, longest {int(runs.max())} "
                          "samples); harmonics from clipping may bias pitch estimates", stacklevel=2)
    return audio


def _full_scale_runs(audio: np.ndarray) -> np.ndarray:
    """Lengths of the runs of consecutive samples with ``|x| >= CLIP_LEVEL``."""
    mask = np.concatenate([[0], (np.abs(audio) >= CLIP_LEVEL).astype(np.int8), [0]])
    edges = np.diff(mask)
    return np.nonzero(edges == -1)[0] - np.nonzero(edges == 1)[0]


class AudioInfo(tuple):
    """``(n_samples, sample_rate, channels)`` of an audio file; :attr:`duration_s` in seconds."""

    __slots__ = ()

    def __new__(cls, n_samples: int, sample_rate: int, channels: int):
        """Build from the sample count, rate (Hz) and channel count of a file."""
        return super().__new__(cls, (int(n_samples), int(sample_rate), int(channels)))

    n_samples = property(lambda self: self[0])
    sample_rate = property(lambda self: self[1])
    channels = property(lambda self: self[2])
    duration_s = property(lambda self: self[0] / float(self[1]))


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Read an audio file's header only: samples per channel, sample rate (Hz), channels.

    Raises
    ------
    ValueError
        Naming the file when it is missing, empty (0 bytes), unreadable or has
        no samples.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"audio file {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise ValueError(f"audio file {str(path)!r} is empty (0 bytes)")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises its own error types
        raise ValueError(f"cannot read audio file {str(path)!r}: {exc}") from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise ValueError(f"audio file {str(path)!r} has no samples ({info.frames} frames at "
                         f"{info.samplerate} Hz)")
    return AudioInfo(info.frames, info.samplerate, info.channels)


def decode_wav_bytes(data: bytes, name: str = "audio") -> tuple[np.ndarray, int]:
    """Decode WAV bytes (e.g. from a renderer) to float32 samples, channels last."""
    import soundfile as sf

    try:
        audio, sr = sf.read(io.BytesIO(bytes(data)), dtype="float32", always_2d=False)
    except Exception as exc:  # soundfile raises its own error types
        raise ValueError(f"{name}: cannot decode WAV data ({exc})") from exc
    return audio, int(sr)


def load_audio(path: str | os.PathLike, sample_rate: int | None = None, *, validate: bool = True,
               name: str | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 mono, optionally resampled.

    Parameters
    ----------
    path : str or path-like
        Any format :mod:`soundfile` reads (WAV, FLAC, ...).
    sample_rate : int, optional
        Target rate in Hz; ``None`` keeps the file's rate.
    validate : bool
        Apply :func:`validate_audio` (default).
    name : str, optional
        Name used in messages (default: the path).

    Returns
    -------
    audio : ndarray, shape (n_samples,), float32
    sample_rate : int
        In Hz.

    Raises
    ------
    ValueError
        The file is missing or unreadable, or the audio is invalid.
    """
    import soundfile as sf

    path = Path(path)
    label = name or str(path)
    if not path.is_file():
        raise ValueError(f"audio file {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise ValueError(f"audio file {str(path)!r} is empty (0 bytes)")
    try:
        audio, sr = sf.read(str(path), dtype="float32", always_2d=False)
    except Exception as exc:
        raise ValueError(f"cannot read audio file {str(path)!r}: {exc}") from exc
    audio = to_mono(audio, label)
    if validate:
        # validate before resampling: NaN would spread over the filter length
        audio = validate_audio(audio, sr, label)
    if sample_rate is not None and int(sample_rate) != sr:
        audio = resample(audio, sr, sample_rate)
        sr = int(sample_rate)
    return np.ascontiguousarray(audio, dtype=np.float32), int(sr)


def write_wav_atomic(path: str | os.PathLike, audio: np.ndarray, sample_rate: int,
                     subtype: str = "PCM_16") -> Path:
    """Write a WAV file atomically (temporary file in the same folder + rename)."""
    import soundfile as sf

    from .roots import atomic_write_bytes

    buf = io.BytesIO()
    sf.write(buf, np.asarray(audio), int(sample_rate), subtype=subtype, format="WAV")
    return atomic_write_bytes(path, buf.getvalue())
