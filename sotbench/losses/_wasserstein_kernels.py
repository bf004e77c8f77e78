"""Compiled (numba) CPU kernels of :func:`sotbench.losses.wasserstein.wasserstein_1d`.

The algorithm, the gradient formula and the tie convention are described in
the docstring of :mod:`sotbench.losses.wasserstein` (the public API, which
validates inputs and wraps these kernels in a ``torch.autograd.Function``).
Two kernels:

* :data:`LEVELS_KERNELS` -- the fast path (value and weight gradients), one
  compiled specialization per (cost ``p`` in {1, 2, other}, cutoff on/off);
* :func:`merge_kernel_jit` -- the general merge that also returns position
  gradients.

Both accumulate in float64 whatever the input dtype, with ``fastmath`` off
(results are exact up to the rounding of the float64 sums), and release the GIL.
"""
from __future__ import annotations

import numba as _numba
import numpy as np

__all__ = ["P_ONE", "P_TWO", "P_GENERAL", "pmode", "LEVELS_KERNELS", "merge_kernel_jit"]

P_ONE, P_TWO, P_GENERAL = 0, 1, 2


def _merge_kernel(a, b, xu, xv, p, pmode, level_max, want_w, want_x,
                  out, ga, gb, gxu, gxv):  # pragma: no cover - compiled by numba
    """Two-pointer merge of the cumulative weights of ``a`` and ``b``, row by row.

    a : (R, n), b : (R, m) non-negative weights; xu : (1 or R, n), xv : (1 or R, m)
    sorted positions; ``level_max`` truncates the level integral (inf = none).
    Writes W_p^p into ``out`` (R,), d/da into ``ga``, d/db into ``gb`` when
    ``want_w``; per-row position gradients into ``gxu`` (R, n), ``gxv`` (R, m)
    when ``want_x``.
    """
    n_rows, n = a.shape
    m = b.shape[1]
    shared_u = xu.shape[0] == 1
    shared_v = xv.shape[0] == 1
    for r in range(n_rows):
        ru = 0 if shared_u else r
        rv = 0 if shared_v else r
        i = 0
        j = 0
        lev_a = 0.0 + a[r, 0]
        lev_b = 0.0 + b[r, 0]
        prev = 0.0
        prev_owner = -1  # 0: a level of u, 1: a level of v, -1: the constant 0
        prev_idx = 0
        total = 0.0
        if want_w:
            for k in range(n):
                ga[r, k] = 0.0
            for k in range(m):
                gb[r, k] = 0.0
        if want_x:
            for k in range(n):
                gxu[r, k] = 0.0
            for k in range(m):
                gxv[r, k] = 0.0
        while i < n or j < m:
            if j >= m or (i < n and lev_a <= lev_b):
                level = lev_a
                owner = 0
            else:
                level = lev_b
                owner = 1
            iu = i if i < n else n - 1
            iv = j if j < m else m - 1
            d = xu[ru, iu] - xv[rv, iv]
            ad = abs(d)
            if pmode == 0:
                c = ad
            elif pmode == 1:
                c = ad * ad
            else:
                c = ad ** p
            truncated = level > level_max
            top = level_max if truncated else level
            delta = top - prev
            if delta > 0.0:
                total += delta * c
                if want_x:
                    if pmode == 0:
                        slope = 1.0
                    elif pmode == 1:
                        slope = 2.0 * ad
                    else:
                        slope = p * ad ** (p - 1.0)
                    if d < 0.0:
                        slope = -slope
                    elif d == 0.0:
                        slope = 0.0
                    gxu[r, iu] += delta * slope
                    gxv[r, iv] -= delta * slope
            if want_w:
                if not truncated:
                    if owner == 0:
                        ga[r, i] += c
                    else:
                        gb[r, j] += c
                if prev_owner == 0:
                    ga[r, prev_idx] -= c
                elif prev_owner == 1:
                    gb[r, prev_idx] -= c
            if truncated:
                break
            prev = level
            prev_owner = owner
            if owner == 0:
                prev_idx = i
                i += 1
                if i < n:
                    lev_a += a[r, i]
            else:
                prev_idx = j
                j += 1
                if j < m:
                    lev_b += b[r, j]
        # total masses (the loop may have stopped early at the truncation)
        mass_a = lev_a
        for k in range(i + 1, n):
            mass_a += a[r, k]
        mass_b = lev_b
        for k in range(j + 1, m):
            mass_b += b[r, k]
        if mass_a == 0.0 and mass_b == 0.0:
            total = 0.0
            if want_w:
                for k in range(n):
                    ga[r, k] = 0.0
                for k in range(m):
                    gb[r, k] = 0.0
            if want_x:
                for k in range(n):
                    gxu[r, k] = 0.0
                for k in range(m):
                    gxv[r, k] = 0.0
        out[r] = total
        if want_w:  # d/d(weight_i) = sum of d/d(level_k) over k >= i
            acc = 0.0
            for k in range(n - 1, -1, -1):
                acc += ga[r, k]
                ga[r, k] = acc
            acc = 0.0
            for k in range(m - 1, -1, -1):
                acc += gb[r, k]
                gb[r, k] = acc


