//! Recurrent nets through the real macro: backpropagation through time checked in f64
//! against central finite differences, for every parameter and every input element, for
//! the three shorthands and two cells written by hand, at T = 1, 2, 7 and 50.

mod common;
#[path = "../reference/recurrent_values.rs"]
mod values;

/// JAX's loss and gradients at the point `tests/reference/recurrent.py` states.
#[derive(Debug)]
pub struct Reference {
    pub loss: f64,
    pub params: &'static [f64],
    pub input: &'static [f64],
}

use common::{Rng, check_input, check_params, randomize, rel_err};

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
                // backward_batch is the mean of backward over the sequences.
                let net = N::new(seed);
                let xs: Vec<[[f64; I]; T]> = (0..3)
                    .map(|_| core::array::from_fn(|_| rng.array(-1.0, 1.0)))
                    .collect();
                let ts: Vec<N::Target> = (0..3).map(|_| target(&mut rng)).collect();
                let mut want = N::zeros();
                let mut loss = 0.0;
                for (x, t) in xs.iter().zip(&ts) {
                    loss += net.backward_scaled(x, t, 1.0 / 3.0, &mut want);
                }
                let mut got = N::zeros();
                let batch_loss = net.backward_batch(&xs, &ts, &mut got);
                assert!(
                    rel_err(batch_loss, loss / 3.0) <= 1e-12,
                    "{}: batch loss",
                    N::NAME
                );
                for (k, (g, w)) in got.as_slice().iter().zip(want.as_slice()).enumerate() {
                    assert!(
                        rel_err(*g, *w) <= 1e-12,
                        "{}: batch gradient {k}: {g} vs {w}",
                        N::NAME
                    );
                }
            }

            /// `step` row by row gives `forward`'s rows bit for bit, twice over from the
            /// same state value (a `State` is a plain value).
            fn streams<N, O, const T: usize, const I: usize>(seed: u64)
            where
                N: chainrule::Streaming<
                        Input = [[f64; I]; T],
                        Output = [O; T],
                        Row = [f64; I],
                        Out = O,
                    >,
                O: PartialEq + core::fmt::Debug,
            {
                let mut rng = Rng(seed);
                let net = N::new(seed);
                let xs: [[f64; I]; T] = core::array::from_fn(|_| rng.array(-1.0, 1.0));
                let want = net.forward(&xs);
                let start = net.initial_state();
                let mut state = start.clone();
                let rows: Vec<O> = xs.iter().map(|x| net.step(&mut state, x)).collect();
                assert!(
                    rows.iter().eq(want.iter()),
                    "{}: step and forward differ",
                    N::NAME
                );
                assert_eq!(
                    start,
                    net.initial_state(),
                    "initial_state is the same each time"
                );
                assert_ne!(state, start, "the steps moved the state");
            }

            #[test]
            fn step_equals_forward() {
                streams::<Rnn, _, $t, 2>(11);
                streams::<Lstm, _, $t, 2>(12);
                streams::<Echo, _, $t, 1>(13);
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

/// GRU and LSTM against PyTorch's equations: values and gradients from JAX at fixed
/// weights (`tests/reference/recurrent.py` wrote `recurrent_values.rs`). The layers'
/// parameters are PyTorch's tensors in `LAYOUT` order, so a state dict maps one to one.
mod pytorch {
    use super::common::rel_err;
    use super::{Reference, values};
    use chainrule::{Network, network};

    network! {
        #[scalar(f64)]
        net Gru {
            input xs: [5, 3];
            target t: [5, 4];
            let h = gru(xs, 4);
            output h;
            loss mse(h, t);
        }
    }

    network! {
        #[scalar(f64)]
        net Lstm {
            input xs: [5, 3];
            target t: [5, 4];
            let h = lstm(xs, 4);
            output h;
            loss mse(h, t);
        }
    }

    network! {
        #[scalar(f64)]
        net Stacked {
            input xs: [5, 3];
            target t: [4];
            let a = lstm(xs, 4);
            let b = gru(a, 4);
            let last = b[4];
            output last;
            loss mse(last, t);
        }
    }

    // The same formulas as `tests/reference/recurrent.py`.
    fn param(k: usize) -> f64 {
        0.5 * (1.3 * k as f64 + 0.7).sin()
    }
    fn inp(k: usize) -> f64 {
        (0.9 * k as f64 + 0.2).cos()
    }
    fn tgt(k: usize) -> f64 {
        0.8 * (2.1 * k as f64 + 0.4).sin()
    }
    fn xs() -> [[f64; 3]; 5] {
        core::array::from_fn(|i| core::array::from_fn(|j| inp(i * 3 + j)))
    }

    fn check<N: Network<Scalar = f64, Input = [[f64; 3]; 5]>>(want: &Reference, t: N::Target) {
        let mut net = N::zeros();
        for (k, p) in net.as_mut_slice().iter_mut().enumerate() {
            *p = param(k);
        }
        let x = xs();
        let mut grad = N::zeros();
        let loss = net.backward(&x, &t, &mut grad);
        assert!(
            rel_err(loss, want.loss) <= 1e-12,
            "{}: loss {loss} vs {}",
            N::NAME,
            want.loss
        );
        assert_eq!(
            grad.as_slice().len(),
            want.params.len(),
            "{}: parameter count",
            N::NAME
        );
        for (k, (g, w)) in grad.as_slice().iter().zip(want.params).enumerate() {
            assert!(
                rel_err(*g, *w) <= 1e-10,
                "{}: parameter {k}: {g} vs {w}",
                N::NAME
            );
        }
        let dx: Vec<f64> = net
            .input_gradient(&x, &t)
            .iter()
            .flatten()
            .copied()
            .collect();
        for (k, (g, w)) in dx.iter().zip(want.input).enumerate() {
            assert!(
                rel_err(*g, *w) <= 1e-10,
                "{}: input {k}: {g} vs {w}",
                N::NAME
            );
        }
    }

    /// PyTorch's tensors of a one-layer module with `gates` gates, 3 inputs and 4 units.
    fn assert_pytorch_layout<N: Network>(gates: usize) {
        let layout: Vec<(&str, &[usize])> = N::LAYOUT.iter().map(|p| (p.name, p.shape)).collect();
        let rows = gates * 4;
        assert_eq!(
            layout,
            [
                ("h_weight_ih", &[rows, 3][..]),
                ("h_weight_hh", &[rows, 4]),
                ("h_bias_ih", &[rows]),
                ("h_bias_hh", &[rows]),
            ]
        );
    }

    #[test]
    fn gru_matches_pytorch_equations() {
        assert_pytorch_layout::<Gru>(3);
        check::<Gru>(
            &values::GRU,
            core::array::from_fn(|i| core::array::from_fn(|j| tgt(i * 4 + j))),
        );
    }

    #[test]
    fn lstm_matches_pytorch_equations() {
        assert_pytorch_layout::<Lstm>(4);
        check::<Lstm>(
            &values::LSTM,
            core::array::from_fn(|i| core::array::from_fn(|j| tgt(i * 4 + j))),
        );
    }

    #[test]
    fn stacked_matches_pytorch_equations() {
        check::<Stacked>(&values::STACKED, core::array::from_fn(tgt));
    }
}
