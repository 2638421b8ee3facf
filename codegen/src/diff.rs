//! Reverse mode: the chain rule applied from the loss back to every parameter and the input.
//!
//! Nodes are visited from the loss downward (ids in decreasing order, which is a reverse
//! topological order). A node's adjoint is the sum of the contributions its users sent it;
//! it then sends each operand `adjoint · ∂node/∂operand` per the rules in [`vjp`]. Rules
//! refer to the node's own value where the textbook does (`σ' = σ(1 − σ)`,
//! `tanh' = 1 − tanh²`, `exp' = exp`), so backward reuses forward values instead of
//! recomputing them.

use chainrule_grammar::ops::{Term, derivative};

use crate::ir::{Applied, Binary, Graph, Id, Op, Shape, Unary};

/// The adjoints of one differentiation.
#[derive(Clone, Debug)]
pub struct Adjoints {
    /// Contributions to each node's adjoint, indexed by the ids that existed before
    /// differentiation. Leaves keep theirs unsummed, so each can be accumulated into a
    /// gradient buffer with the kernel that suits it.
    pub terms: Vec<Vec<Id>>,
    /// The summed adjoint of each inner node that received any.
    pub total: Vec<Option<Id>>,
    /// For each node created here, the forward node whose rule created it.
    pub created_by: Vec<(Id, Id)>,
}

/// Differentiates `loss` with respect to every node that depends on a parameter or the
/// input, starting from the adjoint `seed` of the loss.
pub fn differentiate(g: &mut Graph, loss: Id, seed: Id) -> Adjoints {
    let n = g.len();
    let active = active_nodes(g, loss);
    let mut terms: Vec<Vec<Id>> = vec![Vec::new(); n];
    let mut total = vec![None; n];
    let mut created_by = Vec::new();
    terms[loss.index()].push(seed);
    for id in (0..n as u32).rev().map(Id) {
        if !active[id.index()] || terms[id.index()].is_empty() || g.op(id).is_leaf() {
            continue;
        }
        let before = g.len();
        let adjoint = sum_terms(g, &terms[id.index()]);
        total[id.index()] = Some(adjoint);
        for (operand, contribution) in vjp(g, id, adjoint) {
            if active[operand.index()] && !g.is_zero(contribution) {
                terms[operand.index()].push(contribution);
            }
        }
        created_by.extend((before as u32..g.len() as u32).map(|k| (Id(k), id)));
    }
    Adjoints {
        terms,
        total,
        created_by,
    }
}

/// The sum of adjoint contributions, in the order they arrived.
pub fn sum_terms(g: &mut Graph, terms: &[Id]) -> Id {
    let mut iter = terms.iter().copied();
    let first = iter.next().expect("at least one term");
    iter.fold(first, |acc, t| g.add(acc, t))
}

/// Nodes on a path from a parameter or the input to the loss.
fn active_nodes(g: &Graph, loss: Id) -> Vec<bool> {
    let reach = g.reachable([loss]);
    let mut depends = vec![false; g.len()];
    for id in g.ids() {
        depends[id.index()] = match g.op(id) {
            Op::Param(_) | Op::Input => true,
            op => op.children().any(|c| depends[c.index()]),
        };
    }
    reach.iter().zip(&depends).map(|(r, d)| *r && *d).collect()
}

