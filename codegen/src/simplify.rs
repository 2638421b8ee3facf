//! Smart constructors: every node is built here, simplified before it is interned.
//!
//! The rules are local and always make a node cheaper or equal: constant folding, algebraic
//! identities (`x·1`, `x+0`, `x·0`, `--x`, `x-(-y)`), pulling broadcasts and scalar factors
//! outward so scalar work stays scalar, common-factor extraction (`s·a − s·b = s·(a − b)`),
//! and stable forms (`ln softmax = log_softmax`, `exp log_softmax = softmax`). Together with
//! hash-consing in [`Graph::intern`] this gives common-subexpression sharing for free.
//!
//! Floating-point identities that only fail for NaN or infinite operands (`x·0 = 0`) are
//! applied: they only ever remove work from gradients of finite values.

use crate::ir::{Binary, Graph, Id, Op, Shape, Unary};

impl Graph {
    /// A scalar constant.
    pub fn constant(&mut self, v: f64) -> Id {
        self.intern(Op::Const(v.to_bits()), Shape::Scalar)
    }

    /// A leaf: the input, the target, a parameter or the seed.
    pub fn leaf(&mut self, op: Op, shape: Shape) -> Id {
        debug_assert!(op.is_leaf());
        self.intern(op, shape)
    }

    /// True when the node is the constant `0` or `0` broadcast.
    pub fn is_zero(&self, id: Id) -> bool {
        match self.op(id) {
            Op::Const(_) => self.value_of(id) == Some(0.0),
            Op::Broadcast(s) => self.is_zero(s),
            _ => false,
        }
    }

    fn is_const(&self, id: Id, v: f64) -> bool {
        self.value_of(id) == Some(v)
    }

    /// `s` repeated to `shape`; a no-op for a scalar shape.
    pub fn broadcast(&mut self, s: Id, shape: Shape) -> Id {
        debug_assert_eq!(self.shape(s), Shape::Scalar);
        if shape == Shape::Scalar {
            s
        } else {
            self.intern(Op::Broadcast(s), shape)
        }
    }

    /// `x` as the given shape: unchanged if it has it, broadcast if it is a scalar.
    fn shaped(&mut self, x: Id, shape: Shape) -> Id {
        if self.shape(x) == shape {
            x
        } else {
            self.broadcast(x, shape)
        }
    }

    /// The scalar behind a broadcast, or the node itself.
    fn unbroadcast(&self, x: Id) -> Id {
        match self.op(x) {
            Op::Broadcast(s) => s,
            _ => x,
        }
    }

    /// `f(a)` elementwise.
    pub fn unary(&mut self, f: Unary, a: Id) -> Id {
        let shape = self.shape(a);
        if let Op::Broadcast(s) = self.op(a) {
            let inner = self.unary(f, s);
            return self.broadcast(inner, shape);
        }
        if let Some(v) = self.value_of(a) {
            return self.constant(fold_unary(f, v));
        }
        match (f, self.op(a)) {
            (Unary::Neg, Op::Unary(Unary::Neg, x)) => return x,
            (Unary::Neg, Op::Binary(Binary::Sub, x, y)) => return self.sub(y, x),
            (Unary::Neg, Op::Binary(Binary::Mul, x, y)) if self.value_of(y).is_some() => {
                let c = self.neg(y);
                return self.mul(x, c);
            }
            (Unary::Square, Op::Unary(Unary::Neg, x)) => return self.unary(f, x),
            (Unary::Elem(e), Op::Unary(Unary::Neg, x)) if e.is("abs") => return self.unary(f, x),
            (Unary::Elem(e), Op::Softmax(z)) if e.is("ln") => return self.log_softmax(z),
            (Unary::Elem(e), Op::Unary(Unary::Elem(inner), x)) if e.is("ln") && inner.is("exp") => {
                return x;
            }
            (Unary::Elem(e), Op::LogSoftmax(z)) if e.is("exp") => return self.softmax(z),
            _ => {}
        }
        self.intern(Op::Unary(f, a), shape)
    }

    /// The table's function `name` with its default parameters, elementwise.
    pub fn apply(&mut self, name: &str, a: Id) -> Id {
        self.unary(Unary::Elem(crate::ir::Applied::named(name)), a)
    }

