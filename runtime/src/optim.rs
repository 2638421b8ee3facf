//! Optimizers over flat parameter slices, and learning-rate schedules.
//!
//! Every optimizer follows PyTorch's definition of the same name, so hyperparameters
//! carry over: [`Sgd`] (`torch.optim.SGD` without momentum), [`Momentum`] (`SGD` with
//! momentum, dampening and the Nesterov option), and [`Adam`] (`torch.optim.Adam`, or
//! `AdamW` with decoupled weight decay).
//!
//! An optimizer updates `params` in place from `grads`, both flat slices in a net's
//! [`LAYOUT`](crate::Network::LAYOUT) order ([`Network::as_slice`]), or a whole net with
//! [`Optimizer::step_net`]. Hyperparameters are `f64`; each step converts them to the
//! net's scalar type once, then runs one loop over the parameters.
//!
//! # State and allocation
//! [`Sgd`] has no state and works everywhere. [`Momentum`] and [`Adam`] keep one or two
//! buffers the size of the parameters in a `Vec` (so they need the `alloc` feature, on with
//! `std`). The buffers are allocated on the first step, sized to that step's parameters;
//! no later step allocates.
//!
//! # Schedules
//! A [`Schedule`] maps a base learning rate and an epoch number to that epoch's rate; the
//! training loop applies it through [`Optimizer::set_learning_rate`] before each epoch.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

use crate::{Float, Network};

/// An optimizer: updates parameters in place from their gradients.
pub trait Optimizer<T: Float> {
    /// Updates `params` from `grads` (same length, same order) by one step.
    ///
    /// # Panics
    /// If `params` and `grads` differ in length, or (for optimizers with state) the length
    /// differs from the first step's.
    fn step(&mut self, params: &mut [T], grads: &[T]);

    /// The learning rate the next step uses.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate for the following steps; the state is kept.
    fn set_learning_rate(&mut self, lr: f64);

    /// Forgets the state (moments, step count), as if no step had been taken.
    fn reset(&mut self);

    /// Updates every parameter of `net` from `grad`, a gradient of the same net type.
    #[inline]
    fn step_net<N>(&mut self, net: &mut N, grad: &N)
    where
        N: Network<Scalar = T>,
        Self: Sized,
    {
        self.step(net.as_mut_slice(), grad.as_slice());
    }
}

fn check_lengths(params: usize, grads: usize) {
    assert_eq!(
        params, grads,
        "optimizer step: {params} parameters but {grads} gradients"
    );
}

/// Plain stochastic gradient descent with optional L2 weight decay:
/// `g ← g + λθ`, `θ ← θ − γ g`.
///
/// PyTorch: `torch.optim.SGD(params, lr=γ, weight_decay=λ)`.
///
/// ```
/// use chainrule::{Optimizer, Sgd};
/// let mut params = [1.0f32, -2.0];
/// Sgd::new(0.1).step(&mut params, &[0.5, 0.5]);
/// assert_eq!(params, [0.95, -2.05]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd {
    lr: f64,
    weight_decay: f64,
}

impl Sgd {
    /// SGD with learning rate `lr` and no weight decay.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            weight_decay: 0.0,
        }
    }

    /// Adds `weight_decay · θ` to each gradient (L2 regularisation); default `0`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

