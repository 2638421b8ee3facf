//! Parameter initialisers, as named after `=` in a `param` declaration.
//!
//! Every draw comes from ChaCha8 seeded with the net's seed, one stream per parameter
//! (its index in `LAYOUT`), and is computed with `libm`, so the same seed gives the same
//! bits on every platform, and adding a parameter does not change the others.

use crate::Float;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// How a parameter's initial values are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Every value `0` (the default when a `param` names no init).
    Zeros,
    /// Every value `1`.
    Ones,
    /// Every value the given constant.
    Constant(f64),
    /// Uniform on `[lo, hi)`.
    Uniform {
        /// Lower bound, included.
        lo: f64,
        /// Upper bound, excluded.
        hi: f64,
    },
    /// Normal with the given mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Glorot/Xavier uniform: `U(-a, a)` with `a = √(6 / (fan_in + fan_out))`.
    Xavier {
        /// Inputs feeding each output.
        fan_in: usize,
        /// Outputs fed by each input.
        fan_out: usize,
    },
    /// He/Kaiming normal: `N(0, √(2 / fan_in))`, for ReLU layers.
    He {
        /// Inputs feeding each output.
        fan_in: usize,
    },
}

/// Fills `dst` per `init`, drawing from stream `stream` of the generator seeded by `seed`.
pub fn fill<T: Float>(dst: &mut [T], init: Init, seed: u64, stream: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    match init {
        Init::Zeros => dst.fill(T::ZERO),
        Init::Ones => dst.fill(T::ONE),
        Init::Constant(c) => dst.fill(T::from_f64(c)),
        Init::Uniform { lo, hi } => fill_uniform(dst, &mut rng, lo, hi),
        Init::Normal { mean, std } => fill_normal(dst, &mut rng, mean, std),
        Init::Xavier { fan_in, fan_out } => {
            let a = libm::sqrt(6.0 / (fan_in.max(1) + fan_out.max(1)) as f64);
            fill_uniform(dst, &mut rng, -a, a);
        }
        Init::He { fan_in } => {
            let std = libm::sqrt(2.0 / fan_in.max(1) as f64);
            fill_normal(dst, &mut rng, 0.0, std);
        }
    }
}

/// A uniform draw on `[0, 1)` from the top 53 bits of one `u64`.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn fill_uniform<T: Float>(dst: &mut [T], rng: &mut ChaCha8Rng, lo: f64, hi: f64) {
    for v in dst {
        *v = T::from_f64(lo + (hi - lo) * unit(rng));
    }
}

/// Box–Muller with both outputs used; `libm` keeps it bit-identical across platforms.
fn fill_normal<T: Float>(dst: &mut [T], rng: &mut ChaCha8Rng, mean: f64, std: f64) {
    let mut chunks = dst.chunks_mut(2);
    for pair in &mut chunks {
        // 1 - unit() lies in (0, 1], so the logarithm is finite.
        let r = libm::sqrt(-2.0 * libm::log(1.0 - unit(rng)));
        let theta = 2.0 * core::f64::consts::PI * unit(rng);
        pair[0] = T::from_f64(mean + std * r * libm::cos(theta));
        if let Some(second) = pair.get_mut(1) {
            *second = T::from_f64(mean + std * r * libm::sin(theta));
        }
    }
}
