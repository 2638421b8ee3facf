//! Lowering: a checked net becomes nodes of the tensor IR.
//!
//! Losses and reductions become primitive nodes (`mse` is `Σ (y − t)² / n`), user `fn`s
//! are inlined at every call so their derivatives come out of the same rules as builtins,
//! and two stable forms are chosen where the loss sees through an activation:
//! `bce(sigmoid(z), t)` is computed as `bce_with_logits(z, t)`, and `cross_entropy` of a
//! softmax becomes `log_softmax` (by the `ln ∘ softmax` rule in `simplify`). Both have the
//! same value and give the fused gradients `σ(z) − t` and `softmax(z)·Σt − t`.

use chainrule_grammar::model::{BinOp, Expr, ExprKind, Func, Net, Shape, Sym};

use crate::ir::{Binary, Graph, Id, Op, Unary};

/// Who a node belongs to, for naming it in generated code and docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    /// Built while lowering `let` number `i`.
    Let(usize),
    /// Built while lowering the loss.
    Loss,
}

/// A net lowered to the IR.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// All nodes.
    pub graph: Graph,
    /// The input leaf.
    pub input: Id,
    /// The target leaf, if the net has one.
    pub target: Option<Id>,
    /// Each parameter's leaf, in declaration order.
    pub params: Vec<Id>,
    /// Each `let`'s value.
    pub lets: Vec<Id>,
    /// The output's node.
    pub output: Id,
    /// The loss's node.
    pub loss: Id,
    /// The seed leaf: the scale of the loss's adjoint.
    pub seed: Id,
    /// The owner of each node built during lowering, indexed by id.
    pub owners: Vec<Option<Owner>>,
}

/// Lowers a checked net.
pub fn lower(net: &Net) -> Lowered {
    let mut g = Graph::new();
    let input = g.leaf(Op::Input, net.input.shape);
    let target = net.target.as_ref().map(|t| g.leaf(Op::Target, t.shape));
    let params: Vec<Id> = (0..net.params.len())
        .map(|i| g.leaf(Op::Param(i as u32), net.params[i].shape))
        .collect();
    let seed = g.leaf(Op::Seed, Shape::Scalar);
    let mut cx = Lowering {
        g,
        net,
        input,
        target,
        params,
        lets: Vec::new(),
    };
    let mut owners = vec![None; cx.g.len()];
    for (i, binding) in net.lets.iter().enumerate() {
        let id = cx.expr(&binding.value, &[]);
        cx.lets.push(id);
        owners.resize(cx.g.len(), Some(Owner::Let(i)));
    }
    let loss = cx.expr(&net.loss, &[]);
    owners.resize(cx.g.len(), Some(Owner::Loss));
    let output = cx.sym(net.output);
    Lowered {
        graph: cx.g,
        input,
        target,
        params: cx.params,
        lets: cx.lets,
        output,
        loss,
        seed,
        owners,
    }
}

struct Lowering<'a> {
    g: Graph,
    net: &'a Net,
    input: Id,
    target: Option<Id>,
    params: Vec<Id>,
    lets: Vec<Id>,
}

