//! Recurrent nets: nanoseconds per real-time `step` of GRU-16 and LSTM-24 (one input,
//! one output) against expert hand-written steps in the same run, and training through
//! time at T = 64 (`backward` of one sequence, `backward_batch` of 32).
//! `cargo bench -p chainrule-tests --bench sequences`; results in `BENCHMARKS.md`.

use chainrule_tests::sequences::{Gru16, HandGru16, HandLstm24, Lstm24, LstmState24, STEPS};
use divan::{Bencher, black_box};

fn main() {
    divan::main();
}

/// A slowly varying signal, as audio or a sensor gives.
fn sample(t: usize) -> f32 {
    (t as f32 * 0.05).sin() * 0.7
}

fn sequence() -> [[f32; 1]; STEPS] {
    core::array::from_fn(|t| [sample(t)])
}

fn targets() -> [[f32; 1]; STEPS] {
    core::array::from_fn(|t| [sample(t + 3)])
}

/// Runs one step per iteration, feeding each output back into the next input so steps
/// cannot overlap: the latency a real-time loop sees.
#[divan::bench_group]
mod step {
    use super::*;

    #[divan::bench]
    fn gru16_generated(b: Bencher) {
        let net = Gru16::new(1);
        let mut state = net.initial_state();
        let mut x = 0.1f32;
        b.bench_local(|| {
            x = net.step(&mut state, black_box(&[x]))[0] * 0.5 + 0.1;
        });
    }

    #[divan::bench]
    fn gru16_handwritten(b: Bencher) {
        let hand = HandGru16::from(&Gru16::new(1));
        let mut h = [0.0f32; 16];
        let mut x = 0.1f32;
        b.bench_local(|| {
            x = hand.step(&mut h, black_box(x)) * 0.5 + 0.1;
        });
    }

    #[divan::bench]
    fn lstm24_generated(b: Bencher) {
        let net = Lstm24::new(1);
        let mut state = net.initial_state();
        let mut x = 0.1f32;
        b.bench_local(|| {
            x = net.step(&mut state, black_box(&[x]))[0] * 0.5 + 0.1;
        });
    }

    #[divan::bench]
    fn lstm24_handwritten(b: Bencher) {
        let hand = HandLstm24::from(&Lstm24::new(1));
        let mut s = LstmState24::default();
        let mut x = 0.1f32;
        b.bench_local(|| {
            x = hand.step(&mut s, black_box(x)) * 0.5 + 0.1;
        });
    }
}

/// Whole sequences of 64 steps: `forward`, `backward` (backpropagation through time) and
/// `backward_batch` over 32 sequences (divan counts sequences per second).
#[divan::bench_group]
mod train_t64 {
    use super::*;

    #[divan::bench]
    fn gru16_forward(b: Bencher) {
        let net = Gru16::new(1);
        let xs = sequence();
        b.bench_local(|| net.forward(black_box(&xs)));
    }

    #[divan::bench]
    fn gru16_backward(b: Bencher) {
        let net = Gru16::new(1);
        let (xs, ts) = (sequence(), targets());
        let mut grad = Gru16::zeros();
        b.bench_local(|| net.backward(black_box(&xs), black_box(&ts), &mut grad));
    }

    #[divan::bench]
    fn gru16_backward_batch_32(b: Bencher) {
        let net = Gru16::new(1);
        let (xs, ts) = (vec![sequence(); 32], vec![targets(); 32]);
        let mut grad = Gru16::zeros();
        b.counter(divan::counter::ItemsCount::new(32usize))
            .bench_local(|| net.backward_batch(black_box(&xs), black_box(&ts), &mut grad));
    }

    #[divan::bench]
    fn lstm24_forward(b: Bencher) {
        let net = Lstm24::new(1);
        let xs = sequence();
        b.bench_local(|| net.forward(black_box(&xs)));
    }

    #[divan::bench]
    fn lstm24_backward(b: Bencher) {
        let net = Lstm24::new(1);
        let (xs, ts) = (sequence(), targets());
        let mut grad = Lstm24::zeros();
        b.bench_local(|| net.backward(black_box(&xs), black_box(&ts), &mut grad));
    }

    #[divan::bench]
    fn lstm24_backward_batch_32(b: Bencher) {
        let net = Lstm24::new(1);
        let (xs, ts) = (vec![sequence(); 32], vec![targets(); 32]);
        let mut grad = Lstm24::zeros();
        b.counter(divan::counter::ItemsCount::new(32usize))
            .bench_local(|| net.backward_batch(black_box(&xs), black_box(&ts), &mut grad));
    }
}
