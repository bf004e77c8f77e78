"""Task ``synth-ae``: paper 000's synthetic harmonic autoencoder, trained and tested end to end.

Protocol (paper 000, Sections 4.1-4.6, and the authors' recipes):

1. generate the synthetic set (:mod:`sotbench.data.synthetic`; its own data
   seed, disjoint 70/20/10 splits);
2. build the model (``harmonic-ae``) and the training loss from the registry
   (``loss=sot-2048``, ``loss=mss-lin``, ...); the loss compares the
   resynthesized audio (prediction) with the input audio (target);
3. train with Adam (lr 1e-4, weight decay 1e-4, batch 64, 25k steps under
   ``budget=paper``); every ``eval_every`` steps compute the validation LSD
   and keep the best weights;
4. test the weights with the lowest validation LSD on the test split: LSD
   (dB^2, see :mod:`sotbench.metrics.spectral`), RPA and RCA in percent and
   the mean octave difference OD (:mod:`sotbench.metrics.pitch`) of every
   frame's f0 against the example's constant true f0.

Main score: RPA (higher is better), the paper's headline pitch metric.

Training state is checkpointed every ``checkpoint_every`` steps through
``ctx.save_checkpoint`` (model, optimizer, best weights, curves, RNG state,
running loss); a run restarted with the same configuration resumes from the
last checkpoint and produces exactly the numbers of an uninterrupted run.

Determinism: the same seed on the same device (and the same number of CPU
threads) gives identical numbers; on CPU this is bitwise (tested).  On CUDA
the task switches cuDNN to deterministic algorithms; a loss whose backward
uses atomic scatter-adds on the GPU may still add float-rounding noise there.

Curves (``extra["curves"]``): ``step``, ``train_loss`` (mean training loss
since the previous evaluation), ``val_lsd_db`` and ``val_rpa`` (percent).
``extra["silence_lsd_db"]`` holds the LSD of an all-zero output on the
validation and test splits: the level a model that outputs silence reaches
(the reference line of the curves and a reference row of the leaderboard).

Differences from the authors' code (documented choices): batches are drawn
from a fresh seeded permutation of the training split every epoch (dropping
the incomplete last batch) rather than in a fixed order; the splits are
disjoint (theirs were not); the CQT runs on any device.
"""
from __future__ import annotations

import logging
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sotbench.data.synthetic import SPLITS, SyntheticConfig, make_synthetic_dataset
from sotbench.io import atomic_write
from sotbench.metrics.pitch import octave_differences, pitch_metrics, raw_pitch_accuracy
from sotbench.metrics.spectral import log_spectral_distance
from sotbench.models.base import count_parameters
from sotbench.progress import counter
from sotbench.progress import progress as progress_bar
from sotbench.registry import LOSSES, MODELS, TASKS
from sotbench.tasks.base import RunContext, TaskResult, reject_unknown, to_plain

__all__ = ["SynthAETask", "TRAIN_DEFAULTS", "parse_train_config"]

CHECKPOINT_VERSION = 1

TRAIN_DEFAULTS: dict[str, Any] = {
    "lr": 1e-4,               # Adam learning rate
    "weight_decay": 1e-4,     # Adam (L2) weight decay
    "batch_size": 64,
    "steps": 25_000,          # optimisation steps
    "eval_every": 220,        # validation LSD every N steps (authors: every 5 epochs = 220 steps)
    "checkpoint_every": 220,  # ctx.save_checkpoint every N steps
    "eval_batch_size": 200,   # examples per forward pass during evaluation
}


_plain = to_plain
_unknown = reject_unknown


def parse_train_config(train: dict | None) -> dict:
    """Defaults + overrides for ``task.train``, validated.

    Raises
    ------
    ValueError
        Unknown keys (with did-you-mean) or impossible values (non-positive
        steps, batch size, intervals or learning rate; negative weight decay).
    """
    train = dict(train or {})
    _unknown("train", train, TRAIN_DEFAULTS)
    out = {**TRAIN_DEFAULTS, **train}
    for key in ("batch_size", "steps", "eval_every", "checkpoint_every", "eval_batch_size"):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"task.train.{key}={value!r} must be a positive integer")
        out[key] = int(value)
    for key, minimum, strict in (("lr", 0.0, True), ("weight_decay", 0.0, False)):
        value = out[key]
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"task.train.{key}={out[key]!r} must be a number") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise ValueError(f"task.train.{key}={out[key]!r} must be {'>' if strict else '>='} {minimum}")
        out[key] = value
    return out


