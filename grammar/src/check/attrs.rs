//! Attributes and initialisers: `#[scalar]` and `#[chainrule]` on a net, doc comments
//! only on statements, attributes passed through to the struct, `= init`, and the fans
//! `xavier` and `he` read.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::TokenStream;

use crate::ast::{self, AttrKind, Span};
use crate::diag::Ctxt;
use crate::model::{self, Init, Scalar, Sym};
use crate::source::Source;

use super::dense::{Kind, ParamInit, Stmt};
use super::expr::Sh;
use super::literals::{integer, number};
use super::scope::{Scope, closest, did_you_mean};

/// The initialisers, for messages.
pub(super) const INITS: &[&str] = &[
    "zeros", "ones", "constant", "uniform", "normal", "xavier", "he",
];

/// An initialiser. Rejects: `glorot` (unknown), `uniform(1)` (arity), `xavier()`,
/// `uniform(1, -1)` (empty range), `normal(0, -1)` (negative deviation).
pub(super) fn init(cx: &Ctxt, i: Option<&ast::Init>) -> Option<Init> {
    let Some(i) = i else { return Some(Init::Zeros) };
    let name = i.name.text.as_str();
    let want = match name {
        "zeros" | "ones" | "xavier" | "he" => 0,
        "constant" => 1,
        "uniform" | "normal" => 2,
        _ => {
            let hint = match name {
                "glorot" | "glorot_uniform" | "xavier_uniform" => {
                    "; did you mean `xavier`?".to_string()
                }
                "kaiming" | "kaiming_normal" | "he_normal" => "; did you mean `he`?".to_string(),
                "randn" | "gaussian" => "; did you mean `normal(mean, std)`?".to_string(),
                "rand" => "; did you mean `uniform(lo, hi)`?".to_string(),
                "const" | "fill" => "; did you mean `constant(c)`?".to_string(),
                _ => did_you_mean(name, INITS.iter().copied()),
            };
            let list = "`zeros`, `ones`, `constant(c)`, `uniform(lo, hi)`, `normal(mean, std)`, `xavier` and `he`";
            let msg = if hint.is_empty() {
                format!("unknown initialiser `{name}`; the initialisers are {list}")
            } else {
                format!("unknown initialiser `{name}`{hint} The initialisers are {list}")
            };
            cx.error(&i.name.span, msg);
            return None;
        }
    };
    let args = i.args.as_deref().unwrap_or(&[]);
    let usage = match name {
        "constant" => "`constant(c)`",
        "uniform" => "`uniform(lo, hi)`",
        "normal" => "`normal(mean, std)`",
        _ => "",
    };
    if want == 0 && i.args.is_some() {
        cx.error(
            &i.span,
            format!("`{name}` takes no arguments; write `{name}`"),
        );
        return None;
    }
    if want > 0 && args.len() != want {
        cx.error(
            &i.span,
            format!(
                "`{name}` takes {want} argument{}: {usage}",
                if want == 1 { "" } else { "s" }
            ),
        );
        return None;
    }
    let mut vals = Vec::new();
    for a in args {
        let v = number(cx, &a.number)?;
        vals.push(if a.negative { -v } else { v });
    }
    let (a, b) = (
        vals.first().copied().unwrap_or(0.0),
        vals.get(1).copied().unwrap_or(0.0),
    );
    Some(match name {
        "zeros" => Init::Zeros,
        "ones" => Init::Ones,
        "xavier" => Init::Xavier,
        "he" => Init::He,
        "constant" => Init::Constant(a),
        "uniform" => {
            if a > b {
                cx.error(
                    &i.span,
                    format!("`uniform(lo, hi)` needs `lo <= hi`, but {a} > {b}"),
                );
                return None;
            }
            Init::Uniform(a, b)
        }
        _ => {
            if b < 0.0 {
                cx.error(
                    &i.span,
                    format!("`normal(mean, std)` needs `std >= 0`, but it is {b}"),
                );
                return None;
            }
            Init::Normal(a, b)
        }
    })
}

// ---------------------------------------------------------------------------- attributes

/// Attributes copied onto the generated struct: doc comments and every other attribute
/// but `#[scalar]`/`#[chainrule]` and those refused by [`net_attrs`] (a `#[cfg(..)]` also
/// goes on every impl, in code generation).
pub(super) fn passthrough_attrs(attrs: &[ast::Attr], src: &Source) -> Vec<TokenStream> {
    attrs
        .iter()
        .filter(|a| match &a.kind {
            AttrKind::Doc | AttrKind::Other(_) => attr_problem(&src.tokens_in(&a.span)).is_none(),
            _ => false,
        })
        .map(|a| src.tokens_in(&a.span))
        .collect()
}

