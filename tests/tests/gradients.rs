//! Every elementwise function, loss and operator of the language, through the real macro:
//! `backward` and `input_gradient` checked in f64 against central finite differences
//! (relative error ≤ 1e-6), a few against hand-derived values, and the kinks against
//! PyTorch's conventions.

mod common;

use chainrule::{Network, network};
use common::{Rng, check_input, check_params, randomize, rel_err};

macro_rules! elementwise {
    ($($test:ident, $net:ident: $f:ident in $lo:literal .. $hi:literal;)*) => {$(
        network! {
            #[scalar(f64)]
            net $net {
                input x: [3];
                target t: [3];
                param w: [3] = ones;
                param b: [3];
                let y = $f(w * x + b);
                output y;
                loss mse(y, t);
            }
        }

        #[test]
        fn $test() {
            let mut rng = Rng(0x5eed_0000 + line!() as u64);
            for _ in 0..5 {
                let mut net = $net::zeros();
                randomize(&mut net, &mut rng, $lo, $hi);
                let x = rng.array::<3>($lo, $hi);
                let t = rng.array::<3>(-1.0, 1.0);
                check_params(&net, &x, &t);
                check_input(&net, &x, &t, |v| v.to_vec(), |v| [v[0], v[1], v[2]]);
            }
        }
    )*};
}

elementwise! {
    exp_gradient, ExpNet: exp in -1.0 .. 1.0;
    ln_gradient, LnNet: ln in 0.3 .. 1.0;
    sqrt_gradient, SqrtNet: sqrt in 0.3 .. 1.0;
    abs_gradient, AbsNet: abs in -1.0 .. 1.0;
    sin_gradient, SinNet: sin in -1.0 .. 1.0;
    cos_gradient, CosNet: cos in -1.0 .. 1.0;
    tanh_gradient, TanhNet: tanh in -1.0 .. 1.0;
    sigmoid_gradient, SigmoidNet: sigmoid in -2.0 .. 2.0;
    relu_gradient, ReluNet: relu in -1.0 .. 1.0;
    softplus_gradient, SoftplusNet: softplus in -2.0 .. 2.0;
    leaky_relu_gradient, LeakyNet: leaky_relu in -1.0 .. 1.0;
}

network! {
    /// Every binary operator, broadcasting, power, max and min, leaky_relu with a slope,
    /// unary minus, indexing and a user fn, in one net.
    #[scalar(f64)]
    net Operators {
        input x: [3];
        target t: [];
        param a: [3] = ones;
        param b: [3];
        param s: [];
        param m: [2, 3] = xavier;
        fn cube(u) = u * u * u;
        let u = a * x - b / (s * s + 1.5);
        let v = -u ^ 2 + max(u, b) - min(a, x) * s;
        let w = leaky_relu(v, 0.2) + cube(b) / 3;
        let p = m @ w;
        let q = (a + 2) ^ s + exp(m[1, 2]) * p[0] - w[2] / a[1];
        output q;
        loss sum((q - t) ^ 2) + 0.1 * sum(m * m) + mean(a) * dot(a, b);
    }
}

#[test]
fn operators_gradient() {
    let mut rng = Rng(11);
    for _ in 0..8 {
        let mut net = Operators::zeros();
        randomize(&mut net, &mut rng, 0.2, 1.2);
        let x = rng.array::<3>(-1.0, 1.0);
        let t = rng.range(-1.0, 1.0);
        check_params(&net, &x, &t);
        check_input(&net, &x, &t, |v| v.to_vec(), |v| [v[0], v[1], v[2]]);
    }
}

network! {
    /// The three forms of `@`, transpose, and a matrix input.
    #[scalar(f64)]
    net Products {
        input x: [2, 3];
        target t: [4];
        param p: [3, 4] = xavier;
        param q: [2] = ones;
        param r: [4, 2] = xavier;
        let a = x @ p;                  // [2, 4]
        let v = q @ a;                  // [4]
        let b = transpose(a) @ x;       // [4, 3]
        let u = transpose(transpose(p) @ transpose(b)); // [4, 4]
        let w = u @ (r @ q) + tanh(v);  // [4]
        output w;
        loss mse(w, t) + sum(transpose(a) @ transpose(r));
    }
}

