//! What the examples share: data sets shipped inside crates (no download at run time),
//! train/test splits, and a PNG of the training run drawn without any system library or
//! system font.
//!
//! - Digits: the 8×8 UCI handwritten digits, 1797 images with pixels 0..=16, bundled in
//!   `smartcore` (feature `datasets`, file `src/dataset/digits.xy`).
//! - Iris: Fisher's 150 flowers, 4 measurements, 3 species, from the same crate.
//! - Diabetes: Efron et al.'s 442 patients, 10 measurements, and a real-valued measure of
//!   disease progression a year later, from the same crate: a regression task.
//! - The PNG is drawn by `plotters`' bitmap backend; text uses its `ab_glyph` renderer
//!   with DejaVu Sans from the `dejavu` crate, so nothing is looked up on the machine.
#![allow(dead_code)]

#[macro_use]
mod digits_net;

use chainrule::History;
use plotters::prelude::*;
use std::error::Error;
use std::path::Path;

/// A labelled data set: inputs, one-hot targets, and the class of each sample.
#[derive(Clone, Debug)]
pub struct Labelled<const D: usize, const K: usize> {
    pub inputs: Vec<[f32; D]>,
    pub targets: Vec<[f32; K]>,
    pub classes: Vec<usize>,
}

impl<const D: usize, const K: usize> Labelled<D, K> {
    fn from_parts(inputs: Vec<[f32; D]>, classes: Vec<usize>) -> Self {
        let targets = classes.iter().map(|&c| chainrule::one_hot(c)).collect();
        Self {
            inputs,
            targets,
            classes,
        }
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Shuffles with `seed` and cuts off the last `test_fraction` as a test set, so the
    /// split is the same on every run and every machine.
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Self, Self) {
        let (train, held) = split_rows(self.len(), test_fraction, seed);
        (self.select(&train), self.select(&held))
    }

    fn select(&self, rows: &[usize]) -> Self {
        Self {
            inputs: rows.iter().map(|&i| self.inputs[i]).collect(),
            targets: rows.iter().map(|&i| self.targets[i]).collect(),
            classes: rows.iter().map(|&i| self.classes[i]).collect(),
        }
    }

    /// Rescales every feature to mean 0 and standard deviation 1 with the statistics of
    /// `self` (the training set), and applies the same to `others` (test sets).
    pub fn standardize(&mut self, others: &mut [&mut Self]) {
        let n = self.len() as f32;
        for j in 0..D {
            let mean = self.inputs.iter().map(|x| x[j]).sum::<f32>() / n;
            let var = self
                .inputs
                .iter()
                .map(|x| (x[j] - mean).powi(2))
                .sum::<f32>()
                / n;
            let sd = var.sqrt().max(1e-6);
            for set in std::iter::once(&mut *self).chain(others.iter_mut().map(|s| &mut **s)) {
                for x in &mut set.inputs {
                    x[j] = (x[j] - mean) / sd;
                }
            }
        }
    }
}

/// Shuffles the row numbers `0..len` with `seed` and cuts off the last `test_fraction` of
/// them: the training rows, then the test rows.
fn split_rows(len: usize, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..len).collect();
    chainrule::shuffle(&mut order, seed);
    let test = (len as f64 * test_fraction).round() as usize;
    let held = order.split_off(len - test);
    (order, held)
}

/// A regression data set: inputs and one real-valued target per sample, in `f64`.
#[derive(Clone, Debug)]
pub struct Regression<const D: usize> {
    pub inputs: Vec<[f64; D]>,
    pub targets: Vec<[f64; 1]>,
}

/// The affine map standardizing did to a value: `standardized = (value - mean) / sd`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scaling {
    pub mean: f64,
    pub sd: f64,
}

impl Scaling {
    /// The mean and (population) standard deviation of `values`.
    fn of(values: impl Iterator<Item = f64> + Clone) -> Self {
        let n = values.clone().count() as f64;
        let mean = values.clone().sum::<f64>() / n;
        let var = values.map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        Self {
            mean,
            sd: var.sqrt().max(1e-12),
        }
    }

    /// Back from standardized units to the original ones.
    pub fn undo(&self, standardized: f64) -> f64 {
        standardized * self.sd + self.mean
    }
}

impl<const D: usize> Regression<D> {
    /// The number of samples.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Shuffles with `seed` and cuts off the last `test_fraction` as a test set, the same
    /// way as [`Labelled::split`].
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Self, Self) {
        let (train, held) = split_rows(self.len(), test_fraction, seed);
        (self.select(&train), self.select(&held))
    }

    fn select(&self, rows: &[usize]) -> Self {
        Self {
            inputs: rows.iter().map(|&i| self.inputs[i]).collect(),
            targets: rows.iter().map(|&i| self.targets[i]).collect(),
        }
    }

    /// Rescales every feature and the target to mean 0 and standard deviation 1 with the
    /// statistics of `self` (the training set), applies the same to `others` (test sets),
    /// and returns the target's scaling, to turn predictions back into original units.
    pub fn standardize(&mut self, others: &mut [&mut Self]) -> Scaling {
        for j in 0..D {
            let s = Scaling::of(self.inputs.iter().map(|x| x[j]));
            for set in std::iter::once(&mut *self).chain(others.iter_mut().map(|s| &mut **s)) {
                for x in &mut set.inputs {
                    x[j] = (x[j] - s.mean) / s.sd;
                }
            }
        }
        let s = Scaling::of(self.targets.iter().map(|t| t[0]));
        for set in std::iter::once(&mut *self).chain(others.iter_mut().map(|s| &mut **s)) {
            for t in &mut set.targets {
                t[0] = (t[0] - s.mean) / s.sd;
            }
        }
        s
    }
}

