//! Integration and compile-fail tests of chainrule; the tests live in `tests/tests/`.
#![forbid(unsafe_code)]
