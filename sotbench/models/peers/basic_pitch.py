"""Basic-Pitch (Bittner et al., 2022) adapter: ``basic-pitch`` and ``basic-pitch-notes``.

Axis and frame-time conventions (checked by ``tests/models/test_peers.py``):
row ``k`` is ``27.5 * 2 ** (k / 36)`` Hz (the package's ``FREQ_BINS_CONTOURS``,
264 bins, 3 bins/semitone from 27.5 Hz, ~86 frames/s); frame times come from
the package's own ``model_frames_to_time``, which accounts for the window
overlap used by its inference (a plain 256-sample hop drifts by ~8.5 ms every
142 frames).  Audio is resampled to 22,050 Hz with ``soxr_hq`` as
``librosa.load`` does.
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from sotbench.models.peers.base import DEFAULT_THRESHOLD, PeerModel, register_peer
from sotbench.models.peers.optional import check_version, import_peer, quiet_import_logging, unavailable
from sotbench.progress import progress as progress_bar
from sotbench.types import Salience

__all__ = ["BasicPitch", "BasicPitchNotes"]


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
        bp = import_peer("basic_pitch", model=self.name, dist=self.dist)
        self._inference = import_peer("basic_pitch.inference", model=self.name, dist=self.dist)
        self._constants = import_peer("basic_pitch.constants", model=self.name, dist=self.dist)
        self._notes = import_peer("basic_pitch.note_creation", model=self.name, dist=self.dist)
        try:
            import librosa  # noqa: F401
        except ImportError as err:
            raise unavailable(self.name, "librosa", str(err)) from err
        self.package_version = check_version(self.dist)
        try:
            with quiet_import_logging():
                self._model = self._inference.Model(bp.ICASSP_2022_MODEL_PATH)
        except Exception as err:  # no usable backend (onnxruntime missing)
            raise unavailable(self.name, "onnxruntime",
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
        for _ in progress_bar(batches, progress, self.name):
            batch = np.stack(list(itertools.islice(windows, self.windows_per_batch)))
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


def _basic_pitch(**settings: Any) -> BasicPitch:
    return BasicPitch(**settings)


def _basic_pitch_notes(**settings: Any) -> BasicPitchNotes:
    return BasicPitchNotes(**settings)


register_peer("basic-pitch", _basic_pitch,
              "Basic-Pitch 0.4.0 contour salience (ONNX), peer of paper 002 Table 1",
              module="basic_pitch", dist="basic-pitch")
register_peer("basic-pitch-notes", _basic_pitch_notes,
              "Basic-Pitch 0.4.0 with its own note post-processing (extra row, not the paper protocol)",
              module="basic_pitch", dist="basic-pitch")
