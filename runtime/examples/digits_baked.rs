//! Digits, baked in: the weights `--example digits` trained and saved, compiled into this
//! binary by `#[weights(..)]`, as firmware would hold them: no file, no heap, and no
//! `std` needed to run the net.
//!
//! ```text
//! cargo run --release --example digits             # trains, saves target/chainrule-examples/digits.safetensors
//! cp target/chainrule-examples/digits.safetensors runtime/examples/
//! cargo run --release --example digits_baked       # bakes that file in, and checks it
//! ```
//!
//! `runtime/examples/digits.safetensors` is that file, committed. This example trains the
//! net again exactly as `--example digits` does (same data, seed and settings: training
//! is deterministic), and fails unless the baked-in net has the trained net's parameters
//! bit for bit, gives bit-identical scores on all 1797 digits, and equals the file loaded
//! at run time. It always trains the full 15 epochs (about 3 s in a debug build): the
//! committed file is the full run's.
#![forbid(unsafe_code)]

#[macro_use]
#[allow(dead_code)] // Only `run` and `Settings` are used here.
#[path = "digits.rs"]
mod digits;

use chainrule::{Progress, argmax};
use std::error::Error;

// The same definition as `Digits`, with the saved weights baked in.
digits_net!(#[weights("examples/digits.safetensors")] pub net DigitsBaked);

/// The trained parameters in read-only memory.
static BAKED: DigitsBaked = DigitsBaked::WEIGHTS;

/// What the comparison found.
#[derive(Debug)]
#[allow(dead_code)] // The fields are for tests/examples.rs.
pub struct Outcome {
    /// Digits scored, all bit-identical.
    pub compared: usize,
    /// How many of them the baked net classifies right.
    pub correct: usize,
}

/// Retrains the net as `--example digits` does and compares it with the baked-in one.
pub fn run(out_dir: std::path::PathBuf) -> Result<Outcome, Box<dyn Error>> {
    let settings = digits::Settings {
        out_dir,
        progress: Progress::Hidden,
        ..digits::Settings::full()
    };
    let trained = digits::run(&settings)?.net;
    let bits = |s: &[f32]| s.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    if bits(trained.as_slice()) != bits(BAKED.as_slice()) {
        return Err("the baked-in parameters differ from the trained ones: run `--example digits` and copy its weights to runtime/examples/".into());
    }
    let loaded: DigitsBaked =
        chainrule::load_safetensors(settings.out_dir.join("digits.safetensors"))?;
    if bits(loaded.as_slice()) != bits(BAKED.as_slice()) {
        return Err("the baked-in parameters differ from the file loaded at run time".into());
    }
    let all = common::digits();
    let mut correct = 0;
    for (x, class) in all.inputs.iter().zip(&all.classes) {
        let (a, b) = (trained.forward(x), BAKED.forward(x));
        if bits(&a) != bits(&b) {
            return Err(
                format!("the scores differ on a digit {class}: {a:?} against {b:?}").into(),
            );
        }
        correct += usize::from(argmax(&b) == *class);
    }
    println!(
        "baked-in net: {} parameters, bit-identical to the trained net; {} of {} digits scored bit for bit the same, {correct} right",
        DigitsBaked::PARAMS,
        all.len(),
        all.len()
    );
    Ok(Outcome {
        compared: all.len(),
        correct,
    })
}

use digits::common;

fn main() -> Result<(), Box<dyn Error>> {
    run(std::path::PathBuf::from("target/chainrule-examples"))?;
    Ok(())
}
