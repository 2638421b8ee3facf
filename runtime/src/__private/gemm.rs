//! Matrix–matrix kernels for chunks of samples: what `forward_batch`, `loss_batch` and
//! `backward_batch` run a layer through. A chunk `xs: &[[T; K]]` is already a row-major
//! matrix with one sample per row, so nothing is copied or packed, and nothing is
//! allocated.
//!
//! Three products cover every layer of both layouts:
//! - [`gemm_nt_acc`], `Z += X Wᵀ`: `w @ x` forward (`W` stored `[out, in]`), and the input
//!   gradient `W δ` of `x @ w`;
//! - [`gemm_nn_acc`], `Z += X W`: `x @ w` forward (`W` stored `[in, out]`), and the input
//!   gradient `Wᵀ δ` of `w @ x`;
//! - [`gemm_tn_acc`], `G += Uᵀ V`: a weight gradient `Σ_b δ_b ⊗ x_b` over the chunk.
//!
//! Each runs register tiles of [`TILE_ROWS`] rows, written once over `pulp`'s safe SIMD
//! types. `pulp` picks the instruction set when the kernel is called: AVX2 with FMA on
//! x86-64 CPUs that have it (read from the CPU at run time, with or without `std`), NEON
//! on aarch64, and a portable scalar form elsewhere. The kernels fuse multiply and add
//! where the CPU can, so a product rounds once where the per-sample code rounds twice:
//! the results agree with the per-sample methods up to rounding.

use pulp::{Arch, Simd, WithSimd};

use crate::Float;

/// A scalar type with a SIMD vector of it in every instruction set `pulp` dispatches to.
pub trait Lanes: Float {
    /// A vector of `Self` in instruction set `S`.
    type V<S: Simd>: Copy;
    /// Every lane `x`.
    fn splat<S: Simd>(s: S, x: Self) -> Self::V<S>;
    /// `a · b + c`, fused where the instruction set can.
    fn mul_add<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>, c: Self::V<S>) -> Self::V<S>;
    /// `a + b`.
    fn vadd<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    /// The sum of the lanes.
    fn reduce_sum<S: Simd>(s: S, a: Self::V<S>) -> Self;
    /// The whole vectors at the start of `x`, and the scalars after them.
    fn split<S: Simd>(x: &[Self]) -> (&[Self::V<S>], &[Self]);
    /// Mutable form of [`Lanes::split`].
    fn split_mut<S: Simd>(x: &mut [Self]) -> (&mut [Self::V<S>], &mut [Self]);
    /// Scalars per vector.
    #[inline(always)]
    fn lanes<S: Simd>() -> usize {
        core::mem::size_of::<Self::V<S>>() / core::mem::size_of::<Self>()
    }
}

macro_rules! lanes {
    ($t:ty, $v:ident, $splat:ident, $fma:ident, $add:ident, $sum:ident, $split:ident, $split_mut:ident) => {
        impl Lanes for $t {
            type V<S: Simd> = S::$v;
            #[inline(always)]
            fn splat<S: Simd>(s: S, x: Self) -> S::$v {
                s.$splat(x)
            }
            #[inline(always)]
            fn mul_add<S: Simd>(s: S, a: S::$v, b: S::$v, c: S::$v) -> S::$v {
                s.$fma(a, b, c)
            }
            #[inline(always)]
            fn vadd<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$v {
                s.$add(a, b)
            }
            #[inline(always)]
            fn reduce_sum<S: Simd>(s: S, a: S::$v) -> Self {
                s.$sum(a)
            }
            #[inline(always)]
            fn split<S: Simd>(x: &[Self]) -> (&[S::$v], &[Self]) {
                S::$split(x)
            }
            #[inline(always)]
            fn split_mut<S: Simd>(x: &mut [Self]) -> (&mut [S::$v], &mut [Self]) {
                S::$split_mut(x)
            }
        }
    };
}

