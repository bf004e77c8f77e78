r"""One-dimensional Wasserstein distances between batched discrete measures.

The p-Wasserstein distance between two measures on the real line has the
closed form (Peyré & Cuturi 2019, Remark 2.30)

.. math::

    W_p(\alpha, \beta)^p = \int_0^{M} |F_\alpha^{-1}(r) - F_\beta^{-1}(r)|^p \, dr ,

where :math:`F^{-1}(r) = \inf\{x : F(x) \ge r\}` is the generalized quantile
function.  For discrete measures both quantile functions are step functions
whose steps sit at the cumulative weights ("levels") of either measure, so the
integral is an exact finite sum over the merged, sorted levels.  This is the
same quantity POT's ``ot.wasserstein_1d`` computes, with the same conventions:

* the integral runs up to :math:`M = \max(\text{mass}(u), \text{mass}(v))`;
  measures are *not* renormalized, and a measure whose mass is exhausted keeps
  its last support point as quantile (``searchsorted`` clamped to the last
  index, POT and the paper's code alike);
* the returned value is :math:`W_p^p` (no p-th root) unless ``root=True``
  (or :func:`wasserstein_distance`) is used.

Implementation
--------------
Both cumulative sums are already sorted, so the merged level sequence is a
linear two-pointer merge: no sort, no binary search.  On CPU the merge runs in
a compiled (numba, ``cache=True``) kernel, branch-free and four rows at a time,
which accumulates the value and records, for each level, the partner support
point of the interval ending there; the closed-form gradient follows from
these in one more pass per measure:

.. math::

    \frac{\partial W_p^p}{\partial r_k} = c_k - c_{k+1}, \qquad
    c_k = |x_{i_u(k)} - y_{i_v(k)}|^p ,

where :math:`r_k` is the k-th merged level and :math:`c_k` the cost of the
interval :math:`(r_{k-1}, r_k]` (:math:`c_{K+1} = 0`; with truncation at
``max_level`` a level above it has gradient 0).  A level belongs to one
measure's cumulative sum, and the gradient with respect to a weight is the
sum of the gradients of its level and all levels above: the gradient pass
runs from the top level down so these sums accumulate on the way (and is
skipped for a measure whose gradient is not wanted).  At tied levels
(a subgradient choice) the level of ``u`` is ordered first.  Rows can be split
over threads for large inputs (:func:`set_num_threads`, default 1; the result
does not depend on the split).  Gradients with respect to the positions use a second,
general kernel.  Other devices (and ``backend="torch"``) use a differentiable
torch formulation (sorted merged levels + ``searchsorted``), which is also a
cross-check in the test suite.

The compiled kernels live in :mod:`sotbench.losses._wasserstein_kernels`;
measured speed against POT and sot-loss is in ``reports/performance.md``
(rendered from one asv run, ``docs/performance.md``).

Zero-mass rows
--------------
A row where *both* measures have zero total mass has :math:`W_p^p = 0` and a
zero gradient (by definition).  A row where only one measure is empty follows
the general convention above: the empty measure's quantile function is its
last support point, so the value is the cost of moving the other measure
there; values and gradients are finite.  No input produces NaN.
"""
from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
import torch

from sotbench.losses._checks import compute_dtype
from sotbench.losses._wasserstein_kernels import (
    LANES,
    LEVELS_KERNELS,
    merge_kernel_jit,
    pmode,
    scale_rows,
)

__all__ = ["wasserstein_1d", "wasserstein_distance", "numba_available", "set_num_threads"]


def numba_available() -> bool:
    """Whether the compiled CPU kernel can be used (always: numba is a dependency)."""
    return True



_STATUS_TEXT = {
    1: ("u_weights", "NaN/Inf"), 2: ("u_weights", "negative"),
    3: ("v_weights", "NaN/Inf"), 4: ("v_weights", "negative"),
    5: ("the weights", "overflowing"),
}


def _raise_status(status: np.ndarray) -> None:
    rows = np.nonzero(status)[0]
    code = int(status[rows[0]])
    name, what = _STATUS_TEXT[code]
    fix = {"NaN/Inf": "pass finite weights",
           "negative": "weights of a measure must be >= 0 (clamp, or use |.| / power spectra)",
           "overflowing": "their sum is infinite; rescale the weights"}[what]
    raise ValueError(f"{name} holds {what} values in {len(rows)} row(s) (first: flattened "
                     f"row {int(rows[0])}); {fix}")


_MIN_WORK_PER_THREAD = 1 << 16  # (rows x support points) below which threads do not pay
_THREADS = int(os.environ.get("SOTBENCH_WASSERSTEIN_THREADS", "1"))


