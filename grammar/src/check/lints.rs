//! Mistakes in a net that types: a parameter the loss does not depend on, an output that
//! depends on the target.

use std::collections::BTreeSet;

use crate::diag::Ctxt;
use crate::model::Sym;

use super::dense::param_names;
use super::expr::Checked;
use super::scope::{DeclKind, Scope};

/// A parameter the loss does not depend on gets a zero gradient forever: surely a
/// mistake. Only judged when `complete` (every initialiser and expression checked), since
/// a misspelt name or an expression abandoned halfway would make a used parameter look
/// unused. Rejects: `param w3: [2];` used nowhere.
pub(super) fn unused_params(cx: &Ctxt, scope: &Scope, checked: &Checked, complete: bool) {
    if !complete || scope.broken || scope.losses != 1 {
        return;
    }
    let mut reached = BTreeSet::new();
    // A `let` that could not be declared (reported) still used what it names.
    let mut stack: Vec<Sym> = (checked.loss_uses.iter())
        .chain(&checked.orphan_uses)
        .copied()
        .collect();
    while let Some(s) = stack.pop() {
        if !reached.insert(s) {
            continue;
        }
        match s {
            Sym::Let(l) => stack.extend(checked.let_uses.get(&l).into_iter().flatten().copied()),
            Sym::State(st) => {
                stack.extend(checked.state_uses.get(&st).into_iter().flatten().copied())
            }
            _ => {}
        }
    }
    let mut blamed_layers = BTreeSet::new();
    for (i, p) in scope.params.iter().enumerate() {
        let Some(pd) = scope.decls.by_name.get(&p.name) else {
            continue;
        };
        if reached.contains(&Sym::Param(i)) {
            continue;
        }
        match &pd.layer {
            Some((l, layer)) => {
                // A layer whose `let` failed (reported) says nothing about its
                // parameters.
                let let_ok = scope.decls.by_name.get(l).is_some_and(|ld| {
                    pd.at == ld.at && ld.kind == DeclKind::Let && ld.shape.is_some()
                });
                if let_ok && blamed_layers.insert(l.clone()) {
                    let names: Vec<String> = if *layer == "dense" {
                        param_names(l).to_vec()
                    } else {
                        super::recurrent::param_names(l).to_vec()
                    };
                    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                    cx.error(
                        &pd.span,
                        format!(
                            "the `{layer}` layer `{l}` does not affect the loss, so its parameters {} would never be trained; use `{l}` on the way to the loss or remove it",
                            and_list(&list)
                        ),
                    );
                }
            }
            None => cx.error(
                &pd.span,
                format!(
                    "parameter `{}` does not affect the loss, so it would never be trained; use it on the way to the loss or remove it",
                    p.name
                ),
            ),
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `forward(&self, x)` takes the input only, so the output cannot depend on the target.
/// Reported at the use of the target the output depends on: the `output` itself, or the
/// first `let` on the way that names the target (directly or as a `fn`'s argument).
/// Rejects: `output t;`, `let y = w * x + t; output y;`, `let y = f(t); output y;`.
pub(super) fn output_without_target(cx: &Ctxt, scope: &Scope, checked: &Checked) {
    let (Some(output), Some(name)) = (checked.output, &checked.output_name) else {
        return;
    };
    // A `let` that reuses the target's name (reported) makes its uses name the target.
    if (scope.target.as_ref()).is_some_and(|t| checked.orphan_names.contains(t)) {
        return;
    }
    let advice = "compute the output from the input and the parameters only, and compare it with the target in the `loss` (like `loss mse(y, t);`)";
    if output == Sym::Target {
        cx.error(
            &name.span,
            format!(
                "`output {0}` names the target, but `forward(&self, x)` has no target; {advice}",
                name.text
            ),
        );
        return;
    }
    // The `let`s the output depends on, and the one of them nearest the input (lowest
    // index) that names the target.
    let mut seen = BTreeSet::new();
    let mut stack = vec![output];
    let mut culprit: Option<usize> = None;
    while let Some(s) = stack.pop() {
        let Sym::Let(l) = s else { continue };
        if !seen.insert(l) {
            continue;
        }
        if checked.let_target_uses.contains_key(&l) && culprit.is_none_or(|c| l < c) {
            culprit = Some(l);
        }
        stack.extend(checked.let_uses.get(&l).into_iter().flatten().copied());
    }
    let Some(span) = culprit.and_then(|l| checked.let_target_uses.get(&l)) else {
        return;
    };
    cx.error(
        span,
        format!(
            "the output `{}` depends on the target here, but `forward(&self, x)` has no target; {advice}",
            name.text
        ),
    );
}
