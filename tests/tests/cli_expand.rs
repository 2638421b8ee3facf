//! The file `chainrule-expand` writes is the macro's expansion. `build.rs` writes the
//! definition `definitions/cli_nets.txt` as a file with the `chainrule-cli` library, as a
//! user's build script would, and the same text inside `network!`; both compile here, and
//! their nets compute exactly the same values. The file also has the macro's tokens, for
//! that definition and for random nets.

use chainrule::Network;
use proc_macro2::{Delimiter, Group, Literal, TokenStream, TokenTree};
use quote::ToTokens;

include!("../src/netgen.rs");

// The test leaves some inherent items unused; a file is linted as the crate's own code,
// where the macro's expansion is not.
#[allow(dead_code)]
mod via_cli {
    include!(concat!(env!("OUT_DIR"), "/cli_nets.rs"));
}

mod via_macro {
    include!(concat!(env!("OUT_DIR"), "/cli_nets_macro.rs"));
}

/// Points in `[-1, 1)` from a seed.
fn points<const N: usize>(seed: u64, count: usize) -> Vec<[f64; N]> {
    let mut rng = NetRng::new(seed);
    (0..count)
        .map(|_| std::array::from_fn(|_| 2.0 * rng.unit() - 1.0))
        .collect()
}

fn f32s<const N: usize>(points: &[[f64; N]]) -> Vec<[f32; N]> {
    points.iter().map(|p| p.map(|v| v as f32)).collect()
}

/// Every method of `A` and `B`, the same net compiled from the two sources, gives the same
/// bits on the same parameters and samples.
fn same_net<A, B>(xs: &[A::Input], ts: &[A::Target])
where
    A: Network,
    B: Network<Scalar = A::Scalar, Input = A::Input, Target = A::Target, Output = A::Output>,
    A::Input: PartialEq,
    A::Output: PartialEq + Default,
{
    let (a, b) = (A::new(7), B::new(7));
    assert_eq!(a.as_slice(), b.as_slice(), "{}: new", A::NAME);
    assert_eq!(A::LAYOUT, B::LAYOUT);
    for (x, t) in xs.iter().zip(ts) {
        assert_eq!(a.forward(x), b.forward(x), "{}: forward", A::NAME);
        assert_eq!(a.loss(x, t), b.loss(x, t), "{}: loss", A::NAME);
        assert_eq!(
            a.input_gradient(x, t),
            b.input_gradient(x, t),
            "{}: input_gradient",
            A::NAME
        );
        let (mut ga, mut gb) = (A::zeros(), B::zeros());
        assert_eq!(a.backward(x, t, &mut ga), b.backward(x, t, &mut gb));
        assert_eq!(ga.as_slice(), gb.as_slice(), "{}: backward", A::NAME);
    }
    let (mut ga, mut gb) = (A::zeros(), B::zeros());
    assert_eq!(
        a.backward_batch(xs, ts, &mut ga),
        b.backward_batch(xs, ts, &mut gb)
    );
    assert_eq!(ga.as_slice(), gb.as_slice(), "{}: backward_batch", A::NAME);
    assert_eq!(a.loss_batch(xs, ts), b.loss_batch(xs, ts));
    let mut ya: Vec<A::Output> = xs.iter().map(|_| A::Output::default()).collect();
    let mut yb: Vec<A::Output> = xs.iter().map(|_| A::Output::default()).collect();
    a.forward_batch(xs, &mut ya);
    b.forward_batch(xs, &mut yb);
    assert_eq!(ya, yb, "{}: forward_batch", A::NAME);
}

#[test]
fn the_generated_file_compiles_and_computes_what_the_macro_does() {
    let xs = f32s(&points::<2>(1, 9));
    let ts: Vec<[f32; 1]> = (0..9).map(|k| [(k % 2) as f32]).collect();
    same_net::<via_cli::Xor, via_macro::Xor>(&xs, &ts);

    // 21 samples: two full chunks of 8 and a partial one.
    const { assert!(via_cli::Wide::CHUNK == 8) };
    let xs = points::<40>(2, 21);
    let ts: Vec<[f64; 5]> = (0..21)
        .map(|k| std::array::from_fn(|j| if j == k % 5 { 1.0 } else { 0.0 }))
        .collect();
    same_net::<via_cli::Wide, via_macro::Wide>(&xs, &ts);

    let xs = f32s(&points::<3>(3, 5));
    same_net::<via_cli::Energy, via_macro::Energy>(&xs, &[(); 5]);
    // The file's inherent methods are the macro's too: no target argument here.
    let net = via_cli::Energy::new(1);
    assert_eq!(net.loss(&xs[0]), via_macro::Energy::new(1).loss(&xs[0]));
}