lanes!(
    f32,
    f32s,
    splat_f32s,
    mul_add_e_f32s,
    add_f32s,
    reduce_sum_f32s,
    as_simd_f32s,
    as_mut_simd_f32s
);
lanes!(
    f64,
    f64s,
    splat_f64s,
    mul_add_e_f64s,
    add_f64s,
    reduce_sum_f64s,
    as_simd_f64s,
    as_mut_simd_f64s
);

/// Rows of the output in one register tile: samples in [`gemm_nt_acc`] and
/// [`gemm_nn_acc`], weight rows in [`gemm_tn_acc`].
pub const TILE_ROWS: usize = 4;
/// Vectors across one row of a broadcast tile ([`gemm_nn_acc`], [`gemm_tn_acc`]): with
/// [`TILE_ROWS`], 12 accumulators, which leaves AVX2's 16 registers room for the loads.
const TILE_VECS: usize = 3;
/// Weight rows in one dot-product tile ([`gemm_nt_acc`]): 12 accumulators again.
const DOT_ROWS: usize = 3;

/// `z[b][i] += Σ_k x[b][k] · w[i][k]` for every sample `b`: `Z += X Wᵀ`.
///
/// # Panics
/// If `x` and `z` differ in length.
pub fn gemm_nt_acc<T: Lanes, const K: usize, const M: usize>(
    x: &[[T; K]],
    w: &[[T; K]; M],
    z: &mut [[T; M]],
) {
    assert_eq!(x.len(), z.len(), "gemm_nt_acc: rows of x and z");
    Arch::new().dispatch(Nt { x, w, z });
}

struct Nt<'a, T, const K: usize, const M: usize> {
    x: &'a [[T; K]],
    w: &'a [[T; K]; M],
    z: &'a mut [[T; M]],
}

impl<T: Lanes, const K: usize, const M: usize> WithSimd for Nt<'_, T, K, M> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let Nt { x, w, z } = self;
        let (x_tiles, x_rest) = x.as_chunks::<TILE_ROWS>();
        let (z_tiles, z_rest) = z.as_chunks_mut::<TILE_ROWS>();
        for (xt, zt) in x_tiles.iter().zip(z_tiles) {
            nt_rows::<S, T, K, M, TILE_ROWS>(s, xt, w, zt);
        }
        for (xr, zr) in x_rest.iter().zip(z_rest) {
            nt_rows::<S, T, K, M, 1>(s, core::array::from_ref(xr), w, core::array::from_mut(zr));
        }
    }
}

/// `R` samples against every row of `w`.
#[inline(always)]
fn nt_rows<S: Simd, T: Lanes, const K: usize, const M: usize, const R: usize>(
    s: S,
    x: &[[T; K]; R],
    w: &[[T; K]; M],
    z: &mut [[T; M]; R],
) {
    let (w_tiles, w_rest) = w.as_chunks::<DOT_ROWS>();
    for (q, wt) in w_tiles.iter().enumerate() {
        let d = dot_tile::<S, T, K, R, DOT_ROWS>(s, x, wt);
        for r in 0..R {
            for c in 0..DOT_ROWS {
                z[r][q * DOT_ROWS + c] += d[r][c];
            }
        }
    }
    let done = w_tiles.len() * DOT_ROWS;
    for (i, wr) in w_rest.iter().enumerate() {
        let d = dot_tile::<S, T, K, R, 1>(s, x, core::array::from_ref(wr));
        for r in 0..R {
            z[r][done + i] += d[r][0];
        }
    }
}

