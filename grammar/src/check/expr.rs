//! The type checker: the shape of every expression of a net, each rule with the example
//! it rejects, and the pass that types a net's statements in order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::ast::{self, ExprKind as AstKind, Span};
use crate::diag::Ctxt;
use crate::model::{self, BinOp, ExprKind, Func, Sym};
use crate::ops;

use super::attrs::Side;
use super::dense::{self, Kind, ParamShape, Stmt};
use super::fns::{Builtin, FnEntry, arity_message, builtin, unknown_function};
use super::literals::{integer, is_literal, literal, number};
use super::scope::{DeclKind, Decls, Scope, did_you_mean};

// ---------------------------------------------------------------------------- shapes

/// A shape during checking, with dimensions wide enough that no declared size overflows;
/// converted to [`model::Shape`] only for nets within the size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sh {
    S,
    V(u64),
    M(u64, u64),
}

impl Sh {
    /// The number of scalars, saturating.
    pub(super) fn elems(self) -> u64 {
        match self {
            Sh::S => 1,
            Sh::V(n) => n,
            Sh::M(r, c) => r.saturating_mul(c),
        }
    }

    /// The number of scalars, exactly.
    pub(super) fn exact_elems(self) -> u128 {
        match self {
            Sh::S => 1,
            Sh::V(n) => u128::from(n),
            Sh::M(r, c) => u128::from(r) * u128::from(c),
        }
    }

    /// The model's shape; dimensions saturate, which only a net over the size limit (hence
    /// never handed to code generation) can reach.
    pub(super) fn model(self) -> model::Shape {
        let u = |d: u64| usize::try_from(d).unwrap_or(usize::MAX);
        match self {
            Sh::S => model::Shape::Scalar,
            Sh::V(n) => model::Shape::Vector(u(n)),
            Sh::M(r, c) => model::Shape::Matrix(u(r), u(c)),
        }
    }
}

impl fmt::Display for Sh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sh::S => write!(f, "[]"),
            Sh::V(n) => write!(f, "[{n}]"),
            Sh::M(r, c) => write!(f, "[{r}, {c}]"),
        }
    }
}

/// How an operand reads in a message: its source text, shortened if long.
pub(super) fn show(e: &ast::Expr) -> String {
    let s = e.to_source();
    if s.chars().count() <= 40 {
        format!("`{s}`")
    } else {
        let head: String = s.chars().take(37).collect();
        format!("`{head}...`")
    }
}

/// Where an expression is, which decides what its names may refer to.
#[derive(Clone, Copy)]
pub(super) enum Mode<'a> {
    /// The value of a `let`: names declared above its source statement `at`, and those
    /// its own desugaring declared before its position `pos` (a layer's parameters).
    Let { at: usize, pos: usize },
    /// `output` or `loss`: any name of the net.
    Anywhere,
    /// A `fn` body: its parameters only.
    Fn {
        params: &'a [ast::Name],
        name: &'a str,
    },
}

/// A checked expression and its shape.
pub(super) struct Typed {
    pub(super) e: model::Expr,
    pub(super) sh: Sh,
}

/// Checks expressions, in the [`Mode`] of the statement at hand; one checker serves a
/// whole net, so what it gathers needs no merging.
pub(super) struct ExprChecker<'a> {
    pub(super) cx: &'a Ctxt,
    pub(super) fns: &'a [FnEntry],
    /// The names in scope; a `let`'s shape is added once it is typed.
    pub(super) decls: &'a mut Decls,
    pub(super) mode: Mode<'a>,
    /// Scalars of every node built, saturating.
    pub(super) size: u64,
    /// Symbols used since the last statement took them, for "cannot reach the loss".
    pub(super) uses: BTreeSet<Sym>,
    /// The first use of the target since the last statement took it, for "the output
    /// depends on the target".
    pub(super) target_use: Option<Span>,
    /// How each parameter matrix is first used in `@`, for its fans.
    pub(super) fans: BTreeMap<usize, Side>,
    /// Whether a name could not be resolved (reachability would then be a guess).
    pub(super) unresolved: bool,
    /// User `fn`s called, with the call's span.
    pub(super) calls: Vec<(usize, Span)>,
    /// The loop whose body is being typed, if any.
    pub(super) body: Option<super::loops::Body>,
    /// What the loops keep for backpropagation: each carried state's name, steps and
    /// scalars per step.
    pub(super) tapes: Vec<Tape>,
}

/// The values of one state a loop keeps for its backward pass, one per step.
#[derive(Clone, Debug, Default)]
pub(super) struct Tape {
    pub(super) state: String,
    pub(super) steps: u64,
    pub(super) per_step: u64,
}