    /// `f(a, b)` elementwise; a scalar operand broadcasts to the other's shape.
    pub fn binary(&mut self, f: Binary, a: Id, b: Id) -> Id {
        let shape = match self.shape(a) {
            Shape::Scalar => self.shape(b),
            s => s,
        };
        debug_assert!(self.shape(b) == shape || self.shape(b) == Shape::Scalar);
        // Broadcasts move outward: work on scalars stays scalar.
        let (sa, sb) = (self.unbroadcast(a), self.unbroadcast(b));
        if (sa, sb) != (a, b) {
            let inner = self.binary(f, sa, sb);
            return self.shaped(inner, shape);
        }
        if let (Some(x), Some(y)) = (self.value_of(a), self.value_of(b)) {
            return self.constant(fold_binary(f, x, y));
        }
        let result = match f {
            Binary::Add => self.simplify_add(a, b),
            Binary::Sub => self.simplify_sub(a, b),
            Binary::Mul => self.simplify_mul(a, b),
            Binary::Div => self.simplify_div(a, b),
            Binary::Pow => self.simplify_pow(a, b),
            _ => None,
        };
        match result {
            Some(id) => self.shaped(id, shape),
            None => {
                let (a, b) = if is_commutative(f) {
                    self.order(a, b)
                } else {
                    (a, b)
                };
                self.intern(Op::Binary(f, a, b), shape)
            }
        }
    }

    /// Canonical operand order for commutative operations: constants last, then leaves,
    /// then by id, so a layer reads `w x + b` and a scale comes last.
    fn order(&self, a: Id, b: Id) -> (Id, Id) {
        let key = |g: &Self, x: Id| (g.value_of(x).is_some(), g.op(x).is_leaf(), x);
        if key(self, a) <= key(self, b) {
            (a, b)
        } else {
            (b, a)
        }
    }

    fn simplify_add(&mut self, a: Id, b: Id) -> Option<Id> {
        if self.is_zero(a) {
            return Some(b);
        }
        if self.is_zero(b) {
            return Some(a);
        }
        if let Op::Unary(Unary::Neg, nb) = self.op(b) {
            return Some(self.sub(a, nb));
        }
        if let Op::Unary(Unary::Neg, na) = self.op(a) {
            return Some(self.sub(b, na));
        }
        self.common_factor(Binary::Add, a, b)
    }

    fn simplify_sub(&mut self, a: Id, b: Id) -> Option<Id> {
        if self.is_zero(b) {
            return Some(a);
        }
        if self.is_zero(a) {
            return Some(self.neg(b));
        }
        if let Op::Unary(Unary::Neg, nb) = self.op(b) {
            return Some(self.add(a, nb));
        }
        if let Op::Unary(Unary::Neg, na) = self.op(a) {
            // -x - y = -(x + y)
            let s = self.add(na, b);
            return Some(self.neg(s));
        }
        self.common_factor(Binary::Sub, a, b)
    }

    /// `s·x ± s·y = s·(x ± y)` for a shared factor `s`.
    fn common_factor(&mut self, f: Binary, a: Id, b: Id) -> Option<Id> {
        let (Op::Binary(Binary::Mul, a1, a2), Op::Binary(Binary::Mul, b1, b2)) =
            (self.op(a), self.op(b))
        else {
            return None;
        };
        let (s, x, y) = if a1 == b1 {
            (a1, a2, b2)
        } else if a1 == b2 {
            (a1, a2, b1)
        } else if a2 == b1 {
            (a2, a1, b2)
        } else if a2 == b2 {
            (a2, a1, b1)
        } else {
            return None;
        };
        let inner = self.binary(f, x, y);
        Some(self.mul(inner, s))
    }

