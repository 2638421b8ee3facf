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
    /// `#[weights("..")]`: the `WEIGHTS` constant's value and the file it was read from
    /// (`None` in a stub, whose `WEIGHTS` is zeros).
    pub weights: Option<(TokenStream, Option<String>)>,
}

/// One parameter as a field of the struct.
#[derive(Debug)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Its tensor name in safetensors files.
    pub tensor: String,
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
    /// The batched methods.
    pub batch: BatchBodies,
    /// Private helper methods: the step functions of the net's loops.
    pub helpers: TokenStream,
    /// The streaming API, for a net whose output is a causal per-step sequence.
    pub stream: Option<Stream>,
}

/// `initial_state` and `step`, and the struct of states they carry.
#[derive(Debug)]
pub struct Stream {
    /// The state struct's fields, in the order the loops run.
    pub fields: Vec<StateField>,
    /// The type of one input row.
    pub row: TokenStream,
    /// The type of one output row.
    pub out: TokenStream,
    /// `step`'s body, over `self`, `state` and `x`.
    pub body: TokenStream,
}

/// One carried state in the streaming state struct.
#[derive(Debug)]
pub struct StateField {
    /// The field.
    pub name: Ident,
    /// Its doc comment.
    pub doc: String,
    /// Its type.
    pub ty: TokenStream,
    /// Its value before the first step, over `self`.
    pub init: TokenStream,
}

/// One batched method's code: what the samples share, then each chunk of samples
/// `__xs` (and `__ts`), then the shared gradient terms.
#[derive(Debug)]
pub struct Batched {
    /// The statements computing what the samples share, once.
    pub shared: TokenStream,
    /// The statements computing one chunk.
    pub stmts: TokenStream,
    /// The gradient terms the samples share, added once for the batch.
    pub after: TokenStream,
    /// Sample `__b`'s result, read after `stmts`: its output, or its loss.
    pub value: TokenStream,
    /// Bytes of the buffers the statements declare.
    pub stack: usize,
}

/// `forward_batch`, `loss_batch` and `backward_batch`: chunks of samples through
/// matrix–matrix kernels, or (where a method is `None`) one sample at a time.
#[derive(Debug)]
pub struct BatchBodies {
    /// Samples per chunk; 1 when every method runs per sample.
    pub chunk: usize,
    /// `forward_batch`.
    pub forward: Option<Batched>,
    /// `loss_batch`.
    pub loss: Option<Batched>,
    /// `backward_batch`.
    pub backward: Option<Batched>,
}

impl BatchBodies {
    /// Every batched method runs the per-sample code for each sample.
    pub fn per_sample() -> Self {
        Self {
            chunk: 1,
            forward: None,
            loss: None,
            backward: None,
        }
    }
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
            batch: BatchBodies::per_sample(),
            helpers: TokenStream::new(),
            stream: None,
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
    let stream = bodies.stream.as_ref().map(|s| stream_items(api, &cfgs, s));
    let weights = api.weights.as_ref().map(|w| weights_items(api, &cfgs, w));
    quote! {
        #structure
        #weights
        #(#cfgs)*
        #inherent
        #(#cfgs)*
        #network
        #stream
    }
}

