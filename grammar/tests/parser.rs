//! Parser tests, data-driven: each case is an expression (or a statement list) and its
//! s-expression, or the syntax error it must produce.

use chainrule_grammar::ast::{BodyStmt, ForLoop, Item, StmtKind};
use chainrule_grammar::diag::Ctxt;
use chainrule_grammar::parser::{self, parse_expr};
use chainrule_grammar::source::Source;

/// Parses `src` as one expression and compares its s-expression with `want`.
#[track_caller]
fn p(src: &str, want: &str) {
    match parse_expr(src) {
        Ok(e) => assert_eq!(e.to_string(), want, "parsing `{src}`"),
        Err(msgs) => panic!("`{src}` did not parse: {msgs:?}"),
    }
}

/// Parses `src` as one expression and expects a syntax error containing `want`.
#[track_caller]
fn bad(src: &str, want: &str) {
    match parse_expr(src) {
        Ok(e) => panic!("`{src}` parsed as {e}"),
        Err(msgs) => assert!(msgs.iter().any(|m| m.contains(want)), "`{src}`: {msgs:?}"),
    }
}

#[test]
fn precedence() {
    p("a + b * c", "(+ a (* b c))");
    p("a * b + c", "(+ (* a b) c)");
    p("a - b - c", "(- (- a b) c)");
    p("a / b / c", "(/ (/ a b) c)");
    p("a * b / c", "(/ (* a b) c)");
    p("a @ b * c", "(* (@ a b) c)");
    p("a * b @ c", "(* a (@ b c))");
    p("a @ b @ c", "(@ (@ a b) c)");
    p("w @ x + b", "(+ (@ w x) b)");
    p("-a ^ 2", "(neg (^ a 2))");
    p("-a @ b", "(@ (neg a) b)");
    p("- -a", "(neg (neg a))");
    p("a ^ b ^ c", "(^ a (^ b c))");
    p("a ^ -b", "(^ a (neg b))");
    p("(a + b) * c", "(* (+ a b) c)");
    p("-(a + b)", "(neg (+ a b))");
    p("(-a) ^ 2", "(^ (neg a) 2)");
    p("a - -b", "(- a (neg b))");
    p("2 * -x", "(* 2 (neg x))");
    p("a + b - c + d", "(+ (- (+ a b) c) d)");
}

#[test]
fn calls_and_indexing() {
    p("f()", "(f)");
    p("sigmoid(w1 @ x + b1)", "(sigmoid (+ (@ w1 x) b1))");
    p("max(a, b)", "(max a b)");
    p("f(a, b, c,)", "(f a b c)");
    p("f(g(x))", "(f (g x))");
    p("v[0]", "([] v 0)");
    p("m[1, 2]", "([] m 1 2)");
    p("softmax(z)[0]", "([] (softmax z) 0)");
    p("(a + b)[1]", "([] (+ a b) 1)");
    p("-v[0]", "(neg ([] v 0))");
    p("v[0] ^ 2", "(^ ([] v 0) 2)");
    p("a ^ v[1]", "(^ a ([] v 1))");
    p("v[0][1]", "([] ([] v 0) 1)");
    p("dense(x, 16, tanh)", "(dense x 16 tanh)");
    p("leaky_relu(x, -0.2)", "(leaky_relu x (neg 0.2))");
}

#[test]
fn names() {
    p("netx", "netx");
    p("letter", "letter");
    p("input_1", "input_1");
    p("_x", "_x");
    p("αβ", "αβ");
    p("loss", "loss");
}

#[test]
fn number_forms() {
    p("3", "3");
    p("1_000", "1000");
    p("0xff", "255");
    p("0x_FF", "255");
    p("0o17", "15");
    p("0b1010", "10");
    p("0b1010u8", "10");
    p("7u8", "7");
    p("1.5", "1.5");
    p("1.", "1.0");
    p("1e3", "1000.0");
    p("1E3", "1000.0");
    p("1e-3", "0.001");
    p("2.5e+2", "250.0");
    p("1_0.2_5", "10.25");
    p("1e_3", "1000.0");
    p("1.5f32", "1.5");
    p("2f64", "2");
    p("1e3f32", "1000.0");
    p("1.0e10", "10000000000.0");
    p(
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211455",
    );
    p("340282366920938463463374607431768211456", "<too large>");
}

#[test]
fn syntax_errors() {
    bad("a +", "expected an expression, found the end of the input");
    bad("a b", "expected an operator");
    bad("(a", "cannot parse");
    bad("f(a b)", "expected `)`, `,` or an operator, found `b`");
    bad("v[x]", "expected a number");
    bad("v[]", "expected a number");
    bad("a ** b", "expected an expression, found `*`");
}