    fn simplify_mul(&mut self, a: Id, b: Id) -> Option<Id> {
        if a == b {
            // One multiplication instead of two reads, and one gradient term `2x`.
            return Some(self.unary(Unary::Square, a));
        }
        let (a, b) = self.order(a, b);
        for (x, y) in [(a, b), (b, a)] {
            if self.is_const(y, 1.0) {
                return Some(x);
            }
            if self.is_zero(y) {
                return Some(y);
            }
            if self.is_const(y, -1.0) {
                return Some(self.neg(x));
            }
        }
        // a·(1/b) = a/b, with one rounding fewer: what `ln' = 1/x` becomes.
        for (x, y) in [(a, b), (b, a)] {
            if let Op::Binary(Binary::Div, n, d) = self.op(y)
                && self.is_const(n, 1.0)
            {
                return Some(self.div(x, d));
            }
        }
        match (self.op(a), self.op(b)) {
            (Op::Unary(Unary::Neg, x), Op::Unary(Unary::Neg, y)) => return Some(self.mul(x, y)),
            // Negation moves outward so `-a·b` and `a·-b` share one node.
            (Op::Unary(Unary::Neg, x), _) => {
                let p = self.mul(x, b);
                return Some(self.neg(p));
            }
            (_, Op::Unary(Unary::Neg, y)) => {
                let p = self.mul(a, y);
                return Some(self.neg(p));
            }
            _ => {}
        }
        // (x·c₁)·c₂ = x·(c₁c₂): constants gather in one factor.
        for (x, c2) in [(a, b), (b, a)] {
            if let Some(v2) = self.value_of(c2)
                && let Op::Binary(Binary::Mul, y, c1) = self.op(x)
                && let Some(v1) = self.value_of(c1)
            {
                let c = self.constant(v1 * v2);
                return Some(self.mul(y, c));
            }
        }
        None
    }

    fn simplify_div(&mut self, a: Id, b: Id) -> Option<Id> {
        if self.is_const(b, 1.0) {
            return Some(a);
        }
        if self.is_zero(a) {
            return Some(a);
        }
        // Dividing by a power of two is an exact multiplication.
        if let Some(c) = self.value_of(b) {
            let r = 1.0 / c;
            if c != 0.0 && r.is_finite() && r * c == 1.0 && c.abs().log2().fract() == 0.0 {
                let rc = self.constant(r);
                return Some(self.mul(a, rc));
            }
        }
        None
    }

    fn simplify_pow(&mut self, a: Id, b: Id) -> Option<Id> {
        match self.value_of(b) {
            Some(1.0) => Some(a),
            Some(0.0) => Some(self.constant(1.0)),
            Some(2.0) => Some(self.unary(Unary::Square, a)),
            Some(-1.0) => {
                let one = self.constant(1.0);
                Some(self.div(one, a))
            }
            _ => None,
        }
    }

    /// An elementwise operator of the language; `@` is not one.
    pub fn elementwise(&mut self, op: chainrule_grammar::model::BinOp, a: Id, b: Id) -> Id {
        use chainrule_grammar::model::BinOp;
        match op {
            BinOp::Add => self.add(a, b),
            BinOp::Sub => self.sub(a, b),
            BinOp::Mul => self.mul(a, b),
            BinOp::Div => self.div(a, b),
            BinOp::Pow => self.binary(Binary::Pow, a, b),
            BinOp::MatMul => unreachable!("`@` is a product, not elementwise"),
        }
    }

    /// `a + b`.
    pub fn add(&mut self, a: Id, b: Id) -> Id {
        self.binary(Binary::Add, a, b)
    }
    /// `a - b`.
    pub fn sub(&mut self, a: Id, b: Id) -> Id {
        self.binary(Binary::Sub, a, b)
    }
    /// `a * b`.
    pub fn mul(&mut self, a: Id, b: Id) -> Id {
        self.binary(Binary::Mul, a, b)
    }
    /// `a / b`.
    pub fn div(&mut self, a: Id, b: Id) -> Id {
        self.binary(Binary::Div, a, b)
    }
    /// `-a`.
    pub fn neg(&mut self, a: Id) -> Id {
        self.unary(Unary::Neg, a)
    }
    /// `a * c` for a constant `c`.
    pub fn scale(&mut self, a: Id, c: f64) -> Id {
        let c = self.constant(c);
        self.mul(a, c)
    }