/// The `R × C` dot products of `x`'s rows with `w`'s rows, one vector accumulator each.
#[inline(always)]
fn dot_tile<S: Simd, T: Lanes, const K: usize, const R: usize, const C: usize>(
    s: S,
    x: &[[T; K]; R],
    w: &[[T; K]; C],
) -> [[T; C]; R] {
    let zero = T::splat(s, T::ZERO);
    let mut acc = [[zero; C]; R];
    let mut xv: [&[T::V<S>]; R] = [&[]; R];
    let mut wv: [&[T::V<S>]; C] = [&[]; C];
    for r in 0..R {
        xv[r] = T::split::<S>(&x[r]).0;
    }
    for c in 0..C {
        wv[c] = T::split::<S>(&w[c]).0;
    }
    let vectors = T::split::<S>(&x[0]).0.len();
    for k in 0..vectors {
        let mut wk = [zero; C];
        for c in 0..C {
            wk[c] = wv[c][k];
        }
        for r in 0..R {
            let xk = xv[r][k];
            for c in 0..C {
                acc[r][c] = T::mul_add(s, xk, wk[c], acc[r][c]);
            }
        }
    }
    let mut out = [[T::ZERO; C]; R];
    for r in 0..R {
        let x_tail = T::split::<S>(&x[r]).1;
        for c in 0..C {
            let w_tail = T::split::<S>(&w[c]).1;
            let mut sum = T::reduce_sum(s, acc[r][c]);
            for (a, b) in x_tail.iter().zip(w_tail) {
                sum += *a * *b;
            }
            out[r][c] = sum;
        }
    }
    out
}

/// `z[b][j] += Σ_k x[b][k] · w[k][j]` for every sample `b`: `Z += X W`.
///
/// # Panics
/// If `x` and `z` differ in length.
pub fn gemm_nn_acc<T: Lanes, const K: usize, const M: usize>(
    x: &[[T; K]],
    w: &[[T; M]; K],
    z: &mut [[T; M]],
) {
    assert_eq!(x.len(), z.len(), "gemm_nn_acc: rows of x and z");
    Arch::new().dispatch(Nn { x, w, z });
}

struct Nn<'a, T, const K: usize, const M: usize> {
    x: &'a [[T; K]],
    w: &'a [[T; M]; K],
    z: &'a mut [[T; M]],
}

impl<T: Lanes, const K: usize, const M: usize> WithSimd for Nn<'_, T, K, M> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let Nn { x, w, z } = self;
        let (x_tiles, x_rest) = x.as_chunks::<TILE_ROWS>();
        let (z_tiles, z_rest) = z.as_chunks_mut::<TILE_ROWS>();
        for (xt, zt) in x_tiles.iter().zip(z_tiles) {
            nn_rows::<S, T, K, M, TILE_ROWS>(s, xt, w, zt);
        }
        for (xr, zr) in x_rest.iter().zip(z_rest) {
            nn_rows::<S, T, K, M, 1>(s, core::array::from_ref(xr), w, core::array::from_mut(zr));
        }
    }
}

/// `R` samples times `w`, across `w`'s columns in tiles of [`TILE_VECS`] vectors.
#[inline(always)]
fn nn_rows<S: Simd, T: Lanes, const K: usize, const M: usize, const R: usize>(
    s: S,
    x: &[[T; K]; R],
    w: &[[T; M]; K],
    z: &mut [[T; M]; R],
) {
    let vectors = T::split::<S>(&w[0][..]).0.len();
    let mut v0 = 0;
    while v0 + TILE_VECS <= vectors {
        nn_tile::<S, T, K, M, R, TILE_VECS>(s, x, w, z, v0);
        v0 += TILE_VECS;
    }
    while v0 < vectors {
        nn_tile::<S, T, K, M, R, 1>(s, x, w, z, v0);
        v0 += 1;
    }
    // Columns after the last whole vector.
    for j in vectors * T::lanes::<S>()..M {
        for r in 0..R {
            let mut sum = T::ZERO;
            for k in 0..K {
                sum += x[r][k] * w[k][j];
            }
            z[r][j] += sum;
        }
    }
}

