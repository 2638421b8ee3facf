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
    /// Uniform on `[lo, hi)` (half-open in the net's own scalar type).
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
    let top = T::from_f64(hi);
    // With `lo >= hi` (or a NaN bound) there is no half-open interval to keep.
    let half_open = lo < hi;
    for v in dst {
        // Rounding to `f32` can land on `hi` itself; such a draw is redrawn, so the
        // interval stays half-open in the net's own type.
        *v = loop {
            let x = T::from_f64(lo + (hi - lo) * unit(rng));
            if !half_open || x < top {
                break x;
            }
        };
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

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use std::vec::Vec;

    const N: usize = 200_000;

    /// Draws `N` values of `init` in `f64` and returns them.
    fn draw(init: Init, seed: u64, stream: u64) -> Vec<f64> {
        let mut v = std::vec![0.0f64; N];
        fill(&mut v, init, seed, stream);
        v
    }

    /// Mean, variance and kurtosis `E[(x-μ)⁴]/σ⁴` of the values.
    fn moments(v: &[f64]) -> (f64, f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let m4 = v.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
        (mean, var, m4 / (var * var))
    }

    /// Checks the moments against the distribution's; the tolerances are several standard
    /// errors at `N` draws, so only a wrong distribution fails.
    fn check(init: Init, mean: f64, var: f64, kurtosis: f64) {
        let v = draw(init, 7, 3);
        let (m, s2, k) = moments(&v);
        let se_mean = (var / N as f64).sqrt();
        assert!(
            (m - mean).abs() < 6.0 * se_mean,
            "{init:?}: mean {m}, want {mean}"
        );
        assert!(
            (s2 / var - 1.0).abs() < 0.02,
            "{init:?}: variance {s2}, want {var}"
        );
        assert!(
            (k - kurtosis).abs() < 0.1,
            "{init:?}: kurtosis {k}, want {kurtosis}"
        );
    }

    // A uniform law has kurtosis 9/5, a normal one 3.
    const UNIFORM_KURTOSIS: f64 = 1.8;
    const NORMAL_KURTOSIS: f64 = 3.0;

    #[test]
    fn constants_fill_every_value() {
        let cases = [
            (Init::Zeros, 0.0),
            (Init::Ones, 1.0),
            (Init::Constant(-2.5), -2.5),
        ];
        for (init, want) in cases {
            let mut v = [9.0f32; 5];
            fill(&mut v, init, 1, 0);
            assert_eq!(v, [want as f32; 5], "{init:?}");
        }
    }

    #[test]
    fn uniform_moments_and_range() {
        let init = Init::Uniform { lo: -2.0, hi: 3.0 };
        check(init, 0.5, 25.0 / 12.0, UNIFORM_KURTOSIS);
        let v = draw(init, 7, 3);
        assert!(v.iter().all(|x| (-2.0..3.0).contains(x)));
    }

    #[test]
    fn normal_moments() {
        check(
            Init::Normal {
                mean: 1.0,
                std: 2.0,
            },
            1.0,
            4.0,
            NORMAL_KURTOSIS,
        );
    }

    #[test]
    fn xavier_moments_and_range() {
        let init = Init::Xavier {
            fan_in: 30,
            fan_out: 20,
        };
        // U(-a, a) with a² = 6 / 50 has variance a² / 3 = 2 / 50.
        check(init, 0.0, 2.0 / 50.0, UNIFORM_KURTOSIS);
        let a = (6.0f64 / 50.0).sqrt();
        assert!(draw(init, 7, 3).iter().all(|x| x.abs() <= a));
    }

    #[test]
    fn he_moments() {
        check(Init::He { fan_in: 50 }, 0.0, 2.0 / 50.0, NORMAL_KURTOSIS);
    }

    #[test]
    fn odd_lengths_fill_every_value() {
        // Box–Muller makes values in pairs; the last one of an odd length must be set too.
        let mut v = [f64::NAN; 7];
        fill(
            &mut v,
            Init::Normal {
                mean: 0.0,
                std: 1.0,
            },
            3,
            0,
        );
        assert!(v.iter().all(|x| x.is_finite()));
        let mut longer = [0.0f64; 8];
        fill(
            &mut longer,
            Init::Normal {
                mean: 0.0,
                std: 1.0,
            },
            3,
            0,
        );
        assert_eq!(
            v[..],
            longer[..7],
            "a shorter fill is a prefix of a longer one"
        );
    }

    #[test]
    fn same_seed_same_bits() {
        for init in [
            Init::Uniform { lo: -1.0, hi: 1.0 },
            Init::Normal {
                mean: 0.0,
                std: 1.0,
            },
            Init::Xavier {
                fan_in: 3,
                fan_out: 4,
            },
            Init::He { fan_in: 3 },
        ] {
            let mut a = [0.0f32; 33];
            let mut b = [0.0f32; 33];
            fill(&mut a, init, 42, 5);
            fill(&mut b, init, 42, 5);
            assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits), "{init:?}");
        }
    }

    #[test]
    fn streams_and_seeds_differ() {
        let init = Init::Normal {
            mean: 0.0,
            std: 1.0,
        };
        let mut base = [0.0f64; 8];
        let mut other_stream = [0.0f64; 8];
        let mut other_seed = [0.0f64; 8];
        fill(&mut base, init, 42, 0);
        fill(&mut other_stream, init, 42, 1);
        fill(&mut other_seed, init, 43, 0);
        for other in [other_stream, other_seed] {
            assert!(base.iter().zip(&other).all(|(a, b)| a != b));
        }
    }

    #[test]
    fn f32_is_the_rounded_f64_draw() {
        let init = Init::Normal {
            mean: 0.5,
            std: 3.0,
        };
        let mut wide = [0.0f64; 64];
        let mut narrow = [0.0f32; 64];
        fill(&mut wide, init, 9, 2);
        fill(&mut narrow, init, 9, 2);
        assert_eq!(narrow, wide.map(|x| x as f32));
    }

    /// Exact values, so a change of generator, seeding or math library is noticed: the
    /// same seed must give the same parameters on every platform and every release.
    #[test]
    fn pinned_values() {
        let mut u = [0.0f64; 3];
        fill(&mut u, Init::Uniform { lo: 0.0, hi: 1.0 }, 42, 0);
        let mut n = [0.0f64; 3];
        fill(
            &mut n,
            Init::Normal {
                mean: 0.0,
                std: 1.0,
            },
            42,
            1,
        );
        let mut x = [0.0f32; 3];
        fill(
            &mut x,
            Init::Xavier {
                fan_in: 2,
                fan_out: 2,
            },
            7,
            0,
        );
        let mut h = [0.0f32; 3];
        fill(&mut h, Init::He { fan_in: 4 }, 7, 3);
        assert_eq!(
            u.map(f64::to_bits),
            [
                4604317194420431787,
                4606734539489062706,
                4601373070768303508
            ]
        );
        assert_eq!(
            n.map(f64::to_bits),
            [
                4605309943060694111,
                4608879576232506758,
                4604053511211543893
            ]
        );
        assert_eq!(x.map(f32::to_bits), [3210122729, 3209703830, 1056970854]);
        assert_eq!(h.map(f32::to_bits), [1052721043, 1048347201, 3212706604]);
        // The same values in decimal, for a reader: x = [-0.83822495, -0.8132566, 0.5003723].
        assert_eq!(x, [-0.83822495, -0.8132566, 0.5003723]);
    }
}