def _make_levels_kernel(PMODE: int, CUT: bool):
    """Build the fast kernel, specialized at compile time for the cost and the cutoff.

    The kernel (weights gradient, no position gradient) does, per row:

    1. one pre-pass writing both cumulative sums in float64 to the scratch rows
       ``lev_a[1:n+1]``, ``lev_b[1:m+1]`` (``lev_a[0] = lev_b[0] = -inf`` are
       sentinels) while OR-ing the raw bits of the weights (``ia``, ``ib``:
       integer views) so that a set sign bit flags a possibly negative weight;
       non-finite weights show up in the sums.  Flagged rows are re-scanned
       exactly and get a ``status`` code (1 NaN/Inf in u, 2 negative in u,
       3 NaN/Inf in v, 4 negative in v, 5 sums overflow); -0.0 is accepted.
    2. the merge of the two level sequences from the top level down, as runs
       of consecutive levels of one measure (spectra have long runs).  In
       ascending order (ties: u's level first) interval k is ``(r_{k-1}, r_k]``
       with cost ``c_k``; visiting levels downwards, the gradient of level
       ``r_k``, ``[r_k <= level_max] * (c_k - c_{k+1})``, is known on arrival and
       the running sums of level gradients are the weight gradients.

    Positions come padded with their last point repeated (``xu`` (., n + 1),
    ``xv`` (., m + 1)) so that "one past the last index" needs no clamp.
    Gradients go to row ``r`` of ``ga`` (``gb``), or all to its row 0 (scratch,
    discarded) when it has a single row and there are more rows.
    """

    def kernel(a, b, ia, ib, xu, xv, p, level_max, out, mass, status, ga, gb,
               lev_a, lev_b):  # pragma: no cover - compiled by numba
        n_rows, n = a.shape
        m = b.shape[1]
        shared_u = xu.shape[0] == 1
        shared_v = xv.shape[0] == 1
        keep_a = ga.shape[0] == n_rows
        keep_b = gb.shape[0] == n_rows
        inf = np.inf
        n_common = min(n, m)
        lev_a[0] = -inf
        lev_b[0] = -inf
        for r in range(n_rows):
            xur = xu[0] if shared_u else xu[r]
            xvr = xv[0] if shared_v else xv[r]
            gar = ga[r] if keep_a else ga[0]
            gbr = gb[r] if keep_b else gb[0]
            # ---- pre-pass: cumulative sums (two independent add chains)
            sa = 0.0
            sb = 0.0
            bits = 0
            for k in range(n_common):
                sa += a[r, k]
                sb += b[r, k]
                bits |= ia[r, k] | ib[r, k]
                lev_a[k + 1] = sa
                lev_b[k + 1] = sb
            for k in range(n_common, n):
                sa += a[r, k]
                bits |= ia[r, k]
                lev_a[k + 1] = sa
            for k in range(n_common, m):
                sb += b[r, k]
                bits |= ib[r, k]
                lev_b[k + 1] = sb
            mass[r, 0] = sa
            mass[r, 1] = sb
            code = 0
            if bits < 0 or not (abs(sa) < inf and abs(sb) < inf):
                code = 5 if not (abs(sa) < inf and abs(sb) < inf) else 0
                for k in range(n):
                    w = a[r, k]
                    if not (abs(w) < inf):
                        code = 1
                        break
                    if w < 0.0:
                        code = 2
                        break
                if code == 0 or code == 5:
                    for k in range(m):
                        w = b[r, k]
                        if not (abs(w) < inf):
                            code = 3
                            break
                        if w < 0.0:
                            code = 4
                            break
            status[r] = code
            if code != 0 or (sa == 0.0 and sb == 0.0):
                out[r] = 0.0
                for k in range(n):
                    gar[k] = 0.0
                for k in range(m):
                    gbr[k] = 0.0
                continue
            # ---- merge, top level first.  i, j: indices of the current candidates.
            i = n - 1
            j = m - 1
            la = lev_a[n]
            lb = lev_b[m]
            c_up = 0.0      # c_{k+1}: cost of the interval above the current level
            pend_c = 0.0    # cost of the interval whose lower end is not known yet
            pend_top = level_max if CUT else 0.0  # its upper level (clamped)
            total = 0.0
            total_alt = 0.0
            acc_a = 0.0
            acc_b = 0.0
            while i >= 0 or j >= 0:
                if lb >= la:
                    # run of v's levels (v's level is the later one on ties)
                    xf = xur[i + 1]
                    while lb >= la and j >= 0:
                        d = xf - xvr[j]
                        if PMODE == 1:
                            c = d * d
                        elif PMODE == 0:
                            c = abs(d)
                        else:
                            c = abs(d) ** p
                        if CUT:
                            if lb <= level_max:
                                total, total_alt = total_alt, total + (pend_top - lb) * pend_c
                                pend_top = lb
                                acc_b += c - c_up
                            gbr[j] = acc_b
                        else:
                            total, total_alt = total_alt, total + (pend_top - lb) * pend_c
                            pend_top = lb
                            acc_b += c - c_up
                            gbr[j] = acc_b
                        pend_c = c
                        c_up = c
                        j -= 1
                        lb = lev_b[j + 1]
                else:
                    # run of u's levels
                    xf = xvr[j + 1]
                    while la > lb:
                        d = xur[i] - xf
                        if PMODE == 1:
                            c = d * d
                        elif PMODE == 0:
                            c = abs(d)
                        else:
                            c = abs(d) ** p
                        if CUT:
                            if la <= level_max:
                                total, total_alt = total_alt, total + (pend_top - la) * pend_c
                                pend_top = la
                                acc_a += c - c_up
                            gar[i] = acc_a
                        else:
                            total, total_alt = total_alt, total + (pend_top - la) * pend_c
                            pend_top = la
                            acc_a += c - c_up
                            gar[i] = acc_a
                        pend_c = c
                        c_up = c
                        i -= 1
                        la = lev_a[i + 1]
            out[r] = (total + total_alt) + pend_top * pend_c

    return kernel


merge_kernel_jit = _numba.njit(cache=True, nogil=True)(_merge_kernel)
#: compiled lazily, one specialization per (cost mode, cutoff)
LEVELS_KERNELS = {(pm, cut): _numba.njit(cache=True, nogil=True)(_make_levels_kernel(pm, cut))
                  for pm in (P_ONE, P_TWO, P_GENERAL) for cut in (False, True)}


def pmode(p: float) -> int:
    """Cost specialization of order ``p``: :data:`P_ONE`, :data:`P_TWO` or :data:`P_GENERAL`."""
    if p == 1.0:
        return P_ONE
    if p == 2.0:
        return P_TWO
    return P_GENERAL
