//! Checker tests, data-driven: a valid net renders to its checked model in a compact text
//! form; an invalid one yields the expected messages at the expected tokens.

use chainrule_grammar::check_str;
use chainrule_grammar::model::{
    BinOp, CellStmt, Expr, ExprKind, Func, Init, Net, Scalar, Shape, StateInit, StubApi, Sym,
};

/// The model as text: one line per declaration, expressions as s-expressions.
fn render(net: &Net) -> String {
    let mut out = format!("net {} {:?} unroll={}\n", net.name, net.scalar, net.unroll);
    out += &format!("input {} {}\n", net.input.name, net.input.shape);
    if let Some(t) = &net.target {
        out += &format!("target {} {}\n", t.name, t.shape);
    }
    for p in &net.params {
        let init = match p.init {
            Init::Zeros => "zeros".to_string(),
            Init::Ones => "ones".to_string(),
            Init::Constant(c) => format!("constant({c})"),
            Init::Uniform(a, b) => format!("uniform({a}, {b})"),
            Init::Normal(a, b) => format!("normal({a}, {b})"),
            Init::Xavier => "xavier".to_string(),
            Init::He => "he".to_string(),
        };
        out += &format!(
            "param {} {} {init} fan {}/{}{}\n",
            p.name,
            p.shape,
            p.fan_in,
            p.fan_out,
            if p.docs.is_empty() { "" } else { " (doc)" }
        );
    }
    for s in &net.states {
        let init = match s.init {
            StateInit::Zeros => "zeros".to_string(),
            StateInit::Ones => "ones".to_string(),
            StateInit::Constant(c) => format!("constant({c})"),
            StateInit::Param(p) => format!("param {}", net.params[p].name),
        };
        out += &format!("state {} {} = {init}\n", s.name, s.shape);
    }
    for l in &net.lets {
        out += &format!(
            "let {} {} = {}\n",
            l.name,
            l.value.shape,
            sexpr(net, &l.value)
        );
    }
    out += &format!("output {}\n", sym(net, net.output));
    out += &format!("loss {}\n", sexpr(net, &net.loss));
    for f in &net.fns {
        out += &format!(
            "fn {}({}) = {}\n",
            f.name,
            f.params.join(", "),
            sexpr(net, &f.body)
        );
    }
    out
}

fn sym(net: &Net, s: Sym) -> String {
    match s {
        Sym::Input => net.input.name.clone(),
        Sym::Target => net.target.as_ref().map_or("?".into(), |t| t.name.clone()),
        Sym::Param(i) => net.params[i].name.clone(),
        Sym::Let(i) => net.lets[i].name.clone(),
        Sym::State(i) => net.states[i].name.clone(),
        Sym::Row => "row".into(),
        Sym::Local(i) => format!("local{i}"),
    }
}

fn sexpr(net: &Net, e: &Expr) -> String {
    match &e.kind {
        ExprKind::Num(v) => format!("{v:?}"),
        ExprKind::Sym(s) => sym(net, *s),
        ExprKind::FnArg(i) => format!("${i}"),
        ExprKind::Neg(a) => format!("(neg {})", sexpr(net, a)),
        ExprKind::Binary(op, a, b) => {
            let op = match op {
                BinOp::Add => "+",
                BinOp::Sub => "-",
                BinOp::Mul => "*",
                BinOp::Div => "/",
                BinOp::Pow => "^",
                BinOp::MatMul => "@",
            };
            format!("({op} {} {})", sexpr(net, a), sexpr(net, b))
        }
        ExprKind::Call(f, args) => {
            let name = match f {
                Func::User(i) => net.fns[*i].name.clone(),
                Func::Elem(f) if f.is("leaky_relu") => {
                    format!("leaky_relu:{}", f.params().next().unwrap_or(f64::NAN))
                }
                Func::Elem(f) => f.name().to_string(),
                f => snake(&format!("{f:?}")),
            };
            let args: Vec<String> = args.iter().map(|a| sexpr(net, a)).collect();
            format!("({name} {})", args.join(" "))
        }
        ExprKind::Index(a, idx) => {
            let idx: Vec<String> = idx.iter().map(|i| i.to_string()).collect();
            format!("([] {} {})", sexpr(net, a), idx.join(" "))
        }
        ExprKind::Slice(a, from, to) => format!("([..] {} {from} {to})", sexpr(net, a)),
        ExprKind::For(r) => {
            let mut body: Vec<String> = r
                .body
                .iter()
                .map(|s| match s {
                    CellStmt::Let(e) => format!("(let {})", sexpr(net, e)),
                    CellStmt::Assign(i, e) => {
                        format!("(= {} {})", net.states[*i].name, sexpr(net, e))
                    }
                })
                .collect();
            body.extend(r.output.iter().map(|e| sexpr(net, e)));
            format!("(for {} {})", sexpr(net, &r.seq), body.join(" "))
        }
    }
}

/// `LogSoftmax` → `log_softmax`.
fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Checks `src` and compares the rendered models with `expect` (trimmed, per line).
#[track_caller]
fn ok(src: &str, expect: &str) {
    let front = check_str(src);
    let errors: Vec<String> = front.errors.iter().map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    let got: String = front.nets.iter().map(render).collect();
    let want: String = expect
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(got, want, "\n--- got ---\n{got}");
}

const XOR: &str = "
    /// Two sigmoid hidden units, one sigmoid output.
    pub net Xor {
        input  x: [2];
        target t: [1];

        param w1: [2, 2] = xavier;
        param b1: [2];                 // init defaults to zeros
        param w2: [1, 2] = xavier;
        param b2: [1];

        let h = sigmoid(w1 @ x + b1);
        let y = sigmoid(w2 @ h + b2);

        output y;
        loss bce(y, t);
    }";

#[test]
fn xor() {
    ok(
        XOR,
        "net Xor F32 unroll=512
         input x [2]
         target t [1]
         param w1 [2, 2] xavier fan 2/2
         param b1 [2] zeros fan 2/2
         param w2 [1, 2] xavier fan 2/1
         param b2 [1] zeros fan 1/1
         let h [2] = (sigmoid (+ (@ w1 x) b1))
         let y [1] = (sigmoid (+ (@ w2 h) b2))
         output y
         loss (bce y t)",
    );
    let front = check_str(XOR);
    let net = &front.nets[0];
    assert_eq!(net.vis.to_string(), "pub");
    assert_eq!(net.attrs.len(), 1);
    assert!(
        net.attrs[0]
            .to_string()
            .contains("Two sigmoid hidden units")
    );
}

#[test]
fn dense_expands_where_the_let_stands() {
    ok(
        "fn swish(z) = z * sigmoid(z);
         net Mlp {
             input x: [4];
             target t: [3];
             param s: [] = constant(2);
             let h = dense(x, 8, tanh);
             let g = dense(h, 5, swish);
             let l = dense(g, 5, leaky_relu);
             let z = dense(l, 3);
             output z;
             loss mse(z, t) * s;
         }",
        "net Mlp F32 unroll=512
         input x [4]
         target t [3]
         param s [] constant(2) fan 1/1
         param h_w [8, 4] xavier fan 4/8
         param h_b [8] zeros fan 8/8
         param g_w [5, 8] xavier fan 8/5
         param g_b [5] zeros fan 5/5
         param l_w [5, 5] xavier fan 5/5
         param l_b [5] zeros fan 5/5
         param z_w [3, 5] xavier fan 5/3
         param z_b [3] zeros fan 3/3
         let h [8] = (tanh (+ (@ h_w x) h_b))
         let g [5] = (swish (+ (@ g_w h) g_b))
         let l [5] = (leaky_relu:0.01 (+ (@ l_w g) l_b))
         let z [3] = (+ (@ z_w l) z_b)
         output z
         loss (* (mse z t) s)
         fn swish(z) = (* $0 (sigmoid $0))",
    );
}