impl<'a> ExprChecker<'a> {
    pub(super) fn new(
        cx: &'a Ctxt,
        fns: &'a [FnEntry],
        decls: &'a mut Decls,
        mode: Mode<'a>,
    ) -> Self {
        ExprChecker {
            cx,
            fns,
            decls,
            mode,
            size: 0,
            uses: BTreeSet::new(),
            target_use: None,
            fans: BTreeMap::new(),
            unresolved: false,
            calls: Vec::new(),
            body: None,
            tapes: Vec::new(),
        }
    }

    /// Builds a node, counting its scalars toward the size limit.
    pub(super) fn node(&mut self, kind: ExprKind, sh: Sh) -> Typed {
        self.size = self.size.saturating_add(sh.elems());
        Typed {
            e: model::Expr {
                kind,
                shape: sh.model(),
            },
            sh,
        }
    }

    fn in_fn(&self) -> bool {
        matches!(self.mode, Mode::Fn { .. })
    }

    pub(super) fn expr(&mut self, e: &ast::Expr) -> Option<Typed> {
        crate::stack::deep(|| self.chain(e))
    }

    fn chain(&mut self, e: &ast::Expr) -> Option<Typed> {
        // The left operands of a chain such as `a + b + c + ...` are walked in a loop, so
        // a long sum costs no stack; the rest recurses on stack segments (`stack::deep`).
        let mut spine = Vec::new();
        let mut first = e;
        while let AstKind::Binary(_, a, _) = &first.kind {
            spine.push(first);
            first = a;
        }
        let mut left = self.operand(first);
        for node in spine.into_iter().rev() {
            if let AstKind::Binary(op, a, b) = &node.kind {
                left = self.binary(node, *op, a, left, b);
            }
        }
        left
    }

    /// An expression whose top is not a binary operator.
    fn operand(&mut self, e: &ast::Expr) -> Option<Typed> {
        match &e.kind {
            AstKind::Num(n) => {
                let v = number(self.cx, n)?;
                Some(self.node(ExprKind::Num(v), Sh::S))
            }
            AstKind::Name(n) => self.name(n, &e.span),
            AstKind::Neg(a) => {
                let a = self.expr(a)?;
                Some(self.node(ExprKind::Neg(Box::new(a.e)), a.sh))
            }
            AstKind::Binary(..) => self.expr(e),
            AstKind::Call(name, args) => self.call(e, name, args),
            AstKind::Index(a, idx) => self.index(a, idx),
            AstKind::Slice(a, range) => self.slice(a, &range.0, &range.1),
        }
    }

    /// `a op b`, where `a` is already checked (as `ta`).
    fn binary(
        &mut self,
        e: &ast::Expr,
        op: ast::BinOp,
        a: &ast::Expr,
        ta: Option<Typed>,
        b: &ast::Expr,
    ) -> Option<Typed> {
        if op == ast::BinOp::MatMul && self.in_fn() {
            // A `fn` body sees one scalar of each argument at a time.
            // Rejects: `fn f(a, b) = a @ b;`.
            self.cx.error(
                &e.span,
                "`@` cannot appear in a `fn` body: a `fn` is applied to one scalar at a time; use `*`",
            );
            return self.only_check([b]);
        }
        let tb = self.expr(b);
        let (ta, tb) = (ta?, tb?);
        let sh = match op {
            ast::BinOp::MatMul => self.matmul_shape(e, a, b, ta.sh, tb.sh)?,
            ast::BinOp::Pow => {
                // `^` raises every element to one power; an elementwise power of two
                // tensors is not in the language. Rejects: `x ^ v` with `v: [3]`.
                if tb.sh != Sh::S {
                    self.cx.error(
                        &b.span,
                        format!(
                            "the exponent of `^` must be a scalar, but {} is {}",
                            show(b),
                            tb.sh
                        ),
                    );
                    return None;
                }
                ta.sh
            }
            _ => {
                // Elementwise operators need equal shapes; a scalar broadcasts.
                // Rejects: `a + b` with `a: [2]`, `b: [3]`.
                if ta.sh == tb.sh || tb.sh == Sh::S {
                    ta.sh
                } else if ta.sh == Sh::S {
                    tb.sh
                } else {
                    self.cx.error(
                        &e.span,
                        format!(
                            "shape mismatch in `{}`: {} is {} but {} is {}; the shapes must be equal, or one side a scalar",
                            op.symbol(),
                            show(a),
                            ta.sh,
                            show(b),
                            tb.sh
                        ),
                    );
                    return None;
                }
            }
        };
        if op == ast::BinOp::MatMul {
            self.note_fans(&ta.e, &tb.e);
        }
        let op = match op {
            ast::BinOp::Add => BinOp::Add,
            ast::BinOp::Sub => BinOp::Sub,
            ast::BinOp::Mul => BinOp::Mul,
            ast::BinOp::Div => BinOp::Div,
            ast::BinOp::MatMul => BinOp::MatMul,
            ast::BinOp::Pow => BinOp::Pow,
        };
        Some(self.node(ExprKind::Binary(op, Box::new(ta.e), Box::new(tb.e)), sh))
    }