/// Vectors `v0 .. v0 + C` of the rows of `z`: `acc[r][c] += x[r][k] · w[k][v0 + c]`.
#[inline(always)]
fn nn_tile<S: Simd, T: Lanes, const K: usize, const M: usize, const R: usize, const C: usize>(
    s: S,
    x: &[[T; K]; R],
    w: &[[T; M]; K],
    z: &mut [[T; M]; R],
    v0: usize,
) {
    let zero = T::splat(s, T::ZERO);
    let mut acc = [[zero; C]; R];
    for k in 0..K {
        let wk = &T::split::<S>(&w[k][..]).0[v0..v0 + C];
        for r in 0..R {
            let a = T::splat(s, x[r][k]);
            for c in 0..C {
                acc[r][c] = T::mul_add(s, a, wk[c], acc[r][c]);
            }
        }
    }
    for r in 0..R {
        let zr = &mut T::split_mut::<S>(&mut z[r][..]).0[v0..v0 + C];
        for c in 0..C {
            zr[c] = T::vadd(s, zr[c], acc[r][c]);
        }
    }
}

/// `g[i][k] += Σ_b u[b][i] · v[b][k]`: the outer products `u_b ⊗ v_b` of a chunk, summed
/// (`G += Uᵀ V`).
///
/// # Panics
/// If `u` and `v` differ in length.
pub fn gemm_tn_acc<T: Lanes, const M: usize, const K: usize>(
    u: &[[T; M]],
    v: &[[T; K]],
    g: &mut [[T; K]; M],
) {
    assert_eq!(u.len(), v.len(), "gemm_tn_acc: rows of u and v");
    Arch::new().dispatch(Tn { u, v, g });
}

struct Tn<'a, T, const M: usize, const K: usize> {
    u: &'a [[T; M]],
    v: &'a [[T; K]],
    g: &'a mut [[T; K]; M],
}

impl<T: Lanes, const M: usize, const K: usize> WithSimd for Tn<'_, T, M, K> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let Tn { u, v, g } = self;
        let vectors = T::split::<S>(&g[0][..]).0.len();
        let (g_tiles, g_rest) = g.as_chunks_mut::<TILE_ROWS>();
        // Column tiles outside, so the chunk's slice of `v` stays in cache across the rows.
        let mut v0 = 0;
        while v0 + TILE_VECS <= vectors {
            for (t, gt) in g_tiles.iter_mut().enumerate() {
                tn_tile::<S, T, M, K, TILE_ROWS, TILE_VECS>(s, u, v, gt, t * TILE_ROWS, v0);
            }
            for (i, gr) in g_rest.iter_mut().enumerate() {
                let row = g_tiles.len() * TILE_ROWS + i;
                tn_tile::<S, T, M, K, 1, TILE_VECS>(s, u, v, core::array::from_mut(gr), row, v0);
            }
            v0 += TILE_VECS;
        }
        while v0 < vectors {
            for (t, gt) in g_tiles.iter_mut().enumerate() {
                tn_tile::<S, T, M, K, TILE_ROWS, 1>(s, u, v, gt, t * TILE_ROWS, v0);
            }
            for (i, gr) in g_rest.iter_mut().enumerate() {
                let row = g_tiles.len() * TILE_ROWS + i;
                tn_tile::<S, T, M, K, 1, 1>(s, u, v, core::array::from_mut(gr), row, v0);
            }
            v0 += 1;
        }
        // Columns after the last whole vector.
        let rows = g_tiles.iter_mut().flatten().chain(g_rest.iter_mut());
        for (i, gi) in rows.enumerate() {
            for k in vectors * T::lanes::<S>()..K {
                let mut sum = T::ZERO;
                for (ub, vb) in u.iter().zip(v) {
                    sum += ub[i] * vb[k];
                }
                gi[k] += sum;
            }
        }
    }
}

