//! The syntax tree, as written. Every node keeps its byte range in the flattened text
//! ([`crate::source::Source::text`]), so checks can point at the user's tokens.
//!
//! `Display` prints expressions as s-expressions (`(+ a (* b c))`), which keeps parser
//! tests one line each; [`Expr::to_source`] prints them back in the language's syntax for
//! error messages.

use std::fmt;
use std::ops::Range;

/// A byte range in the flattened text.
pub type Span = Range<usize>;

/// A whole `network!` invocation.
#[derive(Clone, Debug, Default)]
pub struct File {
    /// Its items, in order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug)]
pub enum Item {
    /// `#[attr] pub net Name { ... }`.
    Net(Net),
    /// `fn name(a, b) = expr;`, shared by every net of the invocation.
    Fn(FnDef),
    /// A shared `fn` that did not parse (already reported), known only by its name.
    BrokenFn(Name),
}

/// A name as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    /// The identifier.
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// An outer attribute `#[...]`.
#[derive(Clone, Debug)]
pub struct Attr {
    /// What it is.
    pub kind: AttrKind,
    /// The whole attribute, from `#` to `]`.
    pub span: Span,
}

/// The kinds of attribute.
#[derive(Clone, Debug)]
pub enum AttrKind {
    /// `#[doc = "..."]`, which is what `///` comments become.
    Doc,
    /// `#[chainrule(key = value, ...)]`.
    Chainrule(Vec<Setting>),
    /// `#[scalar(f64)]`.
    Scalar(Name),
    /// `#[tensor("fc1.weight")]`: a parameter's tensor name, or a layer's prefix.
    Tensor(StrLit),
    /// `#[weights("model.safetensors")]`: parameters baked in from a file.
    Weights(StrLit),
    /// Anything else (`#[derive(..)]`, `#[allow(..)]`, ...), passed through.
    Other(Name),
}

/// A string literal's value, and where the literal is.
#[derive(Clone, Debug)]
pub struct StrLit {
    /// The value, escapes resolved; `None` for a byte or C string, which is no text.
    pub value: Option<String>,
    /// The literal as written.
    pub span: Span,
}

/// `key = 123` in `#[chainrule(...)]`.
#[derive(Clone, Debug)]
pub struct Setting {
    /// The key.
    pub key: Name,
    /// The value.
    pub value: Number,
}

/// `#[attr] pub net Name { stmt* }`.
#[derive(Clone, Debug)]
pub struct Net {
    /// Outer attributes.
    pub attrs: Vec<Attr>,
    /// `pub`, `pub(crate)` or `pub(super)`, if written.
    pub vis: Option<Span>,
    /// The name.
    pub name: Name,
    /// The statements, in order.
    pub stmts: Vec<Stmt>,
    /// The whole net.
    pub span: Span,
}

/// A statement inside a net, with its attributes.
#[derive(Clone, Debug)]
pub struct Stmt {
    /// Attributes written before it (doc comments).
    pub attrs: Vec<Attr>,
    /// What it says.
    pub kind: StmtKind,
    /// The whole statement, `;` included.
    pub span: Span,
}

/// The kinds of statement.
#[derive(Clone, Debug)]
pub enum StmtKind {
    /// `input x: [2];`
    Input(Name, ShapeDecl),
    /// `target t: [1];`
    Target(Name, ShapeDecl),
    /// `param w: [2, 2] = xavier;`
    Param(Name, ShapeDecl, Option<Init>),
    /// `state h: [16];` or `state h: [16] = h0;`
    State(Name, ShapeDecl, Option<Init>),
    /// `let h = expr;`
    Let(Name, Expr),
    /// `let ys = for x in xs { ... };`
    LetFor(Name, Box<ForLoop>),
    /// `for x in xs { ... }` standing alone.
    For(Box<ForLoop>),
    /// `output y;`
    Output(Name),
    /// `loss expr;`
    Loss(Expr),
    /// `fn f(z) = expr;`, local to this net.
    Fn(FnDef),
    /// A statement that did not parse (already reported). It keeps its keyword and the
    /// name it declares, when those parsed, so later checks neither call the name unknown
    /// nor the statement missing.
    Broken {
        /// `input`, `let`, ... if the statement starts with one.
        keyword: Option<String>,
        /// The name after the keyword, if any.
        name: Option<Name>,
    },
}

/// `for x in xs { let a = ...; h = ...; y }`.
#[derive(Clone, Debug)]
pub struct ForLoop {
    /// The row variable `x`.
    pub var: Name,
    /// The sequence `xs`, a matrix whose rows are the steps.
    pub seq: Expr,
    /// The body's statements, in order.
    pub body: Vec<BodyStmt>,
    /// The step's output row, if the loop gives one.
    pub output: Option<Expr>,
    /// The whole loop, `for` to `}`.
    pub span: Span,
}

/// A statement of a loop body.
#[derive(Clone, Debug)]
pub enum BodyStmt {
    /// `let a = expr;`: a value of this step.
    Let(Name, Expr),
    /// `h = expr;`: state `h`'s new value.
    Assign(Name, Expr),
}

/// `fn name(a, b) = body;`
#[derive(Clone, Debug)]
pub struct FnDef {
    /// Attributes written before a shared `fn`; a local one's are its statement's.
    pub attrs: Vec<Attr>,
    /// The function's name.
    pub name: Name,
    /// Its parameters.
    pub params: Vec<Name>,
    /// Its body.
    pub body: Expr,
    /// The whole definition.
    pub span: Span,
}

/// A shape as written: `[]`, `[n]`, `[r, c]` (or more dimensions, refused by the checker).
#[derive(Clone, Debug)]
pub struct ShapeDecl {
    /// The dimensions.
    pub dims: Vec<Number>,
    /// From `[` to `]`.
    pub span: Span,
}

/// An initialiser as written: `xavier`, `uniform(-0.1, 0.1)`, ...
#[derive(Clone, Debug)]
pub struct Init {
    /// `zeros`, `uniform`, ...
    pub name: Name,
    /// The arguments, if there are parentheses.
    pub args: Option<Vec<Signed>>,
    /// The whole initialiser.
    pub span: Span,
}

/// A number with an optional minus sign: `-0.1`.
#[derive(Clone, Debug)]
pub struct Signed {
    /// Whether a `-` precedes it.
    pub negative: bool,
    /// The number.
    pub number: Number,
    /// Sign and number.
    pub span: Span,
}

/// A number literal.
#[derive(Clone, Debug, PartialEq)]
pub struct Number {
    /// The value of its digits.
    pub value: NumValue,
    /// Its suffix (`f32`, `u8`, ...), or empty.
    pub suffix: String,
    /// The literal as written.
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// The value of a number literal's digits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NumValue {
    /// An integer literal; `None` if it does not fit in a `u128`.
    Int(Option<u128>),
    /// A float literal (`1.5`, `1e3`, `1.`); infinite if out of range.
    Float(f64),
}

impl Number {
    /// Whether the literal is a float: float digits, or an integer with a float suffix.
    pub fn is_float(&self) -> bool {
        matches!(self.value, NumValue::Float(_)) || self.suffix.starts_with('f')
    }

