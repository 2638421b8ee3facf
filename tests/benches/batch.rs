//! Batches of 64: the generated batched methods (chunks through matrix–matrix kernels)
//! against the per-sample code run for each sample, in the same run.
//! `cargo bench -p chainrule-tests --bench batch`; results in `BENCHMARKS.md`.

use chainrule::{Network, boxed_new, boxed_zeros};
use chainrule_tests::nets::{Gen4_16_16_3, Gen64Cols, Gen64Rows, Gen281, Gen784};
use divan::{Bencher, black_box};

fn main() {
    divan::main();
}

const BATCH: usize = 64;

fn inputs<const N: usize>() -> Vec<[f32; N]> {
    (0..BATCH)
        .map(|k| core::array::from_fn(|i| ((k * N + i) as f32 * 0.37).sin()))
        .collect()
}

fn targets<const N: usize>() -> Vec<[f32; N]> {
    (0..BATCH)
        .map(|k| core::array::from_fn(|i| if i == k % N { 1.0 } else { 0.0 }))
        .collect()
}

/// The batch through the generated batched method, and sample by sample through the
/// per-sample code (what `Network`'s default bodies do), forward and forward+backward.
macro_rules! batch_bench {
    ($group:ident, $net:ty, $n:literal, $o:literal) => {
        #[divan::bench_group]
        mod $group {
            use super::*;

            #[divan::bench]
            fn forward_batched(b: Bencher) {
                let net: Box<$net> = boxed_new(1);
                let xs = inputs::<$n>();
                let mut ys = vec![[0f32; $o]; BATCH];
                b.bench_local(|| net.forward_batch(black_box(&xs), &mut ys));
            }

            #[divan::bench]
            fn forward_per_sample(b: Bencher) {
                let net: Box<$net> = boxed_new(1);
                let xs = inputs::<$n>();
                let mut ys = vec![[0f32; $o]; BATCH];
                b.bench_local(|| {
                    for (x, y) in black_box(&xs).iter().zip(ys.iter_mut()) {
                        *y = net.forward(x);
                    }
                });
            }

            #[divan::bench]
            fn backward_batched(b: Bencher) {
                let net: Box<$net> = boxed_new(1);
                let mut grad: Box<$net> = boxed_zeros();
                let (xs, ts) = (inputs::<$n>(), targets::<$o>());
                net.backward_batch(&xs, &ts, &mut grad);
                b.bench_local(|| net.backward_batch(black_box(&xs), black_box(&ts), &mut grad));
            }

            #[divan::bench]
            fn backward_per_sample(b: Bencher) {
                let net: Box<$net> = boxed_new(1);
                let mut grad: Box<$net> = boxed_zeros();
                let (xs, ts) = (inputs::<$n>(), targets::<$o>());
                let scale = 1.0 / BATCH as f32;
                net.backward_batch(&xs, &ts, &mut grad);
                b.bench_local(|| {
                    let mut total = 0.0;
                    for (x, t) in black_box(&xs).iter().zip(black_box(&ts)) {
                        total += net.backward_scaled(x, t, scale, &mut grad);
                    }
                    total * scale
                });
            }
        }
    };
}

batch_bench!(n2_8_1_sigmoid_mse, Gen281, 2, 1);
batch_bench!(n4_16_16_3_tanh_softmax_ce, Gen4_16_16_3, 4, 3);
batch_bench!(n64_64_64_10_relu_w_at_x, Gen64Rows, 64, 10);
batch_bench!(n64_64_64_10_relu_x_at_w, Gen64Cols, 64, 10);
batch_bench!(n784_128_10_relu_softmax_ce, Gen784, 784, 10);
