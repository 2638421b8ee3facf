//! Stack for recursion over expression trees.
//!
//! Expressions have no depth limit of their own (a sum of ten thousand terms is a tree ten
//! thousand levels deep), and the proc macro runs on rustc's thread, whose stack is fixed.
//! Every function that recurses over an expression calls [`deep`] at each level: when the
//! stack runs low, the rest of the recursion continues on a fresh heap segment, as rustc
//! itself does with `ensure_sufficient_stack`. Memory then grows with the depth actually
//! reached, and the size limit bounds the work.

/// Below this much stack left, a new segment is started. One level of the deepest
/// recursion (the type checker, unoptimised as proc macros are built) takes about 5 KiB.
const RED_ZONE: usize = 256 * 1024;
/// Size of each new segment.
const SEGMENT: usize = 8 * 1024 * 1024;

/// Runs `f`, on a new stack segment if the current one is nearly used up.
#[inline]
pub fn deep<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}

/// Stack pest's parser needs per level of bracket nesting, unoptimised, with a margin
/// (measured: about 2.8 KiB for nested calls).
const PER_NESTING_LEVEL: usize = 4 * 1024;

/// Runs `f`, which recurses at most `levels` deep in pest's parser, with enough stack.
pub fn for_nesting<R>(levels: usize, f: impl FnOnce() -> R) -> R {
    let need = RED_ZONE + levels * PER_NESTING_LEVEL;
    stacker::maybe_grow(need, need, f)
}
