//! Every derivative rule of the chain rule table, checked in f64 against central finite
//! differences through the reference interpreter, and at kinks against PyTorch's
//! conventions. No generated code is compiled here: `tests/` does that end to end.

use chainrule_codegen::diff::{differentiate, sum_terms};
use chainrule_codegen::eval::{Leaves, Value, eval};
use chainrule_codegen::ir::{Applied, Binary, Graph, Id, Op, Shape, Unary};
use chainrule_grammar::ops::{FUNCTIONS, lookup};

/// The table's function `name` with its default parameters.
fn elem(name: &str) -> Unary {
    Unary::Elem(Applied::named(name))
}

/// A small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform on `[lo, hi)`.
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
    fn value(&mut self, shape: Shape, lo: f64, hi: f64) -> Value {
        Value::new(
            shape,
            (0..shape.len()).map(|_| self.range(lo, hi)).collect(),
        )
    }
}

/// A loss built over parameters with the given shapes and one input `x`.
struct Case {
    params: Vec<Shape>,
    input: Shape,
    lo: f64,
    hi: f64,
    build: fn(&mut Graph, &[Id], Id) -> Id,
}

fn leaves(case: &Case, seed: u64) -> Leaves {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    Leaves {
        input: rng.value(case.input, case.lo, case.hi),
        target: None,
        params: case
            .params
            .iter()
            .map(|s| rng.value(*s, case.lo, case.hi))
            .collect(),
        seed: 1.0,
    }
}

/// Builds the case, differentiates it, and returns the graph, the loss and the gradient
/// node of each parameter and of the input (None when zero).
fn build(case: &Case) -> (Graph, Id, Vec<Option<Id>>, Option<Id>) {
    let mut g = Graph::new();
    let x = g.leaf(Op::Input, case.input);
    let params: Vec<Id> = case
        .params
        .iter()
        .enumerate()
        .map(|(i, s)| g.leaf(Op::Param(i as u32), *s))
        .collect();
    let seed = g.leaf(Op::Seed, Shape::Scalar);
    let loss = (case.build)(&mut g, &params, x);
    assert_eq!(g.shape(loss), Shape::Scalar, "a loss is a scalar");
    let adj = differentiate(&mut g, loss, seed);
    let grad = |g: &mut Graph, leaf: Id| {
        let terms = adj.terms[leaf.index()].clone();
        (!terms.is_empty()).then(|| sum_terms(g, &terms))
    };
    let pgrads = params.iter().map(|p| grad(&mut g, *p)).collect();
    let xgrad = grad(&mut g, x);
    (g, loss, pgrads, xgrad)
}

fn loss_at(g: &Graph, loss: Id, l: &Leaves) -> f64 {
    eval(g, l)[loss.index()].data[0]
}

/// Checks every gradient element against central differences, relative error ≤ 1e-6.
fn check(case: &Case) {
    for seed in 1..=4 {
        let (g, loss, pgrads, xgrad) = build(case);
        let base = leaves(case, seed);
        let vals = eval(&g, &base);
        let analytic = |id: Option<Id>, shape: Shape| match id {
            Some(id) => vals[id.index()].data.clone(),
            None => vec![0.0; shape.len()],
        };
        // Each probed leaf: its analytic gradient and where it sits (`None` is the input).
        let mut probes: Vec<(Vec<f64>, Option<usize>)> = case
            .params
            .iter()
            .enumerate()
            .map(|(i, s)| (analytic(pgrads[i], *s), Some(i)))
            .collect();
        probes.push((analytic(xgrad, case.input), None));
        for (grad, which) in &probes {
            for (k, analytic) in grad.iter().enumerate() {
                let h = 1e-5;
                let nudge = |delta: f64| {
                    let mut l = base.clone();
                    match which {
                        Some(i) => l.params[*i].data[k] += delta,
                        None => l.input.data[k] += delta,
                    }
                    loss_at(&g, loss, &l)
                };
                let fd = (nudge(h) - nudge(-h)) / (2.0 * h);
                let err = (fd - analytic).abs() / fd.abs().max(analytic.abs()).max(1.0);
                assert!(
                    err <= 1e-6,
                    "{which:?} element {k} (seed {seed}): analytic {analytic} vs finite difference {fd} (relative error {err:e})",
                );
            }
        }
    }
}

