"""Paper 000's harmonic autoencoder (``harmonic-ae``, task ``synth-ae``).

Audio ``x`` (B, N) -> CQT magnitude of ``x[:, :-1]`` -> per-frame PESTO-style
encoder -> (f0, 20 harmonic amplitudes) per frame -> differentiable harmonic
synthesizer -> audio (B, N).  The whole model has 46,012 trainable
parameters.

Architecture (facts read from the authors' code; see
``/work/shared/notes/reference-facts.md``):

* input: nnAudio CQT magnitude (linear) at 16 kHz, 32.7 Hz, 36 bins/octave,
  285 bins, hop 256, centred, zero padding, of ``x[:, :-1]`` (4095 samples ->
  16 frames for N = 4096), each frame encoded independently;
* encoder: LayerNorm over the 285 bins; Conv1d 1->40 (k 15, same padding) +
  LeakyReLU(0.3); residual Conv1d 40->40 (k 15) + LeakyReLU; 1x1 convs
  40->30->30->10, each + LeakyReLU; Dropout(0.5); 1x1 conv 10->3; flatten to
  855 features;
* pitch head: Toeplitz linear 855 -> 285 (a bias-free Conv1d with kernel
  855 + 285 - 1 = 1139 and padding 284, so a shift of the input shifts the
  logits), softmax of logits / 0.1, soft-argmax over positions
  ``linspace(0, 1, 285)``, mapped log-linearly between the first and last CQT
  bin frequencies (position k/284 = centre of bin k);
* amplitude head: Linear 855 -> 20 + exponentiated sigmoid
  ``2 * sigmoid(z) ** ln(10) + 1e-7`` (DDSP);
* synthesizer: :func:`sotbench.dsp.synth.harmonic_synth` (cumulative phase,
  linear f0 interpolation, Hann overlap-add amplitudes, no partial at or above
  Nyquist), no trainable parameters.

Fix of a defect in the authors' code: their CQT layer is created on CUDA
unconditionally, so nothing runs without a GPU.  Here the CQT is a regular
sub-module (:class:`sotbench.dsp.cqt.CQT`) that follows ``model.to(device)``;
its default ``"cropped"`` implementation gives nnAudio ``CQT1992v2``'s
numbers (the authors' transform) about ten times faster.
"""
from __future__ import annotations

import difflib
import inspect
import math
from typing import NamedTuple

import torch
from torch import nn

from sotbench.dsp.cqt import CQT
from sotbench.dsp.synth import harmonic_synth
from sotbench.models.base import count_parameters  # noqa: F401  (re-exported; one home: models.base)
from sotbench.registry import MODELS

__all__ = ["HarmonicAutoencoder", "HarmonicAEOutput", "PitchEncoder", "ToeplitzLinear", "conv1d_fft",
           "CONV_IMPLEMENTATIONS", "FFT_BLOCK_FRAMES",
           "ExpSigmoid", "PAPER_N_PARAMETERS"]

PAPER_N_PARAMETERS = 46_012


class HarmonicAEOutput(NamedTuple):
    """What :meth:`HarmonicAutoencoder.forward` returns.

    Attributes
    ----------
    f0_hz : Tensor, shape (B, T)
        Frame-wise fundamental frequency in Hz.
    amplitudes : Tensor, shape (B, T, H)
        Frame-wise linear harmonic amplitudes (before the Nyquist removal).
    audio : Tensor, shape (B, N)
        Synthesized audio.
    pitch_probabilities : Tensor, shape (B, T, n_bins)
        Softmax over the CQT-bin pitch classes (temperature applied).
    """

    f0_hz: torch.Tensor
    amplitudes: torch.Tensor
    audio: torch.Tensor
    pitch_probabilities: torch.Tensor


