//! Planning one generated method: which nodes it computes and where each one lives.
//!
//! A method needs some values (what it returns) and some gradient sinks (`grad.p += …`).
//! Only nodes reachable from those are computed (dead-code removal). Each live node then
//! gets a [`Place`]:
//! - leaves are read where they are (`self.w1`, `x`, `t`, `scale`, literals);
//! - a node computed once and stored is a `let` ([`Place::Let`]): when it is used more
//!   than once, when an operation needs it as an array (matrix products, softmax), when it
//!   is a scalar read inside a loop (hoisted), or when it is returned;
//! - every other node is [`Place::Inline`]: its expression is written into its only
//!   consumer, so chains of elementwise operations fuse into one loop;
//! - in loop form, a matrix product whose only use is a sum being stored, or a gradient
//!   sink, is [`Place::Absorbed`]: the kernel adds straight into that buffer
//!   (`z = b; z += W x`, `grad.w += δ ⊗ x`), with no temporary.
//!
//! In unrolled form (small nets) matrix products are ordinary expressions that may be
//! inlined, so a reader sees each sum of products term by term.

use crate::ir::{Binary, Graph, Id, Op, Shape};

/// A gradient accumulation: `grad.<param> += Σ terms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sink {
    /// The parameter, by index.
    pub param: usize,
    /// The contributions to add, each a node of the parameter's shape.
    pub terms: Vec<Id>,
}

/// What one method computes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MethodSpec {
    /// Values the method returns.
    pub returns: Vec<Id>,
    /// Gradient accumulations it performs.
    pub sinks: Vec<Sink>,
}

impl MethodSpec {
    /// Everything the method must compute: its returned values and its gradient terms.
    pub fn roots(&self) -> impl Iterator<Item = Id> + '_ {
        self.returns
            .iter()
            .chain(self.sinks.iter().flat_map(|s| &s.terms))
            .copied()
    }
}

/// Where a node's value lives in the generated code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Not computed by this method.
    Dead,
    /// Read where it is: a parameter, the input, the target, the seed or a literal.
    Leaf,
    /// Written into its only consumer's expression.
    Inline,
    /// Stored in a local of its own.
    Let,
    /// A kernel adding straight into its consumer's buffer.
    Absorbed,
}

/// One term of a sum being stored: `+ node` or `- node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Term {
    /// The node.
    pub id: Id,
    /// True for `- node`.
    pub negated: bool,
}

/// One statement of a method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Compute and store a node.
    Store(Id),
    /// `grad.<param> += Σ terms`.
    Sink {
        /// The parameter, by index.
        param: usize,
        /// The terms added in this statement.
        terms: Vec<Id>,
    },
}

/// Orders a method's statements: stored nodes by id (children first), and each sink
/// right after the last stored node it reads (`ready`; `None` reads none), so it runs as
/// early as it can and its operands are still hot. Sinks keep their given order among
/// themselves.
pub fn order(stores: impl IntoIterator<Item = Id>, sinks: Vec<(Option<Id>, Step)>) -> Vec<Step> {
    let mut pending = sinks;
    let mut out = Vec::new();
    let flush = |out: &mut Vec<Step>,
                 pending: &mut Vec<(Option<Id>, Step)>,
                 ready: &dyn Fn(Option<Id>) -> bool| {
        let (now, later): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(r, _)| ready(*r));
        out.extend(now.into_iter().map(|(_, step)| step));
        *pending = later;
    };
    flush(&mut out, &mut pending, &|r| r.is_none());
    for id in stores {
        flush(&mut out, &mut pending, &|r| r < Some(id));
        out.push(Step::Store(id));
        flush(&mut out, &mut pending, &|r| r <= Some(id));
    }
    out.extend(pending.into_iter().map(|(_, step)| step));
    out
}

/// The plan of one method.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Each node's place, indexed by id.
    pub place: Vec<Place>,
    /// For a stored node that is a sum with absorbed kernels, its terms: the elementwise
    /// ones start the buffer, then each kernel adds into it.
    pub groups: Vec<Option<Vec<Term>>>,
    /// Whether the code is unrolled (straight-line) rather than loops.
    pub unrolled: bool,
    /// For a stored elementwise node computed in place over a stored operand that nothing
    /// else reads (`h = relu(z)` over `z`'s buffer), that operand: the two share one local.
    pub reuse: Vec<Option<Id>>,
    /// The statements in order.
    pub steps: Vec<Step>,
}