/// `Σ f(w) ⊙ c` with a fixed weighting, so every element's gradient differs.
fn weighted(g: &mut Graph, v: Id) -> Id {
    let shape = g.shape(v);
    let c: Vec<Id> = (0..shape.len())
        .map(|k| g.constant(0.3 + 0.17 * k as f64))
        .collect();
    // Build the weighting as a sum of indexed terms so it needs no extra leaf.
    let mut acc = None;
    for (k, ck) in c.into_iter().enumerate() {
        let (i, j) = match shape {
            Shape::Matrix(_, cols) => ((k / cols) as u32, (k % cols) as u32),
            _ => (k as u32, 0),
        };
        let e = g.index(v, i, j);
        let t = g.mul(e, ck);
        acc = Some(match acc {
            None => t,
            Some(a) => g.add(a, t),
        });
    }
    acc.expect("non-empty")
}

macro_rules! unary_cases {
    ($($name:ident: $f:expr, $lo:expr, $hi:expr;)*) => {$(
        #[test]
        fn $name() {
            check(&Case {
                params: vec![Shape::Vector(4)],
                input: Shape::Vector(4),
                lo: $lo,
                hi: $hi,
                build: |g, p, x| {
                    let a = g.mul(p[0], x);
                    let y = g.unary($f, a);
                    weighted(g, y)
                },
            });
        }
    )*};
}

unary_cases! {
    neg: Unary::Neg, -2.0, 2.0;
    exp: elem("exp"), -2.0, 2.0;
    ln: elem("ln"), 0.2, 2.0;
    sqrt: elem("sqrt"), 0.2, 2.0;
    abs: elem("abs"), -2.0, 2.0;
    sin: elem("sin"), -2.0, 2.0;
    cos: elem("cos"), -2.0, 2.0;
    tanh: elem("tanh"), -2.0, 2.0;
    sigmoid: elem("sigmoid"), -3.0, 3.0;
    relu: elem("relu"), -2.0, 2.0;
    softplus: elem("softplus"), -3.0, 3.0;
    square: Unary::Square, -2.0, 2.0;
}

macro_rules! binary_cases {
    ($($name:ident: $f:expr, $lo:expr, $hi:expr;)*) => {$(
        #[test]
        fn $name() {
            // Tensor with tensor, tensor with scalar, and scalar with tensor; each tensor
            // operand is scaled by the input so the input gradient is exercised too.
            let shapes = [
                (Shape::Vector(3), Shape::Vector(3)),
                (Shape::Vector(3), Shape::Scalar),
                (Shape::Scalar, Shape::Vector(3)),
            ];
            for (a, b) in shapes {
                check(&Case {
                    params: vec![a, b],
                    input: Shape::Vector(3),
                    lo: $lo,
                    hi: $hi,
                    build: |g, p, x| {
                        let scaled = |g: &mut Graph, v: Id| {
                            if g.shape(v) == Shape::Scalar { v } else { g.mul(v, x) }
                        };
                        let (a, b) = (scaled(g, p[0]), scaled(g, p[1]));
                        let y = g.binary($f, a, b);
                        weighted(g, y)
                    },
                });
            }
        }
    )*};
}

binary_cases! {
    add: Binary::Add, -2.0, 2.0;
    sub: Binary::Sub, -2.0, 2.0;
    mul: Binary::Mul, -2.0, 2.0;
    div: Binary::Div, 0.5, 2.0;
    max: Binary::Max, -2.0, 2.0;
    min: Binary::Min, -2.0, 2.0;
}

#[test]
fn pow_with_a_parameter_exponent() {
    check(&Case {
        params: vec![Shape::Vector(3), Shape::Scalar],
        input: Shape::Vector(3),
        lo: 0.5,
        hi: 1.5,
        build: |g, p, x| {
            let a = g.mul(p[0], x);
            let y = g.binary(Binary::Pow, a, p[1]);
            weighted(g, y)
        },
    });
}

#[test]
fn pow_with_constant_exponents() {
    for e in [3.0, 0.5, -1.0, 2.0, -2.5] {
        let mut g = Graph::new();
        let w = g.leaf(Op::Param(0), Shape::Vector(2));
        let seed = g.leaf(Op::Seed, Shape::Scalar);
        let c = g.constant(e);
        let y = g.binary(Binary::Pow, w, c);
        let loss = g.sum(y);
        let adj = differentiate(&mut g, loss, seed);
        let grad = sum_terms(&mut g, &adj.terms[w.index()]);
        let l = Leaves {
            input: Value::scalar(0.0),
            target: None,
            params: vec![Value::new(Shape::Vector(2), vec![0.7, 1.3])],
            seed: 1.0,
        };
        let got = &eval(&g, &l)[grad.index()].data;
        for (k, w) in [0.7f64, 1.3].iter().enumerate() {
            let want = e * w.powf(e - 1.0);
            assert!(
                (got[k] - want).abs() < 1e-12,
                "d/dw w^{e} at {w}: {} vs {want}",
                got[k]
            );
        }
    }
}

