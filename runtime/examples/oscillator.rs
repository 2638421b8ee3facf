//! Oscillator: a GRU defined with `network!` learns a damped nonlinear oscillator from
//! noisy samples, then runs in real time, one sample in and one out, with `step`.
//!
//! ```text
//! cargo run --release --example oscillator
//! CHAINRULE_QUICK=1 cargo run --example oscillator    # quick mode, as CI runs it
//! ```
//!
//! The system is a Duffing oscillator, `x'' + 2ζω x' + ω² x + β x³ = u(t)`, pushed by a
//! force `u` that jumps to a new random level at random times, observed as its position
//! `x` plus Gaussian noise (standard deviation [`NOISE`]). The sequences are generated on
//! the fly from [`SEED`]. The net sees only the force and must predict the position, so
//! it has to integrate the force and carry the oscillation from step to step. It trains
//! on noisy positions and is scored on the clean positions of sequences it never trained
//! on.
//!
//! It fails unless the held-out RMSE is at most [`MAX_RMSE`] (0.15; measured 0.010 full
//! and 0.070 quick, against 0.55 for predicting zero; the training loss ends at the
//! noise's variance, 0.0025), and unless `step`, fed a held-out
//! sequence sample by sample, gives exactly the rows `forward` gives. It then streams a
//! sequence four times as long as the training ones through `step` and draws
//! `target/chainrule-examples/oscillator.png`: the loss curves, and the prediction against
//! the clean and noisy positions.
//!
//! Quick mode (`CHAINRULE_QUICK` set to anything but `0`) trains on 96 sequences in
//! batches of 4 for 12 epochs instead of 512 in batches of 16 for 60; the bar stays the
//! same. The full run takes about 4 s in release on one core.
#![forbid(unsafe_code)]

mod common;

use chainrule::{Adam, History, Progress, Schedule, Trainer, network};
use plotters::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use std::error::Error;
use std::path::{Path, PathBuf};

/// Steps per training sequence.
pub const STEPS: usize = 64;

network! {
    /// The force on the oscillator in, its position out, one sample per step: a GRU of
    /// 16 units read out linearly at every step.
    pub net Oscillator {
        input us: [64, 1];
        target xs: [64, 1];
        param wo: [1, 16] = xavier;
        param bo: [1];
        let h = gru(us, 16);
        let ys = for r in h { wo @ r + bo };
        output ys;
        loss mse(ys, xs);
    }
}

/// The seed of the data, the initial weights and the shuffling.
pub const SEED: u64 = 7;
/// The standard deviation of the noise on the positions the net trains on.
pub const NOISE: f64 = 0.05;
/// The held-out RMSE against the clean positions a run must reach, quick or not.
pub const MAX_RMSE: f64 = 0.15;

/// How much to train: the full demo, or the quick run CI does.
#[derive(Clone, Debug)]
pub struct Settings {
    pub sequences: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub out_dir: PathBuf,
}

impl Settings {
    pub fn full() -> Settings {
        Settings {
            sequences: 512,
            epochs: 60,
            batch_size: 16,
            out_dir: PathBuf::from("target/chainrule-examples"),
        }
    }

    pub fn quick() -> Settings {
        Settings {
            sequences: 96,
            epochs: 12,
            batch_size: 4,
            ..Self::full()
        }
    }

    /// Quick when `CHAINRULE_QUICK` is set to anything but `""` or `"0"`.
    pub fn from_env() -> Settings {
        let quick = std::env::var_os("CHAINRULE_QUICK").is_some_and(|v| !v.is_empty() && v != "0");
        if quick { Self::quick() } else { Self::full() }
    }
}

/// The oscillator: `ω = 1`, damping ratio `ζ = 0.1`, cubic stiffness `β = 0.5`, sampled
/// every 0.25 time units (a period is about 25 samples), integrated with 8 semi-implicit
/// Euler substeps per sample, starting at rest.
struct Duffing {
    x: f64,
    v: f64,
}

impl Duffing {
    const OMEGA: f64 = 1.0;
    const ZETA: f64 = 0.1;
    const BETA: f64 = 0.5;
    const DT: f64 = 0.25;
    const SUBSTEPS: usize = 8;