/// True for matrix products, which read whole operands and cost more than one pass.
pub fn is_product(op: Op) -> bool {
    matches!(
        op,
        Op::MatVec(..) | Op::VecMat(..) | Op::MatMat(..) | Op::Outer(..)
    )
}

/// True for operations that need each operand as an array in memory.
fn needs_arrays(op: Op) -> bool {
    is_product(op) || is_loop(op) || matches!(op, Op::Softmax(_) | Op::LogSoftmax(_))
}

/// True for a loop's nodes, which are statements of their own: the loop (its output
/// rows), its final states, its backward pass and that pass's results.
pub fn is_loop(op: Op) -> bool {
    matches!(
        op,
        Op::Scan(_) | Op::ScanFinal(..) | Op::ScanBack(_) | Op::ScanBackPart(..)
    )
}

/// Plans a method over the graph. `batched` (for a batched method) tells which nodes hold
/// a value per sample, so a buffer is only reused by a node of its own kind.
pub fn plan(g: &Graph, spec: &MethodSpec, unrolled: bool, batched: Option<&[bool]>) -> Plan {
    let live = g.reachable(spec.roots());
    let n = g.len();
    let mut uses = vec![0u32; n];
    let mut must_store = vec![false; n];
    for id in g.ids().filter(|id| live[id.index()]) {
        let node = g.node(id);
        for child in g.children(id) {
            uses[child.index()] += 1;
            let child_shape = g.shape(child);
            // An operation that reads whole arrays needs its operands stored.
            let array_operand = needs_arrays(node.op);
            // A scalar read by every element of a tensor is computed once, before the
            // loop (or, unrolled, before the statements that repeat it).
            let hoisted = child_shape == Shape::Scalar && node.shape != Shape::Scalar;
            if array_operand || hoisted {
                must_store[child.index()] = true;
            }
        }
    }
    for &r in &spec.returns {
        must_store[r.index()] = true;
    }
    for term in spec.sinks.iter().flat_map(|s| &s.terms) {
        uses[term.index()] += 1;
    }

    let mut place = vec![Place::Dead; n];
    for id in g.ids().filter(|id| live[id.index()]) {
        let op = g.op(id);
        place[id.index()] = if op.is_leaf() {
            Place::Leaf
        } else if is_loop(op) {
            Place::Let
        } else if is_address(g, id) && !must_store[id.index()] {
            // Indexing or transposing a stored array is only an address.
            Place::Inline
        } else if must_store[id.index()] || uses[id.index()] > 1 {
            Place::Let
        } else if !unrolled && (is_product(op) || matches!(op, Op::Sum(_))) {
            // In loop form a product or a sum runs a loop of its own.
            Place::Let
        } else if matches!(op, Op::Softmax(_) | Op::LogSoftmax(_)) {
            Place::Let
        } else {
            Place::Inline
        };
    }
    bound_depth(g, &mut place);

    let mut groups = vec![None; n];
    if !unrolled {
        store_sums_of_products(g, &uses, &mut place);
        absorb_products(g, spec, &uses, &mut place, &mut groups);
    }
    let reuse = in_place(g, spec, &uses, &place, &groups, batched);
    let steps = steps(g, spec, &place);
    Plan {
        place,
        groups,
        unrolled,
        reuse,
        steps,
    }
}