impl<T: Float> Optimizer<T> for Sgd {
    fn step(&mut self, params: &mut [T], grads: &[T]) {
        check_lengths(params.len(), grads.len());
        let lr = T::from_f64(self.lr);
        let wd = T::from_f64(self.weight_decay);
        for (p, g) in params.iter_mut().zip(grads) {
            let g = *g + wd * *p;
            *p -= lr * g;
        }
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn reset(&mut self) {}
}

/// Takes the state buffer, allocating it on the first step.
#[cfg(feature = "alloc")]
fn state<T: Float>(buf: &mut Vec<T>, len: usize) -> &mut [T] {
    if buf.is_empty() {
        buf.resize(len, T::ZERO);
    }
    assert_eq!(
        buf.len(),
        len,
        "optimizer step: {len} parameters but the state was sized for {}; call `reset` \
         before using an optimizer on a different net",
        buf.len()
    );
    buf
}

/// SGD with momentum, dampening, Nesterov momentum and L2 weight decay, as PyTorch's
/// `torch.optim.SGD(params, lr=γ, momentum=μ, dampening=τ, nesterov=…, weight_decay=λ)`:
///
/// ```text
/// g ← g + λθ
/// b ← g                       on the first step
/// b ← μ b + (1 − τ) g         afterwards
/// g ← g + μ b   (Nesterov)    or   g ← b
/// θ ← θ − γ g
/// ```
///
/// Needs the `alloc` feature for the velocity buffer `b` (see the [module docs](self)).
///
/// ```
/// use chainrule::{Momentum, Optimizer};
/// let mut opt = Momentum::new(0.1, 0.9);
/// let mut params = [1.0f64];
/// opt.step(&mut params, &[1.0]); // b = 1
/// opt.step(&mut params, &[1.0]); // b = 0.9 + 1
/// assert!((params[0] - (1.0 - 0.1 - 0.19)).abs() < 1e-12);
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub struct Momentum<T> {
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
    velocity: Vec<T>,
    steps: u64,
}

#[cfg(feature = "alloc")]
impl<T: Float> Momentum<T> {
    /// Momentum SGD with learning rate `lr` and momentum factor `momentum` (`μ`, commonly
    /// `0.9`); no dampening, no Nesterov, no weight decay.
    pub fn new(lr: f64, momentum: f64) -> Self {
        Self {
            lr,
            momentum,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            velocity: Vec::new(),
            steps: 0,
        }
    }

    /// Uses Nesterov momentum (`g + μ b` instead of `b`); default off. As in PyTorch it is
    /// meant for zero dampening.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Scales the gradient's contribution to the velocity by `1 − dampening` after the first
    /// step; default `0`.
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// Adds `weight_decay · θ` to each gradient (L2 regularisation); default `0`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// The number of steps taken since construction or the last [`Optimizer::reset`].
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

#[cfg(feature = "alloc")]
impl<T: Float> Optimizer<T> for Momentum<T> {
    fn step(&mut self, params: &mut [T], grads: &[T]) {
        check_lengths(params.len(), grads.len());
        let first = self.steps == 0;
        self.steps += 1;
        let lr = T::from_f64(self.lr);
        let mu = T::from_f64(self.momentum);
        let keep = T::from_f64(1.0 - self.dampening);
        let wd = T::from_f64(self.weight_decay);
        let nesterov = self.nesterov;
        let velocity = state(&mut self.velocity, params.len());
        for ((p, g), b) in params.iter_mut().zip(grads).zip(velocity) {
            let g = *g + wd * *p;
            // PyTorch starts the buffer at the first gradient itself, undamped.
            *b = if first { g } else { mu * *b + keep * g };
            let d = if nesterov { g + mu * *b } else { *b };
            *p -= lr * d;
        }
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn reset(&mut self) {
        self.velocity.clear();
        self.steps = 0;
    }
}

/// How [`Adam`] applies weight decay.
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, PartialEq)]
enum Decay {
    /// Added to the gradient (`torch.optim.Adam`'s `weight_decay`).
    L2(f64),
    /// Applied to the parameters directly (`torch.optim.AdamW`).
    Decoupled(f64),
}

/// Adam, and AdamW with decoupled weight decay, as PyTorch's `torch.optim.Adam` and
/// `torch.optim.AdamW` (without `amsgrad`). At step `t` (from 1):
///
/// ```text
/// θ ← θ (1 − γλ)              AdamW only (decoupled decay)
/// g ← g + λθ                  Adam with weight_decay only (L2)
/// m ← β₁ m + (1 − β₁) g
/// v ← β₂ v + (1 − β₂) g²
/// θ ← θ − γ (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
/// ```
///
/// Defaults as in PyTorch: `β = (0.9, 0.999)`, `ε = 1e-8`, no weight decay for
/// [`Adam::new`], decoupled `λ = 0.01` for [`Adam::adamw`]. Needs the `alloc` feature for
/// `m` and `v` (see the [module docs](self)).
///
/// ```
/// use chainrule::{Adam, Optimizer};
/// // The bias correction makes Adam's first step `lr · sign(g)`, whatever `|g|` is.
/// let mut params = [0.0f64, 0.0];
/// Adam::new(0.1).step(&mut params, &[3.0, -0.001]);
/// assert!((params[0] + 0.1).abs() < 1e-6 && (params[1] - 0.1).abs() < 1e-4);
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub struct Adam<T> {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    decay: Decay,
    m: Vec<T>,
    v: Vec<T>,
    steps: u64,
}

#[cfg(feature = "alloc")]
impl<T: Float> Adam<T> {
    /// Adam with learning rate `lr` (commonly `1e-3`) and PyTorch's defaults.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            decay: Decay::L2(0.0),
            m: Vec::new(),
            v: Vec::new(),
            steps: 0,
        }
    }

    /// AdamW: Adam with decoupled weight decay `0.01` (PyTorch's default), changeable with
    /// [`Adam::decoupled_weight_decay`].
    pub fn adamw(lr: f64) -> Self {
        Self::new(lr).decoupled_weight_decay(0.01)
    }

    /// The decay rates of the first and second moment estimates; default `(0.9, 0.999)`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// The term added to the denominator for stability; default `1e-8`.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// L2 weight decay as in `torch.optim.Adam`: `weight_decay · θ` is added to the
    /// gradient, so it is rescaled by the adaptive denominator. Replaces any decoupled decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.decay = Decay::L2(weight_decay);
        self
    }

    /// Decoupled weight decay as in `torch.optim.AdamW`: each step multiplies the
    /// parameters by `1 − lr · weight_decay` before the Adam update. Replaces any L2 decay.
    pub fn decoupled_weight_decay(mut self, weight_decay: f64) -> Self {
        self.decay = Decay::Decoupled(weight_decay);
        self
    }

    /// The number of steps taken since construction or the last [`Optimizer::reset`].
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

