//! Names: Rust keywords, "did you mean", the pass that declares every name of a net and
//! counts its statements, and how a use resolves (above its `let`, not in its own
//! definition, a `fn`'s parameters only).

use std::collections::BTreeMap;

use proc_macro2::TokenStream;

use crate::ast::{self, AttrKind, Span};
use crate::diag::Ctxt;
use crate::model::{self, ExprKind, Init, Sym};
use crate::source::Source;

use super::dense::{Kind, ParamShape, Stmt};
use super::expr::{ExprChecker, Mode, Sh, Typed};
use super::fns::builtin;
use super::literals::shape;

// ---------------------------------------------------------------------------- names

/// Rust's strict and reserved keywords (2024 edition), plus `_`.
const RUST_KEYWORDS: &[&str] = &[
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

// ---------------------------------------------------------------------------- declarations

/// What a name declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DeclKind {
    Input,
    Target,
    Param,
    Let,
    /// A parameter declared by a layer in a `let` (`h_w`, `h_b`, `h_weight_ih`, ...).
    Dense,
    /// A layer's binding of its input, which no user name can equal.
    Hidden,
    /// `state h: [n];`
    State,
}

/// A name declared in a net.
#[derive(Clone, Debug)]
pub(super) struct Decl {
    pub(super) kind: DeclKind,
    /// Its name where it is declared; a layer's parameters', their `let`'s name.
    pub(super) span: Span,
    /// The source statement that declares it, for "used before its definition".
    pub(super) at: usize,
    /// Its statement's position after desugaring, which orders the parts of a layer.
    pub(super) pos: usize,
    /// `None` for a declaration that failed (already reported): uses of it are not errors
    /// but have no shape.
    pub(super) sym: Option<Sym>,
    /// Known once its statement is checked.
    pub(super) shape: Option<Sh>,
    /// For a layer's parameter, the `let` that declares it and the layer (`dense`, ...).
    pub(super) layer: Option<(String, &'static str)>,
    /// For a hidden `let`, its typed value, which stands wherever it is used.
    pub(super) value: Option<model::Expr>,
    /// For a state, the position of the `for` loop that assigns it: inside that loop its
    /// uses are its current value, after it its final value.
    pub(super) owner: Option<usize>,
}

impl Decl {
    /// `name`, declared by the statement at `pos` (from source statement `at`), with no
    /// symbol or shape yet.
    fn new(kind: DeclKind, name: &ast::Name, at: usize, pos: usize) -> Decl {
        Decl {
            kind,
            span: name.span.clone(),
            at,
            pos,
            sym: None,
            shape: None,
            layer: None,
            value: None,
            owner: None,
        }
    }

    pub(super) fn describe(&self) -> String {
        match self.kind {
            DeclKind::Input => "the input".into(),
            DeclKind::Target => "the target".into(),
            DeclKind::Param => "a parameter".into(),
            DeclKind::Let | DeclKind::Hidden => "a `let`".into(),
            DeclKind::State => "a state".into(),
            DeclKind::Dense => {
                let (l, layer) = self.layer.clone().unwrap_or_default();
                format!("a parameter of `{layer}` in `let {l}`")
            }
        }
    }

    fn keyword(&self) -> &'static str {
        match self.kind {
            DeclKind::Input => "input",
            DeclKind::Target => "target",
            DeclKind::Param => "param",
            DeclKind::Let | DeclKind::Dense | DeclKind::Hidden => "let",
            DeclKind::State => "state",
        }
    }
}

/// Every name of a net, in declaration order.
#[derive(Debug, Default)]
pub(super) struct Decls {
    pub(super) by_name: BTreeMap<String, Decl>,
    /// The names users wrote, for "did you mean".
    pub(super) order: Vec<String>,
}

impl Decls {
    /// The declaration of `name` made by the statement at `pos`, if that one made it.
    pub(super) fn owned_mut(&mut self, name: &str, pos: usize) -> Option<&mut Decl> {
        self.by_name.get_mut(name).filter(|d| d.pos == pos)
    }

