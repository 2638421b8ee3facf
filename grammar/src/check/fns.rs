//! Functions: the built-ins (the operator table of [`crate::ops`] and the rest) and the
//! user's `fn`s, checked once each, with recursion refused.

use std::collections::BTreeSet;

use crate::ast::{self, Span, StmtKind};
use crate::diag::Ctxt;
use crate::model::{self, Func};
use crate::ops;
use crate::source::Source;

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
    /// A layer that declares parameters (`dense`, `rnn`, `gru`, `lstm`), only as a `let`'s
    /// whole value.
    Layer,
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
    ("dense", Builtin::Layer),
    ("rnn", Builtin::Layer),
    ("gru", Builtin::Layer),
    ("lstm", Builtin::Layer),
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
    /// The nodes one call expands to, per element, with every `fn` it calls inlined
    /// (its arguments not included), saturating; 1 until measured.
    pub(super) cost: u64,
    /// The depth of that expansion over its arguments.
    pub(super) depth: u64,
}

/// The most nodes one call of a `fn` may expand to, per element, with the `fn`s it calls
/// inlined: each call is expanded where it stands, so a `fn` calling another twice doubles.
pub const MAX_FN_NODES: u64 = 4096;

/// The deepest a `fn`'s expansion may be, with the `fn`s it calls inlined: code
/// generation walks expressions recursively.
pub const MAX_FN_DEPTH: u64 = 256;

/// A `fn` to check: parsed, or broken by a syntax error (then only its name is known).
enum FnSource<'a> {
    Def(&'a ast::FnDef),
    Broken(&'a ast::Name),
}

/// The shared `fn`s of an invocation and their attributes, checked once: every net sees
/// them.
pub(super) fn shared(cx: &Ctxt, file: &ast::File, src: &Source) -> Vec<FnEntry> {
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
            doc_comments_only(cx, &f.attrs, "a shared `fn`", src, false);
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
            cost: 1,
            depth: 1,
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
    measure_fns(cx, fns, first_new);
}

/// Measures the expansion of each `fn` from `first_new` on (callees first; the fns before
/// `first_new` are measured), and refuses one whose expansion exceeds [`MAX_FN_NODES`] or
/// [`MAX_FN_DEPTH`] because of the `fn`s it calls: at the call that pushes it over, once
/// (a `fn` calling a refused one fails silently). Cycles are already refused. Rejects:
/// `fn f1(z) = sin(z) + cos(z);` and each `fn fk(z) = f{k-1}(sin(z)) + f{k-1}(cos(z));`
/// up to k = 14 (2^14 copies), `fn gk(z) = g{k-1}(g{k-1}(z));` up to k = 12 (2^12 deep).
fn measure_fns(cx: &Ctxt, fns: &mut [FnEntry], first_new: usize) {
    // Post-order over the call graph, without recursion; a cycle (refused above) is
    // cut where it closes.
    const NEW: u8 = 0;
    const VISITING: u8 = 1;
    const DONE: u8 = 2;
    let mut state: Vec<u8> = (0..fns.len())
        .map(|f| if f < first_new { DONE } else { NEW })
        .collect();
    let mut order = Vec::new();
    for root in first_new..fns.len() {
        let mut stack = vec![(root, false)];
        while let Some((f, expanded)) = stack.pop() {
            let Some(st) = state.get_mut(f) else { continue };
            if expanded {
                *st = DONE;
                order.push(f);
                continue;
            }
            if *st != NEW {
                continue;
            }
            *st = VISITING;
            stack.push((f, true));
            for (callee, _) in fns.get(f).map(|e| e.calls.as_slice()).unwrap_or(&[]) {
                if state.get(*callee) == Some(&NEW) {
                    stack.push((*callee, false));
                }
            }
        }
    }
    for f in order {
        let Some(entry) = fns.get(f) else { continue };
        let Some(def) = &entry.def else { continue };
        // A callee refused (reported) or failed leaves nothing to measure.
        let callee_failed =
            (entry.calls.iter()).any(|(c, _)| fns.get(*c).is_none_or(|g| g.def.is_none()));
        if callee_failed {
            if let Some(e) = fns.get_mut(f) {
                e.def = None;
            }
            continue;
        }
        let (cost, depth) = expansion(fns, &def.body);
        let over = if cost > MAX_FN_NODES {
            Some(format!(
                "`{0}` expands to {cost} operations when the `fn`s it calls are inlined, above the limit of {MAX_FN_NODES} for one `fn`: every call is expanded where it stands, so calling a `fn` twice doubles its size; compute the repeated part once in a `let` of the net, or simplify `{0}`",
                entry.name
            ))
        } else if depth > MAX_FN_DEPTH {
            Some(format!(
                "`{0}` expands to an expression {depth} levels deep when the `fn`s it calls are inlined, above the limit of {MAX_FN_DEPTH}: every call is expanded where it stands, so nesting calls of a `fn` doubles the depth; compute the inner calls in `let`s of the net instead",
                entry.name
            ))
        } else {
            None
        };
        // The call of the largest callee is what pushes it over.
        let at = (entry.calls.iter())
            .max_by_key(|(c, _)| {
                fns.get(*c)
                    .map_or(0, |g| if cost > MAX_FN_NODES { g.cost } else { g.depth })
            })
            .map(|(_, span)| span.clone());
        if let Some(msg) = over {
            if let Some(span) = at {
                cx.error(&span, msg);
            }
            if let Some(e) = fns.get_mut(f) {
                e.def = None;
            }
            continue;
        }
        if let Some(e) = fns.get_mut(f) {
            e.cost = cost;
            e.depth = depth;
        }
    }
}

/// The nodes and depth of `e` with every user `fn` call inlined; arguments of the `fn`
/// being measured count nothing. Recurses over the body as written.
fn expansion(fns: &[FnEntry], e: &model::Expr) -> (u64, u64) {
    crate::stack::deep(|| expansion_here(fns, e))
}

fn expansion_here(fns: &[FnEntry], e: &model::Expr) -> (u64, u64) {
    use model::ExprKind as K;
    let children = |es: &mut dyn Iterator<Item = &model::Expr>| {
        es.map(|c| expansion(fns, c))
            .fold((0u64, 0u64), |(n, d), (cn, cd)| {
                (n.saturating_add(cn), d.max(cd))
            })
    };
    match &e.kind {
        K::FnArg(_) => (0, 0),
        K::Num(_) | K::Sym(_) => (1, 1),
        // A `fn` body is scalar: no loop or range gets through its checks.
        K::For(_) => (1, 1),
        K::Neg(a) | K::Index(a, _) | K::Slice(a, ..) => {
            let (n, d) = children(&mut std::iter::once(&**a));
            (n.saturating_add(1), d.saturating_add(1))
        }
        K::Binary(_, a, b) => {
            let (n, d) = children(&mut [&**a, &**b].into_iter());
            (n.saturating_add(1), d.saturating_add(1))
        }
        K::Call(Func::User(g), args) => {
            let (n, d) = children(&mut args.iter());
            let (gn, gd) = fns.get(*g).map_or((1, 1), |g| (g.cost, g.depth));
            (n.saturating_add(gn), d.saturating_add(gd))
        }
        K::Call(_, args) => {
            let (n, d) = children(&mut args.iter());
            (n.saturating_add(1), d.saturating_add(1))
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
