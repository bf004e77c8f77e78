r"""W1 on the circle: optimal transport of periodic measures (pitch class, chroma, phase).

For two measures of equal mass on a circle of circumference :math:`L`
(positions taken modulo :math:`L`), the 1-Wasserstein distance has the closed
form (Delon, Salomon & Sobolevski 2010; Rabin et al. 2011)

.. math::

    W_1^{S^1}(\alpha, \beta) = \min_{c \in \mathbb{R}} \int_0^L
        |F_\alpha(t) - F_\beta(t) - c| \, dt ,

the minimum is reached at a weighted median :math:`c^*` of the
piecewise-constant CDF difference :math:`D = F_\alpha - F_\beta`, weighted by
the lengths of the pieces.  :math:`D` is constant between consecutive merged
support points; the piece that wraps around (from the last point through
:math:`L \equiv 0` to the first point) has length :math:`L - x_{last} + x_{first}`.

Gradients are exact: :math:`c^*` is a minimizer, so (envelope theorem)
the gradient of the minimum is the gradient of the integrand at fixed
:math:`c^*`; the implementation detaches :math:`c^*` and differentiates the rest
(weights and positions) in closed form through autograd.

Difference with sot-loss's ``wasserstein_1d_circle`` (tested): the package
counts the wrap-around piece as :math:`1 - x_{last}` only, omitting
:math:`[0, x_{first})`; it is exact when the smallest support point is 0 (its
recommended ``arange(n) / n`` grid) and not rotation invariant otherwise.
"""
from __future__ import annotations

import math
import warnings

import torch

from sotbench.losses._checks import compute_dtype
from sotbench.losses.wasserstein import _as_float, _check_finite_nonneg, _prepare_positions

__all__ = ["circular_wasserstein_1d"]


def _weighted_median(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per row, the smallest value whose cumulative weight reaches half the total, shape (R, 1)."""
    order = torch.argsort(values, dim=-1, stable=True)
    vals = torch.gather(values, -1, order)
    cum = torch.cumsum(torch.gather(weights, -1, order), -1)
    idx = torch.searchsorted(cum, 0.5 * cum[:, -1:]).clamp_(max=values.shape[-1] - 1)
    return torch.gather(vals, -1, idx)


def circular_wasserstein_1d(u_weights, v_weights, positions, *, v_positions=None,
                            period: float = 1.0) -> torch.Tensor:
    r"""Batched W1 between measures on a circle of circumference ``period``.

    Parameters
    ----------
    u_weights : Tensor, shape (..., n)
        Non-negative weights (one measure per row).
    v_weights : Tensor, shape (..., m)
        Non-negative weights; each row should have the same total mass as the
        matching row of ``u_weights`` (a relative difference above
        ``sqrt(eps)`` of the dtype warns).  ``m == n`` unless
        ``v_positions`` is given.
    positions : Tensor, shape (n,) or (..., n)
        Support of ``u`` (and of ``v`` when ``v_positions`` is None), in the
        units of ``period``; taken modulo ``period`` (e.g. pitch class in
        semitones with ``period=12``, or ``arange(n) / n`` with ``period=1``).
    v_positions : Tensor, shape (m,) or (..., m), optional
        Support of ``v`` when it differs.
    period : float, default 1
        Circumference of the circle (> 0).

    Returns
    -------
    Tensor, shape (...)
        :math:`W_1` on the circle in the units of ``period`` (at most
        ``mass * period / 2``), dtype of the weights (float16/bfloat16 are
        computed in float32).  Differentiable in weights and positions.

    Raises
    ------
    ValueError
        Negative or non-finite weights or positions, mismatched shapes,
        ``period <= 0``.
    """
    if isinstance(period, bool) or not (isinstance(period, (int, float)) and math.isfinite(period)
                                        and period > 0):
        raise ValueError(f"period={period!r} must be a finite number > 0")
    u = _as_float(u_weights, "u_weights")
    v = _as_float(v_weights, "v_weights")
    out_dtype = torch.promote_types(u.dtype, v.dtype)
    dtype = compute_dtype(out_dtype)
    u, v = u.to(dtype), v.to(dtype)
    if u.ndim == 0 or v.ndim == 0 or u.shape[:-1] != v.shape[:-1]:
        raise ValueError(f"u_weights {tuple(u.shape)} and v_weights {tuple(v.shape)} must have "
                         f"one support axis last and the same batch shape")
    n, m = u.shape[-1], v.shape[-1]
    if n == 0 or m == 0:
        raise ValueError(f"empty support (n={n}, m={m}); each measure needs >= 1 point")
    if v_positions is None and m != n:
        raise ValueError(f"u_weights has {n} points but v_weights {m}; pass v_positions")
    batch = u.shape[:-1]
    rows = int(math.prod(batch)) if len(batch) else 1
    u2, v2 = u.reshape(rows, n), v.reshape(rows, m)
    if rows == 0:
        return u.new_zeros(batch).to(out_dtype)
    _check_finite_nonneg(u2, "u_weights")
    _check_finite_nonneg(v2, "v_weights")
    xu = _prepare_positions(positions, "positions", batch, n, dtype, u.device)
    xv = xu if v_positions is None else _prepare_positions(v_positions, "v_positions", batch, m,
                                                           dtype, u.device)
    mu, mv = u2.detach().sum(-1), v2.detach().sum(-1)
    tol = math.sqrt(torch.finfo(out_dtype).eps) * torch.maximum(mu, mv)
    if bool(((mu - mv).abs() > tol).any()):
        warnings.warn("circular_wasserstein_1d: some rows of u and v have different total "
                      "masses; W1 on the circle is defined for equal masses (normalize both, "
                      "e.g. w / w.sum(-1, keepdim=True))", stacklevel=2)
    t = torch.cat((torch.remainder(xu, period).expand(rows, n),
                   torch.remainder(xv, period).expand(rows, m)), -1) / period
    w = torch.cat((u2, -v2), -1)
    t, order = torch.sort(t, dim=-1, stable=True)
    d = torch.cumsum(torch.gather(w, -1, order), -1)
    # piece k spans (t_k, t_{k+1}); the last one wraps through 0 to t_0
    length = torch.cat((t[:, 1:] - t[:, :-1], 1.0 - t[:, -1:] + t[:, :1]), -1)
    c = _weighted_median(d.detach(), length.detach())
    out = (length * (d - c).abs()).sum(-1) * period
    return out.reshape(batch).to(out_dtype)