/// Parses a whole invocation, returning the statement kinds of each net, or the messages.
fn stmts(src: &str) -> Result<Vec<String>, Vec<String>> {
    let tokens: proc_macro2::TokenStream = src.parse().map_err(|_| vec!["lex".to_string()])?;
    let source = Source::flatten(tokens);
    let cx = Ctxt::new();
    let file = parser::parse(&source, &cx);
    let msgs: Vec<String> = cx.finish().into_iter().map(|d| d.message).collect();
    let mut out = Vec::new();
    for item in &file.items {
        match item {
            Item::BrokenFn(name) => out.push(format!("broken fn {}", name.text)),
            Item::Fn(f) => out.push(format!(
                "fn {}({}) = {}",
                f.name.text,
                f.params.len(),
                f.body
            )),
            Item::Net(n) => {
                let attrs: Vec<String> = n.attrs.iter().map(|a| format!("{:?}", a.kind)).collect();
                out.push(format!(
                    "net {} vis={} attrs={}",
                    n.name.text,
                    n.vis.is_some(),
                    attrs.len()
                ));
                for s in &n.stmts {
                    out.push(match &s.kind {
                        StmtKind::Input(n, s) => format!("input {} {}", n.text, s.dims.len()),
                        StmtKind::Target(n, s) => format!("target {} {}", n.text, s.dims.len()),
                        StmtKind::Param(n, s, i) => format!(
                            "param {} {} {}",
                            n.text,
                            s.dims.len(),
                            i.as_ref().map_or("-".to_string(), |i| format!(
                                "{}{}",
                                i.name.text,
                                i.args
                                    .as_ref()
                                    .map_or(String::new(), |a| format!("/{}", a.len()))
                            ))
                        ),
                        StmtKind::Let(n, e) => format!("let {} = {e}", n.text),
                        StmtKind::State(n, s, i) => format!(
                            "state {} {} {}",
                            n.text,
                            s.dims.len(),
                            i.as_ref().map_or("-", |i| i.name.text.as_str())
                        ),
                        StmtKind::LetFor(n, l) => format!("let {} = {}", n.text, for_loop(l)),
                        StmtKind::For(l) => for_loop(l),
                        StmtKind::Output(n) => format!("output {}", n.text),
                        StmtKind::Loss(e) => format!("loss {e}"),
                        StmtKind::Fn(f) => {
                            format!("fn {}({}) = {}", f.name.text, f.params.len(), f.body)
                        }
                        StmtKind::Broken { keyword, name } => format!(
                            "broken {} {}",
                            keyword.as_deref().unwrap_or("-"),
                            name.as_ref().map_or("-", |n| n.text.as_str())
                        ),
                    });
                }
            }
        }
    }
    if msgs.is_empty() { Ok(out) } else { Err(msgs) }
}

/// `for x in xs { let a = ..; h = ..; y }` as the parser read it.
fn for_loop(l: &ForLoop) -> String {
    let mut parts: Vec<String> = l
        .body
        .iter()
        .map(|s| match s {
            BodyStmt::Let(n, e) => format!("let {} = {e};", n.text),
            BodyStmt::Assign(n, e) => format!("{} = {e};", n.text),
        })
        .collect();
    parts.extend(l.output.iter().map(|e| e.to_string()));
    format!("for {} in {} {{ {} }}", l.var.text, l.seq, parts.join(" "))
}

#[test]
fn statements() {
    let got = stmts(
        "/// doc
         #[derive(Clone)]
         #[chainrule(max_size = 10, unroll = 3,)]
         #[scalar(f64)]
         #[rustfmt::skip]
         #[doc = \"a [bracket] and a \\\" quote\"]
         #[cfg(any(test, feature = \"x\"))]
         pub(crate) net A {
             input x: [2];
             target t: [];
             /// documented
             param w: [2, 2] = xavier;
             param b: [2];
             param c: [1] = uniform(-0.1, 0.1);
             param d: [1] = constant(-1);
             param e: [1] = normal(0, 1e-2);
             param f: [1] = he;
             param g: [1] = ones;
             param h: [1] = zeros;
             let y = w @ x + b;
             fn sq(z) = z * z;
             output y;
             loss mse(y, t);
         }
         fn swish(z) = z * sigmoid(z);
         net B { input x: [1, 2]; output x; loss sum(x); }
         pub net C {} pub(super) net D {}",
    )
    .expect("parses");
    let want = [
        "net A vis=true attrs=7",
        "input x 1",
        "target t 0",
        "param w 2 xavier",
        "param b 1 -",
        "param c 1 uniform/2",
        "param d 1 constant/1",
        "param e 1 normal/2",
        "param f 1 he",
        "param g 1 ones",
        "param h 1 zeros",
        "let y = (+ (@ w x) b)",
        "fn sq(1) = (* z z)",
        "output y",
        "loss (mse y t)",
        "fn swish(1) = (* z (sigmoid z))",
        "net B vis=false attrs=0",
        "input x 2",
        "output x",
        "loss (sum x)",
        "net C vis=true attrs=0",
        "net D vis=true attrs=0",
    ];
    assert_eq!(got, want);
}

