//! dfdx 0.13 on the CPU. Layers are written as dfdx's `Linear` writes them (the weight
//! retaped and permuted for `[out, in]`, the bias broadcast over the batch), with
//! run-time sizes so one struct holds every net. Each step starts the tape on the input
//! with fresh zeroed gradients for the parameters.

use std::hint::black_box;

use dfdx::prelude::*;

use crate::Contender;
use crate::spec::{Act, Batch, Layout, Loss, Spec};

type Matrix<T = NoneTape> = Tensor<(usize, usize), f32, Cpu, T>;
type Vector = Tensor<(usize,), f32, Cpu>;

pub struct DfdxMlp {
    layout: Layout,
    loss: Loss,
    params: Vec<(Matrix, Vector, Act)>,
    x: Matrix,
    t: Matrix,
}

impl DfdxMlp {
    pub fn new(spec: &Spec, batch: &Batch) -> Self {
        let dev = Cpu::default();
        let params = spec
            .layers
            .iter()
            .map(|l| {
                let shape = match spec.layout {
                    Layout::OutIn => (l.outputs, l.inputs),
                    Layout::InOut => (l.inputs, l.outputs),
                };
                let w = dev.tensor_from_vec(l.w.clone(), shape);
                let b = dev.tensor_from_vec(l.b.clone(), (l.outputs,));
                (w, b, l.act)
            })
            .collect();
        Self {
            layout: spec.layout,
            loss: spec.loss,
            params,
            x: dev.tensor_from_vec(batch.x.clone(), (batch.n, spec.inputs())),
            t: dev.tensor_from_vec(batch.t.clone(), (batch.n, spec.outputs())),
        }
    }

    fn output<T: Tape<f32, Cpu> + Merge<T>>(&self, x: Matrix<T>) -> Matrix<T> {
        let mut h = x;
        for (w, b, act) in &self.params {
            let w = w.retaped::<T>();
            let z = match self.layout {
                Layout::OutIn => h.matmul(w.permute::<(usize, usize), Axes2<1, 0>>()),
                Layout::InOut => h.matmul(w),
            };
            let shape = *z.shape();
            let z = z + b.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape);
            h = match act {
                Act::Sigmoid => z.sigmoid(),
                Act::Tanh => z.tanh(),
                Act::Relu => z.relu(),
                Act::Identity => z,
            };
        }
        h
    }

    /// Gradients holding a zero buffer for each parameter, as `ZeroGrads::alloc_grads`
    /// makes them for a module. That one also marks the parameters as the leaves to keep,
    /// but tensor ids are private outside modules of constant shape; the only difference
    /// is that the other gradients are dropped with the whole set, not at the end of
    /// `backward`, which is the same work a moment later.
    fn alloc_grads(&self) -> Gradients<f32, Cpu> {
        let mut grads = Gradients::leaky();
        for (w, b, _) in &self.params {
            grads.try_alloc_for(w).expect("dfdx: gradient buffer");
            grads.try_alloc_for(b).expect("dfdx: gradient buffer");
        }
        grads
    }

    /// The mean loss over the batch, its value and the gradients.
    fn step(&self) -> (f32, Gradients<f32, Cpu>) {
        let y = self.output(self.x.clone().traced(self.alloc_grads()));
        let loss = match self.loss {
            Loss::Mse => mse_loss(y, self.t.clone()),
            Loss::SoftmaxCe => cross_entropy_with_logits_loss(y, self.t.clone()),
        };
        let value = loss.array();
        (value, loss.backward())
    }
}

impl Contender for DfdxMlp {
    fn forward(&mut self, iters: usize) {
        for _ in 0..iters {
            black_box(self.output::<NoneTape>(self.x.clone()));
        }
    }

    fn train(&mut self, iters: usize) {
        for _ in 0..iters {
            black_box(self.step());
        }
    }

    fn outputs(&mut self) -> Vec<f32> {
        self.output::<NoneTape>(self.x.clone()).as_vec()
    }

    fn gradient(&mut self) -> (f32, Vec<f32>) {
        let (loss, grads) = self.step();
        let mut flat = Vec::new();
        for (w, b, _) in &self.params {
            flat.extend(grads.get(w).as_vec());
            flat.extend(grads.get(b).as_vec());
        }
        (loss, flat)
    }
}
