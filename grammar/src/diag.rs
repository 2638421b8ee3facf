//! Error collection (serde's `Ctxt` pattern) and conversion to `syn::Error`.
//!
//! Every pass reports into one [`Ctxt`] through a shared reference and carries on, so all
//! errors of an invocation are reported together. Errors are byte ranges of the flattened
//! text until the very end, when [`to_syn`] maps them back to the user's tokens.

use std::cell::RefCell;
use std::ops::Range;

use proc_macro2::{Ident, Span, TokenStream, TokenTree};

use crate::source::Source;

/// One error: a message and the bytes it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    /// The bytes of [`Source::text`] to underline; `None` for the whole invocation.
    pub range: Option<Range<usize>>,
    /// What is wrong and what would be right.
    pub message: String,
}

/// The error collector shared by every pass.
#[derive(Debug, Default)]
pub struct Ctxt {
    diags: RefCell<Vec<Diag>>,
}

impl Ctxt {
    /// An empty collector.
    pub fn new() -> Ctxt {
        Ctxt::default()
    }

    /// Reports an error at `range`.
    pub fn error(&self, range: &Range<usize>, message: impl Into<String>) {
        self.diags.borrow_mut().push(Diag {
            range: Some(range.clone()),
            message: message.into(),
        });
    }

    /// Reports an error about the invocation as a whole.
    pub fn error_everywhere(&self, message: impl Into<String>) {
        self.diags.borrow_mut().push(Diag {
            range: None,
            message: message.into(),
        });
    }

    /// How many errors were reported so far; a pass compares counts to learn whether it
    /// added any.
    pub fn count(&self) -> usize {
        self.diags.borrow().len()
    }

    /// Every error, in source order (errors at the same place keep their order).
    pub fn finish(self) -> Vec<Diag> {
        let mut diags = self.diags.into_inner();
        diags.sort_by_key(|d| d.range.as_ref().map_or((0, 0), |r| (r.start, r.end)));
        diags.dedup();
        diags
    }
}

/// The error as a `syn::Error` spanning the user's tokens: from the first token of the
/// range to the last. `Span::join` is nightly-only, so the error is built over a two-token
/// stream whose tokens carry the first and last spans; `to_compile_error` then places
/// `compile_error!` across them and rustc underlines the whole range.
pub fn to_syn(diag: &Diag, src: &Source) -> syn::Error {
    let spans = diag.range.as_ref().and_then(|r| src.spans(r));
    match spans {
        None => syn::Error::new(Span::call_site(), &diag.message),
        Some((first, last)) => {
            let mut start = Ident::new("start", Span::call_site());
            start.set_span(first);
            let mut end = Ident::new("end", Span::call_site());
            end.set_span(last);
            let pair: TokenStream = [TokenTree::Ident(start), TokenTree::Ident(end)]
                .into_iter()
                .collect();
            syn::Error::new_spanned(pair, &diag.message)
        }
    }
}
