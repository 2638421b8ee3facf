//! Emission: a planned method becomes Rust statements, its locals named by
//! [`crate::naming`].

use chainrule_grammar::model::{Net, Scalar};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use crate::ir::{Binary, Graph, Id, Op, Part, Shape, Unary, unary_name};
use crate::lower::Lowered;
use crate::naming::{self, Role};
use crate::plan::{MethodSpec, Place, Plan, Step, Term, is_product};
use crate::print::{self, P_ADD, P_IF, P_MUL, P_NEG, binop};

/// Reductions at most this long are written out term by term even in loop form.
const SHORT_SUM: usize = 4;

/// One element index: a literal (unrolled code) or a loop counter plus an offset (for
/// the part of a vector a range selects).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ix {
    Lit(usize),
    Var(&'static str, isize),
}

impl Ix {
    fn tokens(self) -> TokenStream {
        match self {
            Ix::Lit(i) => {
                let lit = Literal::usize_unsuffixed(i);
                quote!(#lit)
            }
            Ix::Var(v, o) => {
                let v = Ident::new(v, Span::call_site());
                let d = Literal::usize_unsuffixed(o.unsigned_abs());
                match o {
                    0 => quote!(#v),
                    o if o > 0 => quote!((#v + #d)),
                    _ => quote!((#v - #d)),
                }
            }
        }
    }

    /// The index `d` further along.
    fn shift(self, d: isize) -> Ix {
        match self {
            Ix::Lit(i) => Ix::Lit(i.wrapping_add_signed(d)),
            Ix::Var(v, o) => Ix::Var(v, o + d),
        }
    }
}

/// An emitted expression.
type Expr = print::Expr<TokenStream>;

/// How a batched method runs: over chunks of samples, `__xs` (and `__ts`) of `__n` samples,
/// `__n` at most `chunk`. A node that depends on the input or the target holds one value
/// per sample (`v_h[__b]`); every other node is computed once per chunk.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    /// Per node: whether its value differs between the samples.
    pub batched: &'a [bool],
    /// The most samples in one chunk: the length of every per-sample buffer.
    pub chunk: usize,
}

impl Batch<'_> {
    /// Which nodes of `g` differ between samples: the input, the target, and everything
    /// computed from them.
    pub fn batched(g: &Graph) -> Vec<bool> {
        let mut batched = vec![false; g.len()];
        for id in g.ids() {
            let op = g.op(id);
            batched[id.index()] =
                matches!(op, Op::Input | Op::Target) || g.children(id).any(|c| batched[c.index()]);
        }
        batched
    }
}

/// Where a product kernel adds its result.
#[derive(Clone, Copy)]
enum Dst<'i> {
    /// A stored node's buffer.
    Local(Id, &'i Ident),
    /// A parameter's gradient, `grad.<param>`, by the parameter's index.
    Grad(usize),
}

/// Emits methods of one net.
#[derive(Debug)]
pub struct Emitter<'a> {
    g: &'a Graph,
    net: &'a Net,
    plan: &'a Plan,
    names: Vec<Option<Ident>>,
    scalar_ty: TokenStream,
    batch: Option<Batch<'a>>,
    /// In a loop cell's backward function, the parameters it adds gradients to: each
    /// model parameter index's `&mut` argument, in place of `grad.<field>`.
    cell_grads: Option<Vec<(usize, Ident)>>,
}

/// The local and argument names of a loop's generated functions and buffers: one fact,
/// read by the functions' signatures and by the loops that call them.
pub mod cell_names {
    use proc_macro2::{Ident, Span};

    fn ident(s: String) -> Ident {
        Ident::new(&s, Span::call_site())
    }
    /// Carried state `k` as a step begins (cell argument), or its adjoint's running value
    /// in the backward loop.
    pub fn state(k: usize) -> Ident {
        ident(format!("__s{k}"))
    }
    /// Captured value `j` (cell argument).
    pub fn captured(j: usize) -> Ident {
        ident(format!("__c{j}"))
    }
    /// The adjoint of root `k` (cell backward argument).
    pub fn adj(k: usize) -> Ident {
        ident(format!("__a{k}"))
    }
    /// The `&mut` gradient of the `i`-th parameter the cell reads (cell backward argument).
    pub fn grad(i: usize) -> Ident {
        ident(format!("__g{i}"))
    }
    /// Scan `k`'s step function.
    pub fn step(k: u32) -> Ident {
        ident(format!("__cell{k}"))
    }
    /// Scan `k`'s step backward function.
    pub fn step_back(k: u32) -> Ident {
        ident(format!("__cell_back{k}"))
    }
    /// Scan `k`'s carried state `s` while it runs.
    pub fn carried(k: u32, s: usize) -> Ident {
        ident(format!("__state{k}_{s}"))
    }
    /// Scan `k`'s record of carried state `s` as each step began.
    pub fn tape(k: u32, s: usize) -> Ident {
        ident(format!("__tape{k}_{s}"))
    }
    /// Backward pass `b`'s running adjoint of carried state `s`.
    pub fn carried_adj(b: u32, s: usize) -> Ident {
        ident(format!("__dstate{b}_{s}"))
    }
    /// Backward pass `b`'s buffer for a part no later statement reads.
    pub fn unused(b: u32, i: usize) -> Ident {
        ident(format!("__dpart{b}_{i}"))
    }
}

impl<'a> Emitter<'a> {
    /// Prepares to emit a planned method, naming every stored node.
    pub fn new(net: &'a Net, low: &'a Lowered, plan: &'a Plan, roles: &[Role]) -> Self {
        Self::for_cell(net, &low.graph, plan, roles, None)
    }

    /// An emitter over a loop cell's own graph (a cell function's body); `grads` names
    /// the `&mut` gradients its backward adds to.
    pub fn for_cell(
        net: &'a Net,
        g: &'a Graph,
        plan: &'a Plan,
        roles: &[Role],
        grads: Option<Vec<(usize, Ident)>>,
    ) -> Self {
        let names = naming::locals(net, plan, roles);
        let scalar_ty = match net.scalar {
            Scalar::F32 => quote!(::core::primitive::f32),
            Scalar::F64 => quote!(::core::primitive::f64),
        };
        Self {
            g,
            net,
            plan,
            names,
            scalar_ty,
            batch: None,
            cell_grads: grads,
        }
    }

    /// Where parameter `p`'s gradient is added: `grad.<field>`, or in a cell's backward
    /// function its `&mut` argument.
    fn grad_place(&self, p: usize) -> TokenStream {
        if let Some(grads) = &self.cell_grads
            && let Some((_, g)) = grads.iter().find(|(i, _)| *i == p)
        {
            return quote!((*#g));
        }
        let f = format_ident!("{}", self.net.params[p].name);
        quote!(grad.#f)
    }

    /// The same emitter for a batched method over chunks of samples.
    pub fn batched(self, batch: Batch<'a>) -> Self {
        Self {
            batch: Some(batch),
            ..self
        }
    }

    /// Whether a node holds one value per sample in this method.
    fn per_sample(&self, id: Id) -> bool {
        self.batch.is_some_and(|b| b.batched[id.index()])
    }

    /// The Rust type of a shape.
    pub fn ty(&self, shape: Shape) -> TokenStream {
        shape_ty(&self.scalar_ty, shape)
    }

    /// A zero of a shape.
    pub fn zero(&self, shape: Shape) -> TokenStream {
        zero_of(self.net.scalar, shape)
    }

    /// A scalar literal of the net's type.
    fn literal(&self, v: f64) -> Expr {
        let t = &self.scalar_ty;
        // A value beyond f32's range is the infinity f32 arithmetic would give.
        let v = match self.net.scalar {
            Scalar::F32 => f64::from(v as f32),
            Scalar::F64 => v,
        };
        if v.is_nan() {
            return Expr::atom(quote!(#t::NAN));
        }
        if v.is_infinite() {
            return if v > 0.0 {
                Expr::atom(quote!(#t::INFINITY))
            } else {
                Expr::atom(quote!(#t::NEG_INFINITY))
            };
        }
        let mag = match self.net.scalar {
            Scalar::F32 => Literal::f32_suffixed(v.abs() as f32),
            Scalar::F64 => Literal::f64_suffixed(v.abs()),
        };
        if v.is_sign_negative() {
            Expr::new(quote!(-#mag), P_NEG)
        } else {
            Expr::atom(quote!(#mag))
        }
    }

    fn name(&self, id: Id) -> &Ident {
        self.names[id.index()].as_ref().unwrap_or_else(|| {
            panic!(
                "{:?} is read as a stored value but is {:?}",
                self.g.node(id),
                self.plan.place[id.index()]
            )
        })
    }

    fn index_suffix(ix: &[Ix]) -> TokenStream {
        let parts = ix.iter().map(|i| {
            let t = i.tokens();
            quote!([#t])
        });
        quote!(#(#parts)*)
    }

    /// The parameter's field.
    fn field(&self, p: u32) -> Ident {
        format_ident!("{}", self.net.params[p as usize].name)
    }

    /// A reference to a node's whole array, for kernels; in a batched method, the current
    /// sample's.
    fn array(&self, id: Id) -> TokenStream {
        match self.g.op(id) {
            Op::Param(p) => {
                let f = self.field(p);
                quote!(&self.#f)
            }
            Op::Input if self.batch.is_some() => quote!(&__xs[__b]),
            Op::Target if self.batch.is_some() => quote!(&__ts[__b]),
            Op::Input => quote!(x),
            Op::Target => quote!(t),
            Op::State(k) => {
                let n = cell_names::state(k as usize);
                quote!(#n)
            }
            Op::Captured(j) => {
                let n = cell_names::captured(j as usize);
                quote!(#n)
            }
            Op::Adj(k) => {
                let n = cell_names::adj(k as usize);
                quote!(#n)
            }
            _ if self.per_sample(id) => {
                let n = self.name(id);
                quote!(&#n[__b])
            }
            _ => {
                let n = self.name(id);
                quote!(&#n)
            }
        }
    }

    /// The rows of a per-sample node over the chunk, one sample per row, for the
    /// matrix–matrix kernels.
    fn rows(&self, id: Id) -> TokenStream {
        match self.g.op(id) {
            Op::Input => quote!(__xs),
            Op::Target => quote!(__ts),
            _ => {
                let n = self.name(id);
                quote!(&#n[..__n])
            }
        }
    }

    /// A node's whole value, for returning it; in a batched method, the current sample's.
    pub fn value(&self, id: Id) -> TokenStream {
        match self.g.op(id) {
            Op::Param(p) => {
                let f = self.field(p);
                quote!(self.#f)
            }
            Op::Input if self.batch.is_some() => quote!(__xs[__b]),
            Op::Target if self.batch.is_some() => quote!(__ts[__b]),
            Op::Input => quote!(*x),
            Op::Target => quote!(*t),
            Op::State(k) => {
                let n = cell_names::state(k as usize);
                quote!(*#n)
            }
            Op::Captured(j) => {
                let n = cell_names::captured(j as usize);
                quote!(*#n)
            }
            Op::Adj(k) => {
                let n = cell_names::adj(k as usize);
                quote!(*#n)
            }
            Op::Seed => quote!(scale),
            Op::Const(bits) => self.literal(f64::from_bits(bits)).text,
            _ if self.per_sample(id) => {
                let n = self.name(id);
                quote!(#n[__b])
            }
            _ => {
                let n = self.name(id);
                quote!(#n)
            }
        }
    }

    /// One element of a node, as an expression.
    fn elem(&self, id: Id, ix: &[Ix]) -> Expr {
        let node = self.g.node(id);
        let ix = if node.shape == Shape::Scalar {
            &[][..]
        } else {
            ix
        };
        match self.plan.place[id.index()] {
            Place::Leaf => self.leaf(node.op, ix),
            Place::Let if self.per_sample(id) => {
                let n = self.name(id);
                let s = Self::index_suffix(ix);
                Expr::atom(quote!(#n[__b] #s))
            }
            Place::Let => {
                let n = self.name(id);
                let s = Self::index_suffix(ix);
                Expr::atom(quote!(#n #s))
            }
            Place::Inline | Place::Absorbed | Place::Dead => self.compute(id, ix),
        }
    }

    fn leaf(&self, op: Op, ix: &[Ix]) -> Expr {
        let s = Self::index_suffix(ix);
        match op {
            Op::Param(p) => {
                let f = self.field(p);
                Expr::atom(quote!(self.#f #s))
            }
            Op::Input if self.batch.is_some() => Expr::atom(quote!(__xs[__b] #s)),
            Op::Target if self.batch.is_some() => Expr::atom(quote!(__ts[__b] #s)),
            Op::Input if ix.is_empty() => Expr::new(quote!(*x), P_NEG),
            Op::Target if ix.is_empty() => Expr::new(quote!(*t), P_NEG),
            Op::Input => Expr::atom(quote!(x #s)),
            Op::Target => Expr::atom(quote!(t #s)),
            Op::State(_) | Op::Captured(_) | Op::Adj(_) => {
                let n = match op {
                    Op::State(k) => cell_names::state(k as usize),
                    Op::Captured(j) => cell_names::captured(j as usize),
                    Op::Adj(k) => cell_names::adj(k as usize),
                    _ => unreachable!("a cell leaf"),
                };
                if ix.is_empty() {
                    Expr::new(quote!(*#n), P_NEG)
                } else {
                    Expr::atom(quote!(#n #s))
                }
            }
            Op::Seed => Expr::atom(quote!(scale)),
            Op::Const(bits) => self.literal(f64::from_bits(bits)),
            other => unreachable!("not a leaf: {other:?}"),
        }
    }

    /// Literal indices selecting element `(i, j)` of a node of this shape.
    fn lits(shape: Shape, i: u32, j: u32) -> Vec<Ix> {
        match shape {
            Shape::Scalar => vec![],
            Shape::Vector(_) => vec![Ix::Lit(i as usize)],
            Shape::Matrix(..) => vec![Ix::Lit(i as usize), Ix::Lit(j as usize)],
        }
    }

    fn call(&self, f: &str, args: &[Expr]) -> Expr {
        let f = Ident::new(f, Span::call_site());
        let args = args.iter().map(|a| &a.text);
        Expr::atom(quote!(#f(#(#args),*)))
    }

    /// The expression computing one element of a node from its operands.
    fn compute(&self, id: Id, ix: &[Ix]) -> Expr {
        let g = self.g;
        let node = g.node(id);
        match node.op {
            Op::Unary(Unary::Neg, a) => {
                let e = self.elem(a, ix).at(P_NEG);
                Expr::new(quote!(-#e), P_NEG)
            }
            Op::Unary(Unary::Elem(f), a) => {
                let args: Vec<Expr> = std::iter::once(self.elem(a, ix))
                    .chain(f.params().map(|p| self.literal(p)))
                    .collect();
                self.call(f.name(), &args)
            }
            Op::Unary(f, a) => self.call(unary_name(f), &[self.elem(a, ix)]),
            Op::Binary(f, a, b) => {
                let (ea, eb) = (self.elem(a, ix), self.elem(b, ix));
                match f {
                    Binary::Add => binop(ea, quote!(+), eb, P_ADD),
                    Binary::Sub => binop(ea, quote!(-), eb, P_ADD),
                    Binary::Mul => binop(ea, quote!(*), eb, P_MUL),
                    Binary::Div => binop(ea, quote!(/), eb, P_MUL),
                    Binary::Pow => self.call("powf", &[ea, eb]),
                    Binary::Max => self.call("max", &[ea, eb]),
                    Binary::Min => self.call("min", &[ea, eb]),
                    Binary::MaxGrad => self.call("max_grad", &[ea, eb]),
                }
            }
            Op::Broadcast(s) => self.elem(s, &[]),
            Op::Transpose(a) => self.elem(a, &[ix[1], ix[0]]),
            Op::Index(a, i, j) => self.elem(a, &Self::lits(g.shape(a), i, j)),
            Op::Unindex(s, i, j) => {
                let want = Self::lits(node.shape, i, j);
                let lits: Option<Vec<usize>> = ix
                    .iter()
                    .map(|k| match k {
                        Ix::Lit(v) => Some(*v),
                        Ix::Var(..) => None,
                    })
                    .collect();
                match lits {
                    Some(l) if want.iter().zip(&l).all(|(w, v)| *w == Ix::Lit(*v)) => {
                        self.elem(s, &[])
                    }
                    Some(_) => self.literal(0.0),
                    None => {
                        let conds = ix.iter().zip(&want).map(|(k, w)| {
                            let (k, w) = (k.tokens(), w.tokens());
                            quote!(#k == #w)
                        });
                        let s = self.elem(s, &[]).text;
                        let z = self.literal(0.0).text;
                        Expr::new(quote!(if #(#conds)&&* { #s } else { #z }), P_IF)
                    }
                }
            }
            Op::Sum(a) => self.sum_of(each_index(g.shape(a)).map(|k| self.elem(a, &k))),
            Op::MatVec(w, x) => {
                let Shape::Vector(n) = g.shape(x) else {
                    unreachable!()
                };
                self.sum_of((0..n).map(|j| {
                    let (wi, xj) = (
                        self.elem(w, &[ix[0], Ix::Lit(j)]),
                        self.elem(x, &[Ix::Lit(j)]),
                    );
                    binop(wi, quote!(*), xj, P_MUL)
                }))
            }
            Op::VecMat(x, w) => {
                let Shape::Vector(m) = g.shape(x) else {
                    unreachable!()
                };
                self.sum_of((0..m).map(|i| {
                    let (xi, wij) = (
                        self.elem(x, &[Ix::Lit(i)]),
                        self.elem(w, &[Ix::Lit(i), ix[0]]),
                    );
                    binop(xi, quote!(*), wij, P_MUL)
                }))
            }
            Op::MatMat(a, b, ta, tb) => {
                let k = match (g.shape(a), ta) {
                    (Shape::Matrix(_, c), false) | (Shape::Matrix(c, _), true) => c,
                    _ => unreachable!(),
                };
                self.sum_of((0..k).map(|k| {
                    let ai = if ta {
                        [Ix::Lit(k), ix[0]]
                    } else {
                        [ix[0], Ix::Lit(k)]
                    };
                    let bj = if tb {
                        [ix[1], Ix::Lit(k)]
                    } else {
                        [Ix::Lit(k), ix[1]]
                    };
                    binop(self.elem(a, &ai), quote!(*), self.elem(b, &bj), P_MUL)
                }))
            }
            Op::Outer(u, v) => binop(
                self.elem(u, &ix[..1]),
                quote!(*),
                self.elem(v, &ix[1..]),
                P_MUL,
            ),
            Op::Slice(a, s) => self.elem(a, &[ix[0].shift(s as isize)]),
            Op::Row(a, i) => self.elem(a, &[Ix::Lit(i as usize), ix[0]]),
            Op::Unslice(a, s) => {
                let (s, n) = (s as usize, g.shape(a).len());
                match ix[0] {
                    Ix::Lit(k) if (s..s + n).contains(&k) => self.elem(a, &[Ix::Lit(k - s)]),
                    Ix::Lit(_) => self.literal(0.0),
                    var => {
                        let k = var.tokens();
                        let (lo, hi) = (lit(s), lit(s + n));
                        let e = self.elem(a, &[var.shift(-(s as isize))]).text;
                        let z = self.literal(0.0).text;
                        Expr::new(quote!(if (#lo..#hi).contains(&#k) { #e } else { #z }), P_IF)
                    }
                }
            }
            Op::Unrow(a, i) => match ix[0] {
                Ix::Lit(r) if r == i as usize => self.elem(a, &ix[1..]),
                Ix::Lit(_) => self.literal(0.0),
                var => {
                    let (k, i) = (var.tokens(), lit(i as usize));
                    let e = self.elem(a, &ix[1..]).text;
                    let z = self.literal(0.0).text;
                    Expr::new(quote!(if #k == #i { #e } else { #z }), P_IF)
                }
            },
            op => unreachable!("{op:?} is always stored"),
        }
    }

    /// `a + b + c …`, left to right.
    fn sum_of(&self, mut terms: impl Iterator<Item = Expr>) -> Expr {
        match terms.next() {
            Some(first) => print::chain(first, terms.map(|t| (quote!(+), t)), P_ADD),
            None => self.literal(0.0),
        }
    }

    /// `± a ± b …` for the terms of a sum.
    fn signed_sum(&self, terms: &[Term], ix: &[Ix]) -> Expr {
        let Some((first, rest)) = terms.split_first() else {
            return self.literal(0.0);
        };
        let mut head = self.elem(first.id, ix);
        if first.negated {
            let e = head.at(P_NEG);
            head = Expr::new(quote!(-#e), P_NEG);
        }
        let rest = rest.iter().map(|t| {
            let op = if t.negated { quote!(-) } else { quote!(+) };
            (op, self.elem(t.id, ix))
        });
        print::chain(head, rest, P_ADD)
    }

    /// A kernel adding a product into `dst` (a `&mut` place).
    fn kernel(&self, id: Id, dst: TokenStream) -> TokenStream {
        let (f, a, b) = match self.g.op(id) {
            Op::MatVec(w, x) => ("matvec_acc", w, x),
            Op::VecMat(x, w) => ("vecmat_acc", x, w),
            Op::Outer(u, v) => ("outer_acc", u, v),
            Op::MatMat(a, b, false, false) => ("matmat_acc", a, b),
            Op::MatMat(a, b, true, false) => ("matmat_tn_acc", a, b),
            Op::MatMat(a, b, false, true) => ("matmat_nt_acc", a, b),
            Op::MatMat(a, b, true, true) => ("matmat_tt_acc", a, b),
            op => unreachable!("{op:?} is not a product"),
        };
        let f = Ident::new(f, Span::call_site());
        let (a, b) = (self.array(a), self.array(b));
        quote!(#f(#a, #b, #dst);)
    }

    /// A product added into `dst`. In a batched method, per-sample rows times a matrix the
    /// chunk shares run as one matrix–matrix kernel (`Z += X Wᵀ`, `Z += X W`), and so do the
    /// outer products of a weight gradient (`G += Uᵀ V`); any other product runs per sample.
    fn product(&self, id: Id, dst: Dst) -> TokenStream {
        if self.batch.is_none() {
            let dst = match dst {
                Dst::Local(_, name) => quote!(&mut #name),
                Dst::Grad(p) => {
                    let g = self.grad_place(p);
                    quote!(&mut #g)
                }
            };
            return self.kernel(id, dst);
        }
        if let Some(call) = self.matrix_kernel(id, dst) {
            return call;
        }
        // A gradient takes every sample's term, even one the samples share.
        let (dst, looped) = match dst {
            Dst::Local(d, name) if self.per_sample(d) => (quote!(&mut #name[__b]), true),
            Dst::Local(_, name) => (quote!(&mut #name), false),
            Dst::Grad(p) => {
                let g = self.grad_place(p);
                (quote!(&mut #g), true)
            }
        };
        let k = self.kernel(id, dst);
        if looped {
            quote!(for __b in 0..__n { #k })
        } else {
            k
        }
    }

    /// The matrix–matrix kernel computing a product for the whole chunk, where there is one.
    fn matrix_kernel(&self, id: Id, dst: Dst) -> Option<TokenStream> {
        let shared = |m: Id| !self.per_sample(m) && self.is_array(m);
        let (f, a, b) = match (self.g.op(id), dst) {
            (Op::MatVec(w, x), Dst::Local(d, _)) if self.per_sample(d) && shared(w) => {
                (quote!(gemm_nt_acc), self.rows(x), self.array(w))
            }
            (Op::VecMat(x, w), Dst::Local(d, _)) if self.per_sample(d) && shared(w) => {
                (quote!(gemm_nn_acc), self.rows(x), self.array(w))
            }
            (Op::Outer(u, v), Dst::Grad(_)) if self.per_sample(u) && self.per_sample(v) => {
                (quote!(gemm_tn_acc), self.rows(u), self.rows(v))
            }
            _ => return None,
        };
        let dst = match dst {
            Dst::Local(_, name) => quote!(&mut #name[..__n]),
            Dst::Grad(p) => {
                let g = self.grad_place(p);
                quote!(&mut #g)
            }
        };
        Some(quote!(#f(#a, #b, #dst);))
    }

    /// A loop nest over a shape, or literal indices when unrolled; `body` makes one
    /// element's statement.
    fn for_each(&self, shape: Shape, body: impl Fn(&[Ix]) -> TokenStream) -> TokenStream {
        if self.plan.unrolled {
            let stmts = each_index(shape).map(|ix| body(&ix));
            return quote!(#(#stmts)*);
        }
        match shape {
            Shape::Scalar => body(&[]),
            Shape::Vector(n) => {
                let b = body(&[Ix::Var("__i", 0)]);
                let n = lit(n);
                quote!(for __i in 0..#n { #b })
            }
            Shape::Matrix(r, c) => {
                let b = body(&[Ix::Var("__i", 0), Ix::Var("__j", 0)]);
                let (r, c) = (lit(r), lit(c));
                quote!(for __i in 0..#r { for __j in 0..#c { #b } })
            }
        }
    }

    /// The statements computing a stored node.
    pub fn store(&self, id: Id) -> TokenStream {
        if let Some(batch) = self.batch
            && batch.batched[id.index()]
        {
            return self.store_rows(id, batch.chunk);
        }
        let node = self.g.node(id);
        match node.op {
            Op::Scan(_) => return self.store_scan(id),
            Op::ScanBack(_) => return self.store_scan_back(id),
            // Declared by the loop that computes them.
            Op::ScanFinal(..) | Op::ScanBackPart(..) => return quote!(),
            _ => {}
        }
        if self.plan.reuse[id.index()].is_some() {
            // In place over its operand's buffer, which has this node's name.
            let name = self.name(id);
            return self.for_each(node.shape, |ix| {
                let e = self.compute(id, ix).text;
                let s = Self::index_suffix(ix);
                quote!(#name #s = #e;)
            });
        }
        let name = self.name(id);
        let ty = self.ty(node.shape);
        let zero = self.zero(node.shape);
        if let Some(terms) = &self.plan.groups[id.index()] {
            let (products, rest): (Vec<Term>, Vec<Term>) = terms
                .iter()
                .partition(|t| self.plan.place[t.id.index()] == Place::Absorbed);
            let start = match rest.as_slice() {
                [] => quote!(let mut #name: #ty = #zero;),
                [t] if !t.negated && self.is_array(t.id) && self.g.shape(t.id) == node.shape => {
                    let v = self.value(t.id);
                    quote!(let mut #name: #ty = #v;)
                }
                _ => {
                    let fill = self.for_each(node.shape, |ix| {
                        let e = self.signed_sum(&rest, ix).text;
                        let s = Self::index_suffix(ix);
                        quote!(#name #s = #e;)
                    });
                    quote!(let mut #name: #ty = #zero; #fill)
                }
            };
            let adds = products
                .iter()
                .map(|t| self.product(t.id, Dst::Local(id, name)));
            return quote!(#start #(#adds)*);
        }
        match node.op {
            Op::Softmax(a) | Op::LogSoftmax(a) => {
                let f = if matches!(node.op, Op::Softmax(_)) {
                    quote!(softmax)
                } else {
                    quote!(log_softmax)
                };
                let a = self.array(a);
                quote!(let mut #name: #ty = #zero; #f(#a, &mut #name);)
            }
            op if is_product(op) && !self.plan.unrolled => {
                let k = self.product(id, Dst::Local(id, name));
                quote!(let mut #name: #ty = #zero; #k)
            }
            Op::Sum(a) if !self.plan.unrolled => {
                let e = self.reduction(a);
                quote!(let #name: #ty = #e;)
            }
            _ if node.shape == Shape::Scalar => {
                let e = self.compute(id, &[]).text;
                quote!(let #name: #ty = #e;)
            }
            _ if self.plan.unrolled => {
                let e = self.literal_array(node.shape, |ix| self.compute(id, ix).text);
                quote!(let #name: #ty = #e;)
            }
            _ => {
                let fill = self.for_each(node.shape, |ix| {
                    let e = self.compute(id, ix).text;
                    let s = Self::index_suffix(ix);
                    quote!(#name #s = #e;)
                });
                quote!(let mut #name: #ty = #zero; #fill)
            }
        }
    }

    /// A node's whole value as an expression: a stored one or a leaf, or a broadcast
    /// scalar (a loop's state starting at a constant).
    fn whole(&self, id: Id) -> TokenStream {
        match (self.g.op(id), self.plan.place[id.index()]) {
            (Op::Broadcast(s), Place::Inline) => {
                let e = self.elem(s, &[]).text;
                shape_ty(&quote!((#e)), self.g.shape(id))
            }
            _ => self.value(id),
        }
    }

    /// An array to index by step: the input, a parameter, or a stored node.
    fn steps_of(&self, id: Id) -> TokenStream {
        match self.g.op(id) {
            Op::Input => quote!(x),
            Op::Target => quote!(t),
            Op::Param(p) => {
                let f = self.field(p);
                quote!(self.#f)
            }
            _ => {
                let n = self.name(id);
                quote!(#n)
            }
        }
    }

    /// The live node this method stores for `op`, if any.
    fn stored(&self, op: Op) -> Option<Id> {
        self.g
            .ids()
            .find(|&i| self.g.op(i) == op && self.plan.place[i.index()] == Place::Let)
    }

    /// A `for` loop: its carried states (each the buffer of its final value), the rows
    /// its steps output, and (when this method runs its backward pass) the states as each
    /// step began; then the steps, each a call of the loop's step function.
    fn store_scan(&self, id: Id) -> TokenStream {
        let Op::Scan(k) = self.g.op(id) else {
            unreachable!("a scan")
        };
        let s = self.g.scan_of(id);
        let steps = lit(s.steps);
        let taped = self.g.ids().any(|b| match self.g.op(b) {
            Op::ScanBack(i) => {
                self.g.backs[i as usize].scan == id && self.plan.place[b.index()] != Place::Dead
            }
            _ => false,
        });
        let mut decls = TokenStream::new();
        let mut record = TokenStream::new();
        let mut update = TokenStream::new();
        let mut carried = Vec::new();
        let mut news = Vec::new();
        for (j, (init, new)) in s.inits.iter().zip(&s.new_states).enumerate() {
            let shape = s.cell.shape(*new);
            let ty = self.ty(shape);
            let buf = match self.stored(Op::ScanFinal(id, j as u32)) {
                Some(f) => self.name(f).clone(),
                None => cell_names::carried(k, j),
            };
            let init = self.whole(*init);
            decls.extend(quote!(let mut #buf: #ty = #init;));
            if taped {
                let tape = cell_names::tape(k, j);
                let zero = self.zero(shape);
                decls.extend(quote!(let mut #tape: [#ty; #steps] = [#zero; #steps];));
                record.extend(quote!(#tape[__t] = #buf;));
            }
            let n = format_ident!("__n{j}");
            update.extend(quote!(#buf = #n;));
            carried.push(buf);
            news.push(n);
        }
        let name = self.name(id);
        let (out_decl, out_bind, out_store) = match s.output {
            Some(o) => {
                let row = s.cell.shape(o);
                let (ty, zero) = (self.ty(row), self.zero(row));
                (
                    quote!(let mut #name: [#ty; #steps] = [#zero; #steps];),
                    quote!(__y,),
                    quote!(#name[__t] = __y;),
                )
            }
            None => {
                let ty = &self.scalar_ty;
                (quote!(let #name: #ty = 0.0;), quote!(), quote!())
            }
        };
        let seq = self.steps_of(s.seq);
        let captured = s.captured.iter().map(|c| self.array(*c));
        let step = cell_names::step(k);
        quote! {
            #decls
            #out_decl
            for __t in 0..#steps {
                #record
                let (#(#news,)* #out_bind) = self.#step(&#seq[__t], #(&#carried,)* #(#captured,)*);
                #update
                #out_store
            }
        }
    }

    /// A loop's backward pass: the steps in reverse, each a call of the loop's step
    /// backward function, which adds to the gradients of the parameters the cell reads
    /// and gives the adjoints of the row, the states as the step began and the captured
    /// values.
    fn store_scan_back(&self, id: Id) -> TokenStream {
        let Op::ScanBack(b) = self.g.op(id) else {
            unreachable!("a scan backward")
        };
        let back = &self.g.backs[b as usize];
        let Op::Scan(k) = self.g.op(back.scan) else {
            unreachable!("the backward of a scan")
        };
        let s = self.g.scan_of(back.scan);
        let steps = lit(s.steps);
        let part = |p: Part| {
            self.stored(Op::ScanBackPart(id, p))
                .map(|n| self.name(n).clone())
        };
        let mut out = TokenStream::new();
        let mut running = Vec::new();
        for (j, new) in s.new_states.iter().enumerate() {
            let shape = s.cell.shape(*new);
            let ty = self.ty(shape);
            let d = cell_names::carried_adj(b, j);
            let start = match back.d_finals.get(j).copied().flatten() {
                Some(f) => self.whole(f),
                None => self.zero(shape),
            };
            out.extend(quote!(let mut #d: #ty = #start;));
            running.push(d);
        }
        let mut unused = 0;
        let mut buffer = |p: Part, shape: Shape| -> Ident {
            let name = part(p).unwrap_or_else(|| {
                unused += 1;
                cell_names::unused(b, unused)
            });
            let (ty, zero) = (self.ty(shape), self.zero(shape));
            out.extend(quote!(let mut #name: #ty = #zero;));
            name
        };
        let seq_shape = self.g.shape(s.seq);
        let d_seq = buffer(Part::Seq, seq_shape);
        let d_captured: Vec<Ident> = (s.captured.iter().enumerate())
            .map(|(j, c)| buffer(Part::Captured(j as u32), self.g.shape(*c)))
            .collect();
        let d_params: Vec<Ident> = (s.params.iter().enumerate())
            .map(|(i, p)| buffer(Part::Param(i as u32), self.g.shape(*p)))
            .collect();
        let seq = self.steps_of(s.seq);
        let tapes = (0..s.new_states.len()).map(|j| cell_names::tape(k, j));
        let captured: Vec<TokenStream> = s.captured.iter().map(|c| self.array(*c)).collect();
        let d_out: Vec<TokenStream> = s
            .output
            .iter()
            .map(|&o| match back.d_out {
                Some(d) => {
                    let rows = self.steps_of(d);
                    quote!(&#rows[__t])
                }
                None => {
                    let zero = self.zero(s.cell.shape(o));
                    quote!(&#zero)
                }
            })
            .collect();
        let news: Vec<Ident> = (0..s.new_states.len())
            .map(|j| format_ident!("__p{j}"))
            .collect();
        let dcs: Vec<Ident> = (0..s.captured.len())
            .map(|j| format_ident!("__dc{j}"))
            .collect();
        let adds = d_captured
            .iter()
            .zip(&dcs)
            .enumerate()
            .map(|(j, (acc, dc))| {
                self.for_each(self.g.shape(s.captured[j]), |ix| {
                    let sfx = Self::index_suffix(ix);
                    quote!(#acc #sfx += #dc #sfx;)
                })
            });
        let step_back = cell_names::step_back(k);
        out.extend(quote! {
            for __t in (0..#steps).rev() {
                let (#(#news,)* __dx, #(#dcs,)*) = self.#step_back(
                    &#seq[__t],
                    #(&#tapes[__t],)*
                    #(#captured,)*
                    #(&#running,)*
                    #(#d_out,)*
                    #(&mut #d_params,)*
                );
                #(#running = #news;)*
                #d_seq[__t] = __dx;
                #(#adds)*
            }
        });
        for (j, d) in running.iter().enumerate() {
            if let Some(name) = part(Part::Init(j as u32)) {
                out.extend(quote!(let #name = #d;));
            }
        }
        out
    }

    /// The statements computing a node that holds one value per sample: a buffer of
    /// `chunk` values filled one sample at a time, except for the products that run as
    /// one matrix–matrix kernel over the chunk.
    fn store_rows(&self, id: Id, chunk: usize) -> TokenStream {
        let node = self.g.node(id);
        let name = self.name(id);
        let (ty, zero, chunk) = (self.ty(node.shape), self.zero(node.shape), lit(chunk));
        // A node computed in place declares no buffer of its own.
        let decl = match self.plan.reuse[id.index()] {
            Some(_) => quote!(),
            None => quote!(let mut #name: [#ty; #chunk] = [#zero; #chunk];),
        };
        let each_sample = |body: TokenStream| quote!(for __b in 0..__n { #body });
        let fill = |elem: &dyn Fn(&[Ix]) -> Expr| {
            each_sample(self.for_each(node.shape, |ix| {
                let e = elem(ix).text;
                let s = Self::index_suffix(ix);
                quote!(#name[__b] #s = #e;)
            }))
        };
        if let Some(terms) = &self.plan.groups[id.index()] {
            let (products, rest): (Vec<Term>, Vec<Term>) = terms
                .iter()
                .partition(|t| self.plan.place[t.id.index()] == Place::Absorbed);
            let start = match rest.as_slice() {
                [] => quote!(),
                [t] if !t.negated && self.is_array(t.id) && self.g.shape(t.id) == node.shape => {
                    let v = self.value(t.id);
                    each_sample(quote!(#name[__b] = #v;))
                }
                _ => fill(&|ix| self.signed_sum(&rest, ix)),
            };
            let adds = products
                .iter()
                .map(|t| self.product(t.id, Dst::Local(id, name)));
            return quote!(#decl #start #(#adds)*);
        }
        let body = match node.op {
            Op::Softmax(a) | Op::LogSoftmax(a) => {
                let f = if matches!(node.op, Op::Softmax(_)) {
                    quote!(softmax)
                } else {
                    quote!(log_softmax)
                };
                let a = self.array(a);
                each_sample(quote!(#f(#a, &mut #name[__b]);))
            }
            op if is_product(op) => self.product(id, Dst::Local(id, name)),
            Op::Sum(a) => {
                let e = self.reduction(a);
                each_sample(quote!(#name[__b] = #e;))
            }
            _ => fill(&|ix| self.compute(id, ix)),
        };
        quote!(#decl #body)
    }

    /// True for a node that is an array in memory: a tensor leaf or a stored node.
    fn is_array(&self, id: Id) -> bool {
        matches!(self.g.op(id), Op::Param(_) | Op::Input | Op::Target)
            || self.plan.place[id.index()] == Place::Let
    }

    /// `[e0, e1, …]` or `[[e00, …], …]`.
    fn literal_array(&self, shape: Shape, elem: impl Fn(&[Ix]) -> TokenStream) -> TokenStream {
        match shape {
            Shape::Scalar => elem(&[]),
            Shape::Vector(n) => {
                let es = (0..n).map(|i| elem(&[Ix::Lit(i)]));
                quote!([#(#es),*])
            }
            Shape::Matrix(r, c) => {
                let rows = (0..r).map(|i| {
                    let es = (0..c).map(|j| elem(&[Ix::Lit(i), Ix::Lit(j)]));
                    quote!([#(#es),*])
                });
                quote!([#(#rows),*])
            }
        }
    }

    /// `Σ a` in loop form: short sums term by term, longer ones through the runtime's
    /// `sum_map`/`sum_rows`, which choose the accumulators.
    fn reduction(&self, a: Id) -> TokenStream {
        let shape = self.g.shape(a);
        if shape.len() <= SHORT_SUM {
            return self
                .sum_of(each_index(shape).map(|k| self.elem(a, &k)))
                .text;
        }
        let ty = &self.scalar_ty;
        match shape {
            Shape::Matrix(r, c) => {
                let e = self.elem(a, &[Ix::Var("__i", 0), Ix::Var("__j", 0)]).text;
                let (r, c) = (lit(r), lit(c));
                quote!(::chainrule::__private::sum_rows::<#ty, #r, #c, _>(|__i, __j| #e))
            }
            _ => {
                let e = self.elem(a, &[Ix::Var("__i", 0)]).text;
                let n = lit(shape.len());
                quote!(::chainrule::__private::sum_map::<#ty, #n, _>(|__i| #e))
            }
        }
    }

    /// The statements adding `Σ terms` into `grad.<param>`: products through their kernel,
    /// the rest in one fused loop.
    pub fn sink(&self, param: usize, terms: &[Id]) -> TokenStream {
        let (each, shared) = self.sink_parts(param, terms);
        quote!(#each #shared)
    }

    /// [`Emitter::sink`] in two parts: what each chunk adds, and (in a batched method) the
    /// terms the samples share, added once for the whole batch, times its length.
    fn sink_parts(&self, param: usize, terms: &[Id]) -> (TokenStream, TokenStream) {
        let field = self.grad_place(param);
        let shape = self.net.params[param].shape;
        let (products, rest): (Vec<Id>, Vec<Id>) = terms
            .iter()
            .partition(|t| self.plan.place[t.index()] == Place::Absorbed);
        let kernels = products.iter().map(|t| self.product(*t, Dst::Grad(param)));
        // In a batched method, every sample adds its own terms, and the terms the samples
        // share (a weight penalty's) are added once, times the chunk's length.
        let (rows, shared): (Vec<Term>, Vec<Term>) = rest
            .into_iter()
            .map(|id| Term { id, negated: false })
            .partition(|t| self.batch.is_none() || self.per_sample(t.id));
        let add = |terms: &[Term], times: Option<Expr>| {
            self.for_each(shape, |ix| {
                let mut e = self.signed_sum(terms, ix);
                if let Some(n) = &times {
                    e = binop(n.clone(), quote!(*), e, P_MUL);
                }
                let e = e.text;
                let s = Self::index_suffix(ix);
                quote!(#field #s += #e;)
            })
        };
        let rows = match (rows.is_empty(), self.batch) {
            (true, _) => quote!(),
            (false, Some(_)) => {
                let adds = add(&rows, None);
                quote!(for __b in 0..__n { #adds })
            }
            (false, None) => add(&rows, None),
        };
        let shared = if shared.is_empty() {
            quote!()
        } else {
            let ty = &self.scalar_ty;
            add(&shared, Some(Expr::atom(quote!((xs.len() as #ty)))))
        };
        (quote!(#(#kernels)* #rows), shared)
    }

    /// The body of a batched method in three parts: what the samples share, computed
    /// once before the chunks; what each chunk computes; and the shared gradient terms,
    /// added once after the chunks. Then sample `__b`'s returned value.
    pub fn body_batched(&self, spec: &MethodSpec) -> [TokenStream; 4] {
        let (mut shared, mut each, mut after) =
            (TokenStream::new(), TokenStream::new(), TokenStream::new());
        for step in &self.plan.steps {
            match step {
                Step::Store(id) if self.per_sample(*id) => each.extend(self.store(*id)),
                Step::Store(id) => shared.extend(self.store(*id)),
                Step::Sink { param, terms } => {
                    let (e, s) = self.sink_parts(*param, terms);
                    each.extend(e);
                    after.extend(s);
                }
            }
        }
        let value = spec
            .returns
            .first()
            .map(|r| self.value(*r))
            .unwrap_or_default();
        [shared, each, after, value]
    }

    /// The body of a method: its planned statements, then the returned values.
    pub fn body(&self, spec: &MethodSpec) -> (TokenStream, Vec<TokenStream>) {
        let mut out = TokenStream::new();
        for step in &self.plan.steps {
            out.extend(match step {
                Step::Store(id) => self.store(*id),
                Step::Sink { param, terms } => self.sink(*param, terms),
            });
        }
        let returns = spec.returns.iter().map(|r| self.value(*r)).collect();
        (out, returns)
    }
}

/// An unsuffixed integer literal, so types read `[f32; 2]` rather than `[f32; 2usize]`.
pub fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// A zero of a shape in the given scalar type: `0f32`, `[0f32; n]`, `[[0f32; c]; r]`.
pub fn zero_of(scalar: Scalar, shape: Shape) -> TokenStream {
    filled(scalar, shape, 0.0)
}

/// A value of `shape` with every element `v`.
pub fn filled(scalar: Scalar, shape: Shape, v: f64) -> TokenStream {
    let magnitude = match scalar {
        Scalar::F32 => Literal::f32_suffixed(v.abs() as f32),
        Scalar::F64 => Literal::f64_suffixed(v.abs()),
    };
    let sign = (v < 0.0).then(|| quote!(-));
    // `[v; n]` is written like the type `[T; n]`.
    shape_ty(&quote!(#sign #magnitude), shape)
}

/// The Rust type of a shape over a scalar type.
pub fn shape_ty(scalar: &TokenStream, shape: Shape) -> TokenStream {
    match shape {
        Shape::Scalar => quote!(#scalar),
        Shape::Vector(n) => {
            let n = lit(n);
            quote!([#scalar; #n])
        }
        Shape::Matrix(r, c) => {
            let (r, c) = (lit(r), lit(c));
            quote!([[#scalar; #c]; #r])
        }
    }
}

/// Every index of a shape, row-major, as literals.
fn each_index(shape: Shape) -> Box<dyn Iterator<Item = Vec<Ix>>> {
    match shape {
        Shape::Scalar => Box::new(std::iter::once(vec![])),
        Shape::Vector(n) => Box::new((0..n).map(|i| vec![Ix::Lit(i)])),
        Shape::Matrix(r, c) => {
            Box::new((0..r).flat_map(move |i| (0..c).map(move |j| vec![Ix::Lit(i), Ix::Lit(j)])))
        }
    }
}
