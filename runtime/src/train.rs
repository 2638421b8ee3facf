//! A training loop over in-memory data sets (needs the `std` feature).
//!
//! ```
//! use chainrule::{Adam, Progress, Trainer, binary_accuracy, network};
//!
//! network! {
//!     net Xor {
//!         input x: [2];
//!         target t: [1];
//!         let h = dense(x, 2, sigmoid);
//!         let y = dense(h, 1, sigmoid);
//!         output y;
//!         loss bce(y, t);
//!     }
//! }
//!
//! let xs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
//! let ts = [[0.0], [1.0], [1.0], [0.0]];
//! let mut net = Xor::new(3);
//! let history = Trainer::new(&mut net, &mut Adam::new(0.05))
//!     .epochs(1500)
//!     .batch_size(4)
//!     .accuracy(binary_accuracy)
//!     .progress(Progress::Hidden)
//!     .fit(&xs, &ts)?;
//! let last = history.last().unwrap();
//! assert!(last.train_loss < history.epochs[0].train_loss);
//! println!("{last}"); // epoch 1500  loss 0.0011  acc 100.0%
//! # Ok::<(), chainrule::TrainError>(())
//! ```
//!
//! Each epoch shuffles the training set (seeded, so runs repeat exactly), cuts it into
//! mini-batches, and for each batch computes the mean loss's gradient with
//! [`Network::backward_batch`] (or `ParBackward` with the `rayon`
//! feature) and takes one optimizer step. After the epoch it evaluates the validation set
//! and the accuracy, records an [`EpochRecord`], and applies early stopping.
//!
//! The loop allocates its buffers (the shuffled order, one batch, the gradient) once per
//! [`Trainer::fit`], not per step.

use crate::data::{accuracy, mean_loss, shuffle_with};
use crate::{Float, Network, Optimizer, Schedule};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use std::boxed::Box;
use std::fmt;
use std::io::IsTerminal;
use std::vec::Vec;

/// When [`Trainer::fit`] shows a progress bar (on standard error).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Progress {
    /// A bar when standard error is a terminal, nothing otherwise (the default), so logs
    /// and CI output stay clean.
    #[default]
    Auto,
    /// Always a bar.
    Bar,
    /// Never a bar.
    Hidden,
}

/// One epoch's numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochRecord {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// The learning rate used in this epoch (after the [`Schedule`]).
    pub learning_rate: f64,
    /// The mean training loss over the epoch's batches (weighted by batch size), as seen
    /// while the parameters were changing.
    pub train_loss: f64,
    /// The mean validation loss after the epoch, if a validation set was given.
    pub valid_loss: Option<f64>,
    /// The training accuracy after the epoch, if an accuracy function was given.
    pub train_accuracy: Option<f64>,
    /// The validation accuracy after the epoch, if both were given.
    pub valid_accuracy: Option<f64>,
}

impl fmt::Display for EpochRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "epoch {:>3}  loss {:.4}", self.epoch, self.train_loss)?;
        if let Some(a) = self.train_accuracy {
            write!(f, "  acc {:5.1}%", 100.0 * a)?;
        }
        if let Some(l) = self.valid_loss {
            write!(f, "  val loss {l:.4}")?;
        }
        if let Some(a) = self.valid_accuracy {
            write!(f, "  val acc {:5.1}%", 100.0 * a)?;
        }
        Ok(())
    }
}

/// The record of a training run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One record per completed epoch, in order.
    pub epochs: Vec<EpochRecord>,
    /// The epoch (from 1) with the lowest monitored loss: the validation loss when a
    /// validation set was given, else the training loss.
    pub best_epoch: Option<usize>,
    /// True when early stopping ended the run before the last epoch.
    pub stopped_early: bool,
    /// True when the parameters were reset to those of `best_epoch` at the end.
    pub restored_best: bool,
}

impl History {
    /// The last completed epoch's record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// The training loss of each epoch, for plotting.
    pub fn train_losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|r| r.train_loss).collect()
    }

    /// The validation loss of each epoch (empty without a validation set), for plotting.
    pub fn valid_losses(&self) -> Vec<f64> {
        self.epochs.iter().filter_map(|r| r.valid_loss).collect()
    }
}

/// Which loss became non-finite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A training batch's loss.
    Train,
    /// The validation set's mean loss.
    Validation,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Train => "training",
            Phase::Validation => "validation",
        })
    }
}

