//! AST → checked model (`crate::model`), as a list of passes.
//!
//! Every rule of the language is checked here, each with a comment saying why it exists and
//! an example it rejects. Errors go to the shared [`Ctxt`] and checking carries on; an
//! expression whose shape cannot be known (after an error) is `None`, and nothing further
//! is reported about it, so one mistake is reported once.
//!
//! The passes, in order; each is one function of its module:
//!
//! | pass | what it does |
//! | --- | --- |
//! | `fns::shared` | the invocation's shared `fn`s and their attributes, once for every net |
//! | `attrs::settings`, `attrs::net_attrs`, `attrs::doc_comments_only` | a net's attributes, its statements' |
//! | `fns::with_local` | the `fn`s the net sees, its own checked |
//! | `dense::desugar` | `dense` layers into plain `param`s and `let`s |
//! | `scope::declare` | every name declared, declared shapes, statement counts |
//! | `attrs::inits` | parameters' initialisers |
//! | `expr::type_check` | `let`s in order, then `output` and `loss`: every shape |
//! | `lints::unused_params` | parameters that cannot reach the loss |
//! | `lints::output_without_target` | an output that depends on the target |
//! | `size::within_limit` | the size limit |
//! | `build`, `stub_api` | the model of a net without errors, or its stub's API |

mod attrs;
mod dense;
mod expr;
mod fns;
mod lints;
mod literals;
mod loops;
mod recurrent;
mod scope;
mod size;
mod weights;

use std::collections::BTreeSet;

use crate::ast;
use crate::diag::Ctxt;
use crate::model;
use crate::source::Source;

use attrs::Settings;
use expr::Checked;
use fns::FnEntry;
use scope::Scope;

