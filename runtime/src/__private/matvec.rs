//! Matrix–vector kernels for one sample, over `pulp`'s SIMD with the instruction set chosen
//! at run time, as the matrix–matrix kernels of [`super::gemm`] are. The per-sample code
//! calls them for products of at least [`super::kernels::OUT_OF_LINE`] elements (`w @ x` from
//! [`super::kernels::MATVEC_OUT_OF_LINE`]), where the
//! CPU's widest vectors (AVX2 with FMA where there is one) pay for the dispatch; smaller
//! products stay inline, written for the default target.

use pulp::{Arch, Simd, WithSimd};

use super::gemm::Lanes;

/// Vectors of an output row kept in registers at once: 8 accumulators, with room for the
/// operands in AVX2's 16 registers. (Splitting each over even and odd rows of `w`, for
/// more independent chains, measured no faster.)
const ROW_VECS: usize = 8;
/// Rows of `w` whose dot products with `x` run together, to hide the adds' latency.
const DOT_ROWS: usize = 4;

/// `y[j] += Σ_i x[i] w[i][j]`: `x @ w`, one axpy per row of `w`, the output in registers.
pub fn vecmat_wide<T: Lanes, const M: usize, const N: usize>(
    x: &[T; M],
    w: &[[T; N]; M],
    y: &mut [T; N],
) {
    Arch::new().dispatch(VecMat { x, w, y });
}

struct VecMat<'a, T, const M: usize, const N: usize> {
    x: &'a [T; M],
    w: &'a [[T; N]; M],
    y: &'a mut [T; N],
}

impl<T: Lanes, const M: usize, const N: usize> WithSimd for VecMat<'_, T, M, N> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let VecMat { x, w, y } = self;
        let (yv, y_tail) = T::split_mut::<S>(&mut y[..]);
        let (blocks, rest) = yv.as_chunks_mut::<ROW_VECS>();
        for (b, block) in blocks.iter_mut().enumerate() {
            vecmat_block::<S, T, M, N, ROW_VECS>(s, x, w, block, b * ROW_VECS);
        }
        // The last few vectors, in a block of their exact width.
        let v0 = blocks.len() * ROW_VECS;
        macro_rules! block {
            ($c:literal) => {
                vecmat_block::<S, T, M, N, $c>(
                    s,
                    x,
                    w,
                    rest.first_chunk_mut().expect("C vectors"),
                    v0,
                )
            };
        }
        match rest.len() {
            1 => block!(1),
            2 => block!(2),
            3 => block!(3),
            4 => block!(4),
            5 => block!(5),
            6 => block!(6),
            7 => block!(7),
            _ => {}
        }
        if !y_tail.is_empty() {
            let mut acc = T::load_part(s, y_tail);
            for (xi, row) in x.iter().zip(w) {
                let wv = T::load_part(s, T::split::<S>(&row[..]).1);
                acc = T::mul_add(s, T::splat(s, *xi), wv, acc);
            }
            T::store_part(s, y_tail, acc);
        }
    }
}

/// Vectors `v0 .. v0 + C` of `y`, accumulated in registers over every row of `w`; `C`
/// is known when compiled, so the accumulators stay in registers.
#[inline(always)]
fn vecmat_block<S: Simd, T: Lanes, const M: usize, const N: usize, const C: usize>(
    s: S,
    x: &[T; M],
    w: &[[T; N]; M],
    y: &mut [T::V<S>; C],
    v0: usize,
) {
    let mut acc = *y;
    for (xi, row) in x.iter().zip(w) {
        let a = T::splat(s, *xi);
        let row: &[T::V<S>; C] = T::split::<S>(&row[..]).0[v0..]
            .first_chunk()
            .expect("C vectors");
        for c in 0..C {
            acc[c] = T::mul_add(s, a, row[c], acc[c]);
        }
    }
    *y = acc;
}

/// `y[i] += Σ_j w[i][j] x[j]`: `w @ x`, the dot products of [`DOT_ROWS`] rows at a time.
pub fn matvec_wide<T: Lanes, const M: usize, const N: usize>(
    w: &[[T; N]; M],
    x: &[T; N],
    y: &mut [T; M],
) {
    Arch::new().dispatch(MatVec { w, x, y });
}

struct MatVec<'a, T, const M: usize, const N: usize> {
    w: &'a [[T; N]; M],
    x: &'a [T; N],
    y: &'a mut [T; M],
}

impl<T: Lanes, const M: usize, const N: usize> WithSimd for MatVec<'_, T, M, N> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let MatVec { w, x, y } = self;
        let (w_tiles, w_rest) = w.as_chunks::<DOT_ROWS>();
        let (y_tiles, y_rest) = y.as_chunks_mut::<DOT_ROWS>();
        for (wt, yt) in w_tiles.iter().zip(y_tiles) {
            dots::<S, T, N, DOT_ROWS>(s, wt, x, yt);
        }
        for (wr, yr) in w_rest.iter().zip(y_rest) {
            dots::<S, T, N, 1>(s, core::array::from_ref(wr), x, core::array::from_mut(yr));
        }
    }
}