    /// The sum of every element.
    pub fn sum(&mut self, a: Id) -> Id {
        let shape = self.shape(a);
        if shape == Shape::Scalar {
            return a;
        }
        match self.op(a) {
            Op::Broadcast(s) => return self.scale(s, shape.len() as f64),
            Op::Unary(Unary::Neg, x) => {
                let s = self.sum(x);
                return self.neg(s);
            }
            Op::Binary(Binary::Mul, x, y) if self.shape(y) == Shape::Scalar => {
                let s = self.sum(x);
                return self.mul(s, y);
            }
            Op::Binary(Binary::Mul, x, y) if self.shape(x) == Shape::Scalar => {
                let s = self.sum(y);
                return self.mul(s, x);
            }
            Op::Unindex(s, ..) => return s,
            _ => {}
        }
        self.intern(Op::Sum(a), Shape::Scalar)
    }

    /// `[r, c]` to `[c, r]`.
    pub fn transpose(&mut self, a: Id) -> Id {
        let Shape::Matrix(r, c) = self.shape(a) else {
            return a;
        };
        match self.op(a) {
            Op::Transpose(x) => x,
            Op::Outer(u, v) => self.outer(v, u),
            Op::MatMat(x, y, tx, ty) => self.matmat(y, x, !ty, !tx),
            Op::Broadcast(s) => self.broadcast(s, Shape::Matrix(c, r)),
            _ => self.intern(Op::Transpose(a), Shape::Matrix(c, r)),
        }
    }

    /// Element `i` of a vector or `(i, j)` of a matrix.
    pub fn index(&mut self, a: Id, i: u32, j: u32) -> Id {
        match self.op(a) {
            Op::Broadcast(s) => s,
            Op::Unindex(s, si, sj) => {
                if (si, sj) == (i, j) {
                    s
                } else {
                    self.constant(0.0)
                }
            }
            Op::Transpose(x) => self.index(x, j, i),
            _ if self.shape(a) == Shape::Scalar => a,
            _ => self.intern(Op::Index(a, i, j), Shape::Scalar),
        }
    }

    /// A tensor of `shape`, zero except for the scalar `s` at `(i, j)`.
    pub fn unindex(&mut self, s: Id, shape: Shape, i: u32, j: u32) -> Id {
        if self.is_zero(s) {
            let zero = self.constant(0.0);
            return self.broadcast(zero, shape);
        }
        self.intern(Op::Unindex(s, i, j), shape)
    }

    /// `w @ x` for a matrix and a vector.
    pub fn matvec(&mut self, w: Id, x: Id) -> Id {
        let (Shape::Matrix(m, n), Shape::Vector(k)) = (self.shape(w), self.shape(x)) else {
            unreachable!("matvec of {:?} and {:?}", self.shape(w), self.shape(x));
        };
        debug_assert_eq!(n, k);
        if let Op::Transpose(wt) = self.op(w) {
            return self.vecmat(x, wt);
        }
        self.intern(Op::MatVec(w, x), Shape::Vector(m))
    }

    /// `x @ w` for a vector and a matrix.
    pub fn vecmat(&mut self, x: Id, w: Id) -> Id {
        let (Shape::Vector(k), Shape::Matrix(m, n)) = (self.shape(x), self.shape(w)) else {
            unreachable!("vecmat of {:?} and {:?}", self.shape(x), self.shape(w));
        };
        debug_assert_eq!(k, m);
        if let Op::Transpose(wt) = self.op(w) {
            return self.matvec(wt, x);
        }
        self.intern(Op::VecMat(x, w), Shape::Vector(n))
    }

    /// `op(a) @ op(b)` for matrices, where `op` transposes when its flag is set.
    pub fn matmat(&mut self, a: Id, b: Id, ta: bool, tb: bool) -> Id {
        let (mut a, mut b, mut ta, mut tb) = (a, b, ta, tb);
        if let Op::Transpose(x) = self.op(a) {
            (a, ta) = (x, !ta);
        }
        if let Op::Transpose(y) = self.op(b) {
            (b, tb) = (y, !tb);
        }
        let dims = |s: Shape, t: bool| match s {
            Shape::Matrix(r, c) if t => (c, r),
            Shape::Matrix(r, c) => (r, c),
            other => unreachable!("matmat operand of shape {other:?}"),
        };
        let (m, k1) = dims(self.shape(a), ta);
        let (k2, n) = dims(self.shape(b), tb);
        debug_assert_eq!(k1, k2);
        self.intern(Op::MatMat(a, b, ta, tb), Shape::Matrix(m, n))
    }