#[cfg(feature = "alloc")]
impl<T: Float> Optimizer<T> for Adam<T> {
    fn step(&mut self, params: &mut [T], grads: &[T]) {
        check_lengths(params.len(), grads.len());
        self.steps += 1;
        // Per-step scalars in f64, as PyTorch computes them in Python floats.
        let t = self.steps as f64;
        let bias1 = 1.0 - libm::pow(self.beta1, t);
        let bias2 = 1.0 - libm::pow(self.beta2, t);
        let step_size = T::from_f64(self.lr / bias1);
        let bias2_sqrt = T::from_f64(libm::sqrt(bias2));
        let b1 = T::from_f64(self.beta1);
        let b2 = T::from_f64(self.beta2);
        let one_minus_b1 = T::from_f64(1.0 - self.beta1);
        let one_minus_b2 = T::from_f64(1.0 - self.beta2);
        let eps = T::from_f64(self.eps);
        let (l2, shrink) = match self.decay {
            Decay::L2(wd) => (T::from_f64(wd), T::ONE),
            Decay::Decoupled(wd) => (T::ZERO, T::from_f64(1.0 - self.lr * wd)),
        };
        let n = params.len();
        let m = state(&mut self.m, n);
        let v = state(&mut self.v, n);
        for (((p, g), m), v) in params.iter_mut().zip(grads).zip(m).zip(v) {
            *p *= shrink;
            let g = *g + l2 * *p;
            *m = b1 * *m + one_minus_b1 * g;
            *v = b2 * *v + one_minus_b2 * g * g;
            let denom = v.sqrt() / bias2_sqrt + eps;
            *p -= step_size * *m / denom;
        }
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn reset(&mut self) {
        self.m.clear();
        self.v.clear();
        self.steps = 0;
    }
}

/// A learning-rate schedule: the rate of each epoch from the base rate, as PyTorch's
/// schedulers stepped once per epoch. Epochs count from `0`.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Schedule {
    /// The base rate throughout (the default).
    #[default]
    Constant,
    /// `base · gamma^⌊epoch / every⌋`, as `torch.optim.lr_scheduler.StepLR(step_size=every,
    /// gamma=gamma)`.
    Step {
        /// Epochs between decays (`0` is taken as `1`).
        every: usize,
        /// The factor applied at each decay, e.g. `0.1`.
        gamma: f64,
    },
    /// Cosine annealing from the base rate down to `min_lr` over `epochs` epochs,
    /// `min_lr + (base − min_lr)(1 + cos(π · epoch / epochs)) / 2`, as
    /// `torch.optim.lr_scheduler.CosineAnnealingLR(T_max=epochs, eta_min=min_lr)`. After
    /// `epochs` the rate stays at `min_lr` (PyTorch's would rise again, which a run longer
    /// than its schedule does not want).
    Cosine {
        /// Epochs from the base rate to `min_lr` (`0` is taken as `1`).
        epochs: usize,
        /// The final rate.
        min_lr: f64,
    },
}

