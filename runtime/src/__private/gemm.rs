//! Matrix–matrix kernels for chunks of samples: what `forward_batch`, `loss_batch` and
//! `backward_batch` run a layer through. A chunk `xs: &[[T; K]]` is already a row-major
//! matrix with one sample per row, so no sample is copied, and nothing is allocated.
//!
//! Three products cover every layer of both layouts:
//! - [`gemm_nt_acc`], `Z += X Wᵀ`: `w @ x` forward (`W` stored `[out, in]`), and the input
//!   gradient `W δ` of `x @ w`;
//! - [`gemm_nn_acc`], `Z += X W`: `x @ w` forward (`W` stored `[in, out]`), and the input
//!   gradient `Wᵀ δ` of `w @ x`;
//! - [`gemm_tn_acc`], `G += Uᵀ V`: a weight gradient `Σ_b δ_b ⊗ x_b` over the chunk.
//!
//! Each runs register tiles of 6 rows by 2 vectors: 12 accumulators, which leaves AVX2's 16
//! registers room for the operands (a 4 × 3 tile, also 12 accumulators, spilled one and
//! ran at half the speed; measured in `BENCHMARKS.md`). The kernels are written once over
//! `pulp`'s safe SIMD types, and `pulp` picks the instruction set when a kernel is called:
//! AVX2 with FMA on x86-64 CPUs that have it (read from the CPU at run time, with or
//! without `std`), NEON on aarch64, and a portable scalar form elsewhere. They fuse
//! multiply and add where the CPU can, so a product rounds once where the per-sample code
//! rounds twice: the results agree with the per-sample methods up to rounding.

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
    /// Fewer scalars than a vector holds, the other lanes zero.
    fn load_part<S: Simd>(s: S, x: &[Self]) -> Self::V<S>;
    /// The first `x.len()` lanes of `v` into `x`.
    fn store_part<S: Simd>(s: S, x: &mut [Self], v: Self::V<S>);
}

