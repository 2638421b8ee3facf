//! Dense kernels over fixed-size arrays. Every kernel *adds* into its output, so the
//! generated code can start an output from a bias or from zero, and several gradient
//! contributions can land in one buffer.
//!
//! Strict float semantics forbid reassociating a sum, so a single-accumulator dot product
//! runs one add at a time. Sums here use `LANES` independent accumulators instead, which
//! LLVM turns into vector registers.

use crate::Float;

/// Independent accumulators per reduction.
pub const LANES: usize = 8;

#[inline(always)]
fn reduce_lanes<T: Float>(acc: [T; LANES]) -> T {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// `Σ a[i] b[i]` over slices of equal length.
#[inline(always)]
pub fn dot_slice<T: Float>(a: &[T], b: &[T]) -> T {
    debug_assert_eq!(a.len(), b.len());
    let (ac, ar) = a.as_chunks::<LANES>();
    let (bc, br) = b.as_chunks::<LANES>();
    let mut acc = [T::ZERO; LANES];
    for (x, y) in ac.iter().zip(bc) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = T::ZERO;
    for (x, y) in ar.iter().zip(br) {
        tail += *x * *y;
    }
    reduce_lanes(acc) + tail
}

/// `Σ a[i]`.
#[inline(always)]
pub fn sum_slice<T: Float>(a: &[T]) -> T {
    let (ac, ar) = a.as_chunks::<LANES>();
    let mut acc = [T::ZERO; LANES];
    for x in ac {
        for l in 0..LANES {
            acc[l] += x[l];
        }
    }
    let mut tail = T::ZERO;
    for x in ar {
        tail += *x;
    }
    reduce_lanes(acc) + tail
}

/// Rows per block in [`matvec_acc`].
const ROWS: usize = 4;

/// `y[i] += Σ_j w[i][j] x[j]`: `w @ x` with `w` stored `[out, in]`.
///
/// Rows go in blocks of four: each chunk of `x` is loaded once for four rows, and each row
/// keeps its own lane accumulators, so the loop runs on vector registers with a quarter of
/// the loads of one dot product per row.
#[inline(always)]
pub fn matvec_acc<T: Float, const M: usize, const N: usize>(
    w: &[[T; N]; M],
    x: &[T; N],
    y: &mut [T; M],
) {
    let (xc, xr) = x.as_chunks::<LANES>();
    let (blocks, rest) = w.as_chunks::<ROWS>();
    let (yb, yr) = y.as_chunks_mut::<ROWS>();
    for (rows, ys) in blocks.iter().zip(yb) {
        let [r0, r1, r2, r3] = rows.each_ref().map(|r| r.as_chunks::<LANES>());
        let mut acc = [[T::ZERO; LANES]; ROWS];
        // Zipped chunk iterators leave no bounds check in the loop.
        let chunks = xc.iter().zip(r0.0).zip(r1.0).zip(r2.0).zip(r3.0);
        for ((((xk, a), b), c), d) in chunks {
            for l in 0..LANES {
                acc[0][l] += a[l] * xk[l];
                acc[1][l] += b[l] * xk[l];
                acc[2][l] += c[l] * xk[l];
                acc[3][l] += d[l] * xk[l];
            }
        }
        for (r, tail_row) in [r0.1, r1.1, r2.1, r3.1].iter().enumerate() {
            let mut tail = T::ZERO;
            for (wj, xj) in tail_row.iter().zip(xr) {
                tail += *wj * *xj;
            }
            ys[r] += reduce_lanes(acc[r]) + tail;
        }
    }
    for (yi, row) in yr.iter_mut().zip(rest) {
        *yi += dot_slice(row, x);
    }
}

/// `y[j] += Σ_i x[i] w[i][j]`: `x @ w` with `w` stored `[in, out]`, as one axpy per row.
#[inline(always)]
pub fn vecmat_acc<T: Float, const M: usize, const N: usize>(
    x: &[T; M],
    w: &[[T; N]; M],
    y: &mut [T; N],
) {
    for (xi, row) in x.iter().zip(w) {
        let xi = *xi;
        for (yj, wij) in y.iter_mut().zip(row) {
            *yj += xi * *wij;
        }
    }
}

/// `a[i][j] += u[i] v[j]`: the outer product `u ⊗ v`.
#[inline(always)]
pub fn outer_acc<T: Float, const M: usize, const N: usize>(
    u: &[T; M],
    v: &[T; N],
    a: &mut [[T; N]; M],
) {
    for (row, ui) in a.iter_mut().zip(u) {
        let ui = *ui;
        for (aij, vj) in row.iter_mut().zip(v) {
            *aij += ui * *vj;
        }
    }
}

/// `c += a @ b` for `a: [m, k]`, `b: [k, n]`.
#[inline(always)]
pub fn matmat_acc<T: Float, const M: usize, const K: usize, const N: usize>(
    a: &[[T; K]; M],
    b: &[[T; N]; K],
    c: &mut [[T; N]; M],
) {
    for (crow, arow) in c.iter_mut().zip(a) {
        vecmat_acc(arow, b, crow);
    }
}

/// `c += aᵀ @ b` for `a: [k, m]`, `b: [k, n]`.
#[inline(always)]
pub fn matmat_tn_acc<T: Float, const M: usize, const K: usize, const N: usize>(
    a: &[[T; M]; K],
    b: &[[T; N]; K],
    c: &mut [[T; N]; M],
) {
    for (arow, brow) in a.iter().zip(b) {
        outer_acc(arow, brow, c);
    }
}

/// `c += a @ bᵀ` for `a: [m, k]`, `b: [n, k]`.
#[inline(always)]
pub fn matmat_nt_acc<T: Float, const M: usize, const K: usize, const N: usize>(
    a: &[[T; K]; M],
    b: &[[T; K]; N],
    c: &mut [[T; N]; M],
) {
    for (crow, arow) in c.iter_mut().zip(a) {
        matvec_acc(b, arow, crow);
    }
}

/// `c += aᵀ @ bᵀ` for `a: [k, m]`, `b: [n, k]`.
#[inline(always)]
pub fn matmat_tt_acc<T: Float, const M: usize, const K: usize, const N: usize>(
    a: &[[T; M]; K],
    b: &[[T; K]; N],
    c: &mut [[T; N]; M],
) {
    for (i, crow) in c.iter_mut().enumerate() {
        for (j, cij) in crow.iter_mut().enumerate() {
            let mut s = T::ZERO;
            for (arow, bkj) in a.iter().zip(b[j].iter()) {
                s += arow[i] * *bkj;
            }
            *cij += s;
        }
    }
}

/// `log Σ exp(v)`, shifted by the maximum so it never overflows.
#[inline(always)]
pub fn log_sum_exp<T: Float>(v: &[T]) -> T {
    let mut m = v[0];
    for x in &v[1..] {
        m = m.max(*x);
    }
    if !m.is_finite() {
        // All -inf gives -inf; +inf or NaN propagate as the maximum itself.
        return m;
    }
    let mut s = T::ZERO;
    for x in v {
        s += (*x - m).exp();
    }
    m + s.ln()
}

/// `out = softmax(v)`, max-shifted.
#[inline(always)]
pub fn softmax<T: Float, const N: usize>(v: &[T; N], out: &mut [T; N]) {
    let mut m = v[0];
    for x in &v[1..] {
        m = m.max(*x);
    }
    let mut s = T::ZERO;
    for (o, x) in out.iter_mut().zip(v) {
        *o = (*x - m).exp();
        s += *o;
    }
    let inv = T::ONE / s;
    for o in out.iter_mut() {
        *o *= inv;
    }
}

/// `out = log_softmax(v) = v - log Σ exp(v)`, max-shifted.
#[inline(always)]
pub fn log_softmax<T: Float, const N: usize>(v: &[T; N], out: &mut [T; N]) {
    let lse = log_sum_exp(v);
    for (o, x) in out.iter_mut().zip(v) {
        *o = *x - lse;
    }
}
