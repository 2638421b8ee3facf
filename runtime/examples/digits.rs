//! Handwritten digits: a network defined with `network!` learns the 8×8 UCI digits
//! (1797 images, bundled in the `smartcore` crate, so nothing is downloaded) and is scored
//! on 359 images it never trained on.
//!
//! ```text
//! cargo run --release --example digits
//! CHAINRULE_QUICK=1 cargo run --example digits    # quick mode, as CI runs it
//! ```
//!
//! It prints each epoch (a progress bar when standard error is a terminal), the held-out
//! accuracy and where the mistakes are, then writes the trained weights as safetensors and
//! a PNG of the loss curves with some held-out digits and their predictions, under
//! `target/chainrule-examples/`. It fails unless the held-out accuracy is at least 95%.
//!
//! Quick mode (`CHAINRULE_QUICK` set to anything but `0`) trains 3 epochs instead of 15;
//! the bar stays at 95%.
#![forbid(unsafe_code)]

#[macro_use]
pub(crate) mod common;

use chainrule::{Adam, History, Progress, Schedule, Trainer, accuracy, argmax, argmax_accuracy};
use std::error::Error;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

// The net `Digits`, defined in `common/digits_net.rs` (shared with `digits_baked`,
// which bakes this example's saved weights into its binary).
digits_net!(pub net Digits);

/// The seed of both the initial weights and the shuffling, so every run is the same.
pub const SEED: u64 = 2;
/// The held-out accuracy a run must reach, quick or not.
pub const MIN_ACCURACY: f64 = 0.95;

/// What a run does: the full demo, or the quick run CI does.
#[derive(Clone, Debug)]
pub struct Settings {
    pub epochs: usize,
    pub progress: Progress,
    /// Where the weights and the PNG go.
    pub out_dir: PathBuf,
}

impl Settings {
    pub fn full() -> Settings {
        Settings {
            epochs: 15,
            progress: Progress::Auto,
            out_dir: default_out_dir(),
        }
    }

    pub fn quick() -> Settings {
        Settings {
            epochs: 3,
            ..Settings::full()
        }
    }

    /// Quick when `CHAINRULE_QUICK` is set to anything but `""` or `"0"`.
    pub fn from_env() -> Settings {
        let quick = std::env::var_os("CHAINRULE_QUICK").is_some_and(|v| !v.is_empty() && v != "0");
        if quick {
            Settings::quick()
        } else {
            Settings::full()
        }
    }
}

/// What a run produced.
#[derive(Debug)]
#[allow(dead_code)] // The fields are for tests/examples.rs.
pub struct Outcome {
    pub net: Digits,
    pub history: History,
    pub held_out_accuracy: f64,
    pub weights: PathBuf,
    pub png: PathBuf,
}