/// In loop form, stores each sum (`W x + b`) that has a product among its terms, so the
/// product's kernel adds straight into a buffer started from the other terms
/// (`z = b; z += W x`), as an expert writes a layer, instead of a product buffer of its
/// own that a second loop adds the bias to. Only the outermost sum of a chain of inlined
/// `+` and `-` is stored: the others are its terms.
fn store_sums_of_products(g: &Graph, uses: &[u32], place: &mut [Place]) {
    let mut inside_sum = vec![false; place.len()];
    for id in g.ids().rev() {
        let (Op::Binary(Binary::Add | Binary::Sub, a, b), Place::Inline | Place::Let) =
            (g.op(id), place[id.index()])
        else {
            continue;
        };
        if g.shape(a) != g.shape(id) || g.shape(b) != g.shape(id) {
            continue;
        }
        if place[id.index()] == Place::Inline && !inside_sum[id.index()] {
            let mut terms = Vec::new();
            flatten_sum(g, place, id, false, true, &mut terms);
            if terms.iter().any(|t| absorbable(g, uses, t)) {
                place[id.index()] = Place::Let;
            }
        }
        inside_sum[a.index()] = true;
        inside_sum[b.index()] = true;
    }
}

/// A term a kernel can add straight into its sum's buffer: a product used only there.
fn absorbable(g: &Graph, uses: &[u32], t: &Term) -> bool {
    !t.negated && is_product(g.op(t.id)) && uses[t.id.index()] == 1
}

/// Which stored elementwise nodes are computed in place over an operand's buffer: one
/// of the same shape and kind (per sample or shared), stored, not a sum of kernels being
/// started, read by nothing else and not returned, so overwriting it element by element
/// is safe. Saves a buffer and its zeroing, as `relu` applied in place does by hand.
fn in_place(
    g: &Graph,
    spec: &MethodSpec,
    uses: &[u32],
    place: &[Place],
    groups: &[Option<Vec<Term>>],
    batched: Option<&[bool]>,
) -> Vec<Option<Id>> {
    let mut reuse = vec![None; place.len()];
    for id in g.ids() {
        let node = g.node(id);
        if place[id.index()] != Place::Let
            || groups[id.index()].is_some()
            || node.shape == Shape::Scalar
            || !matches!(node.op, Op::Unary(..) | Op::Binary(..))
        {
            continue;
        }
        let same_kind = |a: Id| batched.is_none_or(|b| b[a.index()] == b[id.index()]);
        reuse[id.index()] = node.op.children().find(|&a| {
            place[a.index()] == Place::Let
                && g.shape(a) == node.shape
                && uses[a.index()] == 1
                && !spec.returns.contains(&a)
                && same_kind(a)
        });
    }
    reuse
}

/// The statements of a planned method: every stored node, and each sink split into one
/// statement per absorbed kernel and one fused loop for the rest.
fn steps(g: &Graph, spec: &MethodSpec, place: &[Place]) -> Vec<Step> {
    let ready = |t: Id| ready_after(g, place, t);
    let mut sinks = Vec::new();
    for sink in &spec.sinks {
        let (products, rest): (Vec<Id>, Vec<Id>) = sink
            .terms
            .iter()
            .partition(|t| place[t.index()] == Place::Absorbed);
        for p in products {
            let step = Step::Sink {
                param: sink.param,
                terms: vec![p],
            };
            sinks.push((ready(p), step));
        }
        if !rest.is_empty() {
            let at = rest.iter().map(|t| ready(*t)).max().flatten();
            let step = Step::Sink {
                param: sink.param,
                terms: rest,
            };
            sinks.push((at, step));
        }
    }
    let stores = g.ids().filter(|id| place[id.index()] == Place::Let);
    order(stores, sinks)
}

/// The latest stored node a term reads, through inlined and absorbed nodes.
fn ready_after(g: &Graph, place: &[Place], id: Id) -> Option<Id> {
    let mut latest = None;
    let mut stack = vec![id];
    while let Some(n) = stack.pop() {
        match place[n.index()] {
            Place::Let => latest = latest.max(Some(n)),
            Place::Inline | Place::Absorbed => stack.extend(g.children(n)),
            Place::Leaf | Place::Dead => {}
        }
    }
    latest
}

/// The deepest chain of inlined nodes one expression may hold. A deeper chain (a long
/// run of `let a2 = sin(a1);`) is cut by storing a node, so neither the emitter, the docs
/// nor rustc's parser recurses without limit.
pub const MAX_INLINE_DEPTH: u32 = 32;

