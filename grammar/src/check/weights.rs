//! `#[weights("model.safetensors")]`: the parameters read from a safetensors file while
//! the macro runs, checked against the net's `LAYOUT` and tensor names, for the generated
//! `WEIGHTS` constant.
//!
//! The path is relative to the directory of the crate's `Cargo.toml`
//! (`CARGO_MANIFEST_DIR`, which Cargo sets for the compiler; the current directory when
//! it is not set). Each parameter is the tensor of its tensor name (`#[tensor("..")]`, or
//! its own name), of its shape, in the net's scalar type: `F32` for an `f32` net, `F64`
//! for an `f64` one; `F16` and `BF16` are widened exactly. A missing tensor, an extra
//! one, a wrong shape or another dtype is an error at the attribute.

use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use crate::ast::Span;
use crate::diag::Ctxt;
use crate::model::{Baked, Net, Scalar};

/// The net's parameters from the file at `path`, or `None` after reporting why not.
pub(super) fn bake(cx: &Ctxt, path: &str, span: &Span, net: &Net) -> Option<Baked> {
    let file = resolve(path);
    // Messages name the path as written: the absolute one differs from machine to machine.
    let shown = path;
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) => {
            cx.error(
                span,
                format!("cannot read the weights file `{shown}`: {e}; a relative path starts at the directory of the crate's `Cargo.toml`"),
            );
            return None;
        }
    };
    let tensors = match SafeTensors::deserialize(&bytes) {
        Ok(t) => t,
        Err(e) => {
            cx.error(span, format!("`{shown}` is not a safetensors file: {e}"));
            return None;
        }
    };
    let mut problems = Vec::new();
    let mut bits = Vec::new();
    for p in &net.params {
        let Ok(t) = tensors.tensor(&p.tensor) else {
            problems.push(format!(
                "tensor `{}` (parameter `{}`, {}) is missing",
                p.tensor, p.name, p.shape
            ));
            continue;
        };
        let want: Vec<usize> = p.shape.dims();
        if t.shape() != want.as_slice() {
            problems.push(format!(
                "tensor `{}` is {:?} in the file but parameter `{}` is {}",
                p.tensor,
                t.shape(),
                p.name,
                p.shape
            ));
            continue;
        }
        match widen(t.dtype(), t.data(), net.scalar) {
            Some(values) => bits.extend(values),
            None => problems.push(format!(
                "tensor `{}` is {:?} but the net computes in {}; store it as {} (or F16/BF16), or change the net's `#[scalar(..)]`",
                p.tensor,
                t.dtype(),
                scalar_name(net.scalar),
                dtype_name(net.scalar)
            )),
        }
    }
    let mut extra: Vec<&str> = (tensors.names().into_iter())
        .filter(|n| !net.params.iter().any(|p| p.tensor == *n))
        .collect();
    extra.sort_unstable();
    if !extra.is_empty() {
        let list: Vec<String> = extra.iter().map(|n| format!("`{n}`")).collect();
        problems.push(format!(
            "the file has tensors the net does not: {}; name a parameter after each with `#[tensor(\"..\")]`, or write a file with the net's tensors only",
            list.join(", ")
        ));
    }
    if !problems.is_empty() {
        cx.error(
            span,
            format!(
                "the weights in `{shown}` do not fit net `{}`: {}",
                net.name,
                problems.join("; ")
            ),
        );
        return None;
    }
    Some(Baked {
        path: file.to_string_lossy().into_owned(),
        bits,
    })
}

/// `path` under the crate's manifest directory, unless absolute.
fn resolve(path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let base = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    base.join(path)
}

/// A tensor's little-endian data as the bits of the net's scalar type, widening `F16`
/// and `BF16` exactly; `None` for any other dtype or a mismatch of `F32` and `F64`.
fn widen(dtype: Dtype, data: &[u8], scalar: Scalar) -> Option<Vec<u64>> {
    let halves = || {
        data.chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
    };
    let as_scalar = |v: f32| match scalar {
        Scalar::F32 => u64::from(v.to_bits()),
        Scalar::F64 => f64::from(v).to_bits(),
    };
    Some(match (dtype, scalar) {
        (Dtype::F32, Scalar::F32) => (data.chunks_exact(4))
            .map(|c| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        (Dtype::F64, Scalar::F64) => (data.chunks_exact(8))
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
        (Dtype::F16, _) => halves()
            .map(|h| as_scalar(half::f16::from_bits(h).to_f32()))
            .collect(),
        (Dtype::BF16, _) => halves()
            .map(|h| as_scalar(half::bf16::from_bits(h).to_f32()))
            .collect(),
        _ => return None,
    })
}

fn scalar_name(s: Scalar) -> &'static str {
    match s {
        Scalar::F32 => "f32",
        Scalar::F64 => "f64",
    }
}

fn dtype_name(s: Scalar) -> &'static str {
    match s {
        Scalar::F32 => "F32",
        Scalar::F64 => "F64",
    }
}
