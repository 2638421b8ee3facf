//! Checker tests, data-driven: a valid net renders to its checked model in a compact text
//! form; an invalid one yields the expected messages at the expected tokens.

use chainrule_grammar::check_str;
use chainrule_grammar::model::{BinOp, Expr, ExprKind, Func, Init, Net, Sym};

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
                Func::LeakyRelu(a) => format!("leaky_relu:{a}"),
                f => snake(&format!("{f:?}")),
            };
            let args: Vec<String> = args.iter().map(|a| sexpr(net, a)).collect();
            format!("({name} {})", args.join(" "))
        }
        ExprKind::Index(a, idx) => {
            let idx: Vec<String> = idx.iter().map(|i| i.to_string()).collect();
            format!("([] {} {})", sexpr(net, a), idx.join(" "))
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
