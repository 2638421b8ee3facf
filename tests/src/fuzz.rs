// chainrule's own fuzzer (issue 9): random valid nets from `netgen.rs`, mutated at the token
// and statement level, driven through `chainrule_codegen::expand` under `catch_unwind` and
// checked by oracles. Included with `include!` after `netgen.rs` (it uses `NetRng`,
// `random_net` and `random_net_with`), so it has no module-level attributes; the driver is
// `tests/tests/fuzz.rs`.
//
// Oracles, for every case whose text lexes as Rust tokens (a macro never sees any other):
// 1. `expand` does not panic;
// 2. its output parses as a `syn::File`;
// 3. every error is spanned inside the invocation: each front-end error underlines
//    non-empty text made of whole tokens of the flattened source, the expansion holds one
//    `compile_error!` per front-end error with the same message, and a net without errors
//    expands without `compile_error!`;
// 4. an unmutated net is accepted, and (for a sample) its gradients through the f64
//    interpreter match central finite differences;
// 5. each case's time is measured (reported, never asserted: a timing assertion guards
//    hangs, not speed, and CI machines vary too much for any bound but a very loose one).
// A sixth oracle, compiling accepted expansions with rustc in a `#![no_std]` crate, is in
// the driver and runs only in the long campaign.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// Numbers a mutation writes in place of a literal: extremes of f32, f64, u32 and u64,
/// zeros of both signs, subnormals, and literals with suffixes or other bases.
const EXTREME_NUMBERS: &[&str] = &[
    "1e39",
    "-1e39",
    "3.5e38",
    "1e308",
    "1e309",
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1e-400",
    "1e-45",
    "4294967295",
    "4294967296",
    "4294967297",
    "2147483648",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "99999999999999999999999999999999999999999999",
    "65536",
    "65537",
    "1_000",
    "0x10",
    "0b11",
    "0o7",
    "1f32",
    "1e39f64",
    "2u8",
    "1.",
    "-1",
    "128",
    "89",
];

/// Names a mutation writes in place of a name: keywords of the language and of Rust,
/// builtins, initializers, primitive types and names the generated code uses.
const OTHER_NAMES: &[&str] = &[
    "net",
    "input",
    "target",
    "param",
    "let",
    "output",
    "loss",
    "fn",
    "pub",
    "crate",
    "self",
    "Self",
    "super",
    "r#fn",
    "r#let",
    "r#input",
    "type",
    "mut",
    "as",
    "_",
    "sum",
    "mean",
    "dot",
    "softmax",
    "log_softmax",
    "exp",
    "ln",
    "sqrt",
    "tanh",
    "sigmoid",
    "relu",
    "leaky_relu",
    "max",
    "min",
    "dense",
    "transpose",
    "mse",
    "bce",
    "bce_with_logits",
    "cross_entropy",
    "softmax_cross_entropy",
    "zeros",
    "ones",
    "constant",
    "uniform",
    "normal",
    "xavier",
    "he",
    "u64",
    "usize",
    "u32",
    "str",
    "f32",
    "f64",
    "bool",
    "core",
    "std",
    "Option",
    "Clone",
    "Default",
    "Network",
    "grad",
    "xs",
    "ts",
    "T",
    "scalar",
    "chainrule",
    "unroll",
    "max_size",
];

/// Punctuation a mutation inserts.
const PUNCTUATION: &[&str] = &[
    ";", ",", ":", "=", "+", "-", "*", "/", "@", "^", "#", "!", ".", "..", "::", "&", "|", "<",
    ">", "?", "$", "~", "%", "=>", "->", "()", "[]", "{}", "'a", "\"s\"",
];

/// Shapes a mutation writes in place of a declared shape (more are derived from the old).
const SHAPES: &[&str] = &[
    "[]",
    "[0]",
    "[1]",
    "[0, 0]",
    "[0, 3]",
    "[1, 1]",
    "[65536]",
    "[100000]",
    "[1000, 1000]",
    "[4294967296]",
    "[4294967296, 1]",
    "[18446744073709551615]",
    "[18446744073709551615, 18446744073709551615]",
    "[2, 2, 2]",
    "[-1]",
    "[2.5]",
];