    /// The value as an `f64`, if it is finite.
    pub fn as_f64(&self) -> Option<f64> {
        let v = match self.value {
            NumValue::Int(Some(i)) => i as f64,
            NumValue::Int(None) => return None,
            NumValue::Float(f) => f,
        };
        v.is_finite().then_some(v)
    }
}

/// A binary operator, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b`
    Div,
    /// `a @ b`
    MatMul,
    /// `a ^ b`
    Pow,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::MatMul => "@",
            BinOp::Pow => "^",
        }
    }

    /// Binding strength, loosest 1; unary minus sits at [`NEG_PRECEDENCE`], indexing and
    /// calls at [`POSTFIX_PRECEDENCE`].
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Add | BinOp::Sub => 1,
            BinOp::Mul | BinOp::Div => 2,
            BinOp::MatMul => 3,
            BinOp::Pow => 5,
        }
    }
}

/// Binding strength of unary minus: tighter than `@`, looser than `^`, so `-x ^ 2` is
/// `-(x ^ 2)` and `-a @ b` is `(-a) @ b`.
pub const NEG_PRECEDENCE: u8 = 4;
/// Binding strength of indexing and calls, the tightest.
pub const POSTFIX_PRECEDENCE: u8 = 6;

/// An expression with its span (parentheses included when written).
#[derive(Debug)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

impl Clone for Expr {
    /// Recurses on stack segments ([`crate::stack::deep`]), as every walk of a tree does.
    fn clone(&self) -> Self {
        crate::stack::deep(|| Expr {
            kind: self.kind.clone(),
            span: self.span.clone(),
        })
    }
}

impl Drop for Expr {
    /// Takes the tree apart with a heap stack, so dropping a sum of many terms (a tree as
    /// deep as it is long) needs no call stack.
    fn drop(&mut self) {
        fn take(kind: &mut ExprKind, out: &mut Vec<Expr>) {
            let leaf = || Expr {
                kind: ExprKind::Name(String::new()),
                span: 0..0,
            };
            match kind {
                ExprKind::Neg(a) | ExprKind::Index(a, _) | ExprKind::Slice(a, ..) => {
                    out.push(std::mem::replace(a, leaf()))
                }
                ExprKind::Binary(_, a, b) => {
                    out.push(std::mem::replace(a, leaf()));
                    out.push(std::mem::replace(b, leaf()));
                }
                ExprKind::Call(_, args) => out.append(args),
                ExprKind::Num(_) | ExprKind::Name(_) => {}
            }
        }
        let mut rest = Vec::new();
        take(&mut self.kind, &mut rest);
        while let Some(mut e) = rest.pop() {
            take(&mut e.kind, &mut rest);
        }
    }
}

