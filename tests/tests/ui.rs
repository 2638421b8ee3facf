//! Compile-fail tests: every kind of user error in a `network!` is a compile error at the
//! offending tokens. Regenerate the expected output with `TRYBUILD=overwrite` and review
//! every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
