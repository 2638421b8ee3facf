//! A reference interpreter of the IR in `f64`, independent of the emitted code: tests use
//! it to check each derivative rule and each simplification against finite differences
//! and against the unsimplified meaning, with no compiler in the loop.

use crate::ir::{Graph, Id, Op, Part, Shape};
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

/// The values of a cell graph's own leaves at one step.
#[derive(Clone, Debug, Default)]
struct Step<'a> {
    states: &'a [Value],
    captured: &'a [Value],
    adj: &'a [Value],
}

/// Evaluates every node of the graph, children first.
pub fn eval(g: &Graph, leaves: &Leaves) -> Vec<Value> {
    eval_step(g, leaves, &Step::default())
}

/// What evaluating a scan leaves for its final states and its backward pass.
struct Ran {
    finals: Vec<Value>,
    /// The carried states as each step began.
    tape: Vec<Vec<Value>>,
    captured: Vec<Value>,
}

fn eval_step(g: &Graph, leaves: &Leaves, step: &Step) -> Vec<Value> {
    let mut vals: Vec<Value> = Vec::with_capacity(g.len());
    let mut ran: std::collections::HashMap<Id, Ran> = Default::default();
    let mut parts: std::collections::HashMap<Id, Vec<(Part, Value)>> = Default::default();
    for id in g.ids() {
        let node = g.node(id);
        let v = |x: Id| &vals[x.index()];
        let out = match node.op {
            Op::Input => leaves.input.clone(),
            Op::Target => leaves.target.clone().expect("a target value"),
            Op::Param(p) => leaves.params[p as usize].clone(),
            Op::Seed => Value::scalar(leaves.seed),
            Op::Const(bits) => Value::scalar(f64::from_bits(bits)),
            Op::State(k) => step.states[k as usize].clone(),
            Op::Captured(j) => step.captured[j as usize].clone(),
            Op::Adj(k) => step.adj[k as usize].clone(),
            Op::Slice(a, s) => map(node.shape, |k| v(a).data[s as usize + k]),
            Op::Unslice(a, s) => {
                let (s, n) = (s as usize, v(a).data.len());
                map(node.shape, |k| {
                    if (s..s + n).contains(&k) {
                        v(a).data[k - s]
                    } else {
                        0.0
                    }
                })
            }
            Op::Row(a, i) => {
                let c = v(a).cols();
                map(node.shape, |k| v(a).data[i as usize * c + k])
            }
            Op::Unrow(a, i) => {
                let c = match node.shape {
                    Shape::Matrix(_, c) => c,
                    _ => 1,
                };
                map(node.shape, |k| {
                    if k / c == i as usize {
                        v(a).data[k % c]
                    } else {
                        0.0
                    }
                })
            }
            Op::Scan(_) => {
                let (out, r) = run_scan(g, id, leaves, &vals);
                ran.insert(id, r);
                out
            }
            Op::ScanFinal(scan, k) => ran[&scan].finals[k as usize].clone(),
            Op::ScanBack(b) => {
                parts.insert(id, run_back(g, b, leaves, &vals, &ran));
                Value::scalar(0.0)
            }
            Op::ScanBackPart(back, p) => (parts[&back].iter())
                .find(|(q, _)| *q == p)
                .map(|(_, val)| val.clone())
                .expect("a computed part"),
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

/// Runs a scan's cell over the rows: the stacked outputs, and what the final states and
/// the backward pass read.
fn run_scan(g: &Graph, id: Id, leaves: &Leaves, vals: &[Value]) -> (Value, Ran) {
    let s = g.scan_of(id);
    let seq = &vals[s.seq.index()];
    let width = seq.cols();
    let captured: Vec<Value> = s.captured.iter().map(|c| vals[c.index()].clone()).collect();
    let mut states: Vec<Value> = (s.inits.iter())
        .zip(&s.new_states)
        .map(|(i, n)| {
            let shape = s.cell.shape(*n);
            let init = &vals[i.index()];
            map(shape, |k| init.at(k))
        })
        .collect();
    let mut tape = Vec::new();
    let mut rows = Vec::new();
    for t in 0..s.steps {
        let row = Value::new(
            Shape::Vector(width),
            seq.data[t * width..(t + 1) * width].to_vec(),
        );
        let cell_leaves = Leaves {
            input: row,
            ..leaves.clone()
        };
        let step = Step {
            states: &states,
            captured: &captured,
            adj: &[],
        };
        let cv = eval_step(&s.cell, &cell_leaves, &step);
        tape.push(states.clone());
        if let Some(o) = s.output {
            rows.extend(cv[o.index()].data.iter().copied());
        }
        states = s.new_states.iter().map(|n| cv[n.index()].clone()).collect();
    }
    let shape = g.shape(id);
    if s.output.is_none() {
        rows = vec![0.0];
    }
    let out = Value::new(shape, rows);
    (
        out,
        Ran {
            finals: states,
            tape,
            captured,
        },
    )
}

/// Runs a scan's backward pass over the steps in reverse: the adjoint of each operand.
fn run_back(
    g: &Graph,
    b: u32,
    leaves: &Leaves,
    vals: &[Value],
    ran: &std::collections::HashMap<Id, Ran>,
) -> Vec<(Part, Value)> {
    let back = &g.backs[b as usize];
    let s = g.scan_of(back.scan);
    let r = &ran[&back.scan];
    let d = crate::diff::cell_derivation(s, g);
    let seq = &vals[s.seq.index()];
    let width = seq.cols();
    let zero = |shape: Shape| Value::new(shape, vec![0.0; shape.len()]);
    let total = |cv: &[Value], terms: &[Id], shape: Shape| {
        let mut out = zero(shape);
        for t in terms {
            for (o, x) in out.data.iter_mut().enumerate() {
                *x += cv[t.index()].at(o);
            }
        }
        out
    };
    let mut d_states: Vec<Value> = (s.new_states.iter().enumerate())
        .map(|(k, n)| match back.d_finals.get(k).copied().flatten() {
            Some(f) => vals[f.index()].clone(),
            None => zero(s.cell.shape(*n)),
        })
        .collect();
    let mut d_seq = zero(seq.shape);
    let mut d_captured: Vec<Value> = s.captured.iter().map(|c| zero(g.shape(*c))).collect();
    let mut d_params: Vec<Value> = s.params.iter().map(|p| zero(g.shape(*p))).collect();
    let out_shape = s.output.map(|o| s.cell.shape(o));
    for t in (0..s.steps).rev() {
        let row = Value::new(
            Shape::Vector(width),
            seq.data[t * width..(t + 1) * width].to_vec(),
        );
        let mut adj = d_states.clone();
        if let Some(shape) = out_shape {
            adj.push(match back.d_out {
                Some(o) => {
                    let m = shape.len();
                    let all = &vals[o.index()];
                    Value::new(shape, (0..m).map(|k| all.at(t * m + k)).collect())
                }
                None => zero(shape),
            });
        }
        let step = Step {
            states: &r.tape[t],
            captured: &r.captured,
            adj: &adj,
        };
        let cell_leaves = Leaves {
            input: row,
            ..leaves.clone()
        };
        let cv = eval_step(&d.graph, &cell_leaves, &step);
        let terms = |leaf: Option<Id>| leaf.map_or(&[][..], |l| &d.adjoints.terms[l.index()][..]);
        if let Some(rw) = d.row {
            let dr = total(&cv, terms(Some(rw)), Shape::Vector(width));
            d_seq.data[t * width..(t + 1) * width].copy_from_slice(&dr.data);
        }
        for (k, leaf) in d.states.iter().enumerate() {
            d_states[k] = total(&cv, terms(*leaf), d_states[k].shape);
        }
        for (j, leaf) in d.captured.iter().enumerate() {
            let add = total(&cv, terms(*leaf), d_captured[j].shape);
            for (a, b) in d_captured[j].data.iter_mut().zip(&add.data) {
                *a += b;
            }
        }
        for (i, leaf) in d.params.iter().enumerate() {
            let add = total(&cv, terms(*leaf), d_params[i].shape);
            for (a, b) in d_params[i].data.iter_mut().zip(&add.data) {
                *a += b;
            }
        }
    }
    let mut out = vec![(Part::Seq, d_seq)];
    out.extend(
        d_states
            .into_iter()
            .enumerate()
            .map(|(k, v)| (Part::Init(k as u32), v)),
    );
    out.extend(
        d_captured
            .into_iter()
            .enumerate()
            .map(|(j, v)| (Part::Captured(j as u32), v)),
    );
    out.extend(
        d_params
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Part::Param(i as u32), v)),
    );
    out
}

fn map(shape: Shape, f: impl Fn(usize) -> f64) -> Value {
    Value::new(shape, (0..shape.len()).map(f).collect())
}
