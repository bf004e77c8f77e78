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

__all__ = ["P_ONE", "P_TWO", "P_GENERAL", "pmode", "LANES", "LEVELS_KERNELS", "merge_kernel_jit", "scale_rows"]

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


@_numba.njit(inline="always")
def _pcost(d, p, pm):  # pragma: no cover - compiled by numba
    """|d|**p with the order specialized at compile time (``pm`` is a constant)."""
    if pm == 1:
        return d * d
    if pm == 0:
        return abs(d)
    return abs(d) ** p


@_numba.njit(cache=True, nogil=True)
def _row_status(a, b, sa, sb):  # pragma: no cover - compiled by numba
    """Status code of one flagged row (see :func:`_make_levels_kernel`); 0 if the row is valid."""
    inf = np.inf
    code = 5 if not (abs(sa) < inf and abs(sb) < inf) else 0
    for k in range(a.shape[0]):
        w = a[k]
        if not (abs(w) < inf):
            return 1
        if w < 0.0:
            return 2
    for k in range(b.shape[0]):
        w = b[k]
        if not (abs(w) < inf):
            return 3
        if w < 0.0:
            return 4
    return code


#: rows merged together (interleaved) by the fast kernel; its scratch arrays have this many rows
LANES = 4


def _make_levels_kernel(PMODE: int, CUT: bool, SHARED: bool):
    """Build the fast kernel, specialized at compile time for the cost, the cutoff and the support.

    ``SHARED``: one support for all rows and both measures (``xv`` is ignored and
    ``xu`` has one row), which lets the lanes share one positions pointer.

    The kernel (value and weight gradients, no position gradient) handles
    :data:`LANES` rows at a time, their statements interleaved (written out
    lane by lane) so that the independent dependency chains of the rows
    overlap; a last incomplete group repeats its last row (identical writes).
    Per group of rows, three passes:

    1. cumulative sums of both measures in float64 into the scratch rows
       ``UA[l, 1:n+1]``, ``VA[l, 1:m+1]`` (``[0] = 0`` below, ``[n+1] = inf``
       sentinel above), with a running minimum of the weights.  A row with a
       negative weight or a non-finite sum is re-scanned and gets a ``status``
       code (1 NaN/Inf in u, 2 negative in u, 3 NaN/Inf in v, 4 negative in v,
       5 sums overflow; -0.0 is accepted); its levels are zeroed so the merge
       stays in bounds, and its outputs are set to 0.
    2. the merge in ascending order (ties: u's level first), branch-free: step
       ``k`` compares the current candidates ``U[i]``, ``V[k - i]`` and advances
       ``i`` by the comparison result.  It accumulates the value
       ``sum (r_k - r_{k-1}) c_k`` (non-negative terms, levels clamped at
       ``level_max`` with the cutoff) and records for each level the partner
       support point of the interval ending there: ``JV[l, i]`` = the point
       of v at u's level ``i``, ``IU[l, j]`` = the point of u at v's level
       ``j``.  Both are stored on every step; the last store to a slot is the
       one made when its level is taken.
    3. per measure, from its top level down: the cost of the interval ending
       at the level and of the one above it (same partner point, own index + 1;
       0 above the top level of the merge, u's top level if it is above v's) give the level gradient
       ``c_k - c_{k+1}`` (0 above ``level_max``); its running sum is the weight
       gradient.

    Indices in passes 2-3 are offset by one (level ``i`` of u is ``UA[l, i]``,
    its support point ``xu[i - 1]``); positions come padded with their last
    point repeated (``xu`` (., n + 1), ``xv`` (., m + 1)) so that "one past the
    last index" needs no clamp.  Gradients go to row ``r`` of ``ga`` (``gb``),
    or all to its row 0 (scratch, discarded) when it has a single row and
    there are more rows; ``want_a`` (``want_b``) False skips ``JV`` (``IU``) and
    pass 3 for u (v), whose gradient is then not written.  Scratch (float64):
    ``UA``, ``JV`` (LANES, n + 2); ``VA``, ``IU`` (LANES, m + 2).
    """

    def kernel(a, b, xu, xv, p, level_max, out, mass, status, ga, gb, want_a, want_b, UA, VA, JV, IU):
        n_rows, n = a.shape
        m = b.shape[1]
        inf = np.inf
        nm = n + m
        keep_a = ga.shape[0] == n_rows
        keep_b = gb.shape[0] == n_rows
        shared_u = xu.shape[0] == 1
        shared_v = xv.shape[0] == 1
        u1 = np.uint64(1)
        for k in range(4):
            UA[k, 0] = 0.0
            VA[k, 0] = 0.0
            UA[k, n + 1] = inf
            VA[k, m + 1] = inf
        for g in range(0, n_rows, 4):
            r0 = min(g + 0, n_rows - 1)
            r1 = min(g + 1, n_rows - 1)
            r2 = min(g + 2, n_rows - 1)
            r3 = min(g + 3, n_rows - 1)
            U0 = UA[0]
            U1 = UA[1]
            U2 = UA[2]
            U3 = UA[3]
            V0 = VA[0]
            V1 = VA[1]
            V2 = VA[2]
            V3 = VA[3]
            J0 = JV[0]
            J1 = JV[1]
            J2 = JV[2]
            J3 = JV[3]
            I0 = IU[0]
            I1 = IU[1]
            I2 = IU[2]
            I3 = IU[3]
            ar0 = a[r0]
            ar1 = a[r1]
            ar2 = a[r2]
            ar3 = a[r3]
            br0 = b[r0]
            br1 = b[r1]
            br2 = b[r2]
            br3 = b[r3]
            xu0 = xu[0] if SHARED else xu[0 if shared_u else r0]
            xu1 = xu[0] if SHARED else xu[0 if shared_u else r1]
            xu2 = xu[0] if SHARED else xu[0 if shared_u else r2]
            xu3 = xu[0] if SHARED else xu[0 if shared_u else r3]
            xv0 = xu[0] if SHARED else xv[0 if shared_v else r0]
            xv1 = xu[0] if SHARED else xv[0 if shared_v else r1]
            xv2 = xu[0] if SHARED else xv[0 if shared_v else r2]
            xv3 = xu[0] if SHARED else xv[0 if shared_v else r3]
            ga0 = ga[r0 if keep_a else 0]
            ga1 = ga[r1 if keep_a else 0]
            ga2 = ga[r2 if keep_a else 0]
            ga3 = ga[r3 if keep_a else 0]
            gb0 = gb[r0 if keep_b else 0]
            gb1 = gb[r1 if keep_b else 0]
            gb2 = gb[r2 if keep_b else 0]
            gb3 = gb[r3 if keep_b else 0]
            sa0 = 0.0
            sa1 = 0.0
            sa2 = 0.0
            sa3 = 0.0
            sb0 = 0.0
            sb1 = 0.0
            sb2 = 0.0
            sb3 = 0.0
            mn0 = 0.0
            mn1 = 0.0
            mn2 = 0.0
            mn3 = 0.0
            for k in range(n):
                w0 = ar0[k]
                w1 = ar1[k]
                w2 = ar2[k]
                w3 = ar3[k]
                sa0 += w0
                sa1 += w1
                sa2 += w2
                sa3 += w3
                U0[k + 1] = sa0
                U1[k + 1] = sa1
                U2[k + 1] = sa2
                U3[k + 1] = sa3
                mn0 = min(mn0, w0)
                mn1 = min(mn1, w1)
                mn2 = min(mn2, w2)
                mn3 = min(mn3, w3)
            for k in range(m):
                w0 = br0[k]
                w1 = br1[k]
                w2 = br2[k]
                w3 = br3[k]
                sb0 += w0
                sb1 += w1
                sb2 += w2
                sb3 += w3
                V0[k + 1] = sb0
                V1[k + 1] = sb1
                V2[k + 1] = sb2
                V3[k + 1] = sb3
                mn0 = min(mn0, w0)
                mn1 = min(mn1, w1)
                mn2 = min(mn2, w2)
                mn3 = min(mn3, w3)
            mass[r0, 0] = sa0
            mass[r1, 0] = sa1
            mass[r2, 0] = sa2
            mass[r3, 0] = sa3
            mass[r0, 1] = sb0
            mass[r1, 1] = sb1
            mass[r2, 1] = sb2
            mass[r3, 1] = sb3
            st0 = 0
            st1 = 0
            st2 = 0
            st3 = 0
            if (min(mn0, mn1, mn2, mn3) < 0.0
                    or not abs(sa0 + sb0 + sa1 + sb1 + sa2 + sb2 + sa3 + sb3) < inf):
                st0 = _row_status(ar0, br0, sa0, sb0)
                if st0 != 0:
                    U0[1:n + 1] = 0.0
                    V0[1:m + 1] = 0.0
                st1 = _row_status(ar1, br1, sa1, sb1)
                if st1 != 0:
                    U1[1:n + 1] = 0.0
                    V1[1:m + 1] = 0.0
                st2 = _row_status(ar2, br2, sa2, sb2)
                if st2 != 0:
                    U2[1:n + 1] = 0.0
                    V2[1:m + 1] = 0.0
                st3 = _row_status(ar3, br3, sa3, sb3)
                if st3 != 0:
                    U3[1:n + 1] = 0.0
                    V3[1:m + 1] = 0.0
            i0 = u1
            i1 = u1
            i2 = u1
            i3 = u1
            pv0 = 0.0
            pv1 = 0.0
            pv2 = 0.0
            pv3 = 0.0
            vm0 = 0.0
            vm1 = 0.0
            vm2 = 0.0
            vm3 = 0.0
            # the merge, unswitched on which partner points are stored
            if want_a and want_b:
                for k in range(np.uint64(2), np.uint64(nm + 2)):
                    j0 = k - i0
                    j1 = k - i1
                    j2 = k - i2
                    j3 = k - i3
                    la0 = U0[i0]
                    la1 = U1[i1]
                    la2 = U2[i2]
                    la3 = U3[i3]
                    lb0 = V0[j0]
                    lb1 = V1[j1]
                    lb2 = V2[j2]
                    lb3 = V3[j3]
                    t0 = la0 <= lb0
                    t1 = la1 <= lb1
                    t2 = la2 <= lb2
                    t3 = la3 <= lb3
                    lv0 = min(la0, lb0)
                    lv1 = min(la1, lb1)
                    lv2 = min(la2, lb2)
                    lv3 = min(la3, lb3)
                    xa0 = xu0[i0 - u1]
                    xb0 = xv0[j0 - u1]
                    dd0 = xa0 - xb0
                    xa1 = xu1[i1 - u1]
                    xb1 = xv1[j1 - u1]
                    dd1 = xa1 - xb1
                    xa2 = xu2[i2 - u1]
                    xb2 = xv2[j2 - u1]
                    dd2 = xa2 - xb2
                    xa3 = xu3[i3 - u1]
                    xb3 = xv3[j3 - u1]
                    dd3 = xa3 - xb3
                    if CUT:
                        lv0 = min(lv0, level_max)
                        lv1 = min(lv1, level_max)
                        lv2 = min(lv2, level_max)
                        lv3 = min(lv3, level_max)
                    vm0 += (lv0 - pv0) * (_pcost(dd0, p, PMODE))
                    vm1 += (lv1 - pv1) * (_pcost(dd1, p, PMODE))
                    vm2 += (lv2 - pv2) * (_pcost(dd2, p, PMODE))
                    vm3 += (lv3 - pv3) * (_pcost(dd3, p, PMODE))
                    pv0 = lv0
                    pv1 = lv1
                    pv2 = lv2
                    pv3 = lv3
                    J0[i0] = xb0
                    J1[i1] = xb1
                    J2[i2] = xb2
                    J3[i3] = xb3
                    I0[j0] = xa0
                    I1[j1] = xa1
                    I2[j2] = xa2
                    I3[j3] = xa3
                    i0 += np.uint64(t0)
                    i1 += np.uint64(t1)
                    i2 += np.uint64(t2)
                    i3 += np.uint64(t3)
            elif want_a:
                for k in range(np.uint64(2), np.uint64(nm + 2)):
                    j0 = k - i0
                    j1 = k - i1
                    j2 = k - i2
                    j3 = k - i3
                    la0 = U0[i0]
                    la1 = U1[i1]
                    la2 = U2[i2]
                    la3 = U3[i3]
                    lb0 = V0[j0]
                    lb1 = V1[j1]
                    lb2 = V2[j2]
                    lb3 = V3[j3]
                    t0 = la0 <= lb0
                    t1 = la1 <= lb1
                    t2 = la2 <= lb2
                    t3 = la3 <= lb3
                    lv0 = min(la0, lb0)
                    lv1 = min(la1, lb1)
                    lv2 = min(la2, lb2)
                    lv3 = min(la3, lb3)
                    xa0 = xu0[i0 - u1]
                    xb0 = xv0[j0 - u1]
                    dd0 = xa0 - xb0
                    xa1 = xu1[i1 - u1]
                    xb1 = xv1[j1 - u1]
                    dd1 = xa1 - xb1
                    xa2 = xu2[i2 - u1]
                    xb2 = xv2[j2 - u1]
                    dd2 = xa2 - xb2
                    xa3 = xu3[i3 - u1]
                    xb3 = xv3[j3 - u1]
                    dd3 = xa3 - xb3
                    if CUT:
                        lv0 = min(lv0, level_max)
                        lv1 = min(lv1, level_max)
                        lv2 = min(lv2, level_max)
                        lv3 = min(lv3, level_max)
                    vm0 += (lv0 - pv0) * (_pcost(dd0, p, PMODE))
                    vm1 += (lv1 - pv1) * (_pcost(dd1, p, PMODE))
                    vm2 += (lv2 - pv2) * (_pcost(dd2, p, PMODE))
                    vm3 += (lv3 - pv3) * (_pcost(dd3, p, PMODE))
                    pv0 = lv0
                    pv1 = lv1
                    pv2 = lv2
                    pv3 = lv3
                    J0[i0] = xb0
                    J1[i1] = xb1
                    J2[i2] = xb2
                    J3[i3] = xb3
                    i0 += np.uint64(t0)
                    i1 += np.uint64(t1)
                    i2 += np.uint64(t2)
                    i3 += np.uint64(t3)
            elif want_b:
                for k in range(np.uint64(2), np.uint64(nm + 2)):
                    j0 = k - i0
                    j1 = k - i1
                    j2 = k - i2
                    j3 = k - i3
                    la0 = U0[i0]
                    la1 = U1[i1]
                    la2 = U2[i2]
                    la3 = U3[i3]
                    lb0 = V0[j0]
                    lb1 = V1[j1]
                    lb2 = V2[j2]
                    lb3 = V3[j3]
                    t0 = la0 <= lb0
                    t1 = la1 <= lb1
                    t2 = la2 <= lb2
                    t3 = la3 <= lb3
                    lv0 = min(la0, lb0)
                    lv1 = min(la1, lb1)
                    lv2 = min(la2, lb2)
                    lv3 = min(la3, lb3)
                    xa0 = xu0[i0 - u1]
                    xb0 = xv0[j0 - u1]
                    dd0 = xa0 - xb0
                    xa1 = xu1[i1 - u1]
                    xb1 = xv1[j1 - u1]
                    dd1 = xa1 - xb1
                    xa2 = xu2[i2 - u1]
                    xb2 = xv2[j2 - u1]
                    dd2 = xa2 - xb2
                    xa3 = xu3[i3 - u1]
                    xb3 = xv3[j3 - u1]
                    dd3 = xa3 - xb3
                    if CUT:
                        lv0 = min(lv0, level_max)
                        lv1 = min(lv1, level_max)
                        lv2 = min(lv2, level_max)
                        lv3 = min(lv3, level_max)
                    vm0 += (lv0 - pv0) * (_pcost(dd0, p, PMODE))
                    vm1 += (lv1 - pv1) * (_pcost(dd1, p, PMODE))
                    vm2 += (lv2 - pv2) * (_pcost(dd2, p, PMODE))
                    vm3 += (lv3 - pv3) * (_pcost(dd3, p, PMODE))
                    pv0 = lv0
                    pv1 = lv1
                    pv2 = lv2
                    pv3 = lv3
                    I0[j0] = xa0
                    I1[j1] = xa1
                    I2[j2] = xa2
                    I3[j3] = xa3
                    i0 += np.uint64(t0)
                    i1 += np.uint64(t1)
                    i2 += np.uint64(t2)
                    i3 += np.uint64(t3)
            else:
                for k in range(np.uint64(2), np.uint64(nm + 2)):
                    j0 = k - i0
                    j1 = k - i1
                    j2 = k - i2
                    j3 = k - i3
                    la0 = U0[i0]
                    la1 = U1[i1]
                    la2 = U2[i2]
                    la3 = U3[i3]
                    lb0 = V0[j0]
                    lb1 = V1[j1]
                    lb2 = V2[j2]
                    lb3 = V3[j3]
                    t0 = la0 <= lb0
                    t1 = la1 <= lb1
                    t2 = la2 <= lb2
                    t3 = la3 <= lb3
                    lv0 = min(la0, lb0)
                    lv1 = min(la1, lb1)
                    lv2 = min(la2, lb2)
                    lv3 = min(la3, lb3)
                    xa0 = xu0[i0 - u1]
                    xb0 = xv0[j0 - u1]
                    dd0 = xa0 - xb0
                    xa1 = xu1[i1 - u1]
                    xb1 = xv1[j1 - u1]
                    dd1 = xa1 - xb1
                    xa2 = xu2[i2 - u1]
                    xb2 = xv2[j2 - u1]
                    dd2 = xa2 - xb2
                    xa3 = xu3[i3 - u1]
                    xb3 = xv3[j3 - u1]
                    dd3 = xa3 - xb3
                    if CUT:
                        lv0 = min(lv0, level_max)
                        lv1 = min(lv1, level_max)
                        lv2 = min(lv2, level_max)
                        lv3 = min(lv3, level_max)
                    vm0 += (lv0 - pv0) * (_pcost(dd0, p, PMODE))
                    vm1 += (lv1 - pv1) * (_pcost(dd1, p, PMODE))
                    vm2 += (lv2 - pv2) * (_pcost(dd2, p, PMODE))
                    vm3 += (lv3 - pv3) * (_pcost(dd3, p, PMODE))
                    pv0 = lv0
                    pv1 = lv1
                    pv2 = lv2
                    pv3 = lv3
                    i0 += np.uint64(t0)
                    i1 += np.uint64(t1)
                    i2 += np.uint64(t2)
                    i3 += np.uint64(t3)
            acc0 = 0.0
            acc1 = 0.0
            acc2 = 0.0
            acc3 = 0.0
            accb0 = 0.0
            accb1 = 0.0
            accb2 = 0.0
            accb3 = 0.0
            if want_a:
                q0 = J0[n]
                y0 = q0
                d0 = xu0[n - 1] - y0
                e0 = xu0[n] - y0
                clo0 = _pcost(d0, p, PMODE)
                chi0 = _pcost(e0, p, PMODE)
                if U0[n] > V0[m]:
                    chi0 = 0.0
                if CUT:
                    acc0 += (clo0 - chi0) if U0[n] <= level_max else 0.0
                else:
                    acc0 += clo0 - chi0
                ga0[n - 1] = acc0
                q1 = J1[n]
                y1 = q1
                d1 = xu1[n - 1] - y1
                e1 = xu1[n] - y1
                clo1 = _pcost(d1, p, PMODE)
                chi1 = _pcost(e1, p, PMODE)
                if U1[n] > V1[m]:
                    chi1 = 0.0
                if CUT:
                    acc1 += (clo1 - chi1) if U1[n] <= level_max else 0.0
                else:
                    acc1 += clo1 - chi1
                ga1[n - 1] = acc1
                q2 = J2[n]
                y2 = q2
                d2 = xu2[n - 1] - y2
                e2 = xu2[n] - y2
                clo2 = _pcost(d2, p, PMODE)
                chi2 = _pcost(e2, p, PMODE)
                if U2[n] > V2[m]:
                    chi2 = 0.0
                if CUT:
                    acc2 += (clo2 - chi2) if U2[n] <= level_max else 0.0
                else:
                    acc2 += clo2 - chi2
                ga2[n - 1] = acc2
                q3 = J3[n]
                y3 = q3
                d3 = xu3[n - 1] - y3
                e3 = xu3[n] - y3
                clo3 = _pcost(d3, p, PMODE)
                chi3 = _pcost(e3, p, PMODE)
                if U3[n] > V3[m]:
                    chi3 = 0.0
                if CUT:
                    acc3 += (clo3 - chi3) if U3[n] <= level_max else 0.0
                else:
                    acc3 += clo3 - chi3
                ga3[n - 1] = acc3
                for i in range(n - 1, 0, -1):
                    q0 = J0[i]
                    q1 = J1[i]
                    q2 = J2[i]
                    q3 = J3[i]
                    y0 = q0
                    y1 = q1
                    y2 = q2
                    y3 = q3
                    d0 = xu0[i - 1] - y0
                    d1 = xu1[i - 1] - y1
                    d2 = xu2[i - 1] - y2
                    d3 = xu3[i - 1] - y3
                    e0 = xu0[i] - y0
                    e1 = xu1[i] - y1
                    e2 = xu2[i] - y2
                    e3 = xu3[i] - y3
                    clo0 = _pcost(d0, p, PMODE)
                    clo1 = _pcost(d1, p, PMODE)
                    clo2 = _pcost(d2, p, PMODE)
                    clo3 = _pcost(d3, p, PMODE)
                    chi0 = _pcost(e0, p, PMODE)
                    chi1 = _pcost(e1, p, PMODE)
                    chi2 = _pcost(e2, p, PMODE)
                    chi3 = _pcost(e3, p, PMODE)
                    if CUT:
                        acc0 += (clo0 - chi0) if U0[i] <= level_max else 0.0
                        acc1 += (clo1 - chi1) if U1[i] <= level_max else 0.0
                        acc2 += (clo2 - chi2) if U2[i] <= level_max else 0.0
                        acc3 += (clo3 - chi3) if U3[i] <= level_max else 0.0
                    else:
                        acc0 += clo0 - chi0
                        acc1 += clo1 - chi1
                        acc2 += clo2 - chi2
                        acc3 += clo3 - chi3
                    ga0[i - 1] = acc0
                    ga1[i - 1] = acc1
                    ga2[i - 1] = acc2
                    ga3[i - 1] = acc3
            if want_b:
                q0 = I0[m]
                y0 = q0
                d0 = xv0[m - 1] - y0
                e0 = xv0[m] - y0
                clo0 = _pcost(d0, p, PMODE)
                chi0 = _pcost(e0, p, PMODE)
                if V0[m] >= U0[n]:
                    chi0 = 0.0
                if CUT:
                    accb0 += (clo0 - chi0) if V0[m] <= level_max else 0.0
                else:
                    accb0 += clo0 - chi0
                gb0[m - 1] = accb0
                q1 = I1[m]
                y1 = q1
                d1 = xv1[m - 1] - y1
                e1 = xv1[m] - y1
                clo1 = _pcost(d1, p, PMODE)
                chi1 = _pcost(e1, p, PMODE)
                if V1[m] >= U1[n]:
                    chi1 = 0.0
                if CUT:
                    accb1 += (clo1 - chi1) if V1[m] <= level_max else 0.0
                else:
                    accb1 += clo1 - chi1
                gb1[m - 1] = accb1
                q2 = I2[m]
                y2 = q2
                d2 = xv2[m - 1] - y2
                e2 = xv2[m] - y2
                clo2 = _pcost(d2, p, PMODE)
                chi2 = _pcost(e2, p, PMODE)
                if V2[m] >= U2[n]:
                    chi2 = 0.0
                if CUT:
                    accb2 += (clo2 - chi2) if V2[m] <= level_max else 0.0
                else:
                    accb2 += clo2 - chi2
                gb2[m - 1] = accb2
                q3 = I3[m]
                y3 = q3
                d3 = xv3[m - 1] - y3
                e3 = xv3[m] - y3
                clo3 = _pcost(d3, p, PMODE)
                chi3 = _pcost(e3, p, PMODE)
                if V3[m] >= U3[n]:
                    chi3 = 0.0
                if CUT:
                    accb3 += (clo3 - chi3) if V3[m] <= level_max else 0.0
                else:
                    accb3 += clo3 - chi3
                gb3[m - 1] = accb3
                for jl in range(m - 1, 0, -1):
                    q0 = I0[jl]
                    q1 = I1[jl]
                    q2 = I2[jl]
                    q3 = I3[jl]
                    y0 = q0
                    y1 = q1
                    y2 = q2
                    y3 = q3
                    d0 = xv0[jl - 1] - y0
                    d1 = xv1[jl - 1] - y1
                    d2 = xv2[jl - 1] - y2
                    d3 = xv3[jl - 1] - y3
                    e0 = xv0[jl] - y0
                    e1 = xv1[jl] - y1
                    e2 = xv2[jl] - y2
                    e3 = xv3[jl] - y3
                    clo0 = _pcost(d0, p, PMODE)
                    clo1 = _pcost(d1, p, PMODE)
                    clo2 = _pcost(d2, p, PMODE)
                    clo3 = _pcost(d3, p, PMODE)
                    chi0 = _pcost(e0, p, PMODE)
                    chi1 = _pcost(e1, p, PMODE)
                    chi2 = _pcost(e2, p, PMODE)
                    chi3 = _pcost(e3, p, PMODE)
                    if CUT:
                        accb0 += (clo0 - chi0) if V0[jl] <= level_max else 0.0
                        accb1 += (clo1 - chi1) if V1[jl] <= level_max else 0.0
                        accb2 += (clo2 - chi2) if V2[jl] <= level_max else 0.0
                        accb3 += (clo3 - chi3) if V3[jl] <= level_max else 0.0
                    else:
                        accb0 += clo0 - chi0
                        accb1 += clo1 - chi1
                        accb2 += clo2 - chi2
                        accb3 += clo3 - chi3
                    gb0[jl - 1] = accb0
                    gb1[jl - 1] = accb1
                    gb2[jl - 1] = accb2
                    gb3[jl - 1] = accb3
            out[r0] = vm0
            out[r1] = vm1
            out[r2] = vm2
            out[r3] = vm3
            status[r0] = st0
            status[r1] = st1
            status[r2] = st2
            status[r3] = st3
            if st0 != 0 or (sa0 == 0.0 and sb0 == 0.0):
                out[r0] = 0.0
                ga0[:] = 0.0
                gb0[:] = 0.0
            if st1 != 0 or (sa1 == 0.0 and sb1 == 0.0):
                out[r1] = 0.0
                ga1[:] = 0.0
                gb1[:] = 0.0
            if st2 != 0 or (sa2 == 0.0 and sb2 == 0.0):
                out[r2] = 0.0
                ga2[:] = 0.0
                gb2[:] = 0.0
            if st3 != 0 or (sa3 == 0.0 and sb3 == 0.0):
                out[r3] = 0.0
                ga3[:] = 0.0
                gb3[:] = 0.0

    return kernel


@_numba.njit(cache=True, nogil=True)
def scale_rows(g, s, out):  # pragma: no cover - compiled by numba
    """``out[r, k] = g[r, k] * s[r]`` (the backward product; one thread, no temporaries)."""
    for r in range(g.shape[0]):
        f = s[r]
        for k in range(g.shape[1]):
            out[r, k] = g[r, k] * f


merge_kernel_jit = _numba.njit(cache=True, nogil=True)(_merge_kernel)
#: compiled lazily, one specialization per (cost mode, cutoff, shared support)
LEVELS_KERNELS = {(pm, cut, shared): _numba.njit(cache=True, nogil=True)(_make_levels_kernel(pm, cut, shared))
                  for pm in (P_ONE, P_TWO, P_GENERAL) for cut in (False, True) for shared in (False, True)}


def pmode(p: float) -> int:
    """Cost specialization of order ``p``: :data:`P_ONE`, :data:`P_TWO` or :data:`P_GENERAL`."""
    if p == 1.0:
        return P_ONE
    if p == 2.0:
        return P_TWO
    return P_GENERAL