/// The `WEIGHTS` constant of a net with `#[weights("..")]`, and the `include_bytes!` of its
/// file, which makes Cargo rebuild the crate when the file changes (a constant no code
/// reads is not in the binary).
fn weights_items(
    api: &Api,
    cfgs: &[&TokenStream],
    (value, path): &(TokenStream, Option<String>),
) -> TokenStream {
    let name = &api.name;
    let (doc, track) = match path {
        Some(path) => (
            format!(
                " The parameters read from `{path}` when the crate compiled, bit for bit. \
                 `static NET: {name} = {name}::WEIGHTS;` keeps them in read-only memory \
                 (flash on a microcontroller), with no file and no heap at run time."
            ),
            quote!(
                const _: &[::core::primitive::u8] = ::core::include_bytes!(#path);
            ),
        ),
        None => (" The baked-in parameters.".to_string(), quote!()),
    };
    let allow = allow_lints();
    let track = (!track.is_empty()).then(|| quote!(#(#cfgs)* #track));
    quote! {
        #track
        #(#cfgs)*
        #allow
        impl #name {
            #[doc = #doc]
            pub const WEIGHTS: Self = #value;
        }
    }
}

/// `{Net}State`, the inherent `initial_state` and `step`, and `chainrule::Streaming`.
fn stream_items(api: &Api, cfgs: &[&TokenStream], stream: &Stream) -> TokenStream {
    let (name, vis) = (&api.name, &api.vis);
    let state = format_ident!("{}State", name);
    let Stream {
        fields,
        row,
        out,
        body,
    } = stream;
    let decls = fields.iter().map(|f| {
        let (n, ty, doc) = (&f.name, &f.ty, &f.doc);
        quote!(#[doc = #doc] pub #n: #ty,)
    });
    let inits = fields.iter().map(|f| {
        let (n, init) = (&f.name, &f.init);
        quote!(#n: #init,)
    });
    let struct_doc =
        format!(" The carried states of [`{name}`]'s loops between calls of [`{name}::step`].");
    let allow = allow_lints();
    quote! {
        #(#cfgs)*
        #[doc = #struct_doc]
        #[derive(
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::fmt::Debug,
            ::core::cmp::PartialEq,
        )]
        #vis struct #state {
            #(#decls)*
        }
        #(#cfgs)*
        #allow
        impl #name {
            /// The states before the first step, as `forward` starts them.
            pub fn initial_state(&self) -> #state {
                #state { #(#inits)* }
            }
            /// One step of the sequence `forward` runs: updates `state` from the input row
            /// `x` and returns the output row. Row by row from [`Self::initial_state`], the
            /// rows are exactly `forward`'s.
            pub fn step(&self, state: &mut #state, x: &#row) -> #out {
                #body
            }
        }
        #(#cfgs)*
        impl ::chainrule::Streaming for #name {
            type State = #state;
            type Row = #row;
            type Out = #out;
            fn initial_state(&self) -> #state {
                #name::initial_state(self)
            }
            fn step(&self, state: &mut #state, x: &#row) -> #out {
                #name::step(self, state, x)
            }
        }
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
    let (t_param, t_arg) = if has_target {
        (quote!(t: &#tgt_ty,), quote!(t,))
    } else {
        (quote!(), quote!(&(),))
    };
    let tensors = api.fields.iter().map(|p| &p.tensor);
    let batch = batch_methods(api, types, one, &bodies.batch);
    let helpers = &bodies.helpers;
    let chunk = lit(bodies.batch.chunk);
    let allow = allow_lints();
    quote! {
        #allow
        impl #name {
            /// The total number of scalar parameters.
            pub const PARAMS: ::core::primitive::usize = #params_total;
            /// Each parameter's name and shape, in declaration order.
            pub const LAYOUT: &'static [::chainrule::ParamInfo] = &[#(#layout),*];
            /// Each parameter's tensor name in safetensors files, in `LAYOUT` order: the
            /// name given by `#[tensor("..")]`, else the parameter's own.
            pub const TENSOR_NAMES: &'static [&'static ::core::primitive::str] = &[#(#tensors),*];
            /// Samples the batched methods run at once through matrix–matrix kernels; 1
            /// when they run the per-sample code for each sample.
            pub const CHUNK: ::core::primitive::usize = #chunk;

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

            #batch

            #helpers
        }
    }
}

