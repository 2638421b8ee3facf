//! The generated API around the method bodies (SPEC §3): the struct, its consts,
//! constructors and signatures, and its `chainrule::Network` implementation. Checked nets
//! and the stubs of failed nets both go through [`items`], so a stub has exactly the API
//! the net would have had and one mistake does not cascade into errors at every use.

use chainrule_grammar::model::{Scalar, Shape};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::emit::{lit, shape_ty, zero_of};

/// What the signatures of a net's API need.
#[derive(Debug)]
pub struct Api {
    /// Outer attributes for the struct; its `#[cfg(..)]`s also go on every impl.
    pub attrs: Vec<TokenStream>,
    /// The visibility as written.
    pub vis: TokenStream,
    /// The net's name.
    pub name: Ident,
    /// The scalar type.
    pub scalar: Scalar,
    /// The input's shape.
    pub input: Shape,
    /// The target's shape, if any.
    pub target: Option<Shape>,
    /// The output's shape.
    pub output: Shape,
    /// The parameters, in `LAYOUT` order.
    pub fields: Vec<Field>,
    /// The rustdoc of `forward`.
    pub forward_doc: String,
}

/// One parameter as a field of the struct.
#[derive(Debug)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Its shape.
    pub shape: Shape,
    /// Its doc attributes.
    pub docs: Vec<TokenStream>,
}

/// The bodies of the methods that depend on the net's computation.
#[derive(Debug)]
pub struct Bodies {
    /// `forward`.
    pub forward: TokenStream,
    /// `loss`.
    pub loss: TokenStream,
    /// `backward_scaled`.
    pub backward: TokenStream,
    /// `input_gradient`.
    pub input_gradient: TokenStream,
    /// `reinit`, over `self` and `seed`.
    pub reinit: TokenStream,
    /// The rustdoc of `backward`.
    pub backward_doc: String,
}

impl Bodies {
    /// Bodies for a stub: it exists only next to a compile error, so they never run.
    pub fn never_run() -> Self {
        let never = quote!(::core::unreachable!(
            "`network!` reported an error for this net"
        ));
        Self {
            forward: never.clone(),
            loss: never.clone(),
            backward: never.clone(),
            input_gradient: never.clone(),
            reinit: never,
            backward_doc: " Adds `∂L/∂θ` to `grad` and returns the loss `L`.".into(),
        }
    }
}

/// The Rust types of one net.
struct Types {
    scalar: TokenStream,
    input: TokenStream,
    target: TokenStream,
    output: TokenStream,
}

impl Types {
    fn new(api: &Api) -> Self {
        let scalar = match api.scalar {
            Scalar::F32 => quote!(::core::primitive::f32),
            Scalar::F64 => quote!(::core::primitive::f64),
        };
        let ty = |s: Shape| shape_ty(&scalar, s);
        Self {
            input: ty(api.input),
            target: api.target.map_or(quote!(()), ty),
            output: ty(api.output),
            scalar,
        }
    }
}

/// The struct, its inherent methods and its `Network` implementation.
pub fn items(api: &Api, bodies: Bodies) -> TokenStream {
    let types = Types::new(api);
    let one = match api.scalar {
        Scalar::F32 => Literal::f32_suffixed(1.0),
        Scalar::F64 => Literal::f64_suffixed(1.0),
    };
    let structure = struct_item(api, &types);
    let inherent = inherent_impl(api, &types, &one, &bodies);
    let network = network_impl(api, &types, &bodies.backward);
    // A net under `#[cfg(..)]` is there or not as a whole: the struct has every attribute,
    // and each impl the `cfg`s.
    let cfgs: Vec<&TokenStream> = api.attrs.iter().filter(|a| is_cfg(a)).collect();
    quote! {
        #structure
        #(#cfgs)*
        #inherent
        #(#cfgs)*
        #network
    }
}

/// Whether an attribute is `#[cfg(..)]`.
fn is_cfg(attr: &TokenStream) -> bool {
    let mut tokens = attr.clone().into_iter();
    let group = match (tokens.next(), tokens.next()) {
        (Some(proc_macro2::TokenTree::Punct(p)), Some(proc_macro2::TokenTree::Group(g)))
            if p.as_char() == '#' =>
        {
            g
        }
        _ => return false,
    };
    matches!(
        group.stream().into_iter().next(),
        Some(proc_macro2::TokenTree::Ident(i)) if i == "cfg"
    )
}

// Generated bodies keep buffers `mut` for kernels that may not run and name parameters a
// net without a target ignores; users' lints are not about them.
fn allow_lints() -> TokenStream {
    quote! {
        #[allow(
            unused_mut,
            unused_variables,
            unused_parens,
            unused_braces,
            non_snake_case,
            clippy::all,
            clippy::pedantic
        )]
    }
}

