//! Tokens → text with a span map.
//!
//! pest parses text, but errors must point at the user's tokens. [`Source::flatten`] writes
//! every token of the macro input into one string, one space between tokens (none after a
//! joint punctuation, so `::` stays `::`), and records each token's byte range and span.
//! Any byte range a parser or a check reports then maps back to its first and last token.
//! Bracket groups are kept whole, so an attribute can be re-emitted as the user's own
//! tokens with their spans.

use std::ops::Range;

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Brackets nested deeper than this are refused before parsing. The parser recurses once
/// per bracket, with stack reserved for this depth (`stack::for_nesting`); no sensible
/// network comes close.
pub const MAX_NESTING: usize = 1024;

/// One token of the flattened text.
#[derive(Clone, Debug)]
pub struct Token {
    /// Its bytes in [`Source::text`].
    pub range: Range<usize>,
    /// Its span in the user's code.
    pub span: Span,
    /// What it is.
    pub kind: TokenKind,
    /// How many (visible) bracket groups enclose it; a group's own delimiters count as
    /// outside it.
    pub depth: usize,
}

/// The kinds of token.
#[derive(Clone, Debug)]
pub enum TokenKind {
    /// An opening delimiter; `group` indexes [`Source::groups`], `close` is the index of
    /// the matching [`TokenKind::Close`].
    Open {
        /// The group, in [`Source::groups`].
        group: usize,
        /// The index of the closing token.
        close: usize,
    },
    /// A closing delimiter of the group at this index in [`Source::groups`].
    Close {
        /// The group, in [`Source::groups`].
        group: usize,
    },
    /// An identifier.
    Ident(Ident),
    /// A punctuation character.
    Punct(Punct),
    /// A literal.
    Literal(Literal),
}

/// The flattened macro input.
#[derive(Debug, Default)]
pub struct Source {
    /// The text pest parses.
    pub text: String,
    /// Every token, in text order.
    pub tokens: Vec<Token>,
    /// Every visible bracket group, whole, in order of its opening token.
    pub groups: Vec<Group>,
    /// The first opening bracket nested deeper than [`MAX_NESTING`], if any.
    pub too_deep: Option<usize>,
}

/// A token stream being walked: the rest of its trees, and the group it closes, if any.
struct Frame {
    rest: proc_macro2::token_stream::IntoIter,
    /// The group index and the index of its opening token, for a visible group.
    closes: Option<(usize, usize)>,
}

impl Source {
    /// Flattens `tokens`. Iterative, so no nesting depth can overflow the stack.
    pub fn flatten(tokens: TokenStream) -> Source {
        let mut src = Source::default();
        let mut joint = true; // No space before the first token.
        let mut stack = vec![Frame {
            rest: tokens.into_iter(),
            closes: None,
        }];
        while let Some(frame) = stack.last_mut() {
            let Some(tree) = frame.rest.next() else {
                let done = stack.pop();
                if let Some(Frame {
                    closes: Some((group, open)),
                    ..
                }) = done
                {
                    let (close_text, span) = match src.groups.get(group) {
                        Some(g) => (close_char(g.delimiter()), g.span_close()),
                        None => ("", Span::call_site()),
                    };
                    let depth = src.depth(&stack);
                    let index = src.push(
                        close_text,
                        span,
                        TokenKind::Close { group },
                        depth,
                        &mut joint,
                    );
                    if let Some(Token {
                        kind: TokenKind::Open { close, .. },
                        ..
                    }) = src.tokens.get_mut(open)
                    {
                        *close = index;
                    }
                }
                continue;
            };
            let depth = src.depth(&stack);
            // A `macro_rules!` fragment such as `$e:expr` arrives as an invisible group,
            // which must bind as one operand: `w * $e` with `$e = x + 1` is `w * (x + 1)`.
            let tree = match tree {
                TokenTree::Group(g) if g.delimiter() == Delimiter::None && is_operand(&g) => {
                    let mut parens = Group::new(Delimiter::Parenthesis, g.stream());
                    parens.set_span(g.span());
                    TokenTree::Group(parens)
                }
                tree => tree,
            };
            match tree {
                TokenTree::Group(g) if g.delimiter() == Delimiter::None => {
                    // Other invisible groups (one token, or whole statements) only
                    // forward their contents.
                    stack.push(Frame {
                        rest: g.stream().into_iter(),
                        closes: None,
                    });
                }
                TokenTree::Group(g) => {
                    let group = src.groups.len();
                    let open_text = open_char(g.delimiter());
                    let span = g.span_open();
                    let stream = g.stream();
                    src.groups.push(g);
                    let kind = TokenKind::Open { group, close: 0 };
                    let open = src.push(open_text, span, kind, depth, &mut joint);
                    if depth >= MAX_NESTING && src.too_deep.is_none() {
                        src.too_deep = Some(open);
                    }
                    stack.push(Frame {
                        rest: stream.into_iter(),
                        closes: Some((group, open)),
                    });
                }
                TokenTree::Ident(i) => {
                    let text = i.to_string();
                    src.push(&text, i.span(), TokenKind::Ident(i), depth, &mut joint);
                }
                TokenTree::Punct(p) => {
                    let text = p.as_char().to_string();
                    let is_joint = p.spacing() == Spacing::Joint;
                    src.push(&text, p.span(), TokenKind::Punct(p), depth, &mut joint);
                    joint = is_joint;
                }
                TokenTree::Literal(l) => {
                    let text = l.to_string();
                    src.push(&text, l.span(), TokenKind::Literal(l), depth, &mut joint);
                }
            }
        }
        // A final space lets pest see that a name or number at the very end is complete.
        src.text.push(' ');
        src
    }

