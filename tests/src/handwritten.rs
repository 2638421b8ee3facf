//! Hand-written fixed-size nets, as an expert would write them without chainrule: the
//! baseline the benchmarks compare generated code with. Dot products use eight
//! independent accumulators (strict float semantics forbid reassociating one), the
//! `[in, out]` layout runs its products as axpy loops over rows, and iterators over
//! fixed-size arrays keep bounds checks out of the hot loops. Written independently of
//! `chainrule`'s runtime kernels; `tests/handwritten.rs` checks every gradient.

const LANES: usize = 8;

/// `Σ a[i] b[i]` with eight accumulators.
#[inline(always)]
pub fn dot<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ac, ar) = a.as_chunks::<LANES>();
    let (bc, br) = b.as_chunks::<LANES>();
    for (x, y) in ac.iter().zip(bc) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    // Halves first: lanes 0–3 and 4–7 are two vector registers, added as vectors.
    let half = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    let mut s = (half[0] + half[2]) + (half[1] + half[3]);
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}

/// `w x + b` for `w` stored `[out, in]`: one dot product per output.
#[inline(always)]
pub fn affine_rows<const O: usize, const I: usize>(
    w: &[[f32; I]; O],
    b: &[f32; O],
    x: &[f32; I],
) -> [f32; O] {
    let mut z = *b;
    for (zo, row) in z.iter_mut().zip(w) {
        *zo += dot(row, x);
    }
    z
}

/// `x w + b` for `w` stored `[in, out]`: one axpy per input.
#[inline(always)]
pub fn affine_cols<const I: usize, const O: usize>(
    x: &[f32; I],
    w: &[[f32; O]; I],
    b: &[f32; O],
) -> [f32; O] {
    let mut z = *b;
    for (xi, row) in x.iter().zip(w) {
        for (zo, wio) in z.iter_mut().zip(row) {
            *zo += xi * wio;
        }
    }
    z
}

/// Gradients of `z = w x + b` (`[out, in]`): `gw += dz ⊗ x`, `gb += dz`, and, when asked,
/// `dx = wᵀ dz` as axpys over the rows.
#[inline(always)]
pub fn affine_rows_backward<const O: usize, const I: usize>(
    w: &[[f32; I]; O],
    x: &[f32; I],
    dz: &[f32; O],
    gw: &mut [[f32; I]; O],
    gb: &mut [f32; O],
    dx: Option<&mut [f32; I]>,
) {
    for ((grow, gbo), d) in gw.iter_mut().zip(gb.iter_mut()).zip(dz) {
        *gbo += d;
        for (g, xi) in grow.iter_mut().zip(x) {
            *g += d * xi;
        }
    }
    if let Some(dx) = dx {
        *dx = [0.0; I];
        for (row, d) in w.iter().zip(dz) {
            for (dxi, wi) in dx.iter_mut().zip(row) {
                *dxi += d * wi;
            }
        }
    }
}

/// Gradients of `z = x w + b` (`[in, out]`): `gw += x ⊗ dz`, `gb += dz`, `dx = w dz`.
#[inline(always)]
pub fn affine_cols_backward<const I: usize, const O: usize>(
    w: &[[f32; O]; I],
    x: &[f32; I],
    dz: &[f32; O],
    gw: &mut [[f32; O]; I],
    gb: &mut [f32; O],
    dx: Option<&mut [f32; I]>,
) {
    for (g, d) in gb.iter_mut().zip(dz) {
        *g += d;
    }
    for (grow, xi) in gw.iter_mut().zip(x) {
        for (g, d) in grow.iter_mut().zip(dz) {
            *g += xi * d;
        }
    }
    if let Some(dx) = dx {
        for (dxi, row) in dx.iter_mut().zip(w) {
            *dxi = dot(row, dz);
        }
    }
}

#[inline(always)]
fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// Softmax cross-entropy of logits `z` against a distribution `t` (which sums to one):
/// returns the loss and `∂L/∂z = softmax(z) − t`.
#[inline(always)]
pub fn softmax_ce<const N: usize>(z: &[f32; N], t: &[f32; N]) -> (f32, [f32; N]) {
    let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let mut e = [0.0f32; N];
    let mut s = 0.0;
    for (ei, zi) in e.iter_mut().zip(z) {
        *ei = (zi - m).exp();
        s += *ei;
    }
    let lse = m + s.ln();
    let inv = 1.0 / s;
    let mut loss = 0.0;
    let mut dz = [0.0f32; N];
    for i in 0..N {
        loss -= t[i] * (z[i] - lse);
        dz[i] = e[i] * inv - t[i];
    }
    (loss, dz)
}

