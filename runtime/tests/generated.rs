//! The runtime on nets that `network!` generates: gradcheck, training, safetensors and
//! the parallel batch gradient, end to end.
#![forbid(unsafe_code)]

#[path = "../examples/common/mod.rs"]
mod common;

use chainrule::{
    Adam, Progress, Trainer, accuracy, argmax_accuracy, binary_accuracy, gradcheck, network,
};

network! {
    /// The lecture's XOR net.
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

    /// The digits classifier: 64 pixels, 32 tanh units, 10 logits.
    pub net Digits {
        input  x: [64];
        target t: [10];
        let h = dense(x, 32, tanh);
        let z = dense(h, 10);
        output z;
        loss softmax_cross_entropy(z, t);
    }

    /// The same in f64, for a tight gradient check.
    #[scalar(f64)]
    pub net Digits64 {
        input  x: [64];
        target t: [10];
        let h = dense(x, 32, tanh);
        let z = dense(h, 10);
        output z;
        loss softmax_cross_entropy(z, t);
    }
}

const XOR_X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const XOR_T: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

#[test]
fn generated_gradients_pass_gradcheck() {
    let digits = common::digits();
    for seed in 0..3 {
        for (x, t) in XOR_X.iter().zip(&XOR_T) {
            gradcheck(&Xor::new(seed), x, t).assert_passed();
        }
        let i = seed as usize * 100;
        gradcheck(&Digits::new(seed), &digits.inputs[i], &digits.targets[i]).assert_passed();
        let x = digits.inputs[i].map(f64::from);
        let t = digits.targets[i].map(f64::from);
        let report = gradcheck(&Digits64::new(seed), &x, &t);
        assert!(report.max_error < 1e-6, "{report}");
    }
    assert_eq!(Digits::LAYOUT.len(), 4);
    assert_eq!(Digits::PARAMS, 64 * 32 + 32 + 32 * 10 + 10);
}

#[test]
fn generated_xor_converges() {
    let mut net = Xor::new(3);
    let history = Trainer::new(&mut net, &mut Adam::new(0.05))
        .epochs(1500)
        .batch_size(4)
        .accuracy(binary_accuracy)
        .progress(Progress::Hidden)
        .fit(&XOR_X, &XOR_T)
        .unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.train_accuracy, Some(1.0), "{last}");
    assert!(last.train_loss < 0.05, "{last}");
}

#[test]
fn generated_digits_net_reaches_95_percent_held_out() {
    let (train, test) = common::digits().split(0.2, 42);
    let mut net = Digits::new(1);
    Trainer::new(&mut net, &mut Adam::new(3e-3))
        .epochs(20)
        .batch_size(32)
        .progress(Progress::Hidden)
        .fit(&train.inputs, &train.targets)
        .unwrap();
    let held_out = accuracy(&net, &test.inputs, &test.targets, argmax_accuracy);
    assert!(held_out >= 0.95, "{held_out}");
}

#[test]
fn generated_nets_round_trip_through_safetensors() {
    let net = Digits::new(9);
    let bytes = chainrule::to_safetensors(&net).unwrap();
    let back: Digits = chainrule::from_safetensors(&bytes).unwrap();
    assert_eq!(back, net);
    let names: Vec<&str> = Digits::LAYOUT.iter().map(|p| p.name).collect();
    assert_eq!(names, ["h_w", "h_b", "z_w", "z_b"]);
    let err = chainrule::from_safetensors::<Digits64>(&bytes).unwrap_err();
    assert!(
        matches!(err, chainrule::IoError::WrongDtype { .. }),
        "{err}"
    );
}

#[cfg(feature = "rayon")]
#[test]
fn generated_batch_gradient_in_parallel() {
    let d = common::digits();
    let net = Digits::new(2);
    let mut serial = Digits::zeros();
    let mut parallel = Digits::zeros();
    let ls = net.backward_batch(&d.inputs[..300], &d.targets[..300], &mut serial);
    let lp =
        chainrule::par_backward_batch(&net, &d.inputs[..300], &d.targets[..300], &mut parallel);
    assert!((ls - lp).abs() <= 1e-5 * ls.abs(), "{ls} vs {lp}");
    for (a, b) in serial.as_slice().iter().zip(parallel.as_slice()) {
        assert!((a - b).abs() <= 1e-5 * a.abs().max(1e-2), "{a} vs {b}");
    }
}
