//! The checked model: what the front end hands to code generation.
//!
//! Invariants, established by `check` and relied on by `chainrule-codegen`:
//! - every name is resolved ([`Sym`]), every expression carries its inferred [`Shape`], and
//!   every shape rule of the language holds (operands of `+ - * /` equal or scalar, inner
//!   sizes of `@` agree, the loss is a scalar, ...);
//! - `dense` layers are expanded into their two parameters and an ordinary `let`;
//! - a `let` refers only to the input, the target, parameters and earlier `let`s;
//! - every parameter reaches the loss;
//! - user `fn`s are scalar, non-recursive, and called with the right number of arguments;
//! - the net's size is within its limit, so generation is bounded.
//!
//! Nothing here carries a source span: every user error is reported by `check`.

use proc_macro2::{Ident, TokenStream};

/// The scalar type a net computes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scalar {
    /// `f32`, the default.
    F32,
    /// `f64`, chosen with `#[scalar(f64)]`.
    F64,
}

/// A static shape: `[]`, `[n]` or `[rows, cols]` (row-major).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shape {
    /// `[]`.
    Scalar,
    /// `[n]`.
    Vector(usize),
    /// `[rows, cols]`, stored as `[[T; cols]; rows]`.
    Matrix(usize, usize),
}

impl Shape {
    /// The number of scalars.
    pub fn len(self) -> usize {
        match self {
            Shape::Scalar => 1,
            Shape::Vector(n) => n,
            Shape::Matrix(r, c) => r * c,
        }
    }

    /// Never true for a checked shape; here for clippy's `len_without_is_empty`.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The dimensions as written in the language: `[]`, `[n]` or `[r, c]`.
    pub fn dims(self) -> Vec<usize> {
        match self {
            Shape::Scalar => vec![],
            Shape::Vector(n) => vec![n],
            Shape::Matrix(r, c) => vec![r, c],
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Scalar => write!(f, "[]"),
            Shape::Vector(n) => write!(f, "[{n}]"),
            Shape::Matrix(r, c) => write!(f, "[{r}, {c}]"),
        }
    }
}

/// A parameter initialiser as written after `=`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// `zeros` (also the default).
    Zeros,
    /// `ones`.
    Ones,
    /// `constant(c)`.
    Constant(f64),
    /// `uniform(lo, hi)`.
    Uniform(f64, f64),
    /// `normal(mean, std)`.
    Normal(f64, f64),
    /// `xavier`: Glorot uniform.
    Xavier,
    /// `he`: Kaiming normal.
    He,
}

/// What a name refers to inside a net.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sym {
    /// The `input`.
    Input,
    /// The `target`.
    Target,
    /// A parameter, by index into [`Net::params`].
    Param(usize),
    /// A `let`, by index into [`Net::lets`].
    Let(usize),
    /// A state, by index into [`Net::states`]: inside the body of the loop that carries it,
    /// its value at that point of the step; anywhere after that loop, its final value.
    State(usize),
    /// The row of the loop whose body this is (`x` in `for x in xs`).
    Row,
    /// A `let` of the loop body this is in, by its place among the body's `let`s.
    Local(usize),
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BinOp {
    /// `+`, elementwise.
    Add,
    /// `-`, elementwise.
    Sub,
    /// `*`, elementwise (never a matrix product).
    Mul,
    /// `/`, elementwise.
    Div,
    /// `^`, elementwise power with a scalar exponent.
    Pow,
    /// `@`, matrix product.
    MatMul,
}

/// A function of the language, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Func {
    /// A function of the table in [`crate::ops`] with its parameters, elementwise.
    Elem(crate::ops::Applied),
    /// `max(a, b)`, elementwise.
    Max,
    /// `min(a, b)`, elementwise.
    Min,
    /// `sum(v)`: a scalar.
    Sum,
    /// `mean(v)`: a scalar.
    Mean,
    /// `dot(a, b)`: a scalar.
    Dot,
    /// `softmax(v)`.
    Softmax,
    /// `log_softmax(v)`.
    LogSoftmax,
    /// `transpose(m)`.
    Transpose,
    /// `mse(y, t)`.
    Mse,
    /// `bce(p, t)`.
    Bce,
    /// `bce_with_logits(z, t)`.
    BceWithLogits,
    /// `cross_entropy(p, t)`.
    CrossEntropy,
    /// `softmax_cross_entropy(z, t)`.
    SoftmaxCrossEntropy,
    /// A user `fn`, by index into [`Net::fns`]; applied elementwise.
    User(usize),
}

/// A checked expression with its shape.
#[derive(Debug, PartialEq)]
pub struct Expr {
    /// What the expression computes.
    pub kind: ExprKind,
    /// Its inferred shape.
    pub shape: Shape,
}

impl Clone for Expr {
    /// Recurses on stack segments ([`crate::stack::deep`]): a `dense` input may be a long sum.
    fn clone(&self) -> Self {
        crate::stack::deep(|| Expr {
            kind: self.kind.clone(),
            shape: self.shape,
        })
    }
}

