"""Self-supervised training of SS-MPE (paper 002, sections 3-4.2).

:func:`train_ssmpe` ``(ctx) -> Path`` is the training hook of task ``mpe``
(``sotbench run task=mpe model=ssmpe train=true budget=cpu``): it trains
:class:`~sotbench.models.ssmpe.SSMPENet` with one of the paper's objectives
and returns the path of a model file (best validation loss) that the
``ssmpe`` factory loads.  :class:`TrainConfig` holds the settings,
:class:`SSMPETrainer` the training (explicit state: :class:`TrainState`).

Recipe (paper 002 section 4.2 and the authors' code, v0.1.0)
------------------------------------------------------------
* Data: 4-second single notes, MIDI 21-109.  ``task.train.data``:
  ``notes-synth`` (:mod:`sotbench.data.notes`, rendered on first use and
  cached), ``nsynth`` (the real NSynth under the data root) or ``auto``
  (default: NSynth when the data root has it, else notes-synth).
* Validation: a fixed, seeded random subset of ``n_valid`` notes of the valid
  split (the authors: the first 200 notes), with transforms drawn from
  generators seeded per validation batch, identical at every validation (the
  authors: fresh draws each time), so validation curves are comparable.
* Features: HCQT (:class:`sotbench.dsp.hcqt.HCQT`, paper settings) of the
  whole note, in [0, 1] re the note's maximum; targets: the h = 1 channel
  (support) and :func:`~sotbench.dsp.hcqt.harmonic_sum_target` (harmonic).
* Objective (``task.train.objective``): ``full`` (L), ``energy`` (L_e),
  ``energy+timbre`` (L_t), ``energy+geometric`` (L_g), see
  :mod:`sotbench.losses.ssmpe`.  ``null`` = derived from the model name
  (``ssmpe`` -> full, ``ssmpe-energy``, ``ssmpe-energy-timbre``,
  ``ssmpe-energy-geometric``), so each ablation has its own run folder.
* AdamW (lr 1e-4, torch's default weight decay 0.01), batch 20, gradient-norm
  clipping at 10, validation every ``checkpoint_every`` steps (250 in the
  paper) on the validation notes with the *same* objective,
  ReduceLROnPlateau on the validation total (factor 0.5, patience =
  ``plateau_epochs`` (0.5) epochs of validations, threshold 2e-3 relative),
  early stopping after ``early_stop_epochs`` (1.0) epochs without
  improvement, at most ``max_epochs`` (3) epochs or ``max_steps`` steps; the
  weights with the lowest validation loss are returned.
* ``init_output_bias`` (default ``null``: PyTorch's initialisation, as the
  authors): a negative value starts the salience near 0 everywhere
  (``sigmoid(-4) = 0.018``, a "prior probability" initialisation).  Short
  CPU runs otherwise spend their first ~100 steps only lowering the
  salience everywhere (sparsity and support terms) before the harmonic term
  can build pitch peaks.
* Mixed precision (``amp``): ``auto`` = bf16 autocast on CUDA devices that
  support it (fp16 + gradient scaling otherwise), **off on CPU**; ``amp=bf16``
  opts in on CPU (faster, but its effect on the trained model was not
  measured: the shipped checkpoints are float32).  The authors use CUDA fp16
  autocast without a gradient scaler.

Budgets (``tasks/mpe.yaml``, ``budget=smoke|cpu|paper``) change the amount of
data, ``crop_frames`` (random excerpts of the cached notes; ``null`` = the
whole 345-frame note as in the paper; the time shift range scales to a
quarter of the excerpt), the number of steps and the validation interval.

Configuration
-------------
:class:`TrainConfig` is the one home of the defaults (paper 002's recipe).  It
is registered in Hydra's ConfigStore as ``ssmpe/train`` (a structured
config); ``task.train`` in ``tasks/mpe.yaml`` and its budgets only override
it.  Unknown keys and values of the wrong type are errors.

Outputs (in the run folder)
---------------------------
* ``ssmpe-<objective>.pt``: the best-validation weights (returned), with
  ``meta`` (settings, data provenance, timing, curves).
* ``training.json``: the same ``meta`` as JSON.
* ``curves.json`` (format :data:`CURVES_FORMAT`), rewritten after every
  validation, in a generic schema any plotter can read::

      {"format": "sotbench-curves/1", "x": "step",
       "series": {"<name>": {"x": [step, ...], "y": [value, ...]}, ...},
       "meta": {"model": ..., "objective": ..., "seed": ..., "best_step": ...}}

  ``<name>`` is ``train/<term>`` (mean over the steps since the previous
  validation), ``valid/<term>`` (``<term>``: ``total`` or an objective term:
  ``support``, ``harmonic``, ``sparsity``, ``timbre``, ``geometric``) or
  ``lr`` (the learning rate after each validation).
* ``tensorboard/``: the same scalars as TensorBoard events when
  ``tensorboard: true`` (off by default; needs ``pip install tensorboard``).

Every file is written atomically (:mod:`sotbench.io`).

Determinism and resume
----------------------
Every step's batch, crops and random transforms are drawn from generators
seeded by ``(seed, step)`` (no hidden state), so a run restarted from a
checkpoint (``ctx.save_checkpoint`` every ``checkpoint_every`` steps: model,
optimizer, scheduler and the :class:`TrainState`) produces exactly the
numbers of an uninterrupted run, and the same seed on the same device and
thread count gives the same weights.

Speed (CPU)
-----------
* HCQT features of the training notes are computed once per run and kept in
  memory as float16 (``cache_features``: ``auto`` caches when they fit in
  ``cache_max_mb``; 2.1 MB per note; rounding error <= 2.4e-4 on features in
  [0, 1], a deviation from the authors, who compute them on the fly in
  float32).  It is not used for the full NSynth.
* ``threads``: ``torch.set_num_threads`` during training (restored after);
  on a busy shared CPU one thread is fastest (see ``docs/performance.md``).
* On Linux/glibc, large temporary tensors are otherwise returned to the OS
  after every use and page-faulted back in; :func:`tune_malloc` raises
  glibc's mmap/trim thresholds once per process.  It changes no numbers.
"""
from __future__ import annotations

