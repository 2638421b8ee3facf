//! Functions: the built-ins (the operator table of [`crate::ops`] and the rest) and the
//! user's `fn`s, checked once each, with recursion refused.

use std::collections::BTreeSet;

use crate::ast::{self, Span, StmtKind};
use crate::diag::Ctxt;
use crate::model::{self, Func};
use crate::ops;

use super::attrs::doc_comments_only;
use super::expr::{ExprChecker, Mode};
use super::scope::{Decls, check_not_keyword, did_you_mean};

// ---------------------------------------------------------------------------- builtins

/// What a built-in function does to shapes.
#[derive(Clone, Copy, Debug)]
pub(super) enum Builtin {
    /// Elementwise with this many arguments, broadcasting scalars.
    Elem(Func, usize),
    /// A function of the table in [`crate::ops`]: one operand, then its literal
    /// parameters.
    Table(ops::FnId),
    /// Any shape to a scalar.
    Reduce(Func),
    /// `dot(a, b)`: equal shapes to a scalar.
    Dot,
    /// A vector to a vector of the same length.
    VecFn(Func),
    /// `transpose(m)`.
    Transpose,
    /// A loss: two equal shapes to a scalar.
    Loss(Func),
    /// `dense(x, n, act)`, only as a `let`'s whole value.
    Dense,
}

const BUILTINS: &[(&str, Builtin)] = &[
    ("max", Builtin::Elem(Func::Max, 2)),
    ("min", Builtin::Elem(Func::Min, 2)),
    ("sum", Builtin::Reduce(Func::Sum)),
    ("mean", Builtin::Reduce(Func::Mean)),
    ("dot", Builtin::Dot),
    ("softmax", Builtin::VecFn(Func::Softmax)),
    ("log_softmax", Builtin::VecFn(Func::LogSoftmax)),
    ("transpose", Builtin::Transpose),
    ("mse", Builtin::Loss(Func::Mse)),
    ("bce", Builtin::Loss(Func::Bce)),
    ("bce_with_logits", Builtin::Loss(Func::BceWithLogits)),
    ("cross_entropy", Builtin::Loss(Func::CrossEntropy)),
    (
        "softmax_cross_entropy",
        Builtin::Loss(Func::SoftmaxCrossEntropy),
    ),
    ("dense", Builtin::Dense),
];

pub(super) fn builtin(name: &str) -> Option<Builtin> {
    match ops::lookup(name) {
        Some(id) if id.function().public => Some(Builtin::Table(id)),
        _ => BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b),
    }
}

/// Every built-in name users may call, for "did you mean" hints.
fn builtin_names<'a>() -> impl Iterator<Item = &'a str> {
    ops::public_names()
        .chain(BUILTINS.iter().map(|(n, _)| *n))
        .map(|n| -> &'a str { n })
}

/// "unknown function `f`" with the hint that fits: what this language calls it, what the
/// name is instead (`instead`, for a value of the net), or a close name.
pub(super) fn unknown_function(f: &str, fns: &[FnEntry], instead: Option<String>) -> String {
    let hint = match (alias(f).map(str::to_string), instead) {
        (Some(h), _) | (None, Some(h)) => format!("; {h}"),
        (None, None) => {
            let names = builtin_names().chain(fns.iter().map(|u| u.name.as_str()));
            did_you_mean(f, names)
        }
    };
    format!("unknown function `{f}`{hint}")
}

/// Names from other libraries that users reach for, and what this language calls them.
fn alias(name: &str) -> Option<&'static str> {
    Some(match name {
        "log" | "log_e" => "did you mean `ln`?",
        "matmul" | "mm" | "mv" | "matvec" | "gemm" | "gemv" => "use the `@` operator: `w @ x`",
        "pow" | "powf" | "powi" => "use the `^` operator: `x ^ 2`",
        "square" | "sqr" => "write `x ^ 2`",
        "neg" | "negate" => "write unary `-`: `-x`",
        "logistic" | "sigm" => "did you mean `sigmoid`?",
        "maximum" | "fmax" => "did you mean `max`?",
        "minimum" | "fmin" => "did you mean `min`?",
        "linear" | "fc" | "affine" | "layer" => "did you mean `dense`?",
        "t" | "transposed" => "did you mean `transpose`?",
        "ce" | "crossentropy" | "nll" => "did you mean `cross_entropy`?",
        "binary_cross_entropy" => "did you mean `bce`?",
        "mean_squared_error" | "l2" => "did you mean `mse`?",
        "logsumexp" => "`ln(sum(exp(x)))` computes it",
        "inner" | "vdot" => "did you mean `dot`?",
        "average" | "avg" => "did you mean `mean`?",
        _ => return None,
    })
}

