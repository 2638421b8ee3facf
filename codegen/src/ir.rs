//! The tensor IR: a flat, hash-consed list of nodes over static shapes.
//!
//! Invariants of [`Graph`]:
//! - nodes are stored children before parents, so an [`Id`] is also a topological index;
//! - a node is never stored twice: structurally equal nodes share one id (hash-consing), so
//!   a common subexpression is computed once and becomes one `let` in the output;
//! - every node's shape is consistent with its operation (checked by debug assertions):
//!   elementwise operands have the node's shape or are scalars that broadcast.
//!
//! Nodes are built only through the smart constructors in `simplify`, which fold constants
//! and apply algebraic identities before interning.

use std::collections::HashMap;
use std::fmt;

pub use chainrule_grammar::model::Shape;
pub use chainrule_grammar::ops::Applied;

/// A node's index in its [`Graph`]; smaller ids never depend on larger ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub u32);

impl Id {
    /// The id as an index into the node list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Scalar functions applied elementwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unary {
    /// `-x`.
    Neg,
    /// `x²`, what `x ^ 2` becomes.
    Square,
    /// A function of the operator table ([`chainrule_grammar::ops`]) with its parameters.
    Elem(Applied),
}

/// Scalar functions of two arguments applied elementwise (scalars broadcast).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Binary {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
    /// `aᵇ`.
    Pow,
    /// `max(a, b)`.
    Max,
    /// `min(a, b)`.
    Min,
    /// `∂max(a, b)/∂a`: 1 if `a > b`, ½ at a tie, else 0.
    MaxGrad,
}

/// What a node computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// The net's input.
    Input,
    /// The net's target.
    Target,
    /// Parameter `i` in declaration order.
    Param(u32),
    /// The scale of the loss's adjoint (`1` in `backward`, `1/B` in `backward_batch`).
    Seed,
    /// A scalar constant, by its `f64` bits.
    Const(u64),
    /// An elementwise function of one operand.
    Unary(Unary, Id),
    /// An elementwise function of two operands; a scalar operand broadcasts.
    Binary(Binary, Id, Id),
    /// A scalar repeated to the node's shape.
    Broadcast(Id),
    /// The sum of every element: a scalar.
    Sum(Id),
    /// `[r, c]` to `[c, r]`.
    Transpose(Id),
    /// One element of a vector (`j` unused) or matrix: a scalar.
    Index(Id, u32, u32),
    /// A tensor of the node's shape that is zero except for the scalar at `(i, j)`.
    Unindex(Id, u32, u32),
    /// `w @ x` for `w: [m, n]`, `x: [n]`.
    MatVec(Id, Id),
    /// `x @ w` for `x: [m]`, `w: [m, n]`.
    VecMat(Id, Id),
    /// `a @ b` for matrices; the flags read `a` or `b` transposed.
    MatMat(Id, Id, bool, bool),
    /// `u ⊗ v`: `[m] × [n]` to `[m, n]`.
    Outer(Id, Id),
    /// `softmax(v)`, max-shifted.
    Softmax(Id),
    /// `log_softmax(v)`, max-shifted.
    LogSoftmax(Id),
    /// Elements `start ..` of a vector, as many as the node's length.
    Slice(Id, u32),
    /// A vector of the node's shape, zero but for the operand at `start ..`.
    Unslice(Id, u32),
    /// Row `i` of a matrix: a vector.
    Row(Id, u32),
    /// A matrix of the node's shape, zero but for row `i`, the operand.
    Unrow(Id, u32),
    /// In a cell graph: state `k` of the loop (by place among the states it carries) as
    /// the step begins.
    State(u32),
    /// In a cell graph: value `j` from outside the loop, the same at every step.
    Captured(u32),
    /// In a cell graph's derivation: the adjoint given for root `k` (the carried states'
    /// values after the step, in order, then the step's output).
    Adj(u32),
    /// A `for` loop, by index into [`Graph::scans`]: the rows its steps output, stacked.
    Scan(u32),
    /// The final value of carried state `k` of the scan node.
    ScanFinal(Id, u32),
    /// A scan's backward pass, by index into [`Graph::backs`]: one loop backwards over the
    /// steps; its value is nothing (a scalar 0), its results are [`Op::ScanBackPart`]s.
    ScanBack(u32),
    /// One result of a scan's backward pass.
    ScanBackPart(Id, Part),
}

