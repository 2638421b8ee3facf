//! Mistakes in a net that types: a parameter the loss does not depend on.

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
    let mut stack: Vec<Sym> = checked.loss_uses.iter().copied().collect();
    while let Some(s) = stack.pop() {
        if !reached.insert(s) {
            continue;
        }
        if let Sym::Let(l) = s {
            stack.extend(checked.let_uses.get(&l).into_iter().flatten().copied());
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
        match &pd.dense_let {
            Some(l) => {
                // A layer whose `let` failed (reported) says nothing about its
                // parameters.
                let let_ok = scope.decls.by_name.get(l).is_some_and(|ld| {
                    pd.at == ld.at && ld.kind == DeclKind::Let && ld.shape.is_some()
                });
                if let_ok && blamed_layers.insert(l.clone()) {
                    let [w, b] = param_names(l);
                    cx.error(
                        &pd.span,
                        format!(
                            "the `dense` layer `{l}` does not affect the loss, so its parameters `{w}` and `{b}` would never be trained; use `{l}` on the way to the loss or remove it"
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