    /// The shape of `a @ b`. `@` is the matrix product of SPEC §2:
    /// `[m, n] @ [n]`, `[n] @ [n, m]`, `[m, n] @ [n, k]`.
    /// Rejects: `w1 @ x` with `w1: [2, 3]`, `x: [2]`; `s @ x` with a scalar `s`;
    /// `u @ v` of two vectors (that is `dot(u, v)`).
    fn matmul_shape(
        &self,
        e: &ast::Expr,
        a: &ast::Expr,
        b: &ast::Expr,
        sa: Sh,
        sb: Sh,
    ) -> Option<Sh> {
        let mismatch = || {
            format!(
                "shape mismatch in `@`: {} is {sa} but {} is {sb}; the inner sizes must agree",
                show(a),
                show(b)
            )
        };
        let result = match (sa, sb) {
            (Sh::S, _) | (_, Sh::S) => {
                let s = if sa == Sh::S { a } else { b };
                self.cx.error(
                    &e.span,
                    format!(
                        "`@` is a matrix product and needs a vector or a matrix on each side, but {} is a scalar; use `*` to scale",
                        show(s)
                    ),
                );
                return None;
            }
            (Sh::V(n), Sh::V(m)) => {
                let dot = format!("dot({}, {})", a.to_source(), b.to_source());
                let msg = if n == m {
                    format!(
                        "`@` of two vectors ({} is {sa}, {} is {sb}) is not defined; for their inner product use `{dot}`",
                        show(a),
                        show(b)
                    )
                } else {
                    format!(
                        "{}; for an inner product of two vectors use `dot`",
                        mismatch()
                    )
                };
                self.cx.error(&e.span, msg);
                return None;
            }
            (Sh::M(m, n), Sh::V(k)) if n == k => Sh::V(m),
            (Sh::V(n), Sh::M(k, m)) if n == k => Sh::V(m),
            (Sh::M(m, n), Sh::M(k, c)) if n == k => Sh::M(m, c),
            _ => {
                self.cx.error(&e.span, mismatch());
                return None;
            }
        };
        Some(result)
    }

    /// Records on which side of `@` a parameter matrix is first used, which decides its
    /// fans ([`super::attrs::fans`]).
    fn note_fans(&mut self, a: &model::Expr, b: &model::Expr) {
        for (e, side) in [(a, Side::Left), (b, Side::Right)] {
            if let (ExprKind::Sym(Sym::Param(p)), model::Shape::Matrix(..)) = (&e.kind, e.shape) {
                self.fans.entry(*p).or_insert(side);
            }
        }
    }

    /// `v[i]`, `m[i, j]`, or row `m[i]` of a matrix, a vector (a sequence's step). Rejects:
    /// `v[3]` with `v: [3]`, `m[2]` with `m: [2, 2]`, `v[0, 1]` with a vector `v`, `s[0]`
    /// with a scalar `s`.
    fn index(&mut self, a: &ast::Expr, idx: &[ast::Number]) -> Option<Typed> {
        let t = self.expr(a)?;
        let dims: Vec<u64> = match t.sh {
            Sh::S => {
                self.cx.error(
                    &a.span,
                    format!("{} is a scalar and cannot be indexed", show(a)),
                );
                return None;
            }
            Sh::V(n) => vec![n],
            Sh::M(r, c) => vec![r, c],
        };
        // One index of a matrix selects a row.
        let row = dims.len() == 2 && idx.len() == 1;
        if dims.len() != idx.len() && !row {
            let how = if dims.len() == 1 {
                "one index, like `v[0]`"
            } else {
                "two indices, like `m[0, 1]`, or one for a row, like `m[0]`"
            };
            let span = match (idx.first(), idx.last()) {
                (Some(f), Some(l)) => f.span.start..l.span.end,
                _ => a.span.clone(),
            };
            self.cx
                .error(&span, format!("{} is {} and takes {how}", show(a), t.sh));
            return None;
        }
        let mut out = Vec::new();
        for (n, d) in idx.iter().zip(&dims) {
            let i = integer(self.cx, n, "an index")?;
            if i >= *d {
                let what = if row {
                    ("row", "rows")
                } else {
                    ("index", "indices")
                };
                self.cx.error(
                    &n.span,
                    format!(
                        "{} {i} is out of range for {} of shape {}; valid {} are 0 to {}",
                        what.0,
                        show(a),
                        t.sh,
                        what.1,
                        d - 1
                    ),
                );
                return None;
            }
            out.push(usize::try_from(i).unwrap_or(usize::MAX));
        }
        let sh = match (row, dims.get(1)) {
            (true, Some(c)) => Sh::V(*c),
            _ => Sh::S,
        };
        Some(self.node(ExprKind::Index(Box::new(t.e), out), sh))
    }