/// A result of a scan's backward pass: the adjoint of one of the scan's operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// Of the rows it runs over.
    Seq,
    /// Of carried state `k`'s initial value.
    Init(u32),
    /// Of captured value `j`.
    Captured(u32),
    /// Of the `i`-th parameter the cell reads ([`Scan::params`]).
    Param(u32),
}

/// A `for` loop: a cell graph run once per row of `seq`, carrying states.
#[derive(Clone, Debug)]
pub struct Scan {
    /// One step: leaves `Input` (the row), `State(k)`, `Param(i)` and `Captured(j)`.
    pub cell: Graph,
    /// The rows, a node of the outer graph.
    pub seq: Id,
    /// Each carried state's initial value, outer nodes.
    pub inits: Vec<Id>,
    /// The values captured from outside, outer nodes; `Captured(j)` is `captured[j]`.
    pub captured: Vec<Id>,
    /// The parameters the cell reads, outer leaves (so the scan depends on them).
    pub params: Vec<Id>,
    /// The model's index of each carried state.
    pub states: Vec<usize>,
    /// In the cell: each carried state's value after the step.
    pub new_states: Vec<Id>,
    /// In the cell: the step's output row, if any.
    pub output: Option<Id>,
    /// How many steps: the rows of `seq`.
    pub steps: usize,
}

/// The backward pass of a scan, given the adjoints of its results.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScanBack {
    /// The scan node.
    pub scan: Id,
    /// The adjoint of its output rows, if any reach it.
    pub d_out: Option<Id>,
    /// The adjoint of each carried state's final value, if any reaches it.
    pub d_finals: Vec<Option<Id>>,
}

impl Op {
    /// The operands, in order.
    /// The operands held in the op itself; a scan's and a scan backward's are in the
    /// graph's tables too ([`Graph::children`] gives them all).
    pub fn children(self) -> impl Iterator<Item = Id> {
        let (a, b) = match self {
            Op::Input
            | Op::Target
            | Op::Param(_)
            | Op::Seed
            | Op::Const(_)
            | Op::State(_)
            | Op::Captured(_)
            | Op::Adj(_)
            | Op::Scan(_)
            | Op::ScanBack(_) => (None, None),
            Op::Unary(_, a)
            | Op::Broadcast(a)
            | Op::Sum(a)
            | Op::Transpose(a)
            | Op::Index(a, ..)
            | Op::Unindex(a, ..)
            | Op::Softmax(a)
            | Op::LogSoftmax(a)
            | Op::Slice(a, _)
            | Op::Unslice(a, _)
            | Op::Row(a, _)
            | Op::Unrow(a, _)
            | Op::ScanFinal(a, _)
            | Op::ScanBackPart(a, _) => (Some(a), None),
            Op::Binary(_, a, b)
            | Op::MatVec(a, b)
            | Op::VecMat(a, b)
            | Op::MatMat(a, b, ..)
            | Op::Outer(a, b) => (Some(a), Some(b)),
        };
        a.into_iter().chain(b)
    }

    /// True for leaves: values that exist before any code runs.
    pub fn is_leaf(&self) -> bool {
        matches!(
            self,
            Op::Input
                | Op::Target
                | Op::Param(_)
                | Op::Seed
                | Op::Const(_)
                | Op::State(_)
                | Op::Captured(_)
                | Op::Adj(_)
        )
    }

    /// True for operations computed one element at a time from the same element of each
    /// operand (or a broadcast scalar), which can be fused into one loop.
    pub fn is_elementwise(&self) -> bool {
        matches!(self, Op::Unary(..) | Op::Binary(..) | Op::Broadcast(_))
    }

