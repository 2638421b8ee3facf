//! The simplifier and the chain rule in one line per case, egg-style. Simplification: an
//! s-expression goes in through the smart constructors, and the simplified s-expression
//! comes out. The chain rule: the derived gradient of `Σ f(x)` is evaluated by the
//! reference interpreter against the textbook derivative, written independently.
//! Leaves: `x` (input, [3]), `w` (parameter, [3]), `s` (parameter, scalar), `m`
//! (parameter, [2, 3]), numbers, `seed` (the adjoint of the loss) and `ones2` (a [2] of
//! ones).

use chainrule_codegen::diff::{differentiate, sum_terms};
use chainrule_codegen::eval::{Leaves as EvalLeaves, Value, eval};
use chainrule_codegen::ir::{Applied, Binary, Graph, Id, Op, Shape, Unary};

struct Reader<'a> {
    tokens: Vec<&'a str>,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(src: &'a str) -> Self {
        let tokens = src
            .split_whitespace()
            .flat_map(|t| split_parens(t))
            .collect();
        Self { tokens, pos: 0 }
    }

    fn next(&mut self) -> &'a str {
        let t = self.tokens[self.pos];
        self.pos += 1;
        t
    }

    fn read(&mut self, g: &mut Graph, leaves: &Leaves) -> Id {
        let t = self.next();
        if t != "(" {
            return match t {
                "x" => leaves.x,
                "w" => leaves.w,
                "s" => leaves.s,
                "m" => leaves.m,
                "seed" => leaves.seed,
                "ones2" => {
                    let one = g.constant(1.0);
                    g.broadcast(one, Shape::Vector(2))
                }
                n => g.constant(n.parse().unwrap_or_else(|_| panic!("unknown atom {n}"))),
            };
        }
        let head = self.next();
        let mut args = Vec::new();
        while self.tokens[self.pos] != ")" {
            args.push(self.read(g, leaves));
        }
        self.pos += 1;
        let unary = |f| (f, args[0]);
        match head {
            "+" => g.add(args[0], args[1]),
            "-" => g.sub(args[0], args[1]),
            "*" => g.mul(args[0], args[1]),
            "/" => g.div(args[0], args[1]),
            "^" => g.binary(Binary::Pow, args[0], args[1]),
            "max" => g.binary(Binary::Max, args[0], args[1]),
            "sum" => g.sum(args[0]),
            "softmax" => g.softmax(args[0]),
            "log_softmax" => g.log_softmax(args[0]),
            "matvec" => g.matvec(args[0], args[1]),
            "vecmat" => g.vecmat(args[0], args[1]),
            "transpose" => g.transpose(args[0]),
            "index" => g.index(args[0], 1, 0),
            name => {
                let f = match name {
                    "neg" => Unary::Neg,
                    other => Unary::Elem(Applied::named(other)),
                };
                let (f, a) = unary(f);
                g.unary(f, a)
            }
        }
    }
}

fn split_parens(t: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = t;
    while !rest.is_empty() {
        if let Some(stripped) = rest.strip_prefix('(') {
            out.push("(");
            rest = stripped;
        } else if let Some(i) = rest.find(')') {
            if i > 0 {
                out.push(&rest[..i]);
            }
            out.push(")");
            rest = &rest[i + 1..];
        } else {
            out.push(rest);
            rest = "";
        }
    }
    out
}

struct Leaves {
    x: Id,
    w: Id,
    s: Id,
    m: Id,
    seed: Id,
}

fn setup() -> (Graph, Leaves) {
    let mut g = Graph::new();
    let leaves = Leaves {
        x: g.leaf(Op::Input, Shape::Vector(3)),
        w: g.leaf(Op::Param(0), Shape::Vector(3)),
        s: g.leaf(Op::Param(1), Shape::Scalar),
        m: g.leaf(Op::Param(2), Shape::Matrix(2, 3)),
        seed: g.leaf(Op::Seed, Shape::Scalar),
    };
    (g, leaves)
}

const NAMES: [&str; 3] = ["w", "s", "m"];

/// `input` simplifies to `want`.
fn simplifies(input: &str, want: &str) {
    let (mut g, leaves) = setup();
    let id = Reader::new(input).read(&mut g, &leaves);
    assert_eq!(g.sexpr(id, &NAMES), want, "simplifying {input}");
}