/// What the struct derives itself: a user's derive of one of these would conflict.
const DERIVED: &[&str] = &["Clone", "Copy", "Debug", "PartialEq", "Pod", "Zeroable"];

/// Reports the attributes of a net that cannot go on what it generates (see
/// [`attr_problem`]). Rejects: `#[repr(packed)]`, `#[derive(Clone)]`, `#[cfg]`,
/// `#[allow = 3 +]`.
pub(super) fn net_attrs(cx: &Ctxt, attrs: &[ast::Attr], src: &Source) {
    for a in attrs {
        if let AttrKind::Doc | AttrKind::Other(_) = a.kind
            && let Some(msg) = attr_problem(&src.tokens_in(&a.span))
        {
            cx.error(&a.span, msg);
        }
    }
}

/// Why an attribute (its tokens, `#[..]`) cannot go on a net, if it cannot: it is not a
/// well-formed attribute; a `#[repr(..)]`, since the struct is `#[repr(C)]` for its flat
/// parameter view; a derive of a trait the struct derives itself; or a `#[cfg]` without a
/// predicate.
fn attr_problem(tokens: &TokenStream) -> Option<String> {
    use syn::parse::Parser as _;
    let parsed = syn::Attribute::parse_outer.parse2(tokens.clone());
    let attr = match parsed.as_deref() {
        Ok([attr]) => attr,
        Ok(_) => {
            return Some(
                "this attribute is malformed; write one `#[..]`, like `#[allow(dead_code)]`".into(),
            );
        }
        Err(e) => {
            return Some(format!(
                "this attribute is malformed ({e}); write it as Rust does, like `#[allow(dead_code)]` or `#[cfg(feature = \"nets\")]`"
            ));
        }
    };
    let path = attr.path();
    if path.is_ident("repr") {
        return Some(
            "`#[repr(..)]` cannot go on a net: the generated struct is `#[repr(C)]`, which its flat parameter view (`as_slice`, bytemuck's `Pod`) relies on; remove it".into(),
        );
    }
    if path.is_ident("cfg") {
        return match attr.parse_args::<syn::Meta>() {
            Ok(_) => None,
            Err(_) => Some(
                "`#[cfg]` needs one predicate, like `#[cfg(feature = \"nets\")]`; it then applies to the struct and every impl of the net".into(),
            ),
        };
    }
    if path.is_ident("derive") {
        let paths = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        );
        let Ok(paths) = paths else {
            return Some(
                "this `#[derive(..)]` is malformed; list traits, like `#[derive(Default)]`".into(),
            );
        };
        for p in &paths {
            let Some(last) = p.segments.last() else {
                continue;
            };
            let trait_name = last.ident.to_string();
            if DERIVED.contains(&trait_name.as_str()) {
                return Some(format!(
                    "`{trait_name}` is already derived: the generated struct derives `Clone`, `Copy`, `Debug`, `PartialEq` and bytemuck's `Pod` and `Zeroable`; remove `{trait_name}` from this `#[derive(..)]`"
                ));
            }
        }
    }
    None
}

/// The net's visibility as written, for the struct.
pub(super) fn vis(net: &ast::Net, src: &Source) -> TokenStream {
    net.vis
        .as_ref()
        .map(|v| src.tokens_in(v))
        .unwrap_or_default()
}

/// What `#[scalar]` and `#[chainrule]` set.
pub(super) struct Settings {
    pub(super) scalar: Scalar,
    /// Whether `scalar` is what the user meant: no unknown or repeated `#[scalar]`.
    pub(super) scalar_known: bool,
    pub(super) unroll: usize,
    pub(super) max_size: u64,
    pub(super) chunk: Option<usize>,
    /// `#[weights("..")]`: the file's path as written, and the literal.
    pub(super) weights: Option<(String, Span)>,
}

const SETTINGS: &[&str] = &["chunk", "max_size", "unroll"];

