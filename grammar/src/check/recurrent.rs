//! Recurrent layers, desugared once, before anything is declared or typed, as `dense` is.
//!
//! `let h = gru(xs, H);` becomes what a user could have written by hand: PyTorch's
//! parameters under PyTorch's names, a hidden state that starts at zeros, and a `for`
//! loop whose body is PyTorch's equations, written below in the language itself:
//!
//! ```text
//! let `h input` = xs;                          // hidden, as dense's input
//! param h_weight_ih: [3H, n] = uniform(-k, k); // k = 1/√H, PyTorch's initialisation
//! param h_weight_hh: [3H, H] = uniform(-k, k);
//! param h_bias_ih: [3H] = uniform(-k, k);
//! param h_bias_hh: [3H] = uniform(-k, k);
//! state `h h`: [H];                            // hidden, zeros before the first step
//! let h = for `h x` in `h input` { .. };       // the hidden states, one row per step
//! ```
//!
//! The weights stack the gates in PyTorch's order (`r, z, n` for `gru`, `i, f, g, o` for
//! `lstm`), so the tensors of an `nn.GRU` or `nn.LSTM` state dict (`weight_ih_l0`, ...)
//! are the layer's parameters one to one.

use std::borrow::Cow;

use crate::ast::{self, BodyStmt, ExprKind as AstKind, ForLoop, Span};
use crate::diag::Ctxt;
use crate::model::Init;

use super::dense::{Kind, ParamInit, ParamShape, activation, layer_size};
use super::expr::Sh;
use super::fns::{FnEntry, arity_message};

/// The recurrent cells with a shorthand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cell {
    /// `rnn(xs, H)` or `rnn(xs, H, act)`: `h' = act(W_ih x + b_ih + W_hh h + b_hh)`.
    Rnn,
    /// `gru(xs, H)`.
    Gru,
    /// `lstm(xs, H)`.
    Lstm,
}

impl Cell {
    fn name(self) -> &'static str {
        match self {
            Cell::Rnn => "rnn",
            Cell::Gru => "gru",
            Cell::Lstm => "lstm",
        }
    }

    /// Gates stacked in each weight: the rows of `weight_ih` are `gates × H`.
    fn gates(self) -> u64 {
        match self {
            Cell::Rnn => 1,
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }

    /// The argument counts the call takes.
    fn arities(self) -> &'static [usize] {
        match self {
            Cell::Rnn => &[2, 3],
            Cell::Gru | Cell::Lstm => &[2],
        }
    }

    /// The loop's text over placeholder names (renamed in [`rename`]): `x`, `xs`, `w_ih`,
    /// `w_hh`, `b_ih`, `b_hh`, the states `h` and `c`, and body `let`s; PyTorch's equations.
    fn equations(self, h: u64, act: &str) -> String {
        let (h2, h3, h4) = (2 * h, 3 * h, 4 * h);
        match self {
            Cell::Rnn => {
                format!("for x in xs {{ h = {act}(w_ih @ x + b_ih + w_hh @ h + b_hh); h }}")
            }
            Cell::Gru => format!(
                "for x in xs {{
                    let gi = w_ih @ x + b_ih;
                    let gh = w_hh @ h + b_hh;
                    let r = sigmoid(gi[0..{h}] + gh[0..{h}]);
                    let z = sigmoid(gi[{h}..{h2}] + gh[{h}..{h2}]);
                    let n = tanh(gi[{h2}..{h3}] + r * gh[{h2}..{h3}]);
                    h = (1 - z) * n + z * h;
                    h
                }}"
            ),
            Cell::Lstm => format!(
                "for x in xs {{
                    let g = w_ih @ x + b_ih + w_hh @ h + b_hh;
                    let i = sigmoid(g[0..{h}]);
                    let f = sigmoid(g[{h}..{h2}]);
                    let u = tanh(g[{h2}..{h3}]);
                    let o = sigmoid(g[{h3}..{h4}]);
                    c = f * c + i * u;
                    h = o * tanh(c);
                    h
                }}"
            ),
        }
    }
}

