//! AST → checked model ([`crate::model`]).
//!
//! Every rule of the language is checked here, each with a comment saying why it exists and
//! an example it rejects. Errors go to the shared [`Ctxt`] and checking carries on; an
//! expression whose shape cannot be known (after an error) is `None`, and nothing further
//! is reported about it, so one mistake is reported once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use proc_macro2::TokenStream;

use crate::ast::{self, AttrKind, ExprKind as AstKind, NumValue, Span, StmtKind};
use crate::diag::Ctxt;
use crate::model::{self, BinOp, ExprKind, Func, Init, Scalar, Sym};
use crate::ops;
use crate::source::Source;

/// Checks every item of an invocation: nets that pass become [`model::Net`]s, nets that fail
/// become [`model::Stub`]s, and every problem is reported into `cx`.
pub fn check(file: &ast::File, src: &Source, cx: &Ctxt) -> (Vec<model::Net>, Vec<model::Stub>) {
    let before = cx.count();
    // Shared `fn`s first: every net sees them, and their errors are reported once.
    let shared: Vec<FnSource> = file
        .items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Fn(f) => Some(FnSource::Def(f)),
            ast::Item::BrokenFn(name) => Some(FnSource::Broken(name)),
            ast::Item::Net(_) => None,
        })
        .collect();
    let mut fns = Vec::new();
    check_fns(cx, &mut fns, &shared);
    let shared_ok = cx.count() == before;

    let mut nets = Vec::new();
    let mut stubs = Vec::new();
    let mut net_names: BTreeSet<String> = BTreeSet::new();
    for item in &file.items {
        let ast::Item::Net(net) = item else { continue };
        let errors_before = cx.count();
        // Two nets of one invocation would be two structs of one name.
        // Rejects: `net A { .. } net A { .. }`.
        let unique = net_names.insert(net.name.text.clone());
        if !unique {
            cx.error(
                &net.name.span,
                format!(
                    "a net named `{}` is already defined in this `network!`",
                    net.name.text
                ),
            );
        }
        let checked = NetChecker::new(cx, src, &fns).check(net);
        match checked {
            Some(n) if shared_ok && cx.count() == errors_before => nets.push(n),
            _ => {
                // The stub keeps uses of the net type-checking; a duplicate or keyword
                // name would make the stub itself an error.
                if unique
                    && !is_rust_keyword(&net.name.text)
                    && let Some(name) = src.ident_at(&net.name.span)
                {
                    stubs.push(model::Stub {
                        attrs: passthrough_attrs(&net.attrs, src),
                        vis: net
                            .vis
                            .as_ref()
                            .map(|v| src.tokens_in(v))
                            .unwrap_or_default(),
                        name,
                        api: None,
                    });
                }
            }
        }
    }
    // An invocation that defines nothing is surely a mistake; saying so also keeps the
    // promise that the front end yields a net or an error.
    if nets.is_empty() && stubs.is_empty() && cx.count() == 0 {
        cx.error_everywhere(
            "`network!` defines no net; write one like `net Xor { input x: [2]; ... }`",
        );
    }
    (nets, stubs)
}

// ---------------------------------------------------------------------------- shapes

/// A shape during checking, with dimensions wide enough that no declared size overflows;
/// converted to [`model::Shape`] only for nets within the size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sh {
    S,
    V(u64),
    M(u64, u64),
}

impl Sh {
    /// The number of scalars, saturating.
    fn elems(self) -> u64 {
        match self {
            Sh::S => 1,
            Sh::V(n) => n,
            Sh::M(r, c) => r.saturating_mul(c),
        }
    }