def set_num_threads(threads: int) -> None:
    """Threads the CPU kernel may split rows over (default 1).

    ``0`` follows ``torch.get_num_threads()``.  The default is one thread:
    on a shared, oversubscribed machine the row split waits for the slowest
    thread (see ``docs/performance.md``), while on an idle
    multi-core machine more threads divide the time.  The environment
    variable ``SOTBENCH_WASSERSTEIN_THREADS`` sets the initial value.  Results
    do not depend on the setting.
    """
    global _THREADS
    if not isinstance(threads, int) or threads < 0:
        raise ValueError(f"threads={threads!r} must be an integer >= 0 (0: torch's setting)")
    _THREADS = threads
_POOL: ThreadPoolExecutor | None = None
_POOL_KEY: tuple[int, int] = (0, 0)  # (process id, threads): a forked child builds its own pool


def _run_chunked(run, n_rows: int, row_work: int) -> None:
    """Run ``run(lo, hi)`` over row chunks on up to :func:`set_num_threads` threads.

    The compiled kernel releases the GIL; rows are independent, so the result
    does not depend on the number of threads.
    """
    global _POOL, _POOL_KEY
    wanted = _THREADS or torch.get_num_threads()
    threads = min(wanted, max(1, (n_rows * row_work) // _MIN_WORK_PER_THREAD), n_rows)
    if threads <= 1:
        run(0, n_rows)
        return
    key = (os.getpid(), threads)
    if _POOL is None or _POOL_KEY != key:
        if _POOL is not None and _POOL_KEY[0] == key[0]:
            _POOL.shutdown(wait=False)
        _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sotbench-w1d")
        _POOL_KEY = key
    bounds = np.linspace(0, n_rows, threads + 1).astype(int)
    futures = [_POOL.submit(run, int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    for f in futures:
        f.result()


class _MergeW(torch.autograd.Function):
    """W_p^p rows via the compiled merge, with the closed-form backward.

    Returns ``(w, mass)``: W_p^p per row and the (R, 2) total masses (not
    differentiable; used for the unequal-mass warning).
    """

    @staticmethod
    def forward(ctx, u, v, xu, xv, p, level_max):  # noqa: D102 - see module doc
        want_x = ctx.needs_input_grad[2] or ctx.needs_input_grad[3]
        n_rows, n = u.shape
        m = v.shape[1]
        un, vn = u.detach().numpy(), v.detach().numpy()
        xun, xvn = xu.detach().numpy(), xv.detach().numpy()
        out = np.empty(n_rows, dtype=np.float64)
        mass = np.empty((n_rows, 2), dtype=np.float64)
        # a measure whose gradient is not wanted gets one scratch row (discarded)
        keep_a = ctx.needs_input_grad[0] or want_x
        keep_b = ctx.needs_input_grad[1] or want_x
        ga = np.empty((n_rows if keep_a else 1, n), dtype=un.dtype)
        gb = np.empty((n_rows if keep_b else 1, m), dtype=un.dtype)
        gxu = np.empty((n_rows, n) if want_x else (0, 0), dtype=un.dtype)
        gxv = np.empty((n_rows, m) if want_x else (0, 0), dtype=un.dtype)
        status = np.zeros(n_rows, dtype=np.int8)
        xu_pad = np.concatenate((xun, xun[:, -1:]), axis=1)
        xv_pad = xu_pad if xv is xu else np.concatenate((xvn, xvn[:, -1:]), axis=1)
        kernel = LEVELS_KERNELS[(pmode(p), math.isfinite(level_max),
                                 xv_pad is xu_pad and xu_pad.shape[0] == 1)]

        def run(lo: int, hi: int) -> None:
            # scratch per call: levels, partner points (LANES rows each); unwanted gradients
            kernel(un[lo:hi], vn[lo:hi],
                   xu_pad if xu_pad.shape[0] == 1 else xu_pad[lo:hi],
                   xv_pad if xv_pad.shape[0] == 1 else xv_pad[lo:hi],
                   float(p), float(level_max), out[lo:hi], mass[lo:hi], status[lo:hi],
                   ga[lo:hi] if keep_a else np.empty((1, n), dtype=un.dtype),
                   gb[lo:hi] if keep_b else np.empty((1, m), dtype=un.dtype), keep_a, keep_b,
                   np.empty((LANES, n + 2)), np.empty((LANES, m + 2)),
                   np.empty((LANES, n + 2)), np.empty((LANES, m + 2)))

        _run_chunked(run, n_rows, n + m)
        if status.any():
            _raise_status(status)
        if want_x:  # general kernel: also the position gradients
            merge_kernel_jit(un, vn, xun, xvn, float(p), pmode(p), float(level_max),
                              True, True, out, ga, gb, gxu, gxv)
        ctx.shared = (xu.shape[0] == 1, xv.shape[0] == 1)
        ctx.grads = (ga, gb, gxu, gxv)  # numpy arrays of this call only (never modified)
        ctx.dtype = u.dtype
        mass_t = torch.from_numpy(mass)
        ctx.mark_non_differentiable(mass_t)
        return torch.from_numpy(out).to(u.dtype), mass_t

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out, _grad_mass):  # noqa: D102
        ga, gb, gxu, gxv = ctx.grads
        g = grad_out.to(ctx.dtype).contiguous()
        grads: list[torch.Tensor | None] = [None] * 6
        # compiled, single-threaded products: no OpenMP region on the hot path
        g_np = g.numpy()
        for k, gw in ((0, ga), (1, gb)):
            if ctx.needs_input_grad[k]:
                prod = np.empty_like(gw)
                scale_rows(gw, g_np, prod)
                grads[k] = torch.from_numpy(prod)
        for k, (gx, shared) in enumerate(((gxu, ctx.shared[0]), (gxv, ctx.shared[1]))):
            if ctx.needs_input_grad[2 + k]:
                full = torch.from_numpy(gx) * g.unsqueeze(-1)
                grads[2 + k] = full.sum(0, keepdim=True) if shared else full
        return tuple(grads)


def _unequal_mass(mass: torch.Tensor) -> bool:
    """Whether a row of the (R, 2) masses differs by more than 0.1 % of the larger one."""
    if mass.device.type == "cpu":  # numpy: cheaper than torch calls for small arrays
        m = mass.numpy()
        return bool((np.abs(m[:, 0] - m[:, 1]) > 1e-3 * np.maximum(m[:, 0], m[:, 1])).any())
    mu, mv = mass[:, 0], mass[:, 1]
    return bool(((mu - mv).abs() > 1e-3 * torch.maximum(mu, mv)).any())


def _merge_torch(u, v, xu, xv, p: float, level_max: float) -> torch.Tensor:
    """Differentiable torch reference (POT's formulation + truncation), any device."""
    n, m = u.shape[-1], v.shape[-1]
    cu = torch.cumsum(u, -1)
    cv = torch.cumsum(v, -1)
    levels, _ = torch.sort(torch.cat((cu, cv), -1), -1)
    iu = torch.searchsorted(cu.detach().contiguous(), levels.detach().contiguous()).clamp_(max=n - 1)
    iv = torch.searchsorted(cv.detach().contiguous(), levels.detach().contiguous()).clamp_(max=m - 1)
    qu = torch.gather(xu.expand(u.shape[0], n), -1, iu)
    qv = torch.gather(xv.expand(v.shape[0], m), -1, iv)
    if math.isfinite(level_max):
        levels = levels.clamp(max=level_max)
    delta = torch.diff(levels, dim=-1, prepend=torch.zeros_like(levels[..., :1]))
    diff = (qu - qv).abs()
    cost = diff if p == 1.0 else diff.pow(p)
    out = (delta * cost).sum(-1)
    empty = (cu[..., -1] == 0) & (cv[..., -1] == 0)
    if bool(empty.any()):
        out = torch.where(empty, torch.zeros_like(out), out)
    return out


# --------------------------------------------------------------------------- validation
def _as_float(x, name: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if dtype is not None:
        return x.to(dtype)
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    return x


def _check_finite_nonneg(w: torch.Tensor, name: str) -> None:
    lo_t, hi_t = torch.aminmax(w.detach())
    lo, hi = float(lo_t), float(hi_t)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = ~torch.isfinite(w.detach())
        idx = tuple(int(k) for k in torch.nonzero(bad)[0])
        raise ValueError(
            f"{name} holds NaN/Inf values ({int(bad.sum())}, first at index {idx}: "
            f"{float(w.detach()[idx])}); pass finite weights")
    if lo < 0:
        idx = tuple(int(k) for k in torch.nonzero(w.detach() < 0)[0])
        raise ValueError(
            f"{name} holds negative values (min {lo:.6g} at index {idx}); weights of a "
            f"measure must be >= 0 (clamp or take |.| / power spectra first)")


def _prepare_positions(x, name: str, batch_shape: torch.Size, size: int,
                       dtype: torch.dtype, device) -> torch.Tensor:
    """Return positions as (1, size) or (R, size), validated (finite)."""
    x = _as_float(x, name).to(device=device, dtype=dtype)
    if x.ndim == 0 or x.shape[-1] != size:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)} but the weights have {size} support points "
            f"on their last axis; pass positions of shape ({size},) or (..., {size})")
    if not bool(torch.isfinite(x.detach()).all()):
        raise ValueError(f"{name} holds NaN/Inf positions; pass finite positions")
    if x.ndim == 1:
        return x.unsqueeze(0)
    try:
        x = torch.broadcast_to(x, tuple(batch_shape) + (size,))
    except RuntimeError:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)}, which does not broadcast to the weights' "
            f"batch shape {tuple(batch_shape)} + ({size},)") from None
    return x.reshape(-1, size)


