//! burn 0.22, whose tensors pick their backend at run time from their device: training
//! runs on `device.autodiff()` (burn's `Autodiff<..>` decorator around the backend) with
//! parameters marked `require_grad`, inference on the bare device, as a `valid()` model
//! would. Layers are written as burn-nn's `Linear` writes them.

use std::hint::black_box;

use burn_tensor::activation::{log_softmax, relu, sigmoid, tanh};
use burn_tensor::{Device, Tensor, TensorData};

use crate::Contender;
use crate::spec::{Act, Batch, Layout, Loss, Spec};

/// The CPU backends compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Ndarray,
    Flex,
}

impl Backend {
    fn device(self) -> Device {
        match self {
            // Deprecated in 0.22 in favour of flex, and still the backend many users run.
            #[allow(deprecated)]
            Backend::Ndarray => Device::ndarray(),
            Backend::Flex => Device::flex(),
        }
    }
}

/// The parameters and the batch on one device.
struct OnDevice {
    params: Vec<(Tensor<2>, Tensor<1>, Act)>,
    x: Tensor<2>,
    t: Tensor<2>,
}

impl OnDevice {
    fn new(spec: &Spec, batch: &Batch, device: &Device, grad: bool) -> Self {
        let matrix = |v: &[f32], shape: [usize; 2]| {
            Tensor::<2>::from_data(TensorData::new(v.to_vec(), shape), device)
        };
        let params = spec
            .layers
            .iter()
            .map(|l| {
                let shape = match spec.layout {
                    Layout::OutIn => [l.outputs, l.inputs],
                    Layout::InOut => [l.inputs, l.outputs],
                };
                let w = matrix(&l.w, shape);
                let b = Tensor::<1>::from_data(TensorData::new(l.b.clone(), [l.outputs]), device);
                if grad {
                    (w.require_grad(), b.require_grad(), l.act)
                } else {
                    (w, b, l.act)
                }
            })
            .collect();
        Self {
            params,
            x: matrix(&batch.x, [batch.n, spec.inputs()]),
            t: matrix(&batch.t, [batch.n, spec.outputs()]),
        }
    }

    fn output(&self, layout: Layout) -> Tensor<2> {
        let mut h = self.x.clone();
        for (w, b, act) in &self.params {
            let w = match layout {
                Layout::OutIn => w.clone().transpose(),
                Layout::InOut => w.clone(),
            };
            let z = h.matmul(w) + b.clone().unsqueeze::<2>();
            h = match act {
                Act::Sigmoid => sigmoid(z),
                Act::Tanh => tanh(z),
                Act::Relu => relu(z),
                Act::Identity => z,
            };
        }
        h
    }
}

pub struct BurnMlp {
    layout: Layout,
    loss: Loss,
    n: usize,
    train: OnDevice,
    infer: OnDevice,
}

impl BurnMlp {
    pub fn new(backend: Backend, spec: &Spec, batch: &Batch) -> Self {
        let device = backend.device();
        Self {
            layout: spec.layout,
            loss: spec.loss,
            n: batch.n,
            train: OnDevice::new(spec, batch, &device.clone().autodiff(), true),
            infer: OnDevice::new(spec, batch, &device, false),
        }
    }

    fn mean_loss(&self) -> Tensor<1> {
        let y = self.train.output(self.layout);
        let t = self.train.t.clone();
        match self.loss {
            Loss::Mse => (y - t).square().mean(),
            Loss::SoftmaxCe => (log_softmax(y, 1) * t)
                .sum()
                .mul_scalar(-1.0 / self.n as f64),
        }
    }
}

impl Contender for BurnMlp {
    fn forward(&mut self, iters: usize) {
        for _ in 0..iters {
            black_box(self.infer.output(self.layout));
        }
    }

    fn train(&mut self, iters: usize) {
        for _ in 0..iters {
            black_box(self.mean_loss().backward());
        }
    }

    fn outputs(&mut self) -> Vec<f32> {
        let y = self.infer.output(self.layout);
        y.into_data()
            .try_to_vec::<f32>()
            .expect("burn: f32 outputs")
    }

    fn gradient(&mut self) -> (f32, Vec<f32>) {
        let loss = self.mean_loss();
        let grads = loss.backward();
        let mut flat = Vec::new();
        for (w, b, _) in &self.train.params {
            let gw = w.grad(&grads).expect("every weight reaches the loss");
            let gb = b.grad(&grads).expect("every bias reaches the loss");
            flat.extend(
                gw.into_data()
                    .try_to_vec::<f32>()
                    .expect("burn: f32 gradient"),
            );
            flat.extend(
                gb.into_data()
                    .try_to_vec::<f32>()
                    .expect("burn: f32 gradient"),
            );
        }
        (loss.into_scalar::<f32>(), flat)
    }
}