class ExpSigmoid(nn.Module):
    """DDSP's exponentiated sigmoid: ``max_value * sigmoid(x) ** ln(exponent) + threshold``.

    Output lies in ``(threshold, max_value + threshold)``.
    """

    def __init__(self, exponent: float = 10.0, max_value: float = 2.0, threshold: float = 1e-7) -> None:
        super().__init__()
        if exponent <= 1 or max_value <= 0 or threshold < 0:
            raise ValueError(f"ExpSigmoid needs exponent > 1, max_value > 0, threshold >= 0; got "
                             f"{exponent}, {max_value}, {threshold}")
        self.exponent, self.max_value, self.threshold = float(exponent), float(max_value), float(threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled sigmoid of ``x`` (same shape), bounded below by ``threshold``."""
        return self.max_value * torch.sigmoid(x) ** math.log(self.exponent) + self.threshold


class ToeplitzLinear(nn.Conv1d):
    """Shift-equivariant linear map ``in_features -> out_features``.

    Defined (and initialised, and stored) as a bias-free, single-channel
    Conv1d with kernel ``in + out - 1`` and padding ``out - 1``, i.e. a
    linear map whose matrix is Toeplitz (``in + out - 1`` parameters):
    ``y[o] = sum_i x[i] w[i - o + out - 1]``.

    The forward pass builds that matrix from sliding windows of the kernel
    (``unfold``) and uses one matrix product: the convolution's values
    (float32 rounding aside) more than ten times faster on a CPU than oneDNN's
    single-channel 1139-tap convolution, backward included.  ``unfold``'s
    backward is deterministic (an index gather's backward, ``index_put_``
    with accumulation, is not with several threads).
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(1, 1, kernel_size=in_features + out_features - 1,
                         padding=out_features - 1, bias=False)
        self.in_features, self.out_features = int(in_features), int(out_features)

    def matrix(self) -> torch.Tensor:
        """The (in_features, out_features) Toeplitz matrix ``M[i, o] = w[i - o + out - 1]``."""
        # row s of unfold = w[s : s + in]; output o uses the window starting at out - 1 - o
        return self.weight[0, 0].unfold(0, self.in_features, 1).flip(0).T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the Toeplitz matrix: (M, in) -> (M, out)."""
        if x.shape[-1] != self.in_features:
            raise ValueError(f"ToeplitzLinear expects {self.in_features} input features, "
                             f"got {x.shape[-1]}")
        return x @ self.matrix()

    def forward_conv(self, x: torch.Tensor) -> torch.Tensor:
        """Reference: the same map evaluated as the Conv1d it is defined as."""
        return super().forward(x.unsqueeze(1)).squeeze(1)


#: Ways of evaluating the encoder's 40 -> 40 channel, 15-tap residual convolution (same parameters,
#: same values to float32 rounding; see :func:`conv1d_fft`).
CONV_IMPLEMENTATIONS = ("direct", "fft", "fft-residual")


def conv1d_fft(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.conv1d(x, weight, bias, padding=k // 2)`` (odd k, stride 1) evaluated with real FFTs.

    The cross-correlation is a linear convolution with the flipped kernel;
    with an FFT length of at least ``L + k - 1`` there is no circular wrap,
    so output ``j`` is sample ``j + k // 2`` of that convolution.  Channel
    mixing becomes one complex matrix product per frequency, about
    ``k * n_fft / (4 * (n_fft // 2 + 1))`` times fewer multiply-adds than the
    direct form for the encoder's 15-tap, 40-channel layer; backward runs
    through the same operations (autograd), so gradients match too.

    Parameters
    ----------
    x : Tensor, shape (M, C, L)
    weight : Tensor, shape (O, C, k), k odd
    bias : Tensor, shape (O,), optional

    Returns
    -------
    Tensor, shape (M, O, L)
        Equal to the direct convolution up to float32 rounding (relative
        error of order 1e-6 of the output's scale).
    """
    k = weight.shape[-1]
    if k % 2 != 1 or x.ndim != 3 or weight.shape[1] != x.shape[1]:
        raise ValueError(f"conv1d_fft needs x (M, C, L) and an odd kernel (O, C, k); got {tuple(x.shape)} "
                         f"and {tuple(weight.shape)}")
    length = x.shape[-1]
    n_fft = _fast_fft_length(length + k - 1)
    spec_x = torch.fft.rfft(x, n=n_fft)                                   # (M, C, F)
    spec_w = torch.fft.rfft(weight.flip(-1), n=n_fft)                     # (O, C, F)
    spec_y = torch.matmul(spec_x.permute(2, 0, 1), spec_w.permute(2, 1, 0))  # (F, M, O)
    y = torch.fft.irfft(spec_y.permute(1, 2, 0), n=n_fft)[..., k // 2:k // 2 + length]
    return y if bias is None else y + bias[:, None]


def _fast_fft_length(n: int) -> int:
    """Smallest integer >= n whose prime factors are 2, 3 and 5 (fast for pocketfft)."""
    m = int(n)
    while True:
        r = m
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


class PitchEncoder(nn.Module):
    """PESTO-style per-frame encoder with a Toeplitz pitch head and an amplitude head.

    Parameters
    ----------
    n_bins : int
        Input bins (285).
    channels : tuple of 5 ints
        (40, 30, 30, 10, 3) as in the paper.
    kernel_size : int
        Prefilter kernel (15).
    negative_slope : float
        LeakyReLU slope (0.3).
    dropout : float
        Dropout probability before the last 1x1 conv (0.5).
    n_harmonics : int
        Amplitude outputs (20).
    conv_impl : {"direct", "fft", "fft-residual"}
        How the convolutional trunk is evaluated: ``"direct"`` (``nn.Conv1d``
        layers, oneDNN on a CPU: the former implementation); ``"fft"`` (the
        whole trunk in a position-major layout, residual convolution by FFT,
        see :meth:`_features_fft`); ``"fft-residual"`` (the direct layers with
        only the residual convolution by :func:`conv1d_fft`).  All give the
        same values to float32 rounding; the parameters and ``state_dict`` do
        not depend on it.
    """

    def __init__(self, n_bins: int = 285, channels: tuple = (40, 30, 30, 10, 3), kernel_size: int = 15,
                 negative_slope: float = 0.3, dropout: float = 0.5, n_harmonics: int = 20,
                 conv_impl: str = "fft") -> None:
        super().__init__()
        if conv_impl not in CONV_IMPLEMENTATIONS:
            raise ValueError(f"conv_impl={conv_impl!r}; use one of {', '.join(CONV_IMPLEMENTATIONS)}")
        self.conv_impl = conv_impl
        c = tuple(int(v) for v in channels)
        if len(c) != 5 or min(c) < 1:
            raise ValueError(f"channels={list(channels)} must be five positive integers")
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size={kernel_size} must be odd to keep {n_bins} bins")
        pad = kernel_size // 2
        act = lambda: nn.LeakyReLU(negative_slope)  # noqa: E731
        self.layernorm = nn.LayerNorm([1, n_bins])
        self.prefilter = nn.Sequential(nn.Conv1d(1, c[0], kernel_size, padding=pad), act())
        self.residual = nn.Sequential(nn.Conv1d(c[0], c[0], kernel_size, padding=pad), act())
        self.body = nn.Sequential(
            nn.Conv1d(c[0], c[1], 1), act(),
            nn.Conv1d(c[1], c[2], 1), act(),
            nn.Conv1d(c[2], c[3], 1), act(),
            nn.Dropout(dropout),
            nn.Conv1d(c[3], c[4], 1),
        )
        features = n_bins * c[4]
        self.pitch_head = ToeplitzLinear(features, n_bins)
        self.amplitude_head = nn.Linear(features, n_harmonics)
        self.amplitude_activation = ExpSigmoid()

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode frames.

        Parameters
        ----------
        frames : Tensor, shape (M, n_bins)
            CQT magnitude frames.

        Returns
        -------
        logits : Tensor, shape (M, n_bins)
        amplitudes : Tensor, shape (M, n_harmonics)
        """
        if self.conv_impl == "fft":
            x = self._features_fft(frames)
        elif self.conv_impl == "fft-residual":
            x = self.layernorm(frames.unsqueeze(1))
            x = self.prefilter(x)
            conv = self.residual[0]
            x = x + self.residual[1](conv1d_fft(x, conv.weight, conv.bias))
            x = self.body(x).flatten(1)
        else:
            x = self.layernorm(frames.unsqueeze(1))
            x = self.prefilter(x)
            x = x + self.residual(x)
            x = self.body(x).flatten(1)
        return self.pitch_head(x), self.amplitude_activation(self.amplitude_head(x))

    def _features_fft(self, frames: torch.Tensor) -> torch.Tensor:
        """The convolutional trunk, evaluated in cache-sized blocks of frames, flattened to (M, C * L).

        Same parameters and values as the ``direct`` path (``nn.Conv1d`` on
        ``(M, C, L)``).  Why it is faster on a CPU: the direct path streams
        activations of ``M x 40 x 285`` floats (47 MB at M = 1024) through
        memory a few dozen times, forward and backward, and memory bandwidth,
        not arithmetic, bounds it.  Here frames are encoded in blocks of
        :data:`FFT_BLOCK_FRAMES` (a 2.9 MB activation, resident in cache), in a
        position-major ``(m, L, C)`` layout in which the 1x1 convolutions are
        single matrix products and the FFTs along ``L`` run over adjacent
        channels.  The residual convolution is :func:`conv1d_fft`'s algebra
        with the complex channel mixing written as a real matrix product
        (:func:`_complex_mixing_as_real`).  Dropout draws its mask for the
        whole batch in the direct path's ``(M, C, L)`` order, so the same
        random state gives the same mask.
        """
        m, length = frames.shape
        conv1 = self.residual[0]
        n_fft = _fast_fft_length(length + conv1.kernel_size[0] - 1)
        mixing = _complex_mixing_as_real(conv1.weight, n_fft)
        mask = None
        dropout = next(layer for layer in self.body if isinstance(layer, nn.Dropout))
        if self.training and dropout.p > 0:
            keep = 1.0 - dropout.p
            n_channels = self.body[-1].in_channels
            mask = torch.empty(m, n_channels, length, dtype=frames.dtype, device=frames.device)
            mask = mask.bernoulli_(keep).div_(keep).transpose(1, 2)       # drawn as (M, C, L)
        blocks = [self._trunk_block(frames[i:i + FFT_BLOCK_FRAMES], mixing, n_fft,
                                    None if mask is None else mask[i:i + FFT_BLOCK_FRAMES])
                  for i in range(0, m, FFT_BLOCK_FRAMES)]
        return torch.cat(blocks) if len(blocks) > 1 else blocks[0]

    def _trunk_block(self, frames: torch.Tensor, mixing: torch.Tensor, n_fft: int,
                     mask: torch.Tensor | None) -> torch.Tensor:
        """One block of :meth:`_features_fft`: frames (m, L) -> features (m, C * L), channel-major."""
        m, length = frames.shape
        x = self.layernorm(frames.unsqueeze(1))[:, 0]                      # (m, L)
        conv0, act0 = self.prefilter
        k = conv0.kernel_size[0]
        cols = torch.nn.functional.pad(x, (k // 2, k // 2)).unfold(1, k, 1).reshape(m * length, k)
        h = act0(torch.addmm(conv0.bias, cols, conv0.weight[:, 0, :].t())).reshape(m, length, -1)
        conv1, act1 = self.residual
        k1 = conv1.kernel_size[0]
        spec = torch.view_as_real(torch.fft.rfft(h, n=n_fft, dim=1))      # (m, F, C, 2)
        n_freq = spec.shape[1]
        mixed = torch.bmm(spec.reshape(m, n_freq, -1).transpose(0, 1), mixing)  # (F, m, 2 C_out)
        mixed = torch.view_as_complex(mixed.reshape(n_freq, m, -1, 2).transpose(0, 1))
        r = torch.fft.irfft(mixed, n=n_fft, dim=1)[:, k1 // 2:k1 // 2 + length]  # (m, L, C_out)
        h = h + act1(r + conv1.bias)
        for layer in self.body:
            if isinstance(layer, nn.Conv1d):
                h = torch.addmm(layer.bias, h.reshape(m * length, -1), layer.weight[:, :, 0].t()
                                ).reshape(m, length, -1)
            elif isinstance(layer, nn.Dropout):
                if mask is not None:
                    h = h * mask
            else:
                h = layer(h)
        return h.transpose(1, 2).reshape(m, -1)                            # (m, C * L), channel-major


#: Frames per block in :meth:`PitchEncoder._features_fft`: 64 frames x 285 bins x 40 channels of
#: float32 is 2.9 MB, small enough to stay in cache (block sizes 32-128 measured within a few %).
FFT_BLOCK_FRAMES = 64


def _complex_mixing_as_real(weight: torch.Tensor, n_fft: int) -> torch.Tensor:
    """The FFT-domain channel mixing of a correlation kernel as a real (F, 2 C_in, 2 C_out) matrix.

    With ``W = rfft(flip(weight), n_fft)`` (shape (C_out, C_in, F)), the
    mixing ``Y[f, o] = sum_c X[f, c] W[o, c, f]`` on spectra stored as
    interleaved (real, imaginary) pairs is a real product
    ``[x_re, x_im] @ [[W_re, W_im], [-W_im, W_re]]`` per input channel: the
    same four real products per complex one, but one plain batched real
    matrix product with no conjugate copies in its backward.
    """
    spec = torch.fft.rfft(weight.flip(-1), n=n_fft)                        # (C_out, C_in, F)
    w_re, w_im = spec.real.permute(2, 1, 0), spec.imag.permute(2, 1, 0)    # (F, C_in, C_out)
    from_re = torch.stack([w_re, w_im], dim=-1)                            # (F, C_in, C_out, 2)
    from_im = torch.stack([-w_im, w_re], dim=-1)
    n_freq, c_in, c_out = w_re.shape
    return torch.stack([from_re, from_im], dim=2).reshape(n_freq, 2 * c_in, 2 * c_out)


class HarmonicAutoencoder(nn.Module):
    """Paper 000's analysis-by-synthesis autoencoder.

    Parameters
    ----------
    sample_rate : int
        Hz (16000).
    fmin_hz, n_bins, bins_per_octave, hop_length :
        CQT settings (32.7 Hz, 285, 36, 256).
    cqt_implementation : str
        See :class:`sotbench.dsp.cqt.CQT` (default ``"cropped"``, exact).
    n_harmonics : int
        Harmonics of the synthesizer (20).
    temperature : float
        Softmax temperature of the pitch logits (0.1).
    channels, kernel_size, negative_slope, dropout, conv_impl :
        Encoder settings (see :class:`PitchEncoder`); ``conv_impl="direct"``
        is the former (slower) evaluation, kept for comparison and benchmarks.

    Notes
    -----
    ``forward`` accepts precomputed CQT frames (``features=``) so that a
    training loop can compute the (fixed, non-trainable) transform of its
    data once; ``model.features(x)`` gives exactly what ``forward`` would
    compute.
    """

    def __init__(self, sample_rate: int = 16000, fmin_hz: float = 32.7, n_bins: int = 285,
                 bins_per_octave: int = 36, hop_length: int = 256, cqt_implementation: str = "cropped",
                 n_harmonics: int = 20, temperature: float = 0.1, channels: tuple = (40, 30, 30, 10, 3),
                 kernel_size: int = 15, negative_slope: float = 0.3, dropout: float = 0.5,
                 conv_impl: str = "fft") -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature={temperature!r} must be > 0 (paper: 0.1)")
        if int(n_harmonics) != n_harmonics or n_harmonics < 1:
            raise ValueError(f"n_harmonics={n_harmonics!r} must be a positive integer (paper: 20)")
        self.sample_rate = int(sample_rate)
        self.hop_length = int(hop_length)
        self.temperature = float(temperature)
        self.n_harmonics = int(n_harmonics)
        self.cqt = CQT(sample_rate=sample_rate, fmin_hz=fmin_hz, n_bins=n_bins,
                       bins_per_octave=bins_per_octave, hop_length=hop_length,
                       implementation=cqt_implementation)
        self.encoder = PitchEncoder(n_bins=n_bins, channels=tuple(channels), kernel_size=kernel_size,
                                    negative_slope=negative_slope, dropout=dropout,
                                    n_harmonics=n_harmonics, conv_impl=conv_impl)
        freqs = self.cqt.frequencies_hz
        self.f0_min_hz, self.f0_max_hz = float(freqs[0]), float(freqs[-1])
        self.register_buffer("positions", torch.linspace(0.0, 1.0, n_bins), persistent=False)

    @property
    def n_bins(self) -> int:
        """Number of CQT bins of the input."""
        return self.cqt.n_bins

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder input: CQT magnitude of ``x[:, :-1]``, shape (B, T, n_bins), no gradient."""
        self._check_audio(x)
        with torch.no_grad():
            return self.cqt(x[:, :-1]).transpose(1, 2).contiguous()

    def unit_to_hz(self, unit: torch.Tensor) -> torch.Tensor:
        """Map soft-argmax positions in [0, 1] log-linearly to Hz (0 -> first bin, 1 -> last bin)."""
        return self.f0_min_hz * (self.f0_max_hz / self.f0_min_hz) ** unit

    def _check_audio(self, x: torch.Tensor) -> None:
        if x.ndim != 2:
            raise ValueError(f"harmonic-ae expects audio of shape (B, N), got {tuple(x.shape)}")
        n = x.shape[1]
        if n < 2 or n % self.hop_length:
            raise ValueError(f"harmonic-ae needs N (got {n}) to be a positive multiple of the hop "
                             f"({self.hop_length}) so that N / hop frames tile the output")

    def forward(self, x: torch.Tensor, features: torch.Tensor | None = None) -> HarmonicAEOutput:
        """Analyse and resynthesize.

        Parameters
        ----------
        x : Tensor, shape (B, N)
            Audio at ``sample_rate``; ``N`` a multiple of ``hop_length``.
        features : Tensor, shape (B, T, n_bins), optional
            Precomputed ``self.features(x)``.

        Returns
        -------
        HarmonicAEOutput
            ``f0_hz`` (B, T), ``amplitudes`` (B, T, H), ``audio`` (B, N),
            ``pitch_probabilities`` (B, T, n_bins); ``T = N / hop_length``.
        """
        self._check_audio(x)
        if features is None:
            features = self.features(x)
        batch, n_frames, n_bins = features.shape
        if batch != x.shape[0] or n_bins != self.n_bins or n_frames * self.hop_length != x.shape[1]:
            raise ValueError(f"features of shape {tuple(features.shape)} do not match audio "
                             f"{tuple(x.shape)}; pass model.features(x)")
        logits, amplitudes = self.encoder(features.reshape(batch * n_frames, n_bins))
        probabilities = torch.softmax(logits / self.temperature, dim=-1)
        unit = probabilities @ self.positions
        f0_hz = self.unit_to_hz(unit).reshape(batch, n_frames)
        amplitudes = amplitudes.reshape(batch, n_frames, -1)
        audio = harmonic_synth(f0_hz, amplitudes, x.shape[1], self.sample_rate)
        return HarmonicAEOutput(f0_hz, amplitudes, audio, probabilities.reshape(batch, n_frames, n_bins))


@MODELS.register("harmonic-ae", task="synth-ae",
                 description="Paper 000 harmonic autoencoder: CQT -> PESTO-style encoder (46,012 params) "
                             "-> f0 + 20 harmonic amplitudes -> differentiable harmonic synth")
def build_harmonic_ae(**settings) -> HarmonicAutoencoder:
    """Build :class:`HarmonicAutoencoder` (keyword settings override the paper's).

    Raises
    ------
    ValueError
        An unknown setting (with the closest known names).
    """
    known = [p for p in inspect.signature(HarmonicAutoencoder).parameters]
    for key in settings:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=2)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"unknown harmonic-ae setting {key!r}.{hint} Known: {', '.join(known)}")
    return HarmonicAutoencoder(**settings)


