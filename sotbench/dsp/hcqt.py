"""Harmonic constant-Q transform (HCQT) and the SS-MPE energy targets (paper 002).

The HCQT stacks one variable-Q transform (VQT) per harmonic ``h`` of a
reference frequency: channel ``h`` has ``n_bins`` bins at
``fmin * h * 2 ** (k / bins_per_octave)`` Hz, ``k = 0 .. n_bins - 1``.  With
the paper's settings (22,050 Hz, hop 256, A0 = 27.5 Hz, 60 bins/octave, 440
bins, harmonics 0.5, 1, 2, 3, 4, 5) the h = 1 channel covers A0 .. ~4.4 kHz.

Conventions
-----------
* Input audio: float tensor ``(B, N)`` at ``sample_rate`` Hz (resample first).
* Output: ``(B, H, F, T)`` with ``H = len(harmonics)`` (channel order as given),
  ``F = n_bins``, ``T = 1 + N // hop_length`` frames.  Frame ``t`` is centred on
  sample ``t * hop_length`` (time ``t * hop_length / sample_rate`` s); the signal
  is zero-padded at both ends (``frame_times`` gives the times).
* :meth:`HCQT.power` returns linear power ``|X|**2``; :meth:`HCQT.forward`
  returns features in [0, 1]: ``1 + 10 log10(power / ref) / top_db`` clipped to
  [0, 1], where ``ref`` is the per-example maximum power over *all* channels,
  bins and frames (so 1 = the loudest cell of the example, 0 = ``top_db`` dB
  below it or lower).  A silent example (``ref <= amin``) gives all zeros.

Filters (what "VQT" means here)
-------------------------------
Bin ``k`` with centre ``f_k`` uses a complex Hann-windowed exponential of
length ``L_k = Q * sample_rate / (f_k + gamma / alpha)`` samples, centred on the
frame centre, with ``alpha = 2 ** (1 / bins_per_octave) - 1`` and ``Q = 1 / alpha``
(filter scale 1).  ``gamma=None`` uses the authors' default (lhvqt >= 0.5.3,
following librosa's VQT): ``gamma = 24.7 * alpha / 0.108``, i.e. an offset
``gamma / alpha = 228.7`` Hz that shortens the low-frequency filters (at
13.75 Hz a filter is ~7,900 samples instead of ~138,800 for a pure CQT).
``gamma=0`` gives a pure CQT.

``norm`` fixes the per-bin gain, which matters because features are relative
to one maximum over all bins:

* ``"none"`` (default; the authors' code, lhvqt with ``norm=None``): the raw
  window, so a unit sinusoid at ``f_k`` gives ``|X| ~= sum(w_k) / 2 ~= L_k / 4``.
  Low bins are emphasised roughly in proportion to the filter length
  (~25 dB of power between A0 and 4.4 kHz in the h = 1 channel with the VQT).
* ``"amplitude"``: ``2 w_k / sum(w_k)``, so a sinusoid of amplitude ``A`` at
  ``f_k`` gives ``|X| ~= A`` in every bin (a flat, physically calibrated
  spectrum).

Bins above Nyquist (as in the authors' code)
--------------------------------------------
A bin is *valid* when the upper edge of its pass band,
``f_k + 0.5 * 1.50018 * sample_rate / L_k`` (half the Hann window's
equivalent-noise bandwidth), lies below ``sample_rate / 2`` -- the rule of
lhvqt >= 0.5.3, which the authors' code (ss-mpe v0.1.0) requires: lhvqt puts a
zero filter in place of every such bin, so the authors' HCQT already holds
exactly zero power there.  sotbench matches it: invalid bins are never
computed, their power is exactly 0 and their feature exactly 0, and the mask
is exposed as ``valid_mask`` (False there).  With the paper's settings
0/0/0/17/41/61 of the 440 bins of channels 0.5/1/2/3/4/5 are invalid (the
centre-frequency rule, centre >= Nyquist, would give 16/41/60 for h = 3/4/5).
It is not a defect of the reference code.  Downstream code (harmonic sum,
losses) sees zeros there, i.e. "no energy measured", which is why the
harmonic sum at high pitches relies on fewer harmonics.

Speed
-----
Channels whose harmonics differ by octaves (0.5, 1, 2, 4) lie on one
``bins_per_octave`` lattice: one extended filter bank from ``fmin * 0.5`` covers
all four (channel ``h`` is a slice shifted by ``bins_per_octave * log2(h / 0.5)``
bins); only h = 3 and h = 5 need their own bins.  Every distinct valid bin is
computed once (1,381 instead of 2,640 filters with the paper's settings),
exactly (time-domain filters, no decimation approximation), as a stride-1
``conv1d`` over the signal cut into hop-sized blocks (polyphase form: no
framing copy), bins grouped by filter length so short filters do not pay for
long frames.  Memory is O(signal + output); :meth:`HCQT.iter_power` streams
the output in chunks of frames for long tracks.
"""
from __future__ import annotations

