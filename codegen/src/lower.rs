//! Lowering: a checked net becomes nodes of the tensor IR.
//!
//! Losses and reductions become primitive nodes (`mse` is `Σ (y − t)² / n`), user `fn`s
//! are inlined at every call so their derivatives come out of the same rules as builtins,
//! and two stable forms are chosen where the loss sees through an activation:
//! `bce(sigmoid(z), t)` is computed as `bce_with_logits(z, t)`, and `cross_entropy` of a
//! softmax becomes `log_softmax` (by the `ln ∘ softmax` rule in `simplify`). Both have the
//! same value and give the fused gradients `σ(z) − t` and `softmax(z)·Σt − t`.

use std::collections::BTreeMap;

use chainrule_grammar::model::{
    BinOp, CellStmt, Expr, ExprKind, Func, Net, Recurrence, Shape, StateInit, Sym,
};

use crate::ir::{Binary, Graph, Id, Op, Scan, Unary};

/// Who a node belongs to, for naming it in generated code and docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    /// Built while lowering `let` number `i`.
    Let(usize),
    /// Built while lowering the loss.
    Loss,
}

/// A net lowered to the IR.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// All nodes.
    pub graph: Graph,
    /// The input leaf.
    pub input: Id,
    /// The target leaf, if the net has one.
    pub target: Option<Id>,
    /// Each parameter's leaf, in declaration order.
    pub params: Vec<Id>,
    /// Each `let`'s value.
    pub lets: Vec<Id>,
    /// The output's node.
    pub output: Id,
    /// The loss's node.
    pub loss: Id,
    /// The seed leaf: the scale of the loss's adjoint.
    pub seed: Id,
    /// The owner of each node built during lowering, indexed by id.
    pub owners: Vec<Option<Owner>>,
}

/// Lowers a checked net.
pub fn lower(net: &Net) -> Lowered {
    let mut g = Graph::new();
    let input = g.leaf(Op::Input, net.input.shape);
    let target = net.target.as_ref().map(|t| g.leaf(Op::Target, t.shape));
    let params: Vec<Id> = (0..net.params.len())
        .map(|i| g.leaf(Op::Param(i as u32), net.params[i].shape))
        .collect();
    let seed = g.leaf(Op::Seed, Shape::Scalar);
    let mut cx = Lowering {
        g,
        net,
        input,
        target,
        params,
        lets: Vec::new(),
        finals: BTreeMap::new(),
        cell: None,
    };
    let mut owners = vec![None; cx.g.len()];
    for (i, binding) in net.lets.iter().enumerate() {
        let id = cx.expr(&binding.value, &[]);
        cx.lets.push(id);
        owners.resize(cx.g.len(), Some(Owner::Let(i)));
    }
    let loss = cx.expr(&net.loss, &[]);
    owners.resize(cx.g.len(), Some(Owner::Loss));
    let output = cx.sym(net.output);
    Lowered {
        graph: cx.g,
        input,
        target,
        params: cx.params,
        lets: cx.lets,
        output,
        loss,
        seed,
        owners,
    }
}

struct Lowering<'a> {
    g: Graph,
    net: &'a Net,
    input: Id,
    target: Option<Id>,
    params: Vec<Id>,
    lets: Vec<Id>,
    /// Each state's final value, once its loop is lowered.
    finals: BTreeMap<usize, Id>,
    /// Set while lowering a loop's cell: then `g` is the cell's graph.
    cell: Option<Cell>,
}

/// What names mean inside a loop's cell.
struct Cell {
    /// The row leaf.
    row: Id,
    /// The body's `let`s so far.
    locals: Vec<Id>,
    /// Each carried state's current node, by model index.
    current: BTreeMap<usize, Id>,
    /// Values from outside: the outer node and its `Captured` leaf, in order.
    captured: Vec<(Id, Id)>,
    /// The parameters the cell reads, by model index, with their leaves.
    params: BTreeMap<usize, Id>,
    /// The outer nodes names refer to.
    outer: Outer,
}