    /// `u ⊗ v`.
    pub fn outer(&mut self, u: Id, v: Id) -> Id {
        let (Shape::Vector(m), Shape::Vector(n)) = (self.shape(u), self.shape(v)) else {
            unreachable!("outer of {:?} and {:?}", self.shape(u), self.shape(v));
        };
        self.intern(Op::Outer(u, v), Shape::Matrix(m, n))
    }

    /// `softmax(v)`.
    pub fn softmax(&mut self, v: Id) -> Id {
        let shape = self.shape(v);
        self.intern(Op::Softmax(v), shape)
    }

    /// `log_softmax(v)`.
    pub fn log_softmax(&mut self, v: Id) -> Id {
        let shape = self.shape(v);
        self.intern(Op::LogSoftmax(v), shape)
    }

    /// Elements `start .. start + len` of a vector.
    pub fn slice(&mut self, v: Id, start: u32, len: usize) -> Id {
        let shape = Shape::Vector(len);
        if self.shape(v) == shape {
            return v;
        }
        match self.op(v) {
            Op::Broadcast(s) => self.broadcast(s, shape),
            Op::Unslice(x, s) if s == start && self.shape(x) == shape => x,
            _ => self.intern(Op::Slice(v, start), shape),
        }
    }

    /// A vector of `shape`, zero but for `v` at `start ..`.
    pub fn unslice(&mut self, v: Id, shape: Shape, start: u32) -> Id {
        if self.is_zero(v) {
            let zero = self.constant(0.0);
            return self.broadcast(zero, shape);
        }
        if self.shape(v) == shape {
            return v;
        }
        self.intern(Op::Unslice(v, start), shape)
    }

    /// Row `i` of a matrix.
    pub fn row(&mut self, m: Id, i: u32) -> Id {
        let Shape::Matrix(_, c) = self.shape(m) else {
            unreachable!("row of {:?}", self.shape(m));
        };
        match self.op(m) {
            Op::Broadcast(s) => self.broadcast(s, Shape::Vector(c)),
            Op::Unrow(v, r) if r == i => v,
            Op::Unrow(..) => {
                let zero = self.constant(0.0);
                self.broadcast(zero, Shape::Vector(c))
            }
            _ => self.intern(Op::Row(m, i), Shape::Vector(c)),
        }
    }

    /// A matrix of `shape`, zero but for row `i`, `v`.
    pub fn unrow(&mut self, v: Id, shape: Shape, i: u32) -> Id {
        if self.is_zero(v) {
            let zero = self.constant(0.0);
            return self.broadcast(zero, shape);
        }
        self.intern(Op::Unrow(v, i), shape)
    }

    /// A `for` loop's node: its output rows (`shape`), with the scan in the table.
    pub fn scan(&mut self, scan: crate::ir::Scan, shape: Shape) -> Id {
        let k = u32::try_from(self.scans.len()).expect("fewer than 2^32 loops");
        self.scans.push(scan);
        self.intern(Op::Scan(k), shape)
    }

    /// The final value of the scan's carried state `k`.
    pub fn scan_final(&mut self, scan: Id, k: u32, shape: Shape) -> Id {
        self.intern(Op::ScanFinal(scan, k), shape)
    }

    /// A scan's backward pass, given the adjoints of its results.
    pub fn scan_back(&mut self, back: crate::ir::ScanBack) -> Id {
        let b = u32::try_from(self.backs.len()).expect("fewer than 2^32 loops");
        self.backs.push(back);
        self.intern(Op::ScanBack(b), Shape::Scalar)
    }

    /// One result of a scan's backward pass, of the shape of the operand it is for.
    pub fn scan_back_part(&mut self, back: Id, part: crate::ir::Part, shape: Shape) -> Id {
        self.intern(Op::ScanBackPart(back, part), shape)
    }

