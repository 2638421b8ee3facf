//! `forward_batch` and `loss_batch` (SPEC §3): equal to the per-sample methods, zero for an
//! empty batch, a panic when the lengths differ; inherent and through the trait, with and
//! without a target.

use chainrule::Network;

chainrule::network! {
    net Mlp {
        input x: [3];
        target t: [2];
        let h = dense(x, 4, tanh);
        let y = dense(h, 2);
        output y;
        loss mse(y, t);
    }

    #[scalar(f64)]
    net Energy {
        input x: [2, 2];
        param a: [2, 2] = uniform(-1.0, 1.0);
        let e = sum(softplus(a * x));
        output e;
        loss e;
    }
}

fn inputs() -> Vec<[f32; 3]> {
    (0..5)
        .map(|k| core::array::from_fn(|i| ((k * 3 + i) as f32 * 0.7).sin()))
        .collect()
}

fn targets() -> Vec<[f32; 2]> {
    (0..5)
        .map(|k| [(k as f32 * 0.3).cos(), -(k as f32) * 0.2])
        .collect()
}

#[test]
fn batches_equal_the_per_sample_methods() {
    let net = Mlp::new(3);
    let (xs, ts) = (inputs(), targets());
    let mut ys = vec![[f32::NAN; 2]; xs.len()];
    net.forward_batch(&xs, &mut ys);
    for (x, y) in xs.iter().zip(&ys) {
        assert_eq!(*y, net.forward(x));
    }
    let mean = ts.iter().zip(&xs).map(|(t, x)| net.loss(x, t)).sum::<f32>() / xs.len() as f32;
    let got = net.loss_batch(&xs, &ts);
    assert!(
        (got - mean).abs() <= 1e-5 * mean.abs().max(1.0),
        "{got} vs {mean}"
    );
    assert!(got > 0.0);
    assert_eq!(<Mlp as Network>::loss_batch(&net, &xs, &ts), got);
    let mut through_trait = vec![[0.0f32; 2]; xs.len()];
    <Mlp as Network>::forward_batch(&net, &xs, &mut through_trait);
    assert_eq!(through_trait, ys);
}

#[test]
fn a_net_without_target_takes_no_targets() {
    let net = Energy::new(1);
    let xs = [[[0.5, -1.0], [2.0, 0.25]], [[-0.5, 1.5], [0.0, 1.0]]];
    let want = (net.loss(&xs[0]) + net.loss(&xs[1])) / 2.0;
    let got = net.loss_batch(&xs);
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{got} vs {want}"
    );
    assert_eq!(<Energy as Network>::loss_batch(&net, &xs, &[(), ()]), got);
    let mut ys = [0.0; 2];
    net.forward_batch(&xs, &mut ys);
    assert_eq!(ys, [net.forward(&xs[0]), net.forward(&xs[1])]);
    assert_eq!(net.loss_batch(&[]), 0.0);
}

#[test]
fn an_empty_batch_has_zero_loss() {
    let net = Mlp::new(3);
    assert_eq!(net.loss_batch(&[], &[]), 0.0);
    net.forward_batch(&[], &mut []);
}

#[test]
#[should_panic(expected = "forward_batch: 5 inputs but 4 output slots")]
fn forward_batch_panics_on_a_length_mismatch() {
    Mlp::new(3).forward_batch(&inputs(), &mut [[0.0; 2]; 4]);
}

#[test]
#[should_panic(expected = "loss_batch: 5 inputs but 4 targets")]
fn loss_batch_panics_on_a_length_mismatch() {
    Mlp::new(3).loss_batch(&inputs(), &targets()[..4]);
}
