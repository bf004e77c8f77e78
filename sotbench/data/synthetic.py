"""Paper 000's synthetic harmonic data set, generated deterministically from a seed.

Each example is a stationary harmonic tone (Section 4.2 of paper 000 and the
authors' generator):

* ``n_samples`` (4096) samples at ``sample_rate`` (16 kHz);
* f0 drawn uniformly **in Hz** on ``[f0_min_hz, f0_max_hz]`` (40-1950 Hz);
* k active harmonics, k uniform on ``{min_harmonics, ..., max_harmonics}``
  (1..8); amplitudes uniform on ``[amplitude_min, amplitude_max]``
  ([0.4, 1]) for harmonics ``1..max_harmonics``, masked to the first k;
* harmonics at or above Nyquist are dropped (amplitude set to 0 in the
  stored parameters too);
* ``x[n] = sum_h a_h sin(2 pi h f0 (n + 1) / sr)`` -- the zero-initial-phase,
  inclusive-cumulative-sum convention of the synthesizer
  (:func:`sotbench.dsp.synth.harmonic_synth` with constant controls gives the
  same signal), computed in float64;
* peak-normalised to ``peak`` (0.9, as the authors' data loader does).

Splits
------
``n_examples`` (4000) examples are split 70/20/10 into train/validation/test by
a seeded permutation; the three index sets are disjoint by construction.

Fix of a defect in the authors' code: their saved data file stores the
*whole* 4000-example set under each split name (the split subsets are
discarded when saving), so the published models were validated and tested on
examples they were trained on.  Here every split holds only its own examples
(``SyntheticDataset.check_disjoint`` verifies it; the task records it).

Determinism: the example parameters come from one ``numpy`` PCG64 stream and
the split permutation from an independent child stream of the same
``SeedSequence(seed)``, so changing the split fractions does not change the
examples and the same seed always gives bit-identical data.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["SyntheticConfig", "SyntheticSplit", "SyntheticDataset", "make_synthetic_dataset",
           "synthetic_batch", "SPLITS"]

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SyntheticConfig:
    """Settings of the synthetic set (defaults = paper 000).

    Attributes
    ----------
    n_examples : int
        Total number of examples (paper: 4000); at least 3.
    sample_rate : int
        Hz (paper: 16000).
    n_samples : int
        Samples per example, N (paper: 4096).
    f0_min_hz, f0_max_hz : float
        Range of the uniform f0 draw in Hz (paper: 40, 1950); must satisfy
        ``0 < f0_min_hz <= f0_max_hz < sample_rate / 2``.
    min_harmonics, max_harmonics : int
        Range of the uniform number of active harmonics (paper: 1, 8).
    amplitude_min, amplitude_max : float
        Range of the uniform harmonic amplitudes (paper: 0.4, 1.0).
    peak : float
        Peak absolute value after normalisation (authors' loader: 0.9).
    split : tuple of 3 floats
        Train/validation/test fractions (paper: 0.7, 0.2, 0.1); must be
        non-negative and sum to 1.
    seed : int
        Data seed (independent of the training seed).
    """

    n_examples: int = 4000
    sample_rate: int = 16000
    n_samples: int = 4096
    f0_min_hz: float = 40.0
    f0_max_hz: float = 1950.0
    min_harmonics: int = 1
    max_harmonics: int = 8
    amplitude_min: float = 0.4
    amplitude_max: float = 1.0
    peak: float = 0.9
    split: tuple = (0.7, 0.2, 0.1)
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "split", tuple(float(s) for s in self.split))
        self.validate()

    def validate(self) -> None:
        """Raise ValueError for impossible settings; warn for odd ones."""
        def _int(name, minimum):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < minimum:
                raise ValueError(f"synthetic data: {name}={value!r} must be an integer >= {minimum}")

        _int("n_examples", 3)
        _int("sample_rate", 1)
        _int("n_samples", 1)
        _int("min_harmonics", 1)
        _int("max_harmonics", 1)
        _int("seed", 0)
        nyquist = self.sample_rate / 2
        if not (0 < self.f0_min_hz <= self.f0_max_hz < nyquist):
            raise ValueError(
                f"synthetic data: f0 range [{self.f0_min_hz}, {self.f0_max_hz}] Hz must satisfy "
                f"0 < f0_min_hz <= f0_max_hz < Nyquist ({nyquist:g} Hz); fix data.f0_min_hz/f0_max_hz "
                f"or raise data.sample_rate")
        if self.min_harmonics > self.max_harmonics:
            raise ValueError(f"synthetic data: min_harmonics={self.min_harmonics} exceeds "
                             f"max_harmonics={self.max_harmonics}; swap them")
        if not (0 <= self.amplitude_min <= self.amplitude_max) or self.amplitude_max <= 0:
            raise ValueError(
                f"synthetic data: amplitude range [{self.amplitude_min}, {self.amplitude_max}] must "
                f"satisfy 0 <= amplitude_min <= amplitude_max and amplitude_max > 0")
        if not (0 < self.peak):
            raise ValueError(f"synthetic data: peak={self.peak!r} must be > 0 (paper: 0.9)")
        if self.peak > 1:
            warnings.warn(f"synthetic data: peak={self.peak} > 1 produces audio outside [-1, 1]",
                          stacklevel=3)
        if len(self.split) != 3 or any(not math.isfinite(s) or s < 0 for s in self.split):
            raise ValueError(f"synthetic data: split={list(self.split)} must be three non-negative "
                             f"fractions (train, val, test), e.g. [0.7, 0.2, 0.1]")
        if abs(sum(self.split) - 1.0) > 1e-6:
            raise ValueError(f"synthetic data: split={list(self.split)} sums to {sum(self.split):g}; "
                             f"the fractions must sum to 1")
        sizes = self.split_sizes()
        for name, size in zip(SPLITS, sizes, strict=True):
            if size < 1:
                raise ValueError(
                    f"synthetic data: the {name} split would be empty ({self.n_examples} examples x "
                    f"{self.split}); raise data.n_examples or that split's fraction")

    def split_sizes(self) -> tuple[int, int, int]:
        """Numbers of train/val/test examples (train and val rounded, test gets the rest)."""
        n_train = int(round(self.split[0] * self.n_examples))
        n_val = int(round(self.split[1] * self.n_examples))
        return n_train, n_val, self.n_examples - n_train - n_val

    def to_dict(self) -> dict:
        """Plain-JSON form (``split`` as a list)."""
        out = asdict(self)
        out["split"] = list(self.split)
        return out


@dataclass
class SyntheticSplit:
    """One split of the synthetic set (arrays share the first axis).

    Attributes
    ----------
    name : str
        ``"train"``, ``"val"`` or ``"test"``.
    audio : ndarray, shape (n, N), float32
        Peak-normalised audio.
    f0_hz : ndarray, shape (n,), float64
        Constant fundamental frequency of each example in Hz.
    amplitudes : ndarray, shape (n, max_harmonics), float64
        Harmonic amplitudes before peak normalisation (0 for inactive
        harmonics and for harmonics at or above Nyquist).
    n_harmonics : ndarray, shape (n,), int64
        Drawn number of active harmonics k (before the Nyquist drop).
    gain : ndarray, shape (n,), float64
        Peak-normalisation gain applied to each example.
    indices : ndarray, shape (n,), int64
        Example ids in the full set (0..n_examples-1).
    """

    name: str
    audio: np.ndarray
    f0_hz: np.ndarray
    amplitudes: np.ndarray
    n_harmonics: np.ndarray
    gain: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return int(self.audio.shape[0])


@dataclass
class SyntheticDataset:
    """The three splits and the settings that produced them."""

    config: SyntheticConfig
    train: SyntheticSplit
    val: SyntheticSplit
    test: SyntheticSplit
    extra: dict = field(default_factory=dict)

    def split(self, name: str) -> SyntheticSplit:
        """Return the split called ``name`` (``train``, ``val`` or ``test``)."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; use one of {', '.join(SPLITS)}")
        return getattr(self, name)

    def check_disjoint(self) -> None:
        """Raise ValueError if two splits share an example id."""
        sets = [set(self.split(n).indices.tolist()) for n in SPLITS]
        for i in range(3):
            for j in range(i + 1, 3):
                common = sets[i] & sets[j]
                if common:
                    raise ValueError(f"splits {SPLITS[i]} and {SPLITS[j]} share {len(common)} examples")