/// 2-8-1, sigmoid hidden and output, mean squared error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Net281 {
    pub w1: [[f32; 2]; 8],
    pub b1: [f32; 8],
    pub w2: [[f32; 8]; 1],
    pub b2: [f32; 1],
}

impl Net281 {
    pub fn forward(&self, x: &[f32; 2]) -> [f32; 1] {
        let mut h = affine_rows(&self.w1, &self.b1, x);
        h.iter_mut().for_each(|v| *v = sigmoid(*v));
        let mut y = affine_rows(&self.w2, &self.b2, &h);
        y[0] = sigmoid(y[0]);
        y
    }

    pub fn backward(&self, x: &[f32; 2], t: &[f32; 1], g: &mut Self) -> f32 {
        let mut h = affine_rows(&self.w1, &self.b1, x);
        h.iter_mut().for_each(|v| *v = sigmoid(*v));
        let y = sigmoid(affine_rows(&self.w2, &self.b2, &h)[0]);
        let e = y - t[0];
        let dz2 = [2.0 * e * y * (1.0 - y)];
        let mut dh = [0.0f32; 8];
        affine_rows_backward(&self.w2, &h, &dz2, &mut g.w2, &mut g.b2, Some(&mut dh));
        let mut dz1 = [0.0f32; 8];
        for i in 0..8 {
            dz1[i] = dh[i] * h[i] * (1.0 - h[i]);
        }
        affine_rows_backward(&self.w1, x, &dz1, &mut g.w1, &mut g.b1, None);
        e * e
    }
}

/// 4-16-16-3, tanh hidden layers, softmax cross-entropy on the logits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Net4_16_16_3 {
    pub w1: [[f32; 4]; 16],
    pub b1: [f32; 16],
    pub w2: [[f32; 16]; 16],
    pub b2: [f32; 16],
    pub w3: [[f32; 16]; 3],
    pub b3: [f32; 3],
}

impl Net4_16_16_3 {
    pub fn forward(&self, x: &[f32; 4]) -> [f32; 3] {
        let mut h1 = affine_rows(&self.w1, &self.b1, x);
        h1.iter_mut().for_each(|v| *v = v.tanh());
        let mut h2 = affine_rows(&self.w2, &self.b2, &h1);
        h2.iter_mut().for_each(|v| *v = v.tanh());
        affine_rows(&self.w3, &self.b3, &h2)
    }

    pub fn backward(&self, x: &[f32; 4], t: &[f32; 3], g: &mut Self) -> f32 {
        let mut h1 = affine_rows(&self.w1, &self.b1, x);
        h1.iter_mut().for_each(|v| *v = v.tanh());
        let mut h2 = affine_rows(&self.w2, &self.b2, &h1);
        h2.iter_mut().for_each(|v| *v = v.tanh());
        let z = affine_rows(&self.w3, &self.b3, &h2);
        let (loss, dz3) = softmax_ce(&z, t);
        let mut dh2 = [0.0f32; 16];
        affine_rows_backward(&self.w3, &h2, &dz3, &mut g.w3, &mut g.b3, Some(&mut dh2));
        let mut dz2 = [0.0f32; 16];
        for i in 0..16 {
            dz2[i] = dh2[i] * (1.0 - h2[i] * h2[i]);
        }
        let mut dh1 = [0.0f32; 16];
        affine_rows_backward(&self.w2, &h1, &dz2, &mut g.w2, &mut g.b2, Some(&mut dh1));
        let mut dz1 = [0.0f32; 16];
        for i in 0..16 {
            dz1[i] = dh1[i] * (1.0 - h1[i] * h1[i]);
        }
        affine_rows_backward(&self.w1, x, &dz1, &mut g.w1, &mut g.b1, None);
        loss
    }
}

#[inline(always)]
fn relu_inplace<const N: usize>(v: &mut [f32; N]) {
    v.iter_mut()
        .for_each(|x| *x = if *x > 0.0 { *x } else { 0.0 });
}

#[inline(always)]
fn relu_backward<const N: usize>(dh: &[f32; N], h: &[f32; N]) -> [f32; N] {
    let mut dz = [0.0f32; N];
    for i in 0..N {
        dz[i] = if h[i] > 0.0 { dh[i] } else { 0.0 };
    }
    dz
}

/// A relu MLP with two hidden layers and softmax cross-entropy, weights `[out, in]`
/// (PyTorch's layout, `w @ x`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MlpRows<const I: usize, const H1: usize, const H2: usize, const O: usize> {
    pub w1: [[f32; I]; H1],
    pub b1: [f32; H1],
    pub w2: [[f32; H1]; H2],
    pub b2: [f32; H2],
    pub w3: [[f32; H2]; O],
    pub b3: [f32; O],
}