#[test]
fn leaky_relu_both_sides() {
    check(&Case {
        params: vec![Shape::Vector(4)],
        input: Shape::Vector(4),
        lo: -2.0,
        hi: 2.0,
        build: |g, p, x| {
            let a = g.mul(p[0], x);
            let leaky = Applied::new(lookup("leaky_relu").unwrap(), &[0.1]);
            let y = g.unary(Unary::Elem(leaky), a);
            weighted(g, y)
        },
    });
}

#[test]
fn matvec_and_vecmat() {
    // Two rules, two products: `w @ x` with `w: [3, 4]` and `x @ v` with `v: [4, 2]`,
    // each feeding the loss through its own weighting.
    check(&Case {
        params: vec![Shape::Matrix(3, 4), Shape::Matrix(4, 2)],
        input: Shape::Vector(4),
        lo: -1.0,
        hi: 1.0,
        build: |g, p, x| {
            let h = g.matvec(p[0], x); // [3]
            let h = g.unary(elem("tanh"), h);
            let u = g.vecmat(x, p[1]); // [2]
            let u = g.unary(elem("sin"), u);
            let a = weighted(g, h);
            let b = weighted(g, u);
            g.add(a, b)
        },
    });
}

#[test]
fn a_transposed_matvec_is_a_vecmat() {
    // So the two products above cover `transpose(v) @ x` too.
    let mut g = Graph::new();
    let x = g.leaf(Op::Input, Shape::Vector(4));
    let v = g.leaf(Op::Param(0), Shape::Matrix(4, 2));
    let vt = g.transpose(v);
    assert_eq!(g.matvec(vt, x), g.vecmat(x, v));
}

#[test]
fn matmat_in_every_orientation() {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let case = Case {
            params: vec![
                if ta {
                    Shape::Matrix(3, 2)
                } else {
                    Shape::Matrix(2, 3)
                },
                if tb {
                    Shape::Matrix(4, 3)
                } else {
                    Shape::Matrix(3, 4)
                },
            ],
            input: Shape::Scalar,
            lo: -1.0,
            hi: 1.0,
            build: match (ta, tb) {
                (false, false) => |g, p, _| {
                    let c = g.matmat(p[0], p[1], false, false);
                    weighted(g, c)
                },
                (true, false) => |g, p, _| {
                    let c = g.matmat(p[0], p[1], true, false);
                    weighted(g, c)
                },
                (false, true) => |g, p, _| {
                    let c = g.matmat(p[0], p[1], false, true);
                    weighted(g, c)
                },
                (true, true) => |g, p, _| {
                    let c = g.matmat(p[0], p[1], true, true);
                    weighted(g, c)
                },
            },
        };
        check(&case);
    }
}

#[test]
fn outer_transpose_index_broadcast_sum() {
    check(&Case {
        params: vec![Shape::Vector(3), Shape::Vector(2), Shape::Scalar],
        input: Shape::Matrix(2, 3),
        lo: -1.0,
        hi: 1.0,
        build: |g, p, x| {
            let o = g.outer(p[0], p[1]); // [3, 2]
            let t = g.transpose(o); // [2, 3]
            let m = g.mul(t, x);
            let e = g.index(m, 1, 2);
            let b = g.broadcast(p[2], Shape::Vector(3));
            let bb = g.mul(b, p[0]);
            let s = g.sum(bb);
            let w = weighted(g, m);
            let a = g.mul(e, s);
            g.add(a, w)
        },
    });
}

#[test]
fn softmax_and_log_softmax() {
    check(&Case {
        params: vec![Shape::Vector(5)],
        input: Shape::Vector(5),
        lo: -3.0,
        hi: 3.0,
        build: |g, p, x| {
            let z = g.mul(p[0], x);
            let s = g.softmax(z);
            let l = g.log_softmax(z);
            let a = weighted(g, s);
            let b = weighted(g, l);
            g.add(a, b)
        },
    });
}

/// The gradient of `Σ f(w)` at one point, for the kink conventions.
fn grad_at(build: fn(&mut Graph, Id, Id) -> Id, w: Vec<f64>, v: Vec<f64>) -> Vec<f64> {
    let mut g = Graph::new();
    let n = w.len();
    let wid = g.leaf(Op::Param(0), Shape::Vector(n));
    let vid = g.leaf(Op::Param(1), Shape::Vector(n));
    let seed = g.leaf(Op::Seed, Shape::Scalar);
    let y = build(&mut g, wid, vid);
    let loss = g.sum(y);
    let adj = differentiate(&mut g, loss, seed);
    let grad = sum_terms(&mut g, &adj.terms[wid.index()]);
    let l = Leaves {
        input: Value::scalar(0.0),
        target: None,
        params: vec![
            Value::new(Shape::Vector(n), w),
            Value::new(Shape::Vector(n), v),
        ],
        seed: 1.0,
    };
    eval(&g, &l)[grad.index()].data.clone()
}