import ctypes
import json
import logging
import math
import platform
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np
import torch
from omegaconf import OmegaConf

from sotbench.dsp.hcqt import HCQT
from sotbench.io import atomic_write_json
from sotbench.losses.ssmpe import OBJECTIVES, SSMPEObjective
from sotbench.models.ssmpe import SSMPENet, count_parameters, save_ssmpe_checkpoint
from sotbench.progress import counter
from sotbench.progress import progress as progress_bar
from sotbench.tasks.base import RunContext

__all__ = ["train_ssmpe", "TrainConfig", "NotesSynthConfig", "TrainState", "SSMPETrainer",
           "TRAIN_DEFAULTS", "parse_train_config", "objective_for_model", "load_training_notes",
           "NoteFeatures", "tune_malloc", "MODEL_OBJECTIVES", "CURVES_FORMAT", "curves_document"]

CHECKPOINT_VERSION = 1

#: Format tag of ``curves.json`` (schema in the module docstring).
CURVES_FORMAT = "sotbench-curves/1"

#: Objective implied by each registered SS-MPE model name.
MODEL_OBJECTIVES = {
    "ssmpe": "full",
    "ssmpe-energy": "energy",
    "ssmpe-energy-timbre": "energy+timbre",
    "ssmpe-energy-geometric": "energy+geometric",
}


# ----------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------

@dataclass
class NotesSynthConfig:
    """Size and seed of the rendered ``notes-synth`` set (:func:`~sotbench.data.notes.build_notes_synth`)."""

    sizes: Dict[str, int] = field(default_factory=lambda: {"train": 512, "valid": 64, "test": 0})
    seed: int = 0