#[test]
fn keywords_are_not_prefixes_and_attributes_balance() {
    let got = stmts(
        "#[doc = r#\"raw ] [ \" string\"#]
         #[foo(']', \"}\", b'[', [()], {x})]
         net netx { input inputs: [1]; let letter = inputs; let loss_ = letter;
                    output outputs_; loss lossy; }",
    )
    .expect("parses");
    let want = [
        "net netx vis=false attrs=2",
        "input inputs 1",
        "let letter = inputs",
        "let loss_ = letter",
        "output outputs_",
        "loss lossy",
    ];
    assert_eq!(got, want);
}

#[test]
fn statement_syntax_errors() {
    let cases: &[(&str, &str)] = &[
        ("net A { input x [2]; }", "expected `:`, found `[`"),
        ("net A { let h = ; }", "expected an expression, found `;`"),
        (
            "net A { let h = x }",
            "expected `;` or an operator after `x`, found `}`",
        ),
        ("net A { output y }", "expected `;` after `y`, found `}`"),
        (
            "net A { param w: [2] = ; }",
            "expected an initialiser like `xavier`, found `;`",
        ),
        (
            "net A { foo x; }",
            "expected a statement (`input`, `target`, `param`, `state`, `let`, `for`, `output`, `loss` or `fn`), found `foo`",
        ),
        ("net A { for x xs {} }", "expected `in`, found `xs`"),
        (
            "net A { let y = for x in xs { h = 1 }; }",
            "expected `;` or an operator after `1`, found `}`",
        ),
        (
            "net A { let y = for x in xs { h + 1; y }; }",
            "expected `}` or an operator, found `;`",
        ),
        (
            "net A { h = tanh(h); }",
            "`h = ..` sets a state, which only a `for` loop's body can do, as in `for x in xs { h = ..; }`; to name a value here, write `let h = ..;`",
        ),
        ("net A { state h [2]; }", "expected `:`, found `[`"),
        ("net A { let y = xs[0..]; }", "expected a number, found `]`"),
        (
            "net A { param w: 2; }",
            "expected a shape like `[2]`, found `2`",
        ),
        ("netA {}", "expected"),
        (
            "pub(self) net A {}",
            "expected `crate` or `super`, found `self`",
        ),
        ("#[chainrule(max_size)] net A {}", "expected `=`, found `)`"),
        ("#[scalar] net A {}", "expected `(`, found `]`"),
        ("net A { input x: [2]; } garbage", "found `garbage`"),
        ("fn f() = 1;", "expected a name, found `)`"),
        (
            "fn f(x) = x",
            "expected `;` or an operator after `x`, found the end of the input",
        ),
    ];
    for (src, want) in cases {
        match stmts(src) {
            Ok(s) => panic!("`{src}` parsed: {s:?}"),
            Err(msgs) => assert!(msgs.iter().any(|m| m.contains(want)), "`{src}`: {msgs:?}"),
        }
    }
}

#[test]
fn every_syntax_error_is_reported_and_the_rest_still_parses() {
    let src = "net A { input x [2]; let h = x; let y = h +; output y; loss sum(y); }
               fn f(x) = ;
               net B { input x: [1]; output x; loss sum(x); }";
    let tokens: proc_macro2::TokenStream = src.parse().unwrap();
    let source = Source::flatten(tokens);
    let cx = Ctxt::new();
    let file = parser::parse(&source, &cx);
    let msgs: Vec<String> = cx.finish().into_iter().map(|d| d.message).collect();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    // Net A keeps its good statements and marks the broken ones; `fn f` keeps its name;
    // B is whole.
    assert_eq!(file.items.len(), 3);
    assert!(matches!(&file.items[1], Item::BrokenFn(n) if n.text == "f"));
    assert!(matches!(&file.items[2], Item::Net(n) if n.stmts.len() == 3));
    let Item::Net(a) = &file.items[0] else {
        panic!("not a net")
    };
    let kinds: Vec<String> = a
        .stmts
        .iter()
        .map(|s| match &s.kind {
            StmtKind::Broken { keyword, name } => {
                format!("broken {:?} {:?}", keyword, name.as_ref().map(|n| &n.text))
            }
            StmtKind::Let(n, _) => format!("let {}", n.text),
            other => {
                format!("{:?}", std::mem::discriminant(other))
                    .chars()
                    .take(0)
                    .collect::<String>()
                    + "other"
            }
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "broken Some(\"input\") Some(\"x\")",
            "let h",
            "broken Some(\"let\") Some(\"y\")",
            "other",
            "other"
        ]
    );
}
