//! Gradient checking: compares a net's `backward` with central finite differences.
//!
//! For every parameter `θᵢ` the check evaluates the loss at `θᵢ ± h` in the net's own
//! scalar type and compares `(L(θᵢ + h) − L(θᵢ − h)) / 2h` with the analytic gradient. The
//! step is `h = s · max(1, |θᵢ|)` with `s = ∛ε` by default (about `4.9e-3` for `f32`,
//! `6.1e-6` for `f64`), which balances the truncation error of the difference quotient
//! (`∝ h²`) against the rounding error of the two losses (`∝ ε / h`).
//!
//! Each parameter's error is the relative error `|a − n| / max(|a|, |n|, floor)`. The floor
//! keeps gradients near zero, where the difference quotient is mostly rounding noise, from
//! reporting huge relative errors; above it the measure is truly relative.
//!
//! Besides the gradient, the check verifies that `backward` returns the same loss as
//! `loss` and that it *adds* to its gradient argument rather than overwriting it.
//!
//! ```
//! use chainrule::{gradcheck, network};
//!
//! network! {
//!     #[scalar(f64)]
//!     net Classifier {
//!         input x: [4];
//!         target t: [3];
//!         let h = dense(x, 8, tanh);
//!         let z = dense(h, 3);
//!         output z;
//!         loss softmax_cross_entropy(z, t);
//!     }
//! }
//!
//! let report = gradcheck(&Classifier::new(1), &[0.5, -1.0, 0.25, 2.0], &[0.0, 1.0, 0.0]);
//! assert!(report.passed(), "{report}");
//! println!("{report}");
//! // gradcheck of Classifier passed: 0 of 67 parameters above tolerance 1e-6; worst …
//! ```

use crate::{Float, Network};
use core::fmt;

/// Settings of [`gradcheck_with`]; anything left unset takes the default for the net's
/// scalar type.
///
/// | setting | `f32` | `f64` |
/// | --- | --- | --- |
/// | relative step `s` | `∛ε ≈ 4.9e-3` | `∛ε ≈ 6.1e-6` |
/// | tolerance | `1e-2` | `1e-6` |
/// | floor | `1e-1` | `1e-3` |
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GradcheckOptions {
    step: Option<f64>,
    tolerance: Option<f64>,
    floor: Option<f64>,
}

impl GradcheckOptions {
    /// All defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The relative step `s`: each parameter moves by `s · max(1, |θ|)` either way.
    pub fn step(mut self, step: f64) -> Self {
        self.step = Some(step);
        self
    }

    /// The largest relative error that passes.
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// The smallest denominator of the relative error, so a gradient smaller than this is
    /// compared in absolute terms.
    pub fn floor(mut self, floor: f64) -> Self {
        self.floor = Some(floor);
        self
    }

    fn resolve<T: Float>(self) -> (f64, f64, f64) {
        let eps = T::EPSILON.to_f64();
        // f32's epsilon is 1.2e-7, f64's 2.2e-16: the defaults follow the precision.
        let wide = eps < 1e-10;
        let step = self.step.unwrap_or_else(|| libm::cbrt(eps));
        let tolerance = self.tolerance.unwrap_or(if wide { 1e-6 } else { 1e-2 });
        let floor = self.floor.unwrap_or(if wide { 1e-3 } else { 1e-1 });
        (step, tolerance, floor)
    }
}

/// One parameter's comparison: where it is and the two gradients.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradcheckEntry {
    /// The parameter's name in [`Network::LAYOUT`].
    pub param: &'static str,
    /// The parameter's shape.
    pub shape: &'static [usize],
    /// The index within the parameter, row-major for a matrix.
    pub index: usize,
    /// The index in the flat parameter slice.
    pub flat_index: usize,
    /// The gradient from `backward`.
    pub analytic: f64,
    /// The central-difference estimate.
    pub numeric: f64,
    /// The relative error between the two.
    pub error: f64,
}

impl fmt::Display for GradcheckEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.param)?;
        match *self.shape {
            [_, cols] => write!(f, "[{}][{}]", self.index / cols, self.index % cols)?,
            [_] => write!(f, "[{}]", self.index)?,
            _ => {}
        }
        write!(
            f,
            " (flat index {}): backward {:e}, finite difference {:e}, relative error {:.3e}",
            self.flat_index, self.analytic, self.numeric, self.error
        )
    }
}

/// What [`gradcheck`] found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradcheckReport {
    /// The net's name.
    pub net: &'static str,
    /// The worst relative error over all parameters (`0` for a net without parameters,
    /// infinite where either gradient is not finite).
    pub max_error: f64,
    /// The parameter with the worst error, `None` for a net without parameters.
    pub worst: Option<GradcheckEntry>,
    /// How many parameters exceed the tolerance.
    pub failures: usize,
    /// How many parameters were checked: [`Network::PARAMS`].
    pub checked: usize,
    /// The tolerance the errors were held to.
    pub tolerance: f64,
    /// What `loss` returned.
    pub loss: f64,
    /// What `backward` returned, which must be the same loss.
    pub backward_loss: f64,
    /// Whether a second `backward` into the same gradient doubled it, as adding requires.
    pub accumulates: bool,
}

impl GradcheckReport {
    /// True when every parameter is within the tolerance, `backward` returned the loss,
    /// and it added to its gradient.
    pub fn passed(&self) -> bool {
        self.failures == 0 && self.loss_matches() && self.accumulates
    }