/// The 442 diabetes patients: age, sex, body mass index, blood pressure and six blood
/// serum measurements (already centred and scaled in the crate), and the disease
/// progression a year later (a whole number from 25 to 346).
pub fn diabetes() -> Regression<10> {
    let data = smartcore::dataset::diabetes::load_dataset();
    assert_eq!((data.num_samples, data.num_features), (442, 10));
    let inputs = data
        .data
        .chunks_exact(10)
        .map(|row| std::array::from_fn(|i| f64::from(row[i])))
        .collect();
    // smartcore keeps the target as a u32.
    let targets = data.target.iter().map(|&y| [f64::from(y)]).collect();
    Regression { inputs, targets }
}

/// The 1797 UCI digits, pixels scaled from 0..=16 to 0..=1, ten classes.
pub fn digits() -> Labelled<64, 10> {
    let data = smartcore::dataset::digits::load_dataset();
    assert_eq!((data.num_samples, data.num_features), (1797, 64));
    let inputs = data
        .data
        .chunks_exact(64)
        .map(|row| std::array::from_fn(|i| row[i] / 16.0))
        .collect();
    // smartcore keeps the labels as f32 values 0.0..=9.0.
    let classes = data.target.iter().map(|&c| c as usize).collect();
    Labelled::from_parts(inputs, classes)
}

/// The 150 iris flowers in cm, three species (setosa, versicolor, virginica).
pub fn iris() -> Labelled<4, 3> {
    let data = smartcore::dataset::iris::load_dataset();
    assert_eq!((data.num_samples, data.num_features), (150, 4));
    let inputs = data
        .data
        .chunks_exact(4)
        .map(|row| [row[0], row[1], row[2], row[3]])
        .collect();
    let classes = data.target.iter().map(|&c| c as usize).collect();
    Labelled::from_parts(inputs, classes)
}

/// The species names of iris classes 0, 1, 2.
pub const IRIS_SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// Makes DejaVu Sans the font plotters draws `"sans-serif"` with. Plotters' `ab_glyph`
/// renderer has no fonts of its own and never looks at the system's.
pub fn register_font() -> Result<(), Box<dyn Error>> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the bundled DejaVu Sans font did not load")?;
    Ok(())
}

/// One digit to show: its pixels (0..=1), the true class and the predicted one.
pub struct Shown<'a> {
    pub pixels: &'a [f32; 64],
    pub class: usize,
    pub predicted: usize,
}

/// Writes a PNG of the run: the loss curves on the left (training, and validation if the
/// history has it), and the given digits on the right, each titled with its prediction
/// (green when right, red when wrong). `title` goes above the loss curves.
pub fn plot_run(
    path: &Path,
    title: &str,
    history: &History,
    digits: &[Shown<'_>],
) -> Result<(), Box<dyn Error>> {
    register_font()?;
    let root = BitMapBackend::new(path, (1100, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    plot_losses(&left, title, history)?;
    plot_digits(&right, digits)?;
    root.present()?;
    Ok(())
}

pub fn plot_losses<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    history: &History,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let train = history.train_losses();
    let valid = history.valid_losses();
    let epochs = train.len().max(2) as f64;
    let top = train
        .iter()
        .chain(&valid)
        .copied()
        .filter(|l| l.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.05;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(1.0..epochs, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("mean loss")
        .x_label_formatter(&|e| format!("{e:.0}"))
        .label_style(("sans-serif", 14))
        .draw()?;
    let points = |v: &[f64]| -> Vec<(f64, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, l)| ((i + 1) as f64, *l))
            .collect()
    };
    let blue = RGBColor(31, 119, 180);
    let orange = RGBColor(255, 127, 14);
    chart
        .draw_series(LineSeries::new(points(&train), blue.stroke_width(2)))?
        .label("training")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
    if !valid.is_empty() {
        chart
            .draw_series(LineSeries::new(points(&valid), orange.stroke_width(2)))?
            .label("validation")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], orange.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn plot_digits<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    digits: &[Shown<'_>],
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    if digits.is_empty() {
        return Ok(());
    }
    let area = area.margin(20, 20, 10, 20);
    let cols = 4;
    let rows = digits.len().div_ceil(cols);
    for (cell, shown) in area.split_evenly((rows, cols)).iter().zip(digits) {
        let right = shown.predicted == shown.class;
        let color = if right {
            RGBColor(0, 130, 0)
        } else {
            RGBColor(200, 0, 0)
        };
        let label = if right {
            format!("predicted {}", shown.predicted)
        } else {
            format!("predicted {} (is {})", shown.predicted, shown.class)
        };
        let cell = cell.titled(&label, ("sans-serif", 14).into_font().color(&color))?;
        let (w, h) = cell.dim_in_pixel();
        let side = (w.min(h) as i32 - 6) / 8;
        let x0 = (w as i32 - 8 * side) / 2;
        for (k, &p) in shown.pixels.iter().enumerate() {
            // Ink is dark on white, as on the forms the digits were written on.
            let shade = (255.0 * (1.0 - p.clamp(0.0, 1.0))) as u8;
            let (r, c) = ((k / 8) as i32, (k % 8) as i32);
            let top_left = (x0 + c * side, r * side);
            let bottom_right = (x0 + (c + 1) * side, (r + 1) * side);
            cell.draw(&Rectangle::new(
                [top_left, bottom_right],
                RGBColor(shade, shade, shade).filled(),
            ))?;
        }
    }
    Ok(())
}
