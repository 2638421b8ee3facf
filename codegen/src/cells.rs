//! A `for` loop's step functions: private methods of the net that the loops of its
//! methods call once per step, so the generated code does not grow with the number of
//! steps.
//!
//! - `__cell{k}(&self, x, state.., captured..) -> (new state.., output)`: one step.
//! - `__cell_back{k}(&self, x, state.., captured.., adjoint of each new state and of the
//!   output, &mut gradient of each parameter the cell reads) -> (adjoint of each state as
//!   the step began, of the row, of each captured value)`: one step of the backward pass.
//!   It recomputes the step from the row and the states as the step began, which the
//!   forward loop records, rather than keeping every value of every step.

use chainrule_grammar::model::{Net, Scalar, StateInit};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::api::{StateField, Stream};
use crate::diff::{cell_derivation, sum_terms};
use crate::emit::{Emitter, cell_names, filled, shape_ty, zero_of};
use crate::ir::{Graph, Id, Op, Scan, Shape};
use crate::naming::Role;
use crate::plan::{MethodSpec, Sink, cost, plan};

/// The step functions of every loop of the net.
pub fn step_functions(net: &Net, g: &Graph) -> TokenStream {
    let mut out = TokenStream::new();
    for (k, scan) in g.scans.iter().enumerate() {
        out.extend(step(net, g, scan, k as u32));
        out.extend(step_back(net, g, scan, k as u32));
    }
    out
}

fn scalar_ty(net: &Net) -> TokenStream {
    match net.scalar {
        Scalar::F32 => quote!(::core::primitive::f32),
        Scalar::F64 => quote!(::core::primitive::f64),
    }
}

