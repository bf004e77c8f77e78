"""Peer multi-pitch estimators: Basic-Pitch, CREPE (torchcrepe) and PESTO.

Each adapter wraps a published, pre-trained model shipped inside its PyPI wheel
and exposes it through :class:`sotbench.models.base.SalienceModel`, so the MPE
task scores the peers exactly like SS-MPE (local maxima along frequency,
threshold, ``mir_eval.multipitch``).  For the monophonic models (CREPE, PESTO)
this is the "multi" variant of paper 002's Table 1.

Registered models (``sotbench.registry.MODELS``, ``task="mpe"``):

============================  ==============================================================
``basic-pitch``               Basic-Pitch 0.4.0 ``contour`` output (ONNX model, 264 bins,
                              3 bins/semitone from 27.5 Hz, ~86 frames/s).
``basic-pitch-notes``         Extra row: Basic-Pitch's own note post-processing, rasterised
                              to a frame-level pitch set (value 1 at each active note).
``crepe``                     torchcrepe 0.0.24 ``full`` (360 bins of 20 cents, 10 ms hop).
``crepe-tiny``                torchcrepe 0.0.24 ``tiny``.
``pesto``                     pesto-pitch 2.0.1 ``mir-1k_g7`` (384 bins, 3 bins/semitone from
                              MIDI 0, 10 ms hop).
============================  ==============================================================

Axis and frame-time conventions (checked by ``tests/models/test_peers.py``):

* Basic-Pitch: row ``k`` is ``27.5 * 2 ** (k / 36)`` Hz (the package's
  ``FREQ_BINS_CONTOURS``); frame times come from the package's own
  ``model_frames_to_time``, which accounts for the window overlap used by its
  inference (a plain 256-sample hop drifts by ~8.5 ms every 142 frames).
  Audio is resampled to 22,050 Hz with ``soxr_hq`` as ``librosa.load`` does.
* torchcrepe: row ``b`` is ``10 * 2 ** ((20 b + 1997.3794084376191) / 1200)`` Hz;
  audio resampled to 16 kHz with ``resampy`` (as torchcrepe does), frames
  centred at ``t = 160 k / 16000`` s (zero padding of half a window each side).
* PESTO: row ``b`` is MIDI ``b / 3`` (after the model's own pitch-shift roll);
  centred CQT frames at ``t = k * hop / sr`` where ``hop = round(step_ms * sr / 1000)``
  samples at the rate the model runs at.

torchaudio: torchcrepe and pesto import ``torchaudio`` at module level, but use
it only to read audio files, which sotbench never asks them to do (arrays are
passed in).  The PyPI torchaudio wheel does not load with the CPU torch used
here, so when ``import torchaudio`` fails, :func:`_import_torch_peer` places a
stand-in module in ``sys.modules`` *only while importing the peer package* and
removes it right after; the stand-in has a single ``load`` function that raises
an explanatory ``ImportError``.  Nothing else in the process sees it.

Salience caching: computing CREPE-full costs ~4.7 s of CPU per audio second, so
every adapter caches its salience on disk under
``$SOTBENCH_CACHE/salience/<model>/<version tag>/<audio sha1>.npz`` (default
``~/.cache/sotbench``); the version tag covers the package version, the
adapter version and the settings that change the output.  Pass ``cache=False``
to disable.  ``model.last_stats`` reports whether the last call was served from
the cache and the compute time (wall and process-CPU seconds) measured when the
salience was first computed, so speed figures survive caching.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import json
import logging
import math
import os
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from sotbench.models.base import ModelUnavailable
from sotbench.registry import MODELS
from sotbench.types import Salience

__all__ = [
    "INSTALL_COMMAND",
    "PeerModel",
    "BasicPitch",
    "BasicPitchNotes",
    "TorchCrepe",
    "Pesto",
    "salience_cache_dir",
]

#: Documented install command for the peers (see ``scripts/install-peers.sh``).
INSTALL_COMMAND = "bash scripts/install-peers.sh"

#: What the install script does, spelled out for people without the script.
INSTALL_DETAIL = (
    "PIP_CONSTRAINT=constraints.txt pip install -e '.[peers]' && "
    "PIP_CONSTRAINT=constraints.txt pip install --no-deps "
    "basic-pitch==0.4.0 torchcrepe==0.0.24 pesto-pitch==2.0.1")

#: Package versions the adapters were validated with (Bach10 reproduction).
PINNED_VERSIONS = {"basic-pitch": "0.4.0", "torchcrepe": "0.0.24", "pesto-pitch": "2.0.1"}

#: Bumped whenever an adapter's output changes, to invalidate cached saliences.
ADAPTER_VERSION = 1

#: Default peak-picking threshold of paper 002 for the peers.
DEFAULT_THRESHOLD = 0.3

# torchcrepe's bin -> cents offset (cents relative to 10 Hz of bin 0).
_CREPE_CENTS_OFFSET = 1997.3794084376191
_CREPE_CENTS_PER_BIN = 20.0
_CREPE_SAMPLE_RATE = 16000

_log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# optional imports
# ---------------------------------------------------------------------------

def _unavailable(model: str, dist: str, reason: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"model {model!r} needs the optional package {dist}=={PINNED_VERSIONS.get(dist, '?')} "
        f"({reason}). Install the peer models with `{INSTALL_COMMAND}` "
        f"(equivalent to: {INSTALL_DETAIL}).")


def _check_version(dist: str) -> str:
    """Installed version of ``dist``; warn when it differs from the validated pin."""
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
    pinned = PINNED_VERSIONS.get(dist)
    if pinned is not None and version != pinned:
        warnings.warn(
            f"{dist} {version} is installed but sotbench's adapter was validated with "
            f"{dist} {pinned}; axes or scores may differ. Run `{INSTALL_COMMAND}` to pin it.",
            stacklevel=3)
    return version


def _torchaudio_stand_in(reason: str) -> types.ModuleType:
    shim = types.ModuleType("torchaudio")
    shim.__doc__ = ("sotbench stand-in for torchaudio, present only while a peer package is "
                    "imported; the real torchaudio failed to import: " + reason)
    shim.__sotbench_stand_in__ = True

    def load(*args: Any, **kwargs: Any):  # the only attribute the peers touch
        raise ImportError(
            "torchaudio is not usable in this environment (" + reason + "); sotbench passes "
            "audio arrays to the peer models instead of file names")

    shim.load = load
    return shim


@contextlib.contextmanager
def _torchaudio_guard() -> Iterator[None]:
    """Make ``import torchaudio`` succeed during the block if it fails otherwise.

    If the real torchaudio imports, nothing is changed.  Otherwise a stand-in
    with only ``load`` (raising ``ImportError``) is placed in ``sys.modules``
    for the duration of the block and removed afterwards, so only modules
    imported inside the block hold a reference to it.
    """
    try:
        import torchaudio  # noqa: F401
    except Exception as err:  # ImportError, or OSError from a wheel built for another torch
        reason = f"{type(err).__name__}: {err}".splitlines()[0][:200]
    else:
        yield
        return
    shim = _torchaudio_stand_in(reason)
    missing = object()
    previous = sys.modules.get("torchaudio", missing)
    sys.modules["torchaudio"] = shim
    try:
        yield
    finally:
        if sys.modules.get("torchaudio") is shim:
            if previous is missing:
                del sys.modules["torchaudio"]
            else:  # e.g. a None entry that blocks the import on purpose
                sys.modules["torchaudio"] = previous


def _import_peer(module: str, *, model: str, dist: str, torchaudio: bool = False):
    """Import an optional peer package or raise :class:`ModelUnavailable`."""
    if module in sys.modules and sys.modules[module] is not None:
        return sys.modules[module]
    guard = _torchaudio_guard() if torchaudio else contextlib.nullcontext()
    try:
        with guard, _quiet_import_logging():
            return importlib.import_module(module)
    except Exception as err:  # ImportError, or e.g. OSError from a broken binary wheel
        raise _unavailable(model, dist, f"import {module} failed: {type(err).__name__}: {err}") from err


@contextlib.contextmanager
def _quiet_import_logging() -> Iterator[None]:
    # basic_pitch logs a WARNING per missing optional backend (TF, TFLite,
    # CoreML) on the root logger at import time; sotbench uses ONNX on purpose.
    previous = logging.root.manager.disable
    logging.disable(max(previous, logging.WARNING))
    try:
        yield
    finally:
        logging.disable(previous)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def salience_cache_dir() -> Path:
    """Root of the salience cache: ``$SOTBENCH_CACHE/salience`` (default ``~/.cache/sotbench``)."""
    root = os.environ.get("SOTBENCH_CACHE") or "~/.cache/sotbench"
    return Path(root).expanduser() / "salience"


def _check_audio(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(
            f"audio must be mono with shape (n_samples,), got shape {audio.shape}; "
            "average the channels first (audio.mean(axis=0) for (channels, n_samples))")
    if audio.size == 0:
        raise ValueError("audio is empty; pass at least a few milliseconds of samples")
    if not np.issubdtype(audio.dtype, np.number) or np.iscomplexobj(audio):
        raise ValueError(f"audio must be real-valued, got dtype {audio.dtype}")
    audio = audio.astype(np.float32, copy=False)
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio contains NaN or Inf samples; clean or drop them before inference")
    try:
        ok = not isinstance(sample_rate, bool) and float(sample_rate).is_integer() and sample_rate > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"sample_rate must be a positive integer number of Hz, got {sample_rate!r}")
    sample_rate = int(sample_rate)
    if sample_rate < 8000:
        warnings.warn(f"sample_rate {sample_rate} Hz is unusually low for pitch estimation; "
                      "check that it is in Hz", stacklevel=3)
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:
        warnings.warn(f"audio peaks at {peak:.3g}, outside [-1, 1]; models expect float audio "
                      "in [-1, 1] (divide integer PCM by its full scale)", stacklevel=3)
    return audio, sample_rate


def _audio_sha1(audio: np.ndarray, sample_rate: int) -> str:
    h = hashlib.sha1()
    h.update(f"{sample_rate}:".encode())
    h.update(np.ascontiguousarray(audio, dtype=np.float32).tobytes())
    return h.hexdigest()


def _midi_to_hz(midi: np.ndarray) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


class _Timer:
    def __enter__(self) -> "_Timer":
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self.wall0
        self.cpu_s = time.process_time() - self.cpu0


# ---------------------------------------------------------------------------
# base adapter
# ---------------------------------------------------------------------------

class PeerModel:
    """Common machinery of the peer adapters (validation, caching, timing).

    Subclasses set ``name``, ``dist`` and implement :meth:`_compute` and
    :meth:`_settings`.

    Parameters
    ----------
    threshold : float
        Default peak-picking threshold on the salience (paper 002: 0.3).
    cache : bool
        Cache saliences on disk (see module docstring).

    Attributes
    ----------
    last_stats : dict
        After each :meth:`salience` call: ``cached`` (bool), ``audio_s``
        (seconds of audio), ``wall_s`` / ``cpu_s`` (seconds spent computing the
        salience, measured when it was first computed; process CPU time counts
        every thread), ``wall_s_per_audio_s``, ``cpu_s_per_audio_s``,
        ``cache_path`` (str or None).
    """

    name: str = ""
    dist: str = ""

    def __init__(self, *, threshold: float = DEFAULT_THRESHOLD, cache: bool = True) -> None:
        threshold = float(threshold)
        if not 0.0 <= threshold <= 1.0 or math.isnan(threshold):
            raise ValueError(f"threshold must lie in [0, 1] (salience scale), got {threshold}")
        self.threshold = threshold
        self.cache = bool(cache)
        self.last_stats: dict[str, Any] = {}
        self.package_version = "unknown"

    # -- to implement -----------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        """Settings that change the output (part of the cache key)."""
        return {}

    def _compute(self, audio: np.ndarray, sample_rate: int, progress: bool) -> Salience:
        raise NotImplementedError

    # -- public -----------------------------------------------------------
    @property
    def version(self) -> str:
        """Tag identifying the output: adapter version, package version, settings."""
        settings = json.dumps(self._settings(), sort_keys=True)
        digest = hashlib.sha1(settings.encode()).hexdigest()[:8]
        return f"{self.dist}-{self.package_version}-a{ADAPTER_VERSION}-{digest}"

    def salience(self, audio: np.ndarray, sample_rate: int, *, progress: bool = False) -> Salience:
        """Salience-gram of a whole mono track.

        Parameters
        ----------
        audio : ndarray, shape (n_samples,)
            Mono float audio in [-1, 1] at any sample rate.
        sample_rate : int
            Sample rate of ``audio`` in Hz; the adapter resamples to what the
            model needs.
        progress : bool
            Show a progress bar over the model's chunks.

        Returns
        -------
        Salience
            ``values`` (F, T) in [0, 1]; ``frequencies_hz`` (F,) in Hz;
            ``times_s`` (T,) frame centres in seconds from the first sample.
        """
        audio, sample_rate = _check_audio(audio, sample_rate)
        audio_s = audio.size / sample_rate
        path = None
        if self.cache:
            path = (salience_cache_dir() / self.name / self.version /
                    f"{_audio_sha1(audio, sample_rate)}.npz")
            hit = self._load_cached(path)
            if hit is not None:
                sal, stats = hit
                self.last_stats = dict(stats, cached=True, audio_s=audio_s, cache_path=str(path))
                return sal
        with _Timer() as timer:
            sal = self._compute(audio, sample_rate, progress)
        stats = {"wall_s": timer.wall_s, "cpu_s": timer.cpu_s,
                 "wall_s_per_audio_s": timer.wall_s / audio_s,
                 "cpu_s_per_audio_s": timer.cpu_s / audio_s}
        if path is not None:
            self._store(path, sal, stats)
        self.last_stats = dict(stats, cached=False, audio_s=audio_s,
                               cache_path=None if path is None else str(path))
        return sal

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, threshold={self.threshold}, {self.version})"

    # -- cache ------------------------------------------------------------
    @staticmethod
    def _load_cached(path: Path) -> tuple[Salience, dict] | None:
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                sal = Salience(data["values"], data["frequencies_hz"], data["times_s"])
                stats = json.loads(str(data["stats"]))
            return sal, stats
        except Exception as err:  # corrupt or foreign file: recompute and overwrite
            warnings.warn(f"ignoring unreadable cached salience {path} ({err}); recomputing",
                          stacklevel=3)
            return None

    @staticmethod
    def _store(path: Path, sal: Salience, stats: dict) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, values=sal.values, frequencies_hz=sal.frequencies_hz,
                         times_s=sal.times_s, stats=json.dumps(stats))
            os.replace(tmp, path)
        except OSError as err:
            warnings.warn(f"could not cache salience at {path} ({err}); set SOTBENCH_CACHE to a "
                          "writable folder or pass cache=False", stacklevel=3)


# ---------------------------------------------------------------------------
# Basic-Pitch
# ---------------------------------------------------------------------------

class BasicPitch(PeerModel):
    """Basic-Pitch (Bittner et al., 2022) ``contour`` salience via its ONNX model.

    Runs the package's own windowing (2 s windows overlapping by 30 frames,
    3840 zero samples in front) on the array, so the output equals
    ``basic_pitch.inference.run_inference`` on a file holding the same audio.

    Parameters
    ----------
    threshold : float
        Peak-picking threshold (paper 002: 0.3).
    cache : bool
        Cache saliences on disk.
    windows_per_batch : int
        Number of 2-s windows sent to the ONNX model per call (memory bound).
    """

    name = "basic-pitch"
    dist = "basic-pitch"

    def __init__(self, *, threshold: float = DEFAULT_THRESHOLD, cache: bool = True,
                 windows_per_batch: int = 8) -> None:
        super().__init__(threshold=threshold, cache=cache)
        if int(windows_per_batch) < 1:
            raise ValueError(f"windows_per_batch must be >= 1, got {windows_per_batch}")
        self.windows_per_batch = int(windows_per_batch)
        bp = _import_peer("basic_pitch", model=self.name, dist=self.dist)
        self._inference = _import_peer("basic_pitch.inference", model=self.name, dist=self.dist)
        self._constants = _import_peer("basic_pitch.constants", model=self.name, dist=self.dist)
        self._notes = _import_peer("basic_pitch.note_creation", model=self.name, dist=self.dist)
        try:
            import librosa  # noqa: F401
        except ImportError as err:
            raise _unavailable(self.name, "librosa", str(err)) from err
        self.package_version = _check_version(self.dist)
        try:
            with _quiet_import_logging():
                self._model = self._inference.Model(bp.ICASSP_2022_MODEL_PATH)
        except Exception as err:  # no usable backend (onnxruntime missing)
            raise _unavailable(self.name, "onnxruntime",
                               f"no backend could load {bp.ICASSP_2022_MODEL_PATH}: {err}") from err

    def _settings(self) -> dict[str, Any]:
        return {"output": "contour", "resample": "soxr_hq"}

    def _model_output(self, audio: np.ndarray, sample_rate: int, progress: bool) -> dict:
        """Raw model outputs ``note`` (T, 88), ``onset`` (T, 88), ``contour`` (T, 264)."""
        import librosa

        c = self._constants
        sr = c.AUDIO_SAMPLE_RATE
        if sample_rate != sr:
            audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=sr, res_type="soxr_hq")
        audio = np.asarray(audio, dtype=np.float32)
        n_overlap_frames = 30  # as in basic_pitch.inference.run_inference
        overlap_len = n_overlap_frames * c.FFT_HOP
        hop = c.AUDIO_N_SAMPLES - overlap_len
        padded = np.concatenate([np.zeros(overlap_len // 2, dtype=np.float32), audio])
        windows = (w for w, _ in self._inference.window_audio_file(padded, hop))
        n_windows = math.ceil(padded.size / hop)
        outputs: dict[str, list] = {"note": [], "onset": [], "contour": []}
        batches = range(math.ceil(n_windows / self.windows_per_batch))
        for _ in _progress(batches, progress, self.name):
            batch = np.stack([w for _, w in zip(range(self.windows_per_batch), windows)])
            for key, value in self._model.predict(batch.astype(np.float32)).items():
                outputs[key].append(value)
        return {k: self._inference.unwrap_output(np.concatenate(v), len(audio), n_overlap_frames)
                for k, v in outputs.items()}

    def _compute(self, audio: np.ndarray, sample_rate: int, progress: bool) -> Salience:
        out = self._model_output(audio, sample_rate, progress)
        contour = out["contour"]
        times = self._notes.model_frames_to_time(contour.shape[0])
        return Salience(np.clip(contour.T, 0.0, 1.0),
                        np.asarray(self._constants.FREQ_BINS_CONTOURS, dtype=np.float64), times)


class BasicPitchNotes(BasicPitch):
    """Basic-Pitch's own note post-processing as a frame-level pitch set (extra row).

    Runs the package's note creation (``output_to_notes_polyphonic`` with the
    defaults of ``basic_pitch.inference.predict``: onset 0.5, frame 0.3,
    minimum note length 127.7 ms, inferred onsets, Melodia trick) and writes
    value 1 at the note's semitone on the contour axis (row ``3 (midi - 21)``)
    for every frame ``start <= n < end`` of each note, 0 elsewhere.  Rows of
    distinct notes are 3 bins apart, so every note is a strict local maximum
    and any threshold in (0, 1] keeps exactly the notes.  Pitch bends are
    ignored (notes sit on the equal-tempered semitone).  This is *not* the
    paper's protocol for Basic-Pitch; label it as post-processed notes.
    """

    name = "basic-pitch-notes"

    def __init__(self, *, threshold: float = DEFAULT_THRESHOLD, cache: bool = True,
                 windows_per_batch: int = 8, onset_threshold: float = 0.5,
                 frame_threshold: float = 0.3, minimum_note_length_ms: float = 127.70,
                 melodia_trick: bool = True) -> None:
        super().__init__(threshold=threshold, cache=cache, windows_per_batch=windows_per_batch)
        for label, value in (("onset_threshold", onset_threshold),
                             ("frame_threshold", frame_threshold)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{label} must lie in [0, 1], got {value}")
        if float(minimum_note_length_ms) < 0:
            raise ValueError(f"minimum_note_length_ms must be >= 0, got {minimum_note_length_ms}")
        self.onset_threshold = float(onset_threshold)
        self.frame_threshold = float(frame_threshold)
        self.minimum_note_length_ms = float(minimum_note_length_ms)
        self.melodia_trick = bool(melodia_trick)

    def _settings(self) -> dict[str, Any]:
        return dict(super()._settings(), output="notes", onset=self.onset_threshold,
                    frame=self.frame_threshold, min_len_ms=self.minimum_note_length_ms,
                    melodia=self.melodia_trick)

    def _compute(self, audio: np.ndarray, sample_rate: int, progress: bool) -> Salience:
        c = self._constants
        out = self._model_output(audio, sample_rate, progress)
        n_frames = out["contour"].shape[0]
        min_len = int(np.round(self.minimum_note_length_ms / 1000 * (c.AUDIO_SAMPLE_RATE / c.FFT_HOP)))
        notes = self._notes.output_to_notes_polyphonic(
            out["note"], out["onset"], onset_thresh=self.onset_threshold,
            frame_thresh=self.frame_threshold, min_note_len=min_len, infer_onsets=True,
            max_freq=None, min_freq=None, melodia_trick=self.melodia_trick)
        freqs = np.asarray(c.FREQ_BINS_CONTOURS, dtype=np.float64)
        values = np.zeros((freqs.size, n_frames), dtype=np.float32)
        for start, end, pitch, _amplitude in notes:
            row = c.CONTOURS_BINS_PER_SEMITONE * (int(pitch) - 21)
            if 0 <= row < freqs.size:
                values[row, int(start):int(end)] = 1.0
        return Salience(values, freqs, self._notes.model_frames_to_time(n_frames))


# ---------------------------------------------------------------------------
# torchcrepe
# ---------------------------------------------------------------------------

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
        Cache saliences on disk (strongly advised for ``full``: ~4.7 s CPU per
        audio second).
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
        self._tc = _import_peer("torchcrepe", model=self.name, dist=self.dist, torchaudio=True)
        try:
            import resampy  # noqa: F401
        except ImportError as err:
            raise _unavailable(self.name, "resampy", str(err)) from err
        self.package_version = _check_version(self.dist)
        import torch

        weights = Path(self._tc.__file__).parent / "assets" / f"{capacity}.pth"
        if not weights.is_file():
            raise _unavailable(self.name, self.dist, f"weights {weights} are missing")
        net = self._tc.Crepe(capacity)
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
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
            for frames in _progress(batches, progress, self.name, total=total):
                probs.append(self._net(frames).numpy())
        values = np.concatenate(probs, axis=0).T
        times = np.arange(values.shape[1]) * (self.hop_length / sr)
        return Salience(np.clip(values, 0.0, 1.0), crepe_bin_frequencies(), times)


# ---------------------------------------------------------------------------
# PESTO
# ---------------------------------------------------------------------------

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
        self._pesto = _import_peer("pesto", model=self.name, dist=self.dist, torchaudio=True)
        self.package_version = _check_version(self.dist)
        self._models: dict[int, Any] = {}

    def _settings(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "step_ms": self.step_ms,
                "model_sample_rate": self.model_sample_rate, "resample": "soxr_hq"}

    def _model(self, sr: int):
        if sr not in self._models:
            loader = _import_peer("pesto.loader", model=self.name, dist=self.dist, torchaudio=True)
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
            for f0 in _progress(starts, progress, self.name):
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
        freqs = _midi_to_hz(np.arange(values.shape[0]) / bins_per_semitone)
        times = np.arange(values.shape[1]) * (hop / sr)
        return Salience(np.clip(values, 0.0, 1.0), freqs, times)


# ---------------------------------------------------------------------------
# progress
# ---------------------------------------------------------------------------

def _progress(iterable, enabled: bool, desc: str, total: int | None = None):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a core dependency
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=False)


# ---------------------------------------------------------------------------
# registration
# ---------------------------------------------------------------------------

def _register(name: str, factory: Callable[..., PeerModel], description: str) -> None:
    MODELS.register(name, factory, task="mpe", install=INSTALL_COMMAND, peer=True,
                    description=description)


def _basic_pitch(**settings: Any) -> BasicPitch:
    return BasicPitch(**settings)


def _basic_pitch_notes(**settings: Any) -> BasicPitchNotes:
    return BasicPitchNotes(**settings)


def _crepe(**settings: Any) -> TorchCrepe:
    settings.setdefault("capacity", "full")
    return TorchCrepe(**settings)


def _crepe_tiny(**settings: Any) -> TorchCrepe:
    if settings.get("capacity", "tiny") != "tiny":
        raise ValueError("model 'crepe-tiny' has capacity 'tiny'; use model 'crepe' for 'full'")
    settings["capacity"] = "tiny"
    return TorchCrepe(**settings)


def _pesto(**settings: Any) -> Pesto:
    return Pesto(**settings)


_register("basic-pitch", _basic_pitch,
          "Basic-Pitch 0.4.0 contour salience (ONNX), peer of paper 002 Table 1")
_register("basic-pitch-notes", _basic_pitch_notes,
          "Basic-Pitch 0.4.0 with its own note post-processing (extra row, not the paper protocol)")
_register("crepe", _crepe, "CREPE full (torchcrepe 0.0.24), monophonic peer, multi-peak variant")
_register("crepe-tiny", _crepe_tiny, "CREPE tiny (torchcrepe 0.0.24), monophonic, multi-peak variant")
_register("pesto", _pesto, "PESTO mir-1k_g7 (pesto-pitch 2.0.1), monophonic peer, multi-peak variant")
