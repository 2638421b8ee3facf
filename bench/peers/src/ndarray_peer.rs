//! Hand-written batched backprop over ndarray, as an expert writes it: every product is
//! one `general_mat_mul` (ndarray's `dot` into a buffer, matrixmultiply underneath) on
//! the whole batch, buffers are allocated once, bias and activation are fused into one
//! pass over each output row, and softmax − t is fused with the loss.

use std::hint::black_box;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Zip};

use crate::Contender;
use crate::spec::{Act, Batch, Layout, Loss, Spec};

struct NdLayer {
    w: Array2<f32>,
    b: Array1<f32>,
    act: Act,
    /// `act(z)` for the batch, `[n, out]`.
    h: Array2<f32>,
    /// `∂L/∂z` for the batch, `[n, out]`.
    dz: Array2<f32>,
    gw: Array2<f32>,
    gb: Array1<f32>,
}

pub struct NdMlp {
    layout: Layout,
    loss: Loss,
    x: Array2<f32>,
    t: Array2<f32>,
    layers: Vec<NdLayer>,
}

impl NdMlp {
    pub fn new(spec: &Spec, batch: &Batch) -> Self {
        let n = batch.n;
        let layers = spec
            .layers
            .iter()
            .map(|l| {
                let shape = match spec.layout {
                    Layout::OutIn => (l.outputs, l.inputs),
                    Layout::InOut => (l.inputs, l.outputs),
                };
                NdLayer {
                    w: Array2::from_shape_vec(shape, l.w.clone()).expect("weight shape"),
                    b: Array1::from_vec(l.b.clone()),
                    act: l.act,
                    h: Array2::zeros((n, l.outputs)),
                    dz: Array2::zeros((n, l.outputs)),
                    gw: Array2::zeros(shape),
                    gb: Array1::zeros(l.outputs),
                }
            })
            .collect();
        Self {
            layout: spec.layout,
            loss: spec.loss,
            x: Array2::from_shape_vec((n, spec.inputs()), batch.x.clone()).expect("input shape"),
            t: Array2::from_shape_vec((n, spec.outputs()), batch.t.clone()).expect("target shape"),
            layers,
        }
    }

    /// `h = act(X Wᵀ + b)` (or `X W + b`) layer by layer.
    fn run_forward(&mut self) {
        let mut input = self.x.view();
        for layer in &mut self.layers {
            let w = match self.layout {
                Layout::OutIn => layer.w.t(),
                Layout::InOut => layer.w.view(),
            };
            general_mat_mul(1.0, &input, &w, 0.0, &mut layer.h);
            let act = layer.act;
            for mut row in layer.h.rows_mut() {
                Zip::from(&mut row)
                    .and(&layer.b)
                    .for_each(|z, &b| *z = activate(act, *z + b));
            }
            input = layer.h.view();
        }
    }

    /// The mean loss, with `∂L/∂z` of the last layer written in the same pass.
    fn loss_and_output_grad(&mut self) -> f32 {
        let n = self.x.nrows() as f32;
        let last = self.layers.last_mut().expect("a layer");
        let mut total = 0.0;
        match self.loss {
            Loss::SoftmaxCe => {
                for ((z, t), mut d) in last
                    .h
                    .rows()
                    .into_iter()
                    .zip(self.t.rows())
                    .zip(last.dz.rows_mut())
                {
                    let m = z.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    Zip::from(&mut d)
                        .and(&z)
                        .for_each(|d, &z| *d = (z - m).exp());
                    let s = d.sum();
                    let lse = m + s.ln();
                    Zip::from(&mut d).and(&z).and(&t).for_each(|d, &z, &t| {
                        total += t * (lse - z);
                        *d = (*d / s - t) / n;
                    });
                }
                total / n
            }
            Loss::Mse => {
                // The output layer's sigmoid is folded in: ∂L/∂z = 2(y − t)/(n·k) · y(1 − y).
                let k = last.h.ncols() as f32;
                assert_eq!(
                    last.act,
                    Act::Sigmoid,
                    "mse follows a sigmoid in these nets"
                );
                Zip::from(&mut last.dz)
                    .and(&last.h)
                    .and(&self.t)
                    .for_each(|d, &y, &t| {
                        let e = y - t;
                        total += e * e;
                        *d = 2.0 * e / (n * k) * y * (1.0 - y);
                    });
                total / (n * k)
            }
        }
    }

    /// `∂L/∂W = dZᵀ X` (or `Xᵀ dZ`), `∂L/∂b = Σ dZ`, `dX = dZ W` (or `dZ Wᵀ`) masked by
    /// the previous activation's derivative; the first layer's `dX` is skipped.
    fn run_backward(&mut self) {
        for l in (0..self.layers.len()).rev() {
            let (below, rest) = self.layers.split_at_mut(l);
            let layer = &mut rest[0];
            let input: ArrayView2<f32> = match below.last() {
                Some(prev) => prev.h.view(),
                None => self.x.view(),
            };
            match self.layout {
                Layout::OutIn => general_mat_mul(1.0, &layer.dz.t(), &input, 0.0, &mut layer.gw),
                Layout::InOut => general_mat_mul(1.0, &input.t(), &layer.dz, 0.0, &mut layer.gw),
            }
            layer.gb.fill(0.0);
            for row in layer.dz.rows() {
                layer.gb += &row;
            }
            if let Some(prev) = below.last_mut() {
                let w = match self.layout {
                    Layout::OutIn => layer.w.view(),
                    Layout::InOut => layer.w.t(),
                };
                general_mat_mul(1.0, &layer.dz, &w, 0.0, &mut prev.dz);
                let act = prev.act;
                Zip::from(&mut prev.dz)
                    .and(&prev.h)
                    .for_each(|d, &h| *d *= derivative(act, h));
            }
        }
    }
}

/// The activation of a pre-activation `z`.
#[inline(always)]
fn activate(act: Act, z: f32) -> f32 {
    match act {
        Act::Sigmoid => 1.0 / (1.0 + (-z).exp()),
        Act::Tanh => z.tanh(),
        Act::Relu => z.max(0.0),
        Act::Identity => z,
    }
}

/// The activation's derivative, from its output `h` (relu′(0) = 0, as in chainrule).
#[inline(always)]
fn derivative(act: Act, h: f32) -> f32 {
    match act {
        Act::Sigmoid => h * (1.0 - h),
        Act::Tanh => 1.0 - h * h,
        Act::Relu => f32::from(u8::from(h > 0.0)),
        Act::Identity => 1.0,
    }
}

impl Contender for NdMlp {
    fn forward(&mut self, iters: usize) {
        for _ in 0..iters {
            self.run_forward();
            black_box(&mut self.layers);
        }
    }

    fn train(&mut self, iters: usize) {
        for _ in 0..iters {
            self.run_forward();
            black_box(self.loss_and_output_grad());
            self.run_backward();
            black_box(&mut self.layers);
        }
    }

    fn outputs(&mut self) -> Vec<f32> {
        self.run_forward();
        let last = self.layers.last().expect("a layer");
        last.h.iter().copied().collect()
    }

    fn gradient(&mut self) -> (f32, Vec<f32>) {
        self.run_forward();
        let loss = self.loss_and_output_grad();
        self.run_backward();
        let flat = self
            .layers
            .iter()
            .flat_map(|l| l.gw.iter().chain(&l.gb))
            .copied()
            .collect();
        (loss, flat)
    }
}