#[test]
fn kinks_follow_pytorch() {
    // relu'(0) = 0
    assert_eq!(
        grad_at(
            |g, w, _| g.unary(elem("relu"), w),
            vec![0.0, 1.0, -1.0],
            vec![0.0; 3]
        ),
        vec![0.0, 1.0, 0.0]
    );
    // abs'(0) = 0
    assert_eq!(
        grad_at(
            |g, w, _| g.unary(elem("abs"), w),
            vec![0.0, 2.0, -2.0],
            vec![0.0; 3]
        ),
        vec![0.0, 1.0, -1.0]
    );
    // leaky_relu'(0) = a
    let leaky = |g: &mut Graph, w: Id, _: Id| g.unary(elem("leaky_relu"), w);
    assert_eq!(
        grad_at(leaky, vec![0.0, 3.0, -3.0], vec![0.0; 3]),
        vec![0.01, 1.0, 0.01]
    );
    // max and min split the gradient evenly at ties.
    let max = |g: &mut Graph, w: Id, v: Id| {
        let m = g.binary(Binary::Max, w, v);
        let n = g.binary(Binary::Min, w, v);
        let two = g.constant(2.0);
        let n2 = g.mul(n, two);
        g.add(m, n2)
    };
    // w = v: max gives ½, min gives ½·2; w > v: max 1, min 0; w < v: max 0, min 2.
    assert_eq!(
        grad_at(max, vec![1.0, 2.0, 0.0], vec![1.0, 1.0, 1.0]),
        vec![1.5, 1.0, 2.0]
    );
}

/// Where each function of the table is defined and smooth enough to probe; the default
/// is `[-4, 4]`. Points within 0.05 of an integer are skipped: every kink of the table
/// (0 for relu and abs, ±1 and ±3 for the hard functions) sits on one.
fn domain(name: &str) -> (f64, f64) {
    match name {
        "ln" | "sqrt" => (0.05, 4.0),
        "log1p" => (-0.9, 4.0),
        "tan" => (-1.4, 1.4),
        _ => (-4.0, 4.0),
    }
}

/// Every row of the operator table, hidden helpers included: its derivative, built from
/// the table's one-line formula, against central differences of its value, with the
/// default parameters and with others.
#[test]
fn every_table_function_matches_finite_differences() {
    for (i, row) in FUNCTIONS.iter().enumerate() {
        let id = lookup(row.name).expect("a row");
        assert_eq!(id.function().name, FUNCTIONS[i].name);
        let defaults: Vec<f64> = row
            .params
            .iter()
            .map(|p| p.default.unwrap_or(0.5))
            .collect();
        let others: Vec<f64> = row.params.iter().map(|_| 0.23).collect();
        for params in [defaults, others] {
            let f = Applied::new(id, &params);
            let mut g = Graph::new();
            let w = g.leaf(Op::Param(0), Shape::Scalar);
            let seed = g.leaf(Op::Seed, Shape::Scalar);
            let y = g.unary(Unary::Elem(f), w);
            let adj = differentiate(&mut g, y, seed);
            let grad = adj.terms[w.index()].clone();
            let grad = (!grad.is_empty()).then(|| sum_terms(&mut g, &grad));
            let (lo, hi) = domain(row.name);
            let mut checked = 0;
            for k in 0..=80 {
                let x = lo + (hi - lo) * k as f64 / 80.0;
                if (x - x.round()).abs() < 0.05 {
                    continue;
                }
                let at = |v: f64| Leaves {
                    input: Value::scalar(0.0),
                    target: None,
                    params: vec![Value::scalar(v)],
                    seed: 1.0,
                };
                let analytic = grad.map_or(0.0, |d| eval(&g, &at(x))[d.index()].data[0]);
                let h = 1e-6;
                let fd = (f.value(x + h) - f.value(x - h)) / (2.0 * h);
                let err = (fd - analytic).abs() / fd.abs().max(analytic.abs()).max(1.0);
                assert!(
                    err <= 1e-6,
                    "{}{params:?} at {x}: derivative {analytic} vs finite difference {fd}",
                    row.name
                );
                checked += 1;
            }
            assert!(checked > 40, "{}: only {checked} points", row.name);
        }
    }
}