/// Attributes a mutation puts on the net.
const ATTRIBUTES: &[&str] = &[
    "#[cfg(feature = \"nope\")]",
    "#[repr(C)]",
    "#[repr(packed)]",
    "#[derive(Clone)]",
    "#[scalar(f64)]",
    "#[scalar(f32)]",
    "#[scalar(f16)]",
    "#[scalar]",
    "#[chainrule(unroll = 0)]",
    "#[chainrule(unroll = 65536)]",
    "#[chainrule(unroll = 4294967296)]",
    "#[chainrule(max_size = 0)]",
    "#[chainrule(max_size = 18446744073709551615)]",
    "#[chainrule(nope)]",
    "#[chainrule]",
    "#[doc = \"x\"]",
    "#[doc(hidden)]",
    "#[inline]",
    "#[allow(unused)]",
    "#![no_std]",
];

/// A user `fn` a mutation adds, some clashing with builtins or other names.
const USER_FN_ITEMS: &[&str] = &[
    "fn sum(z) = z;",
    "fn exp(z) = z;",
    "fn x(z) = z;",
    "fn f(z) = f(z);",
    "fn f(z) = g(z); fn g(z) = f(z);",
    "fn f(z, z) = z;",
    "fn f() = 1;",
    "fn f(z) = z @ z;",
    "fn f(z) = sum(z);",
    "fn f(z) = q;",
    "fn f1(z) = sin(z) + cos(z); fn f2(z) = f1(sin(z)) + f1(cos(z)); \
     fn f3(z) = f2(sin(z)) + f2(cos(z));",
];

/// One `fuzz` case: a net's source text and how it was made.
#[derive(Clone, Debug)]
pub struct Case {
    /// The seed that reproduces the case with [`make_case`].
    pub seed: u64,
    /// The text inside `network! { … }`.
    pub source: String,
    /// The mutations applied, in order; empty for a valid net.
    pub mutations: Vec<&'static str>,
}

/// A source's tokens as text, groups split into their delimiters, joint punctuation kept
/// together (`::`, `->`), so that joining them with spaces lexes to the same tokens.
pub fn token_texts(src: &str) -> Option<Vec<String>> {
    fn walk(ts: proc_macro2::TokenStream, out: &mut Vec<String>) {
        let mut joint = false;
        for tt in ts {
            match tt {
                proc_macro2::TokenTree::Group(g) => {
                    let (open, close) = match g.delimiter() {
                        proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                        proc_macro2::Delimiter::Bracket => ("[", "]"),
                        proc_macro2::Delimiter::Brace => ("{", "}"),
                        proc_macro2::Delimiter::None => ("", ""),
                    };
                    if !open.is_empty() {
                        out.push(open.to_string());
                    }
                    walk(g.stream(), out);
                    if !close.is_empty() {
                        out.push(close.to_string());
                    }
                    joint = false;
                }
                proc_macro2::TokenTree::Punct(p) => {
                    if joint && let Some(last) = out.last_mut() {
                        last.push(p.as_char());
                    } else {
                        out.push(p.as_char().to_string());
                    }
                    joint = p.spacing() == proc_macro2::Spacing::Joint;
                }
                other => {
                    out.push(other.to_string());
                    joint = false;
                }
            }
        }
    }
    let ts: proc_macro2::TokenStream = src.parse().ok()?;
    let mut out = Vec::new();
    walk(ts, &mut out);
    Some(out)
}

fn is_number(t: &str) -> bool {
    t.starts_with(|c: char| c.is_ascii_digit())
}

