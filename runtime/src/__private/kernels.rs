//! Dense kernels over fixed-size arrays. Every kernel *adds* into its output, so the
//! generated code can start an output from a bias or from zero, and several gradient
//! contributions can land in one buffer.
//!
//! Strict float semantics forbid reassociating a sum, so a single-accumulator dot product
//! runs one dependent add at a time. Sums here split the work over independent lanes and
//! add them up as a tree, which LLVM turns into vector registers; how wide depends on the
//! length (measured in `BENCHMARKS.md`: 64 lanes for rows of 64 or more, 32 from 32, 8
//! below).

use super::gemm::Lanes;
use super::matvec::{matvec_wide, outer_wide, vecmat_wide};
use crate::Float;

/// Independent accumulators of the short form; also the generated reductions' width.
pub const LANES: usize = 8;

/// Products of at least this many elements run out of line, through the run-time SIMD
/// kernels of [`super::matvec`]. Inlined into a large generated method, LLVM re-vectorized
/// a 64×64 matrix–vector product across rows and ran it 3× slower than the same code as
/// its own function; below this size the call costs more than it saves (measured in
/// `BENCHMARKS.md`). The axpy kernels (`x @ w`, outer products) keep this threshold.
pub const OUT_OF_LINE: usize = 1024;

/// The same threshold for `w @ x`, whose inline form is a dot product per row with a
/// horizontal sum each: from 512 elements the AVX2 kernel wins. It put a GRU-16's 48×16
/// hidden product on AVX2 (its real-time step 595 → 502 ns) and a 64×10 layer's forward
/// (0.55 → 0.40 µs); the axpy kernels at 640 elements were slower out of line.
pub const MATVEC_OUT_OF_LINE: usize = 512;