/// The vector–Jacobian products of node `y` with adjoint `gy`: for each operand, its
/// contribution. One line per rule, as in a table of derivatives.
pub fn vjp(g: &mut Graph, y: Id, gy: Id) -> Vec<(Id, Id)> {
    let node = g.node(y);
    match node.op {
        Op::Unary(Unary::Neg, a) => vec![(a, g.neg(gy))],
        Op::Unary(Unary::Square, a) => {
            let d = g.scale(a, 2.0); // (a²)' = 2a
            vec![(a, g.mul(gy, d))]
        }
        // The table's derivative, over the operand `a` and the value `y`.
        Op::Unary(Unary::Elem(f), a) => match derivative(f.id) {
            Term::Num(0.0) => vec![], // flat almost everywhere
            d => {
                let d = build(g, d, f, a, y);
                vec![(a, g.mul(gy, d))]
            }
        },
        Op::Binary(f, a, b) => {
            let (da, db) = match f {
                Binary::Add => (Some(gy), Some(gy)),
                Binary::Sub => (Some(gy), Some(g.neg(gy))),
                Binary::Mul => (Some(g.mul(gy, b)), Some(g.mul(gy, a))),
                Binary::Div => {
                    let gyy = g.mul(gy, y); // ∂(a/b)/∂b = −(a/b)/b
                    let q = g.div(gyy, b);
                    (Some(g.div(gy, b)), Some(g.neg(q)))
                }
                Binary::Pow => {
                    let one = g.constant(1.0); // ∂aᵇ/∂a = b aᵇ⁻¹
                    let bm1 = g.sub(b, one);
                    let p = g.binary(Binary::Pow, a, bm1);
                    let bp = g.mul(b, p);
                    let ln = g.apply("ln", a); // ∂aᵇ/∂b = aᵇ ln a
                    let yl = g.mul(y, ln);
                    (Some(g.mul(gy, bp)), Some(g.mul(gy, yl)))
                }
                Binary::Max | Binary::Min => {
                    // The winner takes the gradient; a tie splits it evenly.
                    let (wa, wb) = if f == Binary::Max { (a, b) } else { (b, a) };
                    let ga = g.binary(Binary::MaxGrad, wa, wb);
                    let gb = g.binary(Binary::MaxGrad, wb, wa);
                    (Some(g.mul(gy, ga)), Some(g.mul(gy, gb)))
                }
                Binary::MaxGrad => (None, None),
            };
            let mut out = Vec::new();
            for (operand, contribution) in [(a, da), (b, db)] {
                if let Some(c) = contribution {
                    // A scalar operand broadcast over the node gets the sum of its share.
                    let c = if g.shape(operand) == Shape::Scalar {
                        g.sum(c)
                    } else {
                        c
                    };
                    out.push((operand, c));
                }
            }
            out
        }
        Op::Broadcast(s) => vec![(s, g.sum(gy))],
        Op::Sum(a) => {
            let shape = g.shape(a);
            vec![(a, g.broadcast(gy, shape))]
        }
        Op::Transpose(a) => vec![(a, g.transpose(gy))],
        Op::Index(a, i, j) => {
            let shape = g.shape(a);
            vec![(a, g.unindex(gy, shape, i, j))]
        }
        Op::Unindex(s, i, j) => vec![(s, g.index(gy, i, j))],
        // z = w x:  ∂L/∂w = ∂L/∂z ⊗ x,  ∂L/∂x = wᵀ ∂L/∂z
        Op::MatVec(w, x) => vec![(w, g.outer(gy, x)), (x, g.vecmat(gy, w))],
        // z = x w:  ∂L/∂x = w ∂L/∂z,  ∂L/∂w = x ⊗ ∂L/∂z
        Op::VecMat(x, w) => vec![(x, g.matvec(w, gy)), (w, g.outer(x, gy))],
        // C = A B:  ∂L/∂A = G Bᵀ,  ∂L/∂B = Aᵀ G, where A and B may be read transposed
        Op::MatMat(a, b, ta, tb) => {
            let da = if ta {
                g.matmat(b, gy, tb, true)
            } else {
                g.matmat(gy, b, false, !tb)
            };
            let db = if tb {
                g.matmat(gy, a, true, ta)
            } else {
                g.matmat(a, gy, !ta, false)
            };
            vec![(a, da), (b, db)]
        }
        // A = u ⊗ v:  ∂L/∂u = G v,  ∂L/∂v = Gᵀ u
        Op::Outer(u, v) => vec![(u, g.matvec(gy, v)), (v, g.vecmat(u, gy))],
        // p = softmax(a):  ∂L/∂a = p ⊙ (G − Σ G ⊙ p)
        Op::Softmax(a) => {
            let gp = g.mul(gy, y);
            let s = g.sum(gp);
            let c = g.sub(gy, s);
            vec![(a, g.mul(y, c))]
        }
        // l = log_softmax(a):  ∂L/∂a = G − softmax(a) Σ G
        Op::LogSoftmax(a) => {
            let p = g.softmax(a);
            let s = g.sum(gy);
            let ps = g.mul(p, s);
            vec![(a, g.sub(gy, ps))]
        }
        Op::Input | Op::Target | Op::Param(_) | Op::Seed | Op::Const(_) => vec![],
    }
}

/// A derivative of the operator table as nodes: `x` is the operand, `y` the value, and
/// parameters are `f`'s.
fn build(g: &mut Graph, t: &Term, f: Applied, x: Id, y: Id) -> Id {
    let param = |i: usize| f.params().nth(i).expect("a parameter of the row");
    match t {
        Term::X => x,
        Term::Y => y,
        Term::Param(i) => g.constant(param(*i)),
        Term::Num(v) => g.constant(*v),
        Term::Neg(a) => {
            let a = build(g, a, f, x, y);
            g.neg(a)
        }
        Term::Binary(op, a, b) => {
            let (a, b) = (build(g, a, f, x, y), build(g, b, f, x, y));
            g.elementwise(*op, a, b)
        }
        Term::Call(id, operand, params) => {
            let values: Vec<f64> = params
                .iter()
                .map(|p| match p {
                    Term::Num(v) => *v,
                    Term::Param(i) => param(*i),
                    _ => unreachable!("parameters are numbers or parameters"),
                })
                .collect();
            let operand = build(g, operand, f, x, y);
            g.unary(Unary::Elem(Applied::new(*id, &values)), operand)
        }
    }
}