/// The batched methods: `forward_batch`, `loss_batch`, `backward_batch`, and the private
/// sums the `Network` implementation also calls.
fn batch_methods(api: &Api, types: &Types, one: &Literal, batch: &BatchBodies) -> TokenStream {
    let Types {
        scalar: t_ty,
        input: in_ty,
        target: tgt_ty,
        output: out_ty,
    } = types;
    let has_target = api.target.is_some();
    let (ts_param, ts_arg) = if has_target {
        (quote!(ts: &[#tgt_ty],), quote!(ts,))
    } else {
        (quote!(), quote!())
    };
    let c = lit(batch.chunk);
    let prelude = quote! {
        #[allow(unused_imports)]
        use ::chainrule::__private::prelude::*;
    };
    // The chunks of the batch, with the samples' targets where the net has them.
    let chunks = if has_target {
        quote!((__xs, __ts) in xs.chunks(#c).zip(ts.chunks(#c)))
    } else {
        quote!(__xs in xs.chunks(#c))
    };
    let samples = if has_target {
        quote!((x, t) in xs.iter().zip(ts))
    } else {
        quote!(x in xs)
    };
    let (t_arg, t_loss) = if has_target {
        (quote!(t,), quote!(, t))
    } else {
        (quote!(&(),), quote!())
    };
    let doc = |b: &Option<Batched>| match b {
        Some(b) => format!(
            " Runs chunks of {} samples through matrix–matrix kernels, with {} bytes of buffers on the stack.",
            batch.chunk, b.stack
        ),
        None => " Runs the per-sample code for each sample.".to_string(),
    };
    let (forward_doc, loss_doc, backward_doc) =
        (doc(&batch.forward), doc(&batch.loss), doc(&batch.backward));
    let forward = match &batch.forward {
        Some(Batched {
            shared,
            stmts,
            value,
            ..
        }) => quote! {
            #prelude
            #shared
            for (__xs, __ys) in xs.chunks(#c).zip(ys.chunks_mut(#c)) {
                let __n = __xs.len();
                #stmts
                for __b in 0..__n {
                    __ys[__b] = #value;
                }
            }
        },
        None => quote! {
            for (x, y) in xs.iter().zip(ys.iter_mut()) {
                *y = Self::forward(self, x);
            }
        },
    };
    let loss_sum = match &batch.loss {
        Some(Batched {
            shared,
            stmts,
            after,
            value,
            ..
        }) => quote! {
            #prelude
            #shared
            for #chunks {
                let __n = __xs.len();
                #stmts
                for __b in 0..__n {
                    __total += (#value) as ::core::primitive::f64;
                }
            }
            #after
        },
        None => quote! {
            for #samples {
                __total += Self::loss(self, x #t_loss) as ::core::primitive::f64;
            }
        },
    };
    let backward_sum = match &batch.backward {
        Some(Batched {
            shared,
            stmts,
            after,
            value,
            ..
        }) => quote! {
            #prelude
            #shared
            for #chunks {
                let __n = __xs.len();
                #stmts
                for __b in 0..__n {
                    __total += (#value) as ::core::primitive::f64;
                }
            }
            #after
        },
        None => quote! {
            for #samples {
                __total += <Self as ::chainrule::Network>::backward_scaled(self, x, #t_arg scale, grad)
                    as ::core::primitive::f64;
            }
        },
    };
    let check_ts = |method: &str| {
        let message = format!("{method}: {{}} inputs but {{}} targets");
        has_target
            .then(|| quote!(::core::assert_eq!(xs.len(), ts.len(), #message, xs.len(), ts.len());))
    };
    let (check_loss, check_backward) = (check_ts("loss_batch"), check_ts("backward_batch"));
    quote! {
        #[doc = " Writes `forward` of each input to the matching slot of `ys`; allocates"]
        #[doc = " nothing."]
        #[doc = ""]
        #[doc = #forward_doc]
        #[doc = ""]
        #[doc = " # Panics"]
        #[doc = " If `xs` and `ys` differ in length."]
        pub fn forward_batch(&self, xs: &[#in_ty], ys: &mut [#out_ty]) {
            ::core::assert_eq!(
                xs.len(),
                ys.len(),
                "forward_batch: {} inputs but {} output slots",
                xs.len(),
                ys.len()
            );
            #forward
        }

        #[doc = " The mean loss over the batch; zero for an empty batch. Allocates nothing."]
        #[doc = ""]
        #[doc = #loss_doc]
        #[doc = ""]
        #[doc = " # Panics"]
        #[doc = " If the batch has more inputs than targets or the other way round."]
        pub fn loss_batch(&self, xs: &[#in_ty], #ts_param) -> #t_ty {
            #check_loss
            if xs.is_empty() {
                return 0.0;
            }
            (Self::__loss_sum(self, xs, #ts_arg) / (xs.len() as ::core::primitive::f64)) as #t_ty
        }

        #[doc = " Adds the gradient of the mean loss over the batch to `grad` and returns that"]
        #[doc = " mean; allocates nothing. An empty batch adds nothing and returns zero."]
        #[doc = ""]
        #[doc = #backward_doc]
        #[doc = ""]
        #[doc = " # Panics"]
        #[doc = " If the batch has more inputs than targets or the other way round."]
        pub fn backward_batch(&self, xs: &[#in_ty], #ts_param grad: &mut Self) -> #t_ty {
            #check_backward
            if xs.is_empty() {
                return 0.0;
            }
            let scale = #one / (xs.len() as #t_ty);
            Self::__backward_sum(self, xs, #ts_arg scale, grad) * scale
        }

        /// The sum of the losses of the samples, added in `f64` so a large batch of `f32`
        /// losses keeps its precision.
        fn __loss_sum(&self, xs: &[#in_ty], #ts_param) -> ::core::primitive::f64 {
            let mut __total: ::core::primitive::f64 = 0.0;
            #loss_sum
            __total
        }

        /// Adds `scale · Σ ∂loss/∂θ` over the samples to `grad` and returns the sum of
        /// their losses.
        fn __backward_sum(&self, xs: &[#in_ty], #ts_param scale: #t_ty, grad: &mut Self) -> #t_ty {
            let mut __total: ::core::primitive::f64 = 0.0;
            #backward_sum
            __total as #t_ty
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
    // A net without a target takes `ts: &[()]` here, of the batch's length.
    let check_lengths = |method: &str| {
        let message = format!("{method}: {{}} inputs but {{}} targets");
        quote!(::core::assert_eq!(xs.len(), ts.len(), #message, xs.len(), ts.len());)
    };
    let (loss_batch_in_trait, backward_batch_in_trait, ts_arg) = if api.target.is_some() {
        (
            quote!(Self::loss_batch(self, xs, ts)),
            quote!(Self::backward_batch(self, xs, ts, grad)),
            quote!(ts,),
        )
    } else {
        let (lc, bc) = (check_lengths("loss_batch"), check_lengths("backward_batch"));
        (
            quote!(#lc Self::loss_batch(self, xs)),
            quote!(#bc Self::backward_batch(self, xs, grad)),
            quote!(),
        )
    };
    let check_lengths = check_lengths("backward_batch");

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
            const CHUNK: ::core::primitive::usize = Self::CHUNK;

            fn tensor_name(index: ::core::primitive::usize) -> &'static ::core::primitive::str {
                Self::TENSOR_NAMES[index]
            }

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
            fn forward_batch(&self, xs: &[#in_ty], ys: &mut [#out_ty]) {
                Self::forward_batch(self, xs, ys)
            }
            fn loss_batch(&self, xs: &[#in_ty], ts: &[#tgt_ty]) -> #t_ty {
                #loss_batch_in_trait
            }
            fn backward_batch_scaled(
                &self,
                xs: &[#in_ty],
                ts: &[#tgt_ty],
                scale: #t_ty,
                grad: &mut Self,
            ) -> #t_ty {
                #check_lengths
                Self::__backward_sum(self, xs, #ts_arg scale, grad)
            }
            fn backward_batch(&self, xs: &[#in_ty], ts: &[#tgt_ty], grad: &mut Self) -> #t_ty {
                #backward_batch_in_trait
            }
        }
    }
}