@dataclass
class TrainConfig:
    """Every SS-MPE training setting and its default (paper 002's recipe): ``task.train``.

    Attributes
    ----------
    enabled : bool
        Train before evaluating (``train=true`` on the command line does the same).
    data : str
        ``auto`` (NSynth if the data root has it, else notes-synth) | ``notes-synth`` | ``nsynth``.
    objective : str or None
        ``full`` | ``energy`` | ``energy+timbre`` | ``energy+geometric``; None = from the model name.
    notes_synth : NotesSynthConfig
        Size of the rendered notes set.
    n_train, n_valid : int or None, int
        Training notes (seeded subset; None = all) and validation notes (seeded subset).
    duration_s : float
        Note length fed to the HCQT, seconds (NSynth: 4 s -> 345 frames).
    batch_size, lr, weight_decay, grad_clip :
        AdamW (weight decay: torch's default, the authors did not set it) and
        gradient-norm clipping.
    max_epochs, max_steps : int, int or None
        Training length (None = ``max_epochs`` epochs).
    crop_frames : int or None
        Training excerpt length in frames (None = the whole note).
    max_freq_shift, max_time_shift, max_stretch :
        Geometric transform ranges: bins, frames (None = a quarter of the
        excerpt), factor.
    eq_max_amplitude, eq_max_sigma :
        Timbre (Gaussian EQ) ranges: gain amplitude, width in bins.
    checkpoint_every : int
        Validation + checkpoint interval, steps.
    plateau_epochs, plateau_factor, plateau_threshold :
        LR halving patience (epochs, converted to validations), factor and
        relative threshold (the authors' values).
    early_stop_epochs : float
        Stop after this many epochs of validations without improvement.
    init_output_bias : float or None
        Initial bias (logit) of the output conv; None = PyTorch's default init.
    amp : str or bool
        ``auto`` | ``bf16`` | ``fp16`` | ``off``.
    threads : int or None
        ``torch.set_num_threads`` while training; None = leave as is.
    cache_features, cache_max_mb :
        ``auto`` | true | false; cache budget in MB.
    val_batch_size, log_every : int
        Validation batch; steps between debug log lines.
    tensorboard : bool
        Also write TensorBoard scalars to ``<run folder>/tensorboard`` (needs
        the optional ``tensorboard`` package).
    """

    enabled: bool = False
    data: str = "auto"
    objective: Optional[str] = None
    notes_synth: NotesSynthConfig = field(default_factory=NotesSynthConfig)
    n_train: Optional[int] = None
    n_valid: int = 200
    duration_s: float = 4.0
    batch_size: int = 20
    lr: float = 1e-4
    weight_decay: float = 0.01
    grad_clip: float = 10.0
    max_epochs: int = 3
    max_steps: Optional[int] = None
    crop_frames: Optional[int] = None
    max_freq_shift: int = 120
    max_time_shift: Optional[int] = None
    max_stretch: float = 2.0
    eq_max_amplitude: float = 0.375
    eq_max_sigma: float = 120.0
    checkpoint_every: int = 250
    plateau_epochs: float = 0.5
    plateau_factor: float = 0.5
    plateau_threshold: float = 2e-3
    early_stop_epochs: float = 1.0
    init_output_bias: Optional[float] = None
    amp: Any = "auto"
    threads: Optional[int] = None
    cache_features: Any = "auto"
    cache_max_mb: int = 4096
    val_batch_size: int = 20
    log_every: int = 10
    tensorboard: bool = False

    @classmethod
    def from_settings(cls, train: Any = None, model_name: str | None = None) -> "TrainConfig":
        """Merge ``task.train`` (a mapping or DictConfig) over the defaults and validate it.

        Raises
        ------
        ValueError
            Unknown keys (with the known ones), values of the wrong type, bad values.
        """
        user = _plain(train) or {}
        if not isinstance(user, dict):
            raise ValueError(f"task.train must be a mapping, got {type(user).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(user) - known)
        if unknown:
            raise ValueError(f"unknown task.train settings {unknown}; known: {sorted(known - {'enabled'})}")
        try:
            merged = OmegaConf.merge(OmegaConf.structured(cls), user)
        except Exception as err:  # omegaconf.ValidationError and friends
            key = getattr(err, "full_key", None) or "?"
            msg = getattr(err, "msg", None) or str(err).split("\n")[0]
            raise ValueError(f"task.train.{key}: {msg}; see sotbench.tasks.mpe_training.TrainConfig "
                             "for the type of each setting") from err
        cfg: TrainConfig = OmegaConf.to_object(merged)
        cfg._validate(model_name)
        return cfg

    def _validate(self, model_name: str | None) -> None:
        if self.objective is None:
            self.objective = objective_for_model(model_name)
        elif model_name in MODEL_OBJECTIVES and MODEL_OBJECTIVES[model_name] != self.objective:
            warnings.warn(f"task.train.objective={self.objective!r} overrides the objective of model "
                          f"{model_name!r} ({MODEL_OBJECTIVES[model_name]!r}); results land in that "
                          "model's run folder", stacklevel=3)
        if self.objective not in OBJECTIVES:
            raise ValueError(f"task.train.objective={self.objective!r} is unknown; choose one of "
                             f"{', '.join(OBJECTIVES)}")
        if self.data not in ("auto", "notes-synth", "nsynth"):
            raise ValueError(f"task.train.data={self.data!r} is unknown; use auto, notes-synth or nsynth")
        for key in ("batch_size", "checkpoint_every", "max_epochs", "n_valid", "val_batch_size",
                    "log_every"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"task.train.{key}={getattr(self, key)} must be >= 1")
        for key in ("max_steps", "n_train", "crop_frames", "threads", "max_time_shift"):
            value = getattr(self, key)
            if value is not None and int(value) < (0 if key == "max_time_shift" else 1):
                raise ValueError(f"task.train.{key}={value} must be a positive integer or null")
        if not float(self.lr) > 0 or not float(self.grad_clip) > 0:
            raise ValueError("task.train.lr and task.train.grad_clip must be positive")
        if self.amp not in ("auto", "bf16", "fp16", "off", False, True):
            raise ValueError(f"task.train.amp={self.amp!r}; use auto, bf16, fp16 or off")
        if self.cache_features not in ("auto", True, False, "true", "false"):
            raise ValueError(f"task.train.cache_features={self.cache_features!r}; use auto, true or false")

    def as_dict(self) -> dict:
        """Plain dict of the settings (``enabled`` left out), e.g. for provenance."""
        out = asdict(self)
        out.pop("enabled")
        return out


def _register_structured_config() -> None:
    try:
        from hydra.core.config_store import ConfigStore
    except ImportError:  # pragma: no cover - hydra is a core dependency
        return
    ConfigStore.instance().store(group="ssmpe", name="train", node=TrainConfig)


_register_structured_config()

#: The defaults as a plain dict (read-only view of :class:`TrainConfig`).
TRAIN_DEFAULTS: dict[str, Any] = TrainConfig().as_dict()

#: Settings that may change between a checkpoint and its resumption (no effect on the weights).
_RESUMABLE = ("max_steps", "max_epochs", "checkpoint_every", "threads", "cache_features",
              "cache_max_mb", "val_batch_size", "log_every", "amp", "tensorboard")


def _plain(node: Any) -> Any:
    if OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True)
    return dict(node) if isinstance(node, dict) else node


def objective_for_model(model_name: str | None) -> str:
    """Objective implied by an SS-MPE model name (``ssmpe`` -> ``full``)."""
    if model_name in MODEL_OBJECTIVES:
        return MODEL_OBJECTIVES[model_name]
    return "full"


def parse_train_config(train: dict | None, model_name: str | None = None) -> dict:
    """``TrainConfig.from_settings(train, model_name)`` as a plain dict (see :class:`TrainConfig`)."""
    return TrainConfig.from_settings(train, model_name).as_dict()


# ----------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------

def load_training_notes(cfg: TrainConfig, split: str, data_root: Any = None) -> tuple[list, dict]:
    """Notes of ``split`` (``train`` or ``valid``) for ``cfg.data`` and their provenance.

    ``data="auto"`` reads the real NSynth when the data root has the split,
    else renders / reuses ``notes-synth`` with ``cfg.notes_synth``.

    Returns
    -------
    notes : list of :class:`~sotbench.data.nsynth.NSynthNote`
        Sorted by ``note_str``; MIDI 21-109.
    provenance : dict
    """
    from sotbench.data.nsynth import load_nsynth, nsynth_split_dir
    from sotbench.data.roots import DatasetNotFound

    data = cfg.data
    if data == "auto":
        try:
            nsynth_split_dir(split, data_root)
            data = "nsynth"
        except DatasetNotFound:
            data = "notes-synth"
    if data == "notes-synth":
        from sotbench.data.notes import build_notes_synth

        root = build_notes_synth(sizes=dict(cfg.notes_synth.sizes), seed=int(cfg.notes_synth.seed))
        notes = load_nsynth(split, root, midi_range=(21, 109))
        prov_path = Path(root) / "provenance.json"
        prov = json.loads(prov_path.read_text()) if prov_path.is_file() else {}
        return notes, {"dataset": "notes-synth", "root": str(root), "folder": Path(root).name,
                       "soundfont": prov.get("soundfont"), "counts": prov.get("counts")}
    notes = load_nsynth(split, data_root, midi_range=(21, 109))
    return notes, {"dataset": "nsynth", "root": str(data_root) if data_root is not None else None}


