//! Reverse mode: the chain rule applied from the loss back to every parameter and the input.
//!
//! Nodes are visited from the loss downward (ids in decreasing order, which is a reverse
//! topological order). A node's adjoint is the sum of the contributions its users sent it;
//! it then sends each operand `adjoint · ∂node/∂operand` per the rules in [`vjp`]. Rules
//! refer to the node's own value where the textbook does (`σ' = σ(1 − σ)`,
//! `tanh' = 1 − tanh²`, `exp' = exp`), so backward reuses forward values instead of
//! recomputing them.

use chainrule_grammar::ops::{Term, derivative};

use crate::ir::{Applied, Binary, Graph, Id, Op, Part, Shape, Unary};

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
    differentiate_roots(g, &[(loss, seed)])
}

/// Differentiates the roots, each starting from its given adjoint: a cell's derivation
/// has a root per carried state and one for its output.
pub fn differentiate_roots(g: &mut Graph, roots: &[(Id, Id)]) -> Adjoints {
    let n = g.len();
    let active = active_nodes(g, roots.iter().map(|(r, _)| *r));
    let mut terms: Vec<Vec<Id>> = vec![Vec::new(); n];
    let mut total = vec![None; n];
    let mut created_by = Vec::new();
    // The adjoints of each scan's final states, gathered until the scan itself is reached
    // (its `ScanFinal` nodes come after it).
    let mut finals: Vec<Vec<Option<Id>>> = vec![Vec::new(); n];
    for &(root, seed) in roots {
        terms[root.index()].push(seed);
    }
    for id in (0..n as u32).rev().map(Id) {
        let op = g.op(id);
        let reached = !terms[id.index()].is_empty() || !finals[id.index()].is_empty();
        if !active[id.index()] || !reached || op.is_leaf() {
            continue;
        }
        let before = g.len();
        let adjoint = (!terms[id.index()].is_empty()).then(|| sum_terms(g, &terms[id.index()]));
        total[id.index()] = adjoint;
        let contributions = match (op, adjoint) {
            (Op::ScanFinal(scan, k), Some(a)) => {
                let slots = &mut finals[scan.index()];
                if slots.len() <= k as usize {
                    slots.resize(k as usize + 1, None);
                }
                slots[k as usize] = Some(a);
                Vec::new()
            }
            (Op::Scan(_), _) => scan_vjp(g, id, adjoint, &finals[id.index()]),
            (_, Some(a)) => vjp(g, id, a),
            (_, None) => Vec::new(),
        };
        for (operand, contribution) in contributions {
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

/// A scan's backward pass, given the adjoints of its output and final states: what it
/// contributes to each operand (the rows, the states' initial values, the captured values
/// and the parameters the cell reads), each a part of the one pass.
fn scan_vjp(g: &mut Graph, scan: Id, d_out: Option<Id>, d_finals: &[Option<Id>]) -> Vec<(Id, Id)> {
    let s = g.scan_of(scan);
    let (seq, inits, captured, params) =
        (s.seq, s.inits.clone(), s.captured.clone(), s.params.clone());
    let mut finals = d_finals.to_vec();
    finals.resize(inits.len(), None);
    let back = g.scan_back(crate::ir::ScanBack {
        scan,
        d_out,
        d_finals: finals,
    });
    let mut out = Vec::new();
    let part = |g: &mut Graph, of: Id, p: Part| {
        let shape = g.shape(of);
        (of, g.scan_back_part(back, p, shape))
    };
    out.push(part(g, seq, Part::Seq));
    for (k, init) in inits.into_iter().enumerate() {
        out.push(part(g, init, Part::Init(k as u32)));
    }
    for (j, c) in captured.into_iter().enumerate() {
        out.push(part(g, c, Part::Captured(j as u32)));
    }
    for (i, p) in params.into_iter().enumerate() {
        out.push(part(g, p, Part::Param(i as u32)));
    }
    out
}

/// The sum of adjoint contributions, in the order they arrived.
pub fn sum_terms(g: &mut Graph, terms: &[Id]) -> Id {
    let mut iter = terms.iter().copied();
    let first = iter.next().expect("at least one term");
    iter.fold(first, |acc, t| g.add(acc, t))
}

/// Nodes on a path from a parameter, the input or (in a cell) a state or captured value
/// to a root.
fn active_nodes(g: &Graph, roots: impl IntoIterator<Item = Id>) -> Vec<bool> {
    let reach = g.reachable(roots);
    let mut depends = vec![false; g.len()];
    for id in g.ids() {
        depends[id.index()] = match g.op(id) {
            Op::Param(_) | Op::Input | Op::State(_) | Op::Captured(_) => true,
            _ => g.children(id).any(|c| depends[c.index()]),
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
        Op::Slice(a, s) => {
            let shape = g.shape(a);
            vec![(a, g.unslice(gy, shape, s))]
        }
        Op::Unslice(a, s) => {
            let len = g.shape(a).len();
            vec![(a, g.slice(gy, s, len))]
        }
        Op::Row(a, i) => {
            let shape = g.shape(a);
            vec![(a, g.unrow(gy, shape, i))]
        }
        Op::Unrow(a, i) => vec![(a, g.row(gy, i))],
        // A scan's final states and the scan itself are handled by `differentiate_roots`;
        // a backward pass is not differentiated again.
        Op::Scan(_) | Op::ScanFinal(..) | Op::ScanBack(_) | Op::ScanBackPart(..) => vec![],
        Op::Input
        | Op::Target
        | Op::Param(_)
        | Op::Seed
        | Op::Const(_)
        | Op::State(_)
        | Op::Captured(_)
        | Op::Adj(_) => vec![],
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

/// A loop cell differentiated: the cell's graph with its backward nodes, and the adjoint
/// (contributions) of each of its leaves given the adjoints of its roots.
#[derive(Clone, Debug)]
pub struct CellDerivation {
    /// The cell's nodes and their adjoints; leaves `Adj(k)` are the roots' adjoints: the
    /// carried states' values after the step, in order, then the step's output.
    pub graph: Graph,
    /// The derivation's contributions.
    pub adjoints: Adjoints,
    /// The adjoint leaf of each root, in that order.
    pub adj: Vec<Id>,
    /// The cell's leaves: the row, each carried state as the step begins, each captured
    /// value, each parameter the cell reads (as in [`crate::ir::Scan::params`]).
    pub row: Option<Id>,
    /// See `row`.
    pub states: Vec<Option<Id>>,
    /// See `row`.
    pub captured: Vec<Option<Id>>,
    /// See `row`.
    pub params: Vec<Option<Id>>,
}

/// Differentiates a scan's cell with respect to its row, states, captured values and
/// parameters, from an adjoint leaf for each new state and for the output.
pub fn cell_derivation(scan: &crate::ir::Scan, outer: &Graph) -> CellDerivation {
    let mut g = scan.cell.clone();
    let mut roots = Vec::new();
    let mut adj = Vec::new();
    let outputs = scan.new_states.iter().copied().chain(scan.output);
    for (k, r) in outputs.enumerate() {
        let shape = g.shape(r);
        let a = g.leaf(Op::Adj(k as u32), shape);
        roots.push((r, a));
        adj.push(a);
    }
    let find = |g: &Graph, want: Op| g.ids().find(|id| g.op(*id) == want);
    let row = find(&g, Op::Input);
    let states = (0..scan.new_states.len())
        .map(|k| find(&g, Op::State(k as u32)))
        .collect();
    let captured = (0..scan.captured.len())
        .map(|j| find(&g, Op::Captured(j as u32)))
        .collect();
    let params = (scan.params.iter())
        .map(|p| find(&g, outer.op(*p)))
        .collect();
    let adjoints = differentiate_roots(&mut g, &roots);
    CellDerivation {
        graph: g,
        adjoints,
        adj,
        row,
        states,
        captured,
        params,
    }
}
