"""Self-supervised training of SS-MPE (paper 002, sections 3-4.2).

:func:`train_ssmpe` ``(ctx) -> Path`` is the training hook of task ``mpe``
(``sotbench run task=mpe model=ssmpe train=true budget=cpu``): it trains
:class:`~sotbench.models.ssmpe.SSMPENet` with one of the paper's objectives
and returns the path of a model file (best validation loss) that the
``ssmpe`` factory loads.

Recipe (paper 002 section 4.2 and the authors' code, v0.1.0)
------------------------------------------------------------
* Data: 4-second single notes, MIDI 21-109.  ``task.train.data``:
  ``notes-synth`` (:mod:`sotbench.data.notes`, rendered on first use and
  cached), ``nsynth`` (the real NSynth under the data root) or ``auto``
  (default: NSynth when the data root has it, else notes-synth).  The
  validation set is a fixed, seeded subset of the valid split (200 notes in
  the paper).
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
  paper) on the validation notes with the *same* objective (fixed random
  transforms), ReduceLROnPlateau on the validation total (factor 0.5,
  patience = ``plateau_epochs`` (0.5) epochs of validations, threshold 2e-3
  relative), early stopping after ``early_stop_epochs`` (1.0) epochs without
  improvement, at most ``max_epochs`` (3) epochs or ``max_steps`` steps;
  the weights with the lowest validation loss are returned.
* ``init_output_bias`` (default ``null``: PyTorch's initialisation, as the
  authors): a negative value starts the salience near 0 everywhere
  (``sigmoid(-4) = 0.018``, a "prior probability" initialisation).  Short
  CPU runs otherwise spend their first ~100 steps only lowering the
  salience everywhere (sparsity and support terms) before the harmonic term
  can build pitch peaks.
* Mixed precision (``amp``): ``auto`` = bf16 autocast on CUDA devices that
  support it (fp16 + gradient scaling otherwise), **off on CPU**.  On the
  2-core development machine CPU bf16 autocast made a forward + backward
  pass about 25 % faster (8.3 s vs 10.8 s for 60 x 64 frames, channels-last)
  but its effect on the trained model was not measured, so the shipped
  checkpoint is float32; ``amp=bf16`` opts in.

Budgets (``tasks/mpe.yaml``, ``budget=smoke|cpu|paper``) change the amount of
data, ``crop_frames`` (random excerpts of the cached notes; ``null`` = the
whole 345-frame note as in the paper; the time shift range scales to a
quarter of the excerpt), the number of steps and the validation interval.

Determinism and resume
----------------------
Every step's batch, crops and random transforms are drawn from generators
seeded by ``(seed, step)`` (no hidden state), so a run restarted from a
checkpoint (``ctx.save_checkpoint`` every ``checkpoint_every`` steps: model,
optimizer, scheduler, best weights, curves, counters) produces exactly the
numbers of an uninterrupted run, and the same seed on the same device and
thread count gives the same weights.

CPU speed notes
---------------
* HCQT features of the training notes are computed once per run and kept in
  memory as float16 (``cache_features``: ``auto`` caches when they fit in
  ``cache_max_mb``; 2.1 MB per note).  The HCQT costs ~0.1 s per note on one
  core, i.e. far less than a training step, so caching saves ~10-20 % of a
  CPU step and repeated audio decoding; it is not used for the full NSynth.
* ``threads``: ``torch.set_num_threads`` during training (restored after).
  On a 2-core machine shared with other busy processes, elementwise ops with
  2 OpenMP threads were 10-100x slower than with 1 (threads wait for each
  other); the cpu budget therefore trains with 1 thread.
* On Linux/glibc, large temporary tensors are otherwise returned to the OS
  after every use and page-faulted back in; :func:`tune_malloc` raises
  glibc's mmap/trim thresholds once per process (2-3x faster steps measured
  at batch 20 on this machine).  It changes no numbers.
"""
from __future__ import annotations

import copy
import ctypes
import json
import logging
import math
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from sotbench.losses.ssmpe import OBJECTIVES, SSMPEObjective
from sotbench.models.ssmpe import SSMPENet, count_parameters, save_ssmpe_checkpoint
from sotbench.tasks.base import RunContext

__all__ = ["train_ssmpe", "TRAIN_DEFAULTS", "parse_train_config", "objective_for_model",
           "load_training_notes", "NoteFeatures", "tune_malloc", "MODEL_OBJECTIVES"]