/// What is wrong with calling `f` with `given` arguments when it takes one of `allowed`
/// counts; `None` when nothing is. Rejects: `sigmoid(a, b)`, `mse(y)`, `dense(x)`.
pub(super) fn arity_message(f: &str, given: usize, allowed: &[usize]) -> Option<String> {
    if allowed.contains(&given) {
        return None;
    }
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let want = match allowed {
        [n] => format!("{n} {}", plural(*n)),
        [a, b] => format!("{a} or {b} arguments"),
        _ => "a different number of arguments".into(),
    };
    Some(format!(
        "`{f}` takes {want}, but {given} {} given",
        if given == 1 { "was" } else { "were" }
    ))
}

// ---------------------------------------------------------------------------- fns

/// A user `fn` as checking knows it.
#[derive(Clone, Debug)]
pub(super) struct FnEntry {
    pub(super) name: String,
    pub(super) params: Vec<String>,
    /// Its checked body; `None` if it had errors.
    pub(super) def: Option<model::FnDef>,
    /// User `fn`s its body calls, with the call's span.
    pub(super) calls: Vec<(usize, Span)>,
    /// Whether its definition did not parse: then its parameters are unknown, and calls
    /// to it are not judged.
    pub(super) broken: bool,
}

/// A `fn` to check: parsed, or broken by a syntax error (then only its name is known).
enum FnSource<'a> {
    Def(&'a ast::FnDef),
    Broken(&'a ast::Name),
}

/// The shared `fn`s of an invocation and their attributes, checked once: every net sees
/// them.
pub(super) fn shared(cx: &Ctxt, file: &ast::File) -> Vec<FnEntry> {
    let defs: Vec<FnSource> = file
        .items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Fn(f) => Some(FnSource::Def(f)),
            ast::Item::BrokenFn(name) => Some(FnSource::Broken(name)),
            ast::Item::Net(_) => None,
        })
        .collect();
    for d in &defs {
        if let FnSource::Def(f) = d {
            doc_comments_only(cx, &f.attrs, "a shared `fn`");
        }
    }
    let mut fns = Vec::new();
    check_fns(cx, &mut fns, &defs);
    fns
}

/// The `fn`s a net sees: the shared ones, then its own, checked here. Local `fn`s see
/// the shared ones, not the other way round.
pub(super) fn with_local(cx: &Ctxt, shared: &[FnEntry], net: &ast::Net) -> Vec<FnEntry> {
    let local: Vec<FnSource> = net
        .stmts
        .iter()
        .filter_map(|s| match &s.kind {
            StmtKind::Fn(f) => Some(FnSource::Def(f)),
            StmtKind::Broken {
                keyword: Some(k),
                name: Some(n),
            } if k == "fn" => Some(FnSource::Broken(n)),
            _ => None,
        })
        .collect();
    let mut fns = shared.to_vec();
    check_fns(cx, &mut fns, &local);
    fns
}