/// `Σ a[i] b[i]` with `L` independent lanes reduced as a tree.
#[inline(always)]
fn dot_lanes<T: Float, const L: usize>(a: &[T], b: &[T]) -> T {
    let (ac, ar) = a.as_chunks::<L>();
    let (bc, br) = b.as_chunks::<L>();
    // The first chunk's products start the lanes: `0 + p` is not `p` for `p = -0`, so
    // starting from zero would cost an add per lane that no compiler may remove.
    let mut acc = [T::ZERO; L];
    let (mut rest_a, mut rest_b) = (ac, bc);
    if let (Some((x, ra)), Some((y, rb))) = (ac.split_first(), bc.split_first()) {
        for l in 0..L {
            acc[l] = x[l] * y[l];
        }
        (rest_a, rest_b) = (ra, rb);
    }
    // Plain slices (not `skip`) keep this loop as simple as LLVM likes it.
    for (x, y) in rest_a.iter().zip(rest_b) {
        for l in 0..L {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = T::ZERO;
    for (x, y) in ar.iter().zip(br) {
        tail += *x * *y;
    }
    tree_sum(acc) + tail
}

/// Halves added pairwise, `L` a power of two: contiguous halves are whole vectors.
#[inline(always)]
fn tree_sum<T: Float, const L: usize>(mut acc: [T; L]) -> T {
    let mut n = L;
    while n > 1 {
        n /= 2;
        for l in 0..n {
            acc[l] += acc[l + n];
        }
    }
    acc[0]
}

/// `Σ a[i] b[i]` over slices of equal length. The width is chosen from the length, which
/// is a constant wherever a kernel calls this, so the branch folds away.
#[inline(always)]
pub fn dot_slice<T: Float>(a: &[T], b: &[T]) -> T {
    debug_assert_eq!(a.len(), b.len());
    if a.len() >= 64 {
        dot_lanes::<T, 64>(a, b)
    } else if a.len() >= 32 {
        dot_lanes::<T, 32>(a, b)
    } else {
        dot_lanes::<T, LANES>(a, b)
    }
}

/// `Σ f(i)` for `i` in `0..N`: the generated code's reductions of an elementwise
/// expression. Below `2 · LANES` terms one accumulator in order; from there `LANES`
/// independent accumulators reduced as a tree, so the loop vectorizes under strict float
/// semantics. `N` is a constant, so the branch folds away.
#[inline(always)]
pub fn sum_map<T: Float, const N: usize, F: Fn(usize) -> T>(f: F) -> T {
    sum_rows::<T, 1, N, _>(|_, j| f(j))
}

/// `Σ f(i, j)` over an `R × C` grid, row by row, sharing [`sum_map`]'s accumulators.
#[inline(always)]
pub fn sum_rows<T: Float, const R: usize, const C: usize, F: Fn(usize, usize) -> T>(f: F) -> T {
    if C < 2 * LANES {
        let mut s = T::ZERO;
        for i in 0..R {
            for j in 0..C {
                s += f(i, j);
            }
        }
        return s;
    }
    let mut acc = [T::ZERO; LANES];
    let mut tail = T::ZERO;
    for i in 0..R {
        for c in 0..C / LANES {
            for (l, a) in acc.iter_mut().enumerate() {
                *a += f(i, c * LANES + l);
            }
        }
        for j in C / LANES * LANES..C {
            tail += f(i, j);
        }
    }
    tree_sum(acc) + tail
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
    tree_sum(acc) + tail
}

/// `y[i] += Σ_j w[i][j] x[j]`: `w @ x` with `w` stored `[out, in]`, one dot product per
/// row. (Blocking four rows together made LLVM vectorize across rows, a shuffle per load,
/// and ran slower than wide single-row dots.)
#[inline(always)]
pub fn matvec_acc<T: Lanes, const M: usize, const N: usize>(
    w: &[[T; N]; M],
    x: &[T; N],
    y: &mut [T; M],
) {
    if N == 1 {
        // One column (a recurrent layer's single input): an axpy down the column, which
        // vectorizes where a dot product of one term per row cannot.
        for (yi, row) in y.iter_mut().zip(w) {
            *yi += row[0] * x[0];
        }
    } else if M * N < MATVEC_OUT_OF_LINE {
        matvec_body(w, x, y)
    } else {
        matvec_wide(w, x, y)
    }
}

#[inline(always)]
fn matvec_body<T: Float, const M: usize, const N: usize>(
    w: &[[T; N]; M],
    x: &[T; N],
    y: &mut [T; M],
) {
    for (yi, row) in y.iter_mut().zip(w) {
        *yi += dot_slice(row, x);
    }
}

/// `y[j] += Σ_i x[i] w[i][j]`: `x @ w` with `w` stored `[in, out]`, as one axpy per row.
/// Small products are inlined: the axpy vectorizes along each row in any context, and
/// inlined its output can stay in registers; large ones run [`vecmat_wide`].
#[inline(always)]
pub fn vecmat_acc<T: Lanes, const M: usize, const N: usize>(
    x: &[T; M],
    w: &[[T; N]; M],
    y: &mut [T; N],
) {
    if M * N >= OUT_OF_LINE {
        return vecmat_wide(x, w, y);
    }
    for (xi, row) in x.iter().zip(w) {
        let xi = *xi;
        for (yj, wij) in y.iter_mut().zip(row) {
            *yj += xi * *wij;
        }
    }
}

/// `a[i][j] += u[i] v[j]`: the outer product `u ⊗ v`, one axpy per row of `a`; large ones
/// run [`outer_wide`], like [`vecmat_acc`]. A row whose `u[i]` is exactly zero is skipped: after a
/// relu about half of them are, and the row would add `0 · v[j]`, which differs only
/// where `v[j]` is infinite or NaN (then the full product would add NaN).
#[inline(always)]
pub fn outer_acc<T: Lanes, const M: usize, const N: usize>(
    u: &[T; M],
    v: &[T; N],
    a: &mut [[T; N]; M],
) {
    if M * N >= OUT_OF_LINE {
        return outer_wide(u, v, a);
    }
    for (row, ui) in a.iter_mut().zip(u) {
        let ui = *ui;
        if ui == T::ZERO {
            continue;
        }
        for (aij, vj) in row.iter_mut().zip(v) {
            *aij += ui * *vj;
        }
    }
}

/// `c += a @ b` for `a: [m, k]`, `b: [k, n]`.
#[inline(always)]
pub fn matmat_acc<T: Lanes, const M: usize, const K: usize, const N: usize>(
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
pub fn matmat_tn_acc<T: Lanes, const M: usize, const K: usize, const N: usize>(
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
pub fn matmat_nt_acc<T: Lanes, const M: usize, const K: usize, const N: usize>(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_of_expressions_cover_every_term_once() {
        // Integers are exact in f64, so any grouping gives the same total.
        let triangle = |n: usize| (n * (n - 1) / 2) as f64;
        assert_eq!(sum_map::<f64, 3, _>(|i| i as f64), triangle(3));
        assert_eq!(sum_map::<f64, 15, _>(|i| i as f64), triangle(15));
        assert_eq!(sum_map::<f64, 16, _>(|i| i as f64), triangle(16));
        assert_eq!(sum_map::<f64, 37, _>(|i| i as f64), triangle(37));
        let grid = sum_rows::<f64, 3, 21, _>(|i, j| (100 * i + j) as f64);
        assert_eq!(grid, 21.0 * 300.0 + 3.0 * triangle(21));
    }

    #[test]
    fn short_sums_add_in_order() {
        // 1 + 2⁻⁵³ + 2⁻⁵³ in order rounds to 1 twice; a tree would keep 2⁻⁵².
        let eps = f64::EPSILON / 2.0;
        let terms = [1.0, eps, eps];
        assert_eq!(sum_map::<f64, 3, _>(|i| terms[i]), 1.0);
    }
}
