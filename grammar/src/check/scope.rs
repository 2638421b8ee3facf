//! Names: Rust keywords, "did you mean", what each name of a net declares, and how a
//! use resolves (above its `let`, not in its own definition, a `fn`'s parameters only).

use std::collections::BTreeMap;

use crate::ast::{self, Span};
use crate::diag::Ctxt;
use crate::model::{ExprKind, Sym};

use super::NetChecker;
use super::expr::{ExprChecker, Mode, Sh, Typed};
use super::fns::builtin;

// ---------------------------------------------------------------------------- names

/// Rust's strict and reserved keywords (2024 edition), plus `_`.
pub(super) const RUST_KEYWORDS: &[&str] = &[
    "_", "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait",
    "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final",
    "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

pub(super) fn is_rust_keyword(name: &str) -> bool {
    RUST_KEYWORDS.contains(&name)
}

/// Names become struct fields, variables and functions of the generated Rust, so a Rust
/// keyword cannot be one. Rejects: `param type: [2];`, `let fn = x;`, `net struct { .. }`.
pub(super) fn check_not_keyword(cx: &Ctxt, name: &ast::Name) -> bool {
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
pub(super) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
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

pub(super) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    closest(name, candidates).map_or(String::new(), |c| format!("; did you mean `{c}`?"))
}

// ---------------------------------------------------------------------------- expressions

/// What a name declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DeclKind {
    Input,
    Target,
    Param,
    Let,
    /// A parameter declared by `dense` in a `let` (`h_w`, `h_b`).
    Dense,
}

/// A name declared in a net.
#[derive(Clone, Debug)]
pub(super) struct Decl {
    pub(super) kind: DeclKind,
    /// The statement that declares it, for "used before its definition".
    pub(super) stmt: usize,
    /// `None` for a declaration that failed (already reported): uses of it are not errors
    /// but have no shape.
    pub(super) sym: Option<Sym>,
    /// Known once its statement is checked.
    pub(super) shape: Option<Sh>,
    /// For a `dense` parameter, the `let` that declares it.
    pub(super) dense_let: Option<String>,
}

impl Decl {
    pub(super) fn describe(&self) -> String {
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

    pub(super) fn keyword(&self) -> &'static str {
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
pub(super) struct Decls {
    pub(super) by_name: BTreeMap<String, Decl>,
    pub(super) order: Vec<String>,
}

impl ExprChecker<'_> {
    /// Resolves a name in the current mode.
    pub(super) fn name(&mut self, n: &str, span: &Span) -> Option<Typed> {
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
    pub(super) fn unknown_name(&self, n: &str, span: &Span) {
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
    pub(super) fn fn_param(
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
}

impl NetChecker<'_> {
    /// Declares a name; false if it was already taken (reported).
    /// Names are unique within a net: each is a struct field or a variable of the
    /// generated code. Rejects: `param w: [2]; let w = x;`, and `let h = dense(x, 2);`
    /// after `param h_w: [2, 2];`.
    pub(super) fn declare(
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
}