    /// The shape of `name`, if it is declared and its shape known.
    pub(super) fn shape(&self, name: &str) -> Option<Sh> {
        self.by_name.get(name).and_then(|d| d.shape)
    }
}

/// A parameter as declared: the model's fields but its shape, place and layer (in
/// [`Decls`]) and its fans.
pub(super) struct ParamDecl {
    pub(super) name: String,
    /// Its tensor name from `#[tensor("..")]`, and where that attribute is.
    pub(super) tensor: Option<(String, Span)>,
    /// Set by the initialiser pass; `None` if it failed.
    pub(super) init: Option<Init>,
    /// `#[doc = ...]` attributes written on the declaration.
    pub(super) docs: Vec<TokenStream>,
}

/// A state as declared; its shape is in [`Decls`].
pub(super) struct StateDecl {
    pub(super) name: String,
    /// Set by the typing pass; `None` if it failed or was not reached.
    pub(super) init: Option<model::StateInit>,
}

/// A net's declarations and what its statements count.
#[derive(Default)]
pub(super) struct Scope {
    pub(super) decls: Decls,
    /// Parameters in declaration order, a layer's where its `let` stands.
    pub(super) params: Vec<ParamDecl>,
    /// How many `let`s have a symbol.
    pub(super) lets: usize,
    /// States in declaration order (a recurrent layer's where its `let` stands).
    pub(super) states: Vec<StateDecl>,
    /// The names of the first `input` and `target`, if they were declared with a shape.
    pub(super) input: Option<String>,
    pub(super) target: Option<String>,
    /// How many `target` statements there are, broken ones included.
    pub(super) targets: usize,
    /// The positions of the `output` and the `loss` to type: the first of each.
    pub(super) output: Option<usize>,
    pub(super) loss: Option<usize>,
    /// How many `loss` statements there are, broken ones included.
    pub(super) losses: usize,
    /// Whether a statement did not parse: it may have swallowed the next ones (a missing
    /// `;`) and may use any name, so counts and reachability would be guesses.
    pub(super) broken: bool,
}

impl Scope {
    /// Declares a name; false if it was already taken (reported), or has no symbol.
    /// Names are unique within a net: each is a struct field or a variable of the
    /// generated code. Rejects: `param w: [2]; let w = x;`, and `let h = dense(x, 2);`
    /// after `param h_w: [2, 2];`.
    fn declare(&mut self, cx: &Ctxt, name: &ast::Name, mut decl: Decl) -> bool {
        // A keyword name is reported, then declared without a symbol, so its uses are
        // not reported again.
        if decl.kind != DeclKind::Dense && !check_not_keyword(cx, name) {
            decl.sym = None;
        }
        if let Some(prev) = self.decls.by_name.get(&name.text) {
            let msg = match &decl.layer {
                Some((l, layer)) => format!(
                    "`{layer}` in `let {l}` declares the parameter `{}`, but `{}` is already defined (as {} above); rename one of them",
                    name.text,
                    name.text,
                    prev.describe()
                ),
                None => format!(
                    "`{}` is already defined (as {} above); names must be unique within a net",
                    name.text,
                    prev.describe()
                ),
            };
            cx.error(&name.span, msg);
            return false;
        }
        let declared = decl.sym.is_some();
        self.decls.order.push(name.text.clone());
        self.decls.by_name.insert(name.text.clone(), decl);
        declared
    }
}