/// Why [`Trainer::fit`] stopped without finishing.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A data set has a different number of inputs and targets.
    #[error("the {set} set has {inputs} inputs but {targets} targets")]
    LengthMismatch {
        /// `"training"` or `"validation"`.
        set: &'static str,
        /// The number of inputs.
        inputs: usize,
        /// The number of targets.
        targets: usize,
    },
    /// The training set is empty.
    #[error("the training set is empty")]
    EmptyTrainingSet,
    /// The batch size is zero.
    #[error("the batch size is 0; it must be at least 1")]
    ZeroBatchSize,
    /// A loss was NaN or infinite, so training cannot go on. The net keeps the parameters
    /// that produced it (the step for that batch was not taken).
    #[error(
        "the {phase} loss became {loss} in epoch {epoch}{}; \
         a lower learning rate or normalised inputs usually help",
        batch.map(|b| std::format!(" (batch {b})")).unwrap_or_default()
    )]
    NonFiniteLoss {
        /// The epoch, counting from 1.
        epoch: usize,
        /// The batch within the epoch, counting from 1, for a training loss.
        batch: Option<usize>,
        /// Which loss it was.
        phase: Phase,
        /// The loss: NaN or ±infinity.
        loss: f64,
        /// The epochs completed before it.
        history: History,
    },
}

/// The per-sample accuracy function: is this output right for this target?
type Correct<'a, N> = Box<dyn Fn(&<N as Network>::Output, &<N as Network>::Target) -> bool + 'a>;
/// A data set as borrowed inputs and targets.
type Split<'a, N> = (&'a [<N as Network>::Input], &'a [<N as Network>::Target]);
/// The per-epoch callback.
type OnEpoch<'a> = Box<dyn FnMut(&EpochRecord) + 'a>;

/// Trains a net with an optimizer; configure with the builder methods, then call
/// [`fit`](Trainer::fit).
///
/// | setting | default |
/// | --- | --- |
/// | [`epochs`](Trainer::epochs) | 10 |
/// | [`batch_size`](Trainer::batch_size) | 32 |
/// | [`seed`](Trainer::seed) | 0 |
/// | [`shuffle`](Trainer::shuffle) | on |
/// | [`schedule`](Trainer::schedule) | [`Schedule::Constant`] |
/// | [`validation`](Trainer::validation) | none |
/// | [`accuracy`](Trainer::accuracy) | none |
/// | [`patience`](Trainer::patience) | none (no early stopping) |
/// | [`min_delta`](Trainer::min_delta) | 0 |
/// | [`restore_best`](Trainer::restore_best) | on |
/// | [`progress`](Trainer::progress) | [`Progress::Auto`] |
/// | [`parallel`](Trainer::parallel) | on (with the `rayon` feature) |
pub struct Trainer<'a, N: Network, O> {
    net: &'a mut N,
    optimizer: &'a mut O,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    shuffle: bool,
    schedule: Schedule,
    validation: Option<Split<'a, N>>,
    accuracy: Option<Correct<'a, N>>,
    on_epoch: Option<OnEpoch<'a>>,
    patience: Option<usize>,
    min_delta: f64,
    restore_best: bool,
    progress: Progress,
    parallel: bool,
}

impl<N: Network, O> fmt::Debug for Trainer<'_, N, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trainer")
            .field("net", &N::NAME)
            .field("epochs", &self.epochs)
            .field("batch_size", &self.batch_size)
            .field("seed", &self.seed)
            .field("shuffle", &self.shuffle)
            .field("schedule", &self.schedule)
            .field("validation", &self.validation.map(|(x, _)| x.len()))
            .field("accuracy", &self.accuracy.is_some())
            .field("patience", &self.patience)
            .field("min_delta", &self.min_delta)
            .field("restore_best", &self.restore_best)
            .field("progress", &self.progress)
            .field("parallel", &self.parallel)
            .finish_non_exhaustive()
    }
}