CHECKPOINT_VERSION = 1

#: Objective implied by each registered SS-MPE model name.
MODEL_OBJECTIVES = {
    "ssmpe": "full",
    "ssmpe-energy": "energy",
    "ssmpe-energy-timbre": "energy+timbre",
    "ssmpe-energy-geometric": "energy+geometric",
}

TRAIN_DEFAULTS: dict[str, Any] = {
    "data": "auto",             # auto (nsynth if the data root has it, else notes-synth) | notes-synth | nsynth
    "objective": None,          # full | energy | energy+timbre | energy+geometric; null = from model name
    "notes_synth": {"sizes": {"train": 512, "valid": 64, "test": 0}, "seed": 0},  # build_notes_synth kwargs
    "n_train": None,            # use at most this many training notes (seeded subset); null = all
    "n_valid": 200,             # validation notes (seeded subset of the valid split)
    "duration_s": 4.0,          # note length fed to the HCQT (NSynth: 4 s -> 345 frames)
    "batch_size": 20,
    "lr": 1e-4,
    "weight_decay": 0.01,       # AdamW default (the authors did not set it)
    "grad_clip": 10.0,          # gradient-norm clipping
    "max_epochs": 3,
    "max_steps": None,          # null = max_epochs epochs
    "crop_frames": None,        # training excerpt length in frames; null = whole note
    "max_freq_shift": 120,      # bins (2 octaves)
    "max_time_shift": None,     # frames; null = crop // 4 (86 for 345 frames)
    "max_stretch": 2.0,
    "eq_max_amplitude": 0.375,
    "eq_max_sigma": 120.0,      # bins (2 octaves)
    "checkpoint_every": 250,    # validation + ctx.save_checkpoint every N steps
    "plateau_epochs": 0.5,      # LR halving patience, in epochs (converted to validations)
    "plateau_factor": 0.5,
    "plateau_threshold": 2e-3,  # relative improvement that counts (authors' value)
    "early_stop_epochs": 1.0,   # stop after this many epochs of validations without improvement
    "init_output_bias": None,   # initial bias of the output conv (logit); null = PyTorch's default init
    "amp": "auto",              # auto | bf16 | fp16 | off
    "threads": None,            # torch.set_num_threads during training; null = leave as is
    "cache_features": "auto",   # auto | true | false
    "cache_max_mb": 4096,
    "val_batch_size": 20,
    "log_every": 10,            # steps between log lines
}

#: Settings that may change between a checkpoint and its resumption.
_RESUMABLE = ("max_steps", "max_epochs", "checkpoint_every", "threads", "cache_features",
              "cache_max_mb", "val_batch_size", "log_every", "amp")