macro_rules! lanes {
    ($t:ty, $v:ident, $splat:ident, $fma:ident, $add:ident, $sum:ident, $split:ident,
     $split_mut:ident, $load:ident, $store:ident) => {
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
            #[inline(always)]
            fn load_part<S: Simd>(s: S, x: &[Self]) -> S::$v {
                s.$load(x)
            }
            #[inline(always)]
            fn store_part<S: Simd>(s: S, x: &mut [Self], v: S::$v) {
                s.$store(x, v)
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
    as_mut_simd_f32s,
    partial_load_f32s,
    partial_store_f32s
);
lanes!(
    f64,
    f64s,
    splat_f64s,
    mul_add_e_f64s,
    add_f64s,
    reduce_sum_f64s,
    as_simd_f64s,
    as_mut_simd_f64s,
    partial_load_f64s,
    partial_store_f64s
);

/// Rows of the output in one register tile: samples in [`gemm_nn_acc`] and
/// [`gemm_nt_acc`], weight rows in [`gemm_tn_acc`].
pub const TILE_ROWS: usize = 6;
/// Vectors across one row of a tile (or, in the dot-product form of [`gemm_nt_acc`], rows
/// of `w`).
const TILE_COLS: usize = 2;
/// [`gemm_nt_acc`] copies `w` transposed and runs [`gemm_nn_acc`] when its rows are
/// shorter than this and the copy fits in [`TRANSPOSE_BYTES`]: dot products of short rows
/// spend most of their time adding up their lanes (a 64 × 64 layer ran at 50 GFLOP/s as
/// dot products, 84 through the copy; a 784-wide one at 97 as dot products).
const TRANSPOSE_BELOW: usize = 256;
/// The largest transposed copy of `w` [`gemm_nt_acc`] makes on the stack.
const TRANSPOSE_BYTES: usize = 64 * 1024;

/// Runs `$tile!(R)` for the `R` (1 to `TILE_ROWS - 1`) rows left after the whole tiles.
macro_rules! rest_rows {
    ($rows:expr, $tile:ident) => {
        match $rows {
            1 => $tile!(1),
            2 => $tile!(2),
            3 => $tile!(3),
            4 => $tile!(4),
            5 => $tile!(5),
            _ => {}
        }
    };
}

/// The first `R` rows as an array; the callers pass at least that many.
#[inline(always)]
fn as_rows<T, const N: usize, const R: usize>(rows: &[[T; N]]) -> &[[T; N]; R] {
    rows.first_chunk().expect("a remainder of R rows")
}

/// Mutable form of [`as_rows`].
#[inline(always)]
fn as_rows_mut<T, const N: usize, const R: usize>(rows: &mut [[T; N]]) -> &mut [[T; N]; R] {
    rows.first_chunk_mut().expect("a remainder of R rows")
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
        nn::<S, T, K, M>(s, self.x, self.w, self.z);
    }
}

#[inline(always)]
fn nn<S: Simd, T: Lanes, const K: usize, const M: usize>(
    s: S,
    x: &[[T; K]],
    w: &[[T; M]; K],
    z: &mut [[T; M]],
) {
    let (x_tiles, x_rest) = x.as_chunks::<TILE_ROWS>();
    let (z_tiles, z_rest) = z.as_chunks_mut::<TILE_ROWS>();
    for (xt, zt) in x_tiles.iter().zip(z_tiles) {
        nn_rows::<S, T, K, M, TILE_ROWS>(s, w, xt, zt);
    }
    macro_rules! tile {
        ($r:literal) => {
            nn_rows::<S, T, K, M, $r>(s, w, as_rows(x_rest), as_rows_mut(z_rest))
        };
    }
    rest_rows!(x_rest.len(), tile);
}

/// `R` samples times `w`, across `w`'s columns: tiles of [`TILE_COLS`] vectors, then one
/// vector, then the columns after the last whole vector.
#[inline(always)]
fn nn_rows<S: Simd, T: Lanes, const K: usize, const M: usize, const R: usize>(
    s: S,
    w: &[[T; M]; K],
    x: &[[T; K]; R],
    z: &mut [[T; M]; R],
) {
    let vectors = T::split::<S>(&w[0][..]).0.len();
    let mut v0 = 0;
    while v0 + TILE_COLS <= vectors {
        nn_tile::<S, T, K, M, R, TILE_COLS>(s, x, w, z, v0);
        v0 += TILE_COLS;
    }
    if v0 < vectors {
        nn_tile::<S, T, K, M, R, 1>(s, x, w, z, v0);
    }
    if !T::split::<S>(&w[0][..]).1.is_empty() {
        let zero = T::splat(s, T::ZERO);
        let mut acc = [zero; R];
        for (k, wk) in w.iter().enumerate() {
            let wk = T::load_part(s, T::split::<S>(&wk[..]).1);
            for r in 0..R {
                acc[r] = T::mul_add(s, T::splat(s, x[r][k]), wk, acc[r]);
            }
        }
        for r in 0..R {
            let zr = T::split_mut::<S>(&mut z[r][..]).1;
            let sum = T::vadd(s, T::load_part(s, zr), acc[r]);
            T::store_part(s, zr, sum);
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
    for (k, wk) in w.iter().enumerate() {
        let wk: &[T::V<S>; C] = vectors_at(T::split::<S>(&wk[..]).0, v0);
        for r in 0..R {
            let a = T::splat(s, x[r][k]);
            for c in 0..C {
                acc[r][c] = T::mul_add(s, a, wk[c], acc[r][c]);
            }
        }
    }
    for r in 0..R {
        add_into::<S, T, C>(
            s,
            vectors_at_mut(T::split_mut::<S>(&mut z[r][..]).0, v0),
            &acc[r],
        );
    }
}

/// `C` vectors from `v0`; the callers stay within the row.
#[inline(always)]
fn vectors_at<V, const C: usize>(row: &[V], v0: usize) -> &[V; C] {
    row[v0..].first_chunk().expect("C vectors in the row")
}

/// Mutable form of [`vectors_at`].
#[inline(always)]
fn vectors_at_mut<V, const C: usize>(row: &mut [V], v0: usize) -> &mut [V; C] {
    row[v0..].first_chunk_mut().expect("C vectors in the row")
}

/// `dst[c] += acc[c]`.
#[inline(always)]
fn add_into<S: Simd, T: Lanes, const C: usize>(s: S, dst: &mut [T::V<S>; C], acc: &[T::V<S>; C]) {
    for c in 0..C {
        dst[c] = T::vadd(s, dst[c], acc[c]);
    }
}

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
    if K < TRANSPOSE_BELOW && K * M * core::mem::size_of::<T>() <= TRANSPOSE_BYTES {
        nt_through_copy(x, w, z);
    } else {
        Arch::new().dispatch(Nt { x, w, z });
    }
}

/// [`gemm_nt_acc`] for short rows: `w` copied transposed onto the stack, then `Z += X W`.
/// Out of line, so the copy's stack is only taken when it is made.
#[inline(never)]
fn nt_through_copy<T: Lanes, const K: usize, const M: usize>(
    x: &[[T; K]],
    w: &[[T; K]; M],
    z: &mut [[T; M]],
) {
    // Written element by element, without zeroing it first (measured 20 % faster).
    let wt: [[T; M]; K] = core::array::from_fn(|k| core::array::from_fn(|i| w[i][k]));
    Arch::new().dispatch(Nn { x, w: &wt, z });
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
            nt_rows::<S, T, K, M, TILE_ROWS>(s, w, xt, zt);
        }
        macro_rules! tile {
            ($r:literal) => {
                nt_rows::<S, T, K, M, $r>(s, w, as_rows(x_rest), as_rows_mut(z_rest))
            };
        }
        rest_rows!(x_rest.len(), tile);
    }
}