impl<'a, N, O> Trainer<'a, N, O>
where
    N: Network,
    O: Optimizer<N::Scalar>,
{
    /// A trainer for `net` with `optimizer` and the defaults in the table above.
    pub fn new(net: &'a mut N, optimizer: &'a mut O) -> Self {
        Self {
            net,
            optimizer,
            epochs: 10,
            batch_size: 32,
            seed: 0,
            shuffle: true,
            schedule: Schedule::Constant,
            validation: None,
            accuracy: None,
            on_epoch: None,
            patience: None,
            min_delta: 0.0,
            restore_best: true,
            progress: Progress::Auto,
            parallel: true,
        }
    }

    /// The number of passes over the training set.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Samples per optimizer step; the last batch of an epoch may be smaller.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// The seed of the shuffle; the same seed gives the same run.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether to shuffle the training set before each epoch; off keeps its order.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// The learning-rate schedule, applied to the optimizer's learning rate at the start of
    /// `fit` (which is restored at the end).
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// A validation set, evaluated after each epoch and watched by early stopping.
    pub fn validation(mut self, inputs: &'a [N::Input], targets: &'a [N::Target]) -> Self {
        self.validation = Some((inputs, targets));
        self
    }

    /// How to tell a right answer, e.g. [`argmax_accuracy`](crate::argmax_accuracy) for a
    /// classifier with one-hot targets; the records then carry accuracies.
    pub fn accuracy(mut self, correct: impl Fn(&N::Output, &N::Target) -> bool + 'a) -> Self {
        self.accuracy = Some(Box::new(correct));
        self
    }

    /// Called with each epoch's record as soon as it is complete, e.g. to print it.
    pub fn on_epoch(mut self, callback: impl FnMut(&EpochRecord) + 'a) -> Self {
        self.on_epoch = Some(Box::new(callback));
        self
    }

    /// Stops after `patience` epochs without improvement of the monitored loss (the
    /// validation loss if there is a validation set, else the training loss).
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = Some(patience);
        self
    }

    /// The decrease that counts as an improvement for early stopping; default `0`.
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// With a validation set, whether to end with the parameters of the epoch with the
    /// lowest validation loss rather than the last epoch's. Without one it has no effect.
    pub fn restore_best(mut self, restore_best: bool) -> Self {
        self.restore_best = restore_best;
        self
    }

    /// When to show a progress bar.
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// With the `rayon` feature, whether to compute each batch's gradient on all cores with
    /// `ParBackward`; without the feature it has no effect.
    pub fn parallel(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self
    }

    /// Trains on `inputs` and `targets` (same length; for a net without a target, a slice
    /// of `()`), and returns the per-epoch records.
    ///
    /// # Errors
    /// [`TrainError`] for mismatched or empty data, a zero batch size, or a NaN or infinite
    /// loss (which stops training at once, naming the epoch).
    pub fn fit(
        mut self,
        inputs: &[N::Input],
        targets: &[N::Target],
    ) -> Result<History, TrainError> {
        check_lengths("training", inputs.len(), targets.len())?;
        if let Some((vx, vt)) = self.validation {
            check_lengths("validation", vx.len(), vt.len())?;
        }
        if inputs.is_empty() {
            return Err(TrainError::EmptyTrainingSet);
        }
        if self.batch_size == 0 {
            return Err(TrainError::ZeroBatchSize);
        }
        let base_lr = self.optimizer.learning_rate();
        let result = self.run(inputs, targets, base_lr);
        self.optimizer.set_learning_rate(base_lr);
        result
    }

    fn run(
        &mut self,
        inputs: &[N::Input],
        targets: &[N::Target],
        base_lr: f64,
    ) -> Result<History, TrainError> {
        let n = inputs.len();
        let batch_size = self.batch_size.min(n);
        let batches = n.div_ceil(batch_size);
        let bar = self.progress_bar(batches);

        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut order: Vec<usize> = (0..n).collect();
        let mut batch_x: Vec<N::Input> = Vec::with_capacity(batch_size);
        let mut batch_t: Vec<N::Target> = Vec::with_capacity(batch_size);
        let mut grad = Box::new(N::zeros());
        let mut backward = Backward::<N>::new(self.parallel);

        let mut history = History::default();
        let mut best_loss: Option<f64> = None;
        // A copy of the best parameters is kept only when it can be restored.
        let keep_best = self.restore_best && self.validation.is_some();
        let mut best_net: Option<Box<N>> = None;
        let mut since_best = 0;

        for epoch in 1..=self.epochs {
            let lr = self.schedule.learning_rate(base_lr, epoch - 1);
            self.optimizer.set_learning_rate(lr);
            if self.shuffle {
                shuffle_with(&mut order, &mut rng);
            }

            let mut total = 0.0;
            for (b, chunk) in order.chunks(batch_size).enumerate() {
                batch_x.clear();
                batch_t.clear();
                batch_x.extend(chunk.iter().map(|&i| inputs[i].clone()));
                batch_t.extend(chunk.iter().map(|&i| targets[i].clone()));
                grad.as_mut_slice().fill(N::Scalar::ZERO);
                let loss = backward.batch(self.net, &batch_x, &batch_t, &mut grad);
                if !loss.is_finite() {
                    bar.abandon();
                    return Err(TrainError::NonFiniteLoss {
                        epoch,
                        batch: Some(b + 1),
                        phase: Phase::Train,
                        loss: loss.to_f64(),
                        history,
                    });
                }
                self.optimizer.step_net(self.net, &grad);
                total += loss.to_f64() * chunk.len() as f64;
                bar.inc(1);
            }

            let record = self.evaluate(epoch, lr, total / n as f64, inputs, targets);
            if let Some(loss) = record.valid_loss.filter(|l| !l.is_finite()) {
                bar.abandon();
                return Err(TrainError::NonFiniteLoss {
                    epoch,
                    batch: None,
                    phase: Phase::Validation,
                    loss,
                    history,
                });
            }
            bar.set_message(bar_message(&record));
            if let Some(callback) = &mut self.on_epoch {
                callback(&record);
            }
            history.epochs.push(record);

            let monitored = record.valid_loss.unwrap_or(record.train_loss);
            let improved = best_loss.is_none_or(|best| monitored < best - self.min_delta);
            if improved {
                history.best_epoch = Some(epoch);
                best_loss = Some(monitored);
                since_best = 0;
                if keep_best {
                    match &mut best_net {
                        Some(net) => (**net).clone_from(self.net),
                        None => best_net = Some(Box::new(self.net.clone())),
                    }
                }
            } else {
                since_best += 1;
            }
            if self.patience.is_some_and(|p| since_best >= p) && epoch < self.epochs {
                history.stopped_early = true;
                break;
            }
        }

        let last = history.last().map(|r| r.epoch);
        if history.best_epoch != last
            && let Some(net) = &best_net
        {
            self.net.clone_from(net);
            history.restored_best = true;
        }
        bar.finish();
        Ok(history)
    }

    fn evaluate(
        &self,
        epoch: usize,
        learning_rate: f64,
        train_loss: f64,
        inputs: &[N::Input],
        targets: &[N::Target],
    ) -> EpochRecord {
        let net = &*self.net;
        let valid_loss = self.validation.map(|(x, t)| mean_loss(net, x, t));
        let (train_accuracy, valid_accuracy) = match &self.accuracy {
            Some(correct) => (
                Some(accuracy(net, inputs, targets, correct)),
                self.validation.map(|(x, t)| accuracy(net, x, t, correct)),
            ),
            None => (None, None),
        };
        EpochRecord {
            epoch,
            learning_rate,
            train_loss,
            valid_loss,
            train_accuracy,
            valid_accuracy,
        }
    }

    fn progress_bar(&self, batches: usize) -> ProgressBar {
        let show = match self.progress {
            Progress::Auto => std::io::stderr().is_terminal(),
            Progress::Bar => true,
            Progress::Hidden => false,
        };
        if !show {
            return ProgressBar::hidden();
        }
        let len = (self.epochs * batches) as u64;
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        // `wide_msg` is cut to the terminal's width, so the bar never wraps.
        let template = "{prefix} [{bar:20}] {pos}/{len} {eta:>3}  {wide_msg}";
        // The template is a constant, so the fallback never shows; it avoids a panic path.
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(N::NAME);
        bar
    }
}

