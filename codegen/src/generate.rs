//! Everything `network!` generates for one checked net: the struct, its inherent methods and
//! its `chainrule::Network` implementation (SPEC §3).

use chainrule_grammar::model::{Init, Net, Shape};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::diff::{differentiate, sum_terms};
use crate::docs;
use crate::emit::{Emitter, lit, shape_ty, zero_of};
use crate::ir::Id;
use crate::lower::lower;
use crate::naming::{Role, roles};
use crate::plan::{MethodSpec, Sink, cost, plan};

/// The code of one net.
pub fn generate(net: &Net) -> TokenStream {
    let mut low = lower(net);
    let g = &mut low.graph;
    // Parameter gradients are scaled by `scale` (1 in `backward`, 1/B in a batch); the
    // input gradient is the plain derivative.
    let adjoints = differentiate(g, low.loss, low.seed);
    let one = g.constant(1.0);
    let input_adjoints = differentiate(g, low.loss, one);
    let input_terms = &input_adjoints.terms[low.input.index()];
    let d_input = (!input_terms.is_empty()).then(|| sum_terms(g, input_terms));

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
    let unrolled = cost(&low.graph, &backward) <= net.unroll as u64;
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

    let body = |spec: &MethodSpec, roles: &[Role]| {
        let p = plan(&low.graph, spec, unrolled);
        let e = Emitter::new(net, &low, &p, roles);
        let (stmts, returns) = e.body(spec);
        quote! {
            #[allow(unused_imports)]
            use ::chainrule::__private::prelude::*;
            #stmts
            #(#returns)*
        }
    };
    let backward_plan = plan(&low.graph, &backward, unrolled);
    let backward_doc = docs::backward(
        net,
        &low,
        &backward,
        &backward_plan,
        &backward_roles,
        &adjoints.total,
    );

    let types = Types::new(net);
    let forward_body = body(&forward, &forward_roles);
    let loss_body = body(&loss, &forward_roles);
    let backward_body = body(&backward, &backward_roles);
    let input_gradient_body = if input_gradient.returns.is_empty() {
        // The loss does not depend on the input.
        let z = zero_of(net.scalar, net.input.shape);
        quote!(#z)
    } else {
        body(&input_gradient, &input_roles)
    };
    items(
        net,
        &types,
        Bodies {
            forward: forward_body,
            loss: loss_body,
            backward: backward_body,
            input_gradient: input_gradient_body,
            backward_doc,
        },
    )
}

/// The Rust types of one net.
struct Types {
    scalar: TokenStream,
    input: TokenStream,
    target: TokenStream,
    output: TokenStream,
}

impl Types {
    fn new(net: &Net) -> Self {
        let scalar = match net.scalar {
            chainrule_grammar::model::Scalar::F32 => quote!(::core::primitive::f32),
            chainrule_grammar::model::Scalar::F64 => quote!(::core::primitive::f64),
        };
        let ty = |s: Shape| shape_ty(&scalar, s);
        let output_shape = match net.output {
            chainrule_grammar::model::Sym::Input => net.input.shape,
            chainrule_grammar::model::Sym::Target => {
                net.target.as_ref().map_or(Shape::Scalar, |t| t.shape)
            }
            chainrule_grammar::model::Sym::Param(i) => net.params[i].shape,
            chainrule_grammar::model::Sym::Let(i) => net.lets[i].value.shape,
        };
        Self {
            input: ty(net.input.shape),
            target: net.target.as_ref().map_or(quote!(()), |t| ty(t.shape)),
            output: ty(output_shape),
            scalar,
        }
    }
}

struct Bodies {
    forward: TokenStream,
    loss: TokenStream,
    backward: TokenStream,
    input_gradient: TokenStream,
    backward_doc: String,
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

fn items(net: &Net, types: &Types, bodies: Bodies) -> TokenStream {
    let Types {
        scalar: t_ty,
        input: in_ty,
        target: tgt_ty,
        output: out_ty,
    } = types;
    let name = &net.name;
    let name_str = name.to_string();
    let vis = &net.vis;
    let attrs = &net.attrs;
    let params_total = lit(net.params.iter().map(|p| p.shape.len()).sum());

    // Fields and the struct are documented even when the user wrote no doc comment, so
    // crates with `#![deny(missing_docs)]` accept them.
    let fields = net.params.iter().map(|p| {
        let f = format_ident!("{}", p.name);
        let ty = shape_ty(t_ty, p.shape);
        let docs = if p.docs.is_empty() {
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
        quote!(#(#docs)* pub #f: #ty,)
    });
    let has_doc = net.attrs.iter().any(|a| {
        let s = a.to_string();
        s.starts_with("# [doc") || s.starts_with("#[doc")
    });
    let struct_doc = (!has_doc).then(|| {
        let text = format!(" The `{name_str}` network, generated by `chainrule::network!`.");
        quote!(#[doc = #text])
    });
    let layout = net.params.iter().map(|p| {
        let n = &p.name;
        let dims = p.shape.dims().into_iter().map(lit);
        quote!(::chainrule::ParamInfo { name: #n, shape: &[#(#dims),*] })
    });
    let zero_fields = net.params.iter().map(|p| {
        let f = format_ident!("{}", p.name);
        let z = zero_of(net.scalar, p.shape);
        quote!(#f: #z,)
    });
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
    let (as_slice, as_mut_slice) = if net.params.is_empty() {
        (quote!(&[]), quote!(&mut []))
    } else {
        (
            quote!(::chainrule::__private::flat(self)),
            quote!(::chainrule::__private::flat_mut(self)),
        )
    };

    let one = match net.scalar {
        chainrule_grammar::model::Scalar::F32 => Literal::f32_suffixed(1.0),
        chainrule_grammar::model::Scalar::F64 => Literal::f64_suffixed(1.0),
    };
    let has_target = net.target.is_some();
    let Bodies {
        forward,
        loss,
        backward,
        input_gradient,
        backward_doc,
    } = bodies;
    let input_name = &net.input.name;
    let forward_doc = format!(
        "The output `{}` for one input `{input_name}`.",
        output_name(net)
    );

    // Inherent methods take the target only when the net has one.
    let (t_param, t_arg, ts_param) = if has_target {
        (quote!(t: &#tgt_ty,), quote!(t,), quote!(ts: &[#tgt_ty],))
    } else {
        (quote!(), quote!(&(),), quote!())
    };
    let batch = if has_target {
        quote!(<Self as ::chainrule::Network>::backward_batch(
            self, xs, ts, grad
        ))
    } else {
        quote! {
            if xs.is_empty() {
                return 0.0;
            }
            let scale = #one / (xs.len() as #t_ty);
            let mut total = 0.0;
            for x in xs {
                total += <Self as ::chainrule::Network>::backward_scaled(self, x, &(), scale, grad);
            }
            total * scale
        }
    };
    let loss_batch = if has_target {
        quote! {
            pub fn loss_batch(&self, xs: &[#in_ty], ts: &[#tgt_ty]) -> #t_ty {
                <Self as ::chainrule::Network>::loss_batch(self, xs, ts)
            }
        }
    } else {
        quote! {
            pub fn loss_batch(&self, xs: &[#in_ty]) -> #t_ty {
                if xs.is_empty() {
                    return 0.0;
                }
                let mut total = 0.0;
                for x in xs {
                    total += Self::loss(self, x);
                }
                total / (xs.len() as #t_ty)
            }
        }
    };
    let loss_in_trait = if has_target {
        quote!(Self::loss(self, x, t))
    } else {
        quote!(Self::loss(self, x))
    };
    let input_gradient_in_trait = if has_target {
        quote!(Self::input_gradient(self, x, t))
    } else {
        quote!(Self::input_gradient(self, x))
    };

    // Generated bodies keep buffers `mut` for kernels that may not run and name
    // parameters a net without a target ignores; users' lints are not about them.
    let allow = quote! {
        #[allow(
            unused_mut,
            unused_variables,
            unused_parens,
            unused_braces,
            non_snake_case,
            clippy::all,
            clippy::pedantic
        )]
    };
    quote! {
        #(#attrs)*
        #struct_doc
        #[derive(
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::fmt::Debug,
            ::core::cmp::PartialEq,
            ::chainrule::__private::bytemuck::Pod,
            ::chainrule::__private::bytemuck::Zeroable,
        )]
        #[bytemuck(crate = "::chainrule::__private::bytemuck")]
        #[repr(C)]
        #vis struct #name {
            #(#fields)*
        }

        #allow
        impl #name {
            /// The total number of scalar parameters.
            pub const PARAMS: usize = #params_total;
            /// Each parameter's name and shape, in declaration order.
            pub const LAYOUT: &'static [::chainrule::ParamInfo] = &[#(#layout),*];

            /// A net with every parameter zero, also the starting value of a gradient.
            pub fn zeros() -> Self {
                Self { #(#zero_fields)* }
            }

            /// A net with each parameter drawn from its `init`; the same seed gives the
            /// same parameters on every platform. For large nets, `chainrule::boxed_new`
            /// builds one directly on the heap.
            pub fn new(seed: u64) -> Self {
                let mut net = Self::zeros();
                net.reinit(seed);
                net
            }

            /// Redraws every parameter from its `init` in place, as `new(seed)` would.
            pub fn reinit(&mut self, seed: u64) {
                let net = self;
                #(#inits)*
            }

            /// All parameters as one flat slice of length `PARAMS`, in `LAYOUT` order,
            /// each matrix row-major.
            pub fn as_slice(&self) -> &[#t_ty] {
                #as_slice
            }

            /// All parameters as one flat mutable slice, in `LAYOUT` order.
            pub fn as_mut_slice(&mut self) -> &mut [#t_ty] {
                #as_mut_slice
            }

            #[doc = #forward_doc]
            #[inline]
            pub fn forward(&self, x: &#in_ty) -> #out_ty {
                #forward
            }

            /// The loss for one sample.
            #[inline]
            pub fn loss(&self, x: &#in_ty, #t_param) -> #t_ty {
                #loss
            }

            #[doc = #backward_doc]
            #[inline]
            pub fn backward(&self, x: &#in_ty, #t_param grad: &mut Self) -> #t_ty {
                <Self as ::chainrule::Network>::backward_scaled(self, x, #t_arg #one, grad)
            }

            /// `∂loss/∂x` for one sample.
            #[inline]
            pub fn input_gradient(&self, x: &#in_ty, #t_param) -> #in_ty {
                #input_gradient
            }

            /// Writes `forward` of each input to the matching slot of `ys`; allocates
            /// nothing.
            ///
            /// # Panics
            /// If `xs` and `ys` differ in length.
            pub fn forward_batch(&self, xs: &[#in_ty], ys: &mut [#out_ty]) {
                <Self as ::chainrule::Network>::forward_batch(self, xs, ys)
            }

            /// The mean loss over the batch; zero for an empty batch. Allocates nothing.
            ///
            /// # Panics
            /// If the batch has more inputs than targets or the other way round.
            #loss_batch

            /// Adds the gradient of the mean loss over the batch to `grad` and returns that
            /// mean; allocates nothing. An empty batch adds nothing and returns zero.
            ///
            /// # Panics
            /// If the batch has more inputs than targets or the other way round.
            pub fn backward_batch(&self, xs: &[#in_ty], #ts_param grad: &mut Self) -> #t_ty {
                #batch
            }
        }

        #allow
        impl ::chainrule::Network for #name {
            type Scalar = #t_ty;
            type Input = #in_ty;
            type Target = #tgt_ty;
            type Output = #out_ty;
            const NAME: &'static str = #name_str;
            const PARAMS: usize = #params_total;
            const LAYOUT: &'static [::chainrule::ParamInfo] = Self::LAYOUT;

            fn zeros() -> Self {
                Self::zeros()
            }
            fn new(seed: u64) -> Self {
                Self::new(seed)
            }
            fn reinit(&mut self, seed: u64) {
                Self::reinit(self, seed)
            }
            fn as_slice(&self) -> &[#t_ty] {
                Self::as_slice(self)
            }
            fn as_mut_slice(&mut self) -> &mut [#t_ty] {
                Self::as_mut_slice(self)
            }
            #[inline]
            fn forward(&self, x: &#in_ty) -> #out_ty {
                Self::forward(self, x)
            }
            #[inline]
            fn loss(&self, x: &#in_ty, t: &#tgt_ty) -> #t_ty {
                #loss_in_trait
            }
            #[inline]
            fn backward_scaled(
                &self,
                x: &#in_ty,
                t: &#tgt_ty,
                scale: #t_ty,
                grad: &mut Self,
            ) -> #t_ty {
                #backward
            }
            #[inline]
            fn input_gradient(&self, x: &#in_ty, t: &#tgt_ty) -> #in_ty {
                #input_gradient_in_trait
            }
        }
    }
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
    use chainrule_grammar::model::Sym;
    match net.output {
        Sym::Input => net.input.name.clone(),
        Sym::Target => net
            .target
            .as_ref()
            .map_or_else(String::new, |t| t.name.clone()),
        Sym::Param(i) => net.params[i].name.clone(),
        Sym::Let(i) => net.lets[i].name.clone(),
    }
}
