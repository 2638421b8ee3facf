//! The XOR network of the backpropagation lecture: two sigmoid hidden units and one
//! sigmoid output, trained with Adam on the four points of XOR.
//!
//! ```text
//! cargo run --release --example xor
//! CHAINRULE_QUICK=1 cargo run --example xor    # quick mode, as CI runs it
//! ```
//!
//! Quick mode (`CHAINRULE_QUICK` set to anything but `0`) trains 300 epochs instead of
//! 1000, still enough to get all four points right.
//!
//! The equations `network!` derived for the backward pass are in the rustdoc of
//! `Xor::backward`: `cargo doc -p chainrule --example xor --no-deps --open`.
#![forbid(unsafe_code)]

use chainrule::{Adam, History, Progress, Trainer, binary_accuracy, network};
use std::error::Error;

network! {
    /// Two sigmoid hidden units, one sigmoid output.
    pub net Xor {
        input  x: [2];
        target t: [1];

        param w1: [2, 2] = xavier;
        param b1: [2];                 // init defaults to zeros
        param w2: [1, 2] = xavier;
        param b2: [1];

        let h = sigmoid(w1 @ x + b1);
        let y = sigmoid(w2 @ h + b2);

        output y;
        loss bce(y, t);
    }
}

/// The four points of XOR and their targets.
pub const INPUTS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
pub const TARGETS: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

/// The seed of the initial weights. From about a third of seeds (1, 2 and 5 among them)
/// the 2-2-1 net falls into a local minimum: the loss stalls near 0.35 or 0.48 with one or
/// two points wrong. From seed 3 it learns XOR.
pub const SEED: u64 = 3;

/// How long to train: the full demo, or the quick run CI does.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub epochs: usize,
}

impl Settings {
    pub const FULL: Settings = Settings { epochs: 1000 };
    pub const QUICK: Settings = Settings { epochs: 300 };

    /// Quick when `CHAINRULE_QUICK` is set to anything but `""` or `"0"`.
    pub fn from_env() -> Settings {
        let quick = std::env::var_os("CHAINRULE_QUICK").is_some_and(|v| !v.is_empty() && v != "0");
        if quick { Self::QUICK } else { Self::FULL }
    }
}

/// Trains the net, prints the loss falling and the four predictions, and fails unless all
/// four are on the right side of 0.5.
pub fn run(settings: Settings) -> Result<(Xor, History), Box<dyn Error>> {
    let mut net = Xor::new(SEED);
    println!(
        "XOR, a 2-2-1 sigmoid net with {} parameters, seed {SEED}",
        Xor::PARAMS
    );
    // One batch of all four points per epoch, so an epoch is one Adam step.
    let history = Trainer::new(&mut net, &mut Adam::new(0.05))
        .epochs(settings.epochs)
        .batch_size(4)
        .accuracy(binary_accuracy)
        .progress(Progress::Hidden)
        .on_epoch(|r| {
            if [1, 10, 30, 100, 300, 1000].contains(&r.epoch) {
                println!("  {r}");
            }
        })
        .fit(&INPUTS, &TARGETS)?;

    println!("predictions:");
    let mut right = 0;
    for (x, t) in INPUTS.iter().zip(&TARGETS) {
        let y = net.forward(x);
        right += usize::from(binary_accuracy(&y, t));
        println!("  {} xor {} = {:.4}   (target {})", x[0], x[1], y[0], t[0]);
    }
    println!("the equations network! derived for the backward pass are on Xor::backward in");
    println!("  cargo doc -p chainrule --example xor --no-deps --open");
    if right < INPUTS.len() {
        return Err(format!("only {right} of 4 points right; the net did not learn XOR").into());
    }
    Ok((net, history))
}

fn main() -> Result<(), Box<dyn Error>> {
    run(Settings::from_env())?;
    Ok(())
}