def _plain(node: Any) -> Any:
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(node):
            return OmegaConf.to_container(node, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    return node


def objective_for_model(model_name: str | None) -> str:
    """Objective implied by an SS-MPE model name (``ssmpe`` -> ``full``)."""
    if model_name in MODEL_OBJECTIVES:
        return MODEL_OBJECTIVES[model_name]
    return "full"


def parse_train_config(train: dict | None, model_name: str | None = None) -> dict:
    """Merge ``task.train`` over :data:`TRAIN_DEFAULTS` and validate it.

    Raises
    ------
    ValueError
        Unknown keys (with the known ones), bad values.
    """
    train = dict(_plain(train) or {})
    train.pop("enabled", None)
    unknown = sorted(set(train) - set(TRAIN_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown task.train settings {unknown}; known: {sorted(TRAIN_DEFAULTS)}")
    cfg = copy.deepcopy(TRAIN_DEFAULTS)
    for k, v in train.items():
        if isinstance(cfg.get(k), dict) and isinstance(v, dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    if cfg["objective"] is None:
        cfg["objective"] = objective_for_model(model_name)
    elif model_name in MODEL_OBJECTIVES and MODEL_OBJECTIVES[model_name] != cfg["objective"]:
        warnings.warn(f"task.train.objective={cfg['objective']!r} overrides the objective of model "
                      f"{model_name!r} ({MODEL_OBJECTIVES[model_name]!r}); results land in that "
                      "model's run folder", stacklevel=2)
    if cfg["objective"] not in OBJECTIVES:
        raise ValueError(f"task.train.objective={cfg['objective']!r} is unknown; choose one of "
                         f"{', '.join(OBJECTIVES)}")
    if cfg["data"] not in ("auto", "notes-synth", "nsynth"):
        raise ValueError(f"task.train.data={cfg['data']!r} is unknown; use auto, notes-synth or nsynth")
    for key in ("batch_size", "checkpoint_every", "max_epochs", "n_valid", "val_batch_size",
                "log_every"):
        if int(cfg[key]) < 1:
            raise ValueError(f"task.train.{key}={cfg[key]} must be >= 1")
    for key in ("max_steps", "n_train", "crop_frames", "threads", "max_time_shift"):
        if cfg[key] is not None and int(cfg[key]) < (0 if key == "max_time_shift" else 1):
            raise ValueError(f"task.train.{key}={cfg[key]} must be a positive integer or null")
    if not float(cfg["lr"]) > 0 or not float(cfg["grad_clip"]) > 0:
        raise ValueError("task.train.lr and task.train.grad_clip must be positive")
    if cfg["amp"] not in ("auto", "bf16", "fp16", "off", False, True):
        raise ValueError(f"task.train.amp={cfg['amp']!r}; use auto, bf16, fp16 or off")
    if cfg["cache_features"] not in ("auto", True, False, "true", "false"):
        raise ValueError(f"task.train.cache_features={cfg['cache_features']!r}; use auto, true or false")
    return cfg


# ----------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------

def load_training_notes(cfg: dict, split: str, data_root: Any = None) -> tuple[list, dict]:
    """Notes of ``split`` (``train`` or ``valid``) for ``cfg['data']`` and their provenance.

    ``data="auto"`` reads the real NSynth when the data root has the split,
    else renders / reuses ``notes-synth`` with ``cfg["notes_synth"]``.

    Returns
    -------
    notes : list of :class:`~sotbench.data.nsynth.NSynthNote`
        Sorted by ``note_str``; MIDI 21-109.
    provenance : dict
    """
    from sotbench.data.nsynth import load_nsynth, nsynth_split_dir
    from sotbench.data.roots import DatasetNotFound

    data = cfg["data"]
    if data == "auto":
        try:
            nsynth_split_dir(split, data_root)
            data = "nsynth"
        except DatasetNotFound:
            data = "notes-synth"
    if data == "notes-synth":
        from sotbench.data.notes import build_notes_synth

        root = build_notes_synth(**dict(cfg["notes_synth"]))
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
        from tqdm.auto import tqdm

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
            for a in tqdm(range(0, n, batch), disable=not progress, desc=desc, unit="batch",
                          leave=False):
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


def _git_commit() -> str | None:
    try:
        from sotbench.runner.provenance import git_commit

        info = git_commit()
        return info.get("commit") if isinstance(info, dict) else None
    except Exception:  # noqa: BLE001 - provenance is best effort
        return None


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


# ----------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------

@dataclass
class _Setup:
    cfg: dict
    device: torch.device
    seed: int
    objective: SSMPEObjective
    val_objective: SSMPEObjective
    crop: int
    support_index: int


def _validate(model, objective: SSMPEObjective, data: NoteFeatures, setup: _Setup,
              autocast_dtype) -> dict:
    """Mean validation terms over all validation notes (whole notes, fixed transforms)."""
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    bs = int(setup.cfg["val_batch_size"])
    with torch.no_grad():
        for k, a in enumerate(range(0, len(data), bs)):
            idx = list(range(a, min(len(data), a + bs)))
            f, h = data.get(idx, None, data.n_frames, setup.device)
            with torch.autocast(setup.device.type, dtype=autocast_dtype or torch.float32,
                                enabled=autocast_dtype is not None):
                out = objective(model, f, f[:, setup.support_index], h,
                                generator=_generator(setup.seed, 2, k))
            for term, value in out.items():
                if term != "logits":
                    sums[term] = sums.get(term, 0.0) + float(value) * len(idx)
            count += len(idx)
    model.train()
    return {k: v / count for k, v in sums.items()}


def train_ssmpe(ctx: RunContext) -> Path:
    """Train SS-MPE as configured by ``ctx.cfg.task.train`` and return the model file.

    Parameters
    ----------
    ctx : RunContext
        ``ctx.cfg.task.train`` (see :data:`TRAIN_DEFAULTS`), ``ctx.cfg.model``
        (objective default), ``ctx.cfg.data_root`` (for ``data=nsynth``),
        ``ctx.device``, ``ctx.seed``, ``ctx.progress``, checkpoint callbacks.

    Returns
    -------
    Path
        ``ctx.run_dir / "ssmpe-<objective>.pt"``: the best-validation weights
        with their provenance (``meta``: objective, data, steps, best step,
        validation loss, seed, device, threads, commit, curves).  A summary
        with the curves is also written to ``ctx.run_dir / "training.json"``.
    """
    from sotbench.dsp.hcqt import HCQT
    from tqdm.auto import tqdm

    t_start = time.perf_counter()
    log = ctx.log
    model_name = getattr(ctx.cfg, "model", None) if not isinstance(ctx.cfg, dict) else ctx.cfg.get("model")
    task_cfg = ctx.cfg.task if not isinstance(ctx.cfg, dict) else ctx.cfg["task"]
    train_node = task_cfg.get("train", None) if hasattr(task_cfg, "get") else None
    cfg = parse_train_config(train_node, model_name)
    device = torch.device(ctx.device) if ctx.device is not None else torch.device("cpu")
    seed = int(ctx.seed)
    budget = ctx.cfg.get("budget", None) if hasattr(ctx.cfg, "get") else None
    data_root = ctx.cfg.get("data_root", None) if hasattr(ctx.cfg, "get") else None

    old_threads = torch.get_num_threads()
    if cfg["threads"] is not None:
        torch.set_num_threads(int(cfg["threads"]))
    malloc_tuned = tune_malloc() if device.type == "cpu" else False
    try:
        return _train(ctx, cfg, device, seed, budget, data_root, model_name, log, t_start,
                      malloc_tuned, HCQT, tqdm)
    finally:
        torch.set_num_threads(old_threads)


def _train(ctx, cfg, device, seed, budget, data_root, model_name, log, t_start, malloc_tuned,
           HCQT, tqdm) -> Path:
    objective_name = cfg["objective"]
    out_path = Path(ctx.run_dir) / f"ssmpe-{objective_name.replace('+', '-')}.pt"

    # ---- data and features
    t0 = time.perf_counter()
    train_notes, provenance = load_training_notes(cfg, "train", data_root)
    valid_notes, _ = load_training_notes(cfg, "valid", data_root)
    train_notes = _subset(train_notes, cfg["n_train"], seed=0, salt=11)
    valid_notes = _subset(valid_notes, cfg["n_valid"], seed=0, salt=12)
    hcqt = HCQT().to(device)
    per_note_mb = 7 * hcqt.n_bins * hcqt.n_frames(int(cfg["duration_s"] * hcqt.sample_rate)) * 2 / 2 ** 20
    cache = cfg["cache_features"]
    if cache == "auto":
        cache = (len(train_notes) + len(valid_notes)) * per_note_mb <= float(cfg["cache_max_mb"])
    cache = cache in (True, "true")
    train_data = NoteFeatures(train_notes, hcqt, duration_s=cfg["duration_s"], cache=cache,
                              progress=ctx.progress, desc="HCQT train notes")
    valid_data = NoteFeatures(valid_notes, hcqt, duration_s=cfg["duration_s"], cache=True,
                              progress=ctx.progress, desc="HCQT valid notes")
    features_s = time.perf_counter() - t0
    n_frames = train_data.n_frames
    crop = n_frames if cfg["crop_frames"] is None else min(int(cfg["crop_frames"]), n_frames)
    if len(train_data) < cfg["batch_size"]:
        raise ValueError(f"{len(train_data)} training notes cannot fill a batch of "
                         f"{cfg['batch_size']}; render more notes or lower task.train.batch_size")
    steps_per_epoch = len(train_data) // int(cfg["batch_size"])
    max_steps = int(cfg["max_epochs"]) * steps_per_epoch
    if cfg["max_steps"] is not None:
        max_steps = min(max_steps, int(cfg["max_steps"]))
    every = int(cfg["checkpoint_every"])
    per_val = lambda epochs: max(1, math.ceil(float(epochs) * steps_per_epoch / every))  # noqa: E731
    patience, early_stop = per_val(cfg["plateau_epochs"]), per_val(cfg["early_stop_epochs"])
    log.info("ssmpe training: objective %s, %d train / %d valid notes (%s), features %s in %.1f s, "
             "crop %d frames, %d steps (%d per epoch), batch %d, validation every %d steps",
             objective_name, len(train_data), len(valid_data), provenance["dataset"],
             "cached" if cache else "on demand", features_s, crop, max_steps, steps_per_epoch,
             cfg["batch_size"], every)

    common = dict(frequencies_hz=hcqt.frequencies_hz.cpu(), bins_per_octave=hcqt.bins_per_octave,
                  max_freq_shift=int(cfg["max_freq_shift"]), max_stretch=float(cfg["max_stretch"]),
                  eq_max_amplitude=float(cfg["eq_max_amplitude"]),
                  eq_max_sigma=float(cfg["eq_max_sigma"]))
    tshift = cfg["max_time_shift"]
    objective = SSMPEObjective(objective_name, max_time_shift=crop // 4 if tshift is None else int(tshift),
                               **common)
    val_objective = SSMPEObjective(objective_name, max_time_shift=n_frames // 4 if tshift is None
                                   else int(tshift), **common)
    setup = _Setup(cfg, device, seed, objective, val_objective, crop,
                   hcqt.channel_index(1.0))

    # ---- model, optimiser, schedule
    torch.manual_seed(seed)
    model = SSMPENet(n_harmonics=len(hcqt.harmonics), n_bins=hcqt.n_bins).to(device)
    if cfg["init_output_bias"] is not None:
        with torch.no_grad():
            model.conv_out.bias.fill_(float(cfg["init_output_bias"]))
    model = model.to(memory_format=torch.channels_last)   # ~12 % faster convs on CPU (oneDNN)
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(cfg["lr"]),
                                  weight_decay=float(cfg["weight_decay"]))
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=float(cfg["plateau_factor"]), patience=patience,
        threshold=float(cfg["plateau_threshold"]))
    autocast_dtype, use_scaler = _amp_settings(cfg["amp"], device)
    scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)

    fingerprint = {"version": CHECKPOINT_VERSION, "objective": objective_name, "seed": seed,
                   "data": {k: provenance.get(k) for k in ("dataset", "folder")},
                   "n_train": len(train_data), "n_valid": len(valid_data),
                   "train": {k: v for k, v in cfg.items() if k not in _RESUMABLE}}
    state = {"step": 0, "best_val": math.inf, "best_step": 0, "best_state": None, "bad": 0,
             "stopped_early": False, "done": False,
             "curves": {"step": [], "train_total": [], "val_total": [], "lr": [],
                        "train_terms": {}, "val_terms": {}},
             "run_sums": {}, "run_count": 0, "train_s": 0.0, "val_s": 0.0, "steps_timed": 0}
    resumed = ctx.load_checkpoint()
    if resumed is not None:
        if resumed.get("fingerprint") != fingerprint:
            raise ValueError(f"the checkpoint in {ctx.run_dir} was written by a different SS-MPE "
                             "training configuration; re-run with overwrite=true to start afresh")
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        scheduler.load_state_dict(resumed["scheduler"])
        if resumed.get("scaler"):
            scaler.load_state_dict(resumed["scaler"])
        for key in state:
            state[key] = resumed[key]
        if state["done"] and state["step"] < max_steps and not state["stopped_early"]:
            state["done"] = False     # more steps requested than the finished run had
        log.info("ssmpe training: resumed at step %d (best validation %.4f at step %d)",
                 state["step"], state["best_val"], state["best_step"])

    def checkpoint() -> None:
        ctx.save_checkpoint({"fingerprint": fingerprint, "model": model.state_dict(),
                             "optimizer": optimizer.state_dict(),
                             "scheduler": scheduler.state_dict(),
                             "scaler": scaler.state_dict() if use_scaler else None, **state})

    def validate(done: int) -> None:
        tv = time.perf_counter()
        val = _validate(model, val_objective, valid_data, setup, autocast_dtype)
        state["val_s"] += time.perf_counter() - tv
        curves = state["curves"]
        curves["step"].append(done)
        count = max(1, state["run_count"])
        curves["train_total"].append(state["run_sums"].get("total", float("nan")) / count)
        curves["val_total"].append(val["total"])
        curves["lr"].append(optimizer.param_groups[0]["lr"])
        for term in objective.terms:
            curves["train_terms"].setdefault(term, []).append(state["run_sums"].get(term, 0.0) / count)
            curves["val_terms"].setdefault(term, []).append(val[term])
        state["run_sums"], state["run_count"] = {}, 0
        if val["total"] < state["best_val"]:
            state["best_val"], state["best_step"], state["bad"] = val["total"], done, 0
            state["best_state"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            state["bad"] += 1
        scheduler.step(val["total"])
        if state["bad"] >= early_stop:
            state["stopped_early"] = True
        log.info("ssmpe step %d: train %.4f, validation %.4f (best %.4f at %d), lr %.2g",
                 done, curves["train_total"][-1], val["total"], state["best_val"],
                 state["best_step"], optimizer.param_groups[0]["lr"])

    # ---- loop
    model.train()
    bar = tqdm(total=max_steps, initial=min(state["step"], max_steps), disable=not ctx.progress,
               unit="step", desc=f"ssmpe {objective_name} seed{seed}", dynamic_ncols=True)
    t_session, steps_session, val_before = time.perf_counter(), 0, state["val_s"]
    try:
        while not state["done"] and state["step"] < max_steps and not state["stopped_early"]:
            step = state["step"]
            idx = _step_batch(seed, step, len(train_data), int(cfg["batch_size"]))
            rng = np.random.default_rng([seed, 3, step])
            offsets = rng.integers(0, n_frames - crop + 1, size=len(idx)) if crop < n_frames else None
            f, h = train_data.get(idx.tolist(), None if offsets is None else offsets.tolist(), crop,
                                  device)
            with torch.autocast(device.type, dtype=autocast_dtype or torch.float32,
                                enabled=autocast_dtype is not None):
                out = objective(model, f, f[:, setup.support_index], h,
                                generator=_generator(seed, 4, step))
            total = out["total"]
            if not math.isfinite(float(total.detach())):
                raise FloatingPointError(f"ssmpe: the training loss became {float(total.detach())} at step "
                                         f"{step + 1}; lower task.train.lr or use amp=off")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(total).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(cfg["grad_clip"]))
            scaler.step(optimizer)
            scaler.update()
            for term, value in out.items():
                if term != "logits":
                    state["run_sums"][term] = state["run_sums"].get(term, 0.0) + float(value.detach())
            state["run_count"] += 1
            done = step + 1
            state["step"] = done
            steps_session += 1
            bar.update(1)
            bar.set_postfix(loss=f"{float(total.detach()):.3f}",
                            best=f"{state['best_val']:.3f}@{state['best_step']}")
            if done % int(cfg["log_every"]) == 0 and log.isEnabledFor(logging.DEBUG):
                log.debug("ssmpe step %d: %s", done, {k: round(float(v.detach()), 4) for k, v in out.items()
                                                       if k != "logits"})
            if done % every == 0 or done == max_steps:
                validate(done)
                elapsed = time.perf_counter() - t_session
                val_session = state["val_s"] - val_before
                state["train_s"] += elapsed - val_session
                state["steps_timed"] += steps_session
                t_session, steps_session, val_before = time.perf_counter(), 0, state["val_s"]
                if done == max_steps or state["stopped_early"]:
                    state["done"] = True
                checkpoint()
        if not state["done"]:
            state["done"] = True
            checkpoint()
    finally:
        bar.close()

    # ---- write the model file
    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    step_s = state["train_s"] / max(1, state["steps_timed"])
    meta = {
        "objective": objective_name, "terms": list(objective.terms), "model_name": model_name,
        "data": provenance, "n_train": len(train_data), "n_valid": len(valid_data),
        "budget": budget, "steps": state["step"], "max_steps": max_steps,
        "steps_per_epoch": steps_per_epoch, "best_step": state["best_step"],
        "best_val_total": state["best_val"], "stopped_early": state["stopped_early"],
        "seed": seed, "device": str(device), "threads": torch.get_num_threads(),
        "amp": str(autocast_dtype) if autocast_dtype is not None else "off",
        "torch": str(torch.__version__), "commit": _git_commit(),
        "n_parameters": count_parameters(model), "crop_frames": crop,
        "train_settings": {k: v for k, v in cfg.items()},
        "timing": {"features_s": round(features_s, 2), "train_s": round(state["train_s"], 2),
                   "val_s": round(state["val_s"], 2), "step_s": round(step_s, 3),
                   "total_s": round(time.perf_counter() - t_start, 2),
                   "malloc_tuned": malloc_tuned},
        "curves": state["curves"],
    }
    save_ssmpe_checkpoint(out_path, model, meta=meta)
    summary = {k: v for k, v in meta.items()}
    (Path(ctx.run_dir) / "training.json").write_text(json.dumps(summary, indent=1, default=str))
    log.info("ssmpe training done: %d steps (%.2f s/step), best validation %.4f at step %d -> %s",
             state["step"], step_s, state["best_val"], state["best_step"], out_path)
    return out_path