    /// The model's shape; dimensions saturate, which only a net over the size limit (hence
    /// never handed to code generation) can reach.
    fn model(self) -> model::Shape {
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
fn show(e: &ast::Expr) -> String {
    let s = e.to_source();
    if s.chars().count() <= 40 {
        format!("`{s}`")
    } else {
        let head: String = s.chars().take(37).collect();
        format!("`{head}...`")
    }
}

// ---------------------------------------------------------------------------- names

/// Rust's strict and reserved keywords (2024 edition), plus `_`.
const RUST_KEYWORDS: &[&str] = &[
    "_", "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait",
    "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final",
    "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

fn is_rust_keyword(name: &str) -> bool {
    RUST_KEYWORDS.contains(&name)
}

/// Names become struct fields, variables and functions of the generated Rust, so a Rust
/// keyword cannot be one. Rejects: `param type: [2];`, `let fn = x;`, `net struct { .. }`.
fn check_not_keyword(cx: &Ctxt, name: &ast::Name) -> bool {
    if !is_rust_keyword(&name.text) {
        return true;
    }
    let msg = if name.text == "_" {
        "`_` cannot be a name; pick a real one".to_string()
    } else {
        format!(
            "`{0}` is a Rust keyword and cannot be a name here (names become Rust identifiers); try `{0}_`",
            name.text
        )
    };
    cx.error(&name.span, msg);
    false
}

/// The closest candidate within a third of the name's length (at least one edit), for
/// "did you mean".
fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        // Replacing every character is no resemblance: `w` is not like `a`.
        .filter(|(d, _)| *d <= limit && *d < name.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates).map_or(String::new(), |c| format!("; did you mean `{c}`?"))
}

// ---------------------------------------------------------------------------- builtins

/// What a built-in function does to shapes.
#[derive(Clone, Copy, Debug)]
enum Builtin {
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

fn builtin(name: &str) -> Option<Builtin> {
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

/// The initialisers, for messages.
const INITS: &[&str] = &[
    "zeros", "ones", "constant", "uniform", "normal", "xavier", "he",
];

// ---------------------------------------------------------------------------- numbers

const INT_SUFFIXES: &[(&str, u128)] = &[
    ("u8", u8::MAX as u128),
    ("u16", u16::MAX as u128),
    ("u32", u32::MAX as u128),
    ("u64", u64::MAX as u128),
    ("u128", u128::MAX),
    ("usize", u64::MAX as u128),
    ("i8", i8::MAX as u128),
    ("i16", i16::MAX as u128),
    ("i32", i32::MAX as u128),
    ("i64", i64::MAX as u128),
    ("i128", i128::MAX as u128),
    ("isize", i64::MAX as u128),
];

/// A number literal's value as a float. Rust decides what a literal means by its suffix,
/// so the same rules apply: an unknown suffix, an integer suffix on a float, or a value
/// that does not fit its type is an error. Rejects: `1.5u8`, `3foo`, `300u8`, `1e999`.
fn number(cx: &Ctxt, n: &ast::Number) -> Option<f64> {
    let int_max = INT_SUFFIXES
        .iter()
        .find(|(s, _)| *s == n.suffix)
        .map(|(_, m)| *m);
    match (&n.value, n.suffix.as_str()) {
        (_, "" | "f32" | "f64") => {}
        (NumValue::Int(_), _) if int_max.is_some() => {}
        (NumValue::Float(_), _) if int_max.is_some() => {
            cx.error(
                &n.span,
                format!(
                    "`{}`: an integer suffix cannot end a float literal; use `f32` or `f64`",
                    n.text
                ),
            );
            return None;
        }
        _ => {
            cx.error(
                &n.span,
                format!(
                    "invalid suffix `{}` on the number `{}`; a number may end in `f32`, `f64` or an integer type such as `u32`",
                    n.suffix, n.text
                ),
            );
            return None;
        }
    }
    match n.value {
        NumValue::Int(None) => {
            cx.error(
                &n.span,
                format!("the integer literal `{}` is too large", n.text),
            );
            None
        }
        NumValue::Int(Some(v)) if int_max.is_some_and(|m| v > m) => {
            cx.error(
                &n.span,
                format!("the literal `{}` does not fit in `{}`", n.text, n.suffix),
            );
            None
        }
        _ => match n.as_f64() {
            Some(v) => Some(v),
            None => {
                cx.error(
                    &n.span,
                    format!("the number `{}` is out of range for `f64`", n.text),
                );
                None
            }
        },
    }
}

/// An integer literal where only integers make sense (dimensions, indices, sizes).
/// Rejects: `[2.0]`, `v[1.5]`, `dense(x, 1e3)`.
fn integer(cx: &Ctxt, n: &ast::Number, what: &str) -> Option<u64> {
    if n.is_float() {
        cx.error(
            &n.span,
            format!("{what} must be an integer literal, not `{}`", n.text),
        );
        return None;
    }
    number(cx, n)?;
    match n.value {
        NumValue::Int(Some(v)) => match u64::try_from(v) {
            Ok(v) => Some(v),
            Err(_) => {
                cx.error(
                    &n.span,
                    format!("the integer literal `{}` is too large", n.text),
                );
                None
            }
        },
        _ => None,
    }
}

/// A declared shape. Rejects: `[2, 3, 4]` (rank 3), `[0]` (no elements), `[2.5]`.
fn shape(cx: &Ctxt, s: &ast::ShapeDecl) -> Option<Sh> {
    // Zero-sized dimensions would give empty arrays and divisions by zero in `mean`.
    let dim = |n: &ast::Number| -> Option<u64> {
        let d = integer(cx, n, "a dimension")?;
        if d == 0 {
            cx.error(&n.span, "a dimension must be at least 1");
            return None;
        }
        Some(d)
    };
    match s.dims.as_slice() {
        [] => Some(Sh::S),
        [n] => Some(Sh::V(dim(n)?)),
        [r, c] => {
            let (r, c) = (dim(r), dim(c));
            Some(Sh::M(r?, c?))
        }
        more => {
            // Only scalars, vectors and matrices exist in the generated code.
            cx.error(
                &s.span,
                format!(
                    "a shape has at most two dimensions (`[]`, `[n]` or `[rows, cols]`), but this one has {}",
                    more.len()
                ),
            );
            None
        }
    }
}

/// An initialiser. Rejects: `glorot` (unknown), `uniform(1)` (arity), `xavier()`,
/// `uniform(1, -1)` (empty range), `normal(0, -1)` (negative deviation).
fn init(cx: &Ctxt, i: Option<&ast::Init>) -> Option<Init> {
    let Some(i) = i else { return Some(Init::Zeros) };
    let name = i.name.text.as_str();
    let want = match name {
        "zeros" | "ones" | "xavier" | "he" => 0,
        "constant" => 1,
        "uniform" | "normal" => 2,
        _ => {
            let hint = match name {
                "glorot" | "glorot_uniform" | "xavier_uniform" => {
                    "; did you mean `xavier`?".to_string()
                }
                "kaiming" | "kaiming_normal" | "he_normal" => "; did you mean `he`?".to_string(),
                "randn" | "gaussian" => "; did you mean `normal(mean, std)`?".to_string(),
                "rand" => "; did you mean `uniform(lo, hi)`?".to_string(),
                "const" | "fill" => "; did you mean `constant(c)`?".to_string(),
                _ => did_you_mean(name, INITS.iter().copied()),
            };
            let list = "`zeros`, `ones`, `constant(c)`, `uniform(lo, hi)`, `normal(mean, std)`, `xavier` and `he`";
            let msg = if hint.is_empty() {
                format!("unknown initialiser `{name}`; the initialisers are {list}")
            } else {
                format!("unknown initialiser `{name}`{hint} The initialisers are {list}")
            };
            cx.error(&i.name.span, msg);
            return None;
        }
    };
    let args = i.args.as_deref().unwrap_or(&[]);
    let usage = match name {
        "constant" => "`constant(c)`",
        "uniform" => "`uniform(lo, hi)`",
        "normal" => "`normal(mean, std)`",
        _ => "",
    };
    if want == 0 && i.args.is_some() {
        cx.error(
            &i.span,
            format!("`{name}` takes no arguments; write `{name}`"),
        );
        return None;
    }
    if want > 0 && args.len() != want {
        cx.error(
            &i.span,
            format!(
                "`{name}` takes {want} argument{}: {usage}",
                if want == 1 { "" } else { "s" }
            ),
        );
        return None;
    }
    let mut vals = Vec::new();
    for a in args {
        let v = number(cx, &a.number)?;
        vals.push(if a.negative { -v } else { v });
    }
    let (a, b) = (
        vals.first().copied().unwrap_or(0.0),
        vals.get(1).copied().unwrap_or(0.0),
    );
    Some(match name {
        "zeros" => Init::Zeros,
        "ones" => Init::Ones,
        "xavier" => Init::Xavier,
        "he" => Init::He,
        "constant" => Init::Constant(a),
        "uniform" => {
            if a > b {
                cx.error(
                    &i.span,
                    format!("`uniform(lo, hi)` needs `lo <= hi`, but {a} > {b}"),
                );
                return None;
            }
            Init::Uniform(a, b)
        }
        _ => {
            if b < 0.0 {
                cx.error(
                    &i.span,
                    format!("`normal(mean, std)` needs `std >= 0`, but it is {b}"),
                );
                return None;
            }
            Init::Normal(a, b)
        }
    })
}

// ---------------------------------------------------------------------------- attributes

/// Attributes copied onto the generated struct: everything but `#[scalar]`/`#[chainrule]`.
fn passthrough_attrs(attrs: &[ast::Attr], src: &Source) -> Vec<TokenStream> {
    attrs
        .iter()
        .filter(|a| matches!(a.kind, AttrKind::Doc | AttrKind::Other(_)))
        .map(|a| src.tokens_in(&a.span))
        .collect()
}

/// What `#[scalar]` and `#[chainrule]` set.
struct Settings {
    scalar: Scalar,
    unroll: usize,
    max_size: u64,
}

const SETTINGS: &[&str] = &["max_size", "unroll"];

/// Reads `#[scalar(..)]` and `#[chainrule(..)]`. Rejects: `#[scalar(f16)]`, a second
/// `#[scalar]`, `#[chainrule(unrol = 8)]`, `#[chainrule(unroll = 99999999)]`.
fn settings(cx: &Ctxt, attrs: &[ast::Attr]) -> Settings {
    let mut out = Settings {
        scalar: Scalar::F32,
        unroll: model::DEFAULT_UNROLL,
        max_size: model::DEFAULT_MAX_SIZE,
    };
    let mut seen_scalar = false;
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for a in attrs {
        match &a.kind {
            AttrKind::Scalar(ty) => {
                if seen_scalar {
                    cx.error(&a.span, "`#[scalar(..)]` is given twice");
                }
                seen_scalar = true;
                match ty.text.as_str() {
                    "f32" => out.scalar = Scalar::F32,
                    "f64" => out.scalar = Scalar::F64,
                    other => cx.error(
                        &ty.span,
                        format!("unknown scalar type `{other}`; use `#[scalar(f32)]` or `#[scalar(f64)]`"),
                    ),
                }
            }
            AttrKind::Chainrule(list) => {
                for s in list {
                    let key = s.key.text.as_str();
                    if !SETTINGS.contains(&key) {
                        cx.error(
                            &s.key.span,
                            match closest(key, SETTINGS.iter().copied()) {
                                Some(c) => format!(
                                    "unknown setting `{key}` in `#[chainrule(..)]`; did you mean `{c}`? The known settings are `max_size` and `unroll`"
                                ),
                                None => format!(
                                    "unknown setting `{key}` in `#[chainrule(..)]`; the known settings are `max_size` and `unroll`"
                                ),
                            },
                        );
                        continue;
                    }
                    if !seen.insert(key.to_string()) {
                        cx.error(&s.key.span, format!("`{key}` is set twice"));
                        continue;
                    }
                    let Some(v) = integer(cx, &s.value, &format!("`{key}`")) else {
                        continue;
                    };
                    if key == "unroll" {
                        // Beyond this, unrolled code makes compile times explode.
                        match usize::try_from(v) {
                            Ok(v) if v <= model::MAX_UNROLL => out.unroll = v,
                            _ => cx.error(
                                &s.value.span,
                                format!("`unroll` can be at most {}, not {v}", model::MAX_UNROLL),
                            ),
                        }
                    } else if v == 0 {
                        cx.error(&s.value.span, "`max_size` must be at least 1");
                    } else {
                        out.max_size = v;
                    }
                }
            }
            AttrKind::Doc | AttrKind::Other(_) => {}
        }
    }
    out
}

/// Statements take doc comments only: there is nothing for other attributes to apply to.
/// Rejects: `#[allow(unused)] let h = x;`, `#[scalar(f64)] input x: [2];`.
fn statement_attrs(cx: &Ctxt, attrs: &[ast::Attr]) {
    for a in attrs {
        let msg = match &a.kind {
            AttrKind::Doc => continue,
            AttrKind::Scalar(_) => {
                "`#[scalar(..)]` goes on the `net`, not on a statement".to_string()
            }
            AttrKind::Chainrule(_) => {
                "`#[chainrule(..)]` goes on the `net`, not on a statement".to_string()
            }
            AttrKind::Other(p) => format!(
                "`#[{}]` cannot go on a statement; only doc comments are allowed there",
                p.text
            ),
        };
        cx.error(&a.span, msg);
    }
}

// ---------------------------------------------------------------------------- fns

/// A user `fn` as checking knows it.
#[derive(Clone, Debug)]
struct FnEntry {
    name: String,
    params: Vec<String>,
    /// Its checked body; `None` if it had errors.
    def: Option<model::FnDef>,
    /// User `fn`s its body calls, with the call's span.
    calls: Vec<(usize, Span)>,
    /// Whether its definition did not parse: then its parameters are unknown, and calls
    /// to it are not judged.
    broken: bool,
}

/// A `fn` to check: parsed, or broken by a syntax error (then only its name is known).
enum FnSource<'a> {
    Def(&'a ast::FnDef),
    Broken(&'a ast::Name),
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
        let decls = Decls::default();
        let mut ec = ExprChecker::new(
            cx,
            fns,
            &decls,
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

// ---------------------------------------------------------------------------- expressions

/// What a name declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeclKind {
    Input,
    Target,
    Param,
    Let,
    /// A parameter declared by `dense` in a `let` (`h_w`, `h_b`).
    Dense,
}

/// A name declared in a net.
#[derive(Clone, Debug)]
struct Decl {
    kind: DeclKind,
    /// The statement that declares it, for "used before its definition".
    stmt: usize,
    /// `None` for a declaration that failed (already reported): uses of it are not errors
    /// but have no shape.
    sym: Option<Sym>,
    /// Known once its statement is checked.
    shape: Option<Sh>,
    /// For a `dense` parameter, the `let` that declares it.
    dense_let: Option<String>,
}

impl Decl {
    fn describe(&self) -> String {
        match self.kind {
            DeclKind::Input => "the input".into(),
            DeclKind::Target => "the target".into(),
            DeclKind::Param => "a parameter".into(),
            DeclKind::Let => "a `let`".into(),
            DeclKind::Dense => format!(
                "a parameter of `dense` in `let {}`",
                self.dense_let.as_deref().unwrap_or("?")
            ),
        }
    }

    fn keyword(&self) -> &'static str {
        match self.kind {
            DeclKind::Input => "input",
            DeclKind::Target => "target",
            DeclKind::Param => "param",
            DeclKind::Let | DeclKind::Dense => "let",
        }
    }
}

/// Every name of a net, in declaration order.
#[derive(Debug, Default)]
struct Decls {
    by_name: BTreeMap<String, Decl>,
    order: Vec<String>,
}

/// Where an expression is, which decides what its names may refer to.
#[derive(Clone, Copy)]
enum Mode<'a> {
    /// The value of the `let` at this statement: names declared above it.
    Let { stmt: usize },
    /// `output` or `loss`: any name of the net.
    Anywhere,
    /// A `fn` body: its parameters only.
    Fn {
        params: &'a [ast::Name],
        name: &'a str,
    },
}

/// A checked expression and its shape.
struct Typed {
    e: model::Expr,
    sh: Sh,
}

/// Checks expressions in one [`Mode`].
struct ExprChecker<'a> {
    cx: &'a Ctxt,
    fns: &'a [FnEntry],
    decls: &'a Decls,
    mode: Mode<'a>,
    /// Scalars of every node built, saturating.
    size: u64,
    /// Symbols used, for "cannot reach the loss".
    uses: BTreeSet<Sym>,
    /// First use of each parameter in `@`: `(fan_in, fan_out)`.
    fans: BTreeMap<usize, (u64, u64)>,
    /// Whether a name could not be resolved (reachability would then be a guess).
    unresolved: bool,
    /// User `fn`s called, with the call's span.
    calls: Vec<(usize, Span)>,
}

impl<'a> ExprChecker<'a> {
    fn new(cx: &'a Ctxt, fns: &'a [FnEntry], decls: &'a Decls, mode: Mode<'a>) -> Self {
        ExprChecker {
            cx,
            fns,
            decls,
            mode,
            size: 0,
            uses: BTreeSet::new(),
            fans: BTreeMap::new(),
            unresolved: false,
            calls: Vec::new(),
        }
    }

    /// Builds a node, counting its scalars toward the size limit.
    fn node(&mut self, kind: ExprKind, sh: Sh) -> Typed {
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

    fn expr(&mut self, e: &ast::Expr) -> Option<Typed> {
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
            AstKind::Binary(op, a, b) => self.binary(e, *op, a, b),
            AstKind::Call(name, args) => self.call(e, name, args),
            AstKind::Index(a, idx) => self.index(a, idx),
        }
    }

    /// Resolves a name in the current mode.
    fn name(&mut self, n: &str, span: &Span) -> Option<Typed> {
        let stmt = match self.mode {
            Mode::Fn { params, name } => return self.fn_param(n, span, params, name),
            Mode::Let { stmt, .. } => Some(stmt),
            Mode::Anywhere => None,
        };
        let Some(d) = self.decls.by_name.get(n) else {
            self.unresolved = true;
            self.unknown_name(n, span);
            return None;
        };
        if let Some(stmt) = stmt {
            // A `let` is evaluated where it stands, so it can only see what is above it.
            // Rejects: `let h = h + 1;` and `let h = w @ x; param w: [2, 2];`.
            if d.stmt == stmt {
                self.unresolved = true;
                self.cx
                    .error(span, format!("`{n}` is used in its own definition"));
                return None;
            }
            if d.stmt > stmt {
                self.unresolved = true;
                self.cx.error(
                    span,
                    format!(
                        "`{n}` is used before its definition; a `let` may only use names defined above it, so move `{} {n}` above this `let`",
                        d.keyword()
                    ),
                );
                return None;
            }
        }
        let sym = d.sym?;
        let sh = d.shape?;
        self.uses.insert(sym);
        Some(self.node(ExprKind::Sym(sym), sh))
    }

    /// Rejects names the net does not declare, suggesting a close one.
    /// Rejects: `let h = sigmoid(w1 @ xx);` (no `xx`), `let y = relu;` (a function).
    fn unknown_name(&self, n: &str, span: &Span) {
        let msg = if builtin(n).is_some() || self.fns.iter().any(|f| f.name == n) {
            format!("`{n}` is a function, not a value; call it, like `{n}(x)`")
        } else {
            // Only names this expression could use are worth suggesting.
            let visible = self.decls.order.iter().filter(|name| {
                match (self.mode, self.decls.by_name.get(name.as_str())) {
                    (Mode::Let { stmt }, Some(d)) => d.stmt < stmt,
                    _ => true,
                }
            });
            format!(
                "unknown name `{n}`{}",
                did_you_mean(n, visible.map(String::as_str))
            )
        };
        self.cx.error(span, msg);
    }

    /// A `fn` works on the scalars it is given, so its body may only name its parameters.
    /// Rejects: `fn f(z) = z * w;` where `w` is a parameter of a net.
    fn fn_param(
        &mut self,
        n: &str,
        span: &Span,
        params: &[ast::Name],
        fname: &str,
    ) -> Option<Typed> {
        match params.iter().position(|p| p.text == n) {
            Some(i) => Some(self.node(ExprKind::FnArg(i), Sh::S)),
            None => {
                let list: Vec<String> = params.iter().map(|p| format!("`{}`", p.text)).collect();
                self.cx.error(
                    span,
                    format!(
                        "`{n}` is not a parameter of `{fname}`{}; a `fn` body may only use its parameters ({}) and numbers",
                        did_you_mean(n, params.iter().map(|p| p.text.as_str())),
                        list.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn binary(
        &mut self,
        e: &ast::Expr,
        op: ast::BinOp,
        a: &ast::Expr,
        b: &ast::Expr,
    ) -> Option<Typed> {
        if op == ast::BinOp::MatMul && self.in_fn() {
            // A `fn` body sees one scalar of each argument at a time.
            // Rejects: `fn f(a, b) = a @ b;`.
            self.cx.error(
                &e.span,
                "`@` cannot appear in a `fn` body: a `fn` is applied to one scalar at a time; use `*`",
            );
            self.expr(a);
            self.expr(b);
            return None;
        }
        let (ta, tb) = (self.expr(a), self.expr(b));
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

    /// Records the fans of a parameter matrix the first time it is an operand of `@`:
    /// `w @ x` reads `w: [r, c]` as `c` inputs to `r` outputs, `x @ w` as `r` to `c`.
    fn note_fans(&mut self, a: &model::Expr, b: &model::Expr) {
        if let (ExprKind::Sym(Sym::Param(p)), model::Shape::Matrix(r, c)) = (&a.kind, a.shape) {
            self.fans.entry(*p).or_insert((c as u64, r as u64));
        }
        if let (ExprKind::Sym(Sym::Param(p)), model::Shape::Matrix(r, c)) = (&b.kind, b.shape) {
            self.fans.entry(*p).or_insert((r as u64, c as u64));
        }
    }

    /// `v[i]` or `m[i, j]`. Rejects: `v[3]` with `v: [3]`, `m[0]` with `m: [2, 2]`, `s[0]`
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
        if dims.len() != idx.len() {
            let how = if dims.len() == 1 {
                "one index, like `v[0]`"
            } else {
                "two indices, like `m[0, 1]`"
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
                self.cx.error(
                    &n.span,
                    format!(
                        "index {i} is out of range for {} of shape {}; valid indices are 0 to {}",
                        show(a),
                        t.sh,
                        d - 1
                    ),
                );
                return None;
            }
            out.push(usize::try_from(i).unwrap_or(usize::MAX));
        }
        Some(self.node(ExprKind::Index(Box::new(t.e), out), Sh::S))
    }

    fn call(&mut self, e: &ast::Expr, name: &ast::Name, args: &[ast::Expr]) -> Option<Typed> {
        let f = name.text.as_str();
        if let Some(b) = builtin(f) {
            return self.builtin_call(e, name, b, args);
        }
        if let Some(i) = self.fns.iter().position(|u| u.name == f) {
            if self.fns.get(i).is_some_and(|u| u.broken) {
                for a in args {
                    self.expr(a);
                }
                return None;
            }
            let want = self.fns.get(i).map_or(0, |u| u.params.len());
            if self.in_fn() {
                self.calls.push((i, name.span.clone()));
            }
            return self.elementwise(e, name, Func::User(i), want, args);
        }
        // Rejects: `log(x)` (the language says `ln`), `sigmod(x)`, `w1(x)`.
        self.unresolved = true;
        let hint = if let Some(h) = alias(f) {
            format!("; {h}")
        } else if let Some(d) = self.decls.by_name.get(f) {
            format!(
                "; `{f}` is {}, not a function (for a product write `{f} @ (..)` or `{f} * (..)`)",
                d.describe()
            )
        } else {
            let names = builtin_names().chain(self.fns.iter().map(|u| u.name.as_str()));
            did_you_mean(f, names)
        };
        self.cx
            .error(&name.span, format!("unknown function `{f}`{hint}"));
        for a in args {
            self.expr(a);
        }
        None
    }

    /// Checks the argument count; on a mismatch, reports it and still checks the
    /// arguments for their own errors. Rejects: `sigmoid(a, b)`, `mse(y)`.
    fn arity(&mut self, e: &ast::Expr, f: &str, args: &[ast::Expr], allowed: &[usize]) -> bool {
        if allowed.contains(&args.len()) {
            return true;
        }
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        let want = match allowed {
            [n] => format!("{n} {}", plural(*n)),
            [a, b] => format!("{a} or {b} arguments"),
            _ => "a different number of arguments".into(),
        };
        let given = args.len();
        self.cx.error(
            &e.span,
            format!(
                "`{f}` takes {want}, but {given} {} given",
                if given == 1 { "was" } else { "were" }
            ),
        );
        for a in args {
            self.expr(a);
        }
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
            Builtin::Dense => {
                // `dense` declares parameters, which needs a name to derive theirs from.
                // Rejects: `let y = sigmoid(dense(x, 3));`, `loss sum(dense(x, 1));`.
                self.cx.error(
                    &e.span,
                    "`dense` declares parameters, so it must be the whole right side of a `let`, like `let h = dense(x, 16, tanh);`",
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
                // Both sides pair element by element. Rejects: `mse(y, t)` with `y: [2]`,
                // `t: [3]`.
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

/// Whether `e` is a number literal, possibly negated.
fn is_literal(e: &ast::Expr) -> bool {
    match &e.kind {
        AstKind::Num(_) => true,
        AstKind::Neg(inner) => matches!(inner.kind, AstKind::Num(_)),
        _ => false,
    }
}

/// A number literal, possibly negated (`0.2`, `-0.1`), as a value; `None` for anything
/// else (a bad literal is reported).
fn literal(cx: &Ctxt, e: &ast::Expr) -> Option<f64> {
    match &e.kind {
        AstKind::Num(n) => number(cx, n),
        AstKind::Neg(inner) => match &inner.kind {
            AstKind::Num(n) => number(cx, n).map(|v| -v),
            _ => None,
        },
        _ => None,
    }
}

// ---------------------------------------------------------------------------- nets

/// Checks one net.
struct NetChecker<'a> {
    cx: &'a Ctxt,
    src: &'a Source,
    shared: &'a [FnEntry],
}

/// Parameters as they are built: the model's fields, fans filled in at the end.
struct ParamBuild {
    name: String,
    shape: Option<Sh>,
    init: Option<Init>,
    docs: Vec<TokenStream>,
    /// Where to blame it if it cannot reach the loss: its name, or its `dense`'s `let`.
    span: Span,
    /// The `let` whose `dense` declared it, if any.
    dense_of: Option<String>,
}

impl<'a> NetChecker<'a> {
    fn new(cx: &'a Ctxt, src: &'a Source, shared: &'a [FnEntry]) -> Self {
        NetChecker { cx, src, shared }
    }

    fn check(&self, net: &ast::Net) -> Option<model::Net> {
        let cx = self.cx;
        let before = cx.count();
        check_not_keyword(cx, &net.name);
        let settings = settings(cx, &net.attrs);

        // Local `fn`s see the shared ones, not the other way round.
        let mut fns = self.shared.to_vec();
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
        check_fns(cx, &mut fns, &local);
        let fns_ok = fns.iter().all(|f| f.def.is_some());

        // Pass 1: every declared name, so that uses can tell "unknown" from "below".
        let mut decls = Decls::default();
        let mut params: Vec<ParamBuild> = Vec::new();
        let mut let_count = 0usize;
        let mut input: Option<(String, Sh)> = None;
        let mut target: Option<(String, Sh)> = None;
        let mut inputs = 0usize;
        let mut targets = 0usize;
        for (i, stmt) in net.stmts.iter().enumerate() {
            statement_attrs(cx, &stmt.attrs);
            match &stmt.kind {
                StmtKind::Input(name, s) | StmtKind::Target(name, s) => {
                    let is_input = matches!(stmt.kind, StmtKind::Input(..));
                    let (count, slot, kind, sym, what) = if is_input {
                        (
                            &mut inputs,
                            &mut input,
                            DeclKind::Input,
                            Sym::Input,
                            "input",
                        )
                    } else {
                        (
                            &mut targets,
                            &mut target,
                            DeclKind::Target,
                            Sym::Target,
                            "target",
                        )
                    };
                    *count += 1;
                    let sh = shape(cx, s);
                    // The generated methods take exactly one input and at most one
                    // target. Rejects: `input a: [2]; input b: [2];`.
                    let first = *count == 1;
                    if !first {
                        let prev = slot.as_ref().map_or(String::new(), |(n, _)| {
                            format!(", and `{n}` is already its {what}")
                        });
                        cx.error(
                            &stmt.span,
                            format!(
                                "a second `{what}`: a net has {} one{prev}",
                                if is_input { "exactly" } else { "at most" }
                            ),
                        );
                    }
                    let declared =
                        self.declare(&mut decls, name, kind, i, first.then_some(sym), None);
                    if declared
                        && first
                        && let Some(sh) = sh
                    {
                        *slot = Some((name.text.clone(), sh));
                    }
                    if let Some(d) = decls.by_name.get_mut(&name.text).filter(|d| d.stmt == i) {
                        d.shape = sh;
                    }
                }
                StmtKind::Param(name, s, _) => {
                    let index = params.len();
                    if self.declare(
                        &mut decls,
                        name,
                        DeclKind::Param,
                        i,
                        Some(Sym::Param(index)),
                        None,
                    ) {
                        let sh = shape(cx, s);
                        if let Some(d) = decls.by_name.get_mut(&name.text) {
                            d.shape = sh;
                        }
                        params.push(ParamBuild {
                            name: name.text.clone(),
                            shape: sh,
                            init: None,
                            docs: Vec::new(),
                            span: name.span.clone(),
                            dense_of: None,
                        });
                    } else {
                        shape(cx, s);
                    }
                }
                StmtKind::Let(name, value) => {
                    if dense_args(value).is_some() {
                        for suffix in ["_w", "_b"] {
                            let pname = ast::Name {
                                text: format!("{}{suffix}", name.text),
                                span: name.span.clone(),
                            };
                            let index = params.len();
                            if self.declare(
                                &mut decls,
                                &pname,
                                DeclKind::Dense,
                                i,
                                Some(Sym::Param(index)),
                                Some(&name.text),
                            ) {
                                params.push(ParamBuild {
                                    name: pname.text.clone(),
                                    shape: None,
                                    init: Some(if suffix == "_w" {
                                        Init::Xavier
                                    } else {
                                        Init::Zeros
                                    }),
                                    docs: Vec::new(),
                                    span: name.span.clone(),
                                    dense_of: Some(name.text.clone()),
                                });
                            }
                        }
                    }
                    if self.declare(
                        &mut decls,
                        name,
                        DeclKind::Let,
                        i,
                        Some(Sym::Let(let_count)),
                        None,
                    ) {
                        let_count += 1;
                    }
                }
                StmtKind::Broken {
                    keyword: Some(k),
                    name: Some(name),
                } => {
                    let kind = match k.as_str() {
                        "input" => {
                            inputs += 1;
                            DeclKind::Input
                        }
                        "target" => {
                            targets += 1;
                            DeclKind::Target
                        }
                        "param" => DeclKind::Param,
                        "let" => DeclKind::Let,
                        _ => continue,
                    };
                    // Declared without a symbol: uses are neither unknown nor checked.
                    if !decls.by_name.contains_key(&name.text) {
                        decls.order.push(name.text.clone());
                        decls.by_name.insert(
                            name.text.clone(),
                            Decl {
                                kind,
                                stmt: i,
                                sym: None,
                                shape: None,
                                dense_let: None,
                            },
                        );
                    }
                }
                StmtKind::Broken {
                    keyword: Some(k), ..
                } if k == "input" => inputs += 1,
                StmtKind::Broken {
                    keyword: Some(k), ..
                } if k == "target" => targets += 1,
                _ => {}
            }
        }

        // Pass 2: parameters' inits and docs, and `let`s in order.
        let before_exprs = cx.count();
        let mut lets: Vec<Option<model::Let>> = Vec::new();
        let mut let_uses: BTreeMap<usize, BTreeSet<Sym>> = BTreeMap::new();
        let mut size: u64 = 0;
        let mut fans: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
        let mut unresolved = false;
        for (i, stmt) in net.stmts.iter().enumerate() {
            match &stmt.kind {
                StmtKind::Param(name, _, ini) => {
                    let init = init(cx, ini.as_ref());
                    let owned = decls
                        .by_name
                        .get(&name.text)
                        .filter(|d| d.stmt == i)
                        .and_then(|d| d.sym);
                    if let Some(Sym::Param(p)) = owned
                        && let Some(pb) = params.get_mut(p)
                    {
                        pb.init = init;
                        pb.docs = stmt
                            .attrs
                            .iter()
                            .filter(|a| matches!(a.kind, AttrKind::Doc))
                            .map(|a| self.src.tokens_in(&a.span))
                            .collect();
                    }
                }
                StmtKind::Let(name, value) => {
                    let owned = decls
                        .by_name
                        .get(&name.text)
                        .filter(|d| d.stmt == i && d.kind == DeclKind::Let)
                        .and_then(|d| d.sym);
                    let mut ec = ExprChecker::new(cx, &fns, &decls, Mode::Let { stmt: i });
                    let typed = match dense_args(value) {
                        Some(args) => self.dense(&mut ec, value, name, args, &mut params),
                        None => ec.expr(value),
                    };
                    size = size.saturating_add(ec.size);
                    for (p, f) in std::mem::take(&mut ec.fans) {
                        fans.entry(p).or_insert(f);
                    }
                    unresolved |= ec.unresolved;
                    let uses = std::mem::take(&mut ec.uses);
                    if let Some(Sym::Let(l)) = owned {
                        let_uses.insert(l, uses);
                        let sh = typed.as_ref().map(|t| t.sh);
                        if let Some(d) = decls.by_name.get_mut(&name.text) {
                            d.shape = sh;
                        }
                        // Dense parameters got their shapes while their `let` was checked.
                        for suffix in ["_w", "_b"] {
                            let pname = format!("{}{suffix}", name.text);
                            if let Some(d) = decls
                                .by_name
                                .get_mut(&pname)
                                .filter(|d| d.kind == DeclKind::Dense && d.stmt == i)
                                && let Some(Sym::Param(p)) = d.sym
                            {
                                d.shape = params.get(p).and_then(|pb| pb.shape);
                            }
                        }
                        while lets.len() <= l {
                            lets.push(None);
                        }
                        if let (Some(slot), Some(t)) = (lets.get_mut(l), typed) {
                            *slot = Some(model::Let {
                                name: name.text.clone(),
                                value: t.e,
                            });
                        }
                    }
                }
                _ => {}
            }
        }

        // Pass 3: `output` and `loss`, which may name anything in the net.
        let mut output: Option<Sym> = None;
        let mut outputs = 0usize;
        let mut loss: Option<model::Expr> = None;
        let mut losses = 0usize;
        let mut loss_uses = BTreeSet::new();
        let mut loss_failed = false;
        for stmt in &net.stmts {
            match &stmt.kind {
                StmtKind::Output(name) => {
                    outputs += 1;
                    // Rejects: `output y; output z;`.
                    if outputs > 1 {
                        cx.error(&stmt.span, "a second `output`: a net has exactly one");
                        continue;
                    }
                    match decls.by_name.get(&name.text) {
                        Some(d) => output = d.sym,
                        None => {
                            // Rejects: `output yy;` when only `y` exists.
                            unresolved = true;
                            cx.error(
                                &name.span,
                                format!(
                                    "unknown name `{}` in `output`{}",
                                    name.text,
                                    did_you_mean(
                                        &name.text,
                                        decls.order.iter().map(String::as_str)
                                    )
                                ),
                            );
                        }
                    }
                }
                StmtKind::Loss(value) => {
                    losses += 1;
                    // Rejects: `loss mse(y, t); loss bce(y, t);`.
                    if losses > 1 {
                        cx.error(
                            &stmt.span,
                            "a second `loss`: a net has exactly one; add the terms into one `loss`",
                        );
                        continue;
                    }
                    let mut ec = ExprChecker::new(cx, &fns, &decls, Mode::Anywhere);
                    let typed = ec.expr(value);
                    size = size.saturating_add(ec.size);
                    for (p, f) in std::mem::take(&mut ec.fans) {
                        fans.entry(p).or_insert(f);
                    }
                    unresolved |= ec.unresolved;
                    loss_uses = std::mem::take(&mut ec.uses);
                    match typed {
                        // Training minimises one number. Rejects: `loss y - t;` with
                        // `y: [2]`.
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
                        Some(t) => loss = Some(t.e),
                        None => loss_failed = true,
                    }
                }
                StmtKind::Broken {
                    keyword: Some(k), ..
                } if k == "output" => outputs += 1,
                StmtKind::Broken {
                    keyword: Some(k), ..
                } if k == "loss" => {
                    losses += 1;
                    loss_failed = true;
                }
                _ => {}
            }
        }

        // A statement that did not parse may have swallowed the next ones (a missing `;`)
        // and may use any name, so counts and reachability would be guesses.
        let broken = net
            .stmts
            .iter()
            .any(|s| matches!(s.kind, StmtKind::Broken { .. }));

        // The generated API needs one input, one output and one loss.
        // Rejects: a net without `input`, without `output`, or without `loss`.
        let missing = |what: &str, example: &str| {
            cx.error(
                &net.name.span,
                format!(
                    "net `{}` has no `{what}`; add one, like `{example}`",
                    net.name.text
                ),
            );
        };
        if inputs == 0 && !broken {
            missing("input", "input x: [2];");
        }
        if outputs == 0 && !broken {
            missing("output", "output y;");
        }
        if losses == 0 && !broken {
            missing("loss", "loss mse(y, t);");
        }

        // A parameter the loss does not depend on gets a zero gradient forever: surely a
        // mistake. Only judged when every expression checked, since a misspelt name or an
        // expression abandoned halfway would make a used parameter look unused.
        // Rejects: `param w3: [2];` used nowhere.
        let exprs_ok = cx.count() == before_exprs && !unresolved && !loss_failed;
        if exprs_ok && !broken && losses == 1 {
            let mut reached = BTreeSet::new();
            let mut stack: Vec<Sym> = loss_uses.into_iter().collect();
            while let Some(s) = stack.pop() {
                if !reached.insert(s) {
                    continue;
                }
                if let Sym::Let(l) = s {
                    stack.extend(let_uses.get(&l).into_iter().flatten().copied());
                }
            }
            let mut blamed_dense = BTreeSet::new();
            for (i, p) in params.iter().enumerate() {
                if reached.contains(&Sym::Param(i)) {
                    continue;
                }
                match &p.dense_of {
                    Some(l) => {
                        // A layer whose `let` failed (reported) says nothing about its
                        // parameters.
                        let let_ok = decls
                            .by_name
                            .get(&p.name)
                            .zip(decls.by_name.get(l))
                            .is_some_and(|(pd, ld)| {
                                pd.stmt == ld.stmt
                                    && ld.kind == DeclKind::Let
                                    && ld.shape.is_some()
                            });
                        if let_ok && blamed_dense.insert(l.clone()) {
                            cx.error(
                                &p.span,
                                format!(
                                    "the `dense` layer `{l}` does not affect the loss, so its parameters `{l}_w` and `{l}_b` would never be trained; use `{l}` on the way to the loss or remove it"
                                ),
                            );
                        }
                    }
                    None => cx.error(
                        &p.span,
                        format!(
                            "parameter `{}` does not affect the loss, so it would never be trained; use it on the way to the loss or remove it",
                            p.name
                        ),
                    ),
                }
            }
        }

        // The generated code is unrolled over every scalar, so its size is bounded before
        // anything proportional to it is done. Rejects: `param w: [4096, 4096];` by
        // default.
        let param_size = params
            .iter()
            .filter_map(|p| p.shape)
            .fold(0u64, |acc, s| acc.saturating_add(s.elems()));
        let total = param_size.saturating_add(size);
        if total == u64::MAX || usize::try_from(total).is_err() {
            cx.error(
                &net.name.span,
                format!(
                    "net `{}` is too large to generate: its size (parameters plus every intermediate value) overflows; shrink its shapes",
                    net.name.text
                ),
            );
        } else if total > settings.max_size {
            cx.error(
                &net.name.span,
                format!(
                    "net `{}` is too large to generate: its size is {total} scalars (parameters plus every intermediate value), above the limit of {}; shrink the net, or raise the limit with `#[chainrule(max_size = {total})]` on the net",
                    net.name.text, settings.max_size
                ),
            );
        }

        if cx.count() > before || !fns_ok {
            return None;
        }
        let (input_name, input_sh) = input?;
        let params = params
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let sh = p.shape?;
                let (fan_in, fan_out) = match (sh, fans.get(&i)) {
                    (Sh::M(..), Some(&(fi, fo))) => (fi, fo),
                    (Sh::M(r, c), None) => (c, r),
                    (Sh::V(n), _) => (n, n),
                    (Sh::S, _) => (1, 1),
                };
                let u = |d: u64| usize::try_from(d).ok();
                Some(model::Param {
                    name: p.name,
                    shape: sh.model(),
                    init: p.init?,
                    fan_in: u(fan_in)?,
                    fan_out: u(fan_out)?,
                    docs: p.docs,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(model::Net {
            attrs: passthrough_attrs(&net.attrs, self.src),
            vis: net
                .vis
                .as_ref()
                .map(|v| self.src.tokens_in(v))
                .unwrap_or_default(),
            name: self.src.ident_at(&net.name.span)?,
            scalar: settings.scalar,
            unroll: settings.unroll,
            input: model::Var {
                name: input_name,
                shape: input_sh.model(),
            },
            target: target.map(|(name, sh)| model::Var {
                name,
                shape: sh.model(),
            }),
            params,
            lets: lets.into_iter().collect::<Option<Vec<_>>>()?,
            output: output?,
            loss: loss?,
            fns: fns.into_iter().map(|f| f.def).collect::<Option<Vec<_>>>()?,
        })
    }

    /// Declares a name; false if it was already taken (reported).
    /// Names are unique within a net: each is a struct field or a variable of the
    /// generated code. Rejects: `param w: [2]; let w = x;`, and `let h = dense(x, 2);`
    /// after `param h_w: [2, 2];`.
    fn declare(
        &self,
        decls: &mut Decls,
        name: &ast::Name,
        kind: DeclKind,
        stmt: usize,
        sym: Option<Sym>,
        dense_let: Option<&str>,
    ) -> bool {
        // A keyword name is reported, then declared without a symbol, so its uses are
        // not reported again.
        let sym = if kind != DeclKind::Dense && !check_not_keyword(self.cx, name) {
            None
        } else {
            sym
        };
        if let Some(prev) = decls.by_name.get(&name.text) {
            let msg = match (kind, &prev.kind) {
                (DeclKind::Dense, _) => format!(
                    "`dense` in `let {}` declares the parameter `{}`, but `{}` is already defined (as {} above); rename one of them",
                    dense_let.unwrap_or("?"),
                    name.text,
                    name.text,
                    prev.describe()
                ),
                _ => format!(
                    "`{}` is already defined (as {} above); names must be unique within a net",
                    name.text,
                    prev.describe()
                ),
            };
            self.cx.error(&name.span, msg);
            return false;
        }
        decls.order.push(name.text.clone());
        decls.by_name.insert(
            name.text.clone(),
            Decl {
                kind,
                stmt,
                sym,
                shape: None,
                dense_let: dense_let.map(str::to_string),
            },
        );
        sym.is_some()
    }

    /// Expands `let h = dense(x, n, act);` into `param h_w: [n, len(x)] = xavier;`,
    /// `param h_b: [n];` and `let h = act(h_w @ x + h_b);`.
    /// Rejects: `dense(m, 4)` with a matrix `m`, `dense(x, 0)`, `dense(x, n)` with a name
    /// `n`, `dense(x, 4, max)` (two arguments), `dense(x, 4, softmax)` (not elementwise).
    fn dense(
        &self,
        ec: &mut ExprChecker,
        call: &ast::Expr,
        name: &ast::Name,
        args: &[ast::Expr],
        params: &mut [ParamBuild],
    ) -> Option<Typed> {
        let cx = self.cx;
        if !ec.arity(call, "dense", args, &[2, 3]) {
            return None;
        }
        let x_ast = args.first()?;
        // A layer maps a vector to a vector; a matrix input would need a batch axis.
        let x = ec.expr(x_ast).and_then(|x| match x.sh {
            Sh::V(len) => Some((x, len)),
            sh => {
                cx.error(
                    &x_ast.span,
                    format!("`dense` takes a vector input, but {} is {sh}", show(x_ast)),
                );
                None
            }
        });
        let n = match args.get(1).map(|a| &a.kind) {
            Some(AstKind::Num(n)) => match integer(cx, n, "the size of a `dense` layer") {
                Some(0) => {
                    cx.error(&n.span, "a `dense` layer needs at least one output");
                    None
                }
                v => v,
            },
            _ => {
                let s = args.get(1).map_or(call.span.clone(), |a| a.span.clone());
                cx.error(&s, "the size of a `dense` layer must be a positive integer literal, like `dense(x, 16)`");
                None
            }
        };
        let act = match args.get(2) {
            None => Some(None),
            Some(a) => activation(cx, ec.fns, a).map(Some),
        };
        let ((x, len), n, act) = (x?, n?, act?);
        let w_sym = ec
            .decls
            .by_name
            .get(&format!("{}_w", name.text))
            .filter(|d| d.kind == DeclKind::Dense)
            .and_then(|d| d.sym);
        let b_sym = ec
            .decls
            .by_name
            .get(&format!("{}_b", name.text))
            .filter(|d| d.kind == DeclKind::Dense)
            .and_then(|d| d.sym);
        let (Some(Sym::Param(wi)), Some(Sym::Param(bi))) = (w_sym, b_sym) else {
            // A name clash was reported when the parameters were declared.
            return None;
        };
        let (w_sh, b_sh) = (Sh::M(n, len), Sh::V(n));
        if let Some(p) = params.get_mut(wi) {
            p.shape = Some(w_sh);
        }
        if let Some(p) = params.get_mut(bi) {
            p.shape = Some(b_sh);
        }
        ec.uses.insert(Sym::Param(wi));
        ec.uses.insert(Sym::Param(bi));
        let w = ec.node(ExprKind::Sym(Sym::Param(wi)), w_sh);
        ec.note_fans(&w.e, &x.e);
        let wx = ec.node(
            ExprKind::Binary(BinOp::MatMul, Box::new(w.e), Box::new(x.e)),
            b_sh,
        );
        let b = ec.node(ExprKind::Sym(Sym::Param(bi)), b_sh);
        let z = ec.node(
            ExprKind::Binary(BinOp::Add, Box::new(wx.e), Box::new(b.e)),
            b_sh,
        );
        Some(match act {
            None => z,
            Some(f) => ec.node(ExprKind::Call(f, vec![z.e]), b_sh),
        })
    }
}

/// The arguments of a `let`'s value if it is a `dense(...)` call.
fn dense_args(value: &ast::Expr) -> Option<&[ast::Expr]> {
    match &value.kind {
        AstKind::Call(f, args) if f.text == "dense" => Some(args),
        _ => None,
    }
}

/// A `dense` activation: a name of an elementwise one-argument function.
fn activation(cx: &Ctxt, fns: &[FnEntry], a: &ast::Expr) -> Option<Func> {
    let AstKind::Name(f) = &a.kind else {
        cx.error(
            &a.span,
            "the activation of `dense` must be the name of an elementwise function, like `tanh`",
        );
        return None;
    };
    match builtin(f) {
        Some(Builtin::Table(id)) if id.function().params.iter().all(|p| p.default.is_some()) => {
            return Some(Func::Elem(ops::Applied::named(f)));
        }
        Some(Builtin::Table(_)) => {
            cx.error(
                &a.span,
                format!("`{f}` needs parameters, so it cannot be the activation of `dense`; apply it in its own `let`"),
            );
            return None;
        }
        Some(Builtin::Elem(_, _)) => {
            cx.error(
                &a.span,
                format!("`{f}` takes two arguments, so it cannot be the activation of `dense`"),
            );
            return None;
        }
        Some(_) => {
            cx.error(
                &a.span,
                format!(
                    "`{f}` is not elementwise, so it cannot be the activation of `dense`; apply it in its own `let`, like `let z = dense(x, 3); let y = {f}(z);`"
                ),
            );
            return None;
        }
        None => {}
    }
    match fns.iter().position(|u| &u.name == f) {
        Some(i) if fns.get(i).is_some_and(|u| u.params.len() == 1) => Some(Func::User(i)),
        Some(i) if fns.get(i).is_some_and(|u| u.broken) => None,
        Some(_) => {
            cx.error(
                &a.span,
                format!("`{f}` does not take exactly one argument, so it cannot be the activation of `dense`"),
            );
            None
        }
        None => {
            let hint = alias(f).map(|h| format!("; {h}")).unwrap_or_else(|| {
                let names = builtin_names().chain(fns.iter().map(|u| u.name.as_str()));
                did_you_mean(f, names)
            });
            cx.error(&a.span, format!("unknown function `{f}`{hint}"));
            None
        }
    }
}