/// The names `let h = gru(..)` declares for its parameters, PyTorch's with the `let`'s
/// name in front: `h_weight_ih`, `h_weight_hh`, `h_bias_ih`, `h_bias_hh`.
pub(super) fn param_names(layer: &str) -> [String; 4] {
    ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map(|p| format!("{layer}_{p}"))
}

/// The cell and arguments of a `let`'s value if it is a call of a recurrent layer.
pub(super) fn layer_call(value: &ast::Expr) -> Option<(Cell, &[ast::Expr])> {
    let AstKind::Call(f, args) = &value.kind else {
        return None;
    };
    let cell = match f.text.as_str() {
        "rnn" => Cell::Rnn,
        "gru" => Cell::Gru,
        "lstm" => Cell::Lstm,
        _ => return None,
    };
    Some((cell, args))
}

/// The statements `let h = gru(xs, H);` stands for (see the module doc). A refused size
/// or activation leaves the parameters' shapes or the loop unknown; the input is still
/// typed for its own errors. Rejects: `gru(xs)`, `gru(xs, 0)`, `rnn(xs, 4, softmax)`.
pub(super) fn layer<'a>(
    cx: &Ctxt,
    fns: &[FnEntry],
    call: &'a ast::Expr,
    name: &'a ast::Name,
    cell: Cell,
    args: &'a [ast::Expr],
) -> Vec<Kind<'a>> {
    let hidden_name = |what: &str| ast::Name {
        text: format!("{} {what}", name.text),
        span: name.span.clone(),
    };
    let hidden = |what: &str, value: &'a ast::Expr| Kind::Let {
        name: Cow::Owned(hidden_name(what)),
        value: Some(Cow::Borrowed(value)),
        hidden: true,
        params: Vec::new(),
    };
    let names = param_names(&name.text);
    let input = hidden_name("input").text;
    let param = |text: &str, shape: ParamShape<'a>, bound: Option<f64>| Kind::Param {
        name: Cow::Owned(ast::Name {
            text: text.to_string(),
            span: name.span.clone(),
        }),
        shape,
        // PyTorch's: every weight and bias uniform on ±1/√H.
        init: ParamInit::Layer(bound.map_or(Init::Zeros, |k| Init::Uniform(-k, k))),
        attrs: &[],
        layer: Some((name, cell.name())),
        tensor: None,
    };
    let state = |what: &str, h: Option<u64>| Kind::State {
        name: Cow::Owned(hidden_name(what)),
        shape: ParamShape::Known(h.map(Sh::V)),
        init: None,
    };
    let states: &[&str] = if cell == Cell::Lstm {
        &["h", "c"]
    } else {
        &["h"]
    };
    let xs = match (
        arity_message(cell.name(), args.len(), cell.arities()),
        args.first(),
    ) {
        (None, Some(xs)) => xs,
        (message, _) => {
            cx.error(&call.span, message.unwrap_or_default());
            // The sequence is still checked for its own errors; the others are a size and
            // an activation's name, which are no values to check.
            let mut out: Vec<Kind> = (args.iter().take(1).enumerate())
                .map(|(k, a)| hidden(&format!("argument {k}"), a))
                .collect();
            out.extend(
                names
                    .iter()
                    .map(|p| param(p, ParamShape::Known(None), None)),
            );
            out.extend(states.iter().map(|s| state(s, None)));
            out.push(Kind::LetFor {
                name: Cow::Borrowed(name),
                for_loop: None,
                standalone: false,
                params: names.to_vec(),
            });
            return out;
        }
    };
    let h = layer_size(cx, cell.name(), call, args.get(1));
    let act = match args.get(2) {
        None => Some("tanh".to_string()),
        Some(a) => activation(cx, fns, a, cell.name()),
    };
    let rows = h.map(|h| h * cell.gates());
    let bound = h.map(|h| 1.0 / (h as f64).sqrt());
    let for_loop = match (h, &act) {
        (Some(h), Some(act)) => body(cx, cell, h, act, &call.span, name, &names),
        _ => None,
    };
    let mut out = vec![
        hidden("input", xs),
        param(
            &names[0],
            ParamShape::Weight {
                rows,
                input,
                x: xs,
                sequence: true,
            },
            bound,
        ),
        param(
            &names[1],
            ParamShape::Known(rows.zip(h).map(|(r, h)| Sh::M(r, h))),
            bound,
        ),
        param(&names[2], ParamShape::Known(rows.map(Sh::V)), bound),
        param(&names[3], ParamShape::Known(rows.map(Sh::V)), bound),
    ];
    out.extend(states.iter().map(|s| state(s, h)));
    out.push(Kind::LetFor {
        name: Cow::Borrowed(name),
        for_loop: for_loop.map(|l| Cow::Owned(Box::new(l))),
        standalone: false,
        params: names.to_vec(),
    });
    out
}