    /// The message for a per-step target whose rows are not the input's steps: in
    /// `mse(ys, ts)`, `ys` has as many rows as the sequence input `xs` but the target
    /// `ts` has another count. `None` for any other pair.
    fn steps_mismatch(
        &self,
        f: &str,
        (x, tx): (&ast::Expr, &Typed),
        (y, ty): (&ast::Expr, &Typed),
    ) -> Option<String> {
        let (Sh::M(rx, cx), Sh::M(ry, cy)) = (tx.sh, ty.sh) else {
            return None;
        };
        let input = self
            .decls
            .by_name
            .iter()
            .find(|(_, d)| d.kind == DeclKind::Input)?;
        let Some(Sh::M(steps, _)) = input.1.shape else {
            return None;
        };
        let is_target = |t: &Typed| matches!(t.e.kind, ExprKind::Sym(Sym::Target));
        let (target, rows, cols) = match () {
            _ if is_target(ty) && rx == steps => (y, ry, cy),
            _ if is_target(tx) && ry == steps => (x, rx, cx),
            _ => return None,
        };
        if rows == steps || rx == ry || cx != cy {
            return None;
        }
        Some(format!(
            "sequence length mismatch in `{f}`: the input `{}` has {steps} steps, but the target {} has {rows} rows; a per-step target has one row per step: declare it `[{steps}, {cols}]`",
            input.0,
            show(target),
        ))
    }

    /// `v[a..b]`, the elements `a` to `b − 1` of a vector. Rejects: `v[2..2]`, `v[0..4]`
    /// with `v: [3]`, `m[0..1]` with a matrix `m`.
    fn slice(&mut self, a: &ast::Expr, lo: &ast::Number, hi: &ast::Number) -> Option<Typed> {
        let t = self.expr(a)?;
        let Sh::V(n) = t.sh else {
            self.cx.error(
                &a.span,
                format!(
                    "{} is {}; a range `[a..b]` selects elements of a vector",
                    show(a),
                    t.sh
                ),
            );
            return None;
        };
        let (l, h) = (
            integer(self.cx, lo, "a range's start"),
            integer(self.cx, hi, "a range's end"),
        );
        let (l, h) = (l?, h?);
        if l >= h || h > n {
            self.cx.error(
                &(lo.span.start..hi.span.end),
                format!(
                    "the range {l}..{h} is not within {} of length {n}; a range `a..b` needs `a < b <= {n}`",
                    show(a)
                ),
            );
            return None;
        }
        let (l, h) = (usize::try_from(l).ok()?, usize::try_from(h).ok()?);
        Some(self.node(
            ExprKind::Slice(Box::new(t.e), l, h),
            Sh::V(h as u64 - l as u64),
        ))
    }

    fn call(&mut self, e: &ast::Expr, name: &ast::Name, args: &[ast::Expr]) -> Option<Typed> {
        let f = name.text.as_str();
        if let Some(b) = builtin(f) {
            return self.builtin_call(e, name, b, args);
        }
        if let Some(i) = self.fns.iter().position(|u| u.name == f) {
            if self.fns.get(i).is_some_and(|u| u.broken) {
                return self.only_check(args);
            }
            let want = self.fns.get(i).map_or(0, |u| u.params.len());
            if self.in_fn() {
                self.calls.push((i, name.span.clone()));
            }
            let typed = self.elementwise(e, name, Func::User(i), want, args)?;
            // The call expands to the `fn`'s whole body for every element (its
            // arguments are counted where they stand): the size limit counts it all.
            let cost = self.fns.get(i).map_or(1, |u| u.cost);
            let extra = typed.sh.elems().saturating_mul(cost.saturating_sub(1));
            self.size = self.size.saturating_add(extra);
            return Some(typed);
        }
        // Rejects: `log(x)` (the language says `ln`), `sigmod(x)`, `w1(x)`.
        self.unresolved = true;
        let value = self.decls.by_name.get(f).map(|d| {
            format!(
                "`{f}` is {}, not a function (for a product write `{f} @ (..)` or `{f} * (..)`)",
                d.describe()
            )
        });
        self.cx
            .error(&name.span, unknown_function(f, self.fns, value));
        self.only_check(args)
    }

