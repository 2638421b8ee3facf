//! `#[weights("..")]` in the expansion: the file is named by an absolute `include_bytes!`,
//! so Cargo rebuilds the crate when the file changes, and `WEIGHTS` holds its values.

fn expand(src: &str) -> String {
    let tokens: proc_macro2::TokenStream = src.parse().expect("tokens");
    let front = chainrule_grammar::check_tokens(tokens.clone());
    assert!(front.errors.is_empty(), "{:?}", front.errors);
    chainrule_codegen::expand(tokens).to_string()
}

#[test]
fn the_weights_file_is_tracked_and_its_values_baked() {
    // Tests run in this crate's directory (`CARGO_MANIFEST_DIR`), as the macro does in
    // the user's.
    let out = expand(
        r#"#[weights("../tests/reference/weights/small.safetensors")]
        net Small { input x: [2]; param w: [3, 2]; param b: [3]; let y = sum(w @ x + b); output y; loss y; }"#,
    );
    let start =
        out.find("include_bytes ! (\"").expect("an include_bytes!") + "include_bytes ! (\"".len();
    let path = &out[start..start + out[start..].find('"').unwrap()];
    let path = std::path::Path::new(path);
    assert!(path.is_absolute(), "{path:?}");
    let expected = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/reference/weights/small.safetensors");
    assert_eq!(
        std::fs::canonicalize(path).unwrap(),
        std::fs::canonicalize(expected).unwrap()
    );
    // The ramp of `tests/reference/weights.py`, as literals.
    let compact: String = out.split_whitespace().collect();
    assert!(
        compact.contains("pubconstWEIGHTS:Self=Self{w:[[-0.5f32,-0.375f32],[-0.25f32,-0.125f32],[0f32,0.125f32]],b:[1f32,1.125f32,1.25f32],};"),
        "{compact}"
    );
}