impl Schedule {
    /// The learning rate of epoch `epoch` (from `0`) for base rate `base`.
    ///
    /// ```
    /// use chainrule::Schedule;
    /// let s = Schedule::Step { every: 10, gamma: 0.5 };
    /// assert_eq!(s.learning_rate(0.1, 9), 0.1);
    /// assert_eq!(s.learning_rate(0.1, 10), 0.05);
    /// ```
    pub fn learning_rate(&self, base: f64, epoch: usize) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => {
                let decays = epoch / every.max(1);
                base * libm::pow(gamma, decays as f64)
            }
            Schedule::Cosine { epochs, min_lr } => {
                let epochs = epochs.max(1);
                let t = epoch.min(epochs) as f64 / epochs as f64;
                min_lr + (base - min_lr) * (1.0 + libm::cos(core::f64::consts::PI * t)) / 2.0
            }
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    macro_rules! assert_close {
        ($a:expr, $b:expr) => {
            assert!(close(&$a, &$b, 1e-12), "{:?} != {:?}", $a, $b)
        };
    }

    #[test]
    fn sgd_plain_and_weight_decay() {
        let mut p = [1.0f64, -2.0];
        Sgd::new(0.1).step(&mut p, &[0.5, 0.25]);
        assert_close!(p, [1.0 - 0.05, -2.0 - 0.025]);

        // g + λθ = 0.5 + 0.1·1 = 0.6 and 0.25 + 0.1·(−2) = 0.05.
        let mut p = [1.0f64, -2.0];
        Sgd::new(0.1).weight_decay(0.1).step(&mut p, &[0.5, 0.25]);
        assert_close!(p, [1.0 - 0.06, -2.0 - 0.005]);
    }

    #[test]
    fn sgd_is_generic_over_the_scalar() {
        let mut p = [1.0f32];
        Sgd::new(0.5).step(&mut p, &[1.0]);
        assert_eq!(p, [0.5]);
    }

    #[test]
    fn momentum_matches_hand_computed_steps() {
        // γ = 0.1, μ = 0.9, gradients 1, 2, 3 on θ₀ = 0:
        // b₁ = 1, θ₁ = −0.1; b₂ = 0.9 + 2 = 2.9, θ₂ = −0.39; b₃ = 2.61 + 3 = 5.61, θ₃ = −0.951.
        let mut opt = Momentum::new(0.1, 0.9);
        let mut p = [0.0f64];
        let mut seen = [0.0; 3];
        for (k, g) in [1.0, 2.0, 3.0].into_iter().enumerate() {
            opt.step(&mut p, &[g]);
            seen[k] = p[0];
        }
        assert_close!(seen, [-0.1, -0.39, -0.951]);
        assert_eq!(opt.steps(), 3);
    }

    #[test]
    fn nesterov_matches_pytorch() {
        // PyTorch nesterov: d = g + μ b. Gradients 1, 2 on θ₀ = 0, γ = 0.1, μ = 0.9:
        // b₁ = 1, d₁ = 1.9, θ₁ = −0.19; b₂ = 2.9, d₂ = 2 + 2.61 = 4.61, θ₂ = −0.651.
        let mut opt = Momentum::new(0.1, 0.9).nesterov(true);
        let mut p = [0.0f64];
        opt.step(&mut p, &[1.0]);
        assert_close!(p, [-0.19]);
        opt.step(&mut p, &[2.0]);
        assert_close!(p, [-0.651]);
    }