    fn loss_matches(&self) -> bool {
        let scale = self.loss.abs().max(1.0);
        (self.loss - self.backward_loss).abs() <= self.tolerance * scale
    }

    /// Panics with the report unless it [passed](Self::passed): for tests.
    #[track_caller]
    pub fn assert_passed(&self) {
        assert!(self.passed(), "{self}");
    }
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        write!(
            f,
            "gradcheck of {} {verdict}: {} of {} parameters above tolerance {:e}",
            self.net, self.failures, self.checked, self.tolerance
        )?;
        if let Some(worst) = &self.worst {
            write!(f, "; worst {worst}")?;
        }
        if !self.loss_matches() {
            write!(
                f,
                "; backward returned loss {:e} but loss returned {:e}",
                self.backward_loss, self.loss
            )?;
        }
        if !self.accumulates {
            f.write_str("; backward overwrote its gradient argument instead of adding to it")?;
        }
        Ok(())
    }
}

/// Checks `net.backward(x, t, …)` against central finite differences of `net.loss(x, t)`
/// with the default settings (see [`GradcheckOptions`]). For a net without a target pass
/// `&()`. Typical use in a test: `gradcheck(&net, &x, &t).assert_passed()`.
///
/// It evaluates the loss twice per parameter, so it is for tests and debugging, not for
/// every training step. Nothing is allocated: the net is cloned once as a probe.
pub fn gradcheck<N: Network>(net: &N, x: &N::Input, t: &N::Target) -> GradcheckReport {
    gradcheck_with(net, x, t, GradcheckOptions::default())
}

/// [`gradcheck`] with explicit settings.
pub fn gradcheck_with<N: Network>(
    net: &N,
    x: &N::Input,
    t: &N::Target,
    options: GradcheckOptions,
) -> GradcheckReport {
    let (step, tolerance, floor) = options.resolve::<N::Scalar>();
    let mut analytic = N::zeros();
    let backward_loss = net.backward(x, t, &mut analytic).to_f64();
    let loss = net.loss(x, t).to_f64();

    // A second pass into the same buffer must double it.
    let mut twice = analytic.clone();
    net.backward(x, t, &mut twice);
    let accumulates = analytic
        .as_slice()
        .iter()
        .zip(twice.as_slice())
        .all(|(a, b)| relative_error(2.0 * a.to_f64(), b.to_f64(), floor) <= tolerance);

    let mut probe = net.clone();
    let mut report = GradcheckReport {
        net: N::NAME,
        max_error: 0.0,
        worst: None,
        failures: 0,
        checked: N::PARAMS,
        tolerance,
        loss,
        backward_loss,
        accumulates,
    };
    let mut flat_index = 0;
    for info in N::LAYOUT {
        for index in 0..info.len() {
            let theta = net.as_slice()[flat_index];
            let h = step * theta.to_f64().abs().max(1.0);
            let plus = theta + N::Scalar::from_f64(h);
            let minus = theta - N::Scalar::from_f64(h);
            probe.as_mut_slice()[flat_index] = plus;
            let loss_plus = probe.loss(x, t);
            probe.as_mut_slice()[flat_index] = minus;
            let loss_minus = probe.loss(x, t);
            probe.as_mut_slice()[flat_index] = theta;
            // Divide by the step actually taken, after rounding to the scalar type.
            let numeric =
                (loss_plus.to_f64() - loss_minus.to_f64()) / (plus.to_f64() - minus.to_f64());
            let a = analytic.as_slice()[flat_index].to_f64();
            let error = relative_error(a, numeric, floor);
            if error > tolerance {
                report.failures += 1;
            }
            if report.worst.is_none() || error > report.max_error {
                report.max_error = error;
                report.worst = Some(GradcheckEntry {
                    param: info.name,
                    shape: info.shape,
                    index,
                    flat_index,
                    analytic: a,
                    numeric,
                    error,
                });
            }
            flat_index += 1;
        }
    }
    report
}

/// `|a − b| / max(|a|, |b|, floor)`, infinite unless both are finite.
fn relative_error(a: f64, b: f64, floor: f64) -> f64 {
    if !a.is_finite() || !b.is_finite() {
        return f64::INFINITY;
    }
    (a - b).abs() / a.abs().max(b.abs()).max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_error_cases() {
        assert_eq!(relative_error(1.0, 1.0, 1e-3), 0.0);
        assert_eq!(relative_error(2.0, 1.0, 1e-3), 0.5);
        // Below the floor the error is absolute over the floor.
        assert_eq!(relative_error(1e-6, 0.0, 1e-3), 1e-3);
        assert_eq!(relative_error(f64::NAN, 1.0, 1e-3), f64::INFINITY);
        assert_eq!(relative_error(1.0, f64::INFINITY, 1e-3), f64::INFINITY);
    }

    #[test]
    fn defaults_follow_the_scalar_type() {
        let (s32, t32, f32_) = GradcheckOptions::new().resolve::<f32>();
        let (s64, t64, f64_) = GradcheckOptions::new().resolve::<f64>();
        assert!((s32 - 4.92e-3).abs() < 1e-5, "{s32}");
        assert!((s64 - 6.06e-6).abs() < 1e-8, "{s64}");
        assert_eq!((t32, f32_, t64, f64_), (1e-2, 1e-1, 1e-6, 1e-3));
        let o = GradcheckOptions::new()
            .step(1e-4)
            .tolerance(1e-3)
            .floor(1e-5);
        assert_eq!(o.resolve::<f32>(), (1e-4, 1e-3, 1e-5));
    }
}