/// `y[r] += w[r] · x` for `R` rows, two vector accumulators each.
#[inline(always)]
fn dots<S: Simd, T: Lanes, const N: usize, const R: usize>(
    s: S,
    w: &[[T; N]; R],
    x: &[T; N],
    y: &mut [T; R],
) {
    let zero = T::splat(s, T::ZERO);
    let mut acc = [[zero; 2]; R];
    let (xv, x_tail) = T::split::<S>(&x[..]);
    let (pairs, last) = xv.as_chunks::<2>();
    for (k, xk) in pairs.iter().enumerate() {
        for r in 0..R {
            let wk = &T::split::<S>(&w[r][..]).0[2 * k..2 * k + 2];
            acc[r][0] = T::mul_add(s, xk[0], wk[0], acc[r][0]);
            acc[r][1] = T::mul_add(s, xk[1], wk[1], acc[r][1]);
        }
    }
    for xk in last {
        for r in 0..R {
            let wk = T::split::<S>(&w[r][..]).0[xv.len() - 1];
            acc[r][0] = T::mul_add(s, *xk, wk, acc[r][0]);
        }
    }
    if !x_tail.is_empty() {
        let xt = T::load_part(s, x_tail);
        for r in 0..R {
            let wt = T::load_part(s, T::split::<S>(&w[r][..]).1);
            acc[r][1] = T::mul_add(s, xt, wt, acc[r][1]);
        }
    }
    for r in 0..R {
        y[r] += T::reduce_sum(s, T::vadd(s, acc[r][0], acc[r][1]));
    }
}

/// `a[i][j] += u[i] v[j]`: the outer product `u ⊗ v`, one axpy per row of `a`, `v` in
/// registers. A row whose `u[i]` is exactly zero is skipped, as in the inline kernel.
pub fn outer_wide<T: Lanes, const M: usize, const N: usize>(
    u: &[T; M],
    v: &[T; N],
    a: &mut [[T; N]; M],
) {
    Arch::new().dispatch(Outer { u, v, a });
}

struct Outer<'a, T, const M: usize, const N: usize> {
    u: &'a [T; M],
    v: &'a [T; N],
    a: &'a mut [[T; N]; M],
}

impl<T: Lanes, const M: usize, const N: usize> WithSimd for Outer<'_, T, M, N> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let Outer { u, v, a } = self;
        let (vv, v_tail) = T::split::<S>(&v[..]);
        let v_last = T::load_part(s, v_tail);
        let mut v0 = 0;
        loop {
            let width = (vv.len() - v0).min(ROW_VECS);
            let block = &vv[v0..v0 + width];
            for (ui, row) in u.iter().zip(a.iter_mut()) {
                if *ui == T::ZERO {
                    continue;
                }
                let b = T::splat(s, *ui);
                let (rv, r_tail) = T::split_mut::<S>(&mut row[..]);
                for (d, vj) in rv[v0..v0 + width].iter_mut().zip(block) {
                    *d = T::mul_add(s, b, *vj, *d);
                }
                // The columns after the last whole vector, with the last block.
                if v0 + width == vv.len() && !r_tail.is_empty() {
                    let sum = T::mul_add(s, b, v_last, T::load_part(s, r_tail));
                    T::store_part(s, r_tail, sum);
                }
            }
            v0 += width;
            if v0 >= vv.len() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small integers, so every product and sum is exact in f64 and any order agrees.
    fn ints<const N: usize>(seed: usize) -> [f64; N] {
        core::array::from_fn(|i| ((i * 7 + seed) % 11) as f64 - 5.0)
    }

    fn mat<const M: usize, const N: usize>(seed: usize) -> [[f64; N]; M] {
        core::array::from_fn(|i| ints(seed + 3 * i))
    }

    fn check<const M: usize, const N: usize>() {
        let w: [[f64; N]; M] = mat(1);
        let (x, v) = (ints::<M>(2), ints::<N>(3));
        let mut y = ints::<N>(4);
        let start = y;
        vecmat_wide(&x, &w, &mut y);
        for j in 0..N {
            let want = start[j] + (0..M).map(|i| x[i] * w[i][j]).sum::<f64>();
            assert_eq!(y[j], want, "vecmat M={M} N={N} at {j}");
        }
        let mut y = ints::<M>(5);
        let start = y;
        matvec_wide(&w, &v, &mut y);
        for i in 0..M {
            let want = start[i] + (0..N).map(|j| w[i][j] * v[j]).sum::<f64>();
            assert_eq!(y[i], want, "matvec M={M} N={N} at {i}");
        }
        let mut a = w;
        outer_wide(&x, &v, &mut a);
        for i in 0..M {
            for j in 0..N {
                assert_eq!(
                    a[i][j],
                    w[i][j] + x[i] * v[j],
                    "outer M={M} N={N} at ({i}, {j})"
                );
            }
        }
    }

    #[test]
    fn every_block_and_tail_covers_each_entry_once() {
        // Around the vector widths (2, 4, 8), the row blocks (8 vectors), the dot tiles
        // (4 rows, pairs of vectors), and a zero in `u` (x has one at i = 9 mod 11).
        check::<1, 1>();
        check::<3, 5>();
        check::<5, 8>();
        check::<9, 13>();
        check::<12, 33>();
        check::<17, 70>();
        check::<64, 64>();
        check::<10, 130>();
    }
}