/// The progress bar's short summary of an epoch: loss, validation loss, and accuracy
/// (validation accuracy when there is one).
fn bar_message(r: &EpochRecord) -> std::string::String {
    use std::fmt::Write;
    let mut m = std::format!("epoch {} loss {:.3}", r.epoch, r.train_loss);
    if let Some(l) = r.valid_loss {
        let _ = write!(m, " val {l:.3}");
    }
    if let Some(a) = r.valid_accuracy.or(r.train_accuracy) {
        let _ = write!(m, " acc {:.1}%", 100.0 * a);
    }
    m
}

fn check_lengths(set: &'static str, inputs: usize, targets: usize) -> Result<(), TrainError> {
    if inputs == targets {
        Ok(())
    } else {
        Err(TrainError::LengthMismatch {
            set,
            inputs,
            targets,
        })
    }
}

/// A batch gradient, serial or over the cores.
struct Backward<N: Network> {
    #[cfg(feature = "rayon")]
    par: Option<crate::par::ParBackward<N>>,
    _net: core::marker::PhantomData<fn() -> N>,
}

impl<N: Network> Backward<N> {
    #[cfg_attr(not(feature = "rayon"), allow(unused_variables))]
    fn new(parallel: bool) -> Self {
        Self {
            #[cfg(feature = "rayon")]
            par: parallel.then(crate::par::ParBackward::new),
            _net: core::marker::PhantomData,
        }
    }

    fn batch(&mut self, net: &N, xs: &[N::Input], ts: &[N::Target], grad: &mut N) -> N::Scalar {
        #[cfg(feature = "rayon")]
        if let Some(par) = &mut self.par {
            return par.backward_batch(net, xs, ts, grad);
        }
        net.backward_batch(xs, ts, grad)
    }
}