def _subset(items: Sequence, n: int | None, seed: int, salt: int) -> list:
    items = list(items)
    if n is None or n >= len(items):
        return items
    order = np.random.default_rng([int(seed), salt]).permutation(len(items))[:int(n)]
    return [items[i] for i in sorted(order)]


def _fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    if audio.shape[0] >= n:
        return audio[:n]
    return np.pad(audio, (0, n - audio.shape[0]))


class NoteFeatures:
    """HCQT features and targets of a list of notes, cached (float16) or computed on demand.

    Parameters
    ----------
    notes : list
        Objects with ``load_audio(sample_rate) -> ndarray`` (NSynth notes).
    hcqt : HCQT
        On the compute device.
    duration_s : float
        Every note is cut or zero-padded to this length.
    cache : bool
        Compute everything now and keep it in memory (float16).
    batch : int
        Notes per HCQT call while caching.
    progress : bool
    """

    def __init__(self, notes: Sequence, hcqt, *, duration_s: float = 4.0, cache: bool = True,
                 batch: int = 16, progress: bool = False, desc: str = "HCQT") -> None:
        self.notes = list(notes)
        if not self.notes:
            raise ValueError("no notes to train on; check task.train.data and its sizes")
        self.hcqt = hcqt
        self.n_samples = int(round(duration_s * hcqt.sample_rate))
        self.n_frames = int(hcqt.n_frames(self.n_samples))
        self.cached = bool(cache)
        self.features = self.harmonic = None
        if self.cached:
            n = len(self.notes)
            self.features = torch.empty(n, len(hcqt.harmonics), hcqt.n_bins, self.n_frames,
                                        dtype=torch.float16)
            self.harmonic = torch.empty(n, hcqt.n_bins, self.n_frames, dtype=torch.float16)
            for a in progress_bar(range(0, n, batch), progress, desc, unit="batch"):
                idx = list(range(a, min(n, a + batch)))
                f, h = self._compute(idx)
                self.features[idx] = f.cpu().half()
                self.harmonic[idx] = h.cpu().half()

    def __len__(self) -> int:
        return len(self.notes)

    @torch.no_grad()
    def _compute(self, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        from sotbench.dsp.hcqt import harmonic_sum_target

        audio = np.stack([_fit_length(self.notes[i].load_audio(self.hcqt.sample_rate),
                                      self.n_samples) for i in idx])
        device = self.hcqt.valid_mask.device
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*silent.*")
            feats = self.hcqt(torch.from_numpy(audio).to(device))
            harm = harmonic_sum_target(feats, self.hcqt.harmonics, self.hcqt.top_db)
        return feats, harm

    def get(self, idx: Sequence[int], offsets: Sequence[int] | None, length: int,
            device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (B, H, F, length) and harmonic targets (B, F, length), float32 on ``device``."""
        if self.cached:
            f, h = self.features[list(idx)], self.harmonic[list(idx)]
        else:
            f, h = self._compute(idx)
        if offsets is not None and length < self.n_frames:
            f = torch.stack([f[i, ..., o:o + length] for i, o in enumerate(offsets)])
            h = torch.stack([h[i, ..., o:o + length] for i, o in enumerate(offsets)])
        f = f.to(device).float().contiguous(memory_format=torch.channels_last)
        return f, h.to(device).float()


# ----------------------------------------------------------------------------
# machinery
# ----------------------------------------------------------------------------

_MALLOC_TUNED = False


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds so big tensors are reused, not re-faulted (Linux only).

    Returns True when applied (idempotent).  Changes speed only, never values.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return True
    if platform.system() != "Linux":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
        ok = (libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1
              and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
              and libc.mallopt(M_TOP_PAD, 64 << 20) == 1)
    except (OSError, AttributeError):
        return False
    _MALLOC_TUNED = bool(ok)
    return _MALLOC_TUNED


def _amp_settings(amp: Any, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, use GradScaler)."""
    if amp in ("off", False):
        return None, False
    if device.type != "cuda":
        if amp == "bf16":
            return torch.bfloat16, False
        if amp == "fp16":
            raise ValueError("task.train.amp=fp16 needs a CUDA device; use amp=off or bf16 on CPU")
        return None, False   # auto: off on CPU (see module docstring)
    if amp == "fp16":
        return torch.float16, True
    if amp == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16, False
    return torch.float16, True


def _step_batch(seed: int, step: int, n_items: int, batch: int) -> np.ndarray:
    """Indices of the batch of ``step``: epoch-wise seeded permutations, incomplete last batch dropped."""
    per_epoch = n_items // batch
    epoch, pos = divmod(step, per_epoch)
    order = np.random.default_rng([int(seed), 1, epoch]).permutation(n_items)
    return order[pos * batch:(pos + 1) * batch]


def _generator(seed: int, *salt: int) -> torch.Generator:
    """CPU generator seeded from ``(seed, *salt)`` (stateless per step)."""
    ss = np.random.SeedSequence([int(seed), *[int(s) for s in salt]])
    return torch.Generator().manual_seed(int(ss.generate_state(1, dtype=np.uint64)[0] >> 1))


def _git_commit_from(ctx: RunContext) -> str | None:
    """The git commit the runner recorded for this run (``ctx.git_commit`` or ``ctx.cfg.git_commit``), if any."""
    commit = getattr(ctx, "git_commit", None)
    if commit is None and hasattr(ctx.cfg, "get"):
        commit = ctx.cfg.get("git_commit", None)
    if isinstance(commit, dict):
        commit = commit.get("commit")
    return None if commit is None else str(commit)


def _summary_writer(log_dir: Path):
    """A TensorBoard ``SummaryWriter`` writing to ``log_dir``; ValueError naming the install if absent."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ValueError("task.train.tensorboard=true needs the tensorboard package "
                         "(pip install tensorboard); set task.train.tensorboard=false to train "
                         f"without it ({err})") from err
    return SummaryWriter(log_dir=str(log_dir))


# ----------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------

def _empty_curves() -> dict:
    return {"step": [], "train_total": [], "val_total": [], "lr": [], "train_terms": {}, "val_terms": {}}


@dataclass
class TrainState:
    """Everything that changes while training, besides model, optimizer, scheduler and scaler.

    Saved with them in every checkpoint (as plain fields), so a resumed run
    continues exactly where the interrupted one stopped.

    Attributes
    ----------
    step : int
        Optimizer steps done.
    best_val, best_step, best_state :
        Lowest validation total so far, its step and the weights then (CPU tensors).
    bad : int
        Validations since the last improvement.
    stopped_early, done : bool
    curves : dict
        ``step``, ``train_total``, ``val_total``, ``lr`` (one entry per
        validation) and ``train_terms`` / ``val_terms`` (``{term: [...]}``).
    run_sums, run_count :
        Sums of the training terms since the last validation, and their count.
    train_s, val_s, steps_timed :
        Seconds spent training and validating, steps timed.
    """

    step: int = 0
    best_val: float = math.inf
    best_step: int = 0
    best_state: Optional[dict] = None
    bad: int = 0
    stopped_early: bool = False
    done: bool = False
    curves: dict = field(default_factory=_empty_curves)
    run_sums: dict = field(default_factory=dict)
    run_count: int = 0
    train_s: float = 0.0
    val_s: float = 0.0
    steps_timed: int = 0

    def to_dict(self) -> dict:
        """Shallow dict of the fields (the checkpoint layout)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, saved: dict) -> "TrainState":
        """The state saved by :meth:`to_dict` (extra checkpoint keys are ignored)."""
        return cls(**{f.name: saved[f.name] for f in fields(cls)})


def _validate(model, objective: SSMPEObjective, data: NoteFeatures, *, device: torch.device, seed: int,
              support_index: int, batch_size: int, autocast_dtype) -> dict:
    """Mean validation terms over all validation notes (whole notes, fixed transforms)."""
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    with torch.no_grad():
        for k, a in enumerate(range(0, len(data), batch_size)):
            idx = list(range(a, min(len(data), a + batch_size)))
            f, h = data.get(idx, None, data.n_frames, device)
            with torch.autocast(device.type, dtype=autocast_dtype or torch.float32,
                                enabled=autocast_dtype is not None):
                out = objective(model, f, f[:, support_index], h, generator=_generator(seed, 2, k))
            for term, value in out.items():
                if term != "logits":
                    sums[term] = sums.get(term, 0.0) + float(value) * len(idx)
            count += len(idx)
    model.train()
    return {k: v / count for k, v in sums.items()}


def curves_document(curves: dict, terms: Sequence[str], meta: dict | None = None) -> dict:
    """The ``curves.json`` document (:data:`CURVES_FORMAT`) of a training's curves.

    Parameters
    ----------
    curves : dict
        :attr:`TrainState.curves` (also ``meta["curves"]`` of a model file).
    terms : sequence of str
        The objective's terms.
    meta : dict, optional
        Stored under ``"meta"`` (model, objective, seed, best step, ...).

    Returns
    -------
    dict
        ``{"format", "x": "step", "series": {"train/<term>" | "valid/<term>" | "lr": {"x", "y"}}, "meta"}``.
    """
    steps = list(curves["step"])
    series = {"train/total": {"x": steps, "y": list(curves["train_total"])},
              "valid/total": {"x": steps, "y": list(curves["val_total"])}}
    for term in terms:
        series[f"train/{term}"] = {"x": steps, "y": list(curves["train_terms"].get(term, []))}
        series[f"valid/{term}"] = {"x": steps, "y": list(curves["val_terms"].get(term, []))}
    series["lr"] = {"x": steps, "y": list(curves["lr"])}
    return {"format": CURVES_FORMAT, "x": "step", "series": series, "meta": dict(meta or {})}


class SSMPETrainer:
    """One SS-MPE training run: data, model, optimiser, explicit :class:`TrainState`, outputs.

    Parameters
    ----------
    cfg : TrainConfig
    run_dir : Path
        Where the model file, ``training.json``, ``curves.json`` (and ``tensorboard/``) go.
    device : torch.device
    seed : int
    save_checkpoint, load_checkpoint : callables
        ``(dict) -> None`` and ``() -> dict | None`` (the runner's, see :class:`RunContext`).
    log : logging.Logger
    progress : bool
    model_name, budget, data_root, commit :
        Provenance (and the data root for ``data=nsynth``).
    """

    def __init__(self, cfg: TrainConfig, *, run_dir: Path, device: torch.device, seed: int,
                 save_checkpoint: Callable[[dict], None], load_checkpoint: Callable[[], dict | None],
                 log: logging.Logger, progress: bool = False, model_name: str | None = None,
                 budget: str | None = None, data_root: Any = None, commit: str | None = None) -> None:
        self.cfg, self.run_dir, self.device, self.seed = cfg, Path(run_dir), device, int(seed)
        self._save, self._load, self.log, self.progress = save_checkpoint, load_checkpoint, log, progress
        self.model_name, self.budget, self.data_root, self.commit = model_name, budget, data_root, commit
        self.objective_name = cfg.objective
        self.out_path = self.run_dir / f"ssmpe-{self.objective_name.replace('+', '-')}.pt"
        self.state = TrainState()
        self.malloc_tuned = False
        self._writer = None

    # ---- setup
    def _load_notes(self) -> None:
        cfg = self.cfg
        self._t0 = time.perf_counter()
        train_notes, self.provenance = load_training_notes(cfg, "train", self.data_root)
        valid_notes, _ = load_training_notes(cfg, "valid", self.data_root)
        self.train_notes = _subset(train_notes, cfg.n_train, seed=0, salt=11)
        self.valid_notes = _subset(valid_notes, cfg.n_valid, seed=0, salt=12)
        if len(self.train_notes) < cfg.batch_size:
            raise ValueError(f"{len(self.train_notes)} training notes cannot fill a batch of "
                             f"{cfg.batch_size}; render more notes or lower task.train.batch_size")
        self.steps_per_epoch = len(self.train_notes) // int(cfg.batch_size)
        max_steps = int(cfg.max_epochs) * self.steps_per_epoch
        if cfg.max_steps is not None:
            max_steps = min(max_steps, int(cfg.max_steps))
        self.max_steps = max_steps
        self.every = int(cfg.checkpoint_every)

    def _setup_features(self) -> None:
        cfg = self.cfg
        self.hcqt = hcqt = HCQT().to(self.device)
        per_note_mb = 7 * hcqt.n_bins * hcqt.n_frames(int(cfg.duration_s * hcqt.sample_rate)) * 2 / 2 ** 20
        cache = cfg.cache_features
        if cache == "auto":
            cache = (len(self.train_notes) + len(self.valid_notes)) * per_note_mb <= float(cfg.cache_max_mb)
        self.cached = cache in (True, "true")
        self.train_data = NoteFeatures(self.train_notes, hcqt, duration_s=cfg.duration_s, cache=self.cached,
                                       progress=self.progress, desc="HCQT train notes")
        self.valid_data = NoteFeatures(self.valid_notes, hcqt, duration_s=cfg.duration_s, cache=True,
                                       progress=self.progress, desc="HCQT valid notes")
        self.features_s = time.perf_counter() - self._t0
        self.n_frames = n_frames = self.train_data.n_frames
        self.crop = n_frames if cfg.crop_frames is None else min(int(cfg.crop_frames), n_frames)

    def _validations(self, epochs: float) -> int:
        return max(1, math.ceil(float(epochs) * self.steps_per_epoch / self.every))

    def _setup_objectives(self) -> None:
        cfg, hcqt = self.cfg, self.hcqt
        common = dict(frequencies_hz=hcqt.frequencies_hz.cpu(), bins_per_octave=hcqt.bins_per_octave,
                      max_freq_shift=int(cfg.max_freq_shift), max_stretch=float(cfg.max_stretch),
                      eq_max_amplitude=float(cfg.eq_max_amplitude), eq_max_sigma=float(cfg.eq_max_sigma))
        tshift = cfg.max_time_shift
        self.objective = SSMPEObjective(
            self.objective_name, max_time_shift=self.crop // 4 if tshift is None else int(tshift), **common)
        self.val_objective = SSMPEObjective(
            self.objective_name, max_time_shift=self.n_frames // 4 if tshift is None else int(tshift), **common)
        self.support_index = hcqt.channel_index(1.0)

    def _setup_model(self) -> None:
        cfg = self.cfg
        torch.manual_seed(self.seed)
        model = SSMPENet(n_harmonics=len(self.hcqt.harmonics), n_bins=self.hcqt.n_bins).to(self.device)
        if cfg.init_output_bias is not None:
            with torch.no_grad():
                model.conv_out.bias.fill_(float(cfg.init_output_bias))
        self.model = model.to(memory_format=torch.channels_last)   # faster convs on CPU (oneDNN)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=float(cfg.lr),
                                           weight_decay=float(cfg.weight_decay))
        self.early_stop = self._validations(cfg.early_stop_epochs)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="min", factor=float(cfg.plateau_factor),
            patience=self._validations(cfg.plateau_epochs), threshold=float(cfg.plateau_threshold))
        self.autocast_dtype, self.use_scaler = _amp_settings(cfg.amp, self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.use_scaler)

    def _fingerprint(self) -> dict:
        return {"version": CHECKPOINT_VERSION, "objective": self.objective_name, "seed": self.seed,
                "data": {k: self.provenance.get(k) for k in ("dataset", "folder")},
                "n_train": len(self.train_notes), "n_valid": len(self.valid_notes),
                "train": {k: v for k, v in self.cfg.as_dict().items() if k not in _RESUMABLE}}

    def _finished(self) -> bool:
        """True when this run folder already holds the finished training's model file and checkpoint.

        (A run evaluated as several records calls the hook once per record.)
        """
        if not self.out_path.is_file():
            return False
        saved = self._load()
        if saved is None or saved.get("fingerprint") != self._fingerprint() or not saved.get("done"):
            return False
        return bool(saved.get("stopped_early")) or int(saved.get("step", 0)) >= self.max_steps

    def _resume(self) -> None:
        resumed = self._load()
        if resumed is None:
            return
        if resumed.get("fingerprint") != self._fingerprint():
            raise ValueError(f"the checkpoint in {self.run_dir} was written by a different SS-MPE "
                             "training configuration; re-run with overwrite=true to start afresh")
        self.model.load_state_dict(resumed["model"])
        self.optimizer.load_state_dict(resumed["optimizer"])
        self.scheduler.load_state_dict(resumed["scheduler"])
        if resumed.get("scaler"):
            self.scaler.load_state_dict(resumed["scaler"])
        self.state = st = TrainState.from_dict(resumed)
        if st.done and st.step < self.max_steps and not st.stopped_early:
            st.done = False     # more steps requested than the finished run had
        self.log.info("ssmpe training: resumed at step %d (best validation %.4f at step %d)",
                      st.step, st.best_val, st.best_step)

    def _checkpoint(self) -> None:
        self._save({"fingerprint": self._fingerprint(), "model": self.model.state_dict(),
                    "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                    "scaler": self.scaler.state_dict() if self.use_scaler else None,
                    **self.state.to_dict()})

    # ---- one step, one validation
    def train_step(self) -> dict:
        """Run optimizer step ``state.step`` and return its terms (python floats)."""
        cfg, st, device = self.cfg, self.state, self.device
        step = st.step
        idx = _step_batch(self.seed, step, len(self.train_data), int(cfg.batch_size))
        rng = np.random.default_rng([self.seed, 3, step])
        offsets = (rng.integers(0, self.n_frames - self.crop + 1, size=len(idx))
                   if self.crop < self.n_frames else None)
        f, h = self.train_data.get(idx.tolist(), None if offsets is None else offsets.tolist(), self.crop,
                                   device)
        with torch.autocast(device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            out = self.objective(self.model, f, f[:, self.support_index], h,
                                 generator=_generator(self.seed, 4, step))
        total = out["total"]
        if not math.isfinite(float(total.detach())):
            raise FloatingPointError(f"ssmpe: the training loss became {float(total.detach())} at step "
                                     f"{step + 1}; lower task.train.lr or use amp=off")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), float(cfg.grad_clip))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        terms = {term: float(value.detach()) for term, value in out.items() if term != "logits"}
        for term, value in terms.items():
            st.run_sums[term] = st.run_sums.get(term, 0.0) + value
        st.run_count += 1
        st.step = step + 1
        return terms

    def validate(self) -> dict:
        """Validate at ``state.step``: curves, best weights, LR schedule, early stopping."""
        st = self.state
        done = st.step
        tv = time.perf_counter()
        val = _validate(self.model, self.val_objective, self.valid_data, device=self.device, seed=self.seed,
                        support_index=self.support_index, batch_size=int(self.cfg.val_batch_size),
                        autocast_dtype=self.autocast_dtype)
        st.val_s += time.perf_counter() - tv
        curves = st.curves
        curves["step"].append(done)
        count = max(1, st.run_count)
        curves["train_total"].append(st.run_sums.get("total", float("nan")) / count)
        curves["val_total"].append(val["total"])
        curves["lr"].append(self.optimizer.param_groups[0]["lr"])
        for term in self.objective.terms:
            curves["train_terms"].setdefault(term, []).append(st.run_sums.get(term, 0.0) / count)
            curves["val_terms"].setdefault(term, []).append(val[term])
        st.run_sums, st.run_count = {}, 0
        if val["total"] < st.best_val:
            st.best_val, st.best_step, st.bad = val["total"], done, 0
            st.best_state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        else:
            st.bad += 1
        self.scheduler.step(val["total"])
        if st.bad >= self.early_stop:
            st.stopped_early = True
        self.log.info("ssmpe step %d: train %.4f, validation %.4f (best %.4f at %d), lr %.2g",
                      done, curves["train_total"][-1], val["total"], st.best_val, st.best_step,
                      self.optimizer.param_groups[0]["lr"])
        return val

    # ---- curves
    def curves_payload(self) -> dict:
        """``curves.json`` content (:data:`CURVES_FORMAT`, schema in the module docstring)."""
        return curves_document(self.state.curves, self.objective.terms,
                               {"model": self.model_name, "objective": self.objective_name, "seed": self.seed,
                                "budget": self.budget, "best_step": self.state.best_step,
                                "steps_per_epoch": self.steps_per_epoch, "max_steps": self.max_steps})

    def _write_curves(self) -> None:
        payload = self.curves_payload()
        atomic_write_json(self.run_dir / "curves.json", payload, indent=1)
        if self._writer is not None and payload["series"]["valid/total"]["x"]:
            for name, s in payload["series"].items():
                self._writer.add_scalar(name, s["y"][-1], s["x"][-1])
            self._writer.flush()

    # ---- the run
    def fit(self) -> Path:
        """Train (or resume, or return the finished run's model file) and write the outputs."""
        t_start = time.perf_counter()
        cfg = self.cfg
        self._load_notes()
        if self._finished():
            self.log.info("ssmpe training: %s already finished in this run folder; using %s",
                          self.objective_name, self.out_path)
            return self.out_path
        self._setup_features()
        self.log.info("ssmpe training: objective %s, %d train / %d valid notes (%s), features %s in %.1f s, "
                      "crop %d frames, %d steps (%d per epoch), batch %d, validation every %d steps",
                      self.objective_name, len(self.train_data), len(self.valid_data),
                      self.provenance["dataset"], "cached" if self.cached else "on demand", self.features_s,
                      self.crop, self.max_steps, self.steps_per_epoch, cfg.batch_size, self.every)
        self._setup_objectives()
        self._setup_model()
        self._resume()
        if cfg.tensorboard:
            self._writer = _summary_writer(self.run_dir / "tensorboard")
        st = self.state
        self.model.train()
        bar = counter(self.max_steps, self.progress, f"ssmpe {self.objective_name} seed{self.seed}",
                      initial=min(st.step, self.max_steps), unit="step", dynamic_ncols=True)
        t_session, steps_session, val_before = time.perf_counter(), 0, st.val_s
        try:
            while not st.done and st.step < self.max_steps and not st.stopped_early:
                terms = self.train_step()
                done = st.step
                steps_session += 1
                bar.update(1)
                bar.set_postfix(loss=f"{terms['total']:.3f}", best=f"{st.best_val:.3f}@{st.best_step}")
                if done % int(cfg.log_every) == 0 and self.log.isEnabledFor(logging.DEBUG):
                    self.log.debug("ssmpe step %d: %s", done, {k: round(v, 4) for k, v in terms.items()})
                if done % self.every == 0 or done == self.max_steps:
                    self.validate()
                    elapsed = time.perf_counter() - t_session
                    st.train_s += elapsed - (st.val_s - val_before)
                    st.steps_timed += steps_session
                    t_session, steps_session, val_before = time.perf_counter(), 0, st.val_s
                    if done == self.max_steps or st.stopped_early:
                        st.done = True
                    self._checkpoint()
                    self._write_curves()
            if not st.done:
                st.done = True
                self._checkpoint()
        finally:
            bar.close()
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        return self._write_model(time.perf_counter() - t_start)

    def _write_model(self, total_s: float) -> Path:
        st = self.state
        if st.best_state is not None:
            self.model.load_state_dict(st.best_state)
        step_s = st.train_s / max(1, st.steps_timed)
        meta = {
            "objective": self.objective_name, "terms": list(self.objective.terms), "model_name": self.model_name,
            "data": self.provenance, "n_train": len(self.train_data), "n_valid": len(self.valid_data),
            "budget": self.budget, "steps": st.step, "max_steps": self.max_steps,
            "steps_per_epoch": self.steps_per_epoch, "best_step": st.best_step,
            "best_val_total": st.best_val, "stopped_early": st.stopped_early,
            "seed": self.seed, "device": str(self.device), "threads": torch.get_num_threads(),
            "amp": str(self.autocast_dtype) if self.autocast_dtype is not None else "off",
            "torch": str(torch.__version__), "commit": self.commit,
            "n_parameters": count_parameters(self.model), "crop_frames": self.crop,
            "train_settings": self.cfg.as_dict(),
            "timing": {"features_s": round(self.features_s, 2), "train_s": round(st.train_s, 2),
                       "val_s": round(st.val_s, 2), "step_s": round(step_s, 3),
                       "total_s": round(total_s, 2), "malloc_tuned": self.malloc_tuned},
            "curves": st.curves,
        }
        save_ssmpe_checkpoint(self.out_path, self.model, meta=meta)
        atomic_write_json(self.run_dir / "training.json", json.loads(json.dumps(meta, default=str)), indent=1)
        self._write_curves()
        self.log.info("ssmpe training done: %d steps (%.2f s/step), best validation %.4f at step %d -> %s",
                      st.step, step_s, st.best_val, st.best_step, self.out_path)
        return self.out_path