/// The declaring pass: every name in order, so that uses can tell "unknown" from "below";
/// declared shapes; and the statement counts the generated API needs.
pub(super) fn declare(cx: &Ctxt, src: &Source, net: &ast::Net, stmts: &[Stmt]) -> Scope {
    let mut scope = Scope::default();
    let (mut inputs, mut outputs) = (0usize, 0usize);
    for (pos, stmt) in stmts.iter().enumerate() {
        let at = stmt.at;
        match &stmt.kind {
            Kind::Input(name, s) | Kind::Target(name, s) => {
                let is_input = matches!(stmt.kind, Kind::Input(..));
                let (count, kind, sym, what) = if is_input {
                    (&mut inputs, DeclKind::Input, Sym::Input, "input")
                } else {
                    (&mut scope.targets, DeclKind::Target, Sym::Target, "target")
                };
                *count += 1;
                let first = *count == 1;
                let sh = shape(cx, s);
                // The generated methods take exactly one input and at most one
                // target. Rejects: `input a: [2]; input b: [2];`.
                if !first {
                    let slot = if is_input {
                        &scope.input
                    } else {
                        &scope.target
                    };
                    let prev = slot.as_ref().map_or(String::new(), |n| {
                        format!(", and `{n}` is already its {what}")
                    });
                    cx.error(
                        stmt.span,
                        format!(
                            "a second `{what}`: a net has {} one{prev}",
                            if is_input { "exactly" } else { "at most" }
                        ),
                    );
                }
                let decl = Decl {
                    sym: first.then_some(sym),
                    shape: sh,
                    ..Decl::new(kind, name, at, pos)
                };
                if scope.declare(cx, name, decl) && sh.is_some() {
                    let slot = if is_input {
                        &mut scope.input
                    } else {
                        &mut scope.target
                    };
                    *slot = Some(name.text.clone());
                }
            }
            Kind::Param {
                name,
                shape: declared_shape,
                attrs,
                layer,
                tensor,
                ..
            } => {
                let sh = match declared_shape {
                    ParamShape::Declared(s) => shape(cx, s),
                    ParamShape::Known(sh) => *sh,
                    // Known once the layer's input is typed.
                    ParamShape::Weight { .. } => None,
                };
                let index = scope.params.len();
                let kind = if layer.is_some() {
                    DeclKind::Dense
                } else {
                    DeclKind::Param
                };
                let decl = Decl {
                    sym: Some(Sym::Param(index)),
                    shape: sh,
                    layer: layer.map(|(l, layer)| (l.text.clone(), layer)),
                    ..Decl::new(kind, name, at, pos)
                };
                if scope.declare(cx, name, decl) {
                    scope.params.push(ParamDecl {
                        name: name.text.clone(),
                        tensor: tensor.clone(),
                        init: None,
                        docs: attrs
                            .iter()
                            .filter(|a| matches!(a.kind, AttrKind::Doc))
                            .map(|a| src.tokens_in(&a.span))
                            .collect(),
                    });
                }
            }
            Kind::State {
                name,
                shape: declared_shape,
                ..
            } => {
                let sh = match declared_shape {
                    ParamShape::Declared(s) => shape(cx, s),
                    ParamShape::Known(sh) => *sh,
                    ParamShape::Weight { .. } => None,
                };
                let decl = Decl {
                    sym: Some(Sym::State(scope.states.len())),
                    shape: sh,
                    ..Decl::new(DeclKind::State, name, at, pos)
                };
                if scope.declare(cx, name, decl) {
                    scope.states.push(StateDecl {
                        name: name.text.clone(),
                        init: None,
                    });
                }
            }
            Kind::LetFor { name, .. } => {
                let decl = Decl {
                    sym: Some(Sym::Let(scope.lets)),
                    ..Decl::new(DeclKind::Let, name, at, pos)
                };
                if scope.declare(cx, name, decl) {
                    scope.lets += 1;
                }
            }
            Kind::Let {
                name, hidden: true, ..
            } => {
                // A second layer of the same name also repeats this name; its `let` is
                // reported as a duplicate.
                (scope.decls.by_name.entry(name.text.clone()))
                    .or_insert_with(|| Decl::new(DeclKind::Hidden, name, at, pos));
            }
            Kind::Let { name, .. } => {
                let decl = Decl {
                    sym: Some(Sym::Let(scope.lets)),
                    ..Decl::new(DeclKind::Let, name, at, pos)
                };
                if scope.declare(cx, name, decl) {
                    scope.lets += 1;
                }
            }
            Kind::Output(_) => {
                outputs += 1;
                // Rejects: `output y; output z;`.
                if outputs > 1 {
                    cx.error(stmt.span, "a second `output`: a net has exactly one");
                } else {
                    scope.output = Some(pos);
                }
            }
            Kind::Loss(_) => {
                scope.losses += 1;
                // Rejects: `loss mse(y, t); loss bce(y, t);`.
                if scope.losses > 1 {
                    cx.error(
                        stmt.span,
                        "a second `loss`: a net has exactly one; add the terms into one `loss`",
                    );
                } else {
                    scope.loss = Some(pos);
                }
            }
            Kind::Broken { keyword, name } => {
                scope.broken = true;
                let kind = match *keyword {
                    Some("input") => {
                        inputs += 1;
                        DeclKind::Input
                    }
                    Some("target") => {
                        scope.targets += 1;
                        DeclKind::Target
                    }
                    Some("output") => {
                        outputs += 1;
                        continue;
                    }
                    Some("loss") => {
                        scope.losses += 1;
                        continue;
                    }
                    Some("param") => DeclKind::Param,
                    Some("state") => DeclKind::State,
                    Some("let") => DeclKind::Let,
                    _ => continue,
                };
                // Declared without a symbol: uses are neither unknown nor checked.
                if let Some(name) = name
                    && !scope.decls.by_name.contains_key(&name.text)
                {
                    scope.decls.order.push(name.text.clone());
                    (scope.decls.by_name).insert(name.text.clone(), Decl::new(kind, name, at, pos));
                }
            }
        }
    }

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
    if !scope.broken {
        if inputs == 0 {
            missing("input", "input x: [2];");
        }
        if outputs == 0 {
            missing("output", "output y;");
        }
        if scope.losses == 0 {
            missing("loss", "loss mse(y, t);");
        }
    }
    scope
}