    #[test]
    fn momentum_dampening_and_weight_decay() {
        // τ = 0.5 applies from the second step; λ = 0.1 adds 0.1θ to each gradient.
        // θ₀ = 1: g₁ = 1 + 0.1 = 1.1, b₁ = 1.1, θ₁ = 1 − 0.11 = 0.89;
        // g₂ = 1 + 0.089 = 1.089, b₂ = 0.99 + 0.5445 = 1.5345, θ₂ = 0.89 − 0.15345.
        let mut opt = Momentum::new(0.1, 0.9).dampening(0.5).weight_decay(0.1);
        let mut p = [1.0f64];
        opt.step(&mut p, &[1.0]);
        assert_close!(p, [0.89]);
        opt.step(&mut p, &[1.0]);
        assert_close!(p, [0.89 - 0.15345]);
    }

    #[test]
    fn adam_matches_hand_computed_steps() {
        // γ = 0.01, β = (0.9, 0.999), ε = 1e-8, θ₀ = 0.5, gradients 2 then −1.
        // t = 1: m = 0.2, v = 0.004, m̂ = 2, v̂ = 4, θ₁ = 0.5 − 0.01 · 2 / (2 + 1e-8).
        // t = 2: m = 0.18 − 0.1 = 0.08, v = 0.003996 + 0.001 = 0.004996,
        //        m̂ = 0.08 / 0.19, v̂ = 0.004996 / 0.001999.
        let mut opt = Adam::new(0.01);
        let mut p = [0.5f64];
        opt.step(&mut p, &[2.0]);
        let t1 = 0.5 - 0.01 * 2.0 / (2.0 + 1e-8);
        assert_close!(p, [t1]);
        opt.step(&mut p, &[-1.0]);
        let m_hat = 0.08 / (1.0 - 0.81);
        let v_hat = 0.004996 / (1.0 - 0.998001);
        let t2 = t1 - 0.01 * m_hat / (v_hat.sqrt() + 1e-8);
        assert_close!(p, [t2]);
    }

    #[test]
    fn adam_l2_decay_goes_through_the_moments() {
        // Adam's weight_decay adds λθ to g: θ₀ = 2, λ = 0.5, g = 0 gives g' = 1, so the first
        // step is −γ · sign(g') (bias-corrected m̂ = 1, v̂ = 1).
        let mut opt = Adam::new(0.1).weight_decay(0.5);
        let mut p = [2.0f64];
        opt.step(&mut p, &[0.0]);
        assert_close!(p, [2.0 - 0.1 * 1.0 / (1.0 + 1e-8)]);
    }

    #[test]
    fn adamw_decays_the_parameters_directly() {
        // AdamW: θ ← θ(1 − γλ) first, then the Adam step from g alone.
        // θ₀ = 2, γ = 0.1, λ = 0.5, g = 4: θ = 2 · 0.95 = 1.9, then − 0.1 · 4 / (4 + 1e-8).
        let mut opt = Adam::new(0.1).decoupled_weight_decay(0.5);
        let mut p = [2.0f64];
        opt.step(&mut p, &[4.0]);
        assert_close!(p, [1.9 - 0.1 * 4.0 / (4.0 + 1e-8)]);
        // A zero gradient still decays: m and v shrink, θ shrinks by (1 − γλ) first.
        let before = p[0];
        opt.step(&mut p, &[0.0]);
        let m = 0.9 * 0.4;
        let v = 0.999 * 0.016;
        let m_hat = m / (1.0 - 0.81);
        let v_hat = v / (1.0 - 0.998001);
        assert_close!(p, [before * 0.95 - 0.1 * m_hat / (f64::sqrt(v_hat) + 1e-8)]);
        assert_eq!(
            Adam::<f32>::adamw(1e-3),
            Adam::new(1e-3).decoupled_weight_decay(0.01)
        );
    }

