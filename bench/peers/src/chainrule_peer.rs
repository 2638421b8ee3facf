//! chainrule itself: the generated nets of `chainrule_tests::nets`, through their
//! inherent methods. Batch 1 calls `forward`/`backward`; larger batches call
//! `forward_batch`/`backward_batch`, whatever those are built from today.

use std::hint::black_box;

use chainrule_tests::nets::{Gen4_16_16_3, Gen64Cols, Gen64Rows, Gen281, Gen784};

use crate::Contender;
use crate::spec::Batch;

/// A generated net, its gradient buffer and a batch in the net's own array types.
pub struct Chain<N, const I: usize, const O: usize> {
    net: Box<N>,
    grad: Box<N>,
    xs: Vec<[f32; I]>,
    ts: Vec<[f32; O]>,
    ys: Vec<[f32; O]>,
}

impl<N, const I: usize, const O: usize> Chain<N, I, O>
where
    N: chainrule::Network<Scalar = f32> + bytemuck::Zeroable,
{
    /// The net drawn from `seed`, on the heap: the 784-128-10 net is 400 KB.
    pub fn new(seed: u64, batch: &Batch) -> Self {
        let (xs, rest) = batch.x.as_chunks::<I>();
        let (ts, rest_t) = batch.t.as_chunks::<O>();
        assert!(rest.is_empty() && rest_t.is_empty() && xs.len() == batch.n);
        Self {
            net: chainrule::boxed_new(seed),
            grad: chainrule::boxed_zeros(),
            xs: xs.to_vec(),
            ts: ts.to_vec(),
            ys: vec![[0.0; O]; batch.n],
        }
    }
}

/// `Contender` for one generated net type, calling its inherent methods (the trait's
/// batch methods may not be the ones the net overrides).
macro_rules! contender {
    ($net:ty, $i:literal, $o:literal) => {
        impl Contender for Chain<$net, $i, $o> {
            fn forward(&mut self, iters: usize) {
                if let [x] = self.xs.as_slice() {
                    for _ in 0..iters {
                        black_box(self.net.forward(black_box(x)));
                    }
                } else {
                    for _ in 0..iters {
                        self.net.forward_batch(black_box(&self.xs), &mut self.ys);
                        black_box(&mut self.ys);
                    }
                }
            }

            // The gradient accumulates across calls, as `backward` is specified to do;
            // resetting it would add a pass over the parameters that no peer makes.
            fn train(&mut self, iters: usize) {
                if let ([x], [t]) = (self.xs.as_slice(), self.ts.as_slice()) {
                    for _ in 0..iters {
                        black_box(
                            self.net
                                .backward(black_box(x), black_box(t), &mut self.grad),
                        );
                    }
                } else {
                    for _ in 0..iters {
                        black_box(self.net.backward_batch(
                            black_box(&self.xs),
                            black_box(&self.ts),
                            &mut self.grad,
                        ));
                    }
                }
            }

            fn outputs(&mut self) -> Vec<f32> {
                if let [x] = self.xs.as_slice() {
                    self.ys[0] = self.net.forward(x);
                } else {
                    self.net.forward_batch(&self.xs, &mut self.ys);
                }
                self.ys.as_flattened().to_vec()
            }

            fn gradient(&mut self) -> (f32, Vec<f32>) {
                self.grad.as_mut_slice().fill(0.0);
                let loss = if let ([x], [t]) = (self.xs.as_slice(), self.ts.as_slice()) {
                    self.net.backward(x, t, &mut self.grad)
                } else {
                    self.net.backward_batch(&self.xs, &self.ts, &mut self.grad)
                };
                (loss, self.grad.as_slice().to_vec())
            }
        }
    };
}

contender!(Gen281, 2, 1);
contender!(Gen4_16_16_3, 4, 3);
contender!(Gen64Rows, 64, 10);
contender!(Gen64Cols, 64, 10);
contender!(Gen784, 784, 10);
