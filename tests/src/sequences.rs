//! The recurrent nets the sequence benchmarks time, and expert hand-written real-time
//! steps of the same sizes: a GRU of 16 units and an LSTM of 24, one input and one
//! output per step (the sizes of guitar-amp models and NAM's LSTM presets).
//!
//! The hand-written steps are what an expert writes for a real-time audio thread without
//! chainrule: the hidden-to-hidden weights stored transposed, so `W h` runs as one axpy
//! per hidden unit over contiguous, vectorizable rows (strict float semantics forbid
//! vectorizing PyTorch's row dot products), the input-to-hidden product of the single
//! input folded into the gate loop, and no bounds checks in the hot loops.
//! `tests/tests/handwritten.rs` checks that they compute the generated `step`.

use chainrule::network;

/// Steps of the sequences the nets are compiled for (`forward`, `backward`); `step` runs
/// any number.
pub const STEPS: usize = 64;

network! {
    /// GRU-16 read out linearly at every step.
    pub net Gru16 {
        input xs: [64, 1];
        target ts: [64, 1];
        param wo: [1, 16] = xavier;
        param bo: [1];
        let h = gru(xs, 16);
        let ys = for r in h { wo @ r + bo };
        output ys;
        loss mse(ys, ts);
    }

    /// LSTM-24 read out linearly at every step.
    pub net Lstm24 {
        input xs: [64, 1];
        target ts: [64, 1];
        param wo: [1, 24] = xavier;
        param bo: [1];
        let h = lstm(xs, 24);
        let ys = for r in h { wo @ r + bo };
        output ys;
        loss mse(ys, ts);
    }
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `acc += w[j] · h[j]` over the columns of `W`, stored as rows of `w_t`.
#[inline(always)]
fn axpy_columns<const R: usize, const H: usize>(
    acc: &mut [f32; R],
    w_t: &[[f32; R]; H],
    h: &[f32; H],
) {
    for (col, hj) in w_t.iter().zip(h) {
        for (a, w) in acc.iter_mut().zip(col) {
            *a += w * hj;
        }
    }
}

/// `Σ a[i] b[i]` with eight accumulators.
#[inline(always)]
fn dot<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32 {
    crate::handwritten::dot(a, b)
}

/// A GRU of 16 units and its read-out, hand-written for one step at a time.
#[derive(Clone, Debug)]
pub struct HandGru16 {
    w_ih: [f32; 48],
    w_hh_t: [[f32; 48]; 16],
    b_ih: [f32; 48],
    b_hh: [f32; 48],
    wo: [f32; 16],
    bo: f32,
}

impl From<&Gru16> for HandGru16 {
    fn from(g: &Gru16) -> Self {
        Self {
            w_ih: core::array::from_fn(|r| g.h_weight_ih[r][0]),
            w_hh_t: core::array::from_fn(|j| core::array::from_fn(|r| g.h_weight_hh[r][j])),
            b_ih: g.h_bias_ih,
            b_hh: g.h_bias_hh,
            wo: g.wo[0],
            bo: g.bo[0],
        }
    }
}

impl HandGru16 {
    /// One step: updates the hidden state from the sample `x` and returns the output.
    #[inline]
    pub fn step(&self, h: &mut [f32; 16], x: f32) -> f32 {
        let mut gh = self.b_hh;
        axpy_columns(&mut gh, &self.w_hh_t, h);
        let gi = |r: usize| self.w_ih[r] * x + self.b_ih[r];
        for k in 0..16 {
            let r = sigmoid(gi(k) + gh[k]);
            let z = sigmoid(gi(16 + k) + gh[16 + k]);
            let n = (gi(32 + k) + r * gh[32 + k]).tanh();
            h[k] = (1.0 - z) * n + z * h[k];
        }
        dot(&self.wo, h) + self.bo
    }
}

/// An LSTM of 24 units and its read-out, hand-written for one step at a time.
#[derive(Clone, Debug)]
pub struct HandLstm24 {
    w_ih: [f32; 96],
    w_hh_t: [[f32; 96]; 24],
    /// `b_ih + b_hh`, added once.
    b: [f32; 96],
    wo: [f32; 24],
    bo: f32,
}

impl From<&Lstm24> for HandLstm24 {
    fn from(g: &Lstm24) -> Self {
        Self {
            w_ih: core::array::from_fn(|r| g.h_weight_ih[r][0]),
            w_hh_t: core::array::from_fn(|j| core::array::from_fn(|r| g.h_weight_hh[r][j])),
            b: core::array::from_fn(|r| g.h_bias_ih[r] + g.h_bias_hh[r]),
            wo: g.wo[0],
            bo: g.bo[0],
        }
    }
}

/// An LSTM's two states.
#[derive(Clone, Debug, Default)]
pub struct LstmState24 {
    pub h: [f32; 24],
    pub c: [f32; 24],
}

impl HandLstm24 {
    /// One step: updates the states from the sample `x` and returns the output.
    #[inline]
    pub fn step(&self, s: &mut LstmState24, x: f32) -> f32 {
        let mut g = self.b;
        for (g, w) in g.iter_mut().zip(&self.w_ih) {
            *g += w * x;
        }
        axpy_columns(&mut g, &self.w_hh_t, &s.h);
        for k in 0..24 {
            let i = sigmoid(g[k]);
            let f = sigmoid(g[24 + k]);
            let u = g[48 + k].tanh();
            let o = sigmoid(g[72 + k]);
            s.c[k] = f * s.c[k] + i * u;
            s.h[k] = o * s.c[k].tanh();
        }
        dot(&self.wo, &s.h) + self.bo
    }
}