    /// Checks expressions for their own errors only, where the call around them failed.
    fn only_check<'e>(&mut self, args: impl IntoIterator<Item = &'e ast::Expr>) -> Option<Typed> {
        for a in args {
            self.expr(a);
        }
        None
    }

    /// Checks the argument count; on a mismatch, reports it and still checks the
    /// arguments for their own errors. Rejects: `sigmoid(a, b)`, `mse(y)`.
    fn arity(&mut self, e: &ast::Expr, f: &str, args: &[ast::Expr], allowed: &[usize]) -> bool {
        let Some(message) = arity_message(f, args.len(), allowed) else {
            return true;
        };
        self.cx.error(&e.span, message);
        self.only_check(args);
        false
    }

    fn builtin_call(
        &mut self,
        e: &ast::Expr,
        name: &ast::Name,
        b: Builtin,
        args: &[ast::Expr],
    ) -> Option<Typed> {
        let f = name.text.as_str();
        let elementwise = matches!(b, Builtin::Elem(..) | Builtin::Table(_));
        if self.in_fn() && !elementwise {
            // Reductions, vector functions and losses see whole tensors, which a `fn`
            // (applied to one scalar at a time) never has. Rejects: `fn f(x) = sum(x);`.
            self.cx.error(
                &e.span,
                format!(
                    "`{f}` cannot appear in a `fn` body: a `fn` is applied to one scalar at a time, so only arithmetic and elementwise functions are allowed"
                ),
            );
            return None;
        }
        match b {
            Builtin::Elem(func, n) => self.elementwise(e, name, func, n, args),
            Builtin::Table(id) => self.table_call(e, id, args),
            Builtin::Layer => {
                // A layer declares parameters, which needs a name to derive theirs from.
                // Rejects: `let y = sigmoid(dense(x, 3));`, `loss sum(dense(x, 1));`,
                // `let y = gru(xs, 4) * 2;`.
                let example = if f == "dense" {
                    "let h = dense(x, 16, tanh);".to_string()
                } else {
                    format!("let h = {f}(xs, 16);")
                };
                self.cx.error(
                    &e.span,
                    format!(
                        "`{f}` declares parameters, so it must be the whole right side of a `let`, like `{example}`"
                    ),
                );
                None
            }
            Builtin::Reduce(func) => {
                if !self.arity(e, f, args, &[1]) {
                    return None;
                }
                let a = self.expr(args.first()?)?;
                Some(self.node(ExprKind::Call(func, vec![a.e]), Sh::S))
            }
            Builtin::Dot | Builtin::Loss(_) => {
                if !self.arity(e, f, args, &[2]) {
                    return None;
                }
                let (x, y) = (args.first()?, args.get(1)?);
                let (tx, ty) = (self.expr(x), self.expr(y));
                let (tx, ty) = (tx?, ty?);
                // `softmax_cross_entropy` normalises its logits over one axis, like
                // `softmax`: a scalar's softmax is always 1, a matrix's ambiguous.
                // Rejects: `softmax_cross_entropy(s, t)` with `s: []` or `s: [2, 3]`.
                if matches!(b, Builtin::Loss(Func::SoftmaxCrossEntropy))
                    && !matches!(tx.sh, Sh::V(_))
                {
                    self.cx.error(
                        &x.span,
                        format!(
                            "`{f}` takes a vector of logits (softmax normalises over one axis), but {} is {}; pass a vector like `z: [3]` and a target of the same shape",
                            show(x),
                            tx.sh
                        ),
                    );
                    return None;
                }
                // Both sides pair element by element. Rejects: `mse(y, t)` with `y: [2]`,
                // `t: [3]`.
                if let Some(message) = self.steps_mismatch(f, (x, &tx), (y, &ty)) {
                    self.cx.error(&e.span, message);
                    return None;
                }
                if tx.sh != ty.sh {
                    self.cx.error(
                        &e.span,
                        format!(
                            "shape mismatch in `{f}`: {} is {} but {} is {}; both arguments must have the same shape",
                            show(x),
                            tx.sh,
                            show(y),
                            ty.sh
                        ),
                    );
                    return None;
                }
                let func = match b {
                    Builtin::Loss(func) => func,
                    _ => Func::Dot,
                };
                Some(self.node(ExprKind::Call(func, vec![tx.e, ty.e]), Sh::S))
            }
            Builtin::VecFn(func) => {
                if !self.arity(e, f, args, &[1]) {
                    return None;
                }
                let x = args.first()?;
                let t = self.expr(x)?;
                // Softmax normalises over one axis; over a matrix it would be ambiguous.
                // Rejects: `softmax(m)` with `m: [2, 3]`.
                if !matches!(t.sh, Sh::V(_)) {
                    self.cx.error(
                        &e.span,
                        format!("`{f}` takes a vector, but {} is {}", show(x), t.sh),
                    );
                    return None;
                }
                Some(self.node(ExprKind::Call(func, vec![t.e]), t.sh))
            }
            Builtin::Transpose => {
                if !self.arity(e, f, args, &[1]) {
                    return None;
                }
                let x = args.first()?;
                let t = self.expr(x)?;
                // Rejects: `transpose(v)` with `v: [3]`.
                let Sh::M(r, c) = t.sh else {
                    self.cx.error(
                        &e.span,
                        format!("`transpose` takes a matrix, but {} is {}", show(x), t.sh),
                    );
                    return None;
                };
                Some(self.node(ExprKind::Call(Func::Transpose, vec![t.e]), Sh::M(c, r)))
            }
        }
    }

    /// An elementwise function (built-in or user): arguments of one shape, scalars
    /// broadcast. Rejects: `max(a, b)` with `a: [2]`, `b: [3]`.
    fn elementwise(
        &mut self,
        e: &ast::Expr,
        name: &ast::Name,
        func: Func,
        n: usize,
        args: &[ast::Expr],
    ) -> Option<Typed> {
        if !self.arity(e, &name.text, args, &[n]) {
            return None;
        }
        let typed: Vec<Option<Typed>> = args.iter().map(|a| self.expr(a)).collect();
        let typed: Vec<Typed> = typed.into_iter().collect::<Option<_>>()?;
        let mut common: Option<(usize, Sh)> = None;
        for (i, t) in typed.iter().enumerate() {
            if t.sh == Sh::S {
                continue;
            }
            match common {
                None => common = Some((i, t.sh)),
                Some((j, sh)) if sh != t.sh => {
                    let (aj, ai) = (args.get(j)?, args.get(i)?);
                    self.cx.error(
                        &e.span,
                        format!(
                            "shape mismatch in `{}`: {} is {sh} but {} is {}; the arguments must have the same shape, or be scalars",
                            name.text,
                            show(aj),
                            show(ai),
                            t.sh
                        ),
                    );
                    return None;
                }
                Some(_) => {}
            }
        }
        let sh = common.map_or(Sh::S, |(_, s)| s);
        let args = typed.into_iter().map(|t| t.e).collect();
        Some(self.node(ExprKind::Call(func, args), sh))
    }

    /// A function of the table: its operand, then its parameters, which are folded into
    /// the function and so must be numbers. Rejects: `leaky_relu(x, a)` with a name `a`.
    fn table_call(&mut self, e: &ast::Expr, id: ops::FnId, args: &[ast::Expr]) -> Option<Typed> {
        let func = id.function();
        let required = 1 + func.params.iter().filter(|p| p.default.is_none()).count();
        let counts: Vec<usize> = (required..=1 + func.params.len()).collect();
        if !self.arity(e, func.name, args, &counts) {
            return None;
        }
        let x = self.expr(args.first()?);
        let mut params = Vec::with_capacity(func.params.len());
        let mut ok = true;
        for (k, p) in func.params.iter().enumerate() {
            let value = match args.get(k + 1) {
                None => p.default,
                Some(a) => literal(self.cx, a).or_else(|| {
                    if !is_literal(a) {
                        self.cx.error(
                            &a.span,
                            format!(
                                "the {} of `{}` must be a number literal, like `{}(x, 0.2)`, not {}",
                                p.what,
                                func.name,
                                func.name,
                                show(a)
                            ),
                        );
                    }
                    None
                }),
            };
            match value {
                Some(v) => params.push(v),
                None => ok = false,
            }
        }
        let x = x?;
        ok.then(|| {
            let applied = ops::Applied::new(id, &params);
            self.node(ExprKind::Call(Func::Elem(applied), vec![x.e]), x.sh)
        })
    }
}