    /// The constant's value, if this is one.
    pub fn constant(&self) -> Option<f64> {
        match *self {
            Op::Const(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }
}

/// One node: an operation and the shape of its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    /// What it computes.
    pub op: Op,
    /// Its result's shape.
    pub shape: Shape,
}

/// The graph of one net: forward values, losses and adjoints all live here together, so
/// an adjoint that needs a forward value refers to the very node that computed it.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    interned: HashMap<Node, Id>,
    /// The `for` loops, by [`Op::Scan`] index.
    pub scans: Vec<Scan>,
    /// Scans' backward passes, by [`Op::ScanBack`] index.
    pub backs: Vec<ScanBack>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Interns a node as is. Use the smart constructors in `simplify` instead, which
    /// simplify first; this is the one place nodes are stored.
    pub(crate) fn intern(&mut self, op: Op, shape: Shape) -> Id {
        let node = Node { op, shape };
        if let Some(&id) = self.interned.get(&node) {
            return id;
        }
        debug_assert!(op.children().all(|c| c.index() < self.nodes.len()));
        debug_assert!(
            !matches!(op, Op::Scan(_) | Op::ScanBack(_)) || !self.interned.contains_key(&node)
        );
        let id = Id(u32::try_from(self.nodes.len()).expect("fewer than 2^32 nodes"));
        self.nodes.push(node);
        self.interned.insert(node, id);
        id
    }

    /// The node behind an id.
    pub fn node(&self, id: Id) -> Node {
        self.nodes[id.index()]
    }

    /// The operation behind an id.
    pub fn op(&self, id: Id) -> Op {
        self.nodes[id.index()].op
    }

    /// The shape of a node.
    pub fn shape(&self, id: Id) -> Shape {
        self.nodes[id.index()].shape
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when no node is stored.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every id, children before parents.
    pub fn ids(&self) -> impl DoubleEndedIterator<Item = Id> + use<> {
        (0..self.nodes.len() as u32).map(Id)
    }

    /// The constant value of a node, if it is one.
    pub fn value_of(&self, id: Id) -> Option<f64> {
        self.op(id).constant()
    }

    /// Every operand of a node, a scan's and a scan backward's from the tables included.
    pub fn children(&self, id: Id) -> impl Iterator<Item = Id> + use<'_> {
        let op = self.op(id);
        let table: Vec<Id> = match op {
            Op::Scan(k) => {
                let s = &self.scans[k as usize];
                std::iter::once(s.seq)
                    .chain(s.inits.iter().copied())
                    .chain(s.captured.iter().copied())
                    .chain(s.params.iter().copied())
                    .collect()
            }
            Op::ScanBack(b) => {
                let back = &self.backs[b as usize];
                std::iter::once(back.scan)
                    .chain(back.d_out)
                    .chain(back.d_finals.iter().flatten().copied())
                    .collect()
            }
            _ => Vec::new(),
        };
        op.children().chain(table)
    }

    /// The scan behind a scan node.
    pub fn scan_of(&self, id: Id) -> &Scan {
        match self.op(id) {
            Op::Scan(k) => &self.scans[k as usize],
            op => unreachable!("{op:?} is not a scan"),
        }
    }

    /// The nodes reachable from `roots`, as a mask indexed by id.
    pub fn reachable(&self, roots: impl IntoIterator<Item = Id>) -> Vec<bool> {
        let mut live = vec![false; self.nodes.len()];
        let mut stack: Vec<Id> = roots.into_iter().collect();
        while let Some(id) = stack.pop() {
            if !std::mem::replace(&mut live[id.index()], true) {
                stack.extend(self.children(id));
            }
        }
        live
    }

    /// The node as an s-expression, e.g. `(sigmoid (+ (matvec w1 x) b1))`; leaves print
    /// as `x`, `t`, `seed`, `p0`, `p1`, ... unless `names` gives parameter names.
    pub fn sexpr(&self, id: Id, params: &[&str]) -> String {
        let mut out = String::new();
        self.write_sexpr(id, params, &mut out);
        out
    }

