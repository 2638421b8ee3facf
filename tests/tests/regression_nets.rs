//! Issue 7's nets: regression nets whose parameter gradients the generated code once got
//! wrong (all zero in loop form, unscaled in unrolled `backward_scaled`), because the
//! adjoint `∂L/∂y` and the stored residual `y − t` were both named `d_y`.
//!
//! Each net is compiled in f64 twice, in loop form and unrolled, and checked through the
//! compiled code against JAX (`tests/reference/issue7.py` wrote `issue7_values.rs`) and
//! against central differences of its own `loss`, through `backward`, `backward_scaled`
//! with a scale other than 1 into a non-zero gradient, `backward_batch` and
//! `input_gradient`.

mod common;
#[path = "../reference/issue7_values.rs"]
mod reference;

use chainrule::Network;
use common::{central, rel_err};

/// JAX's loss and gradients at the point the closed formulas below give.
#[derive(Debug)]
pub struct Reference {
    pub loss: f64,
    pub params: &'static [f64],
    pub input: &'static [f64],
}

// The same formulas as `tests/reference/issue7.py`.
fn param(k: usize) -> f64 {
    0.5 * (1.3 * k as f64 + 0.7).sin()
}
fn input<const N: usize>() -> [f64; N] {
    core::array::from_fn(|i| (0.9 * i as f64 + 0.2).cos())
}
fn target<const N: usize>() -> [f64; N] {
    core::array::from_fn(|i| 0.8 * (2.1 * i as f64 + 0.4).sin())
}

/// One net in both code forms, from one body.
macro_rules! both_forms {
    ($looped:ident, $unrolled:ident { $($body:tt)* }) => {
        chainrule::network! {
            #[scalar(f64)]
            #[chainrule(unroll = 1)]
            net $looped { $($body)* }
            #[scalar(f64)]
            #[chainrule(unroll = 65536)]
            net $unrolled { $($body)* }
        }
    };
}

both_forms!(Min1Loop, Min1Unrolled {
    input x: [2]; target t: [2]; param w: [2]; param b: [2];
    let y = w * x + b; output y; loss mse(y, t);
});
both_forms!(Unr2Loop, Unr2Unrolled {
    input x: [3]; param w: [3]; param b: [3]; param q: [3]; param r: [3];
    let y = w * x + b; output y; loss sum(y * tanh(q * x + r));
});
both_forms!(HalfLoop, HalfUnrolled {
    input x: [3]; target t: [3]; param w: [3];
    let y = w * x; output y; loss 0.5 * sum((y - t) ^ 2);
});
both_forms!(LinLoop, LinUnrolled {
    input x: [3]; target t: [3]; param w: [3];
    let y = w * x; output y; loss sum(y * t);
});
both_forms!(RegLoop, RegUnrolled {
    input x: [16]; target t: [2];
    let h = dense(x, 32, tanh); let y = dense(h, 2);
    output y; loss mse(y, t);
});

/// The net at the reference point.
fn at_reference<N: Network<Scalar = f64>>() -> N {
    let mut net = N::zeros();
    for (k, p) in net.as_mut_slice().iter_mut().enumerate() {
        *p = param(k);
    }
    net
}

/// Asserts `got` equals `want` entry by entry to `tol`, relative to `max(|·|, 1)`.
fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(rel_err(*g, *w) <= tol, "{what}[{k}]: got {g}, want {w}");
    }
}

/// Every gradient path of one compiled net against JAX, then against central differences.
fn check<N: Network<Scalar = f64>>(
    reference: &Reference,
    x: N::Input,
    t: N::Target,
    flat: fn(&N::Input) -> Vec<f64>,
    unflat: fn(&[f64]) -> N::Input,
) {
    let net: N = at_reference();
    let name = N::NAME;
    let mut grad = N::zeros();
    let loss = net.backward(&x, &t, &mut grad);
    assert!(
        rel_err(loss, reference.loss) <= 1e-12,
        "{name}: loss {loss}"
    );
    assert_close(
        &format!("{name} backward"),
        grad.as_slice(),
        reference.params,
        1e-10,
    );
    assert!(
        grad.as_slice().iter().any(|g| *g != 0.0),
        "{name}: zero gradient"
    );
    let dx = flat(&net.input_gradient(&x, &t));
    assert_close(
        &format!("{name} input_gradient"),
        &dx,
        reference.input,
        1e-10,
    );
    check_against_differences(&net, x, t, flat, unflat);
}