/// The outer graph's nodes for the names a cell may capture, and their shapes.
struct Outer {
    input: Id,
    target: Option<Id>,
    lets: Vec<Id>,
    finals: BTreeMap<usize, Id>,
    shapes: BTreeMap<Id, Shape>,
}

impl Lowering<'_> {
    fn sym(&mut self, sym: Sym) -> Id {
        if self.cell.is_some() {
            return self.cell_sym(sym);
        }
        match sym {
            Sym::Input => self.input,
            Sym::Target => self.target.expect("checked: a target is declared"),
            Sym::Param(i) => self.params[i],
            Sym::Let(i) => self.lets[i],
            Sym::State(s) => self.finals[&s],
            Sym::Row | Sym::Local(_) => unreachable!("checked: only inside a loop body"),
        }
    }

    /// A name inside a loop's cell: the row, a body `let`, a carried state's current
    /// value, a parameter, or a value from outside, captured once as a leaf.
    fn cell_sym(&mut self, sym: Sym) -> Id {
        let Some(cell) = &mut self.cell else {
            unreachable!("in a cell")
        };
        let outer = match sym {
            Sym::Row => return cell.row,
            Sym::Local(k) => return cell.locals[k],
            Sym::State(s) if cell.current.contains_key(&s) => return cell.current[&s],
            Sym::Param(i) => {
                let shape = self.net.params[i].shape;
                let g = &mut self.g;
                return *cell
                    .params
                    .entry(i)
                    .or_insert_with(|| g.leaf(Op::Param(i as u32), shape));
            }
            Sym::State(s) => cell.outer.finals[&s],
            Sym::Input => cell.outer.input,
            Sym::Target => cell.outer.target.expect("checked: a target is declared"),
            Sym::Let(l) => cell.outer.lets[l],
        };
        if let Some((_, leaf)) = cell.captured.iter().find(|(o, _)| *o == outer) {
            return *leaf;
        }
        let shape = cell.outer.shapes[&outer];
        let j = cell.captured.len() as u32;
        let leaf = self.g.leaf(Op::Captured(j), shape);
        cell.captured.push((outer, leaf));
        leaf
    }

    /// A `for` loop: its cell lowered into a graph of its own, and the scan node, whose
    /// value is the stacked output rows; each carried state's final value is recorded.
    fn recurrence(&mut self, r: &Recurrence, args: &[Id], shape: Shape) -> Id {
        let seq = self.expr(&r.seq, args);
        let Shape::Matrix(steps, width) = self.g.shape(seq) else {
            unreachable!("checked: a loop runs over a matrix")
        };
        let mut outer_ids = vec![self.input];
        outer_ids.extend(self.target);
        outer_ids.extend(&self.lets);
        outer_ids.extend(self.finals.values());
        let shapes = outer_ids.iter().map(|&i| (i, self.g.shape(i))).collect();
        let mut g = Graph::new();
        let row = g.leaf(Op::Input, Shape::Vector(width));
        let state_shape = |s: usize| self.net.states[s].shape;
        let current = (r.carried.iter().enumerate())
            .map(|(k, &s)| (s, g.leaf(Op::State(k as u32), state_shape(s))))
            .collect();
        let mut cell = Lowering {
            g,
            net: self.net,
            input: row,
            target: None,
            params: Vec::new(),
            lets: Vec::new(),
            finals: BTreeMap::new(),
            cell: Some(Cell {
                row,
                locals: Vec::new(),
                current,
                captured: Vec::new(),
                params: BTreeMap::new(),
                outer: Outer {
                    input: self.input,
                    target: self.target,
                    lets: self.lets.clone(),
                    finals: self.finals.clone(),
                    shapes,
                },
            }),
        };
        for stmt in &r.body {
            match stmt {
                CellStmt::Let(e) => {
                    let id = cell.expr(e, &[]);
                    if let Some(c) = &mut cell.cell {
                        c.locals.push(id);
                    }
                }
                CellStmt::Assign(s, e) => {
                    let id = cell.expr(e, &[]);
                    if let Some(c) = &mut cell.cell {
                        c.current.insert(*s, id);
                    }
                }
            }
        }
        let output = r.output.as_ref().map(|o| cell.expr(o, &[]));
        let Some(c) = cell.cell else {
            unreachable!("a cell")
        };
        let new_states = r.carried.iter().map(|s| c.current[s]).collect();
        let inits = (r.carried.iter())
            .map(|&s| {
                let st = &self.net.states[s];
                let value = match st.init {
                    StateInit::Param(p) => return self.params[p],
                    StateInit::Zeros => 0.0,
                    StateInit::Ones => 1.0,
                    StateInit::Constant(c) => c,
                };
                let v = self.g.constant(value);
                self.g.broadcast(v, st.shape)
            })
            .collect();
        let scan = Scan {
            cell: cell.g,
            seq,
            inits,
            captured: c.captured.iter().map(|(o, _)| *o).collect(),
            params: c.params.keys().map(|&i| self.params[i]).collect(),
            states: r.carried.clone(),
            new_states,
            output,
            steps,
        };
        let id = self.g.scan(scan, shape);
        for (k, &s) in r.carried.iter().enumerate() {
            let f = self.g.scan_final(id, k as u32, self.net.states[s].shape);
            self.finals.insert(s, f);
        }
        id
    }

    /// Lowers an expression; `args` are the arguments of the user `fn` being inlined.
    fn expr(&mut self, e: &Expr, args: &[Id]) -> Id {
        chainrule_grammar::stack::deep(|| self.chain(e, args))
    }

    fn chain(&mut self, e: &Expr, args: &[Id]) -> Id {
        // The left operands of a chain such as `a + b + c + ...` are walked in a loop, so
        // a long sum costs no stack; the rest recurses on stack segments (`stack::deep`).
        let mut spine = Vec::new();
        let mut first = e;
        while let ExprKind::Binary(_, a, _) = &first.kind {
            spine.push(first);
            first = a;
        }
        let mut left = self.operand(first, args);
        for node in spine.into_iter().rev() {
            if let ExprKind::Binary(op, _, b) = &node.kind {
                let b = self.expr(b, args);
                left = self.binary(*op, left, b);
                left = self.call_shaped(left, node);
            }
        }
        left
    }

    /// An expression whose top is not a binary operator.
    fn operand(&mut self, e: &Expr, args: &[Id]) -> Id {
        let id = match &e.kind {
            ExprKind::Num(v) => self.g.constant(*v),
            ExprKind::Sym(s) => self.sym(*s),
            ExprKind::FnArg(i) => args[*i],
            ExprKind::Neg(a) => {
                let a = self.expr(a, args);
                self.g.neg(a)
            }
            ExprKind::Binary(..) => self.expr(e, args),
            ExprKind::Call(f, call_args) => {
                let lowered: Vec<Id> = call_args.iter().map(|a| self.expr(a, args)).collect();
                self.call(*f, &lowered)
            }
            ExprKind::Index(a, idx) => {
                let a = self.expr(a, args);
                let i = idx.first().copied().unwrap_or(0) as u32;
                let j = idx.get(1).copied().unwrap_or(0) as u32;
                match (self.g.shape(a), idx.len()) {
                    (Shape::Matrix(..), 1) => self.g.row(a, i),
                    _ => self.g.index(a, i, j),
                }
            }
            ExprKind::Slice(a, lo, hi) => {
                let a = self.expr(a, args);
                self.g.slice(a, *lo as u32, hi - lo)
            }
            ExprKind::For(r) => self.recurrence(r, args, e.shape),
        };
        self.call_shaped(id, e)
    }

    /// `id`, the lowered `e`, at the shape of `e`: a `fn` whose body ignores its arguments
    /// (`fn one(z) = 1;`) still has the shape of its call.
    fn call_shaped(&mut self, id: Id, e: &Expr) -> Id {
        if self.g.shape(id) == Shape::Scalar && e.shape != Shape::Scalar {
            self.g.broadcast(id, e.shape)
        } else {
            id
        }
    }

    fn binary(&mut self, op: BinOp, a: Id, b: Id) -> Id {
        let g = &mut self.g;
        match op {
            BinOp::MatMul => match (g.shape(a), g.shape(b)) {
                (Shape::Matrix(..), Shape::Vector(_)) => g.matvec(a, b),
                (Shape::Vector(_), Shape::Matrix(..)) => g.vecmat(a, b),
                _ => g.matmat(a, b, false, false),
            },
            op => g.elementwise(op, a, b),
        }
    }

    fn call(&mut self, f: Func, a: &[Id]) -> Id {
        let g = &mut self.g;
        match f {
            Func::Elem(f) => g.unary(Unary::Elem(f), a[0]),
            Func::Max => g.binary(Binary::Max, a[0], a[1]),
            Func::Min => g.binary(Binary::Min, a[0], a[1]),
            Func::Sum => g.sum(a[0]),
            Func::Mean => mean(g, a[0]),
            Func::Dot => {
                let p = g.mul(a[0], a[1]);
                g.sum(p)
            }
            Func::Softmax => g.softmax(a[0]),
            Func::LogSoftmax => g.log_softmax(a[0]),
            Func::Transpose => g.transpose(a[0]),
            Func::Mse => {
                let d = g.sub(a[0], a[1]);
                let sq = g.unary(Unary::Square, d);
                mean(g, sq)
            }
            Func::Bce => match g.op(a[0]) {
                Op::Unary(Unary::Elem(s), z) if s.is("sigmoid") => bce_with_logits(g, z, a[1]),
                _ => bce(g, a[0], a[1]),
            },
            Func::BceWithLogits => bce_with_logits(g, a[0], a[1]),
            Func::CrossEntropy => {
                let l = g.apply("ln", a[0]);
                cross_entropy_of_logs(g, l, a[1])
            }
            Func::SoftmaxCrossEntropy => {
                let l = g.log_softmax(a[0]);
                cross_entropy_of_logs(g, l, a[1])
            }
            Func::User(i) => {
                let body = &self.net.fns[i].body;
                self.expr(body, a)
            }
        }
    }
}