def _data_config(data: dict | None) -> SyntheticConfig:
    data = dict(data or {})
    _unknown("data", data, SyntheticConfig.__dataclass_fields__)
    if "split" in data:
        data["split"] = tuple(data["split"])
    return SyntheticConfig(**data)


def save_predictions(path: Path, **arrays: np.ndarray) -> Path:
    """Store the test set's predictions (compressed ``.npz``, written atomically) for later re-scoring.

    Parameters
    ----------
    path : Path
        Destination, ``<run folder>/predictions/test.npz``.
    **arrays : numpy.ndarray
        ``indices`` (n,), ``f0_true_hz`` (n,), ``f0_est_hz`` (n, T) in Hz per frame,
        ``amplitudes`` (n, T, H) linear harmonic amplitudes, ``lsd_db`` (n,) in dB^2.

    Returns
    -------
    Path
        ``path``.
    """
    return atomic_write(path, lambda handle: np.savez_compressed(handle, **{k: np.asarray(v) for k, v in
                                                                        arrays.items()}))


def _round(x: float, digits: int = 4) -> float:
    return float(round(float(x), digits))


class _Batches:
    """Deterministic batch indices: step -> indices, from a per-epoch seeded permutation."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.per_epoch = max(1, n // batch_size)
        self._epoch, self._perm = -1, None

    def __call__(self, step: int) -> torch.Tensor:
        epoch, pos = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            state = int(np.random.SeedSequence([self.seed, epoch, 0x5A]).generate_state(1)[0])
            self._perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(state))
            self._epoch = epoch
        return self._perm[pos * self.batch_size:(pos + 1) * self.batch_size]


@TASKS.register("synth-ae", description="Paper 000 synthetic harmonic autoencoder: train with a registry "
                                        "loss, test the best-val-LSD weights (LSD, RPA, RCA, OD)")
class SynthAETask:
    """Train and test a synth-ae model (see the module docstring)."""

    name = "synth-ae"

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _evaluate(model, audio: torch.Tensor, feats: torch.Tensor, batch_size: int,
                  progress: bool = False, desc: str = "eval"
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-example LSD (dB^2), frame-wise f0 (n, T) in Hz and harmonic amplitudes (n, T, H), no gradient."""
        model.eval()
        lsd, f0, amps = [], [], []
        with torch.inference_mode():  # no autograd bookkeeping at all (cheaper than no_grad)
            starts = range(0, audio.shape[0], batch_size)
            for start in progress_bar(starts, progress, desc, unit="batch"):
                x = audio[start:start + batch_size]
                out = model(x, features=feats[start:start + batch_size])
                lsd.append(log_spectral_distance(x, out.audio, reduction="none").cpu())
                f0.append(out.f0_hz.detach().cpu())
                amps.append(out.amplitudes.detach().cpu())
        model.train()
        return torch.cat(lsd), torch.cat(f0), torch.cat(amps)

    # --------------------------------------------------------------------- run
    def run(self, ctx: RunContext) -> TaskResult:
        """Train harmonic-ae with the configured loss, then test the best-validation weights."""
        t_start = time.perf_counter()
        log = ctx.log
        cfg = _plain(ctx.cfg)
        task_cfg = cfg.get("task", {}) or {}
        model_name = cfg.get("model") or task_cfg.get("default_model") or "harmonic-ae"
        loss_name = cfg.get("loss")
        if loss_name in (None, "-"):
            loss_name = task_cfg.get("default_loss")
        if loss_name in (None, "-"):
            raise ValueError("task synth-ae trains with a loss; pass one, e.g. loss=sot-2048 or loss=mss-lin")
        train = parse_train_config(task_cfg.get("train"))
        data_cfg = _data_config(task_cfg.get("data"))
        model_settings = dict(task_cfg.get("model_settings") or {})
        loss_settings = dict(task_cfg.get("loss_settings") or {})
        device = torch.device(ctx.device)
        seed = int(ctx.seed)
        timing: dict[str, float] = {}

        if device.type == "cuda":  # cuDNN's default algorithms are not run-to-run deterministic
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
            log.info("synth-ae: cuDNN set to deterministic algorithms")
        entry = MODELS.entry(model_name)
        if entry.meta.get("task") not in (None, self.name):
            raise ValueError(f"model {model_name!r} belongs to task {entry.meta.get('task')!r}; "
                             f"synth-ae needs a synth-ae model such as harmonic-ae")

        # ---- data
        t0 = time.perf_counter()
        ds = make_synthetic_dataset(data_cfg)
        timing["data_s"] = time.perf_counter() - t0
        sizes = {name: len(ds.split(name)) for name in SPLITS}
        log.info("synth-ae: generated %d examples (train/val/test %d/%d/%d, data seed %d) in %.1f s",
                 data_cfg.n_examples, sizes["train"], sizes["val"], sizes["test"], data_cfg.seed,
                 timing["data_s"])
        batch_size = train["batch_size"]
        if sizes["train"] < batch_size:
            warnings.warn(f"synth-ae: the training split has {sizes['train']} examples, fewer than "
                          f"batch_size={batch_size}; using batches of {sizes['train']}", stacklevel=2)
            batch_size = sizes["train"]

        # ---- model and loss (the model's initial weights depend on the seed only)
        torch.manual_seed(seed)
        model = entry.factory(**model_settings).to(device)
        loss_fn = LOSSES.get(loss_name)(**loss_settings)
        if isinstance(loss_fn, torch.nn.Module):
            loss_fn = loss_fn.to(device)
        n_params = count_parameters(model)
        optimizer = torch.optim.Adam(model.parameters(), lr=train["lr"], weight_decay=train["weight_decay"])

        # ---- fixed encoder inputs, computed once
        t0 = time.perf_counter()
        audio, feats = {}, {}
        for name in SPLITS:
            x = torch.from_numpy(ds.split(name).audio).to(device)
            audio[name] = x
            feats[name] = torch.cat([model.features(x[i:i + train["eval_batch_size"]])
                                     for i in range(0, x.shape[0], train["eval_batch_size"])])
        timing["features_s"] = time.perf_counter() - t0
        log.info("synth-ae: %s (%d params, CQT %s) + loss %s on %s; CQT of %d examples in %.1f s",
                 model_name, n_params, getattr(getattr(model, "cqt", None), "implementation", "?"),
                 loss_name, device, data_cfg.n_examples, timing["features_s"])

        # ---- state (fresh or resumed)
        fingerprint = {"task": self.name, "model": model_name, "loss": loss_name, "seed": seed,
                       "data": data_cfg.to_dict(), "model_settings": model_settings,
                       "loss_settings": loss_settings,
                       "train": {k: v for k, v in train.items() if k not in ("steps", "checkpoint_every",
                                                                             "eval_batch_size")}}
        state = {"step": 0, "best_val_lsd": math.inf, "best_step": 0, "best_state": None,
                 "curves": {"step": [], "train_loss": [], "val_lsd_db": [], "val_rpa": []},
                 "loss_sum": 0.0, "loss_count": 0, "train_s": 0.0, "eval_s": 0.0, "steps_timed": 0}
        resumed = ctx.load_checkpoint()
        if resumed is not None:
            if resumed.get("version") != CHECKPOINT_VERSION or resumed.get("fingerprint") != fingerprint:
                raise ValueError(f"the checkpoint in {ctx.run_dir} was written by a different synth-ae "
                                 f"configuration; rerun with overwrite=true to start afresh")
            if resumed["step"] > train["steps"]:
                raise ValueError(f"the checkpoint is at step {resumed['step']}, beyond "
                                 f"task.train.steps={train['steps']}; raise steps or overwrite=true")
            model.load_state_dict(resumed["model"])
            optimizer.load_state_dict(resumed["optimizer"])
            for key in state:
                state[key] = resumed[key]
            torch.set_rng_state(resumed["rng"]["torch"])
            if device.type == "cuda" and resumed["rng"].get("cuda") is not None:
                torch.cuda.set_rng_state(resumed["rng"]["cuda"], device)
            log.info("synth-ae: resumed at step %d/%d (best val LSD %.3f at step %d)", state["step"],
                     train["steps"], state["best_val_lsd"], state["best_step"])

        def checkpoint() -> None:
            rng = {"torch": torch.get_rng_state(),
                   "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}
            ctx.save_checkpoint({"version": CHECKPOINT_VERSION, "fingerprint": fingerprint,
                                 "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                 "rng": rng, **state})

        # ---- training
        batches = _Batches(sizes["train"], batch_size, seed)
        steps = train["steps"]
        model.train()
        bar = counter(steps, ctx.progress, f"synth-ae {loss_name} seed{seed}", initial=state["step"],
                      unit="step", dynamic_ncols=True)
        t_session = time.perf_counter()
        steps_session = 0
        eval_session = 0.0
        try:
            for step in range(state["step"], steps):
                idx = batches(step).to(device)
                x = audio["train"][idx]
                out = model(x, features=feats["train"][idx])
                loss = loss_fn(out.audio, x)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"synth-ae: the {loss_name} training loss became {value} at step {step + 1}; "
                        f"lower task.train.lr or check the loss settings")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                state["loss_sum"] += value
                state["loss_count"] += 1
                done = step + 1
                steps_session += 1
                if done % train["eval_every"] == 0 or done == steps:
                    t_eval = time.perf_counter()
                    val_lsd_all, val_f0, _ = self._evaluate(model, audio["val"], feats["val"],
                                                         train["eval_batch_size"])
                    val_lsd = float(val_lsd_all.double().mean())
                    val_rpa = 100.0 * raw_pitch_accuracy(ds.val.f0_hz, val_f0.double().numpy())
                    eval_session += time.perf_counter() - t_eval
                    curves = state["curves"]
                    curves["step"].append(done)
                    curves["train_loss"].append(state["loss_sum"] / max(1, state["loss_count"]))
                    curves["val_lsd_db"].append(val_lsd)
                    curves["val_rpa"].append(val_rpa)
                    state["loss_sum"], state["loss_count"] = 0.0, 0
                    if val_lsd < state["best_val_lsd"]:
                        state["best_val_lsd"], state["best_step"] = val_lsd, done
                        state["best_state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    bar.set_postfix(loss=f"{curves['train_loss'][-1]:.4g}", val_lsd=f"{val_lsd:.2f}",
                                    val_rpa=f"{val_rpa:.1f}",
                                    best=f"{state['best_val_lsd']:.2f}@{state['best_step']}")
                    # without a progress bar (progress=false, batch jobs) the log is the progress report
                    log.log(logging.DEBUG if ctx.progress else logging.INFO,
                            "synth-ae: step %d/%d (%.0f s) train loss %.5g val LSD %.3f dB^2 val RPA %.1f %%",
                            done, steps, time.perf_counter() - t_start, curves["train_loss"][-1], val_lsd,
                            val_rpa)
                state["step"] = done
                bar.update(1)
                if done % train["checkpoint_every"] == 0 or done == steps:
                    elapsed = time.perf_counter() - t_session
                    state["train_s"] += elapsed - eval_session
                    state["eval_s"] += eval_session
                    state["steps_timed"] += steps_session
                    t_session, steps_session, eval_session = time.perf_counter(), 0, 0.0
                    checkpoint()
        finally:
            bar.close()
        timing["train_s"] = state["train_s"]
        timing["val_eval_s"] = state["eval_s"]
        timing["step_s"] = state["train_s"] / max(1, state["steps_timed"])
        log.info("synth-ae: %d steps on %s, %.3f s/step (batch %d), validation %.1f s; best val LSD "
                 "%.3f at step %d", steps, device, timing["step_s"], batch_size, timing["val_eval_s"],
                 state["best_val_lsd"], state["best_step"])

        # ---- test the best-validation weights
        t0 = time.perf_counter()
        if state["best_state"] is not None:
            model.load_state_dict(state["best_state"])
        test = ds.test
        lsd, f0_est, amps_est = self._evaluate(model, audio["test"], feats["test"], train["eval_batch_size"],
                                               progress=ctx.progress, desc="synth-ae test")
        f0_est = f0_est.double().numpy()
        predictions = save_predictions(ctx.run_dir / "predictions" / "test.npz", indices=test.indices,
                                       f0_true_hz=test.f0_hz, f0_est_hz=f0_est, amplitudes=amps_est.numpy(),
                                       lsd_db=lsd.double().numpy())
        metrics_pitch = pitch_metrics(test.f0_hz, f0_est)
        timing["test_s"] = time.perf_counter() - t0
        # reference level: the LSD of a silent output (all zeros) on the same examples
        silence = {name: float(log_spectral_distance(audio[name], torch.zeros_like(audio[name]),
                                                     reduction="none").double().mean())
                   for name in ("val", "test")}
        metrics = {"lsd_db": float(lsd.double().mean()), "rpa": metrics_pitch["rpa"],
                   "rca": metrics_pitch["rca"], "od": metrics_pitch["od"],
                   "best_step": int(state["best_step"]), "val_lsd_db": float(state["best_val_lsd"])}

        per_item = {}
        for i, idx in enumerate(test.indices):
            item = pitch_metrics(test.f0_hz[i], f0_est[i])
            per_item[f"{int(idx):04d}"] = {
                "f0_true_hz": _round(test.f0_hz[i], 3), "f0_est_hz": _round(np.median(f0_est[i]), 3),
                "n_harmonics": int(test.n_harmonics[i]), "lsd_db": _round(lsd[i], 3),
                "rpa": _round(item["rpa"], 2), "rca": _round(item["rca"], 2),
                "od": _round(np.mean(octave_differences(test.f0_hz[i], f0_est[i])), 3)}
        timing["total_s"] = time.perf_counter() - t_start
        log.info("synth-ae: test LSD %.2f dB^2, RPA %.1f %%, RCA %.1f %%, OD %.2f (test %.1f s, total %.1f s)",
                 metrics["lsd_db"], metrics["rpa"], metrics["rca"], metrics["od"], timing["test_s"],
                 timing["total_s"])
        extra = {
            "predictions": {"file": str(predictions.relative_to(ctx.run_dir)),
                            "arrays": "indices (n,), f0_true_hz (n,), f0_est_hz (n, T) Hz per frame, "
                                      "amplitudes (n, T, H) linear, lsd_db (n,) dB^2"},
            "curves": state["curves"],
            "timing": {k: _round(v, 4) for k, v in timing.items()},
            "data": {**data_cfg.to_dict(), "split_sizes": sizes, "disjoint_splits": True},
            "model": {"name": model_name, "n_parameters": n_params,
                      "cqt_implementation": getattr(getattr(model, "cqt", None), "implementation", None),
                      "conv_impl": getattr(getattr(model, "encoder", None), "conv_impl", None),
                      "settings": model_settings},
            "loss": {"name": loss_name, "settings": loss_settings},
            "train": {**train, "effective_batch_size": batch_size},
            "device": str(device), "torch_threads": torch.get_num_threads(),
            "silence_lsd_db": {"test": _round(silence["test"], 4), "val": _round(silence["val"], 4),
                               "note": "LSD of an all-zero output against the split (a model that "
                                       "outputs silence scores this); the reference line of the curves"},
            "units": {"lsd_db": "dB^2 (mean squared dB difference, as in the paper's Table 1)",
                      "rpa": "%", "rca": "%",
                      "od": "octaves, negative = estimate below the truth (paper 000 Table 1 sign)"},
        }
        return TaskResult(metrics=metrics, main_score="rpa", direction="max", per_item=per_item, extra=extra)