/// `backward`, `backward_scaled` with a scale other than 1 into a non-zero gradient,
/// `input_gradient`, and `backward_batch` over three samples, each against central
/// differences of the compiled `loss`.
fn check_against_differences<N: Network<Scalar = f64>>(
    net: &N,
    x: N::Input,
    t: N::Target,
    flat: fn(&N::Input) -> Vec<f64>,
    unflat: fn(&[f64]) -> N::Input,
) {
    let name = N::NAME;
    let grad = common::check_params(net, &x, &t);
    common::check_input(net, &x, &t, flat, unflat);

    // backward_scaled adds scale · ∂L/∂θ to whatever the gradient held.
    let scale = 0.37;
    let mut start = N::zeros();
    for (k, g) in start.as_mut_slice().iter_mut().enumerate() {
        *g = 0.25 - 0.1 * k as f64;
    }
    let mut scaled = start.clone();
    let scaled_loss = net.backward_scaled(&x, &t, scale, &mut scaled);
    assert!(
        rel_err(scaled_loss, net.loss(&x, &t)) <= 1e-12,
        "{name}: scaled loss"
    );
    let added: Vec<f64> = scaled
        .as_slice()
        .iter()
        .zip(start.as_slice())
        .map(|(s, g)| s - g)
        .collect();
    let want: Vec<f64> = grad.as_slice().iter().map(|g| scale * g).collect();
    assert_close(&format!("{name} backward_scaled"), &added, &want, 1e-10);

    // backward_batch: the mean of the per-sample finite-difference gradients.
    let xs: Vec<N::Input> = [0.0, 0.3, -0.45]
        .iter()
        .map(|shift| unflat(&flat(&x).iter().map(|v| v + shift).collect::<Vec<_>>()))
        .collect();
    let ts = vec![t.clone(); xs.len()];
    let mut batch = start.clone();
    let mean_loss = net.backward_batch(&xs, &ts, &mut batch);
    let n = xs.len() as f64;
    let want_loss = xs.iter().map(|x| net.loss(x, &t)).sum::<f64>() / n;
    assert!(rel_err(mean_loss, want_loss) <= 1e-12, "{name}: batch loss");
    let mut probe = net.clone();
    for k in 0..N::PARAMS {
        let mut params = net.as_slice().to_vec();
        let fd = central(&mut params, k, &mut |p| {
            probe.as_mut_slice().copy_from_slice(p);
            xs.iter().map(|x| probe.loss(x, &t)).sum::<f64>() / n
        });
        let got = batch.as_slice()[k] - start.as_slice()[k];
        assert!(
            rel_err(got, fd) <= 1e-6,
            "{name} backward_batch: parameter {k} ({}): {got} vs finite difference {fd}",
            common::param_name::<N>(k)
        );
    }
}

fn vec_of<const N: usize>(v: &[f64; N]) -> Vec<f64> {
    v.to_vec()
}
fn array_of<const N: usize>(v: &[f64]) -> [f64; N] {
    v.try_into().expect("length")
}

#[test]
fn min1_mse_of_an_affine_output() {
    check::<Min1Loop>(&reference::MIN1, input(), target(), vec_of, array_of);
    check::<Min1Unrolled>(&reference::MIN1, input(), target(), vec_of, array_of);
}

#[test]
fn unr2_loss_times_a_forward_value_without_target() {
    check::<Unr2Loop>(&reference::UNR2, input(), (), vec_of, array_of);
    check::<Unr2Unrolled>(&reference::UNR2, input(), (), vec_of, array_of);
}