impl<const I: usize, const H1: usize, const H2: usize, const O: usize> MlpRows<I, H1, H2, O> {
    pub fn forward(&self, x: &[f32; I]) -> [f32; O] {
        let mut h1 = affine_rows(&self.w1, &self.b1, x);
        relu_inplace(&mut h1);
        let mut h2 = affine_rows(&self.w2, &self.b2, &h1);
        relu_inplace(&mut h2);
        affine_rows(&self.w3, &self.b3, &h2)
    }

    pub fn backward(&self, x: &[f32; I], t: &[f32; O], g: &mut Self) -> f32 {
        let mut h1 = affine_rows(&self.w1, &self.b1, x);
        relu_inplace(&mut h1);
        let mut h2 = affine_rows(&self.w2, &self.b2, &h1);
        relu_inplace(&mut h2);
        let z = affine_rows(&self.w3, &self.b3, &h2);
        let (loss, dz3) = softmax_ce(&z, t);
        let mut dh2 = [0.0f32; H2];
        affine_rows_backward(&self.w3, &h2, &dz3, &mut g.w3, &mut g.b3, Some(&mut dh2));
        let dz2 = relu_backward(&dh2, &h2);
        let mut dh1 = [0.0f32; H1];
        affine_rows_backward(&self.w2, &h1, &dz2, &mut g.w2, &mut g.b2, Some(&mut dh1));
        let dz1 = relu_backward(&dh1, &h1);
        affine_rows_backward(&self.w1, x, &dz1, &mut g.w1, &mut g.b1, None);
        loss
    }
}

/// The same MLP with weights `[in, out]` (Flax's layout, `x @ w`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MlpCols<const I: usize, const H1: usize, const H2: usize, const O: usize> {
    pub w1: [[f32; H1]; I],
    pub b1: [f32; H1],
    pub w2: [[f32; H2]; H1],
    pub b2: [f32; H2],
    pub w3: [[f32; O]; H2],
    pub b3: [f32; O],
}

impl<const I: usize, const H1: usize, const H2: usize, const O: usize> MlpCols<I, H1, H2, O> {
    pub fn forward(&self, x: &[f32; I]) -> [f32; O] {
        let mut h1 = affine_cols(x, &self.w1, &self.b1);
        relu_inplace(&mut h1);
        let mut h2 = affine_cols(&h1, &self.w2, &self.b2);
        relu_inplace(&mut h2);
        affine_cols(&h2, &self.w3, &self.b3)
    }

    pub fn backward(&self, x: &[f32; I], t: &[f32; O], g: &mut Self) -> f32 {
        let mut h1 = affine_cols(x, &self.w1, &self.b1);
        relu_inplace(&mut h1);
        let mut h2 = affine_cols(&h1, &self.w2, &self.b2);
        relu_inplace(&mut h2);
        let z = affine_cols(&h2, &self.w3, &self.b3);
        let (loss, dz3) = softmax_ce(&z, t);
        let mut dh2 = [0.0f32; H2];
        affine_cols_backward(&self.w3, &h2, &dz3, &mut g.w3, &mut g.b3, Some(&mut dh2));
        let dz2 = relu_backward(&dh2, &h2);
        let mut dh1 = [0.0f32; H1];
        affine_cols_backward(&self.w2, &h1, &dz2, &mut g.w2, &mut g.b2, Some(&mut dh1));
        let dz1 = relu_backward(&dh1, &h1);
        affine_cols_backward(&self.w1, x, &dz1, &mut g.w1, &mut g.b1, None);
        loss
    }
}

/// 784-128-10, relu, softmax cross-entropy, weights `[out, in]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Net784 {
    pub w1: [[f32; 784]; 128],
    pub b1: [f32; 128],
    pub w2: [[f32; 128]; 10],
    pub b2: [f32; 10],
}

impl Net784 {
    pub fn forward(&self, x: &[f32; 784]) -> [f32; 10] {
        let mut h = affine_rows(&self.w1, &self.b1, x);
        relu_inplace(&mut h);
        affine_rows(&self.w2, &self.b2, &h)
    }

    pub fn backward(&self, x: &[f32; 784], t: &[f32; 10], g: &mut Self) -> f32 {
        let mut h = affine_rows(&self.w1, &self.b1, x);
        relu_inplace(&mut h);
        let z = affine_rows(&self.w2, &self.b2, &h);
        let (loss, dz2) = softmax_ce(&z, t);
        let mut dh = [0.0f32; 128];
        affine_rows_backward(&self.w2, &h, &dz2, &mut g.w2, &mut g.b2, Some(&mut dh));
        let dz1 = relu_backward(&dh, &h);
        affine_rows_backward(&self.w1, x, &dz1, &mut g.w1, &mut g.b1, None);
        loss
    }
}