/// `R` samples against every row of `w`, [`TILE_COLS`] rows at a time.
#[inline(always)]
fn nt_rows<S: Simd, T: Lanes, const K: usize, const M: usize, const R: usize>(
    s: S,
    w: &[[T; K]; M],
    x: &[[T; K]; R],
    z: &mut [[T; M]; R],
) {
    let (w_tiles, w_rest) = w.as_chunks::<TILE_COLS>();
    for (q, wt) in w_tiles.iter().enumerate() {
        let d = dot_tile::<S, T, K, R, TILE_COLS>(s, x, wt);
        for r in 0..R {
            for c in 0..TILE_COLS {
                z[r][q * TILE_COLS + c] += d[r][c];
            }
        }
    }
    let done = w_tiles.len() * TILE_COLS;
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
    let vectors = T::split::<S>(&x[0]).0.len();
    for k in 0..vectors {
        let mut wk = [zero; C];
        for c in 0..C {
            wk[c] = T::split::<S>(&w[c]).0[k];
        }
        for r in 0..R {
            let xk = T::split::<S>(&x[r]).0[k];
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
        let (g_tiles, g_rest) = g.as_chunks_mut::<TILE_ROWS>();
        for (t, gt) in g_tiles.iter_mut().enumerate() {
            tn_rows::<S, T, M, K, TILE_ROWS>(s, u, v, t * TILE_ROWS, gt);
        }
        let i0 = g_tiles.len() * TILE_ROWS;
        macro_rules! tile {
            ($r:literal) => {
                tn_rows::<S, T, M, K, $r>(s, u, v, i0, as_rows_mut(g_rest))
            };
        }
        rest_rows!(g_rest.len(), tile);
    }
}

/// Rows `i0 .. i0 + R` of `g`, across its columns: tiles of [`TILE_COLS`] vectors, then
/// one vector, then the columns after the last whole vector.
#[inline(always)]
fn tn_rows<S: Simd, T: Lanes, const M: usize, const K: usize, const R: usize>(
    s: S,
    u: &[[T; M]],
    v: &[[T; K]],
    i0: usize,
    g: &mut [[T; K]; R],
) {
    let vectors = T::split::<S>(&g[0][..]).0.len();
    let mut v0 = 0;
    while v0 + TILE_COLS <= vectors {
        tn_tile::<S, T, M, K, R, TILE_COLS>(s, u, v, g, i0, v0);
        v0 += TILE_COLS;
    }
    if v0 < vectors {
        tn_tile::<S, T, M, K, R, 1>(s, u, v, g, i0, v0);
    }
    if !T::split::<S>(&g[0][..]).1.is_empty() {
        let zero = T::splat(s, T::ZERO);
        let mut acc = [zero; R];
        for (ub, vb) in u.iter().zip(v) {
            let us: &[T; R] = ub[i0..].first_chunk().expect("R rows of u");
            let vk = T::load_part(s, T::split::<S>(&vb[..]).1);
            for r in 0..R {
                acc[r] = T::mul_add(s, T::splat(s, us[r]), vk, acc[r]);
            }
        }
        for r in 0..R {
            let gr = T::split_mut::<S>(&mut g[r][..]).1;
            let sum = T::vadd(s, T::load_part(s, gr), acc[r]);
            T::store_part(s, gr, sum);
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
        let us: &[T; R] = ub[i0..].first_chunk().expect("R rows of u");
        let vk: &[T::V<S>; C] = vectors_at(T::split::<S>(&vb[..]).0, v0);
        for r in 0..R {
            let a = T::splat(s, us[r]);
            for c in 0..C {
                acc[r][c] = T::mul_add(s, a, vk[c], acc[r][c]);
            }
        }
    }
    for r in 0..R {
        add_into::<S, T, C>(
            s,
            vectors_at_mut(T::split_mut::<S>(&mut g[r][..]).0, v0),
            &acc[r],
        );
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
        for n in [0, 1, 3, 5, 6, 7, 12, 13] {
            let x = ints::<K>(n, 1);
            let w: [[f64; K]; M] = ints::<K>(M, 2).try_into().expect("M rows");
            let wt: [[f64; M]; K] = ints::<M>(K, 3).try_into().expect("K rows");
            let start = ints::<M>(n, 4);

            let mut z = start.clone();
            gemm_nt_acc(&x, &w, &mut z);
            for b in 0..n {
                for i in 0..M {
                    let want = (0..K).map(|k| x[b][k] * w[i][k]).sum::<f64>() + start[b][i];
                    assert_eq!(z[b][i], want, "nt K={K} M={M} n={n} at ({b}, {i})");
                }
            }

            let mut z = start.clone();
            gemm_nn_acc(&x, &wt, &mut z);
            for b in 0..n {
                for j in 0..M {
                    let want = (0..K).map(|k| x[b][k] * wt[k][j]).sum::<f64>() + start[b][j];
                    assert_eq!(z[b][j], want, "nn K={K} M={M} n={n} at ({b}, {j})");
                }
            }

            let u = ints::<M>(n, 5);
            let mut g: [[f64; K]; M] = ints::<K>(M, 6).try_into().expect("M rows");
            let before = g;
            gemm_tn_acc(&u, &x, &mut g);
            for i in 0..M {
                for k in 0..K {
                    let want = (0..n).map(|b| u[b][i] * x[b][k]).sum::<f64>() + before[i][k];
                    assert_eq!(g[i][k], want, "tn K={K} M={M} n={n} at ({i}, {k})");
                }
            }
        }
    }

    #[test]
    fn every_tile_and_tail_covers_each_entry_once() {
        // Sizes around the vector widths (2, 4, 8), the tiles (6 rows, 2 vectors), and
        // both forms of `gemm_nt_acc` (rows of 256 and more are dot products).
        check::<1, 1>();
        check::<3, 2>();
        check::<8, 4>();
        check::<13, 7>();
        check::<24, 12>();
        check::<33, 29>();
        check::<64, 10>();
        check::<300, 9>();
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
                let got = f64::from(z[b][i]);
                assert!((got - want).abs() < 1e-5, "({b}, {i}): {got} vs {want}");
            }
        }
    }
}