/// Rows `i0 .. i0 + R` and vectors `v0 .. v0 + C` of `g`, summed over the chunk.
#[inline(always)]
fn tn_tile<S: Simd, T: Lanes, const M: usize, const K: usize, const R: usize, const C: usize>(
    s: S,
    u: &[[T; M]],
    v: &[[T; K]],
    g: &mut [[T; K]; R],
    i0: usize,
    v0: usize,
) {
    let zero = T::splat(s, T::ZERO);
    let mut acc = [[zero; C]; R];
    for (ub, vb) in u.iter().zip(v) {
        let vk = &T::split::<S>(&vb[..]).0[v0..v0 + C];
        for r in 0..R {
            let a = T::splat(s, ub[i0 + r]);
            for c in 0..C {
                acc[r][c] = T::mul_add(s, a, vk[c], acc[r][c]);
            }
        }
    }
    for r in 0..R {
        let gr = &mut T::split_mut::<S>(&mut g[r][..]).0[v0..v0 + C];
        for c in 0..C {
            gr[c] = T::vadd(s, gr[c], acc[r][c]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Small integers, so every product and sum is exact in f64 and any order agrees.
    fn ints<const N: usize>(rows: usize, seed: usize) -> Vec<[f64; N]> {
        (0..rows)
            .map(|r| core::array::from_fn(|c| ((r * 7 + c * 3 + seed) % 11) as f64 - 5.0))
            .collect()
    }

    fn check<const K: usize, const M: usize>() {
        for n in [0, 1, 3, 4, 5, 9] {
            let x = ints::<K>(n, 1);
            let w: [[f64; K]; M] = ints::<K>(M, 2).try_into().expect("M rows");
            let wt: [[f64; M]; K] = ints::<M>(K, 3).try_into().expect("K rows");
            let start = ints::<M>(n, 4);

            let mut z = start.clone();
            gemm_nt_acc(&x, &w, &mut z);
            for b in 0..n {
                for i in 0..M {
                    let want: f64 = (0..K).map(|k| x[b][k] * w[i][k]).sum::<f64>() + start[b][i];
                    assert_eq!(z[b][i], want, "nt K={K} M={M} n={n} at ({b}, {i})");
                }
            }

            let mut z = start.clone();
            gemm_nn_acc(&x, &wt, &mut z);
            for b in 0..n {
                for j in 0..M {
                    let want: f64 = (0..K).map(|k| x[b][k] * wt[k][j]).sum::<f64>() + start[b][j];
                    assert_eq!(z[b][j], want, "nn K={K} M={M} n={n} at ({b}, {j})");
                }
            }

            let u = ints::<M>(n, 5);
            let mut g: [[f64; K]; M] = ints::<K>(M, 6).try_into().expect("M rows");
            let before = g;
            gemm_tn_acc(&u, &x, &mut g);
            for i in 0..M {
                for k in 0..K {
                    let want: f64 = (0..n).map(|b| u[b][i] * x[b][k]).sum::<f64>() + before[i][k];
                    assert_eq!(g[i][k], want, "tn K={K} M={M} n={n} at ({i}, {k})");
                }
            }
        }
    }

    #[test]
    fn every_tile_and_tail_covers_each_entry_once() {
        // Sizes around the vector widths (2, 4, 8) and the tiles (4 rows, 3 vectors).
        check::<1, 1>();
        check::<3, 2>();
        check::<8, 4>();
        check::<13, 7>();
        check::<24, 12>();
        check::<33, 29>();
        check::<64, 10>();
    }

    #[test]
    fn f32_agrees_with_f64_up_to_rounding() {
        let x: Vec<[f32; 37]> = (0..6)
            .map(|r| core::array::from_fn(|c| ((r * 37 + c) as f32 * 0.37).sin()))
            .collect();
        let w: [[f32; 37]; 11] =
            core::array::from_fn(|i| core::array::from_fn(|k| ((i * 5 + k) as f32 * 0.11).cos()));
        let mut z = std::vec![[0f32; 11]; 6];
        gemm_nt_acc(&x, &w, &mut z);
        for b in 0..6 {
            for i in 0..11 {
                let want: f64 = (0..37)
                    .map(|k| f64::from(x[b][k]) * f64::from(w[i][k]))
                    .sum();
                assert!(
                    (f64::from(z[b][i]) - want).abs() < 1e-5,
                    "({b}, {i}): {} vs {want}",
                    z[b][i]
                );
            }
        }
    }
}