    /// Rebuilds everything `roots` reach with the seed replaced by the constant `seed`,
    /// through the smart constructors, so the copy is simplified as if it had been built
    /// with that seed. Returns each visited node's copy (unchanged nodes map to
    /// themselves): the input gradient is the parameters' derivation at seed 1.
    pub fn with_seed(&mut self, roots: impl IntoIterator<Item = Id>, seed: f64) -> Vec<Option<Id>> {
        let live = self.reachable(roots);
        let mut copy: Vec<Option<Id>> = vec![None; live.len()];
        for id in (0..live.len() as u32).map(Id).filter(|id| live[id.index()]) {
            let node = self.node(id);
            let m = |x: Id| copy[x.index()].expect("children come first");
            let new = match node.op {
                Op::Seed => self.constant(seed),
                op if op.is_leaf() => id,
                Op::Unary(f, a) => self.unary(f, m(a)),
                Op::Binary(f, a, b) => self.binary(f, m(a), m(b)),
                Op::Broadcast(s) => self.broadcast(m(s), node.shape),
                Op::Sum(a) => self.sum(m(a)),
                Op::Transpose(a) => self.transpose(m(a)),
                Op::Index(a, i, j) => self.index(m(a), i, j),
                Op::Unindex(s, i, j) => self.unindex(m(s), node.shape, i, j),
                Op::MatVec(w, x) => self.matvec(m(w), m(x)),
                Op::VecMat(x, w) => self.vecmat(m(x), m(w)),
                Op::MatMat(a, b, ta, tb) => self.matmat(m(a), m(b), ta, tb),
                Op::Outer(u, v) => self.outer(m(u), m(v)),
                Op::Softmax(a) => self.softmax(m(a)),
                Op::LogSoftmax(a) => self.log_softmax(m(a)),
                Op::Slice(a, s) => self.slice(m(a), s, node.shape.len()),
                Op::Unslice(a, s) => self.unslice(m(a), node.shape, s),
                Op::Row(a, i) => self.row(m(a), i),
                Op::Unrow(a, i) => self.unrow(m(a), node.shape, i),
                // A scan's forward pass never depends on the seed.
                Op::Scan(_) => id,
                Op::ScanFinal(a, k) => self.scan_final(m(a), k, node.shape),
                Op::ScanBack(b) => {
                    let back = self.backs[b as usize].clone();
                    let copied = crate::ir::ScanBack {
                        scan: m(back.scan),
                        d_out: back.d_out.map(m),
                        d_finals: back.d_finals.iter().map(|d| d.map(m)).collect(),
                    };
                    if copied == back {
                        id
                    } else {
                        self.scan_back(copied)
                    }
                }
                Op::ScanBackPart(a, p) => self.scan_back_part(m(a), p, node.shape),
                Op::Input
                | Op::Target
                | Op::Param(_)
                | Op::Const(_)
                | Op::State(_)
                | Op::Captured(_)
                | Op::Adj(_) => unreachable!("leaves"),
            };
            copy[id.index()] = Some(new);
        }
        copy
    }
}

fn is_commutative(f: Binary) -> bool {
    matches!(f, Binary::Add | Binary::Mul | Binary::Max | Binary::Min)
}

/// A unary function on a constant, with the same conventions as the runtime.
pub fn fold_unary(f: Unary, x: f64) -> f64 {
    match f {
        Unary::Neg => -x,
        Unary::Square => x * x,
        Unary::Elem(f) => f.value(x),
    }
}

/// A binary function on constants, with the same conventions as the runtime.
pub fn fold_binary(f: Binary, a: f64, b: f64) -> f64 {
    match f {
        Binary::Add => a + b,
        Binary::Sub => a - b,
        Binary::Mul => a * b,
        Binary::Div => a / b,
        Binary::Pow => a.powf(b),
        Binary::Max => {
            if b > a {
                b
            } else {
                a
            }
        }
        Binary::Min => {
            if b < a {
                b
            } else {
                a
            }
        }
        Binary::MaxGrad => {
            if a > b {
                1.0
            } else if a == b {
                0.5
            } else {
                0.0
            }
        }
    }
}
