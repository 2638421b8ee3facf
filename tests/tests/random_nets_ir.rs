//! A property test over thousands of random valid nets: each is checked by the front end,
//! lowered, differentiated and evaluated by the reference interpreter, and every gradient
//! is compared in f64 with central finite differences. Only smooth activations here, so
//! a probe never straddles a kink; `random_nets.rs` covers the kinked ones.

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
    let generated = random_net(seed, "Random", SMOOTH);
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
