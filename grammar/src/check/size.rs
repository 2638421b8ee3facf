//! The size limit: generated code is unrolled over every scalar, so its size is bounded
//! from shapes alone, before anything proportional to it is done.

use crate::ast;
use crate::diag::Ctxt;

use super::scope::Scope;

/// Whether the net is within `max_size` scalars: its parameters plus every intermediate
/// value (`expr_size`). Rejects: `param w: [4096, 4096];` by default.
pub(super) fn within_limit(
    cx: &Ctxt,
    net: &ast::Net,
    max_size: u64,
    scope: &Scope,
    expr_size: u64,
) -> bool {
    let param_size = scope
        .params
        .iter()
        .filter_map(|p| scope.decls.shape(&p.name))
        .fold(0u64, |acc, s| acc.saturating_add(s.elems()));
    let total = param_size.saturating_add(expr_size);
    if total == u64::MAX || usize::try_from(total).is_err() {
        cx.error(
            &net.name.span,
            format!(
                "net `{}` is too large to generate: its size (parameters plus every intermediate value) overflows; shrink its shapes",
                net.name.text
            ),
        );
        false
    } else if total > max_size {
        cx.error(
            &net.name.span,
            format!(
                "net `{}` is too large to generate: its size is {total} scalars (parameters plus every intermediate value), above the limit of {max_size}; shrink the net, or raise the limit with `#[chainrule(max_size = {total})]` on the net",
                net.name.text
            ),
        );
        false
    } else {
        true
    }
}