#[test]
fn fans_follow_the_first_matrix_product() {
    ok(
        "net Flax {
             input x: [3];
             param w: [3, 2] = he;
             param v: [2, 4];
             param u: [5, 6];
             param s: [];
             let h = x @ w;
             let k = w @ v;
             let y = transpose(v) @ transpose(w) + sum(u) * s;
             output y;
             loss sum(h) + sum(k) + sum(y);
         }",
        "net Flax F32 unroll=512
         input x [3]
         param w [3, 2] he fan 3/2
         param v [2, 4] zeros fan 2/4
         param u [5, 6] zeros fan 6/5
         param s [] zeros fan 1/1
         let h [2] = (@ x w)
         let k [3, 4] = (@ w v)
         let y [4, 3] = (+ (@ (transpose v) (transpose w)) (* (sum u) s))
         output y
         loss (+ (+ (sum h) (sum k)) (sum y))",
    );
}

#[test]
fn every_operator_and_function() {
    ok(
        "fn sq(a) = a ^ 2;
         fn mix(a, b) = max(a, b) - min(a, 0.5) + leaky_relu(a, -0.2) + exp(b) / ln(b);
         #[scalar(f64)]
         #[chainrule(unroll = 64, max_size = 5000)]
         pub(crate) net Ops {
             input x: [3];
             target t: [3];
             param m: [3, 3] = normal(0, 0.1);
             param c: [3] = uniform(-1, 1.5);
             fn cube(a) = a * a * a;
             let a = -m @ x ^ 2;
             let b = sqrt(abs(sin(a) + cos(a))) * tanh(c) + relu(c) - softplus(c) / sigmoid(c);
             let d = mix(a, b) + sq(c) + cube(c[1]);
             let e = softmax(d) + log_softmax(d) + m[2, 0] * d[0];
             let f = transpose(m) @ e;
             output f;
             loss mean(f) + dot(f, t) + mse(f, t) + bce(sigmoid(f), t) + bce_with_logits(f, t)
                 + cross_entropy(softmax(f), t) + softmax_cross_entropy(f, t);
         }",
        "net Ops F64 unroll=64
         input x [3]
         target t [3]
         param m [3, 3] normal(0, 0.1) fan 3/3
         param c [3] uniform(-1, 1.5) fan 3/3
         let a [3] = (@ (neg m) (^ x 2.0))
         let b [3] = (- (+ (* (sqrt (abs (+ (sin a) (cos a)))) (tanh c)) (relu c)) (/ (softplus c) (sigmoid c)))
         let d [3] = (+ (+ (mix a b) (sq c)) (cube ([] c 1)))
         let e [3] = (+ (+ (softmax d) (log_softmax d)) (* ([] m 2 0) ([] d 0)))
         let f [3] = (@ (transpose m) e)
         output f
         loss (+ (+ (+ (+ (+ (+ (mean f) (dot f t)) (mse f t)) (bce (sigmoid f) t)) (bce_with_logits f t)) (cross_entropy (softmax f) t)) (softmax_cross_entropy f t))
         fn sq(a) = (^ $0 2.0)
         fn mix(a, b) = (+ (+ (- (max $0 $1) (min $0 0.5)) (leaky_relu:-0.2 $0)) (/ (exp $1) (ln $1)))
         fn cube(a) = (* (* $0 $0) $0)",
    );
}

#[test]
fn no_target_and_forward_references_in_output_and_loss() {
    ok(
        "net Auto {
             output y;
             loss sum(y * y) + sum(w);
             input x: [2];
             param w: [2, 2] = ones;
             let y = w @ x;
         }",
        "net Auto F32 unroll=512
         input x [2]
         param w [2, 2] ones fan 2/2
         let y [2] = (@ w x)
         output y
         loss (+ (sum (* y y)) (sum w))",
    );
}

#[test]
fn attributes_docs_and_visibility_pass_through() {
    let front = check_str(
        "/// The net.
         #[derive(Default)]
         #[allow(dead_code)]
         #[scalar(f64)]
         #[chainrule(unroll = 8)]
         pub(super) net A {
             /// The weights.
             param w: [1] = ones;
             /// The input.
             input x: [1];
             output x;
             loss sum(w * x);
         }
         net B { input x: [1]; param w: []; output x; loss sum(x) * w; }",
    );
    assert!(front.errors.is_empty());
    let a = &front.nets[0];
    let attrs: Vec<String> = a.attrs.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        attrs,
        [
            "# [doc = \" The net.\"]",
            "# [derive (Default)]",
            "# [allow (dead_code)]"
        ]
    );
    assert_eq!(a.vis.to_string(), "pub (super)");
    assert_eq!(a.params[0].docs.len(), 1);
    assert!(a.params[0].docs[0].to_string().contains("The weights."));
    let b = &front.nets[1];
    assert!(b.vis.is_empty() && b.attrs.is_empty());
    assert_eq!(b.name.to_string(), "B");
}

/// Checks `src` and expects exactly these errors: a part of the message each, and the
/// text it underlines (flattened: one space between tokens).
#[track_caller]
fn bad(src: &str, expect: &[(&str, &str)]) {
    let got = chainrule_grammar::check_str_located(src);
    let front = check_str(src);
    assert!(
        front.nets.is_empty() || !expect.is_empty(),
        "a net passed: {src}"
    );
    let ok = got.len() == expect.len()
        && got
            .iter()
            .zip(expect)
            .all(|((m, t), (wm, wt))| m.contains(wm) && t == wt);
    assert!(ok, "\nsource: {src}\nexpected: {expect:#?}\ngot: {got:#?}");
}

/// A net around `body` in which `w` and `b` reach the loss through `z`.
fn n(body: &str) -> String {
    format!(
        "net N {{ input x: [2]; target t: [1]; param w: [1, 2] = xavier; param b: [1]; let z = w @ x + b; {body} }}"
    )
}

#[test]
fn names() {
    bad(
        &n("let h = sigmoid(w @ xx + b); output h; loss mse(z, t);"),
        &[("unknown name `xx`; did you mean `x`?", "xx")],
    );
    bad(
        &n("let h = sigmod(z); output h; loss mse(z, t);"),
        &[(
            "unknown function `sigmod`; did you mean `sigmoid`?",
            "sigmod",
        )],
    );
    bad(
        &n("let h = log(z); output h; loss mse(z, t);"),
        &[("unknown function `log`; did you mean `ln`?", "log")],
    );
    bad(
        &n("let h = matmul(w, x); output h; loss mse(z, t);"),
        &[("unknown function `matmul`; use the `@` operator", "matmul")],
    );
    bad(
        &n("let h = w(x); output h; loss mse(z, t);"),
        &[("`w` is a parameter, not a function", "w")],
    );
    bad(
        &n("let h = sigmoid; output z; loss mse(z, t);"),
        &[("`sigmoid` is a function, not a value", "sigmoid")],
    );
    bad(
        &n("output zz; loss mse(z, t);"),
        &[("unknown name `zz` in `output`; did you mean `z`?", "zz")],
    );
    // The misspelt use does not also make `w` look unused.
    bad(
        &n("let h = sigmoid(ww @ x); output h; loss mse(h, t);"),
        &[("unknown name `ww`; did you mean `w`?", "ww")],
    );
    // Only names above a `let` are suggested.
    bad(
        "net N { input x: [1]; let y = yy; let yy2 = x; output y; loss sum(y); }",
        &[("unknown name `yy`", "yy")],
    );
}

