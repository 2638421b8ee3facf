//! `dense` layers: `let h = dense(x, n, act);` as two parameters and a `let`.

use crate::ast::{self, ExprKind as AstKind};
use crate::diag::Ctxt;
use crate::model::{BinOp, ExprKind, Func, Sym};
use crate::ops;

use super::expr::{ExprChecker, Sh, Typed, show};
use super::fns::{Builtin, FnEntry, alias, builtin, builtin_names};
use super::literals::integer;
use super::scope::{DeclKind, did_you_mean};
use super::{NetChecker, ParamBuild};

impl NetChecker<'_> {
    /// Expands `let h = dense(x, n, act);` into `param h_w: [n, len(x)] = xavier;`,
    /// `param h_b: [n];` and `let h = act(h_w @ x + h_b);`.
    /// Rejects: `dense(m, 4)` with a matrix `m`, `dense(x, 0)`, `dense(x, n)` with a name
    /// `n`, `dense(x, 4, max)` (two arguments), `dense(x, 4, softmax)` (not elementwise).
    pub(super) fn dense(
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
pub(super) fn dense_args(value: &ast::Expr) -> Option<&[ast::Expr]> {
    match &value.kind {
        AstKind::Call(f, args) if f.text == "dense" => Some(args),
        _ => None,
    }
}

/// A `dense` activation: a name of an elementwise one-argument function.
pub(super) fn activation(cx: &Ctxt, fns: &[FnEntry], a: &ast::Expr) -> Option<Func> {
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
