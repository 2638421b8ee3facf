//! Number literals: what a literal means (by Rust's rules for suffixes and ranges),
//! integers where only integers make sense, and declared shapes.

use crate::ast::{self, ExprKind as AstKind, NumValue};
use crate::diag::Ctxt;

use super::expr::Sh;

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
pub(super) fn number(cx: &Ctxt, n: &ast::Number) -> Option<f64> {
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
pub(super) fn integer(cx: &Ctxt, n: &ast::Number, what: &str) -> Option<u64> {
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
pub(super) fn shape(cx: &Ctxt, s: &ast::ShapeDecl) -> Option<Sh> {
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
/// Whether `e` is a number literal, possibly negated.
pub(super) fn is_literal(e: &ast::Expr) -> bool {
    match &e.kind {
        AstKind::Num(_) => true,
        AstKind::Neg(inner) => matches!(inner.kind, AstKind::Num(_)),
        _ => false,
    }
}

/// A number literal, possibly negated (`0.2`, `-0.1`), as a value; `None` for anything
/// else (a bad literal is reported).
pub(super) fn literal(cx: &Ctxt, e: &ast::Expr) -> Option<f64> {
    match &e.kind {
        AstKind::Num(n) => number(cx, n),
        AstKind::Neg(inner) => match &inner.kind {
            AstKind::Num(n) => number(cx, n).map(|v| -v),
            _ => None,
        },
        _ => None,
    }
}
