"""SS-MPE: the self-supervised multi-pitch estimator of paper 002.

Two objects live here:

* :class:`SSMPENet` - the fully convolutional 2-D autoencoder of paper 002
  (section 3.2; the Timbre-Trap backbone with layer normalisation after every
  block): HCQT features ``(B, 6, 440, T)`` in [0, 1] -> salience *logits*
  ``(B, 440, T)``.  Exactly 545,189 trainable parameters at the paper's
  settings.
* :class:`SSMPE` - the :class:`~sotbench.models.base.SalienceModel` wrapper the
  MPE task scores: audio -> HCQT -> ``sigmoid(logits)`` on whole tracks,
  computed in chunks with bounded memory, with the frequencies of the
  first-harmonic (h = 1) HCQT bins and the HCQT frame times.

Architecture (frequency sizes for 440 input bins)::

    Conv2d 6->4 (3x3, same) + ELU                                 440
    4 x [3 residual blocks (3x3 dilation 1/2/3 + ELU, 1x1 + ELU, + skip)
         -> Conv2d (4,1) stride (2,1) + ELU -> LayerNorm over (C, F)]
         channels 4->8->16->32->64                        219, 108, 53, 25
    Conv2d 64->128 kernel (25,1) -> LayerNorm                       1 (latent)
    ConvTranspose2d 128->64 kernel (25,1) + ELU -> LayerNorm        25
    4 x [ConvTranspose2d (4,1) stride (2,1) + ELU -> 3 residual blocks
         -> LayerNorm], channels 64->32->16->8->4        53, 108, 219, 440
    Conv2d 4->1 (3x3, same) -> logits                               440

The layer norms normalise each frame over (channels, frequency), so nothing
but the 3x3 kernels mixes frames: the receptive field along time is
:attr:`SSMPENet.time_radius` = 50 frames on each side, which is what makes
chunked inference with enough overlap equal to whole-track inference.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from sotbench.data.audio import resample, validate_audio
from sotbench.models.base import ModelUnavailable, count_parameters  # count_parameters: re-exported
from sotbench.progress import counter
from sotbench.registry import MODELS
from sotbench.types import Salience

__all__ = [
    "SSMPENet",
    "SSMPE",
    "CHECKPOINT_DIR",
    "CHECKPOINT_FORMAT",
    "DEFAULT_CHECKPOINT",
    "TRAIN_COMMAND",
    "build_ssmpe",
    "default_checkpoint",
    "load_ssmpe_checkpoint",
    "save_ssmpe_checkpoint",
    "train_command",
    "SSMPE_MODELS",
    "count_parameters",
]

#: Folder of the checkpoints shipped with the package.
CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
#: File name of the default shipped checkpoint.
DEFAULT_CHECKPOINT = "ssmpe-full-cpu.pt"
#: ``format`` field of a model checkpoint written by :func:`save_ssmpe_checkpoint`.
CHECKPOINT_FORMAT = "sotbench-ssmpe/1"
#: Command that (re)trains SS-MPE, quoted in error messages.
TRAIN_COMMAND = "sotbench run task=mpe model=ssmpe train=true budget=cpu"

#: HCQT settings of paper 002 (section 3.1); the model's input layout.
HCQT_SETTINGS = dict(sample_rate=22050, hop_length=256, fmin=27.5, bins_per_octave=60,
                     n_bins=440, harmonics=(0.5, 1, 2, 3, 4, 5), top_db=80.0)


# ----------------------------------------------------------------------------
# network
# ----------------------------------------------------------------------------

class FrameLayerNorm(nn.Module):
    """Layer normalisation of every frame over (channels, frequency).

    Parameters
    ----------
    channels, n_freqs : int
        Normalised shape; the affine weight and bias have shape
        ``(channels, n_freqs)``.

    Notes
    -----
    Input and output are ``(B, C, F, T)``; each ``(b, :, :, t)`` slice is
    normalised independently, so frames do not interact.
    """

    def __init__(self, channels: int, n_freqs: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm = nn.LayerNorm((channels, n_freqs), eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class ResidualBlock(nn.Module):
    """3x3 dilated conv + ELU, 1x1 conv + ELU, plus the input (channels kept)."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.dilated = nn.Conv2d(channels, channels, 3, padding="same", dilation=dilation)
        self.pointwise = nn.Conv2d(channels, channels, 1)
        self.act = nn.ELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.pointwise(self.act(self.dilated(x))))