    fn write_sexpr(&self, id: Id, params: &[&str], out: &mut String) {
        use fmt::Write;
        let node = self.node(id);
        let mut list = |head: &str, kids: &[Id], extra: &str| {
            out.push('(');
            out.push_str(head);
            for &k in kids {
                out.push(' ');
                self.write_sexpr(k, params, out);
            }
            out.push_str(extra);
            out.push(')');
        };
        match node.op {
            Op::Input => out.push('x'),
            Op::Target => out.push('t'),
            Op::Seed => out.push_str("seed"),
            Op::Param(i) => match params.get(i as usize) {
                Some(name) => out.push_str(name),
                None => {
                    let _ = write!(out, "p{i}");
                }
            },
            Op::Const(bits) => {
                let _ = write!(out, "{}", f64::from_bits(bits));
            }
            Op::Unary(f, a) => {
                let params: String = match f {
                    Unary::Elem(f) => f.params().map(|p| format!(" {p}")).collect(),
                    _ => String::new(),
                };
                list(unary_name(f), &[a], &params)
            }
            Op::Binary(f, a, b) => list(binary_name(f), &[a, b], ""),
            Op::Broadcast(a) => list("broadcast", &[a], &format!(" {}", node.shape)),
            Op::Sum(a) => list("sum", &[a], ""),
            Op::Transpose(a) => list("transpose", &[a], ""),
            Op::Index(a, i, j) => {
                let idx = match self.shape(a) {
                    Shape::Matrix(..) => format!(" {i} {j}"),
                    _ => format!(" {i}"),
                };
                list("index", &[a], &idx)
            }
            Op::Unindex(a, i, j) => {
                let idx = match node.shape {
                    Shape::Matrix(..) => format!(" {i} {j} {}", node.shape),
                    _ => format!(" {i} {}", node.shape),
                };
                list("unindex", &[a], &idx)
            }
            Op::MatVec(a, b) => list("matvec", &[a, b], ""),
            Op::VecMat(a, b) => list("vecmat", &[a, b], ""),
            Op::MatMat(a, b, ta, tb) => {
                let head = match (ta, tb) {
                    (false, false) => "matmat",
                    (true, false) => "matmat_tn",
                    (false, true) => "matmat_nt",
                    (true, true) => "matmat_tt",
                };
                list(head, &[a, b], "")
            }
            Op::Outer(a, b) => list("outer", &[a, b], ""),
            Op::Softmax(a) => list("softmax", &[a], ""),
            Op::LogSoftmax(a) => list("log_softmax", &[a], ""),
            Op::Slice(a, s) => list("slice", &[a], &format!(" {s} {}", node.shape)),
            Op::Unslice(a, s) => list("unslice", &[a], &format!(" {s} {}", node.shape)),
            Op::Row(a, i) => list("row", &[a], &format!(" {i}")),
            Op::Unrow(a, i) => list("unrow", &[a], &format!(" {i} {}", node.shape)),
            Op::State(k) => {
                let _ = write!(out, "state{k}");
            }
            Op::Captured(j) => {
                let _ = write!(out, "captured{j}");
            }
            Op::Adj(k) => {
                let _ = write!(out, "adj{k}");
            }
            Op::Scan(k) => {
                let s = &self.scans[k as usize];
                let kids: Vec<Id> = std::iter::once(s.seq)
                    .chain(s.inits.iter().copied())
                    .collect();
                list("scan", &kids, &format!(" #{k}"))
            }
            Op::ScanFinal(a, k) => list("final", &[a], &format!(" {k}")),
            Op::ScanBack(b) => {
                let back = &self.backs[b as usize];
                let kids: Vec<Id> = back
                    .d_out
                    .into_iter()
                    .chain(back.d_finals.iter().flatten().copied())
                    .collect();
                list("scan_back", &kids, &format!(" #{b}"))
            }
            Op::ScanBackPart(a, p) => list("back_part", &[a], &format!(" {p:?}")),
        }
    }
}

/// The name of a unary function in s-expressions and generated code.
pub fn unary_name(f: Unary) -> &'static str {
    match f {
        Unary::Neg => "-",
        Unary::Square => "square",
        Unary::Elem(f) => f.name(),
    }
}

/// The name of a binary function in s-expressions.
pub fn binary_name(f: Binary) -> &'static str {
    match f {
        Binary::Add => "+",
        Binary::Sub => "-",
        Binary::Mul => "*",
        Binary::Div => "/",
        Binary::Pow => "^",
        Binary::Max => "max",
        Binary::Min => "min",
        Binary::MaxGrad => "max_grad",
    }
}