    /// The number of visible groups open on `stack`.
    fn depth(&self, stack: &[Frame]) -> usize {
        stack.iter().filter(|f| f.closes.is_some()).count()
    }

    /// Appends one token and returns its index.
    fn push(
        &mut self,
        text: &str,
        span: Span,
        kind: TokenKind,
        depth: usize,
        joint: &mut bool,
    ) -> usize {
        if !*joint {
            self.text.push(' ');
        }
        *joint = false;
        let start = self.text.len();
        self.text.push_str(text);
        self.tokens.push(Token {
            range: start..self.text.len(),
            span,
            kind,
            depth,
        });
        self.tokens.len() - 1
    }

    /// The index of the token at byte `pos`, or of the first token after it; the last
    /// token when `pos` is past the end. `None` only for an empty input.
    pub fn token_at(&self, pos: usize) -> Option<usize> {
        let i = self.tokens.partition_point(|t| t.range.end <= pos);
        if i < self.tokens.len() {
            Some(i)
        } else {
            self.tokens.len().checked_sub(1)
        }
    }

    /// The indices of the first and last tokens overlapping `range` (an empty range maps to
    /// the token at or after it).
    pub fn token_range(&self, range: &Range<usize>) -> Option<(usize, usize)> {
        let first = self.token_at(range.start)?;
        if range.end <= range.start {
            return Some((first, first));
        }
        let after = self.tokens.partition_point(|t| t.range.start < range.end);
        let last = after.checked_sub(1).unwrap_or(first).max(first);
        Some((first, last))
    }

    /// The spans of the first and last tokens of `range`.
    pub fn spans(&self, range: &Range<usize>) -> Option<(Span, Span)> {
        let (first, last) = self.token_range(range)?;
        Some((self.tokens.get(first)?.span, self.tokens.get(last)?.span))
    }

    /// The text of `range`, or `""` if it is not a valid range of the text.
    pub fn snippet(&self, range: &Range<usize>) -> &str {
        self.text.get(range.clone()).unwrap_or("")
    }

    /// The user's tokens covering `range`, groups whole (with their spans), for re-emitting
    /// attributes and visibilities as written.
    pub fn tokens_in(&self, range: &Range<usize>) -> TokenStream {
        let mut out = TokenStream::new();
        let Some((first, last)) = self.token_range(range) else {
            return out;
        };
        let mut i = first;
        while i <= last {
            let Some(tok) = self.tokens.get(i) else { break };
            match &tok.kind {
                TokenKind::Open { group, close } => {
                    if let Some(g) = self.groups.get(*group) {
                        out.extend([TokenTree::Group(g.clone())]);
                    }
                    i = (*close).max(i) + 1;
                    continue;
                }
                TokenKind::Close { .. } => {}
                TokenKind::Ident(x) => out.extend([TokenTree::Ident(x.clone())]),
                TokenKind::Punct(x) => out.extend([TokenTree::Punct(x.clone())]),
                TokenKind::Literal(x) => out.extend([TokenTree::Literal(x.clone())]),
            }
            i += 1;
        }
        out
    }

