//! gradcheck passes right gradients, catches wrong ones, and says where.
#![forbid(unsafe_code)]

mod support;

use chainrule::{GradcheckOptions, Network, ParamInfo, gradcheck, gradcheck_with};
use support::{
    BuggyMlp32, BuggyMlp64, Centroid, DigitsNet, DigitsNet64, LinReg32, LinReg64, Mlp32, Mlp64, Xor,
};

const X4: [f64; 4] = [0.5, -1.2, 0.3, 2.0];
const T3: [f64; 3] = [0.0, 1.0, 0.0];

fn x4_32() -> [f32; 4] {
    X4.map(|v| v as f32)
}
fn t3_32() -> [f32; 3] {
    T3.map(|v| v as f32)
}

#[test]
fn right_gradients_pass() {
    for seed in 0..5 {
        gradcheck(&LinReg64::new(seed), &[1.0, -2.0, 0.5], &[0.3]).assert_passed();
        gradcheck(&LinReg32::new(seed), &[1.0, -2.0, 0.5], &[0.3]).assert_passed();
        gradcheck(&Mlp64::new(seed), &X4, &T3).assert_passed();
        gradcheck(&Mlp32::new(seed), &x4_32(), &t3_32()).assert_passed();
        gradcheck(&Xor::new(seed), &[1.0, 0.0], &[1.0]).assert_passed();
    }
}

#[test]
fn a_digits_sized_net_passes_in_both_types() {
    // 2410 parameters; inputs of unit scale as the digits example feeds them.
    for seed in 0..2 {
        let x: [f64; 64] = core::array::from_fn(|i| ((i * 7 + seed * 3) % 17) as f64 / 16.0);
        let t: [f64; 10] = chainrule::one_hot(seed);
        let report = gradcheck(&DigitsNet64::new(seed as u64), &x, &t);
        assert!(report.max_error < 1e-6, "{report}");
        let x32 = x.map(|v| v as f32);
        let t32 = t.map(|v| v as f32);
        let report = gradcheck(&DigitsNet::new(seed as u64), &x32, &t32);
        assert!(report.passed(), "{report}");
    }
}

#[test]
fn right_gradients_are_tight_in_f64() {
    let report = gradcheck(&Mlp64::new(3), &X4, &T3);
    assert!(report.max_error < 1e-8, "{report}");
    assert_eq!(report.checked, Mlp64::PARAMS);
    assert_eq!(report.failures, 0);
    assert!(report.accumulates);
    assert_eq!(report.loss, report.backward_loss);
}

#[test]
fn a_net_without_target_and_a_scalar_parameter() {
    let net = Centroid {
        w: [0.3, -0.7],
        s: 1.5,
    };
    let report = gradcheck(&net, &[1.0, 2.0], &());
    report.assert_passed();
    assert_eq!(Centroid::LAYOUT[1].shape, &[] as &[usize]);
}

#[test]
fn a_missing_activation_derivative_is_caught_in_the_first_layer() {
    for seed in 0..5 {
        let report = gradcheck(&BuggyMlp64::new(seed), &X4, &T3);
        assert!(!report.passed(), "seed {seed}: {report}");
        let worst = report.worst.unwrap();
        assert!(matches!(worst.param, "w1" | "b1"), "{report}");
        // The second layer's gradients are right, so only first-layer entries fail.
        assert!(report.failures <= 4 * 5 + 5, "{report}");

        let report = gradcheck(&BuggyMlp32::new(seed), &x4_32(), &t3_32());
        assert!(!report.passed(), "seed {seed}, f32: {report}");
        assert!(matches!(report.worst.unwrap().param, "w1" | "b1"));
    }
}

/// `Mlp64` with its backward pass spoiled in one of three ways.
#[derive(Clone, Debug, PartialEq)]
struct Tampered<const MODE: u8> {
    inner: Mlp64,
}

/// Adds 1e-3 to one gradient entry: `w2[1][3]`.
const OFF_BY_A_LITTLE: u8 = 0;
/// Overwrites the gradient instead of adding to it.
const OVERWRITES: u8 = 1;
/// Returns a loss that is not the loss.
const WRONG_LOSS: u8 = 2;

/// The flat index of `w2[1][3]`: after `w1` (5×4) and `b1` (5), row 1 of `w2` (3×5).
const TAMPERED_INDEX: usize = 20 + 5 + 5 + 3;