/// `(1/n) Σ v`, divided rather than multiplied so it matches `sum(v) / n` exactly.
fn mean(g: &mut Graph, v: Id) -> Id {
    let n = g.shape(v).len() as f64;
    let s = g.sum(v);
    let n = g.constant(n);
    g.div(s, n)
}

/// `−(1/n) Σ [t ln p + (1 − t) ln(1 − p)]`.
fn bce(g: &mut Graph, p: Id, t: Id) -> Id {
    let one = g.constant(1.0);
    let ln_p = g.apply("ln", p);
    let q = g.sub(one, p);
    let ln_q = g.apply("ln", q);
    let u = g.sub(one, t);
    let a = g.mul(t, ln_p);
    let b = g.mul(u, ln_q);
    let s = g.add(a, b);
    let m = mean(g, s);
    g.neg(m)
}

/// `(1/n) Σ [softplus(z) − t z]`: the same value as `bce(σ(z), t)` without overflow.
fn bce_with_logits(g: &mut Graph, z: Id, t: Id) -> Id {
    let sp = g.apply("softplus", z);
    let tz = g.mul(t, z);
    let d = g.sub(sp, tz);
    mean(g, d)
}

/// `−Σ t ⊙ l` for log-probabilities `l`.
fn cross_entropy_of_logs(g: &mut Graph, l: Id, t: Id) -> Id {
    let tl = g.mul(t, l);
    let s = g.sum(tl);
    g.neg(s)
}