#[test]
fn duplicates_and_order() {
    bad(
        &n("let z = x; output z; loss mse(z, t);"),
        &[("`z` is already defined (as a `let` above)", "z")],
    );
    bad(
        &n("param x: [2]; output z; loss mse(z, t);"),
        &[("`x` is already defined (as the input above)", "x")],
    );
    bad(
        &n("let h_w = x; let h = dense(x, 1); output h; loss mse(z, t) + mse(h, t);"),
        &[(
            "`dense` in `let h` declares the parameter `h_w`, but `h_w` is already defined (as a `let` above)",
            "h",
        )],
    );
    bad(
        &n("let h = dense(x, 1); param h_b: [1]; output h; loss mse(z, t) + mse(h, t);"),
        &[(
            "`h_b` is already defined (as a parameter of `dense` in `let h` above)",
            "h_b",
        )],
    );
    bad(
        &n("let h = z + c; param c: [1]; output h; loss mse(h, t);"),
        &[(
            "`c` is used before its definition; a `let` may only use names defined above it, so move `param c` above this `let`",
            "c",
        )],
    );
    bad(
        "net N { let y = x; input x: [1]; output y; loss sum(y); }",
        &[("`x` is used before its definition", "x")],
    );
    bad(
        &n("let h = h + z; output h; loss mse(h, t);"),
        &[("`h` is used in its own definition", "h")],
    );
    bad(
        "net A { input x: [1]; output x; loss sum(x); } net A { input x: [1]; output x; loss sum(x); }",
        &[("a net named `A` is already defined", "A")],
    );
    bad(
        &n("fn f(a) = a; fn f(b) = b; output z; loss mse(z, t);"),
        &[("a `fn` named `f` is already defined", "f")],
    );
}

#[test]
fn keywords() {
    bad(
        &n("let type = z; output type; loss mse(type, t);"),
        &[("`type` is a Rust keyword and cannot be a name here", "type")],
    );
    bad(
        "net struct { input x: [1]; output x; loss sum(x); }",
        &[("`struct` is a Rust keyword", "struct")],
    );
    bad(
        &n("param _: [1]; output z; loss mse(z, t);"),
        &[("`_` cannot be a name", "_")],
    );
    bad(
        &n("fn f(self) = 1; output z; loss mse(z, t);"),
        &[("`self` is a Rust keyword", "self")],
    );
}

#[test]
fn statement_counts() {
    bad(
        "net N { input x: [1]; output x; }",
        &[(
            "net `N` has no `loss`; add one, like `loss mse(y, t);`",
            "N",
        )],
    );
    bad(
        "net N { input x: [1]; loss sum(x); }",
        &[("net `N` has no `output`", "N")],
    );
    bad(
        "net N { param w: [1]; output w; loss sum(w); }",
        &[("net `N` has no `input`", "N")],
    );
    bad(
        &n("input y: [2]; output z; loss mse(z, t);"),
        &[(
            "a second `input`: a net has exactly one, and `x` is already its input",
            "input y : [ 2 ] ;",
        )],
    );
    bad(
        &n("target u: [2]; output z; loss mse(z, t);"),
        &[(
            "a second `target`: a net has at most one, and `t` is already its target",
            "target u : [ 2 ] ;",
        )],
    );
    bad(
        &n("output z; output x; loss mse(z, t);"),
        &[("a second `output`", "output x ;")],
    );
    bad(
        &n("output z; loss mse(z, t); loss mse(z, t);"),
        &[(
            "a second `loss`: a net has exactly one; add the terms into one `loss`",
            "loss mse ( z , t ) ;",
        )],
    );
    bad("", &[("`network!` defines no net", "")]);
    bad("fn f(x) = x;", &[("`network!` defines no net", "")]);
}

