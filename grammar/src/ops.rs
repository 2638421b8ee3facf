//! The table of elementwise functions: one row per function, read by every phase.
//!
//! A row gives the surface name and its literal parameters (so the arity), the value in
//! `f64` (constant folding and the reference interpreter), the derivative as one line of
//! the language itself, the notation of the rustdoc derivation, and whether users may
//! call it. Every row is elementwise: the result has the operand's shape. The runtime
//! function is `chainrule::__private::prelude::<name>`, taking the operand and then the
//! parameters.
//!
//! Adding a function is one row here and its math in the runtime's prelude; see
//! `ARCHITECTURE.md` for the walk-through. Values and derivatives follow PyTorch's
//! definitions, kinks included.
//!
//! A derivative is written over `x` (the operand), `y` (the function's value, so the
//! backward pass reuses the forward one, as `σ' = σ(1 − σ)` does) and the parameters by
//! name. Rows with `public: false` are helpers that only derivatives call (`step`,
//! `sign`); their own derivative is zero almost everywhere.

use std::sync::OnceLock;

use crate::ast::{self, ExprKind as AstKind};
use crate::model::BinOp;

/// A literal parameter of a function: `leaky_relu(x, a)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    /// Its name in the derivative.
    pub name: &'static str,
    /// What it is, for messages: "slope".
    pub what: &'static str,
    /// The value when the call leaves it out, if it may.
    pub default: Option<f64>,
}

/// One elementwise function.
#[derive(Debug)]
pub struct Function {
    /// The name in the language and of the runtime function.
    pub name: &'static str,
    /// Literal parameters after the operand.
    pub params: &'static [Param],
    /// The value at `x` with the given parameters, in `f64`.
    pub value: fn(f64, &[f64]) -> f64,
    /// `∂y/∂x` in the language, over `x`, `y` and the parameters.
    pub derivative: &'static str,
    /// The notation in the derivation: `{x}` is the operand, `{a}` a parameter.
    pub notation: &'static str,
    /// Whether users may call it; helpers of derivatives may not.
    pub public: bool,
}

const SLOPE: Param = Param {
    name: "a",
    what: "slope",
    default: Some(0.01),
};

fn step(x: f64) -> f64 {
    if x > 0.0 { 1.0 } else { 0.0 }
}

/// Every elementwise function of the language.
pub static FUNCTIONS: &[Function] = &[
    Function {
        name: "exp",
        params: &[],
        value: |x, _| x.exp(),
        derivative: "y",
        notation: "exp({x})",
        public: true,
    },
    Function {
        name: "ln",
        params: &[],
        value: |x, _| x.ln(),
        derivative: "1 / x",
        notation: "ln({x})",
        public: true,
    },
    Function {
        name: "sqrt",
        params: &[],
        value: |x, _| x.sqrt(),
        derivative: "0.5 / y",
        notation: "sqrt({x})",
        public: true,
    },
    Function {
        name: "abs",
        params: &[],
        value: |x, _| x.abs(),
        derivative: "sign(x)",
        notation: "abs({x})",
        public: true,
    },
    Function {
        name: "sin",
        params: &[],
        value: |x, _| x.sin(),
        derivative: "cos(x)",
        notation: "sin({x})",
        public: true,
    },
    Function {
        name: "cos",
        params: &[],
        value: |x, _| x.cos(),
        derivative: "-sin(x)",
        notation: "cos({x})",
        public: true,
    },
    Function {
        name: "tanh",
        params: &[],
        value: |x, _| x.tanh(),
        derivative: "1 - y ^ 2",
        notation: "tanh({x})",
        public: true,
    },
    Function {
        name: "sigmoid",
        params: &[],
        value: |x, _| 1.0 / (1.0 + (-x).exp()),
        derivative: "y * (1 - y)",
        notation: "σ({x})",
        public: true,
    },
    Function {
        name: "relu",
        params: &[],
        value: |x, _| if x > 0.0 { x } else { 0.0 },
        derivative: "step(y)",
        notation: "relu({x})",
        public: true,
    },
    Function {
        name: "softplus",
        params: &[],
        value: |x, _| x.max(0.0) + (-x.abs()).exp().ln_1p(),
        derivative: "sigmoid(x)",
        notation: "softplus({x})",
        public: true,
    },
    Function {
        name: "leaky_relu",
        params: &[SLOPE],
        value: |x, p| if x > 0.0 { x } else { x * p[0] },
        derivative: "leaky_step(x, a)",
        notation: "leaky_relu({x}, {a})",
        public: true,
    },
    // Helpers of derivatives.
    Function {
        name: "step",
        params: &[],
        value: |x, _| step(x),
        derivative: "0",
        notation: "[{x} > 0]",
        public: false,
    },
    Function {
        name: "sign",
        params: &[],
        value: |x, _| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        },
        derivative: "0",
        notation: "sign({x})",
        public: false,
    },
    Function {
        name: "leaky_step",
        params: &[SLOPE],
        value: |x, p| if x > 0.0 { 1.0 } else { p[0] },
        derivative: "0",
        notation: "leaky_step({x}, {a})",
        public: false,
    },
];