/// Trains the net, prints the epochs, the held-out accuracy and a confusion table, writes
/// the weights and the PNG, and fails below [`MIN_ACCURACY`].
pub fn run(settings: &Settings) -> Result<Outcome, Box<dyn Error>> {
    let (train, test) = common::digits().split(0.2, 42);
    println!(
        "digits: {} training and {} held-out images of 8×8 pixels; a 64-32-10 net with {} parameters",
        train.len(),
        test.len(),
        Digits::PARAMS
    );
    println!("(\"val\" is the held-out set: watched after each epoch, never trained on)");

    let mut net = Digits::new(SEED);
    let bar = match settings.progress {
        Progress::Auto => std::io::stderr().is_terminal(),
        Progress::Bar => true,
        Progress::Hidden => false,
    };
    let start = Instant::now();
    let history = Trainer::new(&mut net, &mut Adam::new(0.03))
        .epochs(settings.epochs)
        .batch_size(32)
        .seed(SEED)
        .schedule(Schedule::Cosine {
            epochs: settings.epochs,
            min_lr: 0.0015,
        })
        .accuracy(argmax_accuracy)
        // One thread even with the `rayon` feature: each gradient is then summed in one
        // order, so the trained weights are the same bits in every build, which
        // `digits_baked` checks against the committed file. (Batches of 32 gain little
        // from threads.)
        .parallel(false)
        // The held-out images are only watched: without early stopping or restoring the
        // best epoch they pick no epoch, so the final accuracy on them is a fair one.
        .validation(&test.inputs, &test.targets)
        .restore_best(false)
        .progress(settings.progress)
        // Lines printed under a live bar would garble it, so with a bar they come after.
        .on_epoch(|r| {
            if !bar {
                println!("  {r}");
            }
        })
        .fit(&train.inputs, &train.targets)?;
    let seconds = start.elapsed().as_secs_f64();
    if bar {
        history.epochs.iter().for_each(|r| println!("  {r}"));
    }

    let predicted: Vec<usize> = test
        .inputs
        .iter()
        .map(|x| argmax(&net.forward(x)))
        .collect();
    let held_out_accuracy = accuracy(&net, &test.inputs, &test.targets, argmax_accuracy);
    let wrong = predicted
        .iter()
        .zip(&test.classes)
        .filter(|(p, c)| p != c)
        .count();
    println!(
        "held-out accuracy: {:.1}% ({} of {} wrong) after {} epochs in {seconds:.2} s",
        100.0 * held_out_accuracy,
        wrong,
        test.len(),
        settings.epochs
    );
    print_confusion(&test.classes, &predicted);

    std::fs::create_dir_all(&settings.out_dir)?;
    let weights = settings.out_dir.join("digits.safetensors");
    chainrule::save_safetensors(&net, &weights)?;
    // Reading the file back shows it holds exactly these weights.
    let reloaded: Digits = chainrule::load_safetensors(&weights)?;
    if reloaded != net {
        return Err("the weights read back differ from the trained ones".into());
    }
    println!(
        "weights: {} (tensors {})",
        shown(&weights),
        Digits::LAYOUT
            .iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
            .join(", ")
    );

    let png = settings.out_dir.join("digits.png");
    let title = format!(
        "digits: 64-32-10, held-out accuracy {:.1}%",
        100.0 * held_out_accuracy
    );
    common::plot_run(&png, &title, &history, &pick_examples(&test, &predicted))?;
    println!("plot:    {}", shown(&png));

    if held_out_accuracy < MIN_ACCURACY {
        return Err(format!(
            "held-out accuracy {:.1}% is below {:.0}%",
            100.0 * held_out_accuracy,
            100.0 * MIN_ACCURACY
        )
        .into());
    }
    Ok(Outcome {
        net,
        history,
        held_out_accuracy,
        weights,
        png,
    })
}

/// A table of true digit (rows) against prediction (columns); dots are zeros, so the
/// mistakes stand out off the diagonal.
fn print_confusion(classes: &[usize], predicted: &[usize]) {
    let mut counts = [[0usize; 10]; 10];
    for (&c, &p) in classes.iter().zip(predicted) {
        counts[c][p] += 1;
    }
    println!("true digit (rows) against prediction (columns):");
    println!(
        "      {}",
        (0..10).map(|d| format!("{d:>4}")).collect::<String>()
    );
    for (digit, row) in counts.iter().enumerate() {
        let cells: String = row
            .iter()
            .map(|&n| {
                if n == 0 {
                    format!("{:>4}", ".")
                } else {
                    format!("{n:>4}")
                }
            })
            .collect();
        println!("  {digit:>3} {cells}");
    }
}

/// Twelve held-out digits for the PNG: up to four mistakes, the rest the first right
/// ones, in held-out order.
fn pick_examples<'a>(
    test: &'a common::Labelled<64, 10>,
    predicted: &[usize],
) -> Vec<common::Shown<'a>> {
    let shown = |i: usize| common::Shown {
        pixels: &test.inputs[i],
        class: test.classes[i],
        predicted: predicted[i],
    };
    let wrong = (0..test.len()).filter(|&i| predicted[i] != test.classes[i]);
    let right = (0..test.len()).filter(|&i| predicted[i] == test.classes[i]);
    let mut picked: Vec<usize> = wrong.take(4).collect();
    picked.extend(right.take(12 - picked.len()));
    picked.sort_unstable();
    picked.into_iter().map(shown).collect()
}

/// `target/chainrule-examples/` of the build this example is part of, whichever directory
/// cargo was started in (the example runs as `target/<profile>/examples/digits`).
fn default_out_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("chainrule-examples")
}

/// A path relative to the current directory when it is below it, else as it is.
fn shown(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|dir| path.strip_prefix(dir).ok().map(Path::to_path_buf));
    relative.as_deref().unwrap_or(path).display().to_string()
}

fn main() -> Result<(), Box<dyn Error>> {
    run(&Settings::from_env())?;
    Ok(())
}
