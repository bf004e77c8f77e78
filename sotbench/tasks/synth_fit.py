"""Task ``synth-fit``: gradient-descent parameter estimation of harmonic tones, no network.

For each example of the synthetic set's test split (:mod:`sotbench.data.synthetic`),
the harmonic synthesizer's controls are fitted *directly* to the target audio
with a loss from the registry (Hayes et al., "Sinusoidal frequency estimation
by gradient descent", ICASSP 2023; paper 000's loss-landscape argument,
Figure 2).  This shows the loss-level claim of paper 000 -- an optimal
transport loss gives useful f0 gradients from far away, a spectral L1 loss
does not -- in minutes on a CPU.

Protocol
--------
1. Target: example ``b`` of the test split (constant f0, 1-8 harmonics,
   peak-normalised audio, 4096 samples at 16 kHz).
2. Model: :class:`sotbench.models.harmonic_ae.DirectHarmonicSynth`
   (``harmonic-synth``): one constant f0 per example held over 16 control
   frames, synthesized by :func:`sotbench.dsp.synth.harmonic_synth`.
   Amplitudes (``fit.amplitudes``):

   * ``known`` -- the example's true harmonic amplitudes (times its
     peak-normalisation gain), fixed: only f0 is fitted;
   * ``learned`` -- all ``max_harmonics`` amplitudes fitted too (in log),
     starting from ``fit.amplitude_init`` each.

3. Initial f0: log-uniform on ``[init_min_hz, init_max_hz]`` (the data's f0
   range), drawn from ``numpy.random.SeedSequence([seed, 0x5F17])``, so each
   ``seed`` is one draw of initial points and the same seed gives the same
   numbers.
4. Optimisation: Adam (lr ``fit.lr``) on ``log2 f0`` (and ``fit.amplitude_lr``
   on the log amplitudes), ``fit.steps`` steps, *all examples in one batch*:
   the registry losses are means of per-example terms and Adam normalises
   each coordinate separately, so the batch is the same as one optimisation
   per example (up to Adam's ``eps``).
5. Scores of the final f0 (one value per example, so RPA is the fraction of
   examples within 50 cents): RPA, RCA (%), OD (octaves, paper 000's sign:
   negative = too low), LSD (dB^2) of the final synthesis against the target,
   ``converged`` = percent of examples within ``converged_cents`` (50) cents
   (equal to RPA at the default), and that fraction binned by the initial
   distance ``|log2(f0_init / f0_true)|`` in octaves (``distance_bins``).

Framings (records)
------------------
One run stores one record per framing in ``task.framings`` (sub-folder
``<amplitudes>-<framing>``):

* ``pad-end`` -- the loss as registered (the authors' framing: STFT frames
  padded at the end, DDSP's ``pad_end=True``; with n_fft 2048 and hop 256 the
  last frames of a 4096-sample clip are mostly zero padding);
* ``full`` -- every STFT term of the loss with ``pad_end=False``: only frames
  that lie entirely inside the signal.  The registered losses' ``SOTLoss`` and
  ``MSSLoss`` take ``pad_end`` as a constructor setting
  (``loss_settings={pad_end: false, mss: {pad_end: false}}`` does the same
  for the mixed SOT configurations); the task sets it on every sub-module
  that has it, so it applies to every registry loss.  The authors' package
  (``sot-loss-*`` peers) always frames with centred, reflect-padded STFTs:
  for those, ``full`` changes the MSS term only (recorded in
  ``extra.framing.applied_to``).

Silent target frames (SOTLoss ``silence_threshold``) contribute 0 in both
framings; with ``pad-end`` a frame that is mostly padding is not silent, so
its per-frame normalisation still counts it at full weight.

Per-item results (``per_item``): for every example its true, initial and
final f0 (Hz), the initial distance (octaves), the final error (cents),
``converged`` and its LSD.  Curves (``extra.curves``): step, mean loss and
percent converged every ``log_every`` steps.
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from sotbench.data.synthetic import SyntheticConfig, make_synthetic_dataset
from sotbench.metrics.pitch import pitch_metrics
from sotbench.metrics.spectral import log_spectral_distance
from sotbench.registry import LOSSES, MODELS, TASKS
from sotbench.tasks.base import RecordPlan, RunContext, TaskResult, reject_unknown, to_plain

__all__ = ["SynthFitTask", "FIT_DEFAULTS", "FRAMINGS", "parse_fit_config", "parse_framings", "apply_framing",
           "initial_f0", "distance_table"]

#: framing name -> pad_end value of the loss's STFT terms
FRAMINGS = {"pad-end": True, "full": False}

FIT_DEFAULTS: dict[str, Any] = {
    "split": "test",                   # which split of the synthetic set is fitted
    "n_fit": None,                     # first n examples of the split (None = all)
    "steps": 400,                      # Adam steps
    "lr": 0.01,                        # Adam lr on log2 f0 (octaves per step, roughly)
    "amplitudes": "known",             # known | learned
    "amplitude_lr": 0.01,              # Adam lr on the log amplitudes (learned only)
    "amplitude_init": 0.3,             # initial linear amplitude of every harmonic (learned only)
    "init_min_hz": 40.0,               # log-uniform initial f0 range (the data's f0 range)
    "init_max_hz": 1950.0,
    "converged_cents": 50.0,           # |final error| below this = converged
    "log_every": 20,                   # curve points (loss, percent converged)
    "distance_bins": [0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0],  # octaves
}


_plain = to_plain
_unknown = reject_unknown


def parse_fit_config(fit: dict | None) -> dict:
    """Defaults + overrides for ``task.fit``, validated.

    Raises
    ------
    ValueError
        Unknown keys (with did-you-mean), an unknown framing or amplitude
        mode, non-positive steps/lr/intervals, a bad f0 range or bins.
    """
    fit = dict(fit or {})
    _unknown("fit", fit, FIT_DEFAULTS)
    out = {**FIT_DEFAULTS, **fit}
    if out["amplitudes"] not in ("known", "learned"):
        raise ValueError(f"task.fit.amplitudes={out['amplitudes']!r}; use 'known' or 'learned'")
    if out["split"] not in ("train", "val", "test"):
        raise ValueError(f"task.fit.split={out['split']!r}; use train, val or test")
    for key in ("steps", "log_every"):
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"task.fit.{key}={v!r} must be a positive integer")
        out[key] = int(v)
    if out["n_fit"] is not None:
        v = out["n_fit"]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"task.fit.n_fit={v!r} must be a positive integer or null (whole split)")
        out["n_fit"] = int(v)
    for key in ("lr", "amplitude_lr", "amplitude_init", "init_min_hz", "init_max_hz", "converged_cents"):
        try:
            v = float(out[key])
        except (TypeError, ValueError):
            raise ValueError(f"task.fit.{key}={out[key]!r} must be a number") from None
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"task.fit.{key}={out[key]!r} must be a finite number > 0")
        out[key] = v
    if out["init_min_hz"] >= out["init_max_hz"]:
        raise ValueError(f"task.fit.init_min_hz ({out['init_min_hz']}) must be below init_max_hz "
                         f"({out['init_max_hz']})")
    bins = [float(b) for b in out["distance_bins"]]
    if len(bins) < 2 or any(b1 <= b0 for b0, b1 in zip(bins[:-1], bins[1:], strict=True)) or bins[0] < 0:
        raise ValueError(f"task.fit.distance_bins={out['distance_bins']!r} must be >= 2 increasing "
                         f"non-negative edges in octaves")
    out["distance_bins"] = bins
    return out


def parse_framings(framings: Any) -> list[str]:
    """``task.framings`` (a name or a list of names of :data:`FRAMINGS`) as a list without repeats.

    Raises
    ------
    ValueError
        An empty list or an unknown framing name.
    """
    if isinstance(framings, str):
        framings = [framings]
    framings = list(framings or [])
    if not framings:
        raise ValueError("task.framings is empty; use [pad-end, full] or one of them")
    for f in framings:
        if f not in FRAMINGS:
            raise ValueError(f"unknown framing {f!r} in task.framings; use {' or '.join(FRAMINGS)}")
    return list(dict.fromkeys(framings))


def initial_f0(n: int, seed: int, low_hz: float, high_hz: float) -> np.ndarray:
    """Seeded log-uniform initial f0 in Hz, shape (n,), float64 (same seed -> same draw)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 0x5F17])))
    return np.exp2(rng.uniform(np.log2(low_hz), np.log2(high_hz), size=int(n)))