#[test]
fn shapes() {
    bad(
        &n("let h = w @ t; output z; loss mse(z, t) + sum(h);"),
        &[(
            "shape mismatch in `@`: `w` is [1, 2] but `t` is [1]; the inner sizes must agree",
            "w @ t",
        )],
    );
    bad(
        &n("let h = x @ w; output z; loss mse(z, t) + sum(h);"),
        &[(
            "shape mismatch in `@`: `x` is [2] but `w` is [1, 2]",
            "x @ w",
        )],
    );
    bad(
        &n("let h = z + x; output z; loss mse(z, t) + sum(h);"),
        &[(
            "shape mismatch in `+`: `z` is [1] but `x` is [2]; the shapes must be equal, or one side a scalar",
            "z + x",
        )],
    );
    bad(
        &n("let h = (w @ x + b) * x; output z; loss mse(z, t) + sum(h);"),
        &[(
            "shape mismatch in `*`: `w @ x + b` is [1] but `x` is [2]",
            "( w @ x + b ) * x",
        )],
    );
    bad(
        &n("let h = x ^ x; output z; loss mse(z, t) + sum(h);"),
        &[("the exponent of `^` must be a scalar, but `x` is [2]", "x")],
    );
    bad(
        &n("let h = x @ x; output z; loss mse(z, t) + h;"),
        &[(
            "`@` of two vectors (`x` is [2], `x` is [2]) is not defined; for their inner product use `dot(x, x)`",
            "x @ x",
        )],
    );
    bad(
        &n("let h = 2 @ x; output z; loss mse(z, t) + sum(h);"),
        &[(
            "`@` is a matrix product and needs a vector or a matrix on each side, but `2` is a scalar; use `*` to scale",
            "2 @ x",
        )],
    );
    bad(
        &n("output z; loss z - t;"),
        &[("the loss must be a scalar, but `z - t` is [1]", "z - t")],
    );
    bad(
        &n("output z; loss mse(z, x);"),
        &[(
            "shape mismatch in `mse`: `z` is [1] but `x` is [2]; both arguments must have the same shape",
            "mse ( z , x )",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + dot(z, x);"),
        &[("shape mismatch in `dot`", "dot ( z , x )")],
    );
    bad(
        &n("output z; loss mse(z, t) + sum(max(x, z));"),
        &[(
            "shape mismatch in `max`: `x` is [2] but `z` is [1]; the arguments must have the same shape, or be scalars",
            "max ( x , z )",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + sum(softmax(w));"),
        &[(
            "`softmax` takes a vector, but `w` is [1, 2]",
            "softmax ( w )",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + sum(log_softmax(1));"),
        &[(
            "`log_softmax` takes a vector, but `1` is []",
            "log_softmax ( 1 )",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + sum(transpose(x));"),
        &[(
            "`transpose` takes a matrix, but `x` is [2]",
            "transpose ( x )",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + x[2];"),
        &[(
            "index 2 is out of range for `x` of shape [2]; valid indices are 0 to 1",
            "2",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + w[0, 1, 0];"),
        &[(
            "`w` is [1, 2] and takes two indices, like `m[0, 1]`, or one for a row, like `m[0]`",
            "0 , 1 , 0",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + sum(w[1]);"),
        &[(
            "row 1 is out of range for `w` of shape [1, 2]; valid rows are 0 to 0",
            "1",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + x[0][0];"),
        &[("`x[0]` is a scalar and cannot be indexed", "x [ 0 ]")],
    );
    bad(
        &n("output z; loss mse(z, t) + x[0.5];"),
        &[("an index must be an integer literal, not `0.5`", "0.5")],
    );
    // One mistake, one error: the unknown shape of `q` is not a mismatch in `+` or `mse`.
    bad(
        &n("let h = q + x; output h; loss mse(h, t);"),
        &[("unknown name `q`", "q")],
    );
}

#[test]
fn calls() {
    bad(
        &n("output z; loss mse(z);"),
        &[("`mse` takes 2 arguments, but 1 was given", "mse ( z )")],
    );
    bad(
        &n("output z; loss mse(z, t) + sum(sigmoid(x, x));"),
        &[(
            "`sigmoid` takes 1 argument, but 2 were given",
            "sigmoid ( x , x )",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + sum(leaky_relu(x, b));"),
        &[(
            "the slope of `leaky_relu` must be a number literal, like `leaky_relu(x, 0.2)`, not `b`",
            "b",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + sum(leaky_relu());"),
        &[(
            "`leaky_relu` takes 1 or 2 arguments, but 0 were given",
            "leaky_relu ( )",
        )],
    );
}

#[test]
fn dense() {
    bad(
        &n("let h = dense(x, 0); output z; loss mse(z, t) + sum(h);"),
        &[("a `dense` layer needs at least one output", "0")],
    );
    bad(
        &n("let h = dense(x, k); output z; loss mse(z, t) + sum(h);"),
        &[(
            "the size of a `dense` layer must be a positive integer literal",
            "k",
        )],
    );
    bad(
        &n("let h = dense(x, 2.5); output z; loss mse(z, t) + sum(h);"),
        &[(
            "the size of a `dense` layer must be an integer literal, not `2.5`",
            "2.5",
        )],
    );
    bad(
        &n("let h = dense(x, 1, max); output z; loss mse(z, t) + sum(h);"),
        &[(
            "`max` takes two arguments, so it cannot be the activation of `dense`",
            "max",
        )],
    );
    bad(
        &n("let h = dense(x, 1, softmax); output z; loss mse(z, t) + sum(h);"),
        &[(
            "`softmax` is not elementwise, so it cannot be the activation of `dense`; apply it in its own `let`",
            "softmax",
        )],
    );
    bad(
        &n("let h = dense(x, 1, tanhh); output z; loss mse(z, t) + sum(h);"),
        &[("unknown function `tanhh`; did you mean `tanh`?", "tanhh")],
    );
    bad(
        &n("let h = dense(x, 1, z); output z; loss mse(z, t) + sum(h);"),
        &[("unknown function `z`", "z")],
    );
    bad(
        &n("let h = dense(w, 1); output z; loss mse(z, t) + sum(h);"),
        &[("`dense` takes a vector input, but `w` is [1, 2]", "w")],
    );
    bad(
        &n("let h = dense(x); output z; loss mse(z, t) + sum(h);"),
        &[(
            "`dense` takes 2 or 3 arguments, but 1 was given",
            "dense ( x )",
        )],
    );
    bad(
        &n("let h = sigmoid(dense(x, 1)); output z; loss mse(z, t) + sum(h);"),
        &[(
            "`dense` declares parameters, so it must be the whole right side of a `let`",
            "dense ( x , 1 )",
        )],
    );
    bad(
        &n("let h = dense(x, 1); output z; loss mse(z, t);"),
        &[(
            "the `dense` layer `h` does not affect the loss, so its parameters `h_w` and `h_b` would never be trained",
            "h",
        )],
    );
}

#[test]
fn fns() {
    bad(
        &n("fn f(a) = f(a); output z; loss mse(f(z), t);"),
        &[("`f` calls itself; a `fn` cannot be recursive", "f")],
    );
    bad(
        "fn f(a) = g(a); fn g(a) = f(a) + 1; net N { input x: [1]; output x; loss sum(f(x)); }",
        &[
            ("`f` calls `g`, which calls `f` again", "g"),
            ("`g` calls `f`, which calls `g` again", "f"),
        ],
    );
    bad(
        &n("fn f(a) = sum(a); output z; loss mse(z, t);"),
        &[("`sum` cannot appear in a `fn` body", "sum ( a )")],
    );
    bad(
        &n("fn f(a) = mse(a, a); output z; loss mse(z, t);"),
        &[("`mse` cannot appear in a `fn` body", "mse ( a , a )")],
    );
    bad(
        &n("fn f(a) = a @ a; output z; loss mse(z, t);"),
        &[("`@` cannot appear in a `fn` body", "a @ a")],
    );
    bad(
        &n("fn f(a) = a * w; output z; loss mse(z, t);"),
        &[(
            "`w` is not a parameter of `f`; a `fn` body may only use its parameters (`a`) and numbers",
            "w",
        )],
    );
    bad(
        &n("fn f(a) = a[0]; output z; loss mse(z, t);"),
        &[("`a` is a scalar and cannot be indexed", "a")],
    );
    bad(
        &n("fn relu(a) = a; output z; loss mse(z, t);"),
        &[(
            "`relu` is a built-in function; give this `fn` another name",
            "relu",
        )],
    );
    bad(
        &n("fn f(a, a) = a; output z; loss mse(z, t);"),
        &[("`a` is a parameter of `f` twice", "a")],
    );
    bad(
        &n("fn f(a, c) = a * c; output z; loss mse(f(z), t);"),
        &[("`f` takes 2 arguments, but 1 was given", "f ( z )")],
    );
    bad(
        &n("fn f(a, c) = a * c; output z; loss mse(z, t) + sum(f(x, z));"),
        &[(
            "shape mismatch in `f`: `x` is [2] but `z` is [1]",
            "f ( x , z )",
        )],
    );
    bad(
        &n("fn f(a) = g(a); output z; loss mse(z, t);"),
        &[("unknown function `g`", "g")],
    );
}

#[test]
fn declarations() {
    bad(
        &n("param c: [0]; output z; loss mse(z, t) + sum(c);"),
        &[("a dimension must be at least 1", "0")],
    );
    bad(
        &n("param c: [2, 3, 4]; output z; loss mse(z, t) + sum(c);"),
        &[("a shape has at most two dimensions", "[ 2 , 3 , 4 ]")],
    );
    bad(
        &n("param c: [2.0]; output z; loss mse(z, t) + sum(c);"),
        &[("a dimension must be an integer literal, not `2.0`", "2.0")],
    );
    bad(
        &n("param c: [99999999999999999999999]; output z; loss mse(z, t) + sum(c);"),
        &[(
            "the integer literal `99999999999999999999999` is too large",
            "99999999999999999999999",
        )],
    );
    bad(
        &n("param c: [2] = glorot; output z; loss mse(z, t) + sum(c);"),
        &[(
            "unknown initialiser `glorot`; did you mean `xavier`? The initialisers are",
            "glorot",
        )],
    );
    bad(
        &n("param c: [2] = zero; output z; loss mse(z, t) + sum(c);"),
        &[("unknown initialiser `zero`; did you mean `zeros`?", "zero")],
    );
    bad(
        &n("param c: [2] = uniform(1); output z; loss mse(z, t) + sum(c);"),
        &[(
            "`uniform` takes 2 arguments: `uniform(lo, hi)`",
            "uniform ( 1 )",
        )],
    );
    bad(
        &n("param c: [2] = xavier(); output z; loss mse(z, t) + sum(c);"),
        &[("`xavier` takes no arguments; write `xavier`", "xavier ( )")],
    );
    bad(
        &n("param c: [2] = uniform(1, -1); output z; loss mse(z, t) + sum(c);"),
        &[("`uniform(lo, hi)` needs `lo <= hi`", "uniform ( 1 , - 1 )")],
    );
    bad(
        &n("param c: [2] = normal(0, -1); output z; loss mse(z, t) + sum(c);"),
        &[("`normal(mean, std)` needs `std >= 0`", "normal ( 0 , - 1 )")],
    );
    bad(
        &n("param c: [2]; output z; loss mse(z, t);"),
        &[(
            "parameter `c` does not affect the loss, so it would never be trained",
            "c",
        )],
    );
    bad(
        &n("#[allow(unused)] output z; loss mse(z, t);"),
        &[(
            "`#[allow]` cannot go on a statement; only doc comments are allowed there",
            "# [ allow ( unused ) ]",
        )],
    );
    bad(
        &n("#[scalar(f64)] output z; loss mse(z, t);"),
        &[(
            "`#[scalar(..)]` goes on the `net`, not on a statement",
            "# [ scalar ( f64 ) ]",
        )],
    );
}

#[test]
fn numbers() {
    bad(
        &n("output z; loss mse(z, t) + 99999999999999999999999999999999999999999;"),
        &[(
            "the integer literal `99999999999999999999999999999999999999999` is too large",
            "99999999999999999999999999999999999999999",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + 1e999;"),
        &[("the number `1e999` is out of range for `f64`", "1e999")],
    );
    bad(
        &n("output z; loss mse(z, t) + 300u8;"),
        &[("the literal `300u8` does not fit in `u8`", "300u8")],
    );
    bad(
        &n("output z; loss mse(z, t) + 1.5u8;"),
        &[(
            "`1.5u8`: an integer suffix cannot end a float literal",
            "1.5u8",
        )],
    );
    bad(
        &n("output z; loss mse(z, t) + 2foo;"),
        &[("invalid suffix `foo` on the number `2foo`", "2foo")],
    );
}

#[test]
fn settings() {
    let net = "net A { input x: [1]; output x; loss sum(x); }";
    bad(
        &format!("#[scalar(f16)] {net}"),
        &[(
            "unknown scalar type `f16`; use `#[scalar(f32)]` or `#[scalar(f64)]`",
            "f16",
        )],
    );
    bad(
        &format!("#[scalar(f64)] #[scalar(f64)] {net}"),
        &[("`#[scalar(..)]` is given twice", "# [ scalar ( f64 ) ]")],
    );
    bad(
        &format!("#[chainrule(unrol = 3)] {net}"),
        &[(
            "unknown setting `unrol` in `#[chainrule(..)]`; did you mean `unroll`? The known settings are `chunk`, `max_size` and `unroll`",
            "unrol",
        )],
    );
    bad(
        &format!("#[chainrule(speed = 3)] {net}"),
        &[(
            "unknown setting `speed` in `#[chainrule(..)]`; the known settings are `chunk`, `max_size` and `unroll`",
            "speed",
        )],
    );
    bad(
        &format!("#[chainrule(unroll = 100000000)] {net}"),
        &[("`unroll` can be at most 65536, not 100000000", "100000000")],
    );
    bad(
        &format!("#[chainrule(max_size = 0)] {net}"),
        &[("`max_size` must be at least 1", "0")],
    );
    bad(
        &format!("#[chainrule(unroll = 1, unroll = 2)] {net}"),
        &[("`unroll` is set twice", "unroll")],
    );
}

#[test]
fn size_limit() {
    bad(
        "#[chainrule(max_size = 10)] net A { input x: [3]; param w: [3, 3]; let y = w @ x; output y; loss sum(y); }",
        &[(
            "net `A` is too large to generate: its size is 28 scalars (parameters plus every intermediate value, 112 bytes as f32), above the limit of 10; the largest declaration is `w` (a parameter), [3, 3]: 9 scalars, 36 bytes as f32. Shrink the net, or raise the limit with `#[chainrule(max_size = 28)]` on the net",
            "w",
        )],
    );
    // 9 (w) + 3 (x) + 9 (w) + 3 (w @ x) + 3 (y) + 1 (sum) = 28: exactly at the limit passes.
    let front = check_str(
        "#[chainrule(max_size = 28)] net A { input x: [3]; param w: [3, 3]; let y = w @ x; output y; loss sum(y); }",
    );
    assert!(front.errors.is_empty() && front.nets.len() == 1);
    bad(
        "net Big { input x: [1024]; param w: [1024, 1024]; let y = w @ x; output y; loss sum(y); }",
        &[(
            "net `Big` is too large to generate: its size is 2100225 scalars",
            "w",
        )],
    );
    bad(
        "net Huge { input x: [18446744073709551615, 18446744073709551615]; output x; loss sum(x); }",
        &[(
            "net `Huge` is too large to generate: its size (parameters plus every intermediate value) overflows",
            "x",
        )],
    );
}

#[test]
fn the_size_error_stands_at_the_largest_declaration_with_the_advice_that_fits() {
    // f64 scalars take 8 bytes.
    bad(
        "#[scalar(f64)] #[chainrule(max_size = 10)] net A { input x: [3]; param w: [3, 3]; let y = w @ x; output y; loss sum(y); }",
        &[(
            "its size is 28 scalars (parameters plus every intermediate value, 224 bytes as f64), above the limit of 10; the largest declaration is `w` (a parameter), [3, 3]: 9 scalars, 72 bytes as f64.",
            "w",
        )],
    );
    // Feasible, with parameters too large for a stack: the limit rounded up, and the heap.
    bad(
        "net Big { input x: [1024]; param w: [1024, 1024]; let y = w @ x; output y; loss sum(y); }",
        &[(
            "the largest declaration is `w` (a parameter), [1024, 1024]: 1048576 scalars, 4 MiB as f32. Shrink the net, or raise the limit with `#[chainrule(max_size = 2200000)]` on the net, and build it on the heap with `chainrule::boxed_new(seed)`: its parameters (4 MiB) are too large for a thread's stack",
            "w",
        )],
    );
    // A `dense` parameter stands at its `let`.
    bad(
        "net D { input x: [1024]; let h = dense(x, 1024); output h; loss sum(h); }",
        &[(
            "its size is 2103297 scalars (parameters plus every intermediate value, 8 MiB as f32), above the limit of 1048576; the largest declaration is `h_w` (a parameter of `dense` in `let h`), [1024, 1024]: 1048576 scalars, 4 MiB as f32. Shrink the net, or raise the limit with `#[chainrule(max_size = 2200000)]` on the net, and build",
            "h",
        )],
    );
    // A `let` larger than every parameter; small parameters need no heap.
    bad(
        "net L { input x: [1]; param w: [1000, 1]; param v: [1, 1000]; let k = w @ v; output x; loss sum(k); }",
        &[(
            "its size is 2004001 scalars (parameters plus every intermediate value, 7.6 MiB as f32), above the limit of 1048576; the largest declaration is `k` (a `let`), [1000, 1000]: 1000000 scalars, 3.8 MiB as f32. Shrink the net, or raise the limit with `#[chainrule(max_size = 2100000)]` on the net",
            "k",
        )],
    );
    // No limit makes 75 GiB practical.
    bad(
        "net Huge { input x: [100000]; param w: [100000, 100000] = xavier; let y = w @ x; output y; loss sum(y); }",
        &[(
            "its size is 20000300001 scalars (parameters plus every intermediate value, 74.5 GiB as f32), above the limit of 1048576; the largest declaration is `w` (a parameter), [100000, 100000]: 10000000000 scalars, 37.3 GiB as f32. No `max_size` makes a net of over 256 MiB practical; split it into smaller nets, or shrink `w`",
            "w",
        )],
    );
    // The first of equals.
    bad(
        "#[chainrule(max_size = 10)] net E { input x: [4]; param w: [4]; let y = w * x; output y; loss sum(y); }",
        &[(
            "the largest declaration is `x` (the input), [4]: 4 scalars",
            "x",
        )],
    );
}

#[test]
fn several_errors_are_reported_together() {
    bad(
        "net A { input x: [2]; param w: [2, 3]; let h = sigmoid(w @ x); let y = lg(h); output y; loss y; }
         net B { input x [2]; output x; loss sum(x); }",
        &[
            ("shape mismatch in `@`: `w` is [2, 3] but `x` is [2]", "w @ x"),
            ("unknown function `lg`", "lg"),
            ("expected `:`, found `[`", "["),
        ],
    );
}

#[test]
fn a_syntax_error_does_not_cascade() {
    // The missing `;` swallows `output y`, but the net is not also "missing an output".
    bad(
        "net N { input x: [2]; param w: [2, 2]; let y = w @ x output y; loss sum(y); }",
        &[("expected `;` or an operator after `x`, found `output`", "x")],
    );
    // `w` is used by the broken `let`, so it is not reported as unused; `h` is declared.
    bad(
        "net N { input x: [2]; param w: [2, 2]; let h = w @ x +; output h; loss sum(h); }",
        &[("expected an expression, found `;`", ";")],
    );
    // A broken `fn` is still known by name, in a net or shared.
    bad(
        "net N { input x: [2]; fn f(a) = a +; let y = f(x); output y; loss sum(y); }",
        &[("expected an expression, found `;`", ";")],
    );
    bad(
        "fn f(a) = a +; net N { input x: [2]; let y = f(x); output y; loss sum(y); }",
        &[("expected an expression, found `;`", ";")],
    );
}

#[test]
fn a_failed_dense_layer_is_not_also_unused() {
    bad(
        "net N { input x: [2]; let h = x; let h = dense(x, 3, tanh); output h; loss sum(h); }",
        &[("`h` is already defined (as a `let` above)", "h")],
    );
    bad(
        "net N { input x: [2]; param h_w: [3]; let h = dense(x, 3); output x; loss sum(x) + sum(h_w); }",
        &[(
            "`dense` in `let h` declares the parameter `h_w`, but `h_w` is already defined",
            "h",
        )],
    );
}

#[test]
fn a_parameter_in_a_rejected_expression_is_not_also_unused() {
    bad(
        "net N { input x: [2]; param a: []; let h = leaky_relu(x, a); output x; loss sum(x); }",
        &[("the slope of `leaky_relu` must be a number literal", "a")],
    );
}

#[test]
fn independent_mistakes_in_one_statement_are_all_reported() {
    bad(
        "net N { input m: [2, 2]; let h = dense(m, 0, tanhh); output h; loss sum(h); }",
        &[
            ("`dense` takes a vector input, but `m` is [2, 2]", "m"),
            ("a `dense` layer needs at least one output", "0"),
            ("unknown function `tanhh`; did you mean `tanh`?", "tanhh"),
        ],
    );
    bad(
        "net N { input x: [2]; let y = sum(q) + sum(x @ x) + r; output y; loss y; }",
        &[
            ("unknown name `q`", "q"),
            ("`@` of two vectors", "x @ x"),
            ("unknown name `r`", "r"),
        ],
    );
}

#[test]
fn a_shared_fn_takes_doc_comments_only() {
    let net = "net N { input x: [1]; output x; loss sum(f(x)); }";
    bad(
        &format!("#[inline] fn f(a) = a; {net}"),
        &[(
            "`#[inline]` cannot go on a shared `fn`; only doc comments are allowed there",
            "# [ inline ]",
        )],
    );
    bad(
        &format!("#[scalar(f64)] fn f(a) = a; {net}"),
        &[(
            "`#[scalar(..)]` goes on the `net`, not on a shared `fn`",
            "# [ scalar ( f64 ) ]",
        )],
    );
    let front = check_str(&format!("/// Squares nothing. \n fn f(a) = a; {net}"));
    assert!(front.errors.is_empty() && front.nets.len() == 1);
}

/// The stub API of the only net of `src`, which must fail.
fn stub_api(src: &str) -> Option<StubApi> {
    let front = check_str(src);
    assert!(front.nets.is_empty() && !front.errors.is_empty(), "{src}");
    assert_eq!(front.stubs.len(), 1, "{src}");
    front.stubs.into_iter().next().and_then(|s| s.api)
}

#[test]
fn a_stub_has_the_whole_api_when_its_shapes_are_known() {
    // One unknown name in a `let` that the output does not depend on.
    assert_eq!(
        stub_api(
            "net Bad {
                 input x: [2]; target t: [1];
                 param w: [1, 2] = xavier;
                 let h = dense(x, 3, tanh);
                 let u = w @ xx;
                 let y = sigmoid(w @ x);
                 output y;
                 loss bce(y, t) + sum(h);
             }"
        ),
        Some(StubApi {
            scalar: Scalar::F32,
            input: Shape::Vector(2),
            target: Some(Shape::Vector(1)),
            output: Shape::Vector(1),
            params: vec![
                ("w".to_string(), Shape::Matrix(1, 2)),
                ("h_w".to_string(), Shape::Matrix(3, 2)),
                ("h_b".to_string(), Shape::Vector(3)),
            ],
            stream: None,
        })
    );
    // An unknown name in the loss, in f64, without a target.
    assert_eq!(
        stub_api(
            "#[scalar(f64)] net Bad { input x: [2]; param w: [2, 2]; let y = w @ x; output y; loss sum(q); }"
        ),
        Some(StubApi {
            scalar: Scalar::F64,
            input: Shape::Vector(2),
            target: None,
            output: Shape::Vector(2),
            params: vec![("w".to_string(), Shape::Matrix(2, 2))],
            stream: None,
        })
    );
    // A failed or refused shared `fn` fails a net that checks.
    for shared in ["fn f(a) = a @ a;", "fn relu(a) = a;"] {
        assert_eq!(
            stub_api(&format!(
                "{shared} net Ok {{ input x: [3]; param s: []; output x; loss sum(x) * s; }}"
            )),
            Some(StubApi {
                scalar: Scalar::F32,
                input: Shape::Vector(3),
                target: None,
                output: Shape::Vector(3),
                params: vec![("s".to_string(), Shape::Scalar)],
                stream: None,
            })
        );
    }
}

/// Issue 11: a failed recurrent net whose output is a loop's rows over the input keeps
/// the streaming API in its stub, with the states of the loops on the way; a loop whose
/// body has a mistake still has its type when its output typed.
#[test]
fn a_failed_streaming_net_keeps_its_states() {
    let api = stub_api(
        "net Bad { input xs: [8, 2]; target t: [8, 3]; param u: [4, 4]; state s: [4]; \
         let a = gru(xs, 4); let r = for x in a { s = u @ s + x + q; s }; let b = lstm(r, 3); \
         output b; loss mse(b, t); }",
    )
    .expect("an API");
    assert_eq!(api.output, Shape::Matrix(8, 3));
    assert_eq!(
        api.stream,
        Some(vec![
            ("a h".to_string(), Shape::Vector(4)),
            ("s".to_string(), Shape::Vector(4)),
            ("b h".to_string(), Shape::Vector(3)),
            ("b c".to_string(), Shape::Vector(3)),
        ])
    );
    // The output is a row, not a loop's rows: no step.
    let api = stub_api(
        "net Bad { input xs: [8, 2]; target t: [4]; let a = gru(xs, 4); let y = a[7]; \
         output y; loss mse(y, t) + q; }",
    )
    .expect("an API");
    assert_eq!(api.stream, None);
}

#[test]
fn a_stub_without_every_shape_has_no_api() {
    let net = |body: &str| format!("net Bad {{ input x: [2]; param w: [1, 2]; {body} }}");
    // The output's shape is unknown.
    assert_eq!(
        stub_api(&net("let y = sigmoid(w @ xx); output y; loss sum(y);")),
        None
    );
    // A layer's weight: its input failed.
    assert_eq!(
        stub_api(&net(
            "let h = dense(xx, 3); let y = w @ x; output y; loss sum(y) + sum(h);"
        )),
        None
    );
    // A parameter's declared shape.
    assert_eq!(
        stub_api(&net(
            "param c: [0]; let y = w @ x; output y; loss sum(y) + sum(c);"
        )),
        None
    );
    // The scalar type, a target's shape, and a statement that did not parse.
    assert_eq!(
        stub_api("#[scalar(f16)] net Bad { input x: [2]; output x; loss sum(x); }"),
        None
    );
    assert_eq!(
        stub_api("net Bad { input x: [2]; target t: [2.5]; output x; loss sum(x); }"),
        None
    );
    assert_eq!(
        stub_api(&net("let y = w @ x +; output y; loss sum(y);")),
        None
    );
    // A net too large to generate.
    assert_eq!(
        stub_api(
            "net Bad { input x: [4096]; param w: [4096, 4096]; let y = w @ x; output y; loss sum(y); }"
        ),
        None
    );
}

/// Issue 9, defect 2: `forward(&self, x)` has no target, so an output that depends on it,
/// directly, through `let`s, a `fn`'s argument or a layer's input, is refused at the use
/// of the target.
#[test]
fn the_output_cannot_depend_on_the_target() {
    let advice = "but `forward(&self, x)` has no target; compute the output from the input and the parameters only, and compare it with the target in the `loss` (like `loss mse(y, t);`)";
    bad(
        &n("output t; loss mse(z, t);"),
        &[(&format!("`output t` names the target, {advice}"), "t")],
    );
    let depends = format!("the output `y` depends on the target here, {advice}");
    bad(
        &n("let y = z + t; output y; loss mse(y, t);"),
        &[(&depends, "t")],
    );
    bad(
        &n("let a = t * 2; let y = z + a; output y; loss mse(y, t);"),
        &[(&depends, "t")],
    );
    bad(
        &format!(
            "fn f(a, b) = a * b; {}",
            n("let y = f(z, t); output y; loss mse(y, t);")
        ),
        &[(&depends, "t")],
    );
    bad(
        "net N { input x: [2]; target t: [2]; let y = dense(t, 2); output y; loss mse(y, t); }",
        &[(&depends, "t")],
    );
    // The loss may use the target, and a `let` the output does not need may too.
    ok_no_errors(&n("let d = z - t; output z; loss sum(d * d);"));
}

#[track_caller]
fn ok_no_errors(src: &str) {
    let front = check_str(src);
    let errors: Vec<String> = front.errors.iter().map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty() && front.nets.len() == 1,
        "{src}: {errors:?}"
    );
}

/// Issue 9, defect 3: `softmax_cross_entropy` normalises over one axis, like `softmax`.
#[test]
fn softmax_cross_entropy_takes_vectors() {
    let msg = |x: &str, sh: &str| {
        format!(
            "`softmax_cross_entropy` takes a vector of logits (softmax normalises over one axis), but `{x}` is {sh}; pass a vector like `z: [3]` and a target of the same shape"
        )
    };
    bad(
        "net N { input x: [2]; target t: []; param w: [2]; let s = sum(w * x); output s; loss softmax_cross_entropy(s, t); }",
        &[(&msg("s", "[]"), "s")],
    );
    bad(
        "net N { input x: [2, 3]; target t: [2, 3]; param w: [2, 3]; let m = w * x; output m; loss softmax_cross_entropy(m, t); }",
        &[(&msg("m", "[2, 3]"), "m")],
    );
    // `cross_entropy` is a plain sum over any shape; `softmax` and `log_softmax` already
    // take vectors only.
    ok_no_errors(
        "net N { input x: [2, 3]; target t: [2, 3]; param w: [2, 3]; let m = sigmoid(w * x); output m; loss cross_entropy(m, t) + cross_entropy(sum(m), 1); }",
    );
    bad(
        "net N { input x: [2]; target t: [2, 2]; param w: [2, 2]; let m = w * t; output x; loss cross_entropy(softmax(w), t) + sum(m); }",
        &[(
            "`softmax` takes a vector, but `w` is [2, 2]",
            "softmax ( w )",
        )],
    );
}

/// Issue 9, defect 11: a `let` that cannot be declared (its name is taken) still uses
/// what it names, so its parameters are not reported as unused, and its uses of the name
/// it failed to take are not reported as the target's.
#[test]
fn a_taken_let_name_is_one_error() {
    bad(
        "net N { input x: [2]; target t: [1]; param ww: [1, 2]; let t = ww @ x; output t; loss mse(t, t); }",
        &[(
            "`t` is already defined (as the target above); names must be unique within a net",
            "t",
        )],
    );
    bad(
        "net N { input x: [2]; target t: [1]; param ww: [1, 2]; let t = ww @ x; let y = t * 2; output y; loss mse(y, t); }",
        &[("`t` is already defined (as the target above)", "t")],
    );
}

/// Issue 9, defect 10: dimensions and indices are 32-bit in the IR. `max_size` is at most
/// 2^32 - 1, so a net within its limit has no dimension or index of 2^32 or more: such a
/// net is refused by the size limit, and such an index is out of range.
#[test]
fn dimensions_and_indices_fit_in_32_bits() {
    bad(
        "#[chainrule(max_size = 4294967296)] net A { input x: [2]; output x; loss sum(x); }",
        &[(
            "`max_size` can be at most 4294967295 (2^32 - 1, so that every dimension and index fits in 32 bits), not 4294967296",
            "4294967296",
        )],
    );
    bad(
        "#[chainrule(max_size = 4294967295)] net A { input x: [4294967296]; output x; loss sum(x); }",
        &[(
            "net `A` is too large to generate: its size is 4294967297 scalars",
            "x",
        )],
    );
    bad(
        "#[chainrule(max_size = 4294967295)] net A { input x: [1, 4294967296]; output x; loss sum(x); }",
        &[("net `A` is too large to generate", "x")],
    );
    bad(
        "net A { input x: [3]; let y = x[4294967296]; output y; loss y; }",
        &[(
            "index 4294967296 is out of range for `x` of shape [3]; valid indices are 0 to 2",
            "4294967296",
        )],
    );
    let front = check_str(
        "#[chainrule(max_size = 4294967295)] net A { input x: [2]; output x; loss sum(x); }",
    );
    assert!(front.errors.is_empty() && front.nets.len() == 1);
}

/// `fn f1(z) = <base>;` and `fn fk(z) = <step with f{k-1}>;` for k up to `levels`, and a
/// net applying the last one.
fn fn_tower(base: &str, step: &str, levels: usize) -> String {
    let mut src = format!("fn f1(z) = {base};\n");
    for k in 2..=levels {
        let body = step.replace("PREV", &format!("f{}", k - 1));
        src += &format!("fn f{k}(z) = {body};\n");
    }
    src + &format!(
        "net N {{ input x: [2]; param w: [2]; let y = f{levels}(w * x); output y; loss sum(y); }}"
    )
}

/// Issue 9, defect 5: the size limit counts what inlining `fn`s produces, and one `fn`'s
/// expansion is bounded in size and depth, so such nets are refused by the front end
/// before any work proportional to their expansion.
#[test]
fn fn_expansion_is_bounded() {
    // Exponential growth: 2^14 copies of the base.
    let wide = fn_tower("sin(z) + cos(z)", "PREV(sin(z)) + PREV(cos(z))", 14);
    let got = chainrule_grammar::check_str_located(&wide);
    assert_eq!(got.len(), 1, "{got:#?}");
    let (msg, at) = &got[0];
    assert!(
        msg.starts_with("`f11` expands to ")
            && msg.contains("above the limit of 4096 for one `fn`"),
        "{msg}"
    );
    assert_eq!(at, "f10");
    assert!(check_str(&wide).nets.is_empty());
    // Unbounded depth: 2^12 levels of nesting.
    let deep = fn_tower("sin(z)", "PREV(PREV(z))", 12);
    let got = chainrule_grammar::check_str_located(&deep);
    assert_eq!(got.len(), 1, "{got:#?}");
    let (msg, at) = &got[0];
    assert!(
        msg.contains("levels deep when the `fn`s it calls are inlined, above the limit of 256"),
        "{msg}"
    );
    assert!(
        msg.starts_with("`f10` expands to an expression 512 levels deep"),
        "{msg}"
    );
    assert_eq!(at, "f9");
    // Just under both bounds, a tower is accepted, and the size limit counts every
    // element of every expansion: f10 is 3580 nodes, applied to 2 elements.
    let ok_src = fn_tower("sin(z) + cos(z)", "PREV(sin(z)) + PREV(cos(z))", 10);
    let front = check_str(&ok_src);
    assert!(front.errors.is_empty() && front.nets.len() == 1);
    let limited = ok_src.replace("net N", "#[chainrule(max_size = 5000)] net N");
    let got = chainrule_grammar::check_str_located(&limited);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].0.contains("above the limit of 5000"), "{}", got[0].0);
}

#[test]
fn a_malformed_doc_attribute_is_an_error_not_copied_through() {
    // Found by the fuzzer: `#[doc = = "x"]` went onto the struct and the expansion did
    // not parse. Now it is one error at the attribute, on a net and on a statement
    // (codegen/tests/snapshots.rs checks the expansion parses).
    let on_net =
        "#[doc = = \"x\"] net A { input x: [2]; param w: [2]; output w; loss sum(w * x); }";
    let on_param =
        "net A { input x: [2]; #[doc = = \"x\"] param w: [2]; output w; loss sum(w * x); }";
    for src in [on_net, on_param] {
        let errors = chainrule_grammar::check_str_located(src);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].0.contains("malformed"), "{errors:?}");
        assert!(errors[0].1.starts_with("# [ doc"), "{errors:?}");
    }
}

/// Issue 11: `state`, `for`, rows and slices, as the model holds them.
#[test]
fn loops_in_the_model() {
    ok(
        "net A { input xs: [4, 2]; param w: [3, 2]; param h0: [3]; state h: [3] = h0; \
         let ys = for x in xs { let z = w @ x; h = tanh(z + h); h[0..2] }; \
         let y = sum(ys) + sum(h) + sum(xs[3]); output y; loss y; }",
        "net A F32 unroll=512
         input xs [4, 2]
         param w [3, 2] zeros fan 2/3
         param h0 [3] zeros fan 3/3
         state h [3] = param h0
         let ys [4, 2] = (for xs (let (@ w row)) (= h (tanh (+ local0 h))) ([..] h 0 2))
         let y [] = (+ (+ (sum ys) (sum h)) (sum ([] xs 3)))
         output y
         loss y",
    );
}

/// Issue 11: what a loop may not be; one error each, at the offending tokens.
#[test]
fn loop_mistakes() {
    let n = |body: &str| format!("net A {{ input xs: [4, 2]; param w: [3, 2]; {body} }}");
    let cases = [
        (
            "state h: [3]; let a = sum(h); for x in xs { h = w @ x + h; } let y = a + sum(h); output y; loss y;",
            "state `h` is carried by a `for` loop below; it has a value only inside that loop, and after it (its final value)",
            "h",
        ),
        (
            "state h: [3]; let ys = for x in xs { h = w @ x + h; h }; let zs = for x in xs { h = w @ x; h }; output ys; loss sum(ys) + sum(zs);",
            "state `h` is already carried by another `for` loop; a state belongs to the one loop that assigns it, so give this loop a state of its own",
            "h",
        ),
        (
            "state h: [3]; let ys = for x in xs { let x = 1; h = w @ x + h; h }; output ys; loss sum(ys);",
            "`x` is already defined in this loop; names must be unique within a net",
            "x",
        ),
        (
            "state h: [3]; let ys = for x in xs { h = w @ x + h; w }; output ys; loss sum(ys);",
            "a step's output is one row of the loop's value, a vector or a number, but `w` is [3, 2]",
            "w",
        ),
        (
            "let ys = for x in xs { }; output ys; loss ys + sum(w);",
            "this loop carries no state and gives no rows, so it computes nothing; assign a `state` in its body, or end the body with the step's output row",
            "for",
        ),
        (
            "state h: [3]; let ys = for x in xs { h = w @ x + h; }; output ys; loss ys;",
            "this loop gives no rows for its `let`: end its body with the step's output row, like `wo @ h + bo`, or write the loop as a statement (`for x in xs { .. }`) and read its states after it",
            "for",
        ),
        (
            "state h: [3]; for x in xs { h = w @ x + h; h } let y = sum(h); output y; loss y;",
            "the step's output `h` is never used: a loop standing alone only carries its states; bind its rows with `let ys = for ..`, or remove the output",
            "h",
        ),
        (
            "state h: [3] = xavier; for x in xs { h = w @ x + h; } let y = sum(h); output y; loss y;",
            "`xavier` draws random values, which cannot start a state: a state starts at `zeros` (the default), `ones`, `constant(c)`, or a parameter's value, learned with it",
            "xavier",
        ),
        (
            "state h: [3] = w; for x in xs { h = w @ x + h; } let y = sum(h); output y; loss y;",
            "the state is [3] but parameter `w` is [3, 2]; a state starts at a parameter of its own shape",
            "w",
        ),
        (
            "state h: [3]; for x in xs { h = w @ x + h; } let y = sum(h[1..4]); output y; loss y;",
            "the range 1..4 is not within `h` of length 3; a range `a..b` needs `a < b <= 3`",
            "1 .. 4",
        ),
        (
            "state h: [3]; let ys = for v in sum(xs) { h = w @ xs[0] + h; h }; output ys; loss sum(ys);",
            "`for` runs over the rows of a matrix `[steps, features]`, one row per step, but `sum(xs)` is []",
            "sum ( xs )",
        ),
    ];
    for (body, message, at) in cases {
        bad(&n(body), &[(message, at)]);
    }
}

/// Issue 11: the recurrent layers' mistakes, one error each.
#[test]
fn recurrent_layer_mistakes() {
    let n = |body: &str| {
        format!("net A {{ input xs: [4, 2]; target t: [4, 3]; {body} output b; loss mse(b, t); }}")
    };
    let cases = [
        (
            "let b = rnn(xs, 3, leaky_relu(0.2));",
            "the activation of `rnn` must be the name of an elementwise function, like `tanh`",
            "leaky_relu ( 0.2 )",
        ),
        (
            "let b = rnn(xs, 3, softmax);",
            "`softmax` is not elementwise, so it cannot be the activation of `rnn`",
            "softmax",
        ),
        (
            "let b = gru(xs);",
            "`gru` takes 2 arguments, but 1 was given",
            "gru ( xs )",
        ),
        (
            "let b = gru(xs, 0);",
            "a `gru` layer needs at least one output",
            "0",
        ),
        (
            "let b = gru(lstm(xs, 3), 3);",
            "`lstm` declares parameters, so it must be the whole right side of a `let`, like `let h = lstm(xs, 16);`",
            "lstm ( xs , 3 )",
        ),
        (
            "let b = lstm(xs[0], 3);",
            "a recurrent layer takes a sequence, a matrix `[steps, features]` with one row per step, but `xs[0]` is [2]",
            "xs [ 0 ]",
        ),
        (
            "let b = lstm(xs, 3, tanh);",
            "`lstm` takes 2 arguments, but 3 were given",
            "lstm ( xs , 3 , tanh )",
        ),
    ];
    for (body, message, at) in cases {
        bad(&n(body), &[(message, at)]);
    }
}