fn params_total(api: &Api) -> Literal {
    lit(api.fields.iter().map(|p| p.shape.len()).sum())
}

/// The struct: one public field per parameter, flat-viewable through `bytemuck`.
fn struct_item(api: &Api, types: &Types) -> TokenStream {
    let (name, vis, attrs) = (&api.name, &api.vis, &api.attrs);
    // Fields and the struct are documented even when the user wrote no doc comment, so
    // crates with `#![deny(missing_docs)]` accept them.
    let fields = api.fields.iter().map(|p| {
        let f = format_ident!("{}", p.name);
        let ty = shape_ty(&types.scalar, p.shape);
        let docs = &p.docs;
        quote!(#(#docs)* pub #f: #ty,)
    });
    let has_doc = api.attrs.iter().any(|a| {
        let s = a.to_string();
        s.starts_with("# [doc") || s.starts_with("#[doc")
    });
    let struct_doc = (!has_doc).then(|| {
        let text = format!(" The `{name}` network, generated by `chainrule::network!`.");
        quote!(#[doc = #text])
    });
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
    }
}

/// The inherent methods, which take the target only when the net has one.
fn inherent_impl(api: &Api, types: &Types, one: &Literal, bodies: &Bodies) -> TokenStream {
    let Types {
        scalar: t_ty,
        input: in_ty,
        target: tgt_ty,
        output: out_ty,
    } = types;
    let name = &api.name;
    let params_total = params_total(api);
    let layout = api.fields.iter().map(|p| {
        let n = &p.name;
        let dims = p.shape.dims().into_iter().map(lit);
        quote!(::chainrule::ParamInfo { name: #n, shape: &[#(#dims),*] })
    });
    let zero_fields = api.fields.iter().map(|p| {
        let f = format_ident!("{}", p.name);
        let z = zero_of(api.scalar, p.shape);
        quote!(#f: #z,)
    });
    let (as_slice, as_mut_slice) = if api.fields.is_empty() {
        (quote!(&[]), quote!(&mut []))
    } else {
        (
            quote!(::chainrule::__private::flat(self)),
            quote!(::chainrule::__private::flat_mut(self)),
        )
    };
    let Bodies {
        forward,
        loss,
        input_gradient,
        reinit,
        backward_doc,
        ..
    } = bodies;
    let forward_doc = &api.forward_doc;
    let has_target = api.target.is_some();
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
    let allow = allow_lints();
    quote! {
        #allow
        impl #name {
            /// The total number of scalar parameters.
            pub const PARAMS: ::core::primitive::usize = #params_total;
            /// Each parameter's name and shape, in declaration order.
            pub const LAYOUT: &'static [::chainrule::ParamInfo] = &[#(#layout),*];

            /// A net with every parameter zero, also the starting value of a gradient.
            pub fn zeros() -> Self {
                Self { #(#zero_fields)* }
            }

            /// A net with each parameter drawn from its `init`; the same seed gives the
            /// same parameters on every platform. For large nets, `chainrule::boxed_new`
            /// builds one directly on the heap.
            pub fn new(seed: ::core::primitive::u64) -> Self {
                let mut net = Self::zeros();
                net.reinit(seed);
                net
            }

            /// Redraws every parameter from its `init` in place, as `new(seed)` would.
            pub fn reinit(&mut self, seed: ::core::primitive::u64) {
                #reinit
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
    }
}

/// The `chainrule::Network` implementation, delegating to the inherent methods.
fn network_impl(api: &Api, types: &Types, backward: &TokenStream) -> TokenStream {
    let (t_ty, in_ty) = (&types.scalar, &types.input);
    let (tgt_ty, out_ty) = (&types.target, &types.output);
    let name = &api.name;
    let name_str = name.to_string();
    let params_total = params_total(api);
    let loss_in_trait = if api.target.is_some() {
        quote!(Self::loss(self, x, t))
    } else {
        quote!(Self::loss(self, x))
    };
    let input_gradient_in_trait = if api.target.is_some() {
        quote!(Self::input_gradient(self, x, t))
    } else {
        quote!(Self::input_gradient(self, x))
    };

    let allow = allow_lints();
    quote! {
        #allow
        impl ::chainrule::Network for #name {
            type Scalar = #t_ty;
            type Input = #in_ty;
            type Target = #tgt_ty;
            type Output = #out_ty;
            const NAME: &'static ::core::primitive::str = #name_str;
            const PARAMS: ::core::primitive::usize = #params_total;
            const LAYOUT: &'static [::chainrule::ParamInfo] = Self::LAYOUT;

            fn zeros() -> Self {
                Self::zeros()
            }
            fn new(seed: ::core::primitive::u64) -> Self {
                Self::new(seed)
            }
            fn reinit(&mut self, seed: ::core::primitive::u64) {
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
