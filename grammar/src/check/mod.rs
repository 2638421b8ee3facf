//! AST → checked model ([`crate::model`]).
//!
//! Every rule of the language is checked here, each with a comment saying why it exists and
//! an example it rejects. Errors go to the shared [`Ctxt`] and checking carries on; an
//! expression whose shape cannot be known (after an error) is `None`, and nothing further
//! is reported about it, so one mistake is reported once.

mod attrs;
mod dense;
mod expr;
mod fns;
mod literals;
mod scope;

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::TokenStream;

use crate::ast::{self, AttrKind, Span, StmtKind};
use crate::diag::Ctxt;
use crate::model::{self, Init, Sym};
use crate::source::Source;

use attrs::{init, passthrough_attrs, settings, statement_attrs};
use dense::dense_args;
use expr::{ExprChecker, Mode, Sh, show};
use fns::{FnEntry, FnSource, check_fns};
use literals::shape;
use scope::{Decl, DeclKind, Decls, check_not_keyword, did_you_mean, is_rust_keyword};

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
}