// ---------------------------------------------------------------------------- statements

/// What typing a net's statements gives.
#[derive(Default)]
pub(super) struct Checked {
    /// The model's `let`s by [`Sym::Let`] index; `None` where one failed.
    pub(super) lets: Vec<Option<model::Let>>,
    /// The symbols each `let` uses, by [`Sym::Let`] index.
    pub(super) let_uses: BTreeMap<usize, BTreeSet<Sym>>,
    /// What each state's value depends on, by [`Sym::State`] index: the loop that carries
    /// it, and the parameter it starts at.
    pub(super) state_uses: BTreeMap<usize, BTreeSet<Sym>>,
    /// Where each `let` that names the target first does so, by [`Sym::Let`] index.
    pub(super) let_target_uses: BTreeMap<usize, Span>,
    /// The symbols used by `let`s that could not be declared (a taken or keyword name,
    /// reported): their parameters are used, whatever became of the `let`.
    pub(super) orphan_uses: BTreeSet<Sym>,
    /// The names of those `let`s.
    pub(super) orphan_names: BTreeSet<String>,
    /// The name `output` names, where it is written.
    pub(super) output_name: Option<ast::Name>,
    /// What `output` names, and its shape if known.
    pub(super) output: Option<Sym>,
    pub(super) output_shape: Option<Sh>,
    /// The loss, if it is a scalar.
    pub(super) loss: Option<model::Expr>,
    /// The symbols the loss uses.
    pub(super) loss_uses: BTreeSet<Sym>,
    /// Scalars of every expression node, saturating.
    pub(super) size: u64,
    /// What the loops keep for backpropagation.
    pub(super) tapes: Vec<Tape>,
    /// The side of `@` each parameter matrix is first used on.
    pub(super) fans: BTreeMap<usize, Side>,
    /// Whether a name was unresolved or the loss failed: reachability would be a guess.
    pub(super) incomplete: bool,
}

