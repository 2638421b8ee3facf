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

use std::f64::consts::FRAC_1_SQRT_2;
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

const ALPHA: Param = Param {
    name: "alpha",
    what: "alpha",
    default: Some(1.0),
};

const MIN_VAL: Param = Param {
    name: "min_val",
    what: "lower bound",
    default: Some(-1.0),
};

const MAX_VAL: Param = Param {
    name: "max_val",
    what: "upper bound",
    default: Some(1.0),
};

/// `√(2/π)`, PyTorch's `M_SQRT2 * M_2_SQRTPI * 0.5`.
const SQRT_2_OVER_PI: f64 = 0.7978845608028654;
/// SELU's `λ` and `λα` (Klambauer et al. 2017, the constants PyTorch uses).
const SELU_SCALE: f64 = 1.0507009873554805;
const SELU_SCALE_ALPHA: f64 = 1.7580993408473766;

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `min(max(x + 3, 0), 6) / 6`, as PyTorch's kernel computes it.
fn hardsigmoid(x: f64) -> f64 {
    (x + 3.0).clamp(0.0, 6.0) / 6.0
}

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
        value: |x, _| softplus(x),
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
    // The activations PyTorch and JAX users expect. Values and derivatives follow
    // PyTorch's kernels (`aten/src/ATen/native/cpu/Activation.cpp`, `derivatives.yaml`),
    // kinks included: the comparison each backward kernel uses is the `step` written here.
    Function {
        name: "gelu",
        params: &[],
        // x Φ(x), with Φ the standard normal CDF (PyTorch's approximate='none').
        value: |x, _| x * 0.5 * (1.0 + libm::erf(x * FRAC_1_SQRT_2)),
        // Φ(x) + x φ(x)
        derivative: "0.5 * (1 + erf(0.7071067811865476 * x)) \
                     + 0.3989422804014327 * x * exp(-0.5 * x ^ 2)",
        notation: "gelu({x})",
        public: true,
    },
    Function {
        name: "gelu_tanh",
        params: &[],
        // PyTorch's approximate='tanh': ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
        value: |x, _| 0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))).tanh()),
        // ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(√(2/π)(x + 0.044715x³))
        derivative: "0.5 * (1 + tanh(0.7978845608028654 * (x + 0.044715 * (x * x ^ 2)))) \
                     + 0.5 * x * (1 - tanh(0.7978845608028654 * (x + 0.044715 * (x * x ^ 2))) ^ 2) \
                     * 0.7978845608028654 * (1 + 0.134145 * x ^ 2)",
        notation: "gelu_tanh({x})",
        public: true,
    },
    Function {
        name: "elu",
        params: &[ALPHA],
        value: |x, p| if x > 0.0 { x } else { p[0] * x.exp_m1() },
        // 1 for x > 0, else α eˣ = y + α (PyTorch: α eˣ for x ≤ 0, so elu'(0) = α)
        derivative: "step(x) + (1 - step(x)) * (y + alpha)",
        notation: "elu({x}, {alpha})",
        public: true,
    },
    Function {
        name: "selu",
        params: &[],
        value: |x, _| {
            if x > 0.0 {
                SELU_SCALE * x
            } else {
                SELU_SCALE_ALPHA * x.exp_m1()
            }
        },
        // λ for x > 0, else λα eˣ = y + λα (selu'(0) = λα, as PyTorch)
        derivative: "1.0507009873554805 * step(x) + (1 - step(x)) * (y + 1.7580993408473766)",
        notation: "selu({x})",
        public: true,
    },
    Function {
        name: "silu",
        params: &[],
        // x σ(x), which others call swish.
        value: |x, _| x / (1.0 + (-x).exp()),
        // y + σ(x)(1 − y), as in the swish paper
        derivative: "y + sigmoid(x) * (1 - y)",
        notation: "silu({x})",
        public: true,
    },
    Function {
        name: "mish",
        params: &[],
        value: |x, _| x * softplus(x).tanh(),
        // tanh(softplus(x)) + x σ(x)(1 − tanh²(softplus(x)))
        derivative: "tanh(softplus(x)) + x * sigmoid(x) * (1 - tanh(softplus(x)) ^ 2)",
        notation: "mish({x})",
        public: true,
    },
    Function {
        name: "softsign",
        params: &[],
        value: |x, _| x / (x.abs() + 1.0),
        derivative: "1 / (1 + abs(x)) ^ 2",
        notation: "softsign({x})",
        public: true,
    },
    Function {
        name: "hardtanh",
        params: &[MIN_VAL, MAX_VAL],
        // clamp(x, min_val, max_val), NaN kept as the runtime keeps it
        value: |x, p| if x.is_nan() { x } else { x.max(p[0]).min(p[1]) },
        // 1 strictly inside, 0 at and beyond both ends (PyTorch's hardtanh_backward)
        derivative: "step(x - min_val) * step(max_val - x)",
        notation: "hardtanh({x}, {min_val}, {max_val})",
        public: true,
    },
    Function {
        name: "hardsigmoid",
        params: &[],
        value: |x, _| hardsigmoid(x),
        // 1/6 strictly inside (−3, 3), 0 at and beyond ±3 (PyTorch's hardsigmoid_backward)
        derivative: "step(x + 3) * step(3 - x) / 6",
        notation: "hardsigmoid({x})",
        public: true,
    },
    Function {
        name: "hardswish",
        params: &[],
        value: |x, _| x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
        // 0 for x ≤ −3, x/3 + ½ for −3 < x < 3, 1 for x ≥ 3 (PyTorch's hardswish_backward
        // since pytorch/pytorch#148049; before it, −½ at −3 and 3/2 at 3)
        derivative: "1 - step(3 - x) + step(x + 3) * step(3 - x) * (x / 3 + 0.5)",
        notation: "hardswish({x})",
        public: true,
    },
    Function {
        name: "log1p",
        params: &[],
        value: |x, _| x.ln_1p(),
        derivative: "1 / (1 + x)",
        notation: "ln(1 + {x})",
        public: true,
    },
    Function {
        name: "expm1",
        params: &[],
        value: |x, _| x.exp_m1(),
        derivative: "y + 1",
        notation: "(exp({x}) − 1)",
        public: true,
    },
    Function {
        name: "tan",
        params: &[],
        value: |x, _| x.tan(),
        derivative: "1 + y ^ 2",
        notation: "tan({x})",
        public: true,
    },
    Function {
        name: "atan",
        params: &[],
        value: |x, _| x.atan(),
        derivative: "1 / (1 + x ^ 2)",
        notation: "atan({x})",
        public: true,
    },
    Function {
        name: "asinh",
        params: &[],
        value: |x, _| x.asinh(),
        derivative: "1 / sqrt(x ^ 2 + 1)",
        notation: "asinh({x})",
        public: true,
    },
    Function {
        name: "erf",
        params: &[],
        value: |x, _| libm::erf(x),
        // (2/√π) e^(−x²)
        derivative: "1.1283791670955126 * exp(-x ^ 2)",
        notation: "erf({x})",
        public: true,
    },
    Function {
        name: "log_sigmoid",
        params: &[],
        // ln σ(x) = min(x, 0) − ln(1 + e^−|x|), exact for any x
        value: |x, _| x.min(0.0) - (-x.abs()).exp().ln_1p(),
        // 1 − σ(x) = σ(−x)
        derivative: "sigmoid(-x)",
        notation: "ln σ({x})",
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
        // 1, −1, or 0 at 0 (and for NaN).
        value: |x, _| step(x) - step(-x),
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
        AstKind::Index(..) | AstKind::Slice(..) => {
            return Err("indexing is not elementwise".into());
        }
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