#[test]
fn half_sum_of_squares() {
    check::<HalfLoop>(&reference::HALF, input(), target(), vec_of, array_of);
    check::<HalfUnrolled>(&reference::HALF, input(), target(), vec_of, array_of);
}

#[test]
fn lin_output_times_target() {
    check::<LinLoop>(&reference::LIN, input(), target(), vec_of, array_of);
    check::<LinUnrolled>(&reference::LIN, input(), target(), vec_of, array_of);
}

#[test]
fn reg_dense_tanh_then_affine() {
    check::<RegLoop>(&reference::REG, input(), target(), vec_of, array_of);
    check::<RegUnrolled>(&reference::REG, input(), target(), vec_of, array_of);
}

chainrule::network! {
    /// The net of the report, as a new user writes it: f32, default form.
    pub net Reg {
        input x: [16];
        target t: [2];
        let h = dense(x, 32, tanh);
        let y = dense(h, 2);
        output y;
        loss mse(y, t);
    }
}

#[test]
fn the_reported_net_passes_gradcheck() {
    let net = Reg::new(1);
    let (x, t) = ([0.3f32; 16], [1.0f32, -1.0]);
    let mut grad = Reg::zeros();
    let loss = net.backward(&x, &t, &mut grad);
    assert!(
        (loss - 0.918).abs() < 5e-4,
        "the reported loss is 0.918, got {loss}"
    );
    let nonzero = grad.as_slice().iter().filter(|g| **g != 0.0).count();
    assert_eq!(
        nonzero,
        Reg::PARAMS,
        "every one of the 610 entries moves the loss"
    );
    chainrule::gradcheck(&net, &x, &t).assert_passed();
    // And through the scaled path the optimizers use.
    let mut batch = Reg::zeros();
    net.backward_batch(&[x, x], &[t, t], &mut batch);
    for (b, g) in batch.as_slice().iter().zip(grad.as_slice()) {
        assert!((b - g).abs() <= 1e-6 * g.abs().max(1.0), "batch {b} vs {g}");
    }
}

// The audit of issue 7: every other way a value could be read under another's name.

// Two lets that are one node: the later one has no local of its own.
both_forms!(TwinLoop, TwinUnrolled {
    input x: [3]; target t: [3]; param w: [3]; param b: [3];
    let a = w * x + b; let y = w * x + b;
    output y; loss mse(y, t) + 0.1 * sum(a);
});
// Each let's adjoint is the other let's value: `∂L/∂y = z`, `∂L/∂z = y`.
both_forms!(CrossLoop, CrossUnrolled {
    input x: [3]; param w: [3]; param q: [3];
    let y = w * x; let z = tanh(q * x);
    output y; loss sum(y * z);
});
// User names that spell the generated ones.
both_forms!(NamesLoop, NamesUnrolled {
    input x: [3]; target t: [3]; param w: [3]; param b: [3];
    let y = w * x + b; let y_1 = tanh(y); let d_y = y_1 * y; let v_y = 2 * d_y;
    output v_y; loss 0.5 * sum((v_y - t) ^ 2) + mse(y, t);
});
// An input gradient whose total is a forward value of the loss.
both_forms!(ResidualInputLoop, ResidualInputUnrolled {
    input x: [3]; target t: [3]; param w: [3];
    let y = x + w; output y; loss mse(y, t);
});

#[test]
fn audit_nets_agree_with_finite_differences_in_both_forms() {
    fn run<N: Network<Scalar = f64, Input = [f64; 3]>>(t: N::Target) {
        check_against_differences(&at_reference::<N>(), input(), t, vec_of, array_of);
    }
    run::<TwinLoop>(target());
    run::<TwinUnrolled>(target());
    run::<CrossLoop>(());
    run::<CrossUnrolled>(());
    run::<NamesLoop>(target());
    run::<NamesUnrolled>(target());
    run::<ResidualInputLoop>(target());
    run::<ResidualInputUnrolled>(target());
}
