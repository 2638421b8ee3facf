//! Recurrent nets through the real macro: backpropagation through time checked in f64
//! against central finite differences, for every parameter and every input element, for
//! the three shorthands and two cells written by hand, at T = 1, 2, 7 and 50.

mod common;

use common::{Rng, check_input, check_params, randomize};

/// Five nets at `T` steps in module `$m`, and a test that checks each at several random
/// points.
macro_rules! at_length {
    ($m:ident, $t:tt, $last:tt) => {
        mod $m {
            use super::*;
            use chainrule::{Network, network};

            network! {
                #[scalar(f64)]
                net Rnn {
                    input xs: [$t, 2];
                    target t: [$t, 3];
                    let h = rnn(xs, 3);
                    output h;
                    loss mse(h, t);
                }
            }

            network! {
                #[scalar(f64)]
                net Gru {
                    input xs: [$t, 2];
                    target t: [3];
                    let h = gru(xs, 3);
                    let last = h[$last];
                    output last;
                    loss mse(last, t);
                }
            }

            network! {
                /// A stacked LSTM read out per step by a loop with no state.
                #[scalar(f64)]
                net Lstm {
                    input xs: [$t, 2];
                    target t: [$t, 1];
                    param wo: [1, 3] = xavier;
                    param bo: [1];
                    let h = lstm(xs, 3);
                    let ys = for r in h { wo @ r + bo };
                    output ys;
                    loss mse(ys, t);
                }
            }

            network! {
                /// The example, smaller.
                #[scalar(f64)]
                net Echo {
                    input xs: [$t, 1];
                    target ts: [$t, 1];
                    param wx: [4, 1] = xavier;
                    param wh: [4, 4] = xavier;
                    param b: [4];
                    param wo: [1, 4] = xavier;
                    param bo: [1];
                    state h: [4];
                    let ys = for x in xs {
                        h = tanh(wx @ x + wh @ h + b);
                        wo @ h + bo
                    };
                    output ys;
                    loss mse(ys, ts);
                }
            }

            network! {
                /// Two states, one learned start and one constant, gates from slices, the
                /// second state reading the first's new value, the final states read after
                /// the loop, and a row of the input.
                #[scalar(f64)]
                net TwoStates {
                    input xs: [$t, 2];
                    target t: [2];
                    param w: [4, 2] = xavier;
                    param u: [4, 2] = xavier;
                    param h0: [2];
                    state h: [2] = h0;
                    state s: [2] = constant(0.5);
                    for x in xs {
                        let g = w @ x + u @ h;
                        h = sigmoid(g[0..2]) * tanh(g[2..4]) + s * h;
                        s = 0.9 * s + 0.1 * h * h;
                    }
                    let y = h * s + xs[0];
                    output y;
                    loss mse(y, t);
                }
            }

            fn flat<const T: usize, const N: usize>(x: &[[f64; N]; T]) -> Vec<f64> {
                x.iter().flatten().copied().collect()
            }

            fn unflat<const T: usize, const N: usize>(v: &[f64]) -> [[f64; N]; T] {
                core::array::from_fn(|i| core::array::from_fn(|j| v[i * N + j]))
            }

            fn check<N, const T: usize, const I: usize>(
                seed: u64,
                target: impl Fn(&mut Rng) -> N::Target,
            ) where
                N: Network<Scalar = f64, Input = [[f64; I]; T]>,
            {
                let mut rng = Rng(seed);
                for _ in 0..3 {
                    let mut net = N::zeros();
                    randomize(&mut net, &mut rng, -0.8, 0.8);
                    let xs: [[f64; I]; T] = core::array::from_fn(|_| rng.array(-1.0, 1.0));
                    let t = target(&mut rng);
                    check_params(&net, &xs, &t);
                    check_input(&net, &xs, &t, flat, unflat);
                }
            }

            #[test]
            fn rnn() {
                check::<Rnn, $t, 2>(1, |r| core::array::from_fn(|_| r.array(-1.0, 1.0)));
            }

            #[test]
            fn gru() {
                check::<Gru, $t, 2>(2, |r| r.array(-1.0, 1.0));
            }

            #[test]
            fn lstm() {
                check::<Lstm, $t, 2>(3, |r| core::array::from_fn(|_| r.array(-1.0, 1.0)));
            }

            #[test]
            fn echo() {
                check::<Echo, $t, 1>(4, |r| core::array::from_fn(|_| r.array(-1.0, 1.0)));
            }

            #[test]
            fn two_states() {
                check::<TwoStates, $t, 2>(5, |r| r.array(-1.0, 1.0));
            }
        }
    };
}

at_length!(one_step, 1, 0);
at_length!(two_steps, 2, 1);
at_length!(seven_steps, 7, 6);
at_length!(fifty_steps, 50, 49);
