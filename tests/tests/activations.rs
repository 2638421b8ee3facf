//! The activations of issue 8 through the real macro, each in an f64 and an f32 net
//! `y = f(w * x + b)`, `loss sum(y)`, over the 47 points of its reference:
//!
//! - against JAX (`tests/reference/activations.py` wrote `activations_values.rs`), with
//!   `w = 1`, `b = 0` so each element sits exactly on its point: `forward` gives the
//!   values, `input_gradient` and `∂L/∂b` the derivatives, `∂L/∂w` the points times them,
//!   and `backward` returns their sum. At a kink the reference is PyTorch's derivative
//!   (the script says where JAX's autodiff differs: hardtanh at its bounds).
//!   Tolerances, relative to `max(|reference|, 1)`: [`TOL_F64`] and [`TOL_F32`].
//! - against central differences of the compiled `loss` (`common::check_params`,
//!   `common::check_input`, relative error ≤ 1e-6) at random points away from the kinks,
//!   with random `w` and `b`.
//!
//! Then `dense(x, 4, gelu)` and a net with `hardswish`, `mish`, `elu` and `log_sigmoid`
//! as layer activations, against JAX and central differences.

mod common;
#[path = "../reference/activations_values.rs"]
mod reference;

use chainrule::{Network, network};
use common::{Rng, check_input, check_params, rel_err};

/// Every point, value and derivative of one activation (from JAX, and PyTorch at kinks).
#[derive(Debug)]
pub struct Activation {
    pub points: &'static [f64],
    pub values: &'static [f64],
    pub derivatives: &'static [f64],
}

/// JAX's loss and gradients of a net at the closed-form point below.
#[derive(Debug)]
pub struct NetReference {
    pub loss: f64,
    pub params: &'static [f64],
    pub input: &'static [f64],
}

/// f64 against JAX: a few ulps of the larger of the value and 1.
const TOL_F64: f64 = 2e-14;
/// f32 against JAX's f64 values at the same (f32-exact) points.
const TOL_F32: f64 = 1e-6;

const N: usize = 47;
const _: () = assert!(
    reference::N == N,
    "the nets below are written for 47 points"
);

/// Asserts `got` equals `want` entry by entry to `tol`, relative to `max(|want|, 1)`.
fn assert_close(what: &str, points: &[f64], got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs() / w.abs().max(1.0);
        assert!(
            err <= tol,
            "{what} at x = {}: got {g}, want {w} (error {err:e})",
            points[k]
        );
    }
}

/// `w = 1`, `b = 0`: the net computes `f` at its input.
fn identity_affine<T: chainrule::Float, M: Network<Scalar = T>>() -> M {
    let mut net = M::zeros();
    net.as_mut_slice()[..N].fill(T::ONE);
    net
}

/// The f64 net on the reference's points.
fn check_reference<M>(r: &Activation)
where
    M: Network<Scalar = f64, Input = [f64; N], Output = [f64; N], Target = ()>,
{
    let name = M::NAME;
    let x: [f64; N] = r.points.try_into().expect("47 points");
    let net: M = identity_affine();
    assert_close(
        &format!("{name} forward"),
        r.points,
        &net.forward(&x),
        r.values,
        TOL_F64,
    );
    assert_close(
        &format!("{name} input_gradient"),
        r.points,
        &net.input_gradient(&x, &()),
        r.derivatives,
        TOL_F64,
    );
    let mut grad = M::zeros();
    let loss = net.backward(&x, &(), &mut grad);
    let sum: f64 = r.values.iter().sum();
    let scale: f64 = r.values.iter().map(|v| v.abs()).sum::<f64>().max(1.0);
    assert!(
        (loss - sum).abs() <= TOL_F64 * scale,
        "{name}: loss {loss} vs {sum}"
    );
    let (dw, db) = grad.as_slice().split_at(N);
    assert_close(
        &format!("{name} ∂L/∂b"),
        r.points,
        db,
        r.derivatives,
        TOL_F64,
    );
    let want_dw: Vec<f64> = r
        .points
        .iter()
        .zip(r.derivatives)
        .map(|(x, d)| x * d)
        .collect();
    for (k, (g, w)) in dw.iter().zip(&want_dw).enumerate() {
        // ∂L/∂w = x · f'(x): relative to the product's own size, which may exceed 1.
        assert!(
            (g - w).abs() <= TOL_F64 * w.abs().max(1.0),
            "{name} ∂L/∂w at x = {}: got {g}, want {w}",
            r.points[k]
        );
    }
}

