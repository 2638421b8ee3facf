//! Unusual but valid definitions: outputs that are the input or a parameter, matrix
//! outputs and targets, a two-argument `fn` mixing shapes, constant loss terms, a
//! parameter whose gradient vanishes, Unicode names, and a loss that ignores the input.

mod common;

use chainrule::network;
use common::{Rng, check_input, check_params, randomize, rel_err};

network! {
    /// The output is the input itself; the loss still trains `w`.
    #[scalar(f64)]
    net Passthrough {
        input x: [3];
        target t: [3];
        param w: [3] = ones;
        output x;
        loss mse(w * x, t) + 1;
    }

    /// A matrix input, matrix output and matrix target.
    #[scalar(f64)]
    net Matrices {
        input x: [2, 3];
        target t: [2, 2];
        param w: [3, 2] = xavier;
        param b: [2];
        fn mix(a, s) = a * s + max(a, s) - 0.5;
        let y = mix(x @ w, b[1]);
        output y;
        loss mse(y, t) + 0.1 * sum(transpose(y) @ y);
    }

    /// Greek names, a parameter as the output, and one whose gradient is zero.
    #[scalar(f64)]
    net Greek {
        input ξ: [2];
        target τ: [];
        param θ: [2] = uniform(-1, 1);
        param κ: [] = constant(0.5);
        param ζ: [2];
        let ŷ = dot(θ, ξ) * κ + 0 * sum(ζ);
        output θ;
        loss (ŷ - τ) ^ 2;
    }

    /// A loss that does not read the input: its input gradient is zero.
    #[scalar(f64)]
    net Prior {
        input x: [2];
        target t: [];
        param w: [2] = ones;
        let y = sum(w * x);
        output y;
        loss sum(w * w) + t;
    }
}

#[test]
fn output_is_the_input() {
    let mut rng = Rng(21);
    let mut net = Passthrough::zeros();
    randomize(&mut net, &mut rng, -1.0, 1.0);
    let x = rng.array::<3>(-1.0, 1.0);
    assert_eq!(net.forward(&x), x);
    check_params(&net, &x, &[0.1, 0.2, 0.3]);
    check_input(
        &net,
        &x,
        &[0.1, 0.2, 0.3],
        |v| v.to_vec(),
        |v| [v[0], v[1], v[2]],
    );
}

#[test]
fn matrix_shapes_and_a_two_argument_fn() {
    let mut rng = Rng(22);
    for _ in 0..4 {
        let mut net = Matrices::zeros();
        randomize(&mut net, &mut rng, -1.0, 1.0);
        let x = [rng.array::<3>(-1.0, 1.0), rng.array::<3>(-1.0, 1.0)];
        let t = [rng.array::<2>(-1.0, 1.0), rng.array::<2>(-1.0, 1.0)];
        let y: [[f64; 2]; 2] = net.forward(&x);
        // y = (x w) · b[1] + max(x w, b[1]) − 0.5, by hand.
        for (xi, yi) in x.iter().zip(&y) {
            for (j, yij) in yi.iter().enumerate() {
                let xw: f64 = xi.iter().zip(&net.w).map(|(a, wk)| a * wk[j]).sum();
                let want = xw * net.b[1] + xw.max(net.b[1]) - 0.5;
                assert!(rel_err(*yij, want) < 1e-14);
            }
        }
        check_params(&net, &x, &t);
        check_input(
            &net,
            &x,
            &t,
            |v| v.as_flattened().to_vec(),
            |v| [[v[0], v[1], v[2]], [v[3], v[4], v[5]]],
        );
    }
}

#[test]
fn unicode_names_a_parameter_output_and_a_vanishing_gradient() {
    let net = Greek::new(4);
    assert_eq!(net.κ, 0.5);
    assert_eq!(net.forward(&[1.0, 2.0]), net.θ);
    let grad = check_params(&net, &[1.0, 2.0], &0.25);
    assert_eq!(grad.ζ, [0.0, 0.0], "0 · sum(ζ) has no gradient");
    assert_eq!(Greek::LAYOUT[0].name, "θ");
}

#[test]
fn a_loss_that_ignores_the_input() {
    let net = Prior::new(1);
    assert_eq!(net.input_gradient(&[3.0, 4.0], &0.0), [0.0, 0.0]);
    let grad = check_params(&net, &[3.0, 4.0], &0.0);
    assert_eq!(grad.w, [2.0, 2.0]);
    assert_eq!(net.loss(&[3.0, 4.0], &1.5), 2.0 + 1.5);
}

/// A net whose expression comes from a `macro_rules!` fragment, as a user's own macro
/// would forward it.
macro_rules! scaled {
    ($name:ident, $e:expr) => {
        network! {
            #[scalar(f64)]
            net $name {
                input x: [1];
                param w: [1] = constant(2.0);
                let y = w * $e;
                output y;
                loss sum(y);
            }
        }
    };
}

scaled!(Forwarded, x + 1);

#[test]
fn a_forwarded_expression_binds_as_one_operand() {
    // `w * $e` with `$e = x + 1` is `w * (x + 1)`: 2 · (1 + 1) = 4, not 2 · 1 + 1.
    let net = Forwarded::new(0);
    assert_eq!(net.forward(&[1.0]), [4.0]);
    let mut grad = Forwarded::zeros();
    net.backward(&[1.0], &mut grad);
    assert_eq!(grad.w, [2.0]);
}

network! {
    /// Nets named like the primitive types the generated code also names.
    #[allow(non_camel_case_types)]
    net u64 {
        input x: [2];
        param w: [2] = ones;
        let y = sum(w * x);
        output y;
        loss y;
    }
    #[allow(non_camel_case_types)]
    net usize {
        input x: [2];
        param w: [2] = ones;
        output w;
        loss sum(w * x);
    }
    #[allow(non_camel_case_types)]
    net str {
        input x: [];
        param w: [] = ones;
        output w;
        loss w * x;
    }

    /// Constants beyond f32's range are f32's infinities, as f32 arithmetic gives: a
    /// literal, and constants folded at compile time.
    net HugeLiteral {
        input x: [2];
        param w: [2] = ones;
        let y = w * x * 1e39;
        output y;
        loss sum(w * x);
    }
    net HugeFolded {
        input x: [2];
        param w: [2] = ones;
        let y = w * x + exp(89) - 2 ^ 128 * x;
        output y;
        loss sum(w * x);
    }
}

#[test]
fn nets_may_be_named_like_primitive_types() {
    assert_eq!(<u64 as chainrule::Network>::NAME, "u64");
    assert_eq!(u64::new(0).forward(&[1.0, 2.0]), 3.0);
    assert_eq!(usize::PARAMS, 2);
    assert_eq!(str::new(0).loss(&3.0), 3.0);
}

#[test]
fn f32_constants_out_of_range_are_infinite() {
    assert_eq!(
        HugeLiteral::new(0).forward(&[1.0, -1.0]),
        [f32::INFINITY, f32::NEG_INFINITY]
    );
    // e⁸⁹ and 2¹²⁸ are +∞ in f32: +∞ − ∞·0 is NaN, +∞ − ∞·(−1) is +∞.
    let y = HugeFolded::new(0).forward(&[0.0, -1.0]);
    assert!(y[0].is_nan(), "{y:?}");
    assert_eq!(y[1], f32::INFINITY);
}