impl Drop for Expr {
    /// Takes the tree apart with a heap stack, so dropping a sum of many terms (a tree as
    /// deep as it is long) needs no call stack.
    fn drop(&mut self) {
        fn take(kind: &mut ExprKind, out: &mut Vec<Expr>) {
            let leaf = || Expr {
                kind: ExprKind::Num(0.0),
                shape: Shape::Scalar,
            };
            match kind {
                ExprKind::Neg(a) | ExprKind::Index(a, _) | ExprKind::Slice(a, ..) => {
                    out.push(std::mem::replace(a, leaf()))
                }
                ExprKind::For(r) => {
                    out.push(std::mem::replace(&mut r.seq, leaf()));
                    if let Some(o) = r.output.take() {
                        out.push(o);
                    }
                    for s in r.body.drain(..) {
                        match s {
                            CellStmt::Let(e) | CellStmt::Assign(_, e) => out.push(e),
                        }
                    }
                }
                ExprKind::Binary(_, a, b) => {
                    out.push(std::mem::replace(a, leaf()));
                    out.push(std::mem::replace(b, leaf()));
                }
                ExprKind::Call(_, args) => out.append(args),
                ExprKind::Num(_) | ExprKind::Sym(_) | ExprKind::FnArg(_) => {}
            }
        }
        let mut rest = Vec::new();
        take(&mut self.kind, &mut rest);
        while let Some(mut e) = rest.pop() {
            take(&mut e.kind, &mut rest);
        }
    }
}

/// The kinds of checked expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A number literal; always [`Shape::Scalar`], broadcast by its consumer.
    Num(f64),
    /// A name.
    Sym(Sym),
    /// Argument `i` of the enclosing user `fn` (only inside [`FnDef::body`]).
    FnArg(usize),
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operator. For `+ - * / ^`, one side may be a scalar that broadcasts.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A call with its arguments (checked arity).
    Call(Func, Vec<Expr>),
    /// `v[i]` (one index), `m[i, j]` (two), or row `m[i]` of a matrix (a vector), in range.
    Index(Box<Expr>, Vec<usize>),
    /// `v[a..b]`: elements `a` to `b − 1` of a vector, `a < b <= len`.
    Slice(Box<Expr>, usize, usize),
    /// A `for` loop over the rows of a matrix: its per-step output rows, stacked into a
    /// matrix `[steps, m]` (a vector `[steps]` for scalar outputs; a scalar zero for a
    /// loop that gives no output).
    For(Box<Recurrence>),
}

/// `for x in xs { .. }`: the body runs once per row of `seq`, in order, carrying the
/// states it assigns from one step to the next.
#[derive(Clone, Debug, PartialEq)]
pub struct Recurrence {
    /// The rows: a matrix `[steps, n]`.
    pub seq: Expr,
    /// The states this loop assigns, by index into [`Net::states`], in order.
    pub carried: Vec<usize>,
    /// The body, in order; a `let` here is [`Sym::Local`] by its place among the `let`s.
    pub body: Vec<CellStmt>,
    /// The step's output: a vector or a scalar.
    pub output: Option<Expr>,
}

/// A statement of a loop body.
#[derive(Clone, Debug, PartialEq)]
pub enum CellStmt {
    /// `let a = expr;`
    Let(Expr),
    /// `h = expr;`: the state's value from here on.
    Assign(usize, Expr),
}

/// A state: a vector (or scalar, or matrix) carried by one `for` loop.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Its name.
    pub name: String,
    /// Its shape.
    pub shape: Shape,
    /// Its value before the first step.
    pub init: StateInit,
}

/// A state's value before the first step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StateInit {
    /// `state h: [n];` or `= zeros`.
    Zeros,
    /// `= ones`.
    Ones,
    /// `= constant(c)`.
    Constant(f64),
    /// `= p` for a parameter `p` of the same shape: learned.
    Param(usize),
}

/// A user-defined scalar function `fn name(a, b) = body;`.
#[derive(Clone, Debug, PartialEq)]
pub struct FnDef {
    /// Its name.
    pub name: String,
    /// Its parameter names, in order.
    pub params: Vec<String>,
    /// Its body over scalars; arguments appear as [`ExprKind::FnArg`].
    pub body: Expr,
}

/// The input or the target.
#[derive(Clone, Debug, PartialEq)]
pub struct Var {
    /// Its name.
    pub name: String,
    /// Its shape.
    pub shape: Shape,
}