impl<const MODE: u8> Network for Tampered<MODE> {
    type Scalar = f64;
    type Input = [f64; 4];
    type Target = [f64; 3];
    type Output = [f64; 3];
    const NAME: &'static str = "Tampered";
    const PARAMS: usize = Mlp64::PARAMS;
    const LAYOUT: &'static [ParamInfo] = Mlp64::LAYOUT;

    fn zeros() -> Self {
        Self {
            inner: Mlp64::zeros(),
        }
    }
    fn new(seed: u64) -> Self {
        Self {
            inner: Mlp64::new(seed),
        }
    }
    fn as_slice(&self) -> &[f64] {
        self.inner.as_slice()
    }
    fn as_mut_slice(&mut self) -> &mut [f64] {
        self.inner.as_mut_slice()
    }
    fn forward(&self, x: &[f64; 4]) -> [f64; 3] {
        self.inner.forward(x)
    }
    fn loss(&self, x: &[f64; 4], t: &[f64; 3]) -> f64 {
        self.inner.loss(x, t)
    }
    fn backward_scaled(&self, x: &[f64; 4], t: &[f64; 3], scale: f64, grad: &mut Self) -> f64 {
        if MODE == OVERWRITES {
            grad.inner = Mlp64::zeros();
        }
        let loss = self.inner.backward_scaled(x, t, scale, &mut grad.inner);
        match MODE {
            OFF_BY_A_LITTLE => {
                grad.as_mut_slice()[TAMPERED_INDEX] += 1e-3;
                loss
            }
            WRONG_LOSS => loss + 0.5,
            _ => loss,
        }
    }
    fn input_gradient(&self, x: &[f64; 4], t: &[f64; 3]) -> [f64; 4] {
        self.inner.input_gradient(x, t)
    }
}

#[test]
fn a_single_wrong_entry_is_located() {
    let net = Tampered::<OFF_BY_A_LITTLE>::new(1);
    let report = gradcheck(&net, &X4, &T3);
    assert!(!report.passed());
    assert_eq!(report.failures, 1, "{report}");
    let worst = report.worst.unwrap();
    assert_eq!(
        (worst.param, worst.index, worst.flat_index),
        ("w2", 8, TAMPERED_INDEX)
    );
    assert!(
        (worst.analytic - worst.numeric - 1e-3).abs() < 1e-8,
        "{worst}"
    );
    let text = report.to_string();
    assert!(text.contains("FAILED"), "{text}");
    assert!(text.contains("w2[1][3] (flat index 33)"), "{text}");
}

#[test]
fn overwriting_the_gradient_is_caught() {
    let report = gradcheck(&Tampered::<OVERWRITES>::new(1), &X4, &T3);
    assert_eq!(report.failures, 0, "the gradient itself is right: {report}");
    assert!(!report.accumulates);
    assert!(!report.passed());
    assert!(report.to_string().contains("instead of adding"), "{report}");
}

#[test]
fn a_wrong_returned_loss_is_caught() {
    let report = gradcheck(&Tampered::<WRONG_LOSS>::new(1), &X4, &T3);
    assert_eq!(report.failures, 0);
    assert!(!report.passed());
    assert!((report.backward_loss - report.loss - 0.5).abs() < 1e-12);
    assert!(
        report.to_string().contains("backward returned loss"),
        "{report}"
    );
}

#[test]
fn options_change_the_verdict() {
    // The f64 error of a right gradient is far below 1e-6 but not below 1e-15.
    let net = Mlp64::new(2);
    let strict = GradcheckOptions::new().tolerance(1e-15).floor(1e-3);
    assert!(!gradcheck_with(&net, &X4, &T3, strict).passed());
    // A 1e-3 error passes a loose enough tolerance.
    let loose = GradcheckOptions::new().tolerance(0.5).floor(1.0);
    let report = gradcheck_with(&Tampered::<OFF_BY_A_LITTLE>::new(1), &X4, &T3, loose);
    assert!(report.passed(), "{report}");
    assert_eq!(report.tolerance, 0.5);
    // A huge step ruins the finite difference of a curved loss.
    let coarse = GradcheckOptions::new().step(0.5);
    assert!(!gradcheck_with(&net, &X4, &T3, coarse).passed());
}

#[test]
fn a_non_finite_gradient_fails() {
    // x = 0 gives bce's ln(0) = −inf at a saturated output: force it with huge weights.
    let mut net = Xor::zeros();
    net.w2 = [[1e6, 1e6]];
    net.b2 = [1e6];
    let report = gradcheck(&net, &[0.0, 0.0], &[0.0]);
    assert!(!report.passed(), "{report}");
    assert_eq!(report.max_error, f64::INFINITY);
}