/// The most parameters any function takes.
pub const MAX_PARAMS: usize = 2;

/// A row of [`FUNCTIONS`], by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnId(u16);

impl FnId {
    /// The row.
    pub fn function(self) -> &'static Function {
        &FUNCTIONS[self.0 as usize]
    }
}

/// The function called `name`, hidden helpers included.
pub fn lookup(name: &str) -> Option<FnId> {
    FUNCTIONS
        .iter()
        .position(|f| f.name == name)
        .map(|i| FnId(i as u16))
}

/// The names users may call, for "did you mean" hints.
pub fn public_names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().filter(|f| f.public).map(|f| f.name)
}

/// A function with its parameters fixed: what a call of it computes. The parameters are
/// kept as bits so calls can be compared and hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Applied {
    /// The function.
    pub id: FnId,
    params: [u64; MAX_PARAMS],
}

impl Applied {
    /// `id` with these parameters, one per [`Function::params`].
    pub fn new(id: FnId, params: &[f64]) -> Self {
        debug_assert_eq!(params.len(), id.function().params.len());
        let mut bits = [0; MAX_PARAMS];
        for (b, p) in bits.iter_mut().zip(params) {
            *b = p.to_bits();
        }
        Self { id, params: bits }
    }

    /// The function called `name`, which must take no parameters or have defaults for all.
    ///
    /// # Panics
    /// If there is no such row: a bug in the caller, never a user error.
    pub fn named(name: &str) -> Self {
        let id = lookup(name).unwrap_or_else(|| panic!("no function `{name}` in the table"));
        let defaults: Vec<f64> = id
            .function()
            .params
            .iter()
            .map(|p| p.default.expect("a default for every parameter"))
            .collect();
        Self::new(id, &defaults)
    }

    /// The row.
    pub fn function(self) -> &'static Function {
        self.id.function()
    }

    /// The name.
    pub fn name(self) -> &'static str {
        self.function().name
    }

    /// True for the function called `name`.
    pub fn is(self, name: &str) -> bool {
        self.name() == name
    }

    /// The parameters' values.
    pub fn params(self) -> impl Iterator<Item = f64> {
        let n = self.function().params.len();
        self.params.into_iter().take(n).map(f64::from_bits)
    }

    /// The value at `x`.
    pub fn value(self, x: f64) -> f64 {
        let params: Vec<f64> = self.params().collect();
        (self.function().value)(x, &params)
    }
}

/// A derivative of the table, parsed: an expression over `x`, `y` and the parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// The operand.
    X,
    /// The function's value.
    Y,
    /// Parameter `i`.
    Param(usize),
    /// A number.
    Num(f64),
    /// `-a`.
    Neg(Box<Term>),
    /// `a + b`, `a - b`, `a * b`, `a / b`, `a ^ b`.
    Binary(BinOp, Box<Term>, Box<Term>),
    /// A function of the table applied to an operand, its parameters given as terms
    /// that are numbers or parameters.
    Call(FnId, Box<Term>, Vec<Term>),
}

/// The parsed derivative of every row, in table order.
pub fn derivatives() -> &'static [Term] {
    static PARSED: OnceLock<Vec<Term>> = OnceLock::new();
    PARSED.get_or_init(|| {
        FUNCTIONS
            .iter()
            .map(|f| {
                parse_derivative(f)
                    .unwrap_or_else(|e| panic!("the derivative of `{}` in the table: {e}", f.name))
            })
            .collect()
    })
}

