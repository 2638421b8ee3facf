//! Fisher's iris flowers: four measurements in, the species out, scored on 30 flowers the
//! net never trained on. The data set is bundled in the `smartcore` crate.
//!
//! ```text
//! cargo run --release --example iris
//! CHAINRULE_QUICK=1 cargo run --example iris    # quick mode, as CI runs it
//! ```
//!
//! It fails unless at least 90% of the held-out flowers are right. Quick mode
//! (`CHAINRULE_QUICK` set to anything but `0`) trains 15 epochs instead of 60; the bar
//! stays at 90%.
#![forbid(unsafe_code)]

mod common;

use chainrule::{Adam, Progress, Trainer, accuracy, argmax, argmax_accuracy, network};
use std::error::Error;

// The net outputs probabilities, `p = softmax(z)`, but the loss is computed from the
// logits `z` with `softmax_cross_entropy`, which stays finite even when a probability
// rounds to 0: the output and the loss may use different values of the net.
network! {
    /// Four standardized measurements to the probabilities of three species.
    pub net Iris {
        input  x: [4];
        target t: [3];

        let h = dense(x, 8, tanh);
        let z = dense(h, 3);
        let p = softmax(z);

        output p;
        loss softmax_cross_entropy(z, t);
    }
}

/// The seed of the split, the initial weights and the shuffling.
pub const SEED: u64 = 1;
/// The held-out accuracy a run must reach, quick or not.
pub const MIN_ACCURACY: f64 = 0.9;

/// How long to train: the full demo, or the quick run CI does.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub epochs: usize,
}

impl Settings {
    pub const FULL: Settings = Settings { epochs: 60 };
    pub const QUICK: Settings = Settings { epochs: 15 };

    /// Quick when `CHAINRULE_QUICK` is set to anything but `""` or `"0"`.
    pub fn from_env() -> Settings {
        let quick = std::env::var_os("CHAINRULE_QUICK").is_some_and(|v| !v.is_empty() && v != "0");
        if quick { Self::QUICK } else { Self::FULL }
    }
}

/// Trains the net, prints the held-out accuracy and a few flowers, and fails below
/// [`MIN_ACCURACY`]. Returns the net and its held-out accuracy.
pub fn run(settings: Settings) -> Result<(Iris, f64), Box<dyn Error>> {
    let (mut train, mut test) = common::iris().split(0.2, SEED);
    // Measurements range from 0.1 cm to 7.9 cm; mean 0 and standard deviation 1 (with the
    // training set's statistics) suit tanh units.
    train.standardize(&mut [&mut test]);
    println!(
        "iris: {} training and {} held-out flowers; a 4-8-3 net with {} parameters",
        train.len(),
        test.len(),
        Iris::PARAMS
    );

    let mut net = Iris::new(SEED);
    let history = Trainer::new(&mut net, &mut Adam::new(0.01))
        .epochs(settings.epochs)
        .batch_size(16)
        .seed(SEED)
        .accuracy(argmax_accuracy)
        .progress(Progress::Hidden)
        .fit(&train.inputs, &train.targets)?;
    if let Some(last) = history.last() {
        println!("  {last}");
    }

    let held_out = accuracy(&net, &test.inputs, &test.targets, argmax_accuracy);
    println!("held-out accuracy: {:.1}%", 100.0 * held_out);
    println!("the first five held-out flowers:");
    for (x, &class) in test.inputs.iter().zip(&test.classes).take(5) {
        let p = net.forward(x);
        let guess = argmax(&p);
        println!(
            "  {:<10} predicted {:<10} (probability {:.2}){}",
            common::IRIS_SPECIES[class],
            common::IRIS_SPECIES[guess],
            p[guess],
            if guess == class { "" } else { "  wrong" }
        );
    }
    if held_out < MIN_ACCURACY {
        return Err(format!(
            "held-out accuracy {:.1}% is below {:.0}%",
            100.0 * held_out,
            100.0 * MIN_ACCURACY
        )
        .into());
    }
    Ok((net, held_out))
}

fn main() -> Result<(), Box<dyn Error>> {
    run(Settings::from_env())?;
    Ok(())
}