/// Reads `#[scalar(..)]` and `#[chainrule(..)]`. Rejects: `#[scalar(f16)]`, a second
/// `#[scalar]`, `#[chainrule(unrol = 8)]`, `#[chainrule(unroll = 99999999)]`,
/// `#[chainrule(chunk = 0)]`.
pub(super) fn settings(cx: &Ctxt, attrs: &[ast::Attr]) -> Settings {
    let mut out = Settings {
        scalar: Scalar::F32,
        scalar_known: true,
        unroll: model::DEFAULT_UNROLL,
        max_size: model::DEFAULT_MAX_SIZE,
        chunk: None,
        weights: None,
    };
    let mut seen_scalar = false;
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for a in attrs {
        match &a.kind {
            AttrKind::Scalar(ty) => {
                if seen_scalar {
                    cx.error(&a.span, "`#[scalar(..)]` is given twice");
                    out.scalar_known = false;
                }
                seen_scalar = true;
                match ty.text.as_str() {
                    "f32" => out.scalar = Scalar::F32,
                    "f64" => out.scalar = Scalar::F64,
                    other => {
                        cx.error(
                            &ty.span,
                            format!("unknown scalar type `{other}`; use `#[scalar(f32)]` or `#[scalar(f64)]`"),
                        );
                        out.scalar_known = false;
                    }
                }
            }
            AttrKind::Chainrule(list) => {
                for s in list {
                    let key = s.key.text.as_str();
                    if !SETTINGS.contains(&key) {
                        cx.error(
                            &s.key.span,
                            match closest(key, SETTINGS.iter().copied()) {
                                Some(c) => format!(
                                    "unknown setting `{key}` in `#[chainrule(..)]`; did you mean `{c}`? The known settings are `chunk`, `max_size` and `unroll`"
                                ),
                                None => format!(
                                    "unknown setting `{key}` in `#[chainrule(..)]`; the known settings are `chunk`, `max_size` and `unroll`"
                                ),
                            },
                        );
                        continue;
                    }
                    if !seen.insert(key.to_string()) {
                        cx.error(&s.key.span, format!("`{key}` is set twice"));
                        continue;
                    }
                    let Some(v) = integer(cx, &s.value, &format!("`{key}`")) else {
                        continue;
                    };
                    if key == "chunk" {
                        // Every batched method keeps `chunk` samples' values on the stack.
                        match usize::try_from(v) {
                            Ok(v) if (1..=model::MAX_CHUNK).contains(&v) => out.chunk = Some(v),
                            _ => cx.error(
                                &s.value.span,
                                format!(
                                    "`chunk` is the number of samples the batched methods run at once, from 1 (one at a time) to {}, not {v}",
                                    model::MAX_CHUNK
                                ),
                            ),
                        }
                    } else if key == "unroll" {
                        // Beyond this, unrolled code makes compile times explode.
                        match usize::try_from(v) {
                            Ok(v) if v <= model::MAX_UNROLL => out.unroll = v,
                            _ => cx.error(
                                &s.value.span,
                                format!("`unroll` can be at most {}, not {v}", model::MAX_UNROLL),
                            ),
                        }
                    } else if v == 0 {
                        cx.error(&s.value.span, "`max_size` must be at least 1");
                    } else if v > model::MAX_MAX_SIZE {
                        // Dimensions and indices are 32-bit in generated code's IR; a
                        // net within this limit has none larger.
                        cx.error(
                            &s.value.span,
                            format!(
                                "`max_size` can be at most {} (2^32 - 1, so that every dimension and index fits in 32 bits), not {v}",
                                model::MAX_MAX_SIZE
                            ),
                        );
                    } else {
                        out.max_size = v;
                    }
                }
            }
            AttrKind::Weights(lit) => match (&lit.value, &out.weights) {
                (_, Some(_)) => cx.error(&a.span, "`#[weights(..)]` is given twice"),
                (Some(path), None) if !path.is_empty() => {
                    out.weights = Some((path.clone(), lit.span.clone()));
                }
                _ => cx.error(
                    &lit.span,
                    "`#[weights(..)]` takes the path of a safetensors file as a string, relative to the crate's `Cargo.toml`, like `#[weights(\"model.safetensors\")]`",
                ),
            },
            AttrKind::Tensor(_) => cx.error(
                &a.span,
                "`#[tensor(..)]` names a parameter's tensor: it goes on a `param`, or on a layer's `let` (`dense`, `rnn`, `gru`, `lstm`), not on the `net`",
            ),
            AttrKind::Doc | AttrKind::Other(_) => {}
        }
    }
    out
}