def _residual_stack(channels: int) -> nn.Sequential:
    return nn.Sequential(*(ResidualBlock(channels, d) for d in (1, 2, 3)))


class EncoderBlock(nn.Module):
    """Residual stack, then halve frequency with a (4, 1) stride-(2, 1) conv, then LayerNorm."""

    def __init__(self, c_in: int, c_out: int, n_freqs_out: int) -> None:
        super().__init__()
        self.residual = _residual_stack(c_in)
        self.down = nn.Conv2d(c_in, c_out, kernel_size=(4, 1), stride=(2, 1))
        self.act = nn.ELU()
        self.norm = FrameLayerNorm(c_out, n_freqs_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.act(self.down(self.residual(x))))


class DecoderBlock(nn.Module):
    """Double frequency with a (4, 1) stride-(2, 1) transposed conv, residual stack, LayerNorm."""

    def __init__(self, c_in: int, c_out: int, n_freqs_out: int, output_padding: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_out, kernel_size=(4, 1), stride=(2, 1),
                                     output_padding=(output_padding, 0))
        self.act = nn.ELU()
        self.residual = _residual_stack(c_out)
        self.norm = FrameLayerNorm(c_out, n_freqs_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.residual(self.act(self.up(x))))


class SSMPENet(nn.Module):
    """The SS-MPE autoencoder: HCQT features -> salience logits.

    Parameters
    ----------
    n_harmonics : int
        Input channels (HCQT harmonics); 6 in paper 002.
    n_bins : int
        Frequency bins of the input and of the output; 440 in paper 002.
    channels : sequence of 5 ints
        Channels after the input conv and after each encoder block;
        ``(4, 8, 16, 32, 64)`` in paper 002 (Timbre-Trap complexity 2).
    latent_size : int
        Size of the per-frame latent vector; 128 in paper 002.

    Notes
    -----
    At the defaults the network has exactly 545,189 trainable parameters.
    Each encoder block maps ``F -> F // 2 - 1`` bins (440, 219, 108, 53, 25);
    the decoder inverts these sizes exactly with ``output_padding``.
    """

    def __init__(self, n_harmonics: int = 6, n_bins: int = 440,
                 channels: Sequence[int] = (4, 8, 16, 32, 64), latent_size: int = 128) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if len(channels) != 5:
            raise ValueError(f"channels={channels} must list 5 sizes (input conv + 4 blocks)")
        sizes = [int(n_bins)]
        for _ in range(4):
            sizes.append(sizes[-1] // 2 - 1)
        if sizes[-1] < 1:
            raise ValueError(f"n_bins={n_bins} is too small for 4 halvings; use at least 46 bins")
        self.n_harmonics = int(n_harmonics)
        self.n_bins = int(n_bins)
        self.channels = channels
        self.latent_size = int(latent_size)

        self.conv_in = nn.Conv2d(self.n_harmonics, channels[0], 3, padding="same")
        self.encoder = nn.ModuleList(
            EncoderBlock(channels[i], channels[i + 1], sizes[i + 1]) for i in range(4))
        self.to_latent = nn.Conv2d(channels[4], self.latent_size, kernel_size=(sizes[4], 1))
        self.latent_norm = FrameLayerNorm(self.latent_size, 1)
        self.from_latent = nn.ConvTranspose2d(self.latent_size, channels[4], kernel_size=(sizes[4], 1))
        self.from_latent_norm = FrameLayerNorm(channels[4], sizes[4])
        self.decoder = nn.ModuleList(
            DecoderBlock(channels[i + 1], channels[i], sizes[i], output_padding=sizes[i] % 2)
            for i in reversed(range(4)))
        self.conv_out = nn.Conv2d(channels[0], 1, 3, padding="same")
        self.act = nn.ELU()

    #: Frames of context on each side that influence one output frame
    #: (input/output 3x3 convs: 1 each; 8 residual stacks of dilations 1+2+3).
    time_radius = 1 + 8 * (1 + 2 + 3) + 1

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Salience logits of a batch of HCQT features.

        Parameters
        ----------
        features : Tensor, shape (B, n_harmonics, n_bins, T)
            HCQT features in [0, 1] (dB above floor, rescaled).

        Returns
        -------
        Tensor, shape (B, n_bins, T)
            Logits; ``sigmoid`` gives the salience in [0, 1].
        """
        if features.dim() != 4 or features.shape[1] != self.n_harmonics \
                or features.shape[2] != self.n_bins:
            raise ValueError(
                f"features of shape {tuple(features.shape)} do not match "
                f"(B, {self.n_harmonics}, {self.n_bins}, T); pass HCQT features "
                "with the harmonics on axis 1 and frequency on axis 2")
        x = self.act(self.conv_in(features))
        for block in self.encoder:
            x = block(x)
        z = self.latent_norm(self.to_latent(x))
        x = self.from_latent_norm(self.act(self.from_latent(z)))
        for block in self.decoder:
            x = block(x)
        return self.conv_out(x).squeeze(1)

    def config(self) -> dict:
        """Constructor arguments (stored in checkpoints)."""
        return dict(n_harmonics=self.n_harmonics, n_bins=self.n_bins,
                    channels=list(self.channels), latent_size=self.latent_size)


# ----------------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------------

def save_ssmpe_checkpoint(path: str | Path, net: SSMPENet, *, hcqt: dict | None = None,
                          meta: dict | None = None) -> Path:
    """Write a self-describing SS-MPE model file (weights + architecture + HCQT settings).

    Parameters
    ----------
    path : str or Path
        Destination (``.pt``); written atomically (temporary file + rename).
    net : SSMPENet
    hcqt : dict, optional
        HCQT settings the network was trained with (default: paper 002's).
    meta : dict, optional
        Provenance (objective, data, steps, commit, validation loss, ...);
        plain JSON-like values only.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = dict(HCQT_SETTINGS if hcqt is None else hcqt)
    settings["harmonics"] = [float(h) for h in settings["harmonics"]]
    payload = {
        "format": CHECKPOINT_FORMAT,
        "config": net.config(),
        "hcqt": settings,
        "state_dict": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
        # plain JSON values only, so that the file loads with weights_only=True
        "meta": json.loads(json.dumps(dict(meta or {}), default=str)),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_ssmpe_checkpoint(path: str | Path, device: str | torch.device = "cpu"
                          ) -> tuple[SSMPENet, dict]:
    """Load a model file written by :func:`save_ssmpe_checkpoint`.

    Returns
    -------
    net : SSMPENet
        In eval mode on ``device``.
    payload : dict
        The whole file (``config``, ``hcqt``, ``meta``, ...).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not an SS-MPE model file (wrong format or weights).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SS-MPE checkpoint {path} does not exist; train one with "
                                f"`{TRAIN_COMMAND}`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - corrupt/foreign file
        raise ValueError(f"cannot read SS-MPE checkpoint {path}: {err}; re-train with "
                         f"`{TRAIN_COMMAND}`") from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not an SS-MPE model file (expected format "
                         f"{CHECKPOINT_FORMAT!r}); pass a file written by the ssmpe training")
    net = SSMPENet(**payload["config"])
    try:
        net.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"weights in {path} do not fit the SS-MPE network: {err}") from err
    net.eval().to(device)
    return net, payload


def default_checkpoint(model_name: str = "ssmpe") -> Path:
    """Path of the shipped checkpoint of ``model_name`` (used when none is given).

    ``sotbench/checkpoints/<model_name>-cpu.pt`` (``ssmpe`` -> the full
    objective, ``ssmpe-full-cpu.pt``).

    Raises
    ------
    ModelUnavailable
        No shipped checkpoint; the message gives the training command.
    """
    stem = "ssmpe-full" if model_name == "ssmpe" else model_name
    path = CHECKPOINT_DIR / f"{stem}-cpu.pt"
    if path.is_file():
        return path
    raise ModelUnavailable(
        f"no checkpoint for model {model_name!r} ships in {CHECKPOINT_DIR} (expected {path.name}); "
        f"train one with `{train_command(model_name)}` or pass "
        "`task.model_settings.checkpoint=<path to a .pt file>`")


def train_command(model_name: str = "ssmpe") -> str:
    """Command that trains ``model_name`` from scratch and evaluates it."""
    return f"sotbench run task=mpe model={model_name} train=true budget=cpu"


# ----------------------------------------------------------------------------
# SalienceModel wrapper
# ----------------------------------------------------------------------------

def _resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device} requested but CUDA is not available; use device=cpu")
    return device


def _resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    return resample(audio, sr_in, sr_out)


class SSMPE:
    """SS-MPE as a :class:`~sotbench.models.base.SalienceModel`.

    Parameters
    ----------
    net : SSMPENet
        Trained network (moved to ``device``, eval mode).
    hcqt : sotbench.dsp.hcqt.HCQT
        Feature extractor (``iter_power``, ``to_features``, ``frequencies_hz``,
        ``harmonics``, ``sample_rate``, ``hop_length``, ``n_frames``,
        ``frame_times``).
    threshold : float
        Default peak-picking threshold (0.5 in paper 002).
    chunk_seconds : float
        Audio per HCQT chunk and per network chunk.  Memory scales with the
        chunk, not with the track (see Notes); results do not depend on it.
    max_feature_cache_mb : float
        Tracks whose HCQT power would take more memory than this are processed
        in two HCQT passes (pass 1 finds the track maximum, pass 2 recomputes
        each chunk) instead of keeping the power of the whole track.
    num_threads : int, optional
        ``torch.set_num_threads`` while computing a salience on the CPU
        (restored after; ignored on CUDA); None leaves torch's setting alone.
        Default 1: on a CPU shared with other busy processes one thread is
        faster than several for this network (OpenMP threads wait for each
        other; figures in ``docs/performance.md``); on an idle many-core CPU
        pass None.
    device : str or torch.device
    checkpoint : Path, optional
        Where ``net`` came from (reported by :meth:`describe`).
    name : str

    Notes
    -----
    * Features are normalised with the **whole track's** maximum HCQT power,
      as a single whole-track HCQT would be, so chunked inference reproduces
      whole-track inference up to float rounding (tested).
    * The network sees each chunk with ``SSMPENet.time_radius`` (50) frames of
      context on each side: its output equals whole-track inference too.
    * Peak memory: one chunk of HCQT and network activations, plus the
      track's HCQT power (6 x 440 float32 per frame = 0.9 MB per second of
      audio, unless over ``max_feature_cache_mb``), plus the output
      salience (440 float32 per frame).
    """

    def __init__(self, net: SSMPENet, hcqt: Any, *, threshold: float = 0.5,
                 chunk_seconds: float = 20.0, max_feature_cache_mb: float = 512.0,
                 num_threads: int | None = 1, device: str | torch.device = "cpu",
                 checkpoint: Path | None = None, name: str = "ssmpe") -> None:
        if not 0.0 < float(threshold) < 1.0:
            raise ValueError(f"threshold={threshold} must lie in (0, 1); paper 002 uses 0.5")
        if float(chunk_seconds) <= 0:
            raise ValueError(f"chunk_seconds={chunk_seconds} must be positive; use e.g. 20")
        if num_threads is not None and int(num_threads) < 1:
            raise ValueError(f"num_threads={num_threads} must be >= 1 (or None to leave torch's)")
        self.name = name
        self.threshold = float(threshold)
        self.device = _resolve_device(device)
        self.net = net.to(self.device).eval()
        self.hcqt = hcqt.to(self.device) if isinstance(hcqt, nn.Module) else hcqt
        self.checkpoint = checkpoint
        self.sample_rate = int(hcqt.sample_rate)
        self.hop = int(hcqt.hop_length)
        harmonics = [float(h) for h in hcqt.harmonics]
        if 1.0 not in harmonics:
            raise ValueError(f"HCQT harmonics {harmonics} lack h=1; SS-MPE reads pitch from h=1")
        freqs = torch.as_tensor(hcqt.frequencies_hz).detach().cpu().double().numpy()
        self.frequencies_hz = freqs[harmonics.index(1.0)]
        self.chunk_frames = max(1, int(round(float(chunk_seconds) * self.sample_rate / self.hop)))
        self.max_feature_cache_mb = float(max_feature_cache_mb)
        self.num_threads = None if num_threads is None else int(num_threads)

    def to(self, device: str | torch.device) -> "SSMPE":
        """Move network and HCQT to ``device`` (returns self)."""
        self.device = _resolve_device(device)
        self.net.to(self.device)
        if isinstance(self.hcqt, nn.Module):
            self.hcqt.to(self.device)
        return self

    def __repr__(self) -> str:
        return (f"SSMPE(name={self.name!r}, checkpoint={str(self.checkpoint)!r}, "
                f"threshold={self.threshold}, device={str(self.device)!r})")

    def describe(self) -> dict:
        """JSON-able facts about this model instance (for the results store)."""
        return dict(name=self.name, threshold=self.threshold, checkpoint=str(self.checkpoint),
                    chunk_frames=self.chunk_frames, device=str(self.device))

    def _prepare(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        audio = np.asarray(audio)
        if audio.ndim == 2 and 1 in audio.shape:
            audio = audio.reshape(-1)
        audio = validate_audio(audio, sample_rate, name=f"{self.name} input")  # mono, non-empty, finite
        return _resample(audio, int(sample_rate), self.sample_rate)

    def _stream(self, chunks, n_frames: int, peak: torch.Tensor, out: torch.Tensor) -> None:
        """Run the network over streamed power chunks, each output chunk with full context."""
        r = SSMPENet.time_radius
        ref = peak.reshape(1)
        buf, buf_start, next_out = None, 0, 0
        for _, power in chunks:
            buf = power if buf is None else torch.cat([buf, power], dim=-1)
            while next_out < n_frames:
                f0, f1 = next_out, min(n_frames, next_out + self.chunk_frames)
                lo, hi = max(0, f0 - r), min(n_frames, f1 + r)
                if buf_start + buf.shape[-1] < hi:
                    break                                   # wait for more frames
                feats = self.hcqt.to_features(buf[None, ..., lo - buf_start:hi - buf_start], ref=ref)
                logits = self.net(feats)[0]
                out[:, f0:f1] = logits[:, f0 - lo:f1 - lo]
                next_out = f1
                drop = max(0, f1 - r - buf_start)
                buf, buf_start = buf[..., drop:], buf_start + drop
        if next_out != n_frames:
            raise RuntimeError(f"HCQT streamed {buf_start + buf.shape[-1]} of {n_frames} frames")

    @torch.no_grad()
    def logits(self, audio: np.ndarray, sample_rate: int, *, progress: bool = False
               ) -> torch.Tensor:
        """Salience logits (F, T) of a whole track (see :meth:`salience`)."""
        audio = self._prepare(audio, sample_rate)
        x = torch.from_numpy(np.ascontiguousarray(audio))[None].to(self.device)
        n_frames = int(self.hcqt.n_frames(x.shape[-1]))
        n_chunks = -(-n_frames // self.chunk_frames)
        n_h, n_f = len(self.hcqt.harmonics), self.frequencies_hz.shape[0]
        keep = n_h * n_f * n_frames * 4 / 2 ** 20 <= self.max_feature_cache_mb
        out = torch.empty(n_f, n_frames, device=self.device)
        old_threads = torch.get_num_threads()
        if self.num_threads is not None and self.device.type == "cpu":
            torch.set_num_threads(self.num_threads)
        try:
            with counter(n_chunks * (1 if keep else 2), progress, self.name, unit="chunk",
                         leave=False) as bar:
                stored, peak = [], torch.zeros((), device=self.device)
                for t0, p in self.hcqt.iter_power(x, self.chunk_frames):   # pass 1: track maximum
                    peak = torch.maximum(peak, p.max())
                    if keep:
                        stored.append((t0, p[0]))
                    bar.update(1)

                def second_pass():
                    source = stored if keep else ((t0, p[0]) for t0, p in
                                                  self.hcqt.iter_power(x, self.chunk_frames))
                    for item in source:
                        if not keep:
                            bar.update(1)
                        yield item

                self._stream(second_pass(), n_frames, peak, out)
        finally:
            torch.set_num_threads(old_threads)
        return out

    @torch.no_grad()
    def salience(self, audio: np.ndarray, sample_rate: int, *, progress: bool = False) -> Salience:
        """Salience-gram of a whole mono track.

        Parameters
        ----------
        audio : ndarray, shape (n_samples,)
            Mono float audio in [-1, 1]; resampled to 22,050 Hz.
        sample_rate : int
            In Hz.
        progress : bool
            Show a progress bar over the track's chunks.

        Returns
        -------
        Salience
            ``values`` = sigmoid(logits), shape (440, T); ``frequencies_hz``
            = centre frequencies of the h = 1 HCQT bins; ``times_s`` = frame
            centres ``k * hop / sr``.
        """
        logits = self.logits(audio, sample_rate, progress=progress)
        values = torch.sigmoid(logits.float()).cpu().numpy()
        times = np.asarray(self.hcqt.frame_times(values.shape[1]), dtype=np.float64)
        return Salience(values=values, frequencies_hz=self.frequencies_hz, times_s=times)


def build_ssmpe(checkpoint: str | Path | None = None, threshold: float = 0.5,
                chunk_seconds: float = 20.0, device: str = "auto", *, model_name: str = "ssmpe",
                **settings: Any) -> SSMPE:
    """Factory registered as model ``ssmpe`` and its ablations (task ``mpe``).

    Parameters
    ----------
    checkpoint : str or Path, optional
        Model file written by the ssmpe training (``.pt``).  Default: the
        shipped checkpoint of ``model_name`` (``sotbench/checkpoints/
        ssmpe-full-cpu.pt`` for ``ssmpe``).  A bare name such as
        ``ssmpe-full-cpu`` is looked up in the shipped folder.
    threshold : float
        Peak-picking threshold (paper 002: 0.5).
    chunk_seconds : float
        Audio processed at once (bounded memory); results do not depend on it.
    device : {"auto", "cpu", "cuda"}
    model_name : str
        Registry name (selects the default checkpoint and the error message).
    **settings
        ``max_feature_cache_mb``, ``num_threads`` (see :class:`SSMPE`).

    Raises
    ------
    ModelUnavailable
        No checkpoint given and none shipped (the message gives the training command).
    """
    from sotbench.dsp.hcqt import HCQT

    if checkpoint is None or str(checkpoint) in ("", "default", "None"):
        path = default_checkpoint(model_name)
    else:
        path = Path(str(checkpoint)).expanduser()
        if not path.is_file() and not path.suffix:
            shipped = CHECKPOINT_DIR / f"{path.name}.pt"
            path = shipped if shipped.is_file() else path
    dev = _resolve_device(device)
    net, payload = load_ssmpe_checkpoint(path, device=dev)
    hp = dict(payload.get("hcqt") or HCQT_SETTINGS)
    hp["harmonics"] = tuple(hp["harmonics"])
    hcqt = HCQT(**hp)
    return SSMPE(net, hcqt, threshold=threshold, chunk_seconds=chunk_seconds, device=dev,
                 checkpoint=path, name=model_name, **settings)


def _factory(model_name: str):
    def factory(**settings: Any) -> SSMPE:
        return build_ssmpe(model_name=model_name, **settings)

    factory.__name__ = f"build_{model_name.replace('-', '_')}"
    factory.__doc__ = build_ssmpe.__doc__
    return factory


#: Registered SS-MPE models -> (objective, description).  Each has its own run folder.
SSMPE_MODELS = {
    "ssmpe": ("full", "SS-MPE (paper 002), full objective L; shipped CPU checkpoint"),
    "ssmpe-energy": ("energy", "SS-MPE ablation L_e (support + harmonic + sparsity)"),
    "ssmpe-energy-timbre": ("energy+timbre", "SS-MPE ablation L_t (L_e + timbre invariance)"),
    "ssmpe-energy-geometric": ("energy+geometric",
                               "SS-MPE ablation L_g (L_e + geometric equivariance)"),
}

for _name, (_objective, _description) in SSMPE_MODELS.items():
    MODELS.register(_name, _factory(_name), task="mpe", trainable=True, description=_description,
                    objective=_objective,
                    checkpoint=str(CHECKPOINT_DIR / (("ssmpe-full" if _name == "ssmpe" else _name)
                                                     + "-cpu.pt")),
                    train_command=train_command(_name))
del _name, _objective, _description