    #[test]
    fn adam_custom_betas_and_eps() {
        // β₁ = 0.5, β₂ = 0.5, ε = 1: first step is γ m̂ / (√v̂ + 1) = 0.1 · 3 / (3 + 1).
        let mut opt = Adam::new(0.1).betas(0.5, 0.5).eps(1.0);
        let mut p = [0.0f64];
        opt.step(&mut p, &[3.0]);
        assert_close!(p, [-0.075]);
    }

    #[test]
    fn adam_in_f32_tracks_f64() {
        let grads = [[0.3, -1.2, 4.0], [0.1, 0.1, -3.0], [-0.5, 2.0, 0.0]];
        let mut wide = [0.1f64, 0.2, 0.3];
        let mut narrow = [0.1f32, 0.2, 0.3];
        let mut a = Adam::adamw(0.01);
        let mut b = Adam::adamw(0.01);
        for g in grads {
            a.step(&mut wide, &g);
            b.step(&mut narrow, &g.map(|x| x as f32));
        }
        let narrow = narrow.map(f64::from);
        assert!(close(&narrow, &wide, 1e-6), "{narrow:?} vs {wide:?}");
    }

    #[test]
    fn reset_forgets_state_and_learning_rate_is_settable() {
        let mut opt = Adam::new(0.1);
        let mut p = [0.0f64, 0.0];
        opt.step(&mut p, &[1.0, 1.0]);
        opt.reset();
        assert_eq!(opt.steps(), 0);
        // After a reset a net of another size is fine.
        let mut q = [0.0f64; 3];
        opt.set_learning_rate(0.2);
        assert_eq!(Optimizer::<f64>::learning_rate(&opt), 0.2);
        opt.step(&mut q, &[1.0, 1.0, 1.0]);
        assert!(close(&q, &[-0.2; 3], 1e-7), "{q:?}");

        let mut m = Momentum::new(0.1, 0.9);
        m.step(&mut p, &[1.0, 1.0]);
        m.reset();
        m.step(&mut q, &[1.0, 1.0, 1.0]);
        assert_eq!(m.steps(), 1);
    }

    #[test]
    fn state_is_allocated_once() {
        let mut opt = Adam::new(0.1);
        let mut p = [0.0f64; 4];
        opt.step(&mut p, &[1.0; 4]);
        let (pm, pv) = (opt.m.as_ptr(), opt.v.as_ptr());
        for _ in 0..10 {
            opt.step(&mut p, &[1.0; 4]);
        }
        assert_eq!((pm, pv), (opt.m.as_ptr(), opt.v.as_ptr()));
    }

    #[test]
    #[should_panic(expected = "3 parameters but 2 gradients")]
    fn mismatched_lengths_panic() {
        Sgd::new(0.1).step(&mut [0.0f32; 3], &[0.0; 2]);
    }

    #[test]
    fn constant_schedule() {
        for epoch in [0, 1, 100] {
            assert_eq!(Schedule::Constant.learning_rate(0.3, epoch), 0.3);
        }
    }

    #[test]
    fn step_schedule() {
        let s = Schedule::Step {
            every: 3,
            gamma: 0.1,
        };
        let got: [f64; 7] = core::array::from_fn(|e| s.learning_rate(1.0, e));
        assert_close!(got, [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01]);
        // `every = 0` is read as 1 rather than dividing by zero.
        let s = Schedule::Step {
            every: 0,
            gamma: 0.5,
        };
        assert_close!([s.learning_rate(1.0, 2)], [0.25]);
    }

    #[test]
    fn cosine_schedule() {
        // T = 4, from 1 to 0.2: epoch e gives 0.2 + 0.8 (1 + cos(πe/4)) / 2.
        let s = Schedule::Cosine {
            epochs: 4,
            min_lr: 0.2,
        };
        let got: [f64; 6] = core::array::from_fn(|e| s.learning_rate(1.0, e));
        let h = core::f64::consts::FRAC_1_SQRT_2;
        let want = [
            1.0,
            0.2 + 0.4 * (1.0 + h),
            0.6,
            0.2 + 0.4 * (1.0 - h),
            0.2,
            0.2, // held at min_lr past the end
        ];
        assert_close!(got, want);
    }
}
