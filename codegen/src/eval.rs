//! A reference interpreter of the IR in `f64`, independent of the emitted code: tests use
//! it to check each derivative rule and each simplification against finite differences
//! and against the unsimplified meaning, with no compiler in the loop.

use crate::ir::{Graph, Id, Op, Shape};
use crate::simplify::{fold_binary, fold_unary};

/// A dense value: its shape and its elements, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// The shape.
    pub shape: Shape,
    /// The elements, row-major.
    pub data: Vec<f64>,
}

impl Value {
    /// A value of the given shape.
    pub fn new(shape: Shape, data: Vec<f64>) -> Self {
        assert_eq!(shape.len(), data.len(), "data does not fit {shape}");
        Self { shape, data }
    }

    /// A scalar.
    pub fn scalar(v: f64) -> Self {
        Self::new(Shape::Scalar, vec![v])
    }

    fn cols(&self) -> usize {
        match self.shape {
            Shape::Matrix(_, c) => c,
            _ => 1,
        }
    }

    /// Element `k` of a value, or its only element if it is a scalar (broadcast).
    fn at(&self, k: usize) -> f64 {
        if self.shape == Shape::Scalar {
            self.data[0]
        } else {
            self.data[k]
        }
    }
}

/// The leaves' values: input, target, parameters and seed.
#[derive(Clone, Debug)]
pub struct Leaves {
    /// The input.
    pub input: Value,
    /// The target, if any.
    pub target: Option<Value>,
    /// Parameters in order.
    pub params: Vec<Value>,
    /// The seed (scale of the loss adjoint).
    pub seed: f64,
}

/// Evaluates every node of the graph, children first.
pub fn eval(g: &Graph, leaves: &Leaves) -> Vec<Value> {
    let mut vals: Vec<Value> = Vec::with_capacity(g.len());
    for id in g.ids() {
        let node = g.node(id);
        let v = |x: Id| &vals[x.index()];
        let out = match node.op {
            Op::Input => leaves.input.clone(),
            Op::Target => leaves.target.clone().expect("a target value"),
            Op::Param(p) => leaves.params[p as usize].clone(),
            Op::Seed => Value::scalar(leaves.seed),
            Op::Const(bits) => Value::scalar(f64::from_bits(bits)),
            Op::Unary(f, a) => map(node.shape, |k| fold_unary(f, v(a).at(k))),
            Op::Binary(f, a, b) => map(node.shape, |k| fold_binary(f, v(a).at(k), v(b).at(k))),
            Op::Broadcast(s) => map(node.shape, |_| v(s).data[0]),
            Op::Sum(a) => Value::scalar(v(a).data.iter().sum()),
            Op::Transpose(a) => {
                let (r, c) = (v(a).data.len() / v(a).cols(), v(a).cols());
                map(node.shape, |k| {
                    let (i, j) = (k / r, k % r);
                    debug_assert!(j < r && i < c);
                    v(a).data[j * c + i]
                })
            }
            Op::Index(a, i, j) => {
                let k = i as usize * v(a).cols() + j as usize;
                Value::scalar(v(a).data[if v(a).shape == Shape::Scalar { 0 } else { k }])
            }
            Op::Unindex(s, i, j) => {
                let cols = match node.shape {
                    Shape::Matrix(_, c) => c,
                    _ => 1,
                };
                let at = i as usize * cols + j as usize;
                map(node.shape, |k| if k == at { v(s).data[0] } else { 0.0 })
            }
            Op::MatVec(w, x) => {
                let n = v(x).data.len();
                map(node.shape, |i| {
                    (0..n).map(|j| v(w).data[i * n + j] * v(x).data[j]).sum()
                })
            }
            Op::VecMat(x, w) => {
                let (m, n) = (v(x).data.len(), v(w).cols());
                map(node.shape, |j| {
                    (0..m).map(|i| v(x).data[i] * v(w).data[i * n + j]).sum()
                })
            }
            Op::MatMat(a, b, ta, tb) => {
                let get = |val: &Value, t: bool, i: usize, j: usize| {
                    if t {
                        val.data[j * val.cols() + i]
                    } else {
                        val.data[i * val.cols() + j]
                    }
                };
                let Shape::Matrix(_, n) = node.shape else {
                    unreachable!()
                };
                let k = if ta {
                    v(a).data.len() / v(a).cols()
                } else {
                    v(a).cols()
                };
                map(node.shape, |idx| {
                    let (i, j) = (idx / n, idx % n);
                    (0..k)
                        .map(|l| get(v(a), ta, i, l) * get(v(b), tb, l, j))
                        .sum()
                })
            }
            Op::Outer(u, w) => {
                let n = v(w).data.len();
                map(node.shape, |k| v(u).data[k / n] * v(w).data[k % n])
            }
            Op::Softmax(a) => {
                let m = v(a).data.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = v(a).data.iter().map(|x| (x - m).exp()).sum();
                map(node.shape, |k| (v(a).data[k] - m).exp() / s)
            }
            Op::LogSoftmax(a) => {
                let m = v(a).data.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = v(a).data.iter().map(|x| (x - m).exp()).sum();
                map(node.shape, |k| v(a).data[k] - m - s.ln())
            }
        };
        debug_assert_eq!(out.shape, node.shape, "node {id:?} {:?}", node.op);
        vals.push(out);
    }
    vals
}

fn map(shape: Shape, f: impl Fn(usize) -> f64) -> Value {
    Value::new(shape, (0..shape.len()).map(f).collect())
}
