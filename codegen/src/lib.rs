//! chainrule's symbolic core: lowers a checked net to a tensor IR, applies the chain rule,
//! simplifies, and emits specialized Rust.
#![forbid(unsafe_code)]

pub mod api;
pub mod cells;
pub mod diff;
mod docs;
pub mod emit;
pub mod eval;
pub mod generate;
pub mod ir;
pub mod lower;
pub mod naming;
pub mod plan;
pub mod print;
pub mod simplify;

use proc_macro2::TokenStream;

/// Expands one `network!` invocation. Never panics: user errors become `compile_error!`s
/// next to stub types, so one mistake does not cascade into errors at every use.
pub fn expand(tokens: TokenStream) -> TokenStream {
    let front = chainrule_grammar::check_tokens(tokens);
    let mut out = TokenStream::new();
    for e in &front.errors {
        out.extend(e.to_compile_error());
    }
    for net in &front.nets {
        out.extend(generate::generate(net));
    }
    for stub in &front.stubs {
        out.extend(generate::stub(stub));
    }
    out
}
