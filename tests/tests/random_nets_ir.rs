//! A property test over thousands of random valid nets: each is checked by the front end,
//! lowered, differentiated and evaluated by the reference interpreter, and every gradient
//! is compared in f64 with central finite differences. Only smooth functions here, so a
//! probe never straddles a kink; the compiled suites (`random_nets_1.rs` to
//! `random_nets_4.rs`) cover the kinked ones. Also checks the generator itself: every net
//! it writes is valid, and its sample covers the whole language.

use chainrule_codegen::diff::{differentiate, sum_terms};
use chainrule_codegen::eval::{Leaves, Value, eval};
use chainrule_codegen::ir::Id;
use chainrule_codegen::lower::lower;
use proptest::prelude::*;

include!("../src/netgen.rs");

fn value(shape: chainrule_grammar::model::Shape, rng: &mut NetRng, lo: f64, hi: f64) -> Value {
    Value::new(
        shape,
        (0..shape.len())
            .map(|_| lo + (hi - lo) * rng.unit())
            .collect(),
    )
}

fn check_net(seed: u64) -> Result<(), TestCaseError> {
    let generated = random_net_with(seed, "Random", SMOOTH);
    let front = chainrule_grammar::check_str(&generated.source);
    prop_assert!(
        front.errors.is_empty(),
        "generated net rejected: {:?}\n{}",
        front
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>(),
        generated.source
    );
    let net = &front.nets[0];
    let mut low = lower(net);
    let adj = differentiate(&mut low.graph, low.loss, low.seed);
    let mut grad_of = |leaf: Id| {
        let terms = adj.terms[leaf.index()].clone();
        (!terms.is_empty()).then(|| sum_terms(&mut low.graph, &terms))
    };
    let pgrads: Vec<Option<Id>> = low.params.clone().into_iter().map(&mut grad_of).collect();
    let xgrad = grad_of(low.input);

    let mut rng = NetRng::new(seed ^ 0xABCD);
    let (tlo, thi) = if generated.unit_targets {
        (0.0, 1.0)
    } else {
        (-1.0, 1.0)
    };
    let leaves = Leaves {
        input: value(net.input.shape, &mut rng, -1.0, 1.0),
        target: net
            .target
            .as_ref()
            .map(|t| value(t.shape, &mut rng, tlo, thi)),
        params: net
            .params
            .iter()
            .map(|p| value(p.shape, &mut rng, -1.0, 1.0))
            .collect(),
        seed: 1.0,
    };
    let g = &low.graph;
    let base = eval(g, &leaves);
    let loss = |l: &Leaves| eval(g, l)[low.loss.index()].data[0];
    let slots: Vec<(Option<Id>, Option<usize>)> = (0..net.params.len())
        .map(|i| (pgrads[i], Some(i)))
        .chain([(xgrad, None)])
        .collect();
    for (grad, param) in slots {
        let n = match param {
            Some(i) => net.params[i].shape.len(),
            None => net.input.shape.len(),
        };
        for k in 0..n {
            let analytic = grad.map_or(0.0, |id| base[id.index()].data[k]);
            let probe = |delta: f64| {
                let mut l = leaves.clone();
                match param {
                    Some(i) => l.params[i].data[k] += delta,
                    None => l.input.data[k] += delta,
                }
                loss(&l)
            };
            let h = 1e-6;
            let fd = (probe(h) - probe(-h)) / (2.0 * h);
            let err = (fd - analytic).abs() / fd.abs().max(analytic.abs()).max(1.0);
            prop_assert!(
                err <= 1e-6,
                "{} element {k}: chain rule {analytic} vs finite difference {fd}\n{}",
                param.map_or("input".to_string(), |i| net.params[i].name.clone()),
                generated.source
            );
        }
    }
    Ok(())
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