def _synthesize(f0_hz: np.ndarray, amplitudes: np.ndarray, n_samples: int,
                sample_rate: int, chunk: int = 256) -> np.ndarray:
    """float64 ``sum_h a_h sin(2 pi h f0 (n + 1) / sr)``, shape (len(f0), n_samples)."""
    n = np.arange(1, n_samples + 1, dtype=np.float64)
    harmonics = np.arange(1, amplitudes.shape[1] + 1, dtype=np.float64)
    out = np.empty((len(f0_hz), n_samples), dtype=np.float64)
    for start in range(0, len(f0_hz), chunk):
        f = f0_hz[start:start + chunk, None] * harmonics               # (c, H)
        # phase in cycles, wrapped before the sine for accuracy
        cycles = np.mod(f[:, :, None] * n / sample_rate, 1.0)           # (c, H, N)
        out[start:start + chunk] = np.einsum("ch,chn->cn", amplitudes[start:start + chunk],
                                             np.sin(2.0 * np.pi * cycles))
    return out


def make_synthetic_dataset(config: SyntheticConfig | None = None, **settings) -> SyntheticDataset:
    """Generate the synthetic harmonic set.

    Parameters
    ----------
    config : SyntheticConfig, optional
        Settings; or pass them as keyword arguments (``n_examples=48, seed=1``).

    Returns
    -------
    SyntheticDataset

    Raises
    ------
    ValueError
        Impossible settings (see :class:`SyntheticConfig`) or an unknown keyword.
    """
    if config is None:
        known = set(SyntheticConfig.__dataclass_fields__)
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown synthetic-data setting(s) {unknown}; known: {', '.join(sorted(known))}")
        config = SyntheticConfig(**settings)
    elif settings:
        raise ValueError("pass either a SyntheticConfig or keyword settings, not both")
    c = config
    params_seq, split_seq = np.random.SeedSequence(int(c.seed)).spawn(2)
    rng = np.random.Generator(np.random.PCG64(params_seq))
    n, hmax = c.n_examples, c.max_harmonics
    f0 = rng.uniform(c.f0_min_hz, c.f0_max_hz, size=n)
    k = rng.integers(c.min_harmonics, c.max_harmonics + 1, size=n)
    amplitudes = rng.uniform(c.amplitude_min, c.amplitude_max, size=(n, hmax))
    amplitudes *= np.arange(1, hmax + 1)[None, :] <= k[:, None]          # mask to the first k
    amplitudes *= f0[:, None] * np.arange(1, hmax + 1)[None, :] < c.sample_rate / 2  # Nyquist
    audio = _synthesize(f0, amplitudes, c.n_samples, c.sample_rate)
    peaks = np.abs(audio).max(axis=1)
    if np.any(peaks <= 0):  # only possible with amplitude_min == 0
        bad = int(np.sum(peaks <= 0))
        warnings.warn(f"synthetic data: {bad} silent example(s) (all amplitudes 0) left unnormalised",
                      stacklevel=2)
    gain = np.where(peaks > 0, c.peak / np.where(peaks > 0, peaks, 1.0), 1.0)
    audio = (audio * gain[:, None]).astype(np.float32)

    order = np.random.Generator(np.random.PCG64(split_seq)).permutation(n)
    n_train, n_val, _ = c.split_sizes()
    parts = {"train": order[:n_train], "val": order[n_train:n_train + n_val],
             "test": order[n_train + n_val:]}
    splits = {}
    for name, idx in parts.items():
        idx = np.sort(idx)
        splits[name] = SyntheticSplit(name=name, audio=audio[idx], f0_hz=f0[idx],
                                      amplitudes=amplitudes[idx], n_harmonics=k[idx].astype(np.int64),
                                      gain=gain[idx], indices=idx.astype(np.int64))
    ds = SyntheticDataset(config=c, **splits)
    ds.check_disjoint()
    return ds


def synthetic_batch(batch: int, seed: int = 0, **settings) -> np.ndarray:
    """A batch of paper-000 harmonic tones: every example of a ``batch``-example set, in id order.

    The one harmonic-batch generator of benchmarks and performance tests.

    Parameters
    ----------
    batch : int
        Number of examples (>= 3).
    seed : int
        Data seed.
    **settings
        Other :class:`SyntheticConfig` fields (``n_samples``, ``sample_rate``, ...).

    Returns
    -------
    ndarray, shape (batch, n_samples), float32
        Peak-normalised audio (row ``i`` = example id ``i``).
    """
    ds = make_synthetic_dataset(n_examples=batch, seed=seed, **settings)
    out = np.empty((batch, ds.config.n_samples), dtype=np.float32)
    for name in SPLITS:
        split = ds.split(name)
        out[split.indices] = split.audio
    return out