/// Adds `defs` to `fns` (which may already hold the shared fns) and checks them.
fn check_fns(cx: &Ctxt, fns: &mut Vec<FnEntry>, defs: &[FnSource]) {
    let first_new = fns.len();
    let mut bodies = Vec::new();
    for d in defs {
        let (name, params) = match d {
            FnSource::Def(f) => (&f.name, f.params.as_slice()),
            FnSource::Broken(n) => (*n, &[][..]),
        };
        // A user `fn` named like a built-in would make calls ambiguous.
        // Rejects: `fn relu(x) = max(x, 0);`.
        if builtin(&name.text).is_some() {
            cx.error(
                &name.span,
                format!(
                    "`{}` is a built-in function; give this `fn` another name",
                    name.text
                ),
            );
            continue;
        }
        // Rejects: `fn f(x) = x; fn f(y) = y;`.
        if fns.iter().any(|f| f.name == name.text) {
            cx.error(
                &name.span,
                format!("a `fn` named `{}` is already defined", name.text),
            );
            continue;
        }
        check_not_keyword(cx, name);
        let mut seen = BTreeSet::new();
        for p in params {
            check_not_keyword(cx, p);
            // Rejects: `fn f(a, a) = a;`.
            if !seen.insert(p.text.as_str()) {
                cx.error(
                    &p.span,
                    format!("`{}` is a parameter of `{}` twice", p.text, name.text),
                );
            }
        }
        fns.push(FnEntry {
            name: name.text.clone(),
            params: params.iter().map(|p| p.text.clone()).collect(),
            def: None,
            calls: Vec::new(),
            broken: matches!(d, FnSource::Broken(_)),
        });
        if let FnSource::Def(f) = d {
            bodies.push((fns.len() - 1, *f));
        }
    }
    for (index, f) in bodies {
        let before = cx.count();
        let mut decls = Decls::default();
        let mut ec = ExprChecker::new(
            cx,
            fns,
            &mut decls,
            Mode::Fn {
                params: &f.params,
                name: &f.name.text,
            },
        );
        let body = ec.expr(&f.body);
        let calls = std::mem::take(&mut ec.calls);
        if let Some(entry) = fns.get_mut(index) {
            entry.calls = calls;
            if let Some(body) = body.filter(|_| cx.count() == before) {
                entry.def = Some(model::FnDef {
                    name: f.name.text.clone(),
                    params: f.params.iter().map(|p| p.text.clone()).collect(),
                    body: body.e,
                });
            }
        }
    }
    // `fn`s are expanded where they are called, so a cycle would expand forever.
    // Rejects: `fn f(x) = g(x); fn g(x) = f(x);` and `fn f(x) = f(x);`.
    for index in first_new..fns.len() {
        let calls = fns.get(index).map(|f| f.calls.clone()).unwrap_or_default();
        let name = fns.get(index).map(|f| f.name.clone()).unwrap_or_default();
        for (callee, span) in calls {
            let callee_name = fns.get(callee).map(|f| f.name.clone()).unwrap_or_default();
            let msg = if callee == index {
                format!(
                    "`{name}` calls itself; a `fn` cannot be recursive, because it is expanded where it is called"
                )
            } else if reaches(fns, callee, index) {
                format!(
                    "`{name}` calls `{callee_name}`, which calls `{name}` again; `fn`s cannot be recursive, because they are expanded where they are called"
                )
            } else {
                continue;
            };
            cx.error(&span, msg);
            if let Some(f) = fns.get_mut(index) {
                f.def = None;
            }
        }
    }
}

/// Whether `from` calls `to`, directly or through other `fn`s. Iterative.
fn reaches(fns: &[FnEntry], from: usize, to: usize) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from];
    while let Some(f) = stack.pop() {
        if !seen.insert(f) {
            continue;
        }
        for (callee, _) in fns.get(f).map(|e| e.calls.as_slice()).unwrap_or(&[]) {
            if *callee == to {
                return true;
            }
            stack.push(*callee);
        }
    }
    false
}
