//! The `network!` macro. Everything real lives in `chainrule-codegen`, an ordinary library
//! that is unit-tested without a compiler in the loop.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

/// Defines one or more networks in chainrule's language and generates their forward and
/// backward code. See the `chainrule` crate for the language and the generated API.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    chainrule_codegen::expand(input.into()).into()
}