/// The parsed derivative of one row.
pub fn derivative(id: FnId) -> &'static Term {
    &derivatives()[id.0 as usize]
}

/// Parses a row's derivative with the language's own parser.
pub fn parse_derivative(f: &Function) -> Result<Term, String> {
    let ast = crate::parser::parse_expr(f.derivative).map_err(|m| m.join("; "))?;
    term(f, &ast)
}

fn term(f: &Function, e: &ast::Expr) -> Result<Term, String> {
    Ok(match &e.kind {
        AstKind::Num(n) => Term::Num(match n.value {
            ast::NumValue::Int(Some(i)) => i as f64,
            ast::NumValue::Float(v) => v,
            ast::NumValue::Int(None) => return Err("an integer too large".into()),
        }),
        AstKind::Name(n) if n == "x" => Term::X,
        AstKind::Name(n) if n == "y" => Term::Y,
        AstKind::Name(n) => Term::Param(
            f.params
                .iter()
                .position(|p| p.name == n)
                .ok_or_else(|| format!("unknown name `{n}`"))?,
        ),
        AstKind::Neg(a) => Term::Neg(Box::new(term(f, a)?)),
        AstKind::Binary(op, a, b) => {
            let op = match op {
                ast::BinOp::Add => BinOp::Add,
                ast::BinOp::Sub => BinOp::Sub,
                ast::BinOp::Mul => BinOp::Mul,
                ast::BinOp::Div => BinOp::Div,
                ast::BinOp::Pow => BinOp::Pow,
                ast::BinOp::MatMul => return Err("`@` is not elementwise".into()),
            };
            Term::Binary(op, Box::new(term(f, a)?), Box::new(term(f, b)?))
        }
        AstKind::Call(name, args) => {
            let id =
                lookup(&name.text).ok_or_else(|| format!("unknown function `{}`", name.text))?;
            let (operand, params) = args
                .split_first()
                .ok_or_else(|| format!("`{}` needs an operand", name.text))?;
            if params.len() != id.function().params.len() {
                return Err(format!(
                    "`{}` takes {} parameters",
                    name.text,
                    id.function().params.len()
                ));
            }
            let params = params
                .iter()
                .map(|p| match term(f, p)? {
                    t @ (Term::Num(_) | Term::Param(_)) => Ok(t),
                    _ => Err(format!(
                        "the parameters of `{}` must be numbers or parameters",
                        name.text
                    )),
                })
                .collect::<Result<_, String>>()?;
            Term::Call(id, Box::new(term(f, operand)?), params)
        }
        AstKind::Index(..) => return Err("indexing is not elementwise".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_derivative_parses_and_names_are_unique() {
        assert_eq!(derivatives().len(), FUNCTIONS.len());
        for (i, f) in FUNCTIONS.iter().enumerate() {
            assert_eq!(
                lookup(f.name),
                Some(FnId(i as u16)),
                "`{}` appears twice",
                f.name
            );
            assert!(f.params.len() <= MAX_PARAMS);
            assert!(f.notation.contains("{x}"), "`{}` notation", f.name);
        }
    }

    #[test]
    fn derivatives_read_as_written() {
        let sigmoid = derivative(lookup("sigmoid").unwrap());
        let one_minus_y = Term::Binary(BinOp::Sub, Box::new(Term::Num(1.0)), Box::new(Term::Y));
        assert_eq!(
            *sigmoid,
            Term::Binary(BinOp::Mul, Box::new(Term::Y), Box::new(one_minus_y))
        );
        let leaky = derivative(lookup("leaky_relu").unwrap());
        assert_eq!(
            *leaky,
            Term::Call(
                lookup("leaky_step").unwrap(),
                Box::new(Term::X),
                vec![Term::Param(0)]
            )
        );
    }

    #[test]
    fn applied_keeps_its_parameters() {
        let id = lookup("leaky_relu").unwrap();
        let f = Applied::new(id, &[0.2]);
        assert_eq!(f.params().collect::<Vec<_>>(), [0.2]);
        assert_eq!(f.value(-2.0), -0.4);
        assert_eq!(
            Applied::named("leaky_relu").params().collect::<Vec<_>>(),
            [0.01]
        );
        assert_ne!(f, Applied::named("leaky_relu"));
    }
}