    fn at_rest() -> Self {
        Duffing { x: 0.0, v: 0.0 }
    }

    /// Advances one sample under force `u` and returns the position.
    fn advance(&mut self, u: f64) -> f64 {
        let h = Self::DT / Self::SUBSTEPS as f64;
        for _ in 0..Self::SUBSTEPS {
            let a = u
                - 2.0 * Self::ZETA * Self::OMEGA * self.v
                - Self::OMEGA * Self::OMEGA * self.x
                - Self::BETA * self.x.powi(3);
            self.v += h * a;
            self.x += h * self.v;
        }
        self.x
    }
}

/// One sequence: the force, the clean positions and the noisy ones.
#[derive(Clone, Debug)]
pub struct Sequence {
    pub force: Vec<f64>,
    pub clean: Vec<f64>,
    pub noisy: Vec<f64>,
}

/// A sequence of `steps` samples from rest: the force holds a level uniform on ±1 for 4
/// to 35 samples, then jumps to another.
pub fn sequence(rng: &mut ChaCha8Rng, steps: usize) -> Sequence {
    let mut uniform = || -> f64 { (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 };
    let mut osc = Duffing::at_rest();
    let (mut force, mut clean, mut noisy) = (Vec::new(), Vec::new(), Vec::new());
    let (mut level, mut left) = (0.0, 0);
    for _ in 0..steps {
        if left == 0 {
            level = 2.0 * uniform() - 1.0;
            left = 4 + (uniform() * 32.0) as usize;
        }
        left -= 1;
        let x = osc.advance(level);
        // Box–Muller: a standard normal from two uniforms.
        let normal =
            (-2.0 * (1.0 - uniform()).ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos();
        force.push(level);
        clean.push(x);
        noisy.push(x + NOISE * normal);
    }
    Sequence {
        force,
        clean,
        noisy,
    }
}

/// A sequence as the net's input and target rows.
fn rows(s: &[f64]) -> [[f32; 1]; STEPS] {
    core::array::from_fn(|t| [s[t] as f32])
}

/// What a run produced.
#[derive(Debug)]
#[allow(dead_code)] // The fields are for tests/examples.rs.
pub struct Outcome {
    pub net: Oscillator,
    pub history: History,
    /// The held-out RMSE against the clean positions, and predicting zero's.
    pub held_out_rmse: f64,
    pub zero_rmse: f64,
    /// The RMSE of the long streamed sequence against its clean positions.
    pub streamed_rmse: f64,
    pub png: PathBuf,
}

/// Trains the net, prints the epochs and the scores, streams a long sequence and draws
/// the PNG; fails below the bars in the module's documentation.
pub fn run(settings: &Settings) -> Result<Outcome, Box<dyn Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let train: Vec<Sequence> = (0..settings.sequences)
        .map(|_| sequence(&mut rng, STEPS))
        .collect();
    let test: Vec<Sequence> = (0..128).map(|_| sequence(&mut rng, STEPS)).collect();
    let inputs: Vec<_> = train.iter().map(|s| rows(&s.force)).collect();
    let targets: Vec<_> = train.iter().map(|s| rows(&s.noisy)).collect();
    let test_inputs: Vec<_> = test.iter().map(|s| rows(&s.force)).collect();
    let test_targets: Vec<_> = test.iter().map(|s| rows(&s.clean)).collect();
    println!(
        "oscillator: {} training and {} held-out sequences of {STEPS} samples; a GRU of 16 units with {} parameters",
        train.len(),
        test.len(),
        Oscillator::PARAMS
    );

    let mut net = Oscillator::new(SEED);
    let history = Trainer::new(&mut net, &mut Adam::new(0.01))
        .epochs(settings.epochs)
        .batch_size(settings.batch_size)
        .seed(SEED)
        .schedule(Schedule::Cosine {
            epochs: settings.epochs,
            min_lr: 0.0005,
        })
        .validation(&test_inputs, &test_targets)
        .restore_best(false)
        .progress(Progress::Hidden)
        .on_epoch(|r| println!("  {r}"))
        .fit(&inputs, &targets)?;

    let squares = |pred: &dyn Fn(usize, usize) -> f64| -> f64 {
        let mut total = 0.0;
        for (k, s) in test.iter().enumerate() {
            for t in 0..STEPS {
                total += (pred(k, t) - s.clean[t]).powi(2);
            }
        }
        (total / (test.len() * STEPS) as f64).sqrt()
    };
    let predictions: Vec<_> = test_inputs.iter().map(|u| net.forward(u)).collect();
    let held_out_rmse = squares(&|k, t| f64::from(predictions[k][t][0]));
    let zero_rmse = squares(&|_, _| 0.0);
    println!(
        "held-out RMSE against the clean positions {held_out_rmse:.3}; predicting zero {zero_rmse:.3}"
    );

    // Real time: one sample in, one out. Row by row, `step` is `forward`.
    let mut state = net.initial_state();
    let stepped: Vec<[f32; 1]> = test_inputs[0]
        .iter()
        .map(|u| net.step(&mut state, u))
        .collect();
    if stepped != predictions[0] {
        return Err("step and forward differ on a held-out sequence".into());
    }
    let long = sequence(&mut rng, 4 * STEPS);
    let mut state = net.initial_state();
    let streamed: Vec<f64> = (long.force.iter())
        .map(|u| f64::from(net.step(&mut state, &[*u as f32])[0]))
        .collect();
    let streamed_rmse = (streamed.iter().zip(&long.clean))
        .map(|(p, x)| (p - x).powi(2))
        .sum::<f64>()
        .sqrt()
        / (long.clean.len() as f64).sqrt();
    println!(
        "streamed {} samples one at a time with `step`: RMSE {streamed_rmse:.3}",
        long.clean.len()
    );

    std::fs::create_dir_all(&settings.out_dir)?;
    let png = settings.out_dir.join("oscillator.png");
    plot(&png, &history, &long, &streamed)?;
    println!("wrote {}", png.display());

    if held_out_rmse > MAX_RMSE {
        return Err(format!("held-out RMSE {held_out_rmse:.3} is above {MAX_RMSE}").into());
    }
    Ok(Outcome {
        net,
        history,
        held_out_rmse,
        zero_rmse,
        streamed_rmse,
        png,
    })
}

/// The loss curves above, the streamed prediction against the positions below.
fn plot(
    path: &Path,
    history: &History,
    long: &Sequence,
    streamed: &[f64],
) -> Result<(), Box<dyn Error>> {
    common::register_font()?;
    let root = BitMapBackend::new(path, (1100, 760)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(300);
    common::plot_losses(&top, "GRU-16 on a damped Duffing oscillator", history)?;
    let n = long.clean.len();
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            "streamed with step(), one sample at a time",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..n as f64, -2.0..2.0)?;
    chart
        .configure_mesh()
        .x_desc("sample")
        .y_desc("position")
        .label_style(("sans-serif", 14))
        .draw()?;
    let line = |v: &[f64]| -> Vec<(f64, f64)> {
        v.iter().enumerate().map(|(t, y)| (t as f64, *y)).collect()
    };
    let gray = RGBColor(170, 170, 170);
    let blue = RGBColor(31, 119, 180);
    let orange = RGBColor(255, 127, 14);
    let green = RGBColor(44, 160, 44);
    chart
        .draw_series(LineSeries::new(
            line(&long.force),
            green.mix(0.6).stroke_width(1),
        ))?
        .label("force")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], green.stroke_width(2)));
    chart
        .draw_series(
            long.noisy
                .iter()
                .enumerate()
                .map(|(t, y)| Circle::new((t as f64, *y), 2, gray.filled())),
        )?
        .label("noisy position")
        .legend(move |(x, y)| Circle::new((x + 10, y), 3, gray.filled()));
    chart
        .draw_series(LineSeries::new(line(&long.clean), blue.stroke_width(2)))?
        .label("position")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(line(streamed), orange.stroke_width(2)))?
        .label("prediction")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], orange.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    run(&Settings::from_env())?;
    Ok(())
}
