//! `dense` layers, desugared once, before anything is declared or typed.
//!
//! `let h = dense(x, n, act);` becomes what a user could have written by hand:
//!
//! ```text
//! let `h input` = x;                // hidden: no identifier has a space; inlined where used
//! param h_w: [n, len(x)] = xavier;   // its columns are known once the hidden let is typed
//! param h_b: [n];
//! let h = act(h_w @ `h input` + h_b);
//! ```
//!
//! The hidden `let` types `x` once, where the user's `let` stands (so `x` cannot see the
//! layer's own names); the weight takes its columns from it; and the last `let` is an
//! ordinary expression that cannot fail. The statements after desugaring ([`Stmt`]) are
//! what every later pass reads.

use std::borrow::Cow;

use crate::ast::{self, ExprKind as AstKind, Span, StmtKind};
use crate::diag::Ctxt;
use crate::model::Init;

use super::expr::{Sh, show};
use super::fns::{Builtin, FnEntry, arity_message, builtin, unknown_function};
use super::literals::integer;
use super::recurrent;

/// A statement after desugaring.
pub(super) struct Stmt<'a> {
    /// The source statement it comes from; a layer's parts share their `let`'s.
    pub(super) at: usize,
    /// The whole source statement.
    pub(super) span: &'a Span,
    /// What it says.
    pub(super) kind: Kind<'a>,
}

