//! AST → checked model ([`crate::model`]), as a list of passes.
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
//! | [`fns::shared`] | the invocation's shared `fn`s and their attributes, once for every net |
//! | [`attrs::settings`], [`attrs::doc_comments_only`] | a net's attributes, its statements' |
//! | [`fns::with_local`] | the `fn`s the net sees, its own checked |
//! | [`dense::desugar`] | `dense` layers into plain `param`s and `let`s |
//! | [`scope::declare`] | every name declared, declared shapes, statement counts |
//! | [`attrs::inits`] | parameters' initialisers |
//! | [`expr::type_check`] | `let`s in order, then `output` and `loss`: every shape |
//! | [`lints::unused_params`] | parameters that cannot reach the loss |
//! | [`size::within_limit`] | the size limit |
//! | [`build`] | the model of a net without errors |

mod attrs;
mod dense;
mod expr;
mod fns;
mod lints;
mod literals;
mod scope;
mod size;

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
    let shared = fns::shared(cx, file);
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
            Some(n) if shared_ok && cx.count() == errors_before => nets.push(n),
            _ => {
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

/// Runs the passes over one net; its model if none reported an error.
fn check_net(cx: &Ctxt, src: &Source, shared: &[FnEntry], net: &ast::Net) -> Option<model::Net> {
    let before = cx.count();
    scope::check_not_keyword(cx, &net.name);
    let settings = attrs::settings(cx, &net.attrs);
    for stmt in &net.stmts {
        attrs::doc_comments_only(cx, &stmt.attrs, "a statement");
    }
    let fns = fns::with_local(cx, shared, net);
    let stmts = dense::desugar(cx, &fns, net);
    let mut scope = scope::declare(cx, src, net, &stmts);
    let before_values = cx.count();
    attrs::inits(cx, &stmts, &mut scope);
    let checked = expr::type_check(cx, &fns, &stmts, &mut scope);
    let complete = cx.count() == before_values && !checked.incomplete;
    lints::unused_params(cx, &scope, &checked, complete);
    size::within_limit(
        cx,
        net,
        settings.scalar,
        settings.max_size,
        &scope,
        checked.size,
    );
    if cx.count() > before {
        return None;
    }
    build(src, net, &settings, fns, scope, checked)
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
                name: p.name,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(model::Net {
        attrs: attrs::passthrough_attrs(&net.attrs, src),
        vis: attrs::vis(net, src),
        name: src.ident_at(&net.name.span)?,
        scalar: settings.scalar,
        unroll: settings.unroll,
        input: var(scope.input?)?,
        target: match scope.target {
            Some(t) => Some(var(t)?),
            None => None,
        },
        params,
        lets: checked.lets.into_iter().collect::<Option<Vec<_>>>()?,
        output: checked.output?,
        loss: checked.loss?,
        fns: fns.into_iter().map(|f| f.def).collect::<Option<Vec<_>>>()?,
    })
}