/// Checks every item of an invocation: nets that pass become [`model::Net`]s, nets that fail
/// become [`model::Stub`]s, and every problem is reported into `cx`.
pub fn check(file: &ast::File, src: &Source, cx: &Ctxt) -> (Vec<model::Net>, Vec<model::Stub>) {
    let before = cx.count();
    let shared = fns::shared(cx, file, src);
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
        match check_net(cx, src, &shared, net) {
            Ok(n) if shared_ok && cx.count() == errors_before => nets.push(n),
            checked => {
                // The stub keeps uses of the net type-checking; a duplicate or keyword
                // name would make the stub itself an error.
                if unique
                    && !scope::is_rust_keyword(&net.name.text)
                    && let Some(name) = src.ident_at(&net.name.span)
                {
                    stubs.push(model::Stub {
                        attrs: attrs::passthrough_attrs(&net.attrs, src),
                        vis: attrs::vis(net, src),
                        name,
                        api: match checked {
                            Ok(n) => api_of(&n),
                            Err(api) => api.map(|a| *a),
                        },
                        baked: net
                            .attrs
                            .iter()
                            .any(|a| matches!(a.kind, ast::AttrKind::Weights(_))),
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

/// Runs the passes over one net: its model if none reported an error, else the API its
/// stub can have, if known.
fn check_net(
    cx: &Ctxt,
    src: &Source,
    shared: &[FnEntry],
    net: &ast::Net,
) -> Result<model::Net, Option<Box<model::StubApi>>> {
    let before = cx.count();
    scope::check_not_keyword(cx, &net.name);
    let settings = attrs::settings(cx, &net.attrs);
    attrs::net_attrs(cx, &net.attrs, src);
    for stmt in &net.stmts {
        let declares_params = match &stmt.kind {
            ast::StmtKind::Param(..) => true,
            ast::StmtKind::Let(_, value) => dense::declares_params(value),
            _ => false,
        };
        attrs::doc_comments_only(cx, &stmt.attrs, "a statement", src, declares_params);
    }
    let fns = fns::with_local(cx, shared, net);
    let stmts = dense::desugar(cx, &fns, net);
    let mut scope = scope::declare(cx, src, net, &stmts);
    attrs::unique_tensor_names(cx, &scope);
    let before_values = cx.count();
    attrs::inits(cx, &stmts, &mut scope);
    let checked = expr::type_check(cx, &fns, &stmts, &mut scope);
    let complete = cx.count() == before_values && !checked.incomplete;
    lints::unused_params(cx, &scope, &checked, complete);
    lints::output_without_target(cx, &scope, &checked);
    let small = size::within_limit(cx, net, &settings, &scope, (checked.size, &checked.tapes));
    // A failed `fn` fails every net that sees it, even one that does not call it.
    if cx.count() > before || fns.iter().any(|f| f.def.is_none()) {
        // A stub of a net too large to generate would hold the very arrays it refused.
        return Err(stub_api(&settings, &stmts, &scope, &checked)
            .filter(|_| small)
            .map(Box::new));
    }
    let mut built = build(src, net, &settings, fns, scope, checked).ok_or(None)?;
    if let Some((path, span)) = &settings.weights {
        // A file that does not match is reported; the net then fails with its stub.
        built.weights = weights::bake(cx, path, span, &built);
    }
    Ok(built)
}

/// The API of a net that checked but fails with its invocation (a shared `fn` was
/// refused).
fn api_of(net: &model::Net) -> Option<model::StubApi> {
    let output = match net.output {
        model::Sym::Input => Some(net.input.shape),
        model::Sym::Target => net.target.as_ref().map(|t| t.shape),
        model::Sym::Param(i) => net.params.get(i).map(|p| p.shape),
        model::Sym::Let(l) => net.lets.get(l).map(|l| l.value.shape),
        model::Sym::State(s) => net.states.get(s).map(|s| s.shape),
        model::Sym::Row | model::Sym::Local(_) => None,
    };
    Some(model::StubApi {
        scalar: net.scalar,
        input: net.input.shape,
        target: net.target.as_ref().map(|t| t.shape),
        output: output?,
        params: (net.params.iter())
            .map(|p| (p.name.clone(), p.shape))
            .collect(),
        stream: loops::model_stream(net),
    })
}

/// The types of a failed net's API, when the front end knows them all: the scalar type,
/// the input's and target's declared shapes, the output's shape, and every parameter's
/// (a layer's from its input and size). A statement that did not parse may have
/// swallowed others, so it leaves the API unknown.
fn stub_api(
    settings: &Settings,
    stmts: &[dense::Stmt],
    scope: &Scope,
    checked: &Checked,
) -> Option<model::StubApi> {
    if !settings.scalar_known || scope.broken {
        return None;
    }
    let decls = &scope.decls;
    let var = |name: &Option<String>| decls.shape(name.as_deref()?).map(|sh| sh.model());
    let target = match scope.targets {
        0 => None,
        _ => Some(var(&scope.target)?),
    };
    // Every `param` statement, a layer's included, must have given a shaped parameter.
    let params = (stmts.iter().enumerate())
        .filter_map(|(pos, s)| match &s.kind {
            dense::Kind::Param { name, .. } => Some((pos, name)),
            _ => None,
        })
        .map(|(pos, name)| {
            let d = decls.by_name.get(&name.text).filter(|d| d.pos == pos)?;
            d.sym?;
            Some((name.text.clone(), d.shape?.model()))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(model::StubApi {
        scalar: settings.scalar,
        input: var(&scope.input)?,
        target,
        output: checked.output_shape?.model(),
        params,
        stream: loops::stub_stream(stmts, scope, checked),
    })
}

/// The model of a net whose passes reported nothing: each parameter with its shape,
/// initialiser and fans.
fn build(
    src: &Source,
    net: &ast::Net,
    settings: &Settings,
    fns: Vec<FnEntry>,
    scope: Scope,
    checked: Checked,
) -> Option<model::Net> {
    let decls = &scope.decls;
    let var = |name: String| {
        let shape = decls.shape(&name)?.model();
        Some(model::Var { name, shape })
    };
    let params = (scope.params.into_iter().enumerate())
        .map(|(i, p)| {
            let sh = decls.shape(&p.name)?;
            let (fan_in, fan_out) = attrs::fans(sh, checked.fans.get(&i).copied());
            let u = |d: u64| usize::try_from(d).ok();
            Some(model::Param {
                shape: sh.model(),
                init: p.init?,
                fan_in: u(fan_in)?,
                fan_out: u(fan_out)?,
                docs: p.docs,
                tensor: p.tensor.map_or_else(|| p.name.clone(), |(t, _)| t),
                name: p.name,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let states = (scope.states.into_iter())
        .map(|s| {
            Some(model::State {
                shape: decls.shape(&s.name)?.model(),
                init: s.init?,
                name: s.name,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(model::Net {
        attrs: attrs::passthrough_attrs(&net.attrs, src),
        vis: attrs::vis(net, src),
        name: src.ident_at(&net.name.span)?,
        scalar: settings.scalar,
        unroll: settings.unroll,
        chunk: settings.chunk,
        input: var(scope.input?)?,
        target: match scope.target {
            Some(t) => Some(var(t)?),
            None => None,
        },
        params,
        lets: checked.lets.into_iter().collect::<Option<Vec<_>>>()?,
        states,
        output: checked.output?,
        loss: checked.loss?,
        fns: fns.into_iter().map(|f| f.def).collect::<Option<Vec<_>>>()?,
        weights: None,
    })
}
