//! A property test over thousands of random valid nets: each is checked by the front end,
//! lowered, differentiated and evaluated by the reference interpreter, and every gradient
//! is compared in f64 with central finite differences. Only smooth functions here, so a
//! probe never straddles a kink; the compiled suites (`random_nets_1.rs` to
//! `random_nets_4.rs`) cover the kinked ones. Also checks the generator itself: every net
//! it writes is valid, and its sample covers the whole language.

use proptest::prelude::*;

include!("../src/netgen.rs");
include!("../src/interpreter_check.rs");

fn check_net(seed: u64) -> Result<(), TestCaseError> {
    interpreter_gradients_match(seed, 0xABCD, false).map_err(TestCaseError::fail)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_nets_have_exact_gradients(seed in any::<u64>()) {
        check_net(seed)?;
    }
}

/// Every net the generator writes passes the front end, so a compile error in the
/// compiled suites is the macro's, not the generator's.
#[test]
fn generated_nets_are_valid() {
    for seed in (0..DEFAULT_NETS).chain(10_000..11_000) {
        let net = random_net(seed, "Random");
        let front = chainrule_grammar::check_str(&net.source);
        let errors: Vec<String> = front.errors.iter().map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty() && front.nets.len() == 1,
            "seed {seed}: generated net rejected: {errors:?}\n{}",
            net.source
        );
        let model = &front.nets[0];
        assert_eq!(
            model.input.shape.dims(),
            net.input,
            "seed {seed}: input shape"
        );
        assert_eq!(
            model.target.as_ref().map(|t| t.shape.dims()),
            net.target,
            "seed {seed}: target shape"
        );
    }
}

/// The sample CI compiles (`CHAINRULE_NET_SEED` unset) uses every feature the generator
/// has, and a larger sample uses each often enough that other seeds cover it too.
#[test]
fn generator_covers_the_language() {
    let count = |seeds: std::ops::Range<u64>| {
        let mut counts = vec![0usize; FEATURES.len()];
        for seed in seeds {
            for f in random_net(seed, "Random").features {
                counts[FEATURES
                    .iter()
                    .position(|g| *g == f)
                    .expect("a listed feature")] += 1;
            }
        }
        counts
    };
    let sample = count(0..DEFAULT_NETS);
    let missing: Vec<&str> = FEATURES
        .iter()
        .zip(&sample)
        .filter(|(_, n)| **n == 0)
        .map(|(f, _)| *f)
        .collect();
    assert!(missing.is_empty(), "the CI sample never uses {missing:?}");
    let many = 4000;
    let large = count(100_000..100_000 + many);
    let rare: Vec<(&str, usize)> = FEATURES
        .iter()
        .zip(&large)
        .filter(|(_, n)| **n * 200 < many as usize)
        .map(|(f, n)| (*f, *n))
        .collect();
    assert!(
        rare.is_empty(),
        "features in under 0.5% of {many} nets: {rare:?}"
    );
}

/// The generator writes every public elementwise function of the language, so the
/// compiled suites test a new one as soon as `src/netgen.rs` learns it.
#[test]
fn generator_knows_every_function() {
    let missing: Vec<&str> = chainrule_grammar::ops::public_names()
        .filter(|f| !FUNCTIONS.contains(f))
        .collect();
    assert!(
        missing.is_empty(),
        "src/netgen.rs never writes {missing:?}: add each to `FUNCTIONS` and to \
         `Builder::activation`, on a domain where it is defined"
    );
    for f in FUNCTIONS {
        let tagged =
            FEATURES.contains(f) || FEATURES.iter().any(|t| t.starts_with(&format!("{f}_")));
        assert!(
            tagged,
            "`{f}` has no feature tag, so coverage cannot see it"
        );
    }
}