impl ExprChecker<'_> {
    /// Resolves a name in the current mode.
    pub(super) fn name(&mut self, n: &str, span: &Span) -> Option<Typed> {
        let here = match self.mode {
            Mode::Fn { params, name } => return self.fn_param(n, span, params, name),
            Mode::Let { at, pos } => Some((at, pos)),
            Mode::Anywhere => None,
        };
        if let Some(found) = self.body_name(n) {
            return found;
        }
        let Some(d) = self.decls.by_name.get(n) else {
            self.unresolved = true;
            self.unknown_name(n, span);
            return None;
        };
        if let Some((at, pos)) = here {
            // A `let` is evaluated where it stands, so it can only see what is above it.
            // Rejects: `let h = h + 1;` and `let h = w @ x; param w: [2, 2];`.
            if d.at == at && d.pos >= pos {
                self.unresolved = true;
                self.cx
                    .error(span, format!("`{n}` is used in its own definition"));
                return None;
            }
            if d.at > at {
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
        if d.kind == DeclKind::State {
            let (owner, sym, sh) = (d.owner, d.sym, d.shape);
            if !self.state_use(n, span, owner) {
                return None;
            }
            let sym = sym?;
            self.uses.insert(sym);
            return Some(self.node(ExprKind::Sym(sym), sh?));
        }
        // A hidden `let` stands for its value, whose nodes were counted where it was typed.
        if let Some(value) = &d.value {
            return Some(Typed {
                e: value.clone(),
                sh: d.shape?,
            });
        }
        let sym = d.sym?;
        let sh = d.shape?;
        self.uses.insert(sym);
        if sym == Sym::Target && self.target_use.is_none() {
            self.target_use = Some(span.clone());
        }
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
                    (Mode::Let { at, pos }, Some(d)) => d.at < at || (d.at == at && d.pos < pos),
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
}