#[test]
fn products_gradient() {
    let mut rng = Rng(12);
    for _ in 0..5 {
        let mut net = Products::zeros();
        randomize(&mut net, &mut rng, -0.5, 0.5);
        let x = [rng.array::<3>(-1.0, 1.0), rng.array::<3>(-1.0, 1.0)];
        let t = rng.array::<4>(-1.0, 1.0);
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

macro_rules! losses {
    ($($test:ident, $net:ident: $loss:ident of $act:ident, target in $tlo:literal .. $thi:literal;)*) => {$(
        network! {
            #[scalar(f64)]
            net $net {
                input x: [4];
                target t: [3];
                param w: [3, 4] = xavier;
                param b: [3];
                let z = w @ x + b;
                let p = $act(z);
                output p;
                loss $loss(p, t);
            }
        }

        #[test]
        fn $test() {
            let mut rng = Rng(0x1055 + line!() as u64);
            for _ in 0..5 {
                let mut net = $net::zeros();
                randomize(&mut net, &mut rng, -0.7, 0.7);
                let x = rng.array::<4>(-1.0, 1.0);
                let t = rng.array::<3>($tlo, $thi);
                check_params(&net, &x, &t);
                check_input(&net, &x, &t, |v| v.to_vec(), |v| [v[0], v[1], v[2], v[3]]);
            }
        }
    )*};
}

losses! {
    mse_gradient, MseNet: mse of tanh, target in -1.0 .. 1.0;
    bce_of_sigmoid_gradient, BceSigmoidNet: bce of sigmoid, target in 0.0 .. 1.0;
    bce_of_softmax_gradient, BceSoftmaxNet: bce of softmax, target in 0.0 .. 1.0;
    bce_with_logits_gradient, BceLogitsNet: bce_with_logits of tanh, target in 0.0 .. 1.0;
    cross_entropy_of_softmax_gradient, CeSoftmaxNet: cross_entropy of softmax, target in 0.0 .. 1.0;
    cross_entropy_of_sigmoid_gradient, CeSigmoidNet: cross_entropy of sigmoid, target in 0.0 .. 1.0;
    softmax_cross_entropy_gradient, SceNet: softmax_cross_entropy of tanh, target in 0.0 .. 1.0;
    log_softmax_gradient, LogSoftmaxNet: mse of log_softmax, target in -2.0 .. 0.0;
}

network! {
    /// A net without target: the loss depends on the input and parameters only.
    #[scalar(f64)]
    net Energy {
        input x: [2];
        param a: [2] = ones;
        param k: [];
        let e = sum(a * x * x) + k * dot(a, x) + softplus(k);
        output e;
        loss e;
    }
}

#[test]
fn net_without_target() {
    let net = Energy {
        a: [0.5, 2.0],
        k: 0.25,
    };
    let x = [1.0, -3.0];
    // e = 0.5·1 + 2·9 + 0.25·(0.5 − 6) + softplus(0.25)
    let softplus = (1.0f64 + 0.25f64.exp()).ln();
    let want = 0.5 + 18.0 + 0.25 * (0.5 - 6.0) + softplus;
    assert!(rel_err(net.forward(&x), want) < 1e-14);
    assert!(rel_err(net.loss(&x), want) < 1e-14);
    let mut grad = Energy::zeros();
    assert!(rel_err(net.backward(&x, &mut grad), want) < 1e-14);
    // ∂e/∂a = x² + k x, ∂e/∂k = a·x + σ(k), ∂e/∂x = 2 a x + k a.
    let sigmoid = 1.0 / (1.0 + (-0.25f64).exp());
    let expect_a = [1.0 + 0.25, 9.0 - 0.75];
    for (i, (got, want)) in grad.a.iter().zip(expect_a).enumerate() {
        assert!(rel_err(*got, want) < 1e-14, "a[{i}]");
    }
    assert!(rel_err(grad.k, -5.5 + sigmoid) < 1e-14);
    let dx = net.input_gradient(&x);
    assert!(rel_err(dx[0], 2.0 * 0.5 * 1.0 + 0.25 * 0.5) < 1e-14);
    assert!(rel_err(dx[1], 2.0 * 2.0 * -3.0 + 0.25 * 2.0) < 1e-14);
    // The trait form takes `()` for the target.
    assert_eq!(<Energy as Network>::loss(&net, &x, &()), net.loss(&x));
    let mut g2 = Energy::zeros();
    let mean = net.backward_batch(&[x, x], &mut g2);
    assert!(rel_err(mean, want) < 1e-14);
    assert_eq!(g2, grad);
}

network! {
    /// The lecture's XOR net in f64, to compare with a hand derivation.
    #[scalar(f64)]
    net XorF64 {
        input  x: [2];
        target t: [1];
        param w1: [2, 2] = xavier;
        param b1: [2];
        param w2: [1, 2] = xavier;
        param b2: [1];
        let h = sigmoid(w1 @ x + b1);
        let y = sigmoid(w2 @ h + b2);
        output y;
        loss bce(y, t);
    }
}

#[test]
fn xor_gradient_matches_the_lecture_derivation() {
    let net = XorF64 {
        w1: [[0.5, -0.4], [0.3, 0.8]],
        b1: [0.1, -0.2],
        w2: [[1.2, -0.7]],
        b2: [0.05],
    };
    let (x, t) = ([1.0, 0.0], [1.0]);
    let sigma = |z: f64| 1.0 / (1.0 + (-z).exp());
    // Forward by hand.
    let z1 = [0.5 * 1.0 + 0.1, 0.3 * 1.0 - 0.2];
    let h = [sigma(z1[0]), sigma(z1[1])];
    let z2 = 1.2 * h[0] - 0.7 * h[1] + 0.05;
    let y = sigma(z2);
    assert!(rel_err(net.forward(&x)[0], y) < 1e-15);
    let loss = -(t[0] * y.ln() + (1.0 - t[0]) * (1.0 - y).ln());
    assert!(rel_err(net.loss(&x, &t), loss) < 1e-14);
    // Backward by hand: δ₂ = y − t, ∂w2 = δ₂ h, δ₁ = w2ᵀ δ₂ ⊙ h(1 − h), ∂w1 = δ₁ ⊗ x.
    let d2 = y - t[0];
    let d1 = [
        1.2 * d2 * h[0] * (1.0 - h[0]),
        -0.7 * d2 * h[1] * (1.0 - h[1]),
    ];
    let mut g = XorF64::zeros();
    net.backward(&x, &t, &mut g);
    let want = XorF64 {
        w1: [[d1[0] * x[0], d1[0] * x[1]], [d1[1] * x[0], d1[1] * x[1]]],
        b1: d1,
        w2: [[d2 * h[0], d2 * h[1]]],
        b2: [d2],
    };
    for (k, (a, b)) in g.as_slice().iter().zip(want.as_slice()).enumerate() {
        assert!(
            rel_err(*a, *b) < 1e-14,
            "parameter {k}: {a} vs hand-derived {b}"
        );
    }
    check_params(&net, &x, &t);
}

network! {
    #[scalar(f64)]
    net Kinks {
        input x: [4];
        target t: [];
        param p: [4];
        param q: [4];
        let r = relu(x + p) + abs(x + p) + leaky_relu(x + p, 0.3) + max(x + p, q) + 2 * min(x + p, q);
        output r;
        loss sum(r) + t;
    }
}

#[test]
fn kinks_follow_pytorch() {
    // At x + p = 0 and x + p = q: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = a, and max
    // and min split the gradient evenly at ties.
    let net = Kinks {
        p: [0.0, 0.0, 1.0, -1.0],
        q: [0.0, 5.0, 1.0, -3.0],
    };
    let x = [0.0; 4];
    let mut g = Kinks::zeros();
    net.backward(&x, &0.0, &mut g);
    // Element 0: x + p = 0 = q: relu 0, abs 0, leaky 0.3, max ½, min ½·2.
    // Element 1: x + p = 0 < q: relu 0, abs 0, leaky 0.3, max 0, min 2.
    // Element 2: x + p = 1 = q: relu 1, abs 1, leaky 1, max ½, min 1.
    // Element 3: x + p = −1 > q: relu 0, abs −1, leaky 0.3, max 1, min 0.
    // `q` takes the rest: ½ + ½·2 at ties, 1 from max at element 1, 2 from min at 3.
    assert_eq!(
        g.p,
        [
            0.3 + 0.5 + 1.0,
            0.3 + 2.0,
            1.0 + 1.0 + 1.0 + 0.5 + 1.0,
            -1.0 + 0.3 + 1.0
        ]
    );
    assert_eq!(g.q, [0.5 + 1.0, 1.0, 0.5 + 1.0, 2.0]);
}

#[test]
fn backward_adds_into_grad_and_batch_is_the_mean() {
    let mut rng = Rng(99);
    let mut net = XorF64::zeros();
    randomize(&mut net, &mut rng, -1.0, 1.0);
    let xs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let ts = [[0.0], [1.0], [1.0], [0.0]];
    let mut once = XorF64::zeros();
    let l = net.backward(&xs[1], &ts[1], &mut once);
    let mut twice = once;
    assert_eq!(net.backward(&xs[1], &ts[1], &mut twice), l);
    for (a, b) in twice.as_slice().iter().zip(once.as_slice()) {
        assert_eq!(*a, 2.0 * b, "backward adds into grad");
    }
    let mut sum = XorF64::zeros();
    let mut total = 0.0;
    for (x, t) in xs.iter().zip(&ts) {
        total += net.backward(x, t, &mut sum);
    }
    let mut batch = XorF64::zeros();
    let mean = net.backward_batch(&xs, &ts, &mut batch);
    assert!(rel_err(mean, total / 4.0) < 1e-15);
    for (a, b) in batch.as_slice().iter().zip(sum.as_slice()) {
        assert!(
            rel_err(*a, b / 4.0) < 1e-15,
            "batch gradient is the mean: {a} vs {}",
            b / 4.0
        );
    }
    let mut empty = XorF64::zeros();
    assert_eq!(net.backward_batch(&[], &[], &mut empty), 0.0);
    assert_eq!(empty, XorF64::zeros());
}

network! {
    /// Scalar input, scalar target and a scalar output.
    #[scalar(f64)]
    net Scalars {
        input x: [];
        target t: [];
        param a: [] = constant(0.5);
        param c: [3] = uniform(-1, 1);
        let y = a * x ^ 3 + sum(c * x);
        output y;
        loss (y - t) ^ 2;
    }
}

#[test]
fn scalar_shapes() {
    let net = Scalars::new(3);
    assert_eq!(net.a, 0.5);
    assert!(net.c.iter().all(|c| (-1.0..1.0).contains(c)));
    let y: f64 = net.forward(&2.0);
    let want = 0.5 * 8.0 + 2.0 * net.c.iter().sum::<f64>();
    assert!(rel_err(y, want) < 1e-14);
    check_params(&net, &2.0, &1.0);
    check_input(&net, &2.0, &1.0, |v| vec![*v], |v| v[0]);
}
