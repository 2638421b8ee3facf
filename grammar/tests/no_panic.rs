//! Property tests: the front end never panics, and always yields either a checked net and
//! no error, or at least one error. Inputs are random token soups and random mutations
//! (delete, duplicate, swap, replace) of valid nets.

use chainrule_grammar::{check_str, check_tokens};
use proptest::prelude::*;

const VALID: &[&str] = &[
    "/// XOR
     pub net Xor {
         input x: [2]; target t: [1];
         param w1: [2, 2] = xavier; param b1: [2];
         param w2: [1, 2] = xavier; param b2: [1];
         let h = sigmoid(w1 @ x + b1);
         let y = sigmoid(w2 @ h + b2);
         output y; loss bce(y, t);
     }",
    "fn swish(z) = z * sigmoid(z);
     #[scalar(f64)] #[chainrule(max_size = 100000, unroll = 64)]
     pub(crate) net Mlp {
         input x: [4]; target t: [3];
         let h = dense(x, 8, swish);
         let z = dense(h, 3);
         let p = softmax(z);
         output p;
         loss softmax_cross_entropy(z, t) + 0.001 * sum(h_w * h_w);
     }",
    "net Auto {
         input x: [3];
         param w: [3, 2] = uniform(-0.1, 0.1);
         param s: [] = constant(1);
         fn sq(a) = a ^ 2;
         let e = x @ w;
         let d = e @ transpose(w) * s;
         let q = leaky_relu(d, -0.2)[0] + max(d, 0.5)[2] ^ 2;
         output d;
         loss mean(sq(d - x)) + q * 1e-3 + mse(d, x);
     }",
];

/// Tokens that appear in the language, plus some that do not.
const VOCAB: &[&str] = &[
    "net",
    "pub",
    "input",
    "target",
    "param",
    "let",
    "output",
    "loss",
    "fn",
    "x",
    "y",
    "t",
    "w",
    "h",
    "dense",
    "sigmoid",
    "softmax",
    "leaky_relu",
    "sum",
    "mse",
    "xavier",
    "uniform",
    "zeros",
    "#",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    ";",
    ":",
    ",",
    "=",
    "+",
    "-",
    "*",
    "/",
    "@",
    "^",
    "0",
    "1",
    "2",
    "3",
    "1.5",
    "1e-3",
    "0xff",
    "7u8",
    "99999999999999999999999999999999999999999",
    "1foo",
    "\"s\"",
    "'c'",
    "doc",
    "chainrule",
    "scalar",
    "max_size",
    "unroll",
    "f64",
    "type",
    "_",
    "%",
    "crate",
    "::",
    "!",
    "&",
];

/// Drops unmatched closing brackets and closes open ones, so most soups lex.
fn balance(tokens: &[String]) -> String {
    let mut stack = Vec::new();
    let mut out = Vec::new();
    for t in tokens {
        match t.as_str() {
            "(" | "[" | "{" => {
                stack.push(t.clone());
                out.push(t.clone());
            }
            ")" | "]" | "}" => {
                let open = match t.as_str() {
                    ")" => "(",
                    "]" => "[",
                    _ => "{",
                };
                if stack.last().map(String::as_str) == Some(open) {
                    stack.pop();
                    out.push(t.clone());
                }
            }
            _ => out.push(t.clone()),
        }
    }
    while let Some(open) = stack.pop() {
        out.push(match open.as_str() {
            "(" => ")".into(),
            "[" => "]".into(),
            _ => "}".into(),
        });
    }
    out.join(" ")
}

/// The property itself, for text.
fn holds(src: &str) -> Result<(), TestCaseError> {
    let front = check_str(src);
    prop_assert!(
        !front.errors.is_empty() || !front.nets.is_empty(),
        "neither a net nor an error for {src:?}"
    );
    if front.errors.is_empty() {
        prop_assert!(
            front.stubs.is_empty(),
            "a stub without an error for {src:?}"
        );
    }
    let located = chainrule_grammar::check_str_located(src);
    prop_assert_eq!(located.len(), front.errors.len());
    if let Ok(tokens) = src.parse::<proc_macro2::TokenStream>() {
        let again = check_tokens(tokens);
        prop_assert_eq!(again.errors.len(), front.errors.len());
        prop_assert_eq!(again.nets.len(), front.nets.len());
    }
    Ok(())
}