    /// The identifier token at `range`, spanned as the user wrote it.
    pub fn ident_at(&self, range: &Range<usize>) -> Option<Ident> {
        let (first, _) = self.token_range(range)?;
        match &self.tokens.get(first)?.kind {
            TokenKind::Ident(i) => Some(i.clone()),
            _ => None,
        }
    }
}

/// Whether an invisible group holds an expression of several tokens, which must read as
/// if parenthesized; a single token or a run of statements reads as written.
fn is_operand(g: &Group) -> bool {
    let mut trees = g.stream().into_iter();
    let several = trees.next().is_some() && trees.next().is_some();
    let statements = g
        .stream()
        .into_iter()
        .any(|t| matches!(&t, TokenTree::Punct(p) if p.as_char() == ';'));
    several && !statements
}

fn open_char(d: Delimiter) -> &'static str {
    match d {
        Delimiter::Parenthesis => "(",
        Delimiter::Brace => "{",
        Delimiter::Bracket => "[",
        Delimiter::None => "",
    }
}

fn close_char(d: Delimiter) -> &'static str {
    match d {
        Delimiter::Parenthesis => ")",
        Delimiter::Brace => "}",
        Delimiter::Bracket => "]",
        Delimiter::None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(src: &str) -> String {
        let ts: TokenStream = src.parse().expect("test input lexes");
        Source::flatten(ts).text.trim_end().to_string()
    }

    #[test]
    fn spacing() {
        assert_eq!(flat("a::b"), "a :: b");
        assert_eq!(flat("pub(crate) net X {}"), "pub ( crate ) net X { }");
        assert_eq!(flat("x ^-1"), "x ^- 1");
        assert_eq!(flat("#[doc = \"hi\"]"), "# [ doc = \"hi\" ]");
        assert_eq!(flat("1e-3 1. 0x_ff"), "1e-3 1. 0x_ff");
    }

    #[test]
    fn ranges_map_back() {
        let ts: TokenStream = "f(a, [b])".parse().expect("lexes");
        let src = Source::flatten(ts);
        assert_eq!(src.text, "f ( a , [ b ] ) ");
        assert_eq!(src.token_at(0), Some(0));
        assert_eq!(src.token_at(1), Some(1)); // the space before `(`
        assert_eq!(src.token_at(100), Some(src.tokens.len() - 1));
        assert_eq!(src.token_range(&(4..11)), Some((2, 5)));
        let depths: Vec<usize> = src.tokens.iter().map(|t| t.depth).collect();
        assert_eq!(depths, [0, 0, 1, 1, 1, 2, 1, 0]);
        match src.tokens[1].kind {
            TokenKind::Open { close, .. } => assert_eq!(close, 7),
            _ => panic!("not an open token"),
        }
        assert_eq!(src.tokens_in(&(8..13)).to_string(), "[b]");
    }

    /// `prefix` followed by `inner` in an invisible group, as `macro_rules!` forwards it.
    fn forwarded(prefix: &str, inner: &str) -> Source {
        let inner: TokenStream = inner.parse().expect("lexes");
        let mut ts: TokenStream = prefix.parse().expect("lexes");
        ts.extend([TokenTree::Group(Group::new(Delimiter::None, inner))]);
        Source::flatten(ts)
    }

    #[test]
    fn invisible_groups_of_one_token_or_of_statements_are_transparent() {
        let src = forwarded("let y = w *", "x");
        assert_eq!(src.text, "let y = w * x ");
        assert!(src.groups.is_empty());
        assert!(src.tokens.iter().all(|t| t.depth == 0));
        let src = forwarded("", "input x : [ 2 ] ; output x ;");
        assert_eq!(src.text, "input x : [ 2 ] ; output x ; ");
    }

    #[test]
    fn invisible_groups_of_expressions_bind_as_one_operand() {
        let src = forwarded("let y = w *", "x + 1");
        assert_eq!(src.text, "let y = w * ( x + 1 ) ");
        assert_eq!(src.groups.len(), 1);
    }

    #[test]
    fn deep_nesting_is_noted_not_overflowed() {
        let deep = "(".repeat(5000) + &")".repeat(5000);
        let src = Source::flatten(deep.parse().expect("lexes"));
        assert_eq!(src.too_deep, Some(MAX_NESTING));
        assert_eq!(src.tokens.len(), 10000);
    }
}
