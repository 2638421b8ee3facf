//! The size limit: generated code is unrolled over every scalar, so its size is bounded
//! from shapes alone, before anything proportional to it is done.
//!
//! A net's size is its parameters plus every intermediate value, in scalars. Above the
//! limit (`#[chainrule(max_size = N)]`, [`crate::model::DEFAULT_MAX_SIZE`] by default) the error
//! stands at the declaration with the most scalars (an `input`, `target`, `param`, a
//! `dense` parameter or a `let`; the first of equals), which is what to shrink, and gives
//! its size in scalars and in bytes (4 a scalar in `f32`, 8 in `f64`). The advice is:
//! - for a net over [`PRACTICAL_BYTES`] (or whose size overflows): that no limit makes it
//!   practical, so split it into smaller nets or shrink that declaration;
//! - otherwise: shrink the net, or raise the limit to the size rounded up to two
//!   significant digits (`8394753` → `8400000`); and when the parameters alone are over
//!   [`STACK_BYTES`], build the net with `chainrule::boxed_new`, on the heap.

use crate::ast;
use crate::diag::Ctxt;
use crate::model::Scalar;

use super::attrs::Settings;
use super::expr::{Sh, Tape};
use super::scope::{Decl, Scope};

/// The largest net worth generating, in bytes: beyond it, no `max_size` helps.
const PRACTICAL_BYTES: u64 = 256 << 20;

/// Parameters above this many bytes are too large to move around a thread's stack (2 MiB
/// for a test thread, where a debug build copies on every move).
const STACK_BYTES: u64 = 1 << 20;

/// Whether the net is within its `max_size` in scalars, its size being its parameters plus every
/// intermediate value (`expr_size`). Rejects: `param w: [4096, 4096];` by default.
pub(super) fn within_limit(
    cx: &Ctxt,
    net: &ast::Net,
    settings: &Settings,
    scope: &Scope,
    (expr_size, tapes): (u64, &[Tape]),
) -> bool {
    let (scalar, max_size) = (settings.scalar, settings.max_size);
    let param_size = scope
        .params
        .iter()
        .filter_map(|p| scope.decls.shape(&p.name))
        .fold(0u64, |acc, s| acc.saturating_add(s.elems()));
    let total = param_size.saturating_add(expr_size);
    let overflows = total == u64::MAX || usize::try_from(total).is_err();
    if !overflows && total <= max_size {
        return true;
    }
    let bytes_each: u32 = match scalar {
        Scalar::F32 => 4,
        Scalar::F64 => 8,
    };
    let ty = match scalar {
        Scalar::F32 => "f32",
        Scalar::F64 => "f64",
    };
    let size = if overflows {
        format!(
            "net `{}` is too large to generate: its size (parameters plus every intermediate value) overflows",
            net.name.text
        )
    } else {
        format!(
            "net `{}` is too large to generate: its size is {total} scalars (parameters plus every intermediate value, {} as {ty}), above the limit of {max_size}",
            net.name.text,
            bytes(f64::from(bytes_each) * total as f64)
        )
    };
    // The declaration with the most scalars: what to shrink, and where to point.
    let mut largest: Option<(&String, &Decl, Sh)> = None;
    for n in &scope.decls.order {
        let Some((d, sh)) = scope.decls.by_name.get(n).and_then(|d| Some((d, d.shape?))) else {
            continue;
        };
        if largest.is_none_or(|(_, _, most)| sh.exact_elems() > most.exact_elems()) {
            largest = Some((n, d, sh));
        }
    }
    let Some((mut name, mut decl, sh)) = largest else {
        cx.error(&net.name.span, size);
        return false;
    };
    let mut elems = sh.exact_elems();
    let mut largest = format!(
        "the largest declaration is `{name}` ({}), {sh}: {elems} scalars, {} as {ty}",
        decl.describe(),
        bytes(f64::from(bytes_each) * elems as f64)
    );
    // A loop's record of a state, one value per step, may be larger still.
    for tape in tapes {
        let total = u128::from(tape.steps) * u128::from(tape.per_step);
        let Some(d) = scope.decls.by_name.get(&tape.state) else {
            continue;
        };
        if total > elems {
            (name, decl, elems) = (&tape.state, d, total);
            largest = format!(
                "the most is what its loop keeps of {} for backpropagation, one value per step: {} steps × {} = {total} scalars, {} as {ty}",
                state_label(&tape.state),
                tape.steps,
                tape.per_step,
                bytes(f64::from(bytes_each) * total as f64)
            );
        }
    }
    let total_bytes = total.saturating_mul(u64::from(bytes_each));
    let advice = if overflows || total_bytes > PRACTICAL_BYTES {
        format!(
            "No `max_size` makes a net of over {} practical; split it into smaller nets, or shrink `{name}`",
            bytes(PRACTICAL_BYTES as f64)
        )
    } else {
        let param_bytes = param_size.saturating_mul(u64::from(bytes_each));
        let heap = if param_bytes > STACK_BYTES {
            format!(
                ", and build it on the heap with `chainrule::boxed_new(seed)`: its parameters ({}) are too large for a thread's stack",
                bytes(param_bytes as f64)
            )
        } else {
            String::new()
        };
        format!(
            "Shrink the net, or raise the limit with `#[chainrule(max_size = {})]` on the net{heap}",
            round_up(total)
        )
    };
    cx.error(&decl.span, format!("{size}; {largest}. {advice}"));
    false
}

/// A state as messages name it: `` `h` ``, or `` `c` of layer `enc` `` for the state
/// `let enc = lstm(..)` declares (named "enc c").
fn state_label(name: &str) -> String {
    match name.split_once(' ') {
        Some((layer, state)) => format!("`{state}` of layer `{layer}`"),
        None => format!("`{name}`"),
    }
}

/// `n` rounded up to two significant digits: `8394753` → `8400000`, `153` → `160`.
fn round_up(n: u64) -> u64 {
    let mut unit = 1u64;
    while n / unit >= 100 {
        unit *= 10;
    }
    n.div_ceil(unit).saturating_mul(unit)
}

/// A number of bytes as it reads best: `256 bytes`, `16 MiB`, `74.5 GiB`, `1.4e39 bytes`.
fn bytes(n: f64) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    match UNITS.get(unit) {
        Some(&"bytes") => format!("{v:.0} bytes"),
        Some(u) if v < 100.0 => {
            let digits = format!("{v:.1}");
            format!("{} {u}", digits.strip_suffix(".0").unwrap_or(&digits))
        }
        Some(u) if v < 1024.0 => format!("{v:.0} {u}"),
        // Past the largest unit, only the order of magnitude says anything.
        _ => format!("{n:.1e} bytes"),
    }
}