def apply_framing(loss: torch.nn.Module, framing: str) -> list[str]:
    """Set ``pad_end`` of every STFT term of ``loss`` for ``framing``; return the terms changed.

    Parameters
    ----------
    loss : nn.Module
        A registry loss (e.g. a :class:`~sotbench.losses.configs.WeightedSum`
        of ``SOTLoss`` and ``MSSLoss``).
    framing : {"pad-end", "full"}
        ``pad-end`` = ``pad_end=True`` (the registered default), ``full`` =
        ``pad_end=False``.

    Returns
    -------
    list of str
        Qualified names (``"" `` = the loss itself) and classes of the
        sub-modules that have a ``pad_end`` setting.
    """
    if framing not in FRAMINGS:
        raise ValueError(f"unknown framing {framing!r}; use {' or '.join(FRAMINGS)}")
    applied = []
    for name, module in loss.named_modules():
        if hasattr(module, "pad_end"):
            module.pad_end = FRAMINGS[framing]
            applied.append(f"{name or '<loss>'}:{type(module).__name__}")
    return applied


def distance_table(distance_oct: np.ndarray, converged: np.ndarray, edges: list[float]) -> list[dict]:
    """Convergence rate per initial-distance bin.

    Parameters
    ----------
    distance_oct : ndarray, shape (n,)
        ``|log2(f0_init / f0_true)|`` in octaves.
    converged : ndarray of bool, shape (n,)
    edges : list of float
        Bin edges in octaves; bin k is ``[edges[k], edges[k+1])`` (the last
        one closed); distances beyond the last edge go to the last bin.

    Returns
    -------
    list of dict
        ``{"lo", "hi", "n", "n_converged", "rate"}`` per bin (``rate`` in %,
        None for an empty bin).
    """
    d = np.asarray(distance_oct, dtype=np.float64)
    c = np.asarray(converged, dtype=bool)
    idx = np.clip(np.searchsorted(edges, d, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for k in range(len(edges) - 1):
        sel = idx == k
        n = int(sel.sum())
        nc = int(c[sel].sum())
        rows.append({"lo": edges[k], "hi": edges[k + 1], "n": n, "n_converged": nc,
                     "rate": (100.0 * nc / n) if n else None})
    return rows


def _r(x: float, digits: int = 4) -> float:
    return float(round(float(x), digits))


@TASKS.register("synth-fit", description="Gradient-descent f0 estimation of synthetic harmonic tones with a "
                                         "registry loss, no network (RPA, RCA, LSD, convergence vs distance)")
class SynthFitTask:
    """Fit the synthesizer's controls to each test example (see the module docstring)."""

    name = "synth-fit"

    def plan(self, cfg: Any, explicit: frozenset = frozenset()) -> list[RecordPlan]:
        """One record per framing of ``task.framings``, key ``<amplitudes>-<framing>``."""
        fit = parse_fit_config(_plain(cfg.task.get("fit")))
        return [RecordPlan(key=f"{fit['amplitudes']}-{framing}", overrides={"framing": framing})
                for framing in parse_framings(_plain(cfg.task.get("framings", list(FRAMINGS))))]

    def run(self, ctx: RunContext) -> TaskResult:
        """Fit the synthesizer to every test example of one record; metrics per loss and framing."""
        t_start = time.perf_counter()
        cfg = _plain(ctx.cfg)
        task_cfg = cfg.get("task", {}) or {}
        fit = parse_fit_config(task_cfg.get("fit"))
        framing = task_cfg.get("framing")
        if framing is None:  # called without the runner's plan: the only framing asked for
            framings = parse_framings(task_cfg.get("framings", list(FRAMINGS)))
            if len(framings) != 1:
                raise ValueError("synth-fit runs one framing per record; set task.framing or let the runner "
                                 "plan one record per entry of task.framings")
            framing = framings[0]
        framing = parse_framings(framing)[0]
        loss_name = cfg.get("loss")
        if loss_name in (None, "-"):
            loss_name = task_cfg.get("default_loss")
        if loss_name in (None, "-"):
            raise ValueError("task synth-fit fits with a loss; pass one, e.g. loss=sot-2048 or loss=mss-lin")
        model_name = cfg.get("model") or task_cfg.get("default_model") or "harmonic-synth"
        data_cfg = dict(task_cfg.get("data") or {})
        _unknown("data", data_cfg, SyntheticConfig.__dataclass_fields__)
        if "split" in data_cfg:
            data_cfg["split"] = tuple(data_cfg["split"])
        data_cfg = SyntheticConfig(**data_cfg)
        loss_settings = dict(task_cfg.get("loss_settings") or {})
        device = torch.device(ctx.device)
        seed = int(ctx.seed)
        log = ctx.log

        ds = make_synthetic_dataset(data_cfg)
        split = ds.split(fit["split"])
        n = len(split) if fit["n_fit"] is None else min(fit["n_fit"], len(split))
        if fit["n_fit"] is not None and fit["n_fit"] > len(split):
            log.warning("synth-fit: n_fit=%d > %d examples in the %s split; fitting all", fit["n_fit"],
                        len(split), fit["split"])
        target = torch.from_numpy(split.audio[:n]).to(device)
        f0_true = split.f0_hz[:n]
        true_amps = split.amplitudes[:n] * split.gain[:n, None]
        f0_init = initial_f0(n, seed, fit["init_min_hz"], fit["init_max_hz"])
        learned = fit["amplitudes"] == "learned"
        amps0 = np.full_like(true_amps, fit["amplitude_init"]) if learned else true_amps
        n_frames = data_cfg.n_samples // 256 if data_cfg.n_samples % 256 == 0 else 1
        model = MODELS.get(model_name)(f0_init_hz=torch.from_numpy(f0_init).float(),
                                       amplitudes=torch.from_numpy(amps0).float(),
                                       n_samples=data_cfg.n_samples, sample_rate=data_cfg.sample_rate,
                                       n_frames=n_frames, learn_amplitudes=learned).to(device)
        loss_fn = LOSSES.get(loss_name)(**loss_settings)
        if isinstance(loss_fn, torch.nn.Module):
            loss_fn = loss_fn.to(device)
        applied = apply_framing(loss_fn, framing)
        if not applied:
            raise ValueError(f"loss {loss_name!r} has no STFT term with a pad_end setting, so the framing "
                             f"{framing!r} cannot be applied; use fit.framings=[pad-end] for it")
        groups = [{"params": [model.log2_f0], "lr": fit["lr"]}]
        if learned:
            groups.append({"params": [model.log_amplitudes], "lr": fit["amplitude_lr"]})
        optimizer = torch.optim.Adam(groups)
        log.info("synth-fit: %d %s examples, loss %s (%s framing: %s), amplitudes %s, %d steps, seed %d",
                 n, fit["split"], loss_name, framing, ", ".join(applied), fit["amplitudes"], fit["steps"], seed)

        tol = fit["converged_cents"]
        log2_true = torch.from_numpy(np.log2(f0_true)).to(device)
        curves: dict[str, list] = {"step": [], "loss": [], "converged": []}
        t0 = time.perf_counter()
        for step in range(fit["steps"]):
            loss = loss_fn(model(), target)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise FloatingPointError(f"synth-fit: the {loss_name} loss became {value} at step {step + 1}; "
                                         f"lower task.fit.lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done = step + 1
            if done % fit["log_every"] == 0 or done == fit["steps"] or step == 0:
                with torch.no_grad():
                    cents = 1200.0 * (model.log2_f0.double() - log2_true).abs()
                curves["step"].append(done)
                curves["loss"].append(value)
                curves["converged"].append(_r(100.0 * float((cents < tol).double().mean()), 3))
        fit_s = time.perf_counter() - t0

        with torch.no_grad():
            audio = model()
            lsd = log_spectral_distance(target, audio, reduction="none").double().cpu().numpy()
            f0_final = model.f0_hz.double().cpu().numpy()
            final_amps = model.amplitudes.double().cpu().numpy()
        error_cents = 1200.0 * np.log2(f0_final / f0_true)
        converged = np.abs(error_cents) < tol
        distance = np.abs(np.log2(f0_init / f0_true))
        pm = pitch_metrics(f0_true, f0_final[:, None])
        table = distance_table(distance, converged, fit["distance_bins"])
        metrics = {"rpa": pm["rpa"], "rca": pm["rca"], "od": pm["od"], "lsd_db": float(lsd.mean()),
                   "converged": 100.0 * float(converged.mean()),
                   "median_abs_error_cents": float(np.median(np.abs(error_cents)))}
        per_item = {}
        for i, idx in enumerate(split.indices[:n]):
            per_item[f"{int(idx):04d}"] = {
                "f0_true_hz": _r(f0_true[i], 3), "f0_init_hz": _r(f0_init[i], 3),
                "f0_final_hz": _r(f0_final[i], 3), "distance_oct": _r(distance[i], 4),
                "error_cents": _r(error_cents[i], 2), "converged": bool(converged[i]),
                "lsd_db": _r(lsd[i], 3), "n_harmonics": int(split.n_harmonics[i])}
            if learned:
                per_item[f"{int(idx):04d}"]["amplitudes"] = [_r(a, 4) for a in final_amps[i]]
        total_s = time.perf_counter() - t_start
        log.info("synth-fit: %s %s: RPA %.1f %%, RCA %.1f %%, converged %.1f %%, LSD %.2f dB^2 (%.1f s)",
                 loss_name, framing, metrics["rpa"], metrics["rca"], metrics["converged"], metrics["lsd_db"],
                 total_s)
        extra = {
            "framing": {"name": framing, "pad_end": FRAMINGS[framing], "applied_to": applied},
            "fit": {k: v for k, v in fit.items()},
            "amplitudes": fit["amplitudes"],
            "convergence_vs_distance": table,
            "curves": curves,
            "data": {**data_cfg.to_dict(), "fitted_split": fit["split"], "n_fitted": n},
            "loss": {"name": loss_name, "settings": loss_settings},
            "init": {"distribution": "log-uniform", "low_hz": fit["init_min_hz"], "high_hz": fit["init_max_hz"],
                     "seed_sequence": [seed, 0x5F17]},
            "timing": {"fit_s": _r(fit_s), "step_s": _r(fit_s / fit["steps"], 5), "total_s": _r(total_s)},
            "device": str(device), "torch_threads": torch.get_num_threads(),
            "units": {"rpa": "% of examples within 50 cents (one f0 per example)", "rca": "%",
                      "od": "octaves, negative = estimate below the truth (paper 000 Table 1 sign)",
                      "lsd_db": "dB^2 (mean squared dB difference)", "converged": "% within converged_cents",
                      "distance_oct": "|log2(f0_init / f0_true)|"},
        }
        return TaskResult(metrics=metrics, main_score="rpa", direction="max", per_item=per_item, extra=extra)