/// The arguments every step function takes: the row, the states as the step begins and
/// the captured values, by reference.
fn inputs(net: &Net, g: &Graph, scan: &Scan) -> Vec<TokenStream> {
    let t = scalar_ty(net);
    let row = scan.cell.shape(cell_row(scan));
    let row_ty = shape_ty(&t, row);
    let mut args = vec![quote!(x: &#row_ty)];
    for (j, s) in scan.new_states.iter().enumerate() {
        let (n, ty) = (cell_names::state(j), shape_ty(&t, scan.cell.shape(*s)));
        args.push(quote!(#n: &#ty));
    }
    for (j, c) in scan.captured.iter().enumerate() {
        let (n, ty) = (cell_names::captured(j), shape_ty(&t, g.shape(*c)));
        args.push(quote!(#n: &#ty));
    }
    args
}

/// The row's shape comes from the rows the loop runs over.
fn cell_row(scan: &Scan) -> Id {
    scan.cell
        .ids()
        .find(|i| scan.cell.op(*i) == Op::Input)
        .unwrap_or(Id(0))
}

/// The body of a cell function: its planned statements and the returned tuple, a zero
/// of its shape in each slot that has no node.
fn body(
    net: &Net,
    g: &Graph,
    returns: &[(Option<Id>, Shape)],
    sinks: Vec<Sink>,
    grads: Option<Vec<(usize, Ident)>>,
) -> TokenStream {
    let spec = MethodSpec {
        returns: returns.iter().filter_map(|(r, _)| *r).collect(),
        sinks,
    };
    let unrolled = cost(g, &spec) <= net.unroll as u64;
    let p = plan(g, &spec, unrolled, None);
    let roles = vec![Role::Other; g.len()];
    let e = Emitter::for_cell(net, g, &p, &roles, grads);
    let (stmts, _) = e.body(&spec);
    let values = returns.iter().map(|(r, shape)| match r {
        Some(id) => e.value(*id),
        None => zero_of(net.scalar, *shape),
    });
    quote! {
        #[allow(unused_imports)]
        use ::chainrule::__private::prelude::*;
        #stmts
        (#(#values,)*)
    }
}

/// One step: the new value of each carried state, then the output row.
fn step(net: &Net, g: &Graph, scan: &Scan, k: u32) -> TokenStream {
    let t = scalar_ty(net);
    let name = cell_names::step(k);
    let args = inputs(net, g, scan);
    let mut returns: Vec<(Option<Id>, Shape)> = (scan.new_states.iter())
        .map(|s| (Some(*s), scan.cell.shape(*s)))
        .collect();
    returns.extend(scan.output.map(|o| (Some(o), scan.cell.shape(o))));
    let tys = returns.iter().map(|(_, s)| shape_ty(&t, *s));
    let body = body(net, &scan.cell, &returns, Vec::new(), None);
    quote! {
        #[inline]
        fn #name(&self, #(#args),*) -> (#(#tys,)*) {
            #body
        }
    }
}

/// One step backwards: from the adjoints of the step's results, the adjoints of its
/// inputs, and the parameters' gradients added through `&mut` arguments.
fn step_back(net: &Net, g: &Graph, scan: &Scan, k: u32) -> TokenStream {
    let t = scalar_ty(net);
    let name = cell_names::step_back(k);
    let mut d = cell_derivation(scan, g);
    let mut args = inputs(net, g, scan);
    let outputs = scan.new_states.iter().copied().chain(scan.output);
    for (j, r) in outputs.enumerate() {
        let (n, ty) = (cell_names::adj(j), shape_ty(&t, scan.cell.shape(r)));
        args.push(quote!(#n: &#ty));
    }
    let mut sinks = Vec::new();
    let mut grads = Vec::new();
    for (i, (p, leaf)) in scan.params.iter().zip(&d.params).enumerate() {
        let Op::Param(model) = g.op(*p) else {
            unreachable!("a parameter leaf")
        };
        let (n, ty) = (cell_names::grad(i), shape_ty(&t, g.shape(*p)));
        args.push(quote!(#n: &mut #ty));
        grads.push((model as usize, n));
        if let Some(leaf) = leaf {
            sinks.push(Sink {
                param: model as usize,
                terms: d.adjoints.terms[leaf.index()].clone(),
            });
        }
    }
    // Each returned adjoint is the sum of its leaf's contributions, or zero.
    let mut total = |leaf: Option<Id>, shape: Shape| -> (Option<Id>, Shape) {
        let terms = leaf
            .map(|l| d.adjoints.terms[l.index()].clone())
            .unwrap_or_default();
        let id = (!terms.is_empty()).then(|| sum_terms(&mut d.graph, &terms));
        (id, shape)
    };
    let mut returns: Vec<(Option<Id>, Shape)> = Vec::new();
    for (j, s) in scan.new_states.iter().enumerate() {
        returns.push(total(d.states[j], scan.cell.shape(*s)));
    }
    returns.push(total(d.row, scan.cell.shape(cell_row(scan))));
    for (j, c) in scan.captured.iter().enumerate() {
        returns.push(total(d.captured[j], g.shape(*c)));
    }
    let tys = returns.iter().map(|(_, s)| shape_ty(&t, *s));
    let body = body(net, &d.graph, &returns, sinks, Some(grads));
    quote! {
        #[inline]
        fn #name(&self, #(#args),*) -> (#(#tys,)*) {
            #body
        }
    }
}

/// The streaming API of a net whose output is the rows of a loop over the input's rows,
/// or over the rows of such a loop: the loops on that chain, first to last, run one step
/// each per call. `None` for any other net, and for a chain with a loop that reads a
/// net-level value besides its rows (a step would have to recompute it).
pub fn stream(net: &Net, g: &Graph, output: Id) -> Option<Stream> {
    let mut chain = Vec::new();
    let mut at = output;
    loop {
        let Op::Scan(k) = g.op(at) else {
            return None;
        };
        let scan = &g.scans[k as usize];
        if scan.output.is_none() || !scan.captured.is_empty() {
            return None;
        }
        chain.push(k);
        at = scan.seq;
        if g.op(at) == Op::Input {
            break;
        }
    }
    chain.reverse();
    let t = scalar_ty(net);
    // Every state of the chain, in the order the loops run.
    let carried = chain.iter().flat_map(|&k| {
        let scan = &g.scans[k as usize];
        scan.states
            .iter()
            .zip(&scan.new_states)
            .map(move |(&s, &new)| {
                let state = &net.states[s];
                let shape = scan.cell.shape(new);
                let init = match state.init {
                    StateInit::Zeros => filled(net.scalar, shape, 0.0),
                    StateInit::Ones => filled(net.scalar, shape, 1.0),
                    StateInit::Constant(c) => filled(net.scalar, shape, c),
                    StateInit::Param(p) => {
                        let p = format_ident!("{}", net.params[p].name);
                        quote!(self.#p)
                    }
                };
                (state.name.as_str(), shape, init)
            })
    });
    let fields = state_fields(carried, &t);
    let mut names = fields.iter().map(|f| &f.name);
    let mut body = TokenStream::new();
    for (place, &k) in chain.iter().enumerate() {
        let scan = &g.scans[k as usize];
        let row = if place == 0 {
            quote!(x)
        } else {
            quote!(&__row)
        };
        let mine: Vec<&Ident> = names.by_ref().take(scan.states.len()).collect();
        let news: Vec<Ident> = (0..mine.len()).map(cell_names::state).collect();
        let name = cell_names::step(k);
        body.extend(quote! {
            let (#(#news,)* __row,) = self.#name(#row, #(&state.#mine),*);
            #(state.#mine = #news;)*
        });
    }
    body.extend(quote!(__row));
    let first = &g.scans[chain[0] as usize];
    let last = &g.scans[chain[chain.len() - 1] as usize];
    let out = last.output.map(|o| last.cell.shape(o))?;
    Some(Stream {
        fields,
        row: shape_ty(&t, first.cell.shape(cell_row(first))),
        out: shape_ty(&t, out),
        body,
    })
}

/// The fields of the streaming state struct, one per `(state, shape, start)`, in order:
/// each named after its state, `layer_h` for the hidden state `h` of a recurrent layer
/// `layer` (named "layer h" in the model), with a `_` added while the name is taken.
pub fn state_fields<'a>(
    states: impl IntoIterator<Item = (&'a str, Shape, TokenStream)>,
    t: &TokenStream,
) -> Vec<StateField> {
    let mut fields: Vec<StateField> = Vec::new();
    for (name, shape, init) in states {
        let mut field = format_ident!("{}", name.replace(' ', "_"));
        while fields.iter().any(|f| f.name == field) {
            field = format_ident!("{field}_");
        }
        let doc = match name.split_once(' ') {
            Some((layer, state)) => format!(" State `{state}` of layer `{layer}`."),
            None => format!(" State `{name}`."),
        };
        fields.push(StateField {
            name: field,
            doc,
            ty: shape_ty(t, shape),
            init,
        });
    }
    fields
}