/// Whether a layer's `let` at source statement `at` can be typed: only once its
/// parameters are declared and shaped. A taken name (reported) would find the other
/// declaration, and an unknown shape means its input or size failed (reported). True for
/// a `let` that is no layer.
fn layer_ready(decls: &Decls, params: &[String], at: usize) -> bool {
    params.iter().all(|p| {
        (decls.by_name.get(p))
            .is_some_and(|d| d.at == at && d.kind == DeclKind::Dense && d.shape.is_some())
    })
}

/// The typing pass: the `let`s in order (a layer's weight takes its shape between its
/// input and its `let`), then `output` and `loss`, which may name anything in the net.
pub(super) fn type_check(cx: &Ctxt, fns: &[FnEntry], stmts: &[Stmt], scope: &mut Scope) -> Checked {
    let mut out = Checked {
        lets: vec![None; scope.lets],
        ..Checked::default()
    };
    super::loops::owners(cx, stmts, scope);
    let states = &mut scope.states;
    let mut ec = ExprChecker::new(cx, fns, &mut scope.decls, Mode::Anywhere);
    for (pos, stmt) in stmts.iter().enumerate() {
        match &stmt.kind {
            Kind::Param {
                name,
                shape:
                    ParamShape::Weight {
                        rows,
                        input,
                        x,
                        sequence,
                    },
                ..
            } => {
                let sh = dense::weight_shape(cx, *rows, ec.decls.shape(input), x, *sequence);
                if let Some(d) = ec.decls.owned_mut(&name.text, pos) {
                    d.shape = sh;
                }
            }
            Kind::State { name, init, .. } => {
                let Some(d) = ec.decls.by_name.get(&name.text).filter(|d| d.pos == pos) else {
                    continue;
                };
                let (shape, sym) = (d.shape, d.sym);
                let value = super::loops::state_init(cx, ec.decls, shape, *init, pos);
                if let (Some(Sym::State(s)), Some(v)) = (sym, value) {
                    if let Some(st) = states.get_mut(s) {
                        st.init = Some(v);
                    }
                    if let model::StateInit::Param(p) = v {
                        out.state_uses.entry(s).or_default().insert(Sym::Param(p));
                    }
                }
            }
            Kind::LetFor {
                name,
                for_loop,
                params,
                standalone,
            } => {
                ec.mode = Mode::Let { at: stmt.at, pos };
                let ready = layer_ready(ec.decls, params, stmt.at);
                let typed = for_loop
                    .as_ref()
                    .filter(|_| ready)
                    .and_then(|l| ec.for_loop(l, pos, *standalone));
                let mut uses = std::mem::take(&mut ec.uses);
                let target_use = ec.target_use.take();
                let Some((d, l)) =
                    (ec.decls.owned_mut(&name.text, pos)).and_then(|d| match d.sym {
                        Some(Sym::Let(l)) => Some((d, l)),
                        _ => None,
                    })
                else {
                    out.orphan_uses.extend(uses);
                    out.orphan_names.insert(name.text.clone());
                    continue;
                };
                d.shape = typed.as_ref().map(|t| t.sh);
                // The loop's value and its states' final values depend on each other.
                if let Some(model::ExprKind::For(r)) = typed.as_ref().map(|t| &t.e.kind) {
                    for s in &r.carried {
                        out.state_uses.entry(*s).or_default().insert(Sym::Let(l));
                        uses.insert(Sym::State(*s));
                    }
                }
                out.let_uses.insert(l, uses);
                if let Some(span) = target_use.filter(|_| typed.is_some()) {
                    out.let_target_uses.insert(l, span);
                }
                if let Some(slot) = out.lets.get_mut(l) {
                    // A loop standing alone gets a name generated code can use.
                    let text = if *standalone {
                        "for_loop".to_string()
                    } else {
                        name.text.clone()
                    };
                    *slot = typed.map(|t| model::Let {
                        name: text,
                        value: t.e,
                    });
                }
            }
            Kind::Let {
                name,
                value,
                hidden,
                params,
            } => {
                ec.mode = Mode::Let { at: stmt.at, pos };
                let ready = layer_ready(ec.decls, params, stmt.at);
                let typed = value.as_ref().filter(|_| ready).and_then(|v| ec.expr(v));
                if *hidden {
                    // Its uses are taken by the layer's `let`, which uses it.
                    if let Some(d) = ec.decls.owned_mut(&name.text, pos) {
                        d.shape = typed.as_ref().map(|t| t.sh);
                        d.value = typed.map(|t| t.e);
                    }
                    continue;
                }
                let uses = std::mem::take(&mut ec.uses);
                let target_use = ec.target_use.take();
                let Some((d, l)) =
                    (ec.decls.owned_mut(&name.text, pos)).and_then(|d| match d.sym {
                        Some(Sym::Let(l)) => Some((d, l)),
                        _ => None,
                    })
                else {
                    out.orphan_uses.extend(uses);
                    out.orphan_names.insert(name.text.clone());
                    continue;
                };
                d.shape = typed.as_ref().map(|t| t.sh);
                out.let_uses.insert(l, uses);
                // A `let` that failed (reported) may name the target by mistake.
                if let Some(span) = target_use.filter(|_| typed.is_some()) {
                    out.let_target_uses.insert(l, span);
                }
                if let Some(slot) = out.lets.get_mut(l) {
                    *slot = typed.map(|t| model::Let {
                        name: name.text.clone(),
                        value: t.e,
                    });
                }
            }
            _ => {}
        }
    }

    ec.mode = Mode::Anywhere;
    let at = |pos: Option<usize>| pos.and_then(|p| stmts.get(p)).map(|s| &s.kind);
    if let Some(Kind::Output(name)) = at(scope.output) {
        out.output_name = Some((*name).clone());
        match ec.decls.by_name.get(&name.text) {
            Some(d) => {
                out.output = d.sym;
                out.output_shape = d.sym.and(d.shape);
            }
            None => {
                // Rejects: `output yy;` when only `y` exists.
                ec.unresolved = true;
                cx.error(
                    &name.span,
                    format!(
                        "unknown name `{}` in `output`{}",
                        name.text,
                        did_you_mean(&name.text, ec.decls.order.iter().map(String::as_str))
                    ),
                );
            }
        }
    }
    let mut loss_failed = false;
    if let Some(Kind::Loss(value)) = at(scope.loss) {
        let typed = ec.expr(value);
        out.loss_uses = std::mem::take(&mut ec.uses);
        ec.target_use = None;
        match typed {
            // Training minimises one number. Rejects: `loss y - t;` with `y: [2]`.
            Some(t) if t.sh != Sh::S => {
                loss_failed = true;
                cx.error(
                    &value.span,
                    format!(
                        "the loss must be a scalar, but {} is {}; reduce it, e.g. with `sum(..)`, `mean(..)` or a loss such as `mse(y, t)`",
                        show(value),
                        t.sh
                    ),
                );
            }
            Some(t) => out.loss = Some(t.e),
            None => loss_failed = true,
        }
    }
    out.size = ec.size;
    out.tapes = std::mem::take(&mut ec.tapes);
    out.fans = std::mem::take(&mut ec.fans);
    out.incomplete = ec.unresolved || loss_failed;
    out
}
