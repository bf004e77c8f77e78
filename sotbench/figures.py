"""Figures reproduced from the papers.

:func:`loss_landscape` is Figure 2 of Torres et al. (2024): spectral losses
between a 4000 Hz reference sinusoid and a frequency-shifted copy (16 kHz,
4096 samples), each curve normalized to [0, 1] by its maximum over the
shifts.  Vertical losses (single-scale and multi-scale spectral distances)
saturate as soon as the spectral peaks stop overlapping; the horizontal SOT
loss grows with the shift.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch

from sotbench.dsp.stft import spectrogram
from sotbench.losses.mss import DEFAULT_SCALES
from sotbench.losses.sot import SOTLoss
from sotbench.progress import progress as progress_bar

__all__ = ["loss_landscape", "landscape_values"]

SAMPLE_RATE = 16000
N_SAMPLES = 4096
REFERENCE_HZ = 4000.0
MAX_SHIFT_HZ = 2500.0
SS_SCALE = 1024

#: CSV/plot columns: key -> label (all normalized to [0, 1] by their maximum)
CURVES = {
    "sot_w2": r"$\mathcal{W}_2$ SOT (flattop 2048, power)",
    "ss_l1": r"$L_1$ SS (1024)",
    "mss_l1": r"$L_1$ MSS (lin, 64..2048)",
    "ss_l2": r"$L_2$ SS (1024)",
    "mss_l2": r"$L_2$ MSS (lin, 64..2048)",
    "mss_log_l1": r"$L_1$ MSS (log)",
}


def _sines(freqs: np.ndarray) -> torch.Tensor:
    t = torch.arange(N_SAMPLES, dtype=torch.float64) / SAMPLE_RATE
    f = torch.as_tensor(freqs, dtype=torch.float64)[:, None]
    return torch.sin(2 * math.pi * f * t)


def _vertical(pred: torch.Tensor, ref: torch.Tensor, scale: int) -> dict[str, torch.Tensor]:
    kw = dict(window="hann", center=False, pad_end=True, normalized=True)
    sp = spectrogram(pred, scale, scale // 4, **kw)
    sr = spectrogram(ref, scale, scale // 4, **kw)
    diff = sp - sr
    log_diff = torch.log(sp.clamp_min(1e-5)) - torch.log(sr.clamp_min(1e-5))
    return {"l1": diff.abs().mean((-1, -2)), "l2": diff.square().mean((-1, -2)),
            "log_l1": log_diff.abs().mean((-1, -2))}


@torch.no_grad()
def landscape_values(shifts_hz: np.ndarray, *, chunk: int = 128,
                     progress: bool = False) -> dict[str, np.ndarray]:
    """Raw (unnormalized) loss values for each frequency shift.

    Parameters
    ----------
    shifts_hz : ndarray, shape (S,)
        Frequency shifts in Hz applied to the 4000 Hz reference.
    chunk : int
        Signals per batch.
    progress : bool
        Show a progress bar (tqdm, on stderr).

    Returns
    -------
    dict of str -> ndarray (S,)
        ``sot_w2`` (W_2, the distance, in normalized-frequency units),
        ``sot_w2_squared`` (W_2^2, the training loss), ``ss_l1``, ``ss_l2``
        (single scale 1024), ``mss_l1``, ``mss_l2``, ``mss_log_l1`` (sums over
        the scales 2048..64 of per-scale means).
    """
    shifts_hz = np.asarray(shifts_hz, dtype=np.float64)
    sot = SOTLoss(2048, 256, window="flattop", spectrum="power", cutoff=True)
    out: dict[str, list[np.ndarray]] = {k: [] for k in
                                        ("sot_w2", "sot_w2_squared", *[c for c in CURVES if c != "sot_w2"])}
    starts = progress_bar(range(0, len(shifts_hz), chunk), progress, "loss landscape", unit="chunk",
                          leave=True)
    for start in starts:
        sh = shifts_hz[start:start + chunk]
        pred = _sines(REFERENCE_HZ + sh)
        ref = _sines(np.full(len(sh), REFERENCE_HZ))
        w2sq = sot.frame_losses(pred, ref).mean(-1)
        out["sot_w2_squared"].append(w2sq.numpy())
        out["sot_w2"].append(torch.sqrt(w2sq).numpy())
        ss = _vertical(pred, ref, SS_SCALE)
        out["ss_l1"].append(ss["l1"].numpy())
        out["ss_l2"].append(ss["l2"].numpy())
        mss = {"l1": 0.0, "l2": 0.0, "log_l1": 0.0}
        for scale in DEFAULT_SCALES:
            v = _vertical(pred, ref, scale)
            mss = {k: mss[k] + v[k] for k in mss}
        out["mss_l1"].append(mss["l1"].numpy())
        out["mss_l2"].append(mss["l2"].numpy())
        out["mss_log_l1"].append(mss["log_l1"].numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def loss_landscape(out_dir: Path, *, n_points: int = 1001, progress: bool = True) -> dict[str, Path]:
    """Write Figure 2 of Torres et al. (2024) as PNG and its data as CSV.

    Parameters
    ----------
    out_dir : Path
        Folder to write ``loss-landscape.png`` and ``loss-landscape.csv`` to
        (created if missing).
    n_points : int, default 1001
        Number of frequency shifts, evenly spaced on [-2500, 2500] Hz (odd
        numbers include the zero shift).
    progress : bool, default True
        Show a progress bar.

    Returns
    -------
    dict
        ``{"png": Path, "csv": Path}``.

    Notes
    -----
    The CSV has one row per shift: ``shift_hz``, ``frequency_hz``, the
    normalized curves (``CURVES`` keys, each divided by its maximum) and the
    raw values (``raw_`` prefix, plus ``raw_sot_w2_squared``).  SOT is plotted
    as W_2 (the distance), which grows linearly with the shift as in the
    paper's figure; its square is the training loss.
    """
    if not isinstance(n_points, (int, np.integer)) or n_points < 3:
        raise ValueError(f"n_points={n_points!r} must be an integer >= 3")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shifts = np.linspace(-MAX_SHIFT_HZ, MAX_SHIFT_HZ, int(n_points))
    raw = landscape_values(shifts, progress=progress)
    norm = {k: raw[k] / raw[k].max() for k in CURVES}

    csv_path = out_dir / "loss-landscape.csv"
    raw_keys = [*CURVES, "sot_w2_squared"]
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["shift_hz", "frequency_hz", *CURVES, *[f"raw_{k}" for k in raw_keys]])
        for i, sh in enumerate(shifts):
            writer.writerow([f"{sh:.6f}", f"{REFERENCE_HZ + sh:.6f}",
                             *[f"{norm[k][i]:.8g}" for k in CURVES],
                             *[f"{raw[k][i]:.8g}" for k in raw_keys]])

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    khz = shifts / 1000.0
    styles = {"sot_w2": dict(color="darkgreen", ls="--", lw=2),
              "ss_l1": dict(color="tab:red", lw=1.2), "mss_l1": dict(color="black", ls="-.", lw=1.4),
              "ss_l2": dict(color="tab:red", ls="--", lw=1.2),
              "mss_l2": dict(color="black", ls="-.", lw=1.4),
              "mss_log_l1": dict(color="tab:blue", lw=1.2, alpha=0.8)}
    for ax, keys in zip(axes, (("sot_w2", "ss_l1", "mss_l1"), ("ss_l2", "mss_l2", "mss_log_l1")), strict=True):
        for k in keys:
            ax.plot(khz, norm[k], label=CURVES[k], **styles[k])
        ax.set_xlabel("Frequency difference (kHz)")
        ax.legend(loc="lower left", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Normalized loss [0-1]")
    fig.suptitle(f"Spectral losses vs. frequency shift of a {REFERENCE_HZ:.0f} Hz sinusoid "
                 f"({SAMPLE_RATE // 1000} kHz, {N_SAMPLES} samples)", fontsize=10)
    png_path = out_dir / "loss-landscape.png"
    fig.savefig(png_path, dpi=150)
    return {"png": png_path, "csv": csv_path}