/// Statements and shared `fn`s (`place`: "a statement", "a shared `fn`") take doc
/// comments only: there is nothing for other attributes to apply to.
/// Rejects: `#[allow(unused)] let h = x;`, `#[scalar(f64)] input x: [2];`,
/// `#[inline] fn f(z) = z;`. A statement that declares parameters (`tensor_ok`) also
/// takes one `#[tensor("..")]`, read by [`tensor_attr`].
pub(super) fn doc_comments_only(
    cx: &Ctxt,
    attrs: &[ast::Attr],
    place: &str,
    src: &Source,
    tensor_ok: bool,
) {
    let mut tensors = 0;
    for a in attrs {
        let msg = match &a.kind {
            AttrKind::Tensor(_) if tensor_ok => {
                tensors += 1;
                match tensor_attr(attrs) {
                    Some(Ok(_)) if tensors == 1 => continue,
                    Some(Err(span)) if tensors == 1 => {
                        cx.error(
                            &span,
                            "`#[tensor(..)]` takes the tensor's name as a non-empty string, like `#[tensor(\"fc1.weight\")]`",
                        );
                        continue;
                    }
                    _ => "`#[tensor(..)]` is given twice".to_string(),
                }
            }
            AttrKind::Tensor(_) => format!(
                "`#[tensor(..)]` names a parameter's tensor: it goes on a `param`, or on a layer's `let` (`dense`, `rnn`, `gru`, `lstm`), not on {place} that declares no parameter"
            ),
            AttrKind::Weights(_) => {
                format!("`#[weights(..)]` goes on the `net`, not on {place}")
            }
            // A doc attribute is copied onto a field, so it must be well-formed.
            AttrKind::Doc => match attr_problem(&src.tokens_in(&a.span)) {
                Some(msg) => msg,
                None => continue,
            },
            AttrKind::Scalar(_) => format!("`#[scalar(..)]` goes on the `net`, not on {place}"),
            AttrKind::Chainrule(_) => {
                format!("`#[chainrule(..)]` goes on the `net`, not on {place}")
            }
            AttrKind::Other(p) => format!(
                "`#[{}]` cannot go on {place}; only doc comments are allowed there",
                p.text
            ),
        };
        cx.error(&a.span, msg);
    }
}

/// The first `#[tensor("..")]` among a statement's attributes: its name and span, or the
/// span of a literal that names nothing (empty, or a byte string).
pub(super) fn tensor_attr(attrs: &[ast::Attr]) -> Option<Result<(String, Span), Span>> {
    attrs.iter().find_map(|a| match &a.kind {
        AttrKind::Tensor(lit) => Some(match &lit.value {
            Some(v) if !v.is_empty() => Ok((v.clone(), a.span.clone())),
            _ => Err(lit.span.clone()),
        }),
        _ => None,
    })
}

/// Every parameter's tensor name (its `#[tensor]`'s, or its own name) is unique, so a
/// safetensors file can hold them all. Rejects: `#[tensor("b")] param a: [2]; param b:
/// [2];`, and a `dense` under `#[tensor("fc")]` next to a `param` named `fc.weight`.
pub(super) fn unique_tensor_names(cx: &Ctxt, scope: &Scope) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for p in &scope.params {
        let tensor = p
            .tensor
            .as_ref()
            .map_or(p.name.as_str(), |(t, _)| t.as_str());
        if let Some(other) = seen.insert(tensor, &p.name) {
            // Only a `#[tensor]` can make a name meet another; point at it.
            let at = p.tensor.as_ref().map(|(_, s)| s).or_else(|| {
                let first = scope.params.iter().find(|q| q.name == other)?;
                first.tensor.as_ref().map(|(_, s)| s)
            });
            if let Some(at) = at {
                cx.error(
                    at,
                    format!(
                        "tensor name `{tensor}` is given to both `{other}` and `{}`; each tensor of a safetensors file needs a name of its own",
                        p.name
                    ),
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------- inits

/// Every parameter's initialiser: as written (zeros when absent), or a layer's.
pub(super) fn inits(cx: &Ctxt, stmts: &[Stmt], scope: &mut Scope) {
    for (pos, stmt) in stmts.iter().enumerate() {
        let Kind::Param { name, init: i, .. } = &stmt.kind else {
            continue;
        };
        let value = match i {
            ParamInit::Written(i) => init(cx, *i),
            ParamInit::Layer(i) => Some(*i),
        };
        let owner = scope.decls.by_name.get(&name.text).filter(|d| d.pos == pos);
        if let Some(Sym::Param(p)) = owner.and_then(|d| d.sym)
            && let Some(param) = scope.params.get_mut(p)
        {
            param.init = value;
        }
    }
}

/// The side of `@` a parameter matrix is first used on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    /// `w @ x`.
    Left,
    /// `x @ w`.
    Right,
}

/// A parameter's `(fan_in, fan_out)` for `xavier` and `he`: a matrix `[r, c]` first used
/// as `w @ x` (or never in `@`) maps `c` inputs to `r` outputs, one used as `x @ w` maps
/// `r` to `c`; a vector `[n]` is `n`/`n` and a scalar `1`/`1`.
pub(super) fn fans(sh: Sh, first: Option<Side>) -> (u64, u64) {
    match (sh, first) {
        (Sh::M(r, c), Some(Side::Right)) => (r, c),
        (Sh::M(r, c), _) => (c, r),
        (Sh::V(n), _) => (n, n),
        (Sh::S, _) => (1, 1),
    }
}
