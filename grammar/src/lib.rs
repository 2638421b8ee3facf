//! The front end of chainrule's network language.
//!
//! Data flows one way: tokens → text with a span map ([`source`]) → pest pairs → AST with
//! spans ([`parser`], [`ast`]) → checked model ([`check`], [`model`]). Every error is
//! collected ([`diag`]) and reported together, each at the user's offending tokens.
#![forbid(unsafe_code)]

pub mod ast;
pub mod check;
pub mod diag;
pub mod model;
pub mod ops;
pub mod parser;
pub mod source;
pub mod stack;

use proc_macro2::{Span, TokenStream};

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
    let (front, _, _) = run(tokens);
    front
}

/// [`check_tokens`] over source text, for tests and tools. Text that is not valid Rust
/// tokens (unbalanced brackets, an unterminated string) is one error.
pub fn check_str(src: &str) -> Frontend {
    match src.parse::<TokenStream>() {
        Ok(tokens) => check_tokens(tokens),
        Err(e) => Frontend {
            errors: vec![lex_error(&e)],
            ..Frontend::default()
        },
    }
}

/// Every error of [`check_str`] as `(message, underlined text)`, the text as flattened
/// (one space between tokens). For tests that check where an error points.
#[doc(hidden)]
pub fn check_str_located(src: &str) -> Vec<(String, String)> {
    let tokens = match src.parse::<TokenStream>() {
        Ok(tokens) => tokens,
        Err(e) => return vec![(lex_error(&e).to_string(), String::new())],
    };
    let (_, diags, source) = run(tokens);
    diags
        .into_iter()
        .map(|d| {
            let text = d
                .range
                .as_ref()
                .and_then(|r| source.token_range(r))
                .and_then(|(first, last)| {
                    let start = source.tokens.get(first)?.range.start;
                    let end = source.tokens.get(last)?.range.end;
                    Some(source.snippet(&(start..end)).to_string())
                })
                .unwrap_or_default();
            (d.message, text)
        })
        .collect()
}

fn lex_error(e: &proc_macro2::LexError) -> syn::Error {
    syn::Error::new(
        Span::call_site(),
        format!("the input is not valid Rust tokens: {e}"),
    )
}

/// The whole pipeline; also returns the errors as byte ranges and the source map.
fn run(tokens: TokenStream) -> (Frontend, Vec<diag::Diag>, source::Source) {
    let src = source::Source::flatten(tokens);
    let cx = diag::Ctxt::new();
    let file = parser::parse(&src, &cx);
    let (nets, stubs) = check::check(&file, &src, &cx);
    let diags = cx.finish();
    let errors = diags.iter().map(|d| diag::to_syn(d, &src)).collect();
    (
        Frontend {
            nets,
            stubs,
            errors,
        },
        diags,
        src,
    )
}