/// The kinds of statement after desugaring: no `dense`, and no `fn` (checked before).
pub(super) enum Kind<'a> {
    Input(&'a ast::Name, &'a ast::ShapeDecl),
    Target(&'a ast::Name, &'a ast::ShapeDecl),
    Param {
        name: Cow<'a, ast::Name>,
        shape: ParamShape<'a>,
        init: ParamInit<'a>,
        /// Its attributes (doc comments); a layer's parameters have none.
        attrs: &'a [ast::Attr],
        /// The `let` whose layer declares it, and the layer (`dense`, `gru`, ...).
        layer: Option<(&'a ast::Name, &'static str)>,
        /// Its tensor name from `#[tensor("..")]`, and that attribute's span.
        tensor: Option<(String, Span)>,
    },
    Let {
        name: Cow<'a, ast::Name>,
        /// `None` when the layer it stands for was refused (reported).
        value: Option<Cow<'a, ast::Expr>>,
        /// A layer's binding of its input (or of its arguments, after a wrong count): not
        /// in the model, replaced by its value where it is used.
        hidden: bool,
        /// For a layer's `let`, its parameters' names: it is typed only once they are
        /// declared and shaped.
        params: Vec<String>,
    },
    /// `state h: [n] = init;`.
    State {
        name: Cow<'a, ast::Name>,
        shape: ParamShape<'a>,
        /// As written; `None` for zeros.
        init: Option<&'a ast::Init>,
    },
    /// `let ys = for x in xs { .. };`, or a loop standing alone.
    LetFor {
        name: Cow<'a, ast::Name>,
        /// `None` when the layer it stands for was refused (reported).
        for_loop: Option<Cow<'a, Box<ast::ForLoop>>>,
        /// A loop standing alone: its name is no user's.
        standalone: bool,
        /// For a recurrent layer's `let`, its parameters' names: it is typed only once
        /// they are declared and shaped.
        params: Vec<String>,
    },
    Output(&'a ast::Name),
    Loss(&'a ast::Expr),
    Broken {
        keyword: Option<&'a str>,
        name: Option<&'a ast::Name>,
    },
}

/// A parameter's shape as the statement gives it.
pub(super) enum ParamShape<'a> {
    /// As written: `param w: [2, 3];`.
    Declared(&'a ast::ShapeDecl),
    /// A layer's bias `[n]`; `None` when `n` was refused (reported).
    Known(Option<Sh>),
    /// A layer's weight: `rows` rows, and a column per element of the hidden `let`
    /// `input`, which binds the layer's input `x` (per element of its rows for a
    /// recurrent layer, whose input is a sequence).
    Weight {
        rows: Option<u64>,
        input: String,
        x: &'a ast::Expr,
        sequence: bool,
    },
}

/// A parameter's initialiser as the statement gives it.
pub(super) enum ParamInit<'a> {
    /// After `=`, or zeros when absent.
    Written(Option<&'a ast::Init>),
    /// A layer's: `xavier` for the weight, zeros for the bias.
    Layer(Init),
}

/// The names of the parameters `dense` declares for `let h`: `h_w` and `h_b`.
pub(super) fn param_names(layer: &str) -> [String; 2] {
    [format!("{layer}_w"), format!("{layer}_b")]
}

/// Whether a `let`'s value is a layer that declares parameters.
pub(super) fn declares_params(value: &ast::Expr) -> bool {
    dense_args(value).is_some() || recurrent::layer_call(value).is_some()
}

/// The net's statements with every `dense` layer expanded, in order.
pub(super) fn desugar<'a>(cx: &Ctxt, fns: &[FnEntry], net: &'a ast::Net) -> Vec<Stmt<'a>> {
    let mut out = Vec::new();
    for (at, s) in net.stmts.iter().enumerate() {
        let kinds = match &s.kind {
            StmtKind::Let(name, value) => match (dense_args(value), recurrent::layer_call(value)) {
                (Some(args), _) => layer(cx, fns, value, name, args),
                (_, Some((cell, args))) => recurrent::layer(cx, fns, value, name, cell, args),
                _ => vec![Kind::Let {
                    name: Cow::Borrowed(name),
                    value: Some(Cow::Borrowed(value)),
                    hidden: false,
                    params: Vec::new(),
                }],
            },
            StmtKind::LetFor(name, l) => vec![Kind::LetFor {
                name: Cow::Borrowed(name),
                for_loop: Some(Cow::Borrowed(l)),
                standalone: false,
                params: Vec::new(),
            }],
            StmtKind::For(l) => vec![Kind::LetFor {
                // No identifier has a space, so no user name equals this one.
                name: Cow::Owned(ast::Name {
                    text: format!("for {at}"),
                    span: l.span.clone(),
                }),
                for_loop: Some(Cow::Borrowed(l)),
                standalone: true,
                params: Vec::new(),
            }],
            StmtKind::State(name, shape, init) => vec![Kind::State {
                name: Cow::Borrowed(name),
                shape: ParamShape::Declared(shape),
                init: init.as_ref(),
            }],
            StmtKind::Input(name, shape) => vec![Kind::Input(name, shape)],
            StmtKind::Target(name, shape) => vec![Kind::Target(name, shape)],
            StmtKind::Param(name, shape, init) => vec![Kind::Param {
                name: Cow::Borrowed(name),
                shape: ParamShape::Declared(shape),
                init: ParamInit::Written(init.as_ref()),
                attrs: &s.attrs,
                layer: None,
                tensor: None,
            }],
            StmtKind::Output(name) => vec![Kind::Output(name)],
            StmtKind::Loss(value) => vec![Kind::Loss(value)],
            StmtKind::Fn(_) => Vec::new(),
            StmtKind::Broken { keyword, name } => vec![Kind::Broken {
                keyword: keyword.as_deref(),
                name: name.as_ref(),
            }],
        };
        let tensor = super::attrs::tensor_attr(&s.attrs).and_then(Result::ok);
        out.extend(kinds.into_iter().map(|mut kind| {
            if let Kind::Param {
                name,
                layer,
                tensor: t,
                ..
            } = &mut kind
                && let Some((written, span)) = &tensor
            {
                *t = Some((tensor_name(written, &name.text, *layer), span.clone()));
            }
            Stmt {
                at,
                span: &s.span,
                kind,
            }
        }));
    }
    out
}

/// A parameter's tensor name from its statement's `#[tensor("..")]`: the name itself on a
/// `param`; on a layer's `let`, the prefix followed by PyTorch's name of the parameter in
/// the matching module: `fc1.weight` and `fc1.bias` for `dense` (an `nn.Linear`),
/// `rnn.weight_ih_l0`, `rnn.weight_hh_l0`, `rnn.bias_ih_l0` and `rnn.bias_hh_l0` for
/// `rnn`, `gru` and `lstm` (one-layer `nn.RNN`, `nn.GRU`, `nn.LSTM`).
fn tensor_name(written: &str, param: &str, layer: Option<(&ast::Name, &str)>) -> String {
    let Some((name, cell)) = layer else {
        return written.to_string();
    };
    let own = param
        .strip_prefix(&format!("{}_", name.text))
        .unwrap_or(param);
    match (cell, own) {
        ("dense", "w") => format!("{written}.weight"),
        ("dense", "b") => format!("{written}.bias"),
        _ => format!("{written}.{own}_l0"),
    }
}