def wasserstein_1d(
    u_weights,
    v_weights,
    positions,
    p: float = 2.0,
    *,
    v_positions=None,
    max_level: float | None = None,
    root: bool = False,
    backend: Literal["auto", "numba", "torch"] = "auto",
    warn_unequal_mass: bool = True,
) -> torch.Tensor:
    r"""Batched 1-D optimal-transport cost :math:`W_p^p` between discrete measures.

    Parameters
    ----------
    u_weights : Tensor, shape (..., n)
        Non-negative weights of the first measures (one measure per row; any
        leading batch shape).  Not renormalized.
    v_weights : Tensor, shape (..., m)
        Non-negative weights of the second measures; same leading shape as
        ``u_weights``.  ``m == n`` unless ``v_positions`` is given.
    positions : Tensor, shape (n,) or (..., n)
        Support points of ``u`` (and of ``v`` when ``v_positions`` is None, the
        "common support" case of spectra).  Units are the caller's (e.g. bin
        frequency scaled to [0, 1]); the cost scales as ``units**p``.  Unsorted
        supports are sorted together with their weights.
    p : float, default 2
        Order of the ground cost :math:`|x - y|^p`; any real ``p >= 1``.
    v_positions : Tensor, shape (m,) or (..., m), optional
        Support points of ``v`` when they differ from ``positions`` (as POT).
    max_level : float, optional
        Truncate the level integral at ``max_level`` (integrate over
        :math:`r \in (0, \min(M, \text{max\_level})]`).  With ``v`` normalized to
        mass 1 and ``u`` divided by ``v``'s mass, ``max_level=1`` is the
        frequency cutoff of Torres et al. (2024): prediction mass beyond the
        target's total is ignored.  None (default) integrates to the larger mass,
        as POT does.
    root : bool, default False
        Return :math:`W_p` (the p-th root) instead of :math:`W_p^p`.  The root's
        gradient at zero distance is defined as 0 (not inf).
    backend : {"auto", "numba", "torch"}
        "auto" uses the compiled merge on CPU and the torch formulation on other
        devices.
    warn_unequal_mass : bool, default True
        Warn when, without ``max_level``, the two measures of a row have
        different total masses (legal, but then this is not a distance between
        probability measures).

    Returns
    -------
    Tensor, shape (...)
        :math:`W_p^p` per row (or :math:`W_p` with ``root=True``), in
        ``position units ** p``, dtype of the weights (float16/bfloat16 weights
        are computed in float32 and the result cast back).  An empty batch
        (a zero-size leading axis) gives an empty result.  Differentiable in
        the weights and the positions.

    Raises
    ------
    ValueError
        NaN/Inf or negative weights, NaN/Inf positions, mismatched shapes, an
        empty support, ``p < 1`` or a non-finite ``p``, ``max_level <= 0``.

    Notes
    -----
    A row whose two measures both have zero mass has value 0 and zero gradient.
    A row where only one measure is empty treats that measure's quantile
    function as its last support point (POT's convention).  See the module
    docstring for the algorithm and the tie convention of the gradient.

    Examples
    --------
    >>> x = torch.linspace(0, 1, 5)
    >>> a = torch.tensor([1., 0, 0, 0, 0]); b = torch.tensor([0., 0, 1, 0, 0])
    >>> float(wasserstein_1d(a, b, x, p=2))  # mass moved by 0.5 -> 0.5**2
    0.25
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p) or p < 1:
        raise ValueError(f"p={p!r} is not a valid order; pass a real number p >= 1")
    p = float(p)
    if max_level is None:
        level_max = math.inf
    else:
        level_max = float(max_level)
        if not (level_max > 0):
            raise ValueError(f"max_level={max_level!r} must be > 0 (or None for no truncation)")
    if backend not in ("auto", "numba", "torch"):
        raise ValueError(f"backend={backend!r}; use 'auto', 'numba' or 'torch'")

    u = _as_float(u_weights, "u_weights")
    v = _as_float(v_weights, "v_weights")
    out_dtype = torch.promote_types(u.dtype, v.dtype)
    dtype = compute_dtype(out_dtype)  # float16/bfloat16: computed in float32
    u, v = u.to(dtype), v.to(dtype)
    if u.device != v.device:
        raise ValueError(f"u_weights is on {u.device} but v_weights on {v.device}; "
                         f"move both to one device")
    if u.ndim == 0 or v.ndim == 0:
        raise ValueError("weights must have at least one axis (the support axis)")
    if u.shape[:-1] != v.shape[:-1]:
        raise ValueError(
            f"u_weights has batch shape {tuple(u.shape[:-1])} but v_weights has "
            f"{tuple(v.shape[:-1])}; pass one pair of measures per row")
    n, m = u.shape[-1], v.shape[-1]
    if n == 0 or m == 0:
        raise ValueError(f"empty support (n={n}, m={m}); each measure needs >= 1 point")
    if v_positions is None and m != n:
        raise ValueError(
            f"u_weights has {n} support points but v_weights has {m}; with a common "
            f"support both must match, or pass v_positions for distinct supports")

    batch_shape = u.shape[:-1]
    n_rows = int(np.prod(batch_shape)) if len(batch_shape) else 1
    u2 = u.reshape(n_rows, n)
    v2 = v.reshape(n_rows, m)
    xu = _prepare_positions(positions, "positions", batch_shape, n, dtype, u.device)
    xv = xu if v_positions is None else _prepare_positions(
        v_positions, "v_positions", batch_shape, m, dtype, u.device)

    # Sort supports that are not already non-decreasing (POT's require_sort); a
    # shared support sorts both measures with one permutation.
    def _order(x):
        if x.shape[-1] > 1 and not bool((x[..., 1:] >= x[..., :-1]).all()):
            return torch.argsort(x.detach(), dim=-1, stable=True)
        return None

    def _apply(order, w):
        return torch.gather(w, -1, order.expand(w.shape[0], -1))

    order_u = _order(xu)
    if order_u is not None:
        u2 = _apply(order_u, u2)
        if v_positions is None:
            v2 = _apply(order_u, v2)
        xu = torch.gather(xu, -1, order_u)
    if v_positions is None:
        xv = xu
    else:
        order_v = _order(xv)
        if order_v is not None:
            v2 = _apply(order_v, v2)
            xv = torch.gather(xv, -1, order_v)

    use_numba = (backend == "numba" or (backend == "auto" and u.device.type == "cpu")) \
        and u.device.type == "cpu"
    if backend == "numba" and not use_numba:
        raise ValueError("backend='numba' needs CPU tensors and the numba package")
    if use_numba:  # the kernel validates the weights in its first pass
        out, mass = _MergeW.apply(u2.contiguous(), v2.contiguous(), xu.contiguous(),
                                  xv.contiguous(), p, level_max)
    else:
        _check_finite_nonneg(u2, "u_weights")
        _check_finite_nonneg(v2, "v_weights")
        out = _merge_torch(u2, v2, xu, xv, p, level_max)
        mass = torch.stack((u2.detach().sum(-1), v2.detach().sum(-1)), -1).double()

    if warn_unequal_mass and not math.isfinite(level_max):
        if _unequal_mass(mass):
            warnings.warn(
                "wasserstein_1d: some rows have different total masses for u and v; "
                "the result integrates to the larger mass with the lighter measure's "
                "quantile held at its last support point (POT's convention). Normalize "
                "the weights, or pass max_level, if that is not intended.",
                stacklevel=2)
    out = out.reshape(batch_shape)
    if root:
        out = _safe_root(out, p)
    return out.to(out_dtype)


def _safe_root(w: torch.Tensor, p: float) -> torch.Tensor:
    """``w ** (1/p)`` with a zero (not infinite) gradient at ``w == 0``."""
    if p == 1.0:
        return w
    pos = w > 0
    tiny = torch.finfo(w.dtype).tiny
    return torch.where(pos, w.clamp_min(tiny).pow(1.0 / p), torch.zeros_like(w))


def wasserstein_distance(u_weights, v_weights, positions, p: float = 2.0, **kwargs) -> torch.Tensor:
    r"""The p-Wasserstein distance :math:`W_p` (p-th root of :func:`wasserstein_1d`).

    Same parameters as :func:`wasserstein_1d` (``root`` is forced to True).
    Returns a tensor of shape (...) in position units.
    """
    kwargs["root"] = True
    return wasserstein_1d(u_weights, v_weights, positions, p, **kwargs)
