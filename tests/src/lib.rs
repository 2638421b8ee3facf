//! Integration and compile-fail tests of chainrule; the tests live in `tests/tests/` and
//! the benchmarks in `tests/benches/`. This library holds what both share: the nets the
//! benchmarks time and their hand-written counterparts.
#![forbid(unsafe_code)]

pub mod handwritten;
pub mod nets;
pub mod sequences;