/// The arguments of a `let`'s value if it is a `dense(...)` call.
fn dense_args(value: &ast::Expr) -> Option<&[ast::Expr]> {
    match &value.kind {
        AstKind::Call(f, args) if f.text == "dense" => Some(args),
        _ => None,
    }
}

/// The statements `let h = dense(x, n, act);` stands for (see the module doc). A refused
/// size or activation leaves the parameters' shapes or the value unknown; the input is
/// still typed for its own errors. Rejects: `dense(x, 0)`, `dense(x, n)` with a name `n`,
/// `dense(x, 4, max)` (two arguments), `dense(x, 4, softmax)` (not elementwise), and
/// `dense(x)` (too few arguments).
fn layer<'a>(
    cx: &Ctxt,
    fns: &[FnEntry],
    call: &'a ast::Expr,
    name: &'a ast::Name,
    args: &'a [ast::Expr],
) -> Vec<Kind<'a>> {
    let hidden = |text: String, value: &'a ast::Expr| Kind::Let {
        name: Cow::Owned(ast::Name {
            text,
            span: name.span.clone(),
        }),
        value: Some(Cow::Borrowed(value)),
        hidden: true,
        params: Vec::new(),
    };
    let [w, b] = param_names(&name.text);
    let param = |text: &str, shape: ParamShape<'a>, init: Init| Kind::Param {
        name: Cow::Owned(ast::Name {
            text: text.to_string(),
            span: name.span.clone(),
        }),
        shape,
        init: ParamInit::Layer(init),
        attrs: &[],
        layer: Some((name, "dense")),
        tensor: None,
    };
    let user_let = |value: Option<ast::Expr>| Kind::Let {
        name: Cow::Borrowed(name),
        value: value.map(Cow::Owned),
        hidden: false,
        params: vec![w.clone(), b.clone()],
    };
    let x = match (arity_message("dense", args.len(), &[2, 3]), args.first()) {
        (None, Some(x)) => x,
        (message, _) => {
            cx.error(&call.span, message.unwrap_or_default());
            // Each argument is still checked for its own errors.
            let mut out: Vec<Kind> = (args.iter().enumerate())
                .map(|(k, a)| hidden(format!("{} argument {k}", name.text), a))
                .collect();
            out.push(param(&w, ParamShape::Known(None), Init::Xavier));
            out.push(param(&b, ParamShape::Known(None), Init::Zeros));
            out.push(user_let(None));
            return out;
        }
    };
    let rows = size(cx, call, args.get(1));
    let act = match args.get(2) {
        None => Some(None),
        Some(a) => activation(cx, fns, a, "dense").map(|f| Some((f, a.span.clone()))),
    };
    let input = format!("{} input", name.text);
    let value = match (rows, act) {
        (Some(_), Some(act)) => Some(affine(&call.span, &w, &input, &b, act)),
        _ => None,
    };
    vec![
        hidden(input.clone(), x),
        param(
            &w,
            ParamShape::Weight {
                rows,
                input: input.clone(),
                x,
                sequence: false,
            },
            Init::Xavier,
        ),
        param(&b, ParamShape::Known(rows.map(Sh::V)), Init::Zeros),
        user_let(value),
    ]
}

/// The size of a layer: a positive integer literal.
fn size(cx: &Ctxt, call: &ast::Expr, arg: Option<&ast::Expr>) -> Option<u64> {
    layer_size(cx, "dense", call, arg)
}