/// The f32 net on the same points against the f64 reference.
fn check_reference_f32<M>(r: &Activation)
where
    M: Network<Scalar = f32, Input = [f32; N], Output = [f32; N], Target = ()>,
{
    let name = M::NAME;
    let x: [f32; N] = core::array::from_fn(|k| r.points[k] as f32);
    assert!(
        x.iter().zip(r.points).all(|(a, b)| f64::from(*a) == *b),
        "{name}: every point is exact in f32"
    );
    let net: M = identity_affine();
    let widen = |v: &[f32]| v.iter().map(|&e| f64::from(e)).collect::<Vec<f64>>();
    assert_close(
        &format!("{name} forward"),
        r.points,
        &widen(&net.forward(&x)),
        r.values,
        TOL_F32,
    );
    assert_close(
        &format!("{name} input_gradient"),
        r.points,
        &widen(&net.input_gradient(&x, &())),
        r.derivatives,
        TOL_F32,
    );
    let mut grad = M::zeros();
    net.backward(&x, &(), &mut grad);
    assert_close(
        &format!("{name} ∂L/∂b"),
        r.points,
        &widen(&grad.as_slice()[N..]),
        r.derivatives,
        TOL_F32,
    );
}

/// `backward` and `input_gradient` of the f64 net against central differences at random
/// inputs in `[lo, hi)`, `w` in `[0.75, 1.25)` and `b` in `[-0.2, 0.2)`.
fn check_differences<M>(lo: f64, hi: f64, seed: u64)
where
    M: Network<Scalar = f64, Input = [f64; N], Output = [f64; N], Target = ()>,
{
    let mut rng = Rng(seed);
    for _ in 0..3 {
        let mut net = M::zeros();
        let (w, b) = net.as_mut_slice().split_at_mut(N);
        w.iter_mut().for_each(|v| *v = rng.range(0.75, 1.25));
        b.iter_mut().for_each(|v| *v = rng.range(-0.2, 0.2));
        let x = rng.array::<N>(lo, hi);
        check_params(&net, &x, &());
        check_input(&net, &x, &(), |v| v.to_vec(), |v| v.try_into().expect("47"));
    }
}

macro_rules! activations {
    ($($test:ident: $net:ident, $net32:ident, $reference:ident, $lo:literal .. $hi:literal,
       { $($call:tt)* };)*) => {$(
        network! {
            #[scalar(f64)]
            net $net {
                input x: [47];
                param w: [47] = ones;
                param b: [47];
                let y = $($call)*;
                output y;
                loss sum(y);
            }
            net $net32 {
                input x: [47];
                param w: [47] = ones;
                param b: [47];
                let y = $($call)*;
                output y;
                loss sum(y);
            }
        }

        #[test]
        fn $test() {
            check_reference::<$net>(&reference::$reference);
            check_reference_f32::<$net32>(&reference::$reference);
            check_differences::<$net>($lo, $hi, 0xac71_0000 + line!() as u64);
        }
    )*};
}

