//! The simplifier and the chain rule in one line per case, egg-style: an s-expression
//! goes in through the smart constructors, and the simplified s-expression comes out.
//! Leaves: `x` (input, [3]), `w` (parameter, [3]), `s` (parameter, scalar), `m`
//! (parameter, [2, 3]), numbers; `seed` is the adjoint of the loss.

use chainrule_codegen::diff::{differentiate, sum_terms};
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

/// The gradient of `Σ input` with respect to `x` is `want`.
fn derives(input: &str, want: &str) {
    let (mut g, leaves) = setup();
    let e = Reader::new(input).read(&mut g, &leaves);
    let loss = g.sum(e);
    let adj = differentiate(&mut g, loss, leaves.seed);
    let grad = sum_terms(&mut g, &adj.terms[leaves.x.index()]);
    assert_eq!(g.sexpr(grad, &NAMES), want, "d/dx Σ {input}");
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
    derives("x", "(broadcast seed [3])");
    derives("(exp x)", "(* (exp x) seed)");
    derives("(ln x)", "(/ seed x)");
    derives("(sigmoid x)", "(* (* (sigmoid x) (- 1 (sigmoid x))) seed)");
    derives("(tanh x)", "(* (- 1 (square (tanh x))) seed)");
    derives("(relu x)", "(* (step (relu x)) seed)");
    derives("(softplus x)", "(* (sigmoid x) seed)");
    derives("(* x x)", "(* (* x 2) seed)");
    derives("(* x w)", "(* w seed)");
    derives("(* x s)", "(broadcast (* s seed) [3])");
    derives("(matvec m x)", "(vecmat (broadcast seed [2]) m)");
    derives("(log_softmax x)", "(- seed (* (softmax x) (* seed 3)))");
}