fn is_name(t: &str) -> bool {
    t.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// The index of the bracket that closes the one at `open`, if any.
fn matching(tokens: &[String], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The statements of the first net's body, as token ranges (each ends with its `;`).
fn statements(tokens: &[String]) -> Vec<std::ops::Range<usize>> {
    let Some(net) = tokens.iter().position(|t| t == "net") else {
        return Vec::new();
    };
    let Some(open) = tokens[net..].iter().position(|t| t == "{").map(|i| i + net) else {
        return Vec::new();
    };
    let Some(close) = matching(tokens, open) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = open + 1;
    for (i, t) in tokens.iter().enumerate().take(close).skip(open + 1) {
        match t.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => depth = depth.saturating_sub(1),
            ";" if depth == 0 => {
                out.push(start..i + 1);
                start = i + 1;
            }
            _ => {}
        }
    }
    out
}

/// The name declared by the first statement starting with `keyword`.
fn declared(tokens: &[String], keyword: &str) -> Option<(usize, String)> {
    statements(tokens).into_iter().find_map(|s| {
        (tokens[s.start] == keyword && s.len() > 1)
            .then(|| (s.start + 1, tokens[s.start + 1].clone()))
    })
}

fn rename_everywhere(tokens: &mut [String], a: &str, b: &str) {
    for t in tokens.iter_mut() {
        if t == a {
            *t = b.to_string();
        } else if t == b {
            *t = a.to_string();
        }
    }
}

/// Applies one random mutation; returns its name.
fn mutate(tokens: &mut Vec<String>, rng: &mut NetRng) -> &'static str {
    let n = tokens.len().max(1);
    let positions = |f: fn(&str) -> bool, tokens: &[String]| -> Vec<usize> {
        (0..tokens.len()).filter(|&i| f(&tokens[i])).collect()
    };
    match rng.below(20) {
        0 if !tokens.is_empty() => {
            tokens.remove(rng.below(n));
            "delete token"
        }
        1 if !tokens.is_empty() => {
            let i = rng.below(n);
            let t = tokens[i].clone();
            tokens.insert(i, t);
            "duplicate token"
        }
        2 if !tokens.is_empty() => {
            let (a, b) = (rng.below(n), rng.below(n));
            tokens.swap(a, b);
            "swap tokens"
        }
        3 | 4 => {
            let nums = positions(is_number, tokens);
            if nums.is_empty() {
                return "no number to replace";
            }
            let i = nums[rng.below(nums.len())];
            tokens[i] = rng.pick(EXTREME_NUMBERS).to_string();
            "extreme number"
        }
        5 => {
            let names = positions(is_name, tokens);
            if names.is_empty() {
                return "no name to replace";
            }
            let i = names[rng.below(names.len())];
            let j = names[rng.below(names.len())];
            tokens[i] = tokens[j].clone();
            "name to another name"
        }
        6 => {
            let names = positions(is_name, tokens);
            if names.is_empty() {
                return "no name to replace";
            }
            let i = names[rng.below(names.len())];
            tokens[i] = rng.pick(OTHER_NAMES).to_string();
            "name to keyword or builtin"
        }
        7 => {
            let i = rng.below(tokens.len() + 1);
            tokens.insert(i, rng.pick(PUNCTUATION).to_string());
            "insert punctuation"
        }
        8 => {
            let s = statements(tokens);
            if s.is_empty() {
                return "no statement";
            }
            let r = s[rng.below(s.len())].clone();
            tokens.drain(r);
            "drop statement"
        }
        9 => {
            let s = statements(tokens);
            if s.is_empty() {
                return "no statement";
            }
            let r = s[rng.below(s.len())].clone();
            let copy: Vec<String> = tokens[r.clone()].to_vec();
            let at = s[rng.below(s.len())].end;
            tokens.splice(at..at, copy);
            "duplicate statement"
        }
        10 => {
            let s = statements(tokens);
            if s.len() < 2 {
                return "no statements to reorder";
            }
            let (a, b) = (rng.below(s.len()), rng.below(s.len()));
            let (a, b) = (a.min(b), a.max(b));
            if a == b {
                return "no statements to reorder";
            }
            let (ra, rb) = (s[a].clone(), s[b].clone());
            let ta: Vec<String> = tokens[ra.clone()].to_vec();
            let tb: Vec<String> = tokens[rb.clone()].to_vec();
            tokens.splice(rb, ta);
            tokens.splice(ra, tb);
            "swap statements"
        }
        11 => {
            // The output names the input, the target or a parameter.
            let Some((at, _)) = declared(tokens, "output") else {
                return "no output";
            };
            let other = ["input", "target", "param", "let"][rng.below(4)];
            let Some((_, name)) = declared(tokens, other) else {
                return "no name for the output";
            };
            tokens[at] = name;
            "output another name"
        }
        12 => {
            // Exchange two declared names everywhere.
            let a = ["input", "target", "output"][rng.below(3)];
            let b = ["input", "target", "param", "let"][rng.below(4)];
            match (declared(tokens, a), declared(tokens, b)) {
                (Some((_, x)), Some((_, y))) if x != y => {
                    rename_everywhere(tokens, &x, &y);
                    "exchange declared names"
                }
                _ => "no names to exchange",
            }
        }
        13 | 14 => {
            // A declared shape: replaced, or switched between vector and matrix.
            let s = statements(tokens);
            let shaped: Vec<usize> = s
                .iter()
                .filter(|r| {
                    ["input", "target", "param"].contains(&tokens[r.start].as_str())
                        && r.len() > 3
                        && tokens[r.start + 3] == "["
                })
                .map(|r| r.start + 3)
                .collect();
            if shaped.is_empty() {
                return "no shape";
            }
            let open = shaped[rng.below(shaped.len())];
            let Some(close) = matching(tokens, open) else {
                return "no shape";
            };
            let dims: Vec<String> = tokens[open + 1..close]
                .iter()
                .filter(|t| *t != ",")
                .cloned()
                .collect();
            let new = if rng.chance(0.5) {
                rng.pick(SHAPES).to_string()
            } else {
                match dims.as_slice() {
                    [] => "[1]".to_string(),
                    [a] => format!("[{a}, {}]", rng.pick(&["1", "2", a.as_str()])),
                    [a, b] => [format!("[{a}]"), format!("[{b}]"), format!("[{b}, {a}]")]
                        [rng.below(3)]
                    .clone(),
                    _ => "[]".to_string(),
                }
            };
            let new = token_texts(&new).expect("shapes lex");
            tokens.splice(open..close + 1, new);
            "change shape"
        }
        15 => {
            let Some(net) = tokens.iter().position(|t| t == "net") else {
                return "no net";
            };
            let at = tokens[..net]
                .iter()
                .rposition(|t| t == ";" || t == "}")
                .map_or(0, |i| i + 1);
            let attr = token_texts(rng.pick(ATTRIBUTES)).expect("attributes lex");
            tokens.splice(at..at, attr);
            "add attribute"
        }
        16 => {
            let Some(net) = tokens.iter().position(|t| t == "net") else {
                return "no net";
            };
            if net + 1 >= tokens.len() {
                return "no net name";
            }
            tokens[net + 1] = rng
                .pick(&["u64", "usize", "str", "Self", "core", "r#fn", "Clone", "Network"])
                .to_string();
            "rename net"
        }
        17 => {
            let item = token_texts(rng.pick(USER_FN_ITEMS)).expect("fns lex");
            let at = if rng.chance(0.5) {
                0
            } else {
                // Inside the net body, before its first statement.
                statements(tokens).first().map_or(0, |s| s.start)
            };
            tokens.splice(at..at, item);
            "add fn"
        }
        18 => {
            // Bounds (issue 9 defects 5, 6, 12): a long chain of lets, a wide sum, deep
            // brackets or nested fns, written before the net's output statement.
            let s = statements(tokens);
            let Some(at) = s.iter().find(|r| tokens[r.start] == "output").map(|r| r.start)
            else {
                return "no output";
            };
            let Some((_, x)) = declared(tokens, "input") else {
                return "no input";
            };
            let k = [10, 100, 300, 1200][rng.below(4)];
            let text = match rng.below(4) {
                0 => {
                    let mut t = format!("let c0 = {x};");
                    for i in 1..k {
                        let f = rng.pick(&["sin", "tanh", "", "-"]);
                        t.push_str(&format!("let c{i} = {f}(c{}) + c{};", i - 1, i / 2));
                    }
                    t
                }
                1 => format!("let c0 = {x}{};", format!(" + {x}").repeat(k)),
                // Up to 900 brackets deep, within the documented 1024.
                2 => format!("let c0 = {}{x}{};", "(-".repeat(k * 3 / 4), ")".repeat(k * 3 / 4)),
                _ => {
                    // Up to 14 levels, 2^14 copies when inlined: issue 9 defect 5 (fixed
                    // in 713c79f) took over 16 GB here; now the front end refuses it.
                    let depth = 2 + k / 100;
                    let mut t = "fn q1(z) = sin(z) + cos(z);".to_string();
                    for i in 2..=depth {
                        t.push_str(&format!("fn q{i}(z) = q{0}(sin(z)) + q{0}(cos(z));", i - 1));
                    }
                    t + &format!("let c0 = q{depth}({x});")
                }
            };
            // The input's "name" may be a bracket by now, after an earlier mutation.
            let Some(stress) = token_texts(&text) else {
                return "no input to stress";
            };
            tokens.splice(at..at, stress);
            "stress a bound"
        }
        _ => {
            // A second copy of the whole input: two nets, with the same name or another.
            let mut copy = tokens.clone();
            if rng.chance(0.5)
                && let Some(net) = copy.iter().position(|t| t == "net")
                && net + 1 < copy.len()
            {
                copy[net + 1] = "Second".to_string();
            }
            tokens.extend(copy);
            "second net"
        }
    }
}

