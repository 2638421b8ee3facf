//! Expressions with their binding strength, shared by the Rust emitter and the math of
//! the rustdoc derivation: each printer adds only the parentheses its reader needs, and
//! both keep the left-associative reading of `a − b − c`.

use proc_macro2::TokenStream;
use quote::quote;

/// `if c { a } else { b }`: binds loosest.
pub const P_IF: i8 = -1;
/// `+` and `-`.
pub const P_ADD: i8 = 0;
/// `*`, `/` and products.
pub const P_MUL: i8 = 1;
/// Unary minus.
pub const P_NEG: i8 = 2;
/// Names, literals, calls, indexing.
pub const P_ATOM: i8 = 3;

/// What an expression is written in: Rust tokens or text.
pub trait Text: Clone {
    /// `(self)`.
    fn parenthesized(&self) -> Self;
    /// `l op r`.
    fn infix(l: Self, op: Self, r: Self) -> Self;
    /// Appends ` op r` in place, so a long chain is built in linear time.
    fn append(&mut self, op: Self, r: Self);
}

impl Text for TokenStream {
    fn parenthesized(&self) -> Self {
        quote!((#self))
    }
    fn infix(l: Self, op: Self, r: Self) -> Self {
        quote!(#l #op #r)
    }
    fn append(&mut self, op: Self, r: Self) {
        self.extend([op, r]);
    }
}

impl Text for String {
    fn parenthesized(&self) -> Self {
        format!("({self})")
    }
    fn infix(l: Self, op: Self, r: Self) -> Self {
        format!("{l} {op} {r}")
    }
    fn append(&mut self, op: Self, r: Self) {
        *self = format!("{self} {op} {r}");
    }
}

/// An expression and how tightly it binds.
#[derive(Clone, Debug)]
pub struct Expr<T> {
    /// The expression.
    pub text: T,
    /// Its binding strength, one of the `P_` levels.
    pub prec: i8,
}

impl<T: Text> Expr<T> {
    /// An expression of the given strength.
    pub fn new(text: T, prec: i8) -> Self {
        Self { text, prec }
    }

    /// An expression that never needs parentheses.
    pub fn atom(text: T) -> Self {
        Self::new(text, P_ATOM)
    }

    /// The expression, parenthesized unless it binds at least as tightly as `min`.
    pub fn at(&self, min: i8) -> T {
        if self.prec < min {
            self.text.parenthesized()
        } else {
            self.text.clone()
        }
    }
}

/// `l op r` at strength `prec`. Left-associative: the right operand must bind strictly
/// tighter, so `a - (b - c)` and `a + (b + c)` keep their parentheses and their rounding.
pub fn binop<T: Text>(l: Expr<T>, op: T, r: Expr<T>, prec: i8) -> Expr<T> {
    let (l, r) = (l.at(prec), r.at(prec + 1));
    Expr::new(T::infix(l, op, r), prec)
}

/// `first op₁ e₁ op₂ e₂ …` at strength `prec`, left-associative like [`binop`], built in
/// one buffer: a sum of thousands of terms costs linear time, not quadratic.
pub fn chain<T: Text>(
    first: Expr<T>,
    rest: impl IntoIterator<Item = (T, Expr<T>)>,
    prec: i8,
) -> Expr<T> {
    let mut rest = rest.into_iter().peekable();
    if rest.peek().is_none() {
        return first;
    }
    let mut text = first.at(prec);
    for (op, e) in rest {
        text.append(op, e.at(prec + 1));
    }
    Expr::new(text, prec)
}