/// The gradient of `Σ input` with respect to `x` equals the `textbook` expression, both
/// evaluated by the interpreter with `x` on both sides of zero; where `x` is outside the
/// function's domain both must be NaN.
fn derives(input: &str, textbook: &str) {
    let (mut g, leaves) = setup();
    let e = Reader::new(input).read(&mut g, &leaves);
    let loss = g.sum(e);
    let adj = differentiate(&mut g, loss, leaves.seed);
    let terms = &adj.terms[leaves.x.index()];
    let grad = (!terms.is_empty()).then(|| sum_terms(&mut g, &terms.clone()));
    let want = Reader::new(textbook).read(&mut g, &leaves);
    for (k, (lo, hi)) in [(0.2, 2.0), (-2.0, -0.2), (0.2, 2.0)]
        .into_iter()
        .enumerate()
    {
        let mut rng = 0x2545_F491_4F6C_DD1Du64.wrapping_mul(k as u64 + 1) | 1;
        let mut next = |lo: f64, hi: f64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            lo + (hi - lo) * (rng >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut value = |shape: Shape, lo: f64, hi: f64| {
            Value::new(shape, (0..shape.len()).map(|_| next(lo, hi)).collect())
        };
        let at = EvalLeaves {
            input: value(Shape::Vector(3), lo, hi),
            target: None,
            params: vec![
                value(Shape::Vector(3), -1.0, 1.0),
                value(Shape::Scalar, -1.0, 1.0),
                value(Shape::Matrix(2, 3), -1.0, 1.0),
            ],
            seed: 0.5 + k as f64,
        };
        let vals = eval(&g, &at);
        let got = grad.map_or(vec![0.0; 3], |id| vals[id.index()].data.clone());
        let want_v = &vals[want.index()].data;
        for j in 0..3 {
            let w = if want_v.len() == 1 {
                want_v[0]
            } else {
                want_v[j]
            };
            let ok =
                (got[j].is_nan() && w.is_nan()) || (got[j] - w).abs() <= 1e-12 * w.abs().max(1.0);
            assert!(
                ok,
                "d/dx Σ {input} at x = {:?}: derived {got:?}, textbook {textbook} = {w} at {j}",
                at.input.data
            );
        }
    }
}

#[test]
fn simplification() {
    simplifies("(* x 1)", "x");
    simplifies("(+ 0 x)", "x");
    simplifies("(* x 0)", "(broadcast 0 [3])");
    simplifies("(neg (neg x))", "x");
    simplifies("(- x (neg w))", "(+ x w)");
    simplifies("(neg (- x w))", "(- w x)");
    simplifies("(* x x)", "(square x)");
    simplifies("(^ x 2)", "(square x)");
    simplifies("(^ x 1)", "x");
    simplifies("(^ x 0)", "(broadcast 1 [3])");
    simplifies("(* (* x 2) 3)", "(* x 6)");
    simplifies("(/ x 4)", "(* x 0.25)");
    simplifies("(/ x 3)", "(/ x 3)");
    simplifies("(+ (* 2 3) 1)", "7");
    simplifies("(exp 0)", "1");
    simplifies("(ln (softmax x))", "(log_softmax x)");
    simplifies("(exp (log_softmax x))", "(softmax x)");
    simplifies("(ln (exp x))", "x");
    simplifies("(sum (* x s))", "(* (sum x) s)");
    simplifies("(sum (neg x))", "(- (sum x))");
    simplifies("(- (* x s) (* w s))", "(* (- x w) s)");
    simplifies("(transpose (transpose m))", "m");
    simplifies(
        "(matvec (transpose m) (matvec m x))",
        "(vecmat (matvec m x) m)",
    );
    simplifies("(+ (* x s) (* w s))", "(* (+ x w) s)");
}

#[test]
fn chain_rule() {
    derives("x", "seed");
    derives("(exp x)", "(* seed (exp x))");
    derives("(ln x)", "(/ seed x)");
    derives("(sqrt x)", "(/ seed (* 2 (sqrt x)))");
    derives("(abs x)", "(* seed (sign x))");
    derives("(sin x)", "(* seed (cos x))");
    derives("(cos x)", "(* seed (neg (sin x)))");
    derives("(sigmoid x)", "(* seed (* (sigmoid x) (- 1 (sigmoid x))))");
    derives("(tanh x)", "(* seed (- 1 (^ (tanh x) 2)))");
    derives("(relu x)", "(* seed (step x))");
    derives("(softplus x)", "(* seed (/ 1 (+ 1 (exp (neg x)))))");
    derives("(* x x)", "(* seed (* 2 x))");
    derives("(* x w)", "(* seed w)");
    derives("(* x s)", "(* seed s)");
    derives("(/ w x)", "(neg (/ (* seed w) (* x x)))");
    derives("(^ x 3)", "(* seed (* 3 (* x x)))");
    derives("(matvec m x)", "(* seed (vecmat ones2 m))");
    derives("(softmax x)", "(* 0 x)");
    derives("(log_softmax x)", "(* seed (- 1 (* 3 (softmax x))))");
}
