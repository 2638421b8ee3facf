//! Everything `network!` generates for one checked net: the struct, its inherent methods and
//! its `chainrule::Network` implementation (SPEC §3).

use chainrule_grammar::model::{Init, Net, Scalar, Shape, Stub, Sym};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::api::{self, Api, Bodies, Field};
use std::collections::HashMap;

use crate::diff::{Adjoints, differentiate, sum_terms};
use crate::docs;
use crate::emit::{Batch, Emitter, lit, zero_of};
use crate::ir::{Graph, Id};
use crate::lower::{Lowered, lower};
use crate::naming::{Role, roles};
use crate::plan::{MethodSpec, Place, Plan, Sink, cost, plan};

/// The code of one net.
pub fn generate(net: &Net) -> TokenStream {
    let mut low = lower(net);
    let g = &mut low.graph;
    // Parameter gradients are scaled by `scale` (1 in `backward`, 1/B in a batch); the
    // input gradient is the plain derivative.
    let adjoints = differentiate(g, low.loss, low.seed);
    let input_adjoints = at_seed_one(g, &adjoints, low.input);
    let d_input = input_adjoints.terms[low.input.index()].first().copied();

    let sinks: Vec<Sink> = low
        .params
        .iter()
        .enumerate()
        .map(|(param, p)| Sink {
            param,
            terms: adjoints.terms[p.index()].clone(),
        })
        .collect();
    let forward = MethodSpec {
        returns: vec![low.output],
        sinks: vec![],
    };
    let loss = MethodSpec {
        returns: vec![low.loss],
        sinks: vec![],
    };
    let backward = MethodSpec {
        returns: vec![low.loss],
        sinks,
    };
    let input_gradient = MethodSpec {
        returns: d_input.into_iter().collect(),
        sinks: vec![],
    };
    // Every method is unrolled or none is: the budget bounds the largest of them.
    let unrolled = [&forward, &loss, &backward, &input_gradient]
        .iter()
        .map(|spec| cost(&low.graph, spec))
        .max()
        .unwrap_or(0)
        <= net.unroll as u64;
    // Each method names nodes by its own differentiation: with seed 1 the adjoint of `y`
    // can be a forward value (the residual `y − t`) that `backward` stores too.
    let created = [&adjoints, &input_adjoints];
    let forward_roles = roles(net, &low, &created, None, &[]);
    let backward_roles = roles(net, &low, &created, Some(&adjoints), &[]);
    let extra: Vec<(Id, Role)> = d_input
        .filter(|d| !low.graph.op(*d).is_leaf())
        .map(|d| (d, Role::Adjoint(net.input.name.clone())))
        .into_iter()
        .collect();
    let input_roles = roles(net, &low, &created, Some(&input_adjoints), &extra);

    // Each method is planned once; its plan serves the code and, for `backward`, the docs.
    let plan_of = |spec: &MethodSpec| plan(&low.graph, spec, unrolled, None);
    let body = |spec: &MethodSpec, p: &Plan, roles: &[Role]| {
        let e = Emitter::new(net, &low, p, roles);
        let (stmts, returns) = e.body(spec);
        quote! {
            #[allow(unused_imports)]
            use ::chainrule::__private::prelude::*;
            #stmts
            #(#returns)*
        }
    };
    let backward_plan = plan_of(&backward);
    let backward_doc = docs::backward(
        net,
        &low,
        &backward,
        &backward_plan,
        &backward_roles,
        &adjoints.total,
    );

    let forward_body = body(&forward, &plan_of(&forward), &forward_roles);
    let loss_body = body(&loss, &plan_of(&loss), &forward_roles);
    let backward_body = body(&backward, &backward_plan, &backward_roles);
    let batched = batched_bodies(
        net,
        &low,
        [&forward, &loss, &backward],
        [&forward_roles, &forward_roles, &backward_roles],
        unrolled,
    );
    let input_gradient_body = if input_gradient.returns.is_empty() {
        // The loss does not depend on the input.
        let z = zero_of(net.scalar, net.input.shape);
        quote!(#z)
    } else {
        body(&input_gradient, &plan_of(&input_gradient), &input_roles)
    };
    api::items(
        &api_of(net),
        Bodies {
            forward: forward_body,
            loss: loss_body,
            backward: backward_body,
            input_gradient: input_gradient_body,
            reinit: reinit(net),
            backward_doc,
            batch: batched,
            helpers: crate::cells::step_functions(net, &low.graph),
            stream: crate::cells::stream(net, &low.graph, low.output),
        },
    )
}

/// Per-sample bytes of a batched method's buffers above which it runs one sample at a
/// time: a chunk of at least [`TILE_ROWS`] samples must fit in [`CHUNK_STACK`].
const CHUNK_STACK: usize = 256 * 1024;
/// The most samples in one chunk by default: enough for the matrix–matrix kernels to run
/// near the machine's peak (measured in `BENCHMARKS.md`), few enough for the stack.
const DEFAULT_CHUNK: usize = 64;
/// Rows of the kernels' register tiles (`chainrule::__private::gemm::TILE_ROWS`): a chunk
/// is a multiple of it.
const TILE_ROWS: usize = 4;

/// The bodies of `forward_batch`, `loss_batch` and `backward_batch`. A net small enough
/// to be unrolled runs its per-sample code for each sample, which is faster at that size;
/// any other runs chunks of samples through matrix–matrix kernels, the chunk chosen so
/// its buffers fit [`CHUNK_STACK`], or set by `#[chainrule(chunk = N)]`.
fn batched_bodies(
    net: &Net,
    low: &Lowered,
    specs: [&MethodSpec; 3],
    roles: [&[Role]; 3],
    unrolled: bool,
) -> api::BatchBodies {
    let g = &low.graph;
    let batched = Batch::batched(g);
    let plans = specs.map(|spec| plan(g, spec, false, Some(&batched)));
    let scalar_bytes = match net.scalar {
        Scalar::F32 => 4,
        Scalar::F64 => 8,
    };
    // Bytes of the buffers a plan declares: per sample, and once per chunk.
    let bytes = |p: &Plan| {
        let mut per_sample = 0;
        let mut shared = 0;
        // A node computed in another's buffer declares none of its own.
        let declares = |id: &Id| p.place[id.index()] == Place::Let && p.reuse[id.index()].is_none();
        for id in g.ids().filter(declares) {
            let b = g.shape(id).len() * scalar_bytes;
            if batched[id.index()] {
                per_sample += b;
            } else {
                shared += b;
            }
        }
        (per_sample, shared)
    };
    let widest = plans.iter().map(|p| bytes(p).0).max().unwrap_or(0);
    // A net with a loop runs its batches one sequence at a time.
    let looped = !g.scans.is_empty();
    let chunk = if looped {
        1
    } else {
        net.chunk.unwrap_or_else(|| {
            let fits = CHUNK_STACK / widest.max(1) / TILE_ROWS * TILE_ROWS;
            if unrolled || fits < TILE_ROWS {
                1
            } else {
                fits.min(DEFAULT_CHUNK)
            }
        })
    };
    let [forward, loss, backward] = [0, 1, 2].map(|i| {
        (chunk > 1).then(|| {
            let (per_sample, shared) = bytes(&plans[i]);
            let e = Emitter::new(net, low, &plans[i], roles[i]).batched(Batch {
                batched: &batched,
                chunk,
            });
            let [shared_stmts, stmts, after, value] = e.body_batched(specs[i]);
            api::Batched {
                shared: shared_stmts,
                stmts,
                after,
                value,
                stack: chunk * per_sample + shared,
            }
        })
    });
    api::BatchBodies {
        chunk,
        forward,
        loss,
        backward,
    }
}

/// The derivation at seed 1, for `input_gradient`: every total adjoint and the input's
/// gradient rebuilt with `scale` replaced by 1, so the chain rule runs once per net. Each
/// rebuilt node keeps the owner of the node it copies, for naming.
fn at_seed_one(g: &mut Graph, scaled: &Adjoints, input: Id) -> Adjoints {
    let input_terms = &scaled.terms[input.index()];
    let d_input = (!input_terms.is_empty()).then(|| sum_terms(g, input_terms));
    let before = g.len();
    let roots = scaled.total.iter().flatten().chain(&d_input).copied();
    let copy = g.with_seed(roots.collect::<Vec<_>>(), 1.0);
    let by: HashMap<Id, Id> = scaled.created_by.iter().copied().collect();
    let created_by = (0..copy.len())
        .filter_map(|old| {
            let new = copy[old]?;
            let owner = by.get(&Id(old as u32))?;
            (new.index() >= before).then_some((new, *owner))
        })
        .collect();
    let mut terms = vec![Vec::new(); scaled.terms.len()];
    terms[input.index()] = d_input.and_then(|d| copy[d.index()]).into_iter().collect();
    Adjoints {
        terms,
        total: scaled
            .total
            .iter()
            .map(|t| t.and_then(|t| copy[t.index()]))
            .collect(),
        created_by,
    }
}

/// The stub of a failed net: the whole API when the front end knew its types, else an
/// empty struct.
pub fn stub(stub: &Stub) -> TokenStream {
    let Some(types) = &stub.api else {
        let (vis, name) = (&stub.vis, &stub.name);
        return quote! {
            #[allow(dead_code)]
            #vis struct #name {}
        };
    };
    let fields = types
        .params
        .iter()
        .map(|(name, shape)| Field {
            name: name.clone(),
            tensor: name.clone(),
            shape: *shape,
            docs: vec![quote!(#[doc = " A parameter."])],
        })
        .collect();
    let api = Api {
        attrs: stub.attrs.clone(),
        vis: stub.vis.clone(),
        name: stub.name.clone(),
        scalar: types.scalar,
        input: types.input,
        target: types.target,
        output: types.output,
        fields,
        forward_doc: "The output for one input.".into(),
        weights: stub.baked.then(|| {
            let zero = types.params.iter().map(|(name, shape)| {
                let (f, z) = (format_ident!("{}", name), zero_of(types.scalar, *shape));
                quote!(#f: #z,)
            });
            (quote!(Self { #(#zero)* }), None)
        }),
    };
    let stream = types.stream.as_ref().and_then(|states| {
        let t = match types.scalar {
            Scalar::F32 => quote!(::core::primitive::f32),
            Scalar::F64 => quote!(::core::primitive::f64),
        };
        let row = match types.input {
            Shape::Matrix(_, n) => Shape::Vector(n),
            _ => return None,
        };
        let out = match types.output {
            Shape::Matrix(_, m) => Shape::Vector(m),
            Shape::Vector(_) => Shape::Scalar,
            Shape::Scalar => return None,
        };
        let never = quote!(::core::unreachable!(
            "`network!` reported an error for this net"
        ));
        Some(api::Stream {
            fields: crate::cells::state_fields(
                (states.iter())
                    .map(|(name, shape)| (name.as_str(), *shape, zero_of(types.scalar, *shape))),
                &t,
            ),
            row: crate::emit::shape_ty(&t, row),
            out: crate::emit::shape_ty(&t, out),
            body: never,
        })
    });
    api::items(
        &api,
        Bodies {
            stream,
            ..Bodies::never_run()
        },
    )
}

/// The API's types and docs for a checked net.
fn api_of(net: &Net) -> Api {
    // Fields are documented even when the user wrote no doc comment, so crates with
    // `#![deny(missing_docs)]` accept them.
    let fields = net
        .params
        .iter()
        .map(|p| {
            let mut docs = if p.docs.is_empty() {
                let text = format!(
                    " Parameter `{}`, shape {}, initialised {}.",
                    p.name,
                    p.shape,
                    init_name(p.init)
                );
                vec![quote!(#[doc = #text])]
            } else {
                p.docs.clone()
            };
            if p.tensor != p.name {
                let text = format!(" Tensor `{}` in safetensors files.", p.tensor);
                docs.push(quote!(#[doc = ""]));
                docs.push(quote!(#[doc = #text]));
            }
            Field {
                name: p.name.clone(),
                tensor: p.tensor.clone(),
                shape: p.shape,
                docs,
            }
        })
        .collect();
    let output = match net.output {
        Sym::Input => net.input.shape,
        Sym::Target => net.target.as_ref().map_or(Shape::Scalar, |t| t.shape),
        Sym::Param(i) => net.params[i].shape,
        Sym::Let(i) => net.lets[i].value.shape,
        Sym::State(s) => net.states[s].shape,
        Sym::Row | Sym::Local(_) => unreachable!("checked: names of a loop body only"),
    };
    Api {
        attrs: net.attrs.clone(),
        vis: net.vis.clone(),
        name: net.name.clone(),
        scalar: net.scalar,
        input: net.input.shape,
        target: net.target.as_ref().map(|t| t.shape),
        output,
        fields,
        forward_doc: format!(
            "The output `{}` for one input `{}`.",
            output_name(net),
            net.input.name
        ),
        weights: net
            .weights
            .as_ref()
            .map(|w| (weights_value(net, &w.bits), Some(w.path.clone()))),
    }
}

/// The struct literal of baked-in parameters: each value as a literal of the net's
/// scalar type, which Rust reads back to the same bits, or `from_bits` where no literal
/// can say it (infinities, NaNs with their payloads).
fn weights_value(net: &Net, bits: &[u64]) -> TokenStream {
    let scalar = |b: u64| -> TokenStream {
        let (finite, negative) = match net.scalar {
            Scalar::F32 => {
                let v = f32::from_bits(b as u32);
                (v.is_finite(), v.is_sign_negative())
            }
            Scalar::F64 => {
                let v = f64::from_bits(b);
                (v.is_finite(), v.is_sign_negative())
            }
        };
        if !finite {
            return match net.scalar {
                Scalar::F32 => {
                    let b = Literal::u32_suffixed(b as u32);
                    quote!(::core::primitive::f32::from_bits(#b))
                }
                Scalar::F64 => {
                    let b = Literal::u64_suffixed(b);
                    quote!(::core::primitive::f64::from_bits(#b))
                }
            };
        }
        let magnitude = match net.scalar {
            Scalar::F32 => Literal::f32_suffixed(f32::from_bits(b as u32).abs()),
            Scalar::F64 => Literal::f64_suffixed(f64::from_bits(b).abs()),
        };
        // `-0.0` too: the negation of `0.0` is `-0.0`.
        if negative {
            quote!(-#magnitude)
        } else {
            quote!(#magnitude)
        }
    };
    let mut at = 0;
    let fields = net.params.iter().map(|p| {
        let f = format_ident!("{}", p.name);
        let n = p.shape.len();
        let values: Vec<TokenStream> = bits[at..at + n].iter().map(|b| scalar(*b)).collect();
        at += n;
        let value = match p.shape {
            Shape::Scalar => values[0].clone(),
            Shape::Vector(_) => quote!([#(#values),*]),
            Shape::Matrix(_, c) => {
                let rows = values.chunks(c).map(|r| quote!([#(#r),*]));
                quote!([#(#rows),*])
            }
        };
        quote!(#f: #value,)
    });
    quote!(Self { #(#fields)* })
}

/// `reinit`'s body: each parameter drawn from its `init`, one random stream each.
fn reinit(net: &Net) -> TokenStream {
    let inits = net.params.iter().enumerate().filter_map(|(i, p)| {
        let init = init_tokens(p.init, p.fan_in, p.fan_out)?;
        let f = format_ident!("{}", p.name);
        let slice = match p.shape {
            Shape::Scalar => quote!(::core::slice::from_mut(&mut net.#f)),
            Shape::Vector(_) => quote!(&mut net.#f[..]),
            Shape::Matrix(..) => quote!(net.#f.as_flattened_mut()),
        };
        let stream = Literal::u64_unsuffixed(i as u64);
        Some(quote!(::chainrule::__private::init_fill(#slice, #init, seed, #stream);))
    });
    quote! {
        let net = self;
        #(#inits)*
    }
}

/// An `f64` literal, negative ones as `-` and a literal so any token consumer accepts it.
fn f64_lit(v: f64) -> TokenStream {
    let mag = Literal::f64_suffixed(v.abs());
    if v.is_sign_negative() {
        quote!(-#mag)
    } else {
        quote!(#mag)
    }
}

fn init_tokens(init: Init, fan_in: usize, fan_out: usize) -> Option<TokenStream> {
    let path = quote!(::chainrule::__private::Init);
    Some(match init {
        Init::Zeros => return None,
        Init::Ones => quote!(#path::Ones),
        Init::Constant(c) => {
            let c = f64_lit(c);
            quote!(#path::Constant(#c))
        }
        Init::Uniform(lo, hi) => {
            let (lo, hi) = (f64_lit(lo), f64_lit(hi));
            quote!(#path::Uniform { lo: #lo, hi: #hi })
        }
        Init::Normal(mean, std) => {
            let (mean, std) = (f64_lit(mean), f64_lit(std));
            quote!(#path::Normal { mean: #mean, std: #std })
        }
        Init::Xavier => {
            let (fan_in, fan_out) = (lit(fan_in), lit(fan_out));
            quote!(#path::Xavier { fan_in: #fan_in, fan_out: #fan_out })
        }
        Init::He => {
            let fan_in = lit(fan_in);
            quote!(#path::He { fan_in: #fan_in })
        }
    })
}

/// An initialiser as written in the language, for docs.
fn init_name(init: Init) -> String {
    match init {
        Init::Zeros => "to zeros".into(),
        Init::Ones => "to ones".into(),
        Init::Constant(c) => format!("to {c}"),
        Init::Uniform(lo, hi) => format!("uniform on [{lo}, {hi})"),
        Init::Normal(m, s) => format!("normal with mean {m} and std {s}"),
        Init::Xavier => "with Xavier (Glorot uniform)".into(),
        Init::He => "with He (Kaiming normal)".into(),
    }
}

/// The name `output` refers to.
fn output_name(net: &Net) -> String {
    match net.output {
        Sym::Input => net.input.name.clone(),
        Sym::Target => net
            .target
            .as_ref()
            .map_or_else(String::new, |t| t.name.clone()),
        Sym::Param(i) => net.params[i].name.clone(),
        Sym::Let(i) => net.lets[i].name.clone(),
        Sym::State(s) => net.states[s].name.clone(),
        Sym::Row | Sym::Local(_) => unreachable!("checked: names of a loop body only"),
    }
}
