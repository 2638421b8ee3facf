//! Forward and backward per sample: generated code against expert hand-written code of
//! the same layout, in the same run. `cargo bench -p chainrule-tests --bench nets`;
//! results and the machine are recorded in `BENCHMARKS.md`.

use chainrule_tests::handwritten::{MlpCols, MlpRows, Net4_16_16_3, Net281, Net784};
use chainrule_tests::nets::{Gen4_16_16_3, Gen64Cols, Gen64Rows, Gen281, Gen281Loops, Gen784};
use divan::{Bencher, black_box};

fn main() {
    divan::main();
}

fn input<const N: usize>() -> [f32; N] {
    core::array::from_fn(|i| ((i as f32 + 1.0) * 0.37).sin())
}

fn one_hot<const N: usize>(k: usize) -> [f32; N] {
    let mut t = [0.0; N];
    t[k % N] = 1.0;
    t
}

/// One group per net: `generated` and `handwritten`, forward and backward.
macro_rules! net_bench {
    ($group:ident, $gen:ty, $hand:ty, $n:literal, $o:literal, $target:expr) => {
        #[divan::bench_group]
        mod $group {
            use super::*;

            fn nets() -> (Box<$gen>, Box<$hand>) {
                let g: Box<$gen> = chainrule::boxed_new(1);
                let h = Box::new(<$hand>::from(&*g));
                (g, h)
            }

            #[divan::bench]
            fn forward_generated(b: Bencher) {
                let (g, _) = nets();
                let x: [f32; $n] = input();
                b.bench_local(|| g.forward(black_box(&x)));
            }

            #[divan::bench]
            fn forward_handwritten(b: Bencher) {
                let (_, h) = nets();
                let x: [f32; $n] = input();
                b.bench_local(|| h.forward(black_box(&x)));
            }

            #[divan::bench]
            fn backward_generated(b: Bencher) {
                let (g, _) = nets();
                let mut grad: Box<$gen> = chainrule::boxed_zeros();
                let x: [f32; $n] = input();
                let t: [f32; $o] = $target;
                // Touch the fresh (calloc'd) gradient first, so its page faults are not
                // timed: the hand-written side's buffer is already written.
                g.backward(&x, &t, &mut grad);
                b.bench_local(|| g.backward(black_box(&x), black_box(&t), &mut grad));
            }

            #[divan::bench]
            fn backward_handwritten(b: Bencher) {
                let (g, h) = nets();
                let zero: Box<$gen> = chainrule::boxed_zeros();
                let mut grad = Box::new(<$hand>::from(&*zero));
                let x: [f32; $n] = input();
                let t: [f32; $o] = $target;
                drop(g);
                h.backward(&x, &t, &mut grad);
                b.bench_local(|| h.backward(black_box(&x), black_box(&t), &mut grad));
            }
        }
    };
}

net_bench!(n2_8_1_sigmoid_mse, Gen281, Net281, 2, 1, [1.0]);
net_bench!(n2_8_1_loop_form, Gen281Loops, Net281, 2, 1, [1.0]);
net_bench!(
    n4_16_16_3_tanh_softmax_ce,
    Gen4_16_16_3,
    Net4_16_16_3,
    4,
    3,
    one_hot(1)
);
net_bench!(n64_64_64_10_relu_w_at_x, Gen64Rows, MlpRows<64, 64, 64, 10>, 64, 10, one_hot(3));
net_bench!(n64_64_64_10_relu_x_at_w, Gen64Cols, MlpCols<64, 64, 64, 10>, 64, 10, one_hot(3));
net_bench!(
    n784_128_10_relu_softmax_ce,
    Gen784,
    Net784,
    784,
    10,
    one_hot(7)
);