/// `tokens` without what formatting changes, so that what is left is the same program
/// only if the tokens were. prettyplease writes the macro's `#[doc = r"…"]` as a `///`
/// comment, which parses back as `#[doc = "…"]`: the same string, spelt differently, so
/// every string literal is spelt one way. It also ends a list it breaks over lines with a
/// comma, so a comma that ends a list goes. A comma before `)` ends a list when the group
/// has another comma, or follows a name, a group or generics (a call's arguments, a
/// function's parameters, an attribute's list); elsewhere `(x,)` is a tuple and `(x)` is
/// not, so it stays.
fn formatting_removed(tokens: TokenStream) -> TokenStream {
    let punct = |t: &TokenTree, c: char| matches!(t, TokenTree::Punct(p) if p.as_char() == c);
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::with_capacity(trees.len());
    for (i, tree) in trees.iter().enumerate() {
        if punct(tree, ',') && trees.get(i + 1).is_some_and(|t| punct(t, '>')) {
            continue;
        }
        out.push(match tree {
            TokenTree::Group(g) => {
                let mut inner: Vec<TokenTree> =
                    formatting_removed(g.stream()).into_iter().collect();
                let commas = inner.iter().filter(|t| punct(t, ',')).count();
                let before = i.checked_sub(1).map(|j| &trees[j]);
                let list = g.delimiter() != Delimiter::Parenthesis
                    || commas > 1
                    || before.is_some_and(|b| match b {
                        TokenTree::Ident(name) => !KEYWORDS.contains(&name.to_string().as_str()),
                        TokenTree::Group(_) => true,
                        // Generics, not `->` or `=>`.
                        TokenTree::Punct(p) => {
                            p.as_char() == '>'
                                && !(i >= 2
                                    && (punct(&trees[i - 2], '-') || punct(&trees[i - 2], '=')))
                        }
                        TokenTree::Literal(_) => false,
                    });
                if list && inner.last().is_some_and(|t| punct(t, ',')) {
                    inner.pop();
                }
                TokenTree::Group(Group::new(g.delimiter(), inner.into_iter().collect()))
            }
            TokenTree::Literal(l) => match syn::Lit::new(l.clone()) {
                syn::Lit::Str(s) => TokenTree::Literal(Literal::string(&s.value())),
                _ => tree.clone(),
            },
            _ => tree.clone(),
        });
    }
    out.into_iter().collect()
}

/// Keywords a tuple can follow, as in `return (x,)`.
const KEYWORDS: &[&str] = &[
    "as", "break", "else", "for", "if", "in", "let", "match", "move", "mut", "ref", "return",
    "while", "yield",
];

/// Checks that the file `chainrule-expand` writes for `src`, parsed back, has the tokens
/// of the macro's expansion parsed as a file.
fn check_same_tokens(src: &str, what: &str) {
    let formatted = chainrule_cli::expand_source(src, what).unwrap_or_else(|diagnostics| {
        panic!("{what}: {diagnostics:?}");
    });
    let reparsed = syn::parse_file(&formatted).unwrap();
    let tokens: TokenStream = src.parse().unwrap();
    let direct: syn::File = syn::parse2(chainrule_codegen::expand(tokens)).unwrap();
    let ours = formatting_removed(reparsed.to_token_stream()).to_string();
    let macros = formatting_removed(direct.to_token_stream()).to_string();
    if ours != macros {
        let at = ours
            .bytes()
            .zip(macros.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(macros.len()));
        let around = |s: &str| {
            let from = (0..=at.saturating_sub(200))
                .rev()
                .find(|&k| s.is_char_boundary(k));
            let to = ((at + 200).min(s.len())..=s.len()).find(|&k| s.is_char_boundary(k));
            s[from.unwrap_or(0)..to.unwrap_or(s.len())].to_string()
        };
        panic!(
            "{what}: the file differs from the expansion at byte {at}:\n{}\n---\n{}",
            around(&ours),
            around(&macros)
        );
    }
}

#[test]
fn the_file_has_the_macros_tokens() {
    let definition = include_str!("../definitions/cli_nets.txt");
    check_same_tokens(definition, "definitions/cli_nets.txt");
    // The docs are there, as `///` comments.
    let file = chainrule_cli::expand_source(definition, "cli_nets.txt").unwrap();
    assert!(file.contains("/// The lecture's \"XOR\" net; a doc comment with a quote"));
    for k in 0..20 {
        let net = random_net(sample_seed(12, k), &format!("Net{k}"));
        check_same_tokens(&net.source, &format!("random net {k}:\n{}", net.source));
    }
}
