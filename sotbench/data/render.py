"""Soundfont rendering of MIDI for the embedded datasets (``chorales-synth``, ``notes-synth``).

Renderer: :mod:`midirenderer` (PyPI wheel, no system dependencies), which
renders MIDI bytes with a SoundFont's bytes to 48 kHz stereo WAV bytes.  It
renders up to the last MIDI event, so callers append an event (a control
change) after the last note-off to keep the release tail.

Soundfont resolution (:func:`find_soundfont`), first match wins:

1. an explicit path (function argument / config);
2. ``$SOTBENCH_SOUNDFONT``;
3. Debian's ``fluid-soundfont-gm`` (``/usr/share/sounds/sf2/FluidR3_GM.sf2``), the better one;
4. ``TimGM6mb.sf2`` shipped inside the :mod:`pretty_midi` wheel (always present
   on a fresh machine after ``pip install``).

Which soundfont produced a dataset (path, file name, size, SHA-256) is part
of its configuration hash and provenance, since different soundfonts give
different audio.
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .audio import decode_wav_bytes, resample, validate_audio

__all__ = ["SoundFont", "find_soundfont", "render_midi", "midi_to_bytes", "renderer_version",
           "DEBIAN_SOUNDFONT", "RENDER_SAMPLE_RATE"]

DEBIAN_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
#: Sample rate of midirenderer's output, Hz.
RENDER_SAMPLE_RATE = 48000


@dataclass(frozen=True)
class SoundFont:
    """A SoundFont file and its identity.

    Attributes
    ----------
    path : Path
    sha256 : str
        Hex digest of the file's bytes.
    size : int
        Bytes.
    origin : str
        How it was chosen (``"explicit"``, ``"$SOTBENCH_SOUNDFONT"``, ``"debian"``, ``"pretty_midi"``).
    """

    path: Path
    sha256: str
    size: int
    origin: str

    @property
    def name(self) -> str:
        """The soundfont's file name."""
        return self.path.name

    def data(self) -> bytes:
        """The file's bytes (cached in memory per process)."""
        return _read_bytes(str(self.path), self.sha256)

    def provenance(self) -> dict:
        """JSON-ready description (path, name, size, sha256, origin)."""
        return {"path": str(self.path), "name": self.name, "size": self.size,
                "sha256": self.sha256, "origin": self.origin}


@lru_cache(maxsize=2)
def _read_bytes(path: str, sha256: str) -> bytes:
    data = Path(path).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"soundfont {path!r} changed on disk while in use; re-run to pick up the new file")
    return data


@lru_cache(maxsize=8)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pretty_midi_soundfont() -> Path:
    import pretty_midi

    return Path(pretty_midi.__file__).resolve().parent / "TimGM6mb.sf2"


def find_soundfont(explicit: str | os.PathLike | None = None) -> SoundFont:
    """Choose the General MIDI soundfont used for rendering (see module docstring).

    Raises
    ------
    ValueError
        An explicit path or ``$SOTBENCH_SOUNDFONT`` does not exist, or no
        soundfont is found at all (reinstall ``pretty_midi``).
    """
    candidates = []
    if explicit is not None and str(explicit).strip():
        candidates.append((Path(explicit).expanduser(), "explicit", True))
    env = os.environ.get("SOTBENCH_SOUNDFONT", "").strip()
    if env:
        candidates.append((Path(env).expanduser(), "$SOTBENCH_SOUNDFONT", True))
    candidates.append((DEBIAN_SOUNDFONT, "debian", False))
    candidates.append((_pretty_midi_soundfont(), "pretty_midi", False))
    for path, origin, required in candidates:
        if path.is_file():
            st = path.stat()
            return SoundFont(path=path.resolve(), sha256=_digest(str(path.resolve()), st.st_mtime_ns, st.st_size),
                             size=st.st_size, origin=origin)
        if required:
            raise ValueError(f"soundfont {str(path)!r} (from {origin}) does not exist; "
                             "give the path of a General MIDI .sf2 file")
    raise ValueError("no General MIDI soundfont found: install 'fluid-soundfont-gm' (Debian) or "
                     "reinstall pretty_midi, whose wheel ships TimGM6mb.sf2")


def renderer_version() -> str:
    """Installed midirenderer version (for provenance)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("midirenderer")
    except PackageNotFoundError:
        return "unknown"


def midi_to_bytes(pm) -> bytes:
    """Serialise a :class:`pretty_midi.PrettyMIDI` to Standard MIDI File bytes."""
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def render_midi(midi: bytes, soundfont: SoundFont, sample_rate: int | None = None,
                duration_s: float | None = None) -> tuple[np.ndarray, int]:
    """Render MIDI with a soundfont to float32 mono audio.

    Parameters
    ----------
    midi : bytes or pretty_midi.PrettyMIDI
        The score.  midirenderer stops at the last MIDI event: add an event
        after the last note-off to keep release tails.
    soundfont : SoundFont
    sample_rate : int, optional
        Output rate in Hz; default the renderer's 48,000 Hz.  Other rates are
        reached by exact rational resampling.
    duration_s : float, optional
        Trim or zero-pad the output to exactly ``round(duration_s * sample_rate)``
        samples.

    Returns
    -------
    audio : ndarray, shape (n_samples,), float32
        Mean of the renderer's two channels (not normalised).
    sample_rate : int
        Hz.
    """
    try:
        import midirenderer
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ImportError("rendering needs midirenderer: pip install midirenderer") from exc
    if not isinstance(midi, (bytes, bytearray)):
        midi = midi_to_bytes(midi)
    wav = midirenderer.render_wave_from(soundfont.data(), bytes(midi))
    audio, sr = decode_wav_bytes(wav, "rendered MIDI")
    if audio.ndim == 2:
        audio = audio.mean(axis=1)  # the renderer is stereo by design: no warning
    audio = validate_audio(audio, sr, f"audio rendered with soundfont {soundfont.name}", warn=False)
    if sample_rate is not None and int(sample_rate) != sr:
        audio = resample(audio, sr, int(sample_rate))
        sr = int(sample_rate)
    if duration_s is not None:
        n = int(round(duration_s * sr))
        audio = audio[:n] if len(audio) >= n else np.pad(audio, (0, n - len(audio)))
    return np.ascontiguousarray(audio, dtype=np.float32), sr