/// Stores every inlined node that would end a chain deeper than [`MAX_INLINE_DEPTH`].
fn bound_depth(g: &Graph, place: &mut [Place]) {
    let mut depth = vec![0u32; place.len()];
    for id in g.ids() {
        if place[id.index()] != Place::Inline {
            continue;
        }
        let below = g.children(id).map(|c| depth[c.index()]).max().unwrap_or(0);
        if below >= MAX_INLINE_DEPTH {
            place[id.index()] = Place::Let;
        } else {
            depth[id.index()] = below + 1;
        }
    }
}

/// True for nodes that only select elements of a leaf: `x[3]`, `transpose(w)`, a
/// broadcast scalar leaf. They cost nothing, so they are never stored.
fn is_address(g: &Graph, id: Id) -> bool {
    match g.op(id) {
        Op::Index(a, ..) | Op::Transpose(a) | Op::Slice(a, _) | Op::Row(a, _) => g.op(a).is_leaf(),
        Op::Broadcast(s) => g.op(s).is_leaf(),
        _ => false,
    }
}

/// Lets matrix products add straight into the buffer of the sum that uses them, and into
/// gradient sinks.
fn absorb_products(
    g: &Graph,
    spec: &MethodSpec,
    uses: &[u32],
    place: &mut [Place],
    groups: &mut [Option<Vec<Term>>],
) {
    for id in g.ids() {
        if place[id.index()] != Place::Let || !g.op(id).is_elementwise() {
            continue;
        }
        let mut terms = Vec::new();
        flatten_sum(g, place, id, false, true, &mut terms);
        let absorbs = |t: &Term| absorbable(g, uses, t);
        if terms.iter().any(absorbs) {
            for t in terms.iter().filter(|t| absorbs(t)) {
                place[t.id.index()] = Place::Absorbed;
            }
            groups[id.index()] = Some(terms);
        }
    }
    for term in spec.sinks.iter().flat_map(|s| &s.terms) {
        if is_product(g.op(*term)) && uses[term.index()] == 1 {
            place[term.index()] = Place::Absorbed;
        }
    }
}

/// The terms of a sum, looking through `+` and `-` nodes that are inlined into it.
fn flatten_sum(g: &Graph, place: &[Place], id: Id, negated: bool, top: bool, out: &mut Vec<Term>) {
    let through = top || place[id.index()] == Place::Inline;
    match g.op(id) {
        Op::Binary(f @ (Binary::Add | Binary::Sub), a, b)
            if through && g.shape(a) == g.shape(id) && g.shape(b) == g.shape(id) =>
        {
            flatten_sum(g, place, a, negated, false, out);
            flatten_sum(g, place, b, negated ^ (f == Binary::Sub), false, out);
        }
        _ => out.push(Term { id, negated }),
    }
}

/// The number of scalar operations a method performs, to choose between unrolled and
/// loop form. Counted from shapes only.
pub fn cost(g: &Graph, spec: &MethodSpec) -> u64 {
    let live = g.reachable(spec.roots());
    let mut total: u64 = 0;
    for id in g.ids().filter(|id| live[id.index()]) {
        let node = g.node(id);
        let len = node.shape.len() as u64;
        let c = match node.op {
            op if op.is_leaf() => 0,
            Op::Sum(a) => g.shape(a).len() as u64,
            Op::MatVec(w, _) | Op::VecMat(_, w) => g.shape(w).len() as u64,
            Op::MatMat(a, _, ta, _) => {
                let k = match (g.shape(a), ta) {
                    (Shape::Matrix(_, c), false) | (Shape::Matrix(c, _), true) => c,
                    _ => 1,
                };
                len * k as u64
            }
            Op::Softmax(_) | Op::LogSoftmax(_) => 3 * len,
            // A call per step; the cell's own code is sized on its own.
            Op::Scan(k) => g.scans[k as usize].steps as u64,
            Op::ScanBack(b) => g.scan_of(g.backs[b as usize].scan).steps as u64,
            _ => len,
        };
        total = total.saturating_add(c);
    }
    for sink in &spec.sinks {
        for t in &sink.terms {
            total = total.saturating_add(g.shape(*t).len() as u64);
        }
    }
    total
}