/// The case `seed` makes: every fourth case a valid net as the generator writes it, the
/// others that net after one to four mutations, retried until the text lexes.
pub fn make_case(seed: u64) -> Case {
    let mut rng = NetRng::new(seed ^ 0x5EED_F022);
    let base = random_net(seed, "Fuzz");
    if rng.below(4) == 0 {
        return Case {
            seed,
            source: base.source,
            mutations: Vec::new(),
        };
    }
    let original = token_texts(&base.source).expect("generated nets lex");
    loop {
        let mut tokens = original.clone();
        let mut mutations = Vec::new();
        for _ in 0..rng.between(1, 4) {
            mutations.push(mutate(&mut tokens, &mut rng));
        }
        let source = tokens.join(" ");
        if source.parse::<proc_macro2::TokenStream>().is_ok() {
            return Case {
                seed,
                source,
                mutations,
            };
        }
    }
}

/// What one case did.
#[derive(Debug)]
pub struct Outcome {
    /// The net was accepted: no error.
    pub accepted: bool,
    /// The number of errors.
    pub errors: usize,
    /// Time for `expand` and the front end's second run (for the span check).
    pub elapsed: Duration,
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// The messages of the `compile_error!`s in an expansion, in order.
fn compile_errors(ts: proc_macro2::TokenStream, out: &mut Vec<String>) {
    let mut tokens = ts.into_iter().peekable();
    while let Some(tt) = tokens.next() {
        match tt {
            proc_macro2::TokenTree::Ident(i) if i == "compile_error" => {
                let bang = tokens.next();
                let body = tokens.next();
                match (bang, body) {
                    (
                        Some(proc_macro2::TokenTree::Punct(p)),
                        Some(proc_macro2::TokenTree::Group(g)),
                    ) if p.as_char() == '!' => {
                        let lit = g.stream().into_iter().next();
                        let msg = match lit.map(|l| syn::parse2::<syn::LitStr>(l.into())) {
                            Some(Ok(s)) => s.value(),
                            _ => "<not a string>".to_string(),
                        };
                        out.push(msg);
                    }
                    _ => out.push("<malformed compile_error>".to_string()),
                }
            }
            proc_macro2::TokenTree::Group(g) => compile_errors(g.stream(), out),
            _ => {}
        }
    }
}

/// Runs one case through every oracle but the compiler. `Err` describes a failure.
pub fn run_case(source: &str, valid: bool) -> Result<Outcome, String> {
    let Ok(tokens) = source.parse::<proc_macro2::TokenStream>() else {
        return Err("the case does not lex (a fuzzer bug: cases are made to lex)".into());
    };
    let start = Instant::now();
    let expanded = catch_unwind(AssertUnwindSafe(|| {
        chainrule_codegen::expand(tokens.clone())
    }))
    .map_err(|p| format!("expand panicked: {}", panic_message(&*p)))?;
    let located = catch_unwind(|| chainrule_grammar::check_str_located(source))
        .map_err(|p| format!("check_str_located panicked: {}", panic_message(&*p)))?;
    let elapsed = start.elapsed();

    // Oracle 2: the output is a file of items.
    if let Err(e) = syn::parse2::<syn::File>(expanded.clone()) {
        return Err(format!("the expansion does not parse as a file: {e}"));
    }

    // Oracle 3: every error spanned inside the invocation, and the expansion reports
    // exactly the front end's errors.
    let flat = chainrule_grammar::source::Source::flatten(tokens);
    for (message, text) in &located {
        // An empty invocation has no token to underline.
        if text.is_empty() && !flat.tokens.is_empty() {
            return Err(format!("error not spanned inside the invocation: {message}"));
        }
        // The underlined text is a run of whole tokens of the flattened source.
        let whole = flat.text.match_indices(text.as_str()).any(|(at, _)| {
            flat.tokens.iter().any(|t| t.range.start == at)
                && flat.tokens.iter().any(|t| t.range.end == at + text.len())
        });
        if !whole && !text.is_empty() {
            return Err(format!(
                "error underlines text that is not whole tokens of the source: {message} at {text:?}"
            ));
        }
    }
    let mut reported = Vec::new();
    compile_errors(expanded, &mut reported);
    let front: Vec<&str> = located.iter().map(|(m, _)| m.as_str()).collect();
    if reported != front {
        return Err(format!(
            "the expansion's compile_error!s {reported:?} are not the front end's errors {front:?}"
        ));
    }

    // Oracle 4, first half: a valid net is accepted.
    if valid && !located.is_empty() {
        return Err(format!("a valid net is rejected: {front:?}"));
    }
    Ok(Outcome {
        accepted: located.is_empty(),
        errors: located.len(),
        elapsed,
    })
}

/// Oracle 4, second half: the smooth valid net of `seed` has interpreter gradients equal
/// to central finite differences, on a few elements of each leaf (`random_nets_ir.rs`
/// checks every element, on its own seeds).
pub fn gradients_match(seed: u64) -> Result<(), String> {
    interpreter_gradients_match(seed, 0xF0F0, true)
}