/// A trainable parameter.
#[derive(Clone, Debug)]
pub struct Param {
    /// Its name (also the struct field and its `LAYOUT` name).
    pub name: String,
    /// Its tensor name in safetensors files: `#[tensor("..")]`'s, or its name.
    pub tensor: String,
    /// Its shape.
    pub shape: Shape,
    /// Its initialiser.
    pub init: Init,
    /// Inputs feeding each output, for `xavier` and `he`: a matrix `[r, c]` used as
    /// `w @ x` has `fan_in = c`, one used as `x @ w` has `fan_in = r`; a vector `[n]`
    /// has `n`; a scalar `1`.
    pub fan_in: usize,
    /// Outputs fed by each input (see `fan_in`).
    pub fan_out: usize,
    /// `#[doc = ...]` attributes written on the declaration, for the struct field.
    pub docs: Vec<TokenStream>,
}

/// Parameters baked in from a safetensors file when the macro ran.
#[derive(Clone, Debug, PartialEq)]
pub struct Baked {
    /// The file's absolute path, so the generated code's `include_bytes!` makes Cargo
    /// rebuild the crate when the file changes.
    pub path: String,
    /// Every parameter's values in `LAYOUT` order, row-major, as the bits of the net's
    /// scalar type (an `f32`'s in the low 32 bits).
    pub bits: Vec<u64>,
}

/// A `let` binding.
#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: Expr,
}

/// One checked `net`.
#[derive(Clone, Debug)]
pub struct Net {
    /// Outer attributes to copy onto the generated struct, each a complete `#[...]`
    /// (doc comments included; `#[scalar]` and `#[chainrule]` are consumed).
    pub attrs: Vec<TokenStream>,
    /// The visibility as written: empty, `pub`, `pub(crate)` or `pub(super)`.
    pub vis: TokenStream,
    /// The net's name, spanned at the user's token.
    pub name: Ident,
    /// The scalar type.
    pub scalar: Scalar,
    /// The unroll budget in scalar operations (`#[chainrule(unroll = N)]`).
    pub unroll: usize,
    /// Samples per chunk of the batched methods (`#[chainrule(chunk = N)]`); `None` lets
    /// code generation choose.
    pub chunk: Option<usize>,
    /// The `input`.
    pub input: Var,
    /// The `target`, if any.
    pub target: Option<Var>,
    /// Parameters in declaration order (`dense` parameters where their `let` stands).
    pub params: Vec<Param>,
    /// `let`s in order; a `for` loop standing alone is one (its value a scalar zero).
    pub lets: Vec<Let>,
    /// States in declaration order.
    pub states: Vec<State>,
    /// What `output` names.
    pub output: Sym,
    /// The loss, a scalar.
    pub loss: Expr,
    /// The parameters read from `#[weights("..")]`'s file, if the net has one.
    pub weights: Option<Baked>,
    /// User `fn`s visible in this net (shared and local), referenced by [`Func::User`].
    pub fns: Vec<FnDef>,
}

/// What is left of a net that failed to check: enough to emit a stub type so one
/// mistake does not cascade into errors at every use of the net.
#[derive(Clone, Debug)]
pub struct Stub {
    /// Outer attributes (as in [`Net::attrs`]).
    pub attrs: Vec<TokenStream>,
    /// The visibility as written.
    pub vis: TokenStream,
    /// The net's name.
    pub name: Ident,
    /// The generated API's types, when the front end got far enough to know them all, so
    /// the stub can have every method with its real signature.
    pub api: Option<StubApi>,
    /// Whether the net has `#[weights("..")]`: the stub then has `WEIGHTS` too.
    pub baked: bool,
}

/// The types of a failed net's generated API: what its stub's signatures need.
#[derive(Clone, Debug, PartialEq)]
pub struct StubApi {
    /// The scalar type.
    pub scalar: Scalar,
    /// The input's shape.
    pub input: Shape,
    /// The target's shape, if the net declares one.
    pub target: Option<Shape>,
    /// The output's shape.
    pub output: Shape,
    /// Each parameter's name and shape, in `LAYOUT` order.
    pub params: Vec<(String, Shape)>,
    /// For a net that looks streamable (its output is a loop's rows over the input, or
    /// over such a loop's), the states those loops carry, whose shapes are known: the
    /// stub then has the streaming API too, so uses of `step` add no errors.
    pub stream: Option<Vec<(String, Shape)>>,
}

/// The default unroll budget, in scalar operations of the largest method.
pub const DEFAULT_UNROLL: usize = 512;
/// The largest unroll budget accepted; beyond it, compile time explodes.
pub const MAX_UNROLL: usize = 1 << 16;
/// The most samples a batched method may run at once (`#[chainrule(chunk = N)]`).
pub const MAX_CHUNK: usize = 1024;
/// The default size limit, in scalars (parameters plus intermediate values).
pub const DEFAULT_MAX_SIZE: u64 = 1 << 20;
/// The largest size limit accepted (`#[chainrule(max_size = N)]`): `u32::MAX`, so every
/// declaration of a net within its limit has fewer than 2³² scalars, and every dimension
/// and index fits the IR's `u32`.
pub const MAX_MAX_SIZE: u64 = u32::MAX as u64;
