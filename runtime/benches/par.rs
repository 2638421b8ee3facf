//! Batch gradients of a 784-128-10 net on one thread and on two, in the same run:
//! `cargo bench -p chainrule --features rayon --bench par`; results in `BENCHMARKS.md`.

use chainrule::{ParBackward, boxed_new, boxed_zeros, network};
use divan::{Bencher, black_box};

network! {
    /// The benchmarks' 784-128-10 net.
    net Mnist {
        input x: [784];
        target t: [10];
        param w1: [128, 784] = he;
        param b1: [128];
        param w2: [10, 128] = xavier;
        param b2: [10];
        let h = relu(w1 @ x + b1);
        let z = w2 @ h + b2;
        output z;
        loss softmax_cross_entropy(z, t);
    }
}

fn main() {
    divan::main();
}

fn batch(n: usize) -> (Vec<[f32; 784]>, Vec<[f32; 10]>) {
    let xs = (0..n)
        .map(|k| core::array::from_fn(|i| ((k * 784 + i) as f32 * 0.37).sin()))
        .collect();
    let ts = (0..n)
        .map(|k| core::array::from_fn(|i| if i == k % 10 { 1.0 } else { 0.0 }))
        .collect();
    (xs, ts)
}

/// `par_backward_batch` of 256 samples on a pool of `threads` threads.
#[divan::bench(args = [1, 2])]
fn par_backward_batch_256(b: Bencher, threads: usize) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    let net: Box<Mnist> = boxed_new(1);
    let mut grad: Box<Mnist> = boxed_zeros();
    let (xs, ts) = batch(256);
    let mut par = ParBackward::<Mnist>::new();
    pool.install(|| par.backward_batch(&*net, &xs, &ts, &mut *grad));
    b.bench_local(|| {
        pool.install(|| par.backward_batch(&*net, black_box(&xs), black_box(&ts), &mut *grad))
    });
}

/// The serial `backward_batch` of the same 256 samples, the one-thread baseline.
#[divan::bench]
fn backward_batch_256(b: Bencher) {
    let net: Box<Mnist> = boxed_new(1);
    let mut grad: Box<Mnist> = boxed_zeros();
    let (xs, ts) = batch(256);
    b.bench_local(|| net.backward_batch(black_box(&xs), black_box(&ts), &mut grad));
}
