// The reference interpreter's gradients of a random valid net against central finite
// differences, shared by `random_nets_ir.rs` and the fuzzer. Included with `include!`
// after `netgen.rs`, whose generator and `NetRng` it uses.

fn random_value(
    shape: chainrule_grammar::model::Shape,
    rng: &mut NetRng,
    lo: f64,
    hi: f64,
) -> chainrule_codegen::eval::Value {
    chainrule_codegen::eval::Value::new(
        shape,
        (0..shape.len())
            .map(|_| lo + (hi - lo) * rng.unit())
            .collect(),
    )
}

/// The smooth valid net of `seed`, lowered, differentiated and evaluated by the f64
/// interpreter, has its gradients equal to central finite differences (relative error
/// ≤ 1e-6): every element of each parameter and of the input, or about four of each when
/// `light`. `salt` picks the point.
pub fn interpreter_gradients_match(seed: u64, salt: u64, light: bool) -> Result<(), String> {
    use chainrule_codegen::diff::{differentiate, sum_terms};
    use chainrule_codegen::eval::{Leaves, eval};
    use chainrule_codegen::ir::Id;

    let generated = random_net_with(seed, "Random", SMOOTH);
    let front = chainrule_grammar::check_str(&generated.source);
    if !front.errors.is_empty() || front.nets.len() != 1 {
        return Err(format!("valid net rejected\n{}", generated.source));
    }
    let net = &front.nets[0];
    let mut low = chainrule_codegen::lower::lower(net);
    let adj = differentiate(&mut low.graph, low.loss, low.seed);
    let mut grad_of = |leaf: Id| {
        let terms = adj.terms[leaf.index()].clone();
        (!terms.is_empty()).then(|| sum_terms(&mut low.graph, &terms))
    };
    let pgrads: Vec<Option<Id>> = low.params.clone().into_iter().map(&mut grad_of).collect();
    let xgrad = grad_of(low.input);
    let mut rng = NetRng::new(seed ^ salt);
    let (tlo, thi) = if generated.unit_targets {
        (0.0, 1.0)
    } else {
        (-1.0, 1.0)
    };
    let leaves = Leaves {
        input: random_value(net.input.shape, &mut rng, -1.0, 1.0),
        target: net
            .target
            .as_ref()
            .map(|t| random_value(t.shape, &mut rng, tlo, thi)),
        params: net
            .params
            .iter()
            .map(|p| random_value(p.shape, &mut rng, -1.0, 1.0))
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
        let step = if light { n.div_ceil(4).max(1) } else { 1 };
        for k in (0..n).step_by(step) {
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
            // Equal infinities count as agreeing.
            if !(err <= 1e-6 || analytic == fd) {
                return Err(format!(
                    "{} element {k}: chain rule {analytic} vs finite difference {fd}\n{}",
                    param.map_or("input".to_string(), |i| net.params[i].name.clone()),
                    generated.source
                ));
            }
        }
    }
    Ok(())
}