import math
import warnings
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "HCQT",
    "harmonic_weights",
    "harmonic_sum_target",
    "support_target",
    "power_to_features",
]

#: Equivalent-noise bandwidth of the Hann window, in FFT bins (librosa's value).
HANN_BANDWIDTH = 1.50018


def _lattice_key(h: float, bins_per_octave: int) -> tuple[int, float]:
    """Return (octave-lattice id, integer shift) helper key for harmonic ``h``.

    Two harmonics share a lattice when ``bins_per_octave * log2(h1 / h2)`` is an
    integer; the fractional part of ``bins_per_octave * log2(h)`` identifies it.
    """
    pos = bins_per_octave * math.log2(h)
    frac = pos - math.floor(pos + 1e-9)
    if abs(frac - 1.0) < 1e-9 or abs(frac) < 1e-9:
        frac = 0.0
    return round(frac * 1e6), pos


class HCQT(torch.nn.Module):
    """Harmonic variable-Q transform with the paper-002 settings by default.

    Parameters
    ----------
    sample_rate : int
        Sample rate of the input audio in Hz (22,050 in paper 002).
    hop_length : int
        Samples between frame centres (256 = 11.6 ms).
    fmin : float
        Lowest centre frequency of the h = 1 channel in Hz (A0 = 27.5).
    bins_per_octave : int
        Frequency resolution (60 = 5 bins per semitone).
    n_bins : int
        Bins per channel.
    harmonics : sequence of float
        Harmonic multipliers, one channel each, in this order.
    top_db : float
        Dynamic range of the features in dB (floor = ``-top_db`` re the max).
    gamma : float or None
        VQT bandwidth offset (see module docstring); None = the authors'
        default ``24.7 * alpha / 0.108``; 0 = pure CQT.
    norm : {"none", "amplitude"}
        Per-bin filter gain (see module docstring).  "none" = the authors'.
    amin : float
        Power at or below which an example counts as silent.
    group_size : int
        Bins per filter-length group.

    Attributes
    ----------
    frequencies_hz : Tensor, shape (H, F)
        Centre frequency of every bin in Hz (also for invalid bins).
    valid_mask : Tensor of bool, shape (H, F)
        False for bins whose pass band reaches past Nyquist (always 0).
    max_filter_length : int
        Longest filter in samples (odd); frames need ``max_filter_length // 2``
        samples of context on each side.
    """

    # buffers (registered in __init__), declared for type checkers
    _kernel0: Tensor
    _gather: Tensor
    frequencies_hz: Tensor
    valid_mask: Tensor

    def __init__(self, sample_rate: int = 22050, hop_length: int = 256, fmin: float = 27.5,
                 bins_per_octave: int = 60, n_bins: int = 440,
                 harmonics: Sequence[float] = (0.5, 1, 2, 3, 4, 5), top_db: float = 80.0,
                 *, gamma: float | None = None, norm: str = "none", amin: float = 1e-10,
                 group_size: int = 60) -> None:
        super().__init__()
        if sample_rate <= 0 or hop_length <= 0:
            raise ValueError(f"sample_rate={sample_rate} and hop_length={hop_length} must be positive")
        if fmin <= 0 or n_bins <= 0 or bins_per_octave <= 0:
            raise ValueError(f"fmin={fmin}, n_bins={n_bins}, bins_per_octave={bins_per_octave} "
                             "must be positive")
        harmonics = tuple(float(h) for h in harmonics)
        if not harmonics or any(h <= 0 for h in harmonics):
            raise ValueError(f"harmonics={harmonics} must be a non-empty list of positive numbers")
        if len(set(harmonics)) != len(harmonics):
            raise ValueError(f"harmonics={harmonics} has duplicates; list each harmonic once")
        if top_db <= 0:
            raise ValueError(f"top_db={top_db} must be positive (dB of dynamic range, e.g. 80)")
        if norm not in ("none", "amplitude"):
            raise ValueError(f"norm={norm!r} is unknown; use 'none' (authors') or 'amplitude'")
        if fmin * min(harmonics) >= sample_rate / 2:
            raise ValueError(f"fmin * min(harmonics) = {fmin * min(harmonics)} Hz is above Nyquist "
                             f"({sample_rate / 2} Hz); lower fmin")
        self.sample_rate = int(sample_rate)
        self.hop_length = int(hop_length)
        self.fmin = float(fmin)
        self.bins_per_octave = int(bins_per_octave)
        self.n_bins = int(n_bins)
        self.harmonics = harmonics
        self.top_db = float(top_db)
        self.norm = norm
        self.amin = float(amin)
        alpha = 2.0 ** (1.0 / bins_per_octave) - 1.0
        self.gamma = 24.7 * alpha / 0.108 if gamma is None else float(gamma)
        if self.gamma < 0:
            raise ValueError(f"gamma={gamma} must be >= 0 (0 = constant-Q)")
        self.Q = 1.0 / alpha
        nyquist = sample_rate / 2.0

        # --- distinct bins: one extended bank per octave lattice ---------------
        lattices: dict[int, list[tuple[int, float]]] = {}
        for c, h in enumerate(harmonics):
            key, _ = _lattice_key(h, bins_per_octave)
            lattices.setdefault(key, []).append((c, h))
        atom_freqs: list[float] = []
        gather = np.full((len(harmonics), n_bins), -1, dtype=np.int64)
        freqs_hf = np.zeros((len(harmonics), n_bins))
        for members in lattices.values():
            h_base = min(h for _, h in members)
            shifts = {c: int(round(bins_per_octave * math.log2(h / h_base))) for c, h in members}
            n_ext = max(shifts.values()) + n_bins
            f_ext = fmin * h_base * 2.0 ** (np.arange(n_ext) / bins_per_octave)
            length_ext = self.Q * sample_rate / (f_ext + self.gamma / alpha)
            edge = f_ext + 0.5 * HANN_BANDWIDTH * sample_rate / length_ext
            n_valid = int(np.sum(edge < nyquist))
            first = len(atom_freqs)
            atom_freqs.extend(f_ext[:n_valid].tolist())
            for c, h in members:
                s = shifts[c]
                freqs_hf[c] = fmin * h * 2.0 ** (np.arange(n_bins) / bins_per_octave)
                idx = np.arange(n_bins) + s
                ok = idx < n_valid
                gather[c, ok] = first + idx[ok]
        atom_freqs_np = np.asarray(atom_freqs)
        n_atoms = len(atom_freqs_np)
        lengths = self.Q * sample_rate / (atom_freqs_np + self.gamma / alpha)
        self.n_filters = n_atoms

        # --- group bins by filter length; one polyphase kernel per group --------
        # A frame of group g covers offsets -half_g .. +half_g around its centre.
        # The padded signal is cut into hop-sized blocks (a (B, hop, n_blocks)
        # view); filters are stored polyphase as conv1d weights
        # (2 k, hop, n_taps) so a stride-1 conv over blocks gives one output per
        # frame with no framing copy.  Each filter is preceded by ``lead_g``
        # zeros so that every group's first frame starts on a block boundary.
        order = np.argsort(-lengths, kind="stable")
        half_max = int(math.ceil(lengths.max() / 2.0))
        self._groups: list[tuple[int, int, int]] = []  # (first block, n taps, n bins)
        perm: list[int] = []
        for g, start in enumerate(range(0, n_atoms, group_size)):
            sel = order[start:start + group_size]
            half = int(math.ceil(lengths[sel].max() / 2.0))
            lead = (half_max - half) % hop_length
            first_block = (half_max - half - lead) // hop_length
            n_taps = -(-(lead + 2 * half + 1) // hop_length)
            m = np.arange(-half, half + 1, dtype=np.float64)[:, None]  # offsets (samples)
            L = lengths[sel][None, :]
            w = np.where(np.abs(m) < L / 2.0, 0.5 + 0.5 * np.cos(2.0 * np.pi * m / L), 0.0)
            if norm == "amplitude":
                w = 2.0 * w / w.sum(axis=0, keepdims=True)
            phase = 2.0 * np.pi * atom_freqs_np[sel][None, :] * m / sample_rate
            kernel = np.concatenate([w * np.cos(phase), -w * np.sin(phase)], axis=1)
            padded = np.zeros((n_taps * hop_length, kernel.shape[1]))
            padded[lead:lead + 2 * half + 1] = kernel
            weight = padded.reshape(n_taps, hop_length, -1).transpose(2, 1, 0)
            self.register_buffer(f"_kernel{g}", torch.tensor(np.ascontiguousarray(weight),
                                                            dtype=torch.float32),
                                 persistent=False)
            self._groups.append((first_block, n_taps, len(sel)))
            perm.extend(sel.tolist())
        self._half_max = half_max
        self.max_filter_length = 2 * half_max + 1
        # atoms are computed in `perm` order; map (H, F) -> row in that order
        # (row n_atoms = an all-zero row used for invalid bins)
        inv = np.empty(n_atoms, dtype=np.int64)
        inv[np.asarray(perm)] = np.arange(n_atoms)
        rows = np.where(gather >= 0, inv[np.maximum(gather, 0)], n_atoms)
        self.register_buffer("_gather", torch.tensor(rows.reshape(-1)), persistent=False)
        self.register_buffer("frequencies_hz", torch.tensor(freqs_hf, dtype=torch.float64),
                             persistent=False)
        self.register_buffer("valid_mask", torch.tensor(gather >= 0), persistent=False)
        self.filter_lengths = lengths  # samples, per computed bin (numpy)

    # ------------------------------------------------------------------ helpers
    @property
    def n_channels(self) -> int:
        """Number of harmonic channels ``H``."""
        return len(self.harmonics)

    def n_frames(self, n_samples: int) -> int:
        """Frames produced for ``n_samples`` input samples: ``1 + n_samples // hop``."""
        return 1 + int(n_samples) // self.hop_length

    def frame_times(self, n_frames: int) -> np.ndarray:
        """Frame-centre times in seconds, ``arange(n_frames) * hop / sample_rate``."""
        return np.arange(int(n_frames)) * self.hop_length / float(self.sample_rate)

    def channel_index(self, h: float) -> int:
        """Channel position of harmonic ``h`` (ValueError if absent)."""
        for c, hh in enumerate(self.harmonics):
            if abs(hh - float(h)) < 1e-9:
                return c
        raise ValueError(f"harmonic {h} is not one of {self.harmonics}")

    def _check_audio(self, audio: Tensor) -> Tensor:
        if not isinstance(audio, Tensor):
            audio = torch.as_tensor(np.asarray(audio))
        if audio.ndim != 2:
            raise ValueError(f"audio has shape {tuple(audio.shape)}; pass a batch (B, N) of mono "
                             "signals (use audio[None] for one signal)")
        if audio.shape[-1] == 0:
            raise ValueError("audio is empty (0 samples); pass at least one sample")
        if not torch.is_floating_point(audio):
            audio = audio.float()
        if not bool(torch.isfinite(audio).all()):
            raise ValueError("audio contains NaN or Inf; clean the input (e.g. torch.nan_to_num)")
        k = self._kernel0
        return audio.to(device=k.device, dtype=k.dtype)

    def _power_padded(self, xp: Tensor, n_frames: int) -> Tensor:
        """Power of frames centred at ``P + t * hop`` of zero-padded audio ``xp``.

        ``P = max_filter_length // 2``; ``xp`` must hold at least
        ``(n_frames - 1) * hop + 2 P + 1`` samples.  Returns ``(B, H, F, n_frames)``.
        """
        B = xp.shape[0]
        hop = self.hop_length
        n_blocks = max(fb + nt for fb, nt, _ in self._groups) + n_frames - 1
        need = n_blocks * hop
        if xp.shape[-1] < need:
            xp = torch.nn.functional.pad(xp, (0, need - xp.shape[-1]))
        blocks = xp[:, :need].reshape(B, n_blocks, hop).transpose(1, 2).contiguous()
        out = xp.new_empty(B, self.n_filters + 1, n_frames)
        out[:, -1] = 0.0
        row = 0
        for g, (first, n_taps, k) in enumerate(self._groups):
            weight = getattr(self, f"_kernel{g}")
            seg = blocks[:, :, first:first + n_frames + n_taps - 1]
            y = torch.nn.functional.conv1d(seg, weight)  # (B, 2k, n_frames)
            out[:, row:row + k] = y[:, :k].square() + y[:, k:].square()
            row += k
        return out[:, self._gather].view(B, self.n_channels, self.n_bins, n_frames)

    # ---------------------------------------------------------------- transforms
    def power(self, audio: Tensor) -> Tensor:
        """Linear power HCQT.

        Parameters
        ----------
        audio : Tensor, shape (B, N)
            Mono audio at ``sample_rate`` Hz.

        Returns
        -------
        Tensor, shape (B, H, F, T)
            ``|X|**2`` (units: see ``norm``); exactly 0 where ``valid_mask`` is
            False.  ``T = 1 + N // hop_length``.
        """
        x = self._check_audio(audio)
        P = self.max_filter_length // 2
        T = self.n_frames(x.shape[-1])
        need = (T - 1) * self.hop_length + 2 * P + 1
        xp = torch.nn.functional.pad(x, (P, need - P - x.shape[-1]))
        return self._power_padded(xp, T)

    def iter_power(self, audio: Tensor, chunk_frames: int = 2048) -> Iterator[tuple[int, Tensor]]:
        """Stream the power HCQT in chunks of frames (same values as :meth:`power`).

        Parameters
        ----------
        audio : Tensor, shape (B, N)
        chunk_frames : int
            Frames per yielded chunk.

        Yields
        ------
        (int, Tensor)
            First frame index of the chunk and its power, shape (B, H, F, <= chunk_frames).
        """
        if chunk_frames <= 0:
            raise ValueError(f"chunk_frames={chunk_frames} must be positive")
        x = self._check_audio(audio)
        P = self.max_filter_length // 2
        T = self.n_frames(x.shape[-1])
        need = (T - 1) * self.hop_length + 2 * P + 1
        xp = torch.nn.functional.pad(x, (P, need - P - x.shape[-1]))
        for t0 in range(0, T, chunk_frames):
            t1 = min(T, t0 + chunk_frames)
            seg = xp[:, t0 * self.hop_length:(t1 - 1) * self.hop_length + 2 * P + 1]
            yield t0, self._power_padded(seg, t1 - t0)

    def to_features(self, power: Tensor, ref: Tensor | None = None) -> Tensor:
        """Features in [0, 1] from power (see :func:`power_to_features`).

        Invalid (above-Nyquist) bins are forced to exactly 0.
        """
        feats = power_to_features(power, self.top_db, ref=ref, amin=self.amin)
        return feats * self.valid_mask.to(feats.dtype)[:, :, None]

    def forward(self, audio: Tensor) -> Tensor:
        """HCQT features: dB re the per-example maximum, floor ``-top_db``, rescaled.

        Parameters
        ----------
        audio : Tensor, shape (B, N)

        Returns
        -------
        Tensor, shape (B, H, F, T), values in [0, 1]
            ``clip(1 + 10 log10(power / max_example(power)) / top_db, 0, 1)``;
            0 in invalid bins and for silent examples.
        """
        return self.to_features(self.power(audio))


def power_to_features(power: Tensor, top_db: float = 80.0, *, ref: Tensor | None = None,
                      amin: float = 1e-10) -> Tensor:
    """Rescaled decibels ``clip(1 + 10 log10(power / ref) / top_db, 0, 1)``.

    Parameters
    ----------
    power : Tensor, shape (B, ...)
        Non-negative linear power.
    top_db : float
        Dynamic range in dB.
    ref : Tensor, shape (B,), optional
        Reference power per example; default the maximum of ``power`` over all
        non-batch dimensions (per example, over all channels).
    amin : float
        Examples with ``ref <= amin`` are silent: their features are all 0
        (a warning is issued).

    Returns
    -------
    Tensor, same shape as ``power``, values in [0, 1].
    """
    B = power.shape[0]
    if ref is None:
        ref = power.reshape(B, -1).amax(dim=1)
    ref = ref.reshape((B,) + (1,) * (power.ndim - 1)).to(power.dtype)
    silent = ref <= amin
    if bool(silent.any()):
        warnings.warn(f"{int(silent.sum())} of {B} examples are silent (max power <= {amin}); "
                      "their features are all 0", stacklevel=2)
    floor = 10.0 ** (-top_db / 10.0)
    ratio = power / torch.where(silent, torch.ones_like(ref), ref)
    db = 10.0 * torch.log10(ratio.clamp(min=floor))
    feats = (1.0 + db / top_db).clamp(0.0, 1.0)
    return torch.where(silent, torch.zeros_like(feats), feats)


def harmonic_weights(harmonics: Sequence[float]) -> Tensor:
    """Amplitude weights of the harmonic sum: ``1 / h**2`` for h >= 1, 0 below, sum 1.

    Returns
    -------
    Tensor, shape (H,), float32.
    """
    h = torch.tensor([float(x) for x in harmonics], dtype=torch.float64)
    w = torch.where(h >= 1.0, 1.0 / h ** 2, torch.zeros_like(h))
    if float(w.sum()) <= 0:
        raise ValueError(f"harmonics={tuple(harmonics)} has no harmonic >= 1 to sum")
    return (w / w.sum()).float()


def harmonic_sum_target(features: Tensor, harmonics: Sequence[float], top_db: float = 80.0, *,
                        output: str = "features", amin: float = 1e-20) -> Tensor:
    """Weighted harmonic sum of HCQT features (the paper-002 harmonic target).

    Amplitudes ``a_h = 10 ** ((features_h - 1) * top_db / 20)`` (0 where the
    feature is 0, i.e. at or below the floor) are weighted by
    :func:`harmonic_weights` (``1/h**2``, h = 0.5 excluded, normalized to sum 1)
    and squared back to power: ``P = sum_h (w_h a_h) ** 2``.  This is the
    authors' ``features_pw_h``; Eq. (1) of the paper writes it as
    ``sum_h X_h / h**4`` up to the normalization.

    Parameters
    ----------
    features : Tensor, shape (B, H, F, T)
        HCQT features in [0, 1] (:meth:`HCQT.forward`).
    harmonics : sequence of float
        Harmonic of each channel.
    top_db : float
        The features' dynamic range.
    output : {"features", "power"}
        "features": ``P`` in rescaled dB re its own per-example maximum, floor
        ``-top_db`` (the training target, in [0, 1]); "power": ``P`` itself
        (linear, relative to the HCQT's per-example max, in [0, sum w**2]).

    Returns
    -------
    Tensor, shape (B, F, T).
    """
    if features.ndim != 4 or features.shape[1] != len(harmonics):
        raise ValueError(f"features has shape {tuple(features.shape)}; expected (B, H={len(harmonics)}, F, T)")
    w = harmonic_weights(harmonics).to(features.device, features.dtype)
    amp = torch.where(features > 0, 10.0 ** ((features - 1.0) * top_db / 20.0),
                      torch.zeros_like(features))
    p = ((amp * w[None, :, None, None]) ** 2).sum(dim=1)
    if output == "power":
        return p
    if output != "features":
        raise ValueError(f"output={output!r} is unknown; use 'features' or 'power'")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # silent examples: zeros, already warned upstream
        return power_to_features(p, top_db, amin=amin)


def support_target(features: Tensor, harmonics: Sequence[float]) -> Tensor:
    """The h = 1 channel of HCQT features, shape (B, F, T) (the support target)."""
    hs = [float(h) for h in harmonics]
    if 1.0 not in hs:
        raise ValueError(f"harmonics={tuple(harmonics)} has no h=1 channel")
    if features.ndim != 4 or features.shape[1] != len(hs):
        raise ValueError(f"features has shape {tuple(features.shape)}; expected (B, H={len(hs)}, F, T)")
    return features[:, hs.index(1.0)]