def train_ssmpe(ctx: RunContext) -> Path:
    """Train SS-MPE as configured by ``ctx.cfg.task.train`` and return the model file.

    Parameters
    ----------
    ctx : RunContext
        ``ctx.cfg.task.train`` (see :class:`TrainConfig`), ``ctx.cfg.model``
        (objective default), ``ctx.cfg.data_root`` (for ``data=nsynth``),
        ``ctx.device``, ``ctx.seed``, ``ctx.progress``, checkpoint callbacks;
        the git commit recorded in the model file comes from the run context
        (``ctx.git_commit``, when the runner provides it).

    Returns
    -------
    Path
        ``ctx.run_dir / "ssmpe-<objective>.pt"``: the best-validation weights
        with their provenance (``meta``); ``training.json`` and
        ``curves.json`` beside it (see the module docstring).
    """
    cfg_root = ctx.cfg
    model_name = cfg_root.get("model") if hasattr(cfg_root, "get") else None
    task_cfg = cfg_root["task"] if isinstance(cfg_root, dict) else cfg_root.task
    train_node = task_cfg.get("train", None) if hasattr(task_cfg, "get") else None
    cfg = TrainConfig.from_settings(train_node, model_name)
    device = torch.device(ctx.device) if ctx.device is not None else torch.device("cpu")
    trainer = SSMPETrainer(cfg, run_dir=Path(ctx.run_dir), device=device, seed=int(ctx.seed),
                           save_checkpoint=ctx.save_checkpoint, load_checkpoint=ctx.load_checkpoint,
                           log=ctx.log, progress=ctx.progress, model_name=model_name,
                           budget=cfg_root.get("budget", None) if hasattr(cfg_root, "get") else None,
                           data_root=cfg_root.get("data_root", None) if hasattr(cfg_root, "get") else None,
                           commit=_git_commit_from(ctx))
    old_threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(int(cfg.threads))
    trainer.malloc_tuned = tune_malloc() if device.type == "cpu" else False
    try:
        return trainer.fit()
    finally:
        torch.set_num_threads(old_threads)