/// One edit of a token list.
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Replace(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Replace(a, b)),
    ]
}

fn apply(tokens: &mut Vec<String>, e: &Edit) {
    let n = tokens.len();
    if n == 0 {
        return;
    }
    match *e {
        Edit::Delete(i) => {
            tokens.remove(i % n);
        }
        Edit::Duplicate(i) => {
            let t = tokens[i % n].clone();
            tokens.insert(i % n, t);
        }
        Edit::Swap(a, b) => tokens.swap(a % n, b % n),
        Edit::Replace(i, v) => tokens[i % n] = VOCAB[v % VOCAB.len()].to_string(),
    }
}

/// The tokens of a valid net as the macro would see them, each as text.
fn tokens_of(src: &str) -> Vec<String> {
    let ts: proc_macro2::TokenStream = src.parse().expect("valid nets lex");
    let source = chainrule_grammar::source::Source::flatten(ts);
    source
        .tokens
        .iter()
        .map(|t| source.snippet(&t.range).to_string())
        .collect()
}

proptest! {
    // 256 cases keep the suite fast; `PROPTEST_CASES=100000` runs a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn token_soups(soup in proptest::collection::vec(0..VOCAB.len(), 0..60)) {
        let tokens: Vec<String> = soup.iter().map(|&i| VOCAB[i].to_string()).collect();
        holds(&tokens.join(" "))?;
        holds(&balance(&tokens))?;
    }

    #[test]
    fn mutated_nets(which in 0..VALID.len(), edits in proptest::collection::vec(edit(), 1..6)) {
        let mut tokens = tokens_of(VALID[which]);
        for e in &edits {
            apply(&mut tokens, e);
        }
        holds(&tokens.join(" "))?;
        holds(&balance(&tokens))?;
    }
}

#[test]
fn the_valid_nets_are_valid() {
    for src in VALID {
        let front = check_str(src);
        let errors: Vec<String> = front.errors.iter().map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(front.nets.len(), 1);
    }
}

#[test]
fn nesting_just_under_the_limits_works() {
    // 60 levels of brackets, each with a unary minus: within both limits, and checked
    // on a test thread's small stack.
    let expr = "(-".repeat(60) + "x" + &")".repeat(60);
    let src = format!("net A {{ input x: [1]; let y = {expr}; output y; loss sum(y); }}");
    let front = check_str(&src);
    assert!(front.errors.is_empty() && front.nets.len() == 1);
    let long = "x".to_string() + &" + x".repeat(250);
    let src = format!("net A {{ input x: [1]; let y = {long}; output y; loss sum(y); }}");
    let front = check_str(&src);
    assert!(front.errors.is_empty() && front.nets.len() == 1);
}

#[test]
fn pathological_inputs() {
    let deep = "net A { input x: [1]; let y = ".to_string()
        + &"(".repeat(3000)
        + "x"
        + &")".repeat(3000)
        + "; output y; loss sum(y); }";
    let negs = "net A { input x: [1]; let y = ".to_string()
        + &"-".repeat(5000)
        + "x; output y; loss sum(y); }";
    let pows = "net A { input x: [1]; let y = x".to_string()
        + &" ^ x".repeat(5000)
        + "; output y; loss sum(y); }";
    let sums = "net A { input x: [1]; let y = x".to_string()
        + &" + x".repeat(20000)
        + "; output y; loss sum(y); }";
    let many = "net A { input x: [1]; output x; loss sum(x); ".to_string()
        + &"let a = x; ".repeat(3000)
        + "}";
    let nets = "net A { input x: [1]; output x; loss sum(x); } ".repeat(300);
    let wide = "net A { input x: [1]; output x; loss sum(x); param w: [18446744073709551615, 18446744073709551615]; }";
    for src in [deep, negs, pows, sums, many, nets, wide.to_string()] {
        let front = check_str(&src);
        assert!(!front.errors.is_empty() || !front.nets.is_empty());
    }
}