activations! {
    gelu: Gelu, Gelu32, GELU, -5.0 .. 5.0, { gelu(w * x + b) };
    gelu_tanh: GeluTanh, GeluTanh32, GELU_TANH, -5.0 .. 5.0, { gelu_tanh(w * x + b) };
    elu: Elu, Elu32, ELU, -5.0 .. 5.0, { elu(w * x + b) };
    elu_with_alpha: EluHalf, EluHalf32, ELU_HALF, -5.0 .. 5.0, { elu(w * x + b, 0.5) };
    selu: Selu, Selu32, SELU, -5.0 .. 5.0, { selu(w * x + b) };
    silu: Silu, Silu32, SILU, -5.0 .. 5.0, { silu(w * x + b) };
    mish: Mish, Mish32, MISH, -5.0 .. 5.0, { mish(w * x + b) };
    softsign: Softsign, Softsign32, SOFTSIGN, -5.0 .. 5.0, { softsign(w * x + b) };
    hardtanh: Hardtanh, Hardtanh32, HARDTANH, -3.0 .. 3.0, { hardtanh(w * x + b) };
    hardtanh_with_bounds: HardtanhWide, HardtanhWide32, HARDTANH_WIDE, -3.0 .. 3.0,
        { hardtanh(w * x + b, -2, 0.5) };
    hardsigmoid: Hardsigmoid, Hardsigmoid32, HARDSIGMOID, -5.0 .. 5.0,
        { hardsigmoid(w * x + b) };
    hardswish: Hardswish, Hardswish32, HARDSWISH, -5.0 .. 5.0, { hardswish(w * x + b) };
    log1p: Log1p, Log1p32, LOG1P, -0.5 .. 4.0, { log1p(w * x + b) };
    expm1: Expm1, Expm132, EXPM1, -4.0 .. 4.0, { expm1(w * x + b) };
    tan: Tan, Tan32, TAN, -0.8 .. 0.8, { tan(w * x + b) };
    atan: Atan, Atan32, ATAN, -5.0 .. 5.0, { atan(w * x + b) };
    asinh: Asinh, Asinh32, ASINH, -5.0 .. 5.0, { asinh(w * x + b) };
    erf: Erf, Erf32, ERF, -3.0 .. 3.0, { erf(w * x + b) };
    log_sigmoid: LogSigmoid, LogSigmoid32, LOG_SIGMOID, -5.0 .. 5.0,
        { log_sigmoid(w * x + b) };
}

// Layer activations: the same closed formulas as tests/reference/activations.py.
fn param(k: usize) -> f64 {
    0.5 * (1.3 * k as f64 + 0.7).sin()
}
fn input() -> [f64; 3] {
    core::array::from_fn(|i| (0.9 * i as f64 + 0.2).cos())
}
fn target() -> [f64; 2] {
    core::array::from_fn(|i| 0.8 * (2.1 * i as f64 + 0.4).sin())
}

network! {
    #[scalar(f64)]
    net GeluMlp {
        input x: [3];
        target t: [2];
        let h = dense(x, 4, gelu);
        let y = dense(h, 2);
        output y;
        loss mse(y, t);
    }

    #[scalar(f64)]
    net MixedMlp {
        input x: [3];
        target t: [2];
        let h = dense(x, 5, hardswish);
        let g = dense(h, 4, mish);
        let y = dense(g, 2, elu);
        output y;
        loss mse(y, t) + sum(log_sigmoid(g));
    }
}

fn check_net<M>(r: &NetReference)
where
    M: Network<Scalar = f64, Input = [f64; 3], Target = [f64; 2]>,
{
    let name = M::NAME;
    let mut net = M::zeros();
    for (k, p) in net.as_mut_slice().iter_mut().enumerate() {
        *p = param(k);
    }
    let (x, t) = (input(), target());
    let mut grad = M::zeros();
    let loss = net.backward(&x, &t, &mut grad);
    assert!(
        rel_err(loss, r.loss) <= 1e-12,
        "{name}: loss {loss} vs {}",
        r.loss
    );
    assert_eq!(
        grad.as_slice().len(),
        r.params.len(),
        "{name}: parameter count"
    );
    for (k, (g, w)) in grad.as_slice().iter().zip(r.params).enumerate() {
        assert!(
            rel_err(*g, *w) <= 1e-12,
            "{name}: ∂L/∂{}: got {g}, want {w}",
            common::param_name::<M>(k)
        );
    }
    for (k, (g, w)) in net.input_gradient(&x, &t).iter().zip(r.input).enumerate() {
        assert!(
            rel_err(*g, *w) <= 1e-12,
            "{name}: ∂L/∂x[{k}]: got {g}, want {w}"
        );
    }
    check_params(&net, &x, &t);
    check_input(&net, &x, &t, |v| v.to_vec(), |v| [v[0], v[1], v[2]]);
}