/// The kinds of expression.
#[derive(Clone, Debug)]
pub enum ExprKind {
    /// `1.5`, `3`, `1e-3`
    Num(Number),
    /// `x`
    Name(String),
    /// `-a`
    Neg(Box<Expr>),
    /// `a + b`, `a @ b`, `a ^ b`, ...
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `f(a, b)`
    Call(Name, Vec<Expr>),
    /// `v[i]`, `m[i, j]`, `softmax(z)[0]`, and row `i` of a matrix `m[i]`
    Index(Box<Expr>, Vec<Number>),
    /// `v[a..b]`: elements `a` to `b − 1` of a vector.
    Slice(Box<Expr>, Box<(Number, Number)>),
}

impl fmt::Display for Expr {
    /// The s-expression form: `(+ a (* b c))`, `(neg a)`, `(sigmoid x)`, `([] v 0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::stack::deep(|| self.fmt_here(f))
    }
}

impl Expr {
    fn fmt_here(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Num(n) => write!(f, "{n}"),
            ExprKind::Name(n) => write!(f, "{n}"),
            ExprKind::Neg(a) => write!(f, "(neg {a})"),
            ExprKind::Binary(op, a, b) => write!(f, "({} {a} {b})", op.symbol()),
            ExprKind::Call(name, args) => {
                write!(f, "({}", name.text)?;
                for a in args {
                    write!(f, " {a}")?;
                }
                write!(f, ")")
            }
            ExprKind::Index(a, idx) => {
                write!(f, "([] {a}")?;
                for i in idx {
                    write!(f, " {i}")?;
                }
                write!(f, ")")
            }
            ExprKind::Slice(a, range) => write!(f, "([..] {a} {} {})", range.0, range.1),
        }
    }
}

impl fmt::Display for Number {
    /// The value: integers in decimal, floats with Rust's shortest form (`1.0`, `0.001`),
    /// `<too large>` for an integer beyond `u128`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            NumValue::Int(Some(i)) => write!(f, "{i}"),
            NumValue::Int(None) => write!(f, "<too large>"),
            NumValue::Float(x) => write!(f, "{x:?}"),
        }
    }
}

impl Expr {
    /// The expression in the language's own syntax, with only the parentheses needed:
    /// `sigmoid(w1 @ x + b1)`. Used to name operands in error messages.
    pub fn to_source(&self) -> String {
        let mut out = String::new();
        self.write_source(&mut out, 0);
        out
    }

    /// Writes `self`, parenthesised if it binds looser than `context`.
    fn write_source(&self, out: &mut String, context: u8) {
        crate::stack::deep(|| self.write_source_here(out, context))
    }

    fn write_source_here(&self, out: &mut String, context: u8) {
        let own = match &self.kind {
            ExprKind::Binary(op, ..) => op.precedence(),
            ExprKind::Neg(_) => NEG_PRECEDENCE,
            _ => POSTFIX_PRECEDENCE,
        };
        let paren = own < context;
        if paren {
            out.push('(');
        }
        match &self.kind {
            ExprKind::Num(n) => out.push_str(&n.text),
            ExprKind::Name(n) => out.push_str(n),
            ExprKind::Neg(a) => {
                out.push('-');
                a.write_source(out, NEG_PRECEDENCE);
            }
            ExprKind::Binary(op, a, b) => {
                let p = op.precedence();
                // Left-associative operators need parentheses on a right operand of equal
                // strength, `^` (right-associative) on a left one.
                let (lp, rp) = if *op == BinOp::Pow {
                    (p + 1, p)
                } else {
                    (p, p + 1)
                };
                a.write_source(out, lp);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                b.write_source(out, rp);
            }
            ExprKind::Call(name, args) => {
                out.push_str(&name.text);
                out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    a.write_source(out, 0);
                }
                out.push(')');
            }
            ExprKind::Index(a, idx) => {
                a.write_source(out, POSTFIX_PRECEDENCE);
                out.push('[');
                for (i, n) in idx.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&n.text);
                }
                out.push(']');
            }
            ExprKind::Slice(a, range) => {
                a.write_source(out, POSTFIX_PRECEDENCE);
                out.push('[');
                out.push_str(&range.0.text);
                out.push_str("..");
                out.push_str(&range.1.text);
                out.push(']');
            }
        }
        if paren {
            out.push(')');
        }
    }
}