__all__.append("count_parameters")


class DirectHarmonicSynth(nn.Module):
    """The harmonic synthesizer with its controls as free parameters (task ``synth-fit``).

    No network: one constant f0 per example, parametrised as ``log2 f0``, and
    optionally one constant amplitude per harmonic, fitted directly to the
    target audio by gradient descent (Hayes et al., ICASSP 2023; paper 000's
    loss-landscape motivation).  The audio is
    :func:`sotbench.dsp.synth.harmonic_synth` of the constant controls held
    over ``n_frames`` frames, i.e. the synthesizer of ``harmonic-ae``.

    Parameters
    ----------
    f0_init_hz : Tensor, shape (B,)
        Initial f0 per example in Hz (> 0).
    amplitudes : Tensor, shape (B, H)
        Linear harmonic amplitudes: fixed values (``learn_amplitudes=False``,
        the "known amplitudes" setting) or the starting point of the learned
        ones (parametrised as ``log`` amplitudes, so they stay positive).
    n_samples : int
        Output length N (a multiple of ``n_frames``).
    sample_rate : float
        Hz.
    n_frames : int
        Control frames (16 = the autoencoder's frame rate for N = 4096).
    learn_amplitudes : bool
        Learn the amplitudes (True) or keep them fixed (False).
    """

    def __init__(self, f0_init_hz: torch.Tensor, amplitudes: torch.Tensor, n_samples: int = 4096,
                 sample_rate: float = 16000.0, n_frames: int = 16, learn_amplitudes: bool = False) -> None:
        super().__init__()
        f0 = torch.as_tensor(f0_init_hz, dtype=torch.float32)
        amps = torch.as_tensor(amplitudes, dtype=torch.float32)
        if f0.ndim != 1 or amps.ndim != 2 or amps.shape[0] != f0.shape[0]:
            raise ValueError(f"DirectHarmonicSynth needs f0_init_hz (B,) and amplitudes (B, H); got "
                             f"{tuple(f0.shape)} and {tuple(amps.shape)}")
        if not torch.all(torch.isfinite(f0) & (f0 > 0)):
            raise ValueError("f0_init_hz must be finite and > 0 Hz")
        if int(n_samples) % int(n_frames):
            raise ValueError(f"n_samples={n_samples} must be a multiple of n_frames={n_frames}")
        self.n_samples, self.sample_rate, self.n_frames = int(n_samples), float(sample_rate), int(n_frames)
        self.learn_amplitudes = bool(learn_amplitudes)
        self.log2_f0 = nn.Parameter(torch.log2(f0))
        if self.learn_amplitudes:
            if not torch.all(amps > 0):
                raise ValueError("learned amplitudes start from positive values (they are fitted in log)")
            self.log_amplitudes = nn.Parameter(torch.log(amps))
        else:
            self.register_buffer("fixed_amplitudes", amps)

    @property
    def f0_hz(self) -> torch.Tensor:
        """Current f0 per example in Hz, shape (B,)."""
        return torch.exp2(self.log2_f0)

    @property
    def amplitudes(self) -> torch.Tensor:
        """Current linear amplitudes, shape (B, H)."""
        return torch.exp(self.log_amplitudes) if self.learn_amplitudes else self.fixed_amplitudes

    def forward(self) -> torch.Tensor:
        """Synthesized audio, shape (B, N)."""
        f0 = self.f0_hz[:, None].expand(-1, self.n_frames)
        amps = self.amplitudes[:, None, :].expand(-1, self.n_frames, -1)
        return harmonic_synth(f0, amps, self.n_samples, self.sample_rate)


@MODELS.register("harmonic-synth", task="synth-fit",
                 description="Paper 000's harmonic synthesizer with free constant controls (log2 f0, "
                             "amplitudes known or learned), fitted per example by gradient descent")
def build_direct_harmonic_synth(**settings) -> DirectHarmonicSynth:
    """Build :class:`DirectHarmonicSynth` (the synth-fit task passes the data-dependent settings)."""
    return DirectHarmonicSynth(**settings)


__all__ += ["DirectHarmonicSynth"]