#[test]
fn gelu_as_a_dense_activation() {
    check_net::<GeluMlp>(&reference::GELU_MLP);
}

#[test]
fn hardswish_mish_elu_and_log_sigmoid_in_layers() {
    check_net::<MixedMlp>(&reference::MIXED_MLP);
}

#[test]
fn log_sigmoid_is_finite_for_large_inputs() {
    // The stable form: no overflow of e⁻ˣ, and the derivative σ(−x) stays in [0, 1].
    let net: LogSigmoid = identity_affine();
    let mut x = [0.0; N];
    for (k, v) in x.iter_mut().enumerate() {
        *v = (k as f64 - 23.0) * 40.0; // −920 … 960
    }
    let y = net.forward(&x);
    let d = net.input_gradient(&x);
    for k in 0..N {
        assert!(
            y[k].is_finite() && y[k] <= 0.0,
            "log_sigmoid({}) = {}",
            x[k],
            y[k]
        );
        assert!(
            (0.0..=1.0).contains(&d[k]),
            "log_sigmoid'({}) = {}",
            x[k],
            d[k]
        );
    }
    assert_eq!(y[0], x[0]); // ln σ(x) = x for very negative x
    assert_eq!(y[N - 1], 0.0);
}

/// The operator table against JAX, without the emitter: each row's `value` (what
/// constant folding and the reference interpreter compute) and its one-line derivative,
/// built into a graph and evaluated by the interpreter, at every reference point. This
/// checks the folder against independent values, not against itself.
#[test]
fn every_table_row_folds_and_differentiates_as_jax_does() {
    use chainrule_codegen::diff::{differentiate, sum_terms};
    use chainrule_codegen::eval::{Leaves, Value, eval};
    use chainrule_codegen::ir::{Applied, Graph, Op, Shape, Unary};
    use chainrule_grammar::ops::{lookup, public_names};

    for name in public_names() {
        assert!(
            reference::TABLE.iter().any(|(row, ..)| *row == name),
            "`{name}` has no reference values in tests/reference/activations.py"
        );
    }
    for (row, params, r) in reference::TABLE {
        let f = Applied::new(lookup(row).expect("a row of the table"), params);
        let mut g = Graph::new();
        let w = g.leaf(Op::Param(0), Shape::Scalar);
        let seed = g.leaf(Op::Seed, Shape::Scalar);
        let y = g.unary(Unary::Elem(f), w);
        let adj = differentiate(&mut g, y, seed);
        let terms = adj.terms[w.index()].clone();
        let d = (!terms.is_empty()).then(|| sum_terms(&mut g, &terms));
        for ((x, value), derivative) in r.points.iter().zip(r.values).zip(r.derivatives) {
            let folded = f.value(*x);
            assert!(
                rel_err(folded, *value) <= TOL_F64,
                "{row}{params:?} folds to {folded} at {x}, JAX gives {value}"
            );
            let at = Leaves {
                input: Value::scalar(0.0),
                target: None,
                params: vec![Value::scalar(*x)],
                seed: 1.0,
            };
            let got = d.map_or(0.0, |d| eval(&g, &at)[d.index()].data[0]);
            assert!(
                rel_err(got, *derivative) <= TOL_F64,
                "{row}{params:?}' at {x}: the table gives {got}, the reference {derivative}"
            );
        }
    }
}
