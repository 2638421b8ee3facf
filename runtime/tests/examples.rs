//! The examples' own code, run in their quick mode, so the README's command
//! (`cargo run --release --example digits`) and the other examples cannot rot unnoticed.
//!
//! Each example is compiled here as a module and its `run` is called with the settings
//! `CHAINRULE_QUICK=1` selects: the same net, data and checks, fewer epochs.
#![forbid(unsafe_code)]
// Each example declares its own `mod common`, as a binary must, so here it loads twice.
#![allow(clippy::duplicate_mod)]

// `main` and what only it uses are dead code here.
#[allow(dead_code)]
#[path = "../examples/diabetes.rs"]
mod diabetes;
#[allow(dead_code)]
#[path = "../examples/digits.rs"]
mod digits;
#[allow(dead_code)]
#[path = "../examples/digits_baked.rs"]
mod digits_baked;
#[allow(dead_code)]
#[path = "../examples/iris.rs"]
mod iris;
#[allow(dead_code)]
#[path = "../examples/oscillator.rs"]
mod oscillator;
#[allow(dead_code)]
#[path = "../examples/xor.rs"]
mod xor;

use chainrule::Progress;

#[test]
fn xor_example_learns_all_four_points() {
    let (net, history) = xor::run(xor::Settings::QUICK).unwrap();
    assert_eq!(history.epochs.len(), xor::Settings::QUICK.epochs);
    let last = history.last().unwrap();
    assert_eq!(last.train_accuracy, Some(1.0), "{last}");
    for (x, t) in xor::INPUTS.iter().zip(&xor::TARGETS) {
        let y = net.forward(x)[0];
        assert!((y - t[0]).abs() < 0.1, "{x:?} gives {y}, target {}", t[0]);
    }
}

#[test]
fn digits_example_reaches_95_percent_held_out_and_writes_its_files() {
    let out_dir =
        std::env::temp_dir().join(format!("chainrule-digits-example-{}", std::process::id()));
    let settings = digits::Settings {
        out_dir: out_dir.clone(),
        progress: Progress::Hidden,
        ..digits::Settings::quick()
    };
    let outcome = digits::run(&settings).unwrap();
    assert!(
        outcome.held_out_accuracy >= 0.95,
        "{}",
        outcome.held_out_accuracy
    );
    assert_eq!(outcome.history.epochs.len(), settings.epochs);

    let back: digits::Digits = chainrule::load_safetensors(&outcome.weights).unwrap();
    assert_eq!(back, outcome.net);
    let png = std::fs::read(&outcome.png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    std::fs::remove_dir_all(&out_dir).unwrap();
}

#[test]
fn iris_example_classifies_held_out_flowers() {
    let (_, held_out) = iris::run(iris::Settings::QUICK).unwrap();
    assert!(held_out >= iris::MIN_ACCURACY, "{held_out}");
}

#[test]
fn diabetes_example_regresses_and_passes_gradcheck() {
    let outcome = diabetes::run(diabetes::Settings::QUICK).unwrap();
    assert_eq!(
        outcome.history.epochs.len(),
        diabetes::Settings::QUICK.epochs
    );
    // All-zero gradients, issue 7's bug, would leave the loss where it started: a factor of 1.
    assert!(
        outcome.loss_factor() >= diabetes::MIN_LOSS_FACTOR,
        "training loss {} -> {}",
        outcome.initial_loss,
        outcome.final_loss
    );
    assert!(
        outcome.held_out_r2 >= diabetes::MIN_R2,
        "{}",
        outcome.held_out_r2
    );
    assert!(outcome.held_out_mse < outcome.baseline_mse);
    assert_eq!(outcome.gradchecks.len(), 2 * diabetes::GRADCHECK_SAMPLES);
    for report in &outcome.gradchecks {
        report.assert_passed();
    }
}

#[test]
fn oscillator_example_learns_the_oscillator_and_streams_it() {
    let out_dir = std::env::temp_dir().join(format!(
        "chainrule-oscillator-example-{}",
        std::process::id()
    ));
    let settings = oscillator::Settings {
        out_dir: out_dir.clone(),
        ..oscillator::Settings::quick()
    };
    let outcome = oscillator::run(&settings).unwrap();
    assert!(outcome.held_out_rmse <= oscillator::MAX_RMSE, "{outcome:?}");
    assert!(
        outcome.held_out_rmse < 0.2 * outcome.zero_rmse,
        "{outcome:?}"
    );
    assert!(
        outcome.streamed_rmse < 0.2 * outcome.zero_rmse,
        "{outcome:?}"
    );
    assert_eq!(outcome.history.epochs.len(), settings.epochs);
    let png = std::fs::read(&outcome.png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    std::fs::remove_dir_all(&out_dir).unwrap();
}

#[test]
fn baked_digits_are_the_trained_net_bit_for_bit() {
    let out_dir = std::env::temp_dir().join(format!(
        "chainrule-digits-baked-example-{}",
        std::process::id()
    ));
    let outcome = digits_baked::run(out_dir.clone()).unwrap();
    assert_eq!(outcome.compared, 1797);
    // The full run's held-out accuracy is 97.5 %; on all the digits, training included,
    // the baked net is right on more than 98 %.
    assert!(outcome.correct * 100 > 98 * outcome.compared, "{outcome:?}");
    std::fs::remove_dir_all(&out_dir).unwrap();
}
