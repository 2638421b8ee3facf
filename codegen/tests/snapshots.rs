//! The generated code of representative nets, formatted with prettyplease and reviewed as
//! insta snapshots (`cargo insta review`); CI runs with `INSTA_UPDATE=no`, so any change
//! to the output must be reviewed and committed.

fn expand(src: &str) -> String {
    let tokens: proc_macro2::TokenStream = src.parse().expect("valid tokens");
    let front = chainrule_grammar::check_tokens(tokens.clone());
    assert!(
        front.errors.is_empty(),
        "the front end rejected the net: {:?}",
        front
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
    let out = chainrule_codegen::expand(tokens);
    let file: syn::File = syn::parse2(out).expect("generated code parses as a file");
    prettyplease::unparse(&file)
}

#[test]
fn lecture_xor_net() {
    insta::assert_snapshot!(expand(
        r#"
        /// Two sigmoid hidden units, one sigmoid output.
        pub net Xor {
            input  x: [2];
            target t: [1];

            param w1: [2, 2] = xavier;
            param b1: [2];
            param w2: [1, 2] = xavier;
            param b2: [1];

            let h = sigmoid(w1 @ x + b1);
            let y = sigmoid(w2 @ h + b2);

            output y;
            loss bce(y, t);
        }
        "#
    ));
}

#[test]
fn softmax_classifier() {
    insta::assert_snapshot!(expand(
        r#"
        pub net Classifier {
            input x: [4];
            target t: [3];
            let h = dense(x, 5, tanh);
            let z = dense(h, 3);
            output z;
            loss softmax_cross_entropy(z, t);
        }
        "#
    ));
}

#[test]
fn user_fn_swish() {
    insta::assert_snapshot!(expand(
        r#"
        fn swish(z) = z * sigmoid(z);
        net Swish {
            input x: [3];
            target t: [1];
            param w: [1, 3] = xavier;
            param b: [1];
            let y = swish(w @ x + b);
            output y;
            loss mse(y, t);
        }
        "#
    ));
}

#[test]
fn net_without_target() {
    insta::assert_snapshot!(expand(
        r#"
        net Energy {
            input x: [2];
            param a: [2] = ones;
            param k: [];
            let e = sum(a * x * x) + k * dot(a, x);
            output e;
            loss e;
        }
        "#
    ));
}

#[test]
fn f64_regression_with_weight_decay() {
    insta::assert_snapshot!(expand(
        r#"
        #[scalar(f64)]
        pub(crate) net Ridge {
            input x: [3];
            target t: [];
            param w: [3] = normal(0.0, 0.1);
            param b: [];
            let y = dot(w, x) + b;
            output y;
            loss (y - t) ^ 2 + 0.01 * sum(w * w);
        }
        "#
    ));
}

#[test]
fn large_net_in_loop_form() {
    insta::assert_snapshot!(expand(
        r#"
        pub net Mnist {
            input x: [784];
            target t: [10];
            let h = dense(x, 128, relu);
            let z = dense(h, 10);
            output z;
            loss softmax_cross_entropy(z, t) + 0.0001 * sum(h_w * h_w);
        }
        "#
    ));
}

/// Issue 7's minimal case: with seed 1 the adjoint of `y` is the stored residual `y − t`,
/// which `backward` also stores under a forward name; the scaled adjoint `d_y` must read
/// that residual, not itself.
#[test]
fn regression_residual_in_loop_form() {
    insta::assert_snapshot!(expand(
        r#"
        #[scalar(f64)]
        #[chainrule(unroll = 1)]
        net Min1 {
            input x: [2];
            target t: [2];
            param w: [2];
            param b: [2];
            let y = w * x + b;
            output y;
            loss mse(y, t);
        }
        "#
    ));
}

/// Found by the fuzzer: a malformed doc attribute went onto the struct, and the expansion
/// did not parse. It is now an error, and the expansion (error and stub) parses.
#[test]
fn a_malformed_doc_attribute_leaves_a_parsable_expansion() {
    for src in [
        "#[doc = = \"x\"] net A { input x: [2]; param w: [2]; output w; loss sum(w * x); }",
        "net A { input x: [2]; #[doc = = \"x\"] param w: [2]; output w; loss sum(w * x); }",
    ] {
        let out = chainrule_codegen::expand(src.parse().expect("tokens"));
        let file: syn::File = syn::parse2(out).expect("the expansion parses");
        let text = prettyplease::unparse(&file);
        assert!(text.contains("compile_error!"), "{text}");
    }
}

#[test]
fn small_gru_sequence() {
    insta::assert_snapshot!(expand(
        r#"
        /// A GRU of 3 hidden units over 4 steps, read out at every step.
        pub net SmallGru {
            input xs: [4, 1];
            target ts: [4, 1];
            param wo: [1, 3] = xavier;
            param bo: [1];
            let h = gru(xs, 3);
            let ys = for r in h { wo @ r + bo };
            output ys;
            loss mse(ys, ts);
        }
        "#
    ));
}