impl Lowering<'_> {
    fn sym(&self, sym: Sym) -> Id {
        match sym {
            Sym::Input => self.input,
            Sym::Target => self.target.expect("checked: a target is declared"),
            Sym::Param(i) => self.params[i],
            Sym::Let(i) => self.lets[i],
        }
    }

    /// Lowers an expression; `args` are the arguments of the user `fn` being inlined.
    fn expr(&mut self, e: &Expr, args: &[Id]) -> Id {
        chainrule_grammar::stack::deep(|| self.chain(e, args))
    }

    fn chain(&mut self, e: &Expr, args: &[Id]) -> Id {
        // The left operands of a chain such as `a + b + c + ...` are walked in a loop, so
        // a long sum costs no stack; the rest recurses on stack segments (`stack::deep`).
        let mut spine = Vec::new();
        let mut first = e;
        while let ExprKind::Binary(_, a, _) = &first.kind {
            spine.push(first);
            first = a;
        }
        let mut left = self.operand(first, args);
        for node in spine.into_iter().rev() {
            if let ExprKind::Binary(op, _, b) = &node.kind {
                let b = self.expr(b, args);
                left = self.binary(*op, left, b);
                left = self.call_shaped(left, node);
            }
        }
        left
    }

    /// An expression whose top is not a binary operator.
    fn operand(&mut self, e: &Expr, args: &[Id]) -> Id {
        let id = match &e.kind {
            ExprKind::Num(v) => self.g.constant(*v),
            ExprKind::Sym(s) => self.sym(*s),
            ExprKind::FnArg(i) => args[*i],
            ExprKind::Neg(a) => {
                let a = self.expr(a, args);
                self.g.neg(a)
            }
            ExprKind::Binary(..) => self.expr(e, args),
            ExprKind::Call(f, call_args) => {
                let lowered: Vec<Id> = call_args.iter().map(|a| self.expr(a, args)).collect();
                self.call(*f, &lowered)
            }
            ExprKind::Index(a, idx) => {
                let a = self.expr(a, args);
                let i = idx.first().copied().unwrap_or(0) as u32;
                let j = idx.get(1).copied().unwrap_or(0) as u32;
                self.g.index(a, i, j)
            }
        };
        self.call_shaped(id, e)
    }

    /// `id`, the lowered `e`, at the shape of `e`: a `fn` whose body ignores its arguments
    /// (`fn one(z) = 1;`) still has the shape of its call.
    fn call_shaped(&mut self, id: Id, e: &Expr) -> Id {
        if self.g.shape(id) == Shape::Scalar && e.shape != Shape::Scalar {
            self.g.broadcast(id, e.shape)
        } else {
            id
        }
    }

    fn binary(&mut self, op: BinOp, a: Id, b: Id) -> Id {
        let g = &mut self.g;
        match op {
            BinOp::MatMul => match (g.shape(a), g.shape(b)) {
                (Shape::Matrix(..), Shape::Vector(_)) => g.matvec(a, b),
                (Shape::Vector(_), Shape::Matrix(..)) => g.vecmat(a, b),
                _ => g.matmat(a, b, false, false),
            },
            op => g.elementwise(op, a, b),
        }
    }

    fn call(&mut self, f: Func, a: &[Id]) -> Id {
        let g = &mut self.g;
        match f {
            Func::Elem(f) => g.unary(Unary::Elem(f), a[0]),
            Func::Max => g.binary(Binary::Max, a[0], a[1]),
            Func::Min => g.binary(Binary::Min, a[0], a[1]),
            Func::Sum => g.sum(a[0]),
            Func::Mean => mean(g, a[0]),
            Func::Dot => {
                let p = g.mul(a[0], a[1]);
                g.sum(p)
            }
            Func::Softmax => g.softmax(a[0]),
            Func::LogSoftmax => g.log_softmax(a[0]),
            Func::Transpose => g.transpose(a[0]),
            Func::Mse => {
                let d = g.sub(a[0], a[1]);
                let sq = g.unary(Unary::Square, d);
                mean(g, sq)
            }
            Func::Bce => match g.op(a[0]) {
                Op::Unary(Unary::Elem(s), z) if s.is("sigmoid") => bce_with_logits(g, z, a[1]),
                _ => bce(g, a[0], a[1]),
            },
            Func::BceWithLogits => bce_with_logits(g, a[0], a[1]),
            Func::CrossEntropy => {
                let l = g.apply("ln", a[0]);
                cross_entropy_of_logs(g, l, a[1])
            }
            Func::SoftmaxCrossEntropy => {
                let l = g.log_softmax(a[0]);
                cross_entropy_of_logs(g, l, a[1])
            }
            Func::User(i) => {
                let body = &self.net.fns[i].body;
                self.expr(body, a)
            }
        }
    }
}

/// `(1/n) Σ v`, divided rather than multiplied so it matches `sum(v) / n` exactly.
fn mean(g: &mut Graph, v: Id) -> Id {
    let n = g.shape(v).len() as f64;
    let s = g.sum(v);
    let n = g.constant(n);
    g.div(s, n)
}

/// `−(1/n) Σ [t ln p + (1 − t) ln(1 − p)]`.
fn bce(g: &mut Graph, p: Id, t: Id) -> Id {
    let one = g.constant(1.0);
    let ln_p = g.apply("ln", p);
    let q = g.sub(one, p);
    let ln_q = g.apply("ln", q);
    let u = g.sub(one, t);
    let a = g.mul(t, ln_p);
    let b = g.mul(u, ln_q);
    let s = g.add(a, b);
    let m = mean(g, s);
    g.neg(m)
}

/// `(1/n) Σ [softplus(z) − t z]`: the same value as `bce(σ(z), t)` without overflow.
fn bce_with_logits(g: &mut Graph, z: Id, t: Id) -> Id {
    let sp = g.apply("softplus", z);
    let tz = g.mul(t, z);
    let d = g.sub(sp, tz);
    mean(g, d)
}

/// `−Σ t ⊙ l` for log-probabilities `l`.
fn cross_entropy_of_logs(g: &mut Graph, l: Id, t: Id) -> Id {
    let tl = g.mul(t, l);
    let s = g.sum(tl);
    g.neg(s)
}