/// The size of a `layer` (`dense`, `gru`, ...): a positive integer literal.
pub(super) fn layer_size(
    cx: &Ctxt,
    layer: &str,
    call: &ast::Expr,
    arg: Option<&ast::Expr>,
) -> Option<u64> {
    match arg.map(|a| &a.kind) {
        Some(AstKind::Num(n)) => match integer(cx, n, &format!("the size of a `{layer}` layer")) {
            Some(0) => {
                cx.error(
                    &n.span,
                    format!("a `{layer}` layer needs at least one output"),
                );
                None
            }
            v => v,
        },
        _ => {
            let s = arg.map_or(call.span.clone(), |a| a.span.clone());
            cx.error(
                &s,
                format!(
                    "the size of a `{layer}` layer must be a positive integer literal, like `{layer}(x, 16)`"
                ),
            );
            None
        }
    }
}

/// `act(w @ input + b)`, or `w @ input + b` without an activation; every node stands at
/// the layer's call.
fn affine(span: &Span, w: &str, input: &str, b: &str, act: Option<(String, Span)>) -> ast::Expr {
    let node = |kind| ast::Expr {
        kind,
        span: span.clone(),
    };
    let name = |n: &str| node(AstKind::Name(n.to_string()));
    let product = node(AstKind::Binary(
        ast::BinOp::MatMul,
        Box::new(name(w)),
        Box::new(name(input)),
    ));
    let z = node(AstKind::Binary(
        ast::BinOp::Add,
        Box::new(product),
        Box::new(name(b)),
    ));
    match act {
        None => z,
        Some((text, span)) => node(AstKind::Call(ast::Name { text, span }, vec![z])),
    }
}

/// The weight's shape `[rows, len(x)]`, once the layer's input `x` is typed as `input`.
/// A `dense` layer maps a vector to a vector; a matrix input would need a batch axis. A
/// recurrent layer (`sequence`) maps a sequence `[steps, len]` to a sequence. Rejects:
/// `dense(m, 4)` with a matrix `m`, `gru(v, 4)` with a vector `v`.
pub(super) fn weight_shape(
    cx: &Ctxt,
    rows: Option<u64>,
    input: Option<Sh>,
    x: &ast::Expr,
    sequence: bool,
) -> Option<Sh> {
    match (input?, sequence) {
        (Sh::V(len), false) | (Sh::M(_, len), true) => Some(Sh::M(rows?, len)),
        (sh, false) => {
            cx.error(
                &x.span,
                format!("`dense` takes a vector input, but {} is {sh}", show(x)),
            );
            None
        }
        (sh, true) => {
            cx.error(
                &x.span,
                format!(
                    "a recurrent layer takes a sequence, a matrix `[steps, features]` with one row per step, but {} is {sh}",
                    show(x)
                ),
            );
            None
        }
    }
}

/// A layer's activation: the name of an elementwise one-argument function, returned to be
/// called by name.
pub(super) fn activation(cx: &Ctxt, fns: &[FnEntry], a: &ast::Expr, layer: &str) -> Option<String> {
    let AstKind::Name(f) = &a.kind else {
        cx.error(
            &a.span,
            format!("the activation of `{layer}` must be the name of an elementwise function, like `tanh`"),
        );
        return None;
    };
    match builtin(f) {
        Some(Builtin::Table(id)) if id.function().params.iter().all(|p| p.default.is_some()) => {
            return Some(f.clone());
        }
        Some(Builtin::Table(_)) => {
            cx.error(
                &a.span,
                format!("`{f}` needs parameters, so it cannot be the activation of `{layer}`; apply it in its own `let`"),
            );
            return None;
        }
        Some(Builtin::Elem(_, _)) => {
            cx.error(
                &a.span,
                format!("`{f}` takes two arguments, so it cannot be the activation of `{layer}`"),
            );
            return None;
        }
        Some(_) => {
            cx.error(
                &a.span,
                format!(
                    "`{f}` is not elementwise, so it cannot be the activation of `{layer}`; apply it in its own `let`, like `let z = dense(x, 3); let y = {f}(z);`"
                ),
            );
            return None;
        }
        None => {}
    }
    match fns.iter().find(|u| &u.name == f) {
        Some(u) if u.params.len() == 1 => Some(f.clone()),
        Some(u) if u.broken => None,
        Some(_) => {
            cx.error(
                &a.span,
                format!("`{f}` does not take exactly one argument, so it cannot be the activation of `{layer}`"),
            );
            None
        }
        None => {
            cx.error(&a.span, unknown_function(f, fns, None));
            None
        }
    }
}