/// The layer's loop: [`Cell::equations`] parsed by the language's own parser, its
/// placeholder names replaced by the layer's, every node at the call.
fn body(
    cx: &Ctxt,
    cell: Cell,
    h: u64,
    act: &str,
    span: &Span,
    name: &ast::Name,
    params: &[String; 4],
) -> Option<ForLoop> {
    let text = cell.equations(h, act);
    let mut l = match crate::parser::parse_for(&text) {
        Ok(l) => l,
        Err(messages) => {
            // The equations are the crate's own text; this would be its bug.
            cx.error(
                span,
                format!(
                    "internal error in `{}`'s equations: {}",
                    cell.name(),
                    messages.join("; ")
                ),
            );
            return None;
        }
    };
    let rename = |n: &str| -> String {
        match n {
            "w_ih" => params[0].clone(),
            "w_hh" => params[1].clone(),
            "b_ih" => params[2].clone(),
            "b_hh" => params[3].clone(),
            "xs" => format!("{} input", name.text),
            other => format!("{} {other}", name.text),
        }
    };
    respan(&mut l, span, &rename);
    Some(l)
}

/// Renames every name of a loop (not the functions it calls) and moves every node to
/// `span`.
fn respan(l: &mut ForLoop, span: &Span, rename: &dyn Fn(&str) -> String) {
    let name = |n: &mut ast::Name| {
        n.text = rename(&n.text);
        n.span = span.clone();
    };
    name(&mut l.var);
    l.span = span.clone();
    respan_expr(&mut l.seq, span, rename);
    for s in &mut l.body {
        match s {
            BodyStmt::Let(n, e) | BodyStmt::Assign(n, e) => {
                name(n);
                respan_expr(e, span, rename);
            }
        }
    }
    if let Some(o) = &mut l.output {
        respan_expr(o, span, rename);
    }
}

fn respan_expr(e: &mut ast::Expr, span: &Span, rename: &dyn Fn(&str) -> String) {
    crate::stack::deep(|| {
        e.span = span.clone();
        match &mut e.kind {
            AstKind::Name(n) => *n = rename(n),
            AstKind::Num(n) => n.span = span.clone(),
            AstKind::Neg(a) => respan_expr(a, span, rename),
            AstKind::Binary(_, a, b) => {
                respan_expr(a, span, rename);
                respan_expr(b, span, rename);
            }
            AstKind::Call(f, args) => {
                f.span = span.clone();
                for a in args {
                    respan_expr(a, span, rename);
                }
            }
            AstKind::Index(a, idx) => {
                respan_expr(a, span, rename);
                for n in idx {
                    n.span = span.clone();
                }
            }
            AstKind::Slice(a, range) => {
                respan_expr(a, span, rename);
                range.0.span = span.clone();
                range.1.span = span.clone();
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_s_equations_parse() {
        for cell in [Cell::Rnn, Cell::Gru, Cell::Lstm] {
            let l = crate::parser::parse_for(&cell.equations(5, "tanh"))
                .unwrap_or_else(|e| panic!("{}: {e:?}", cell.name()));
            assert_eq!(l.var.text, "x");
            assert!(l.output.is_some());
        }
    }
}
