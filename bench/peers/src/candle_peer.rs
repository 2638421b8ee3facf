//! candle on the CPU: parameters are `Var`s, the loss's `backward()` gives the gradients.
//! Layers are written as candle-nn's `Linear` writes them (`x.matmul(&w.t())` for
//! `[out, in]`), with candle-nn's fused sigmoid and its `log_softmax`.

use std::hint::black_box;

use candle_core::{D, Device, Result, Tensor, Var};

use crate::Contender;
use crate::spec::{Act, Batch, Layout, Loss, Spec};

pub struct CandleMlp {
    layout: Layout,
    loss: Loss,
    n: usize,
    vars: Vec<(Var, Var, Act)>,
    /// The same storage without the variable mark, so inference records no graph.
    plain: Vec<(Tensor, Tensor, Act)>,
    x: Tensor,
    t: Tensor,
}

impl CandleMlp {
    pub fn new(spec: &Spec, batch: &Batch) -> Self {
        Self::build(spec, batch).expect("candle: building the net")
    }

    fn build(spec: &Spec, batch: &Batch) -> Result<Self> {
        let dev = Device::Cpu;
        let mut vars = Vec::new();
        for l in &spec.layers {
            let shape = match spec.layout {
                Layout::OutIn => (l.outputs, l.inputs),
                Layout::InOut => (l.inputs, l.outputs),
            };
            let w = Var::from_slice(&l.w, shape, &dev)?;
            let b = Var::from_slice(&l.b, l.outputs, &dev)?;
            vars.push((w, b, l.act));
        }
        let plain = vars
            .iter()
            .map(|(w, b, act)| (w.as_tensor().detach(), b.as_tensor().detach(), *act))
            .collect();
        Ok(Self {
            layout: spec.layout,
            loss: spec.loss,
            n: batch.n,
            x: Tensor::from_slice(&batch.x, (batch.n, spec.inputs()), &dev)?,
            t: Tensor::from_slice(&batch.t, (batch.n, spec.outputs()), &dev)?,
            vars,
            plain,
        })
    }

    fn output<'a>(
        &self,
        params: impl Iterator<Item = (&'a Tensor, &'a Tensor, Act)>,
    ) -> Result<Tensor> {
        let mut h = self.x.clone();
        for (w, b, act) in params {
            let z = match self.layout {
                Layout::OutIn => h.matmul(&w.t()?)?,
                Layout::InOut => h.matmul(w)?,
            }
            .broadcast_add(b)?;
            h = match act {
                Act::Sigmoid => candle_nn::ops::sigmoid(&z)?,
                Act::Tanh => z.tanh()?,
                Act::Relu => z.relu()?,
                Act::Identity => z,
            };
        }
        Ok(h)
    }

    fn inference(&self) -> Result<Tensor> {
        self.output(self.plain.iter().map(|(w, b, a)| (w, b, *a)))
    }

    fn mean_loss(&self) -> Result<Tensor> {
        let y = self.output(
            self.vars
                .iter()
                .map(|(w, b, a)| (w.as_tensor(), b.as_tensor(), *a)),
        )?;
        match self.loss {
            Loss::Mse => (y - &self.t)?.sqr()?.mean_all(),
            Loss::SoftmaxCe => (candle_nn::ops::log_softmax(&y, D::Minus1)? * &self.t)?
                .sum_all()?
                .affine(-1.0 / self.n as f64, 0.0),
        }
    }

    fn gradient(&self) -> Result<(f32, Vec<f32>)> {
        let loss = self.mean_loss()?;
        let grads = loss.backward()?;
        let mut flat = Vec::new();
        for (w, b, _) in &self.vars {
            for v in [w, b] {
                let g = grads
                    .get(v.as_tensor())
                    .expect("every parameter reaches the loss");
                flat.extend(g.flatten_all()?.to_vec1::<f32>()?);
            }
        }
        Ok((loss.to_scalar::<f32>()?, flat))
    }
}

impl Contender for CandleMlp {
    fn forward(&mut self, iters: usize) {
        for _ in 0..iters {
            black_box(self.inference().expect("candle: forward"));
        }
    }

    fn train(&mut self, iters: usize) {
        for _ in 0..iters {
            let loss = self.mean_loss().expect("candle: loss");
            black_box(loss.backward().expect("candle: backward"));
        }
    }

    fn outputs(&mut self) -> Vec<f32> {
        let y = self.inference().expect("candle: forward");
        y.flatten_all()
            .and_then(|y| y.to_vec1::<f32>())
            .expect("candle: outputs")
    }

    fn gradient(&mut self) -> (f32, Vec<f32>) {
        CandleMlp::gradient(self).expect("candle: gradient")
    }
}
