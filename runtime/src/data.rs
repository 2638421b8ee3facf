//! Small helpers for data sets: one-hot targets, argmax, accuracy, and a seeded shuffle.
//!
//! The shuffle draws from ChaCha8 with integer arithmetic only, so the same seed gives
//! the same order on every platform.

use crate::{Float, Network};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// The index of the largest element; the first one on ties. NaN elements are never
/// chosen unless all are NaN (then `0`). An empty slice gives `0`.
///
/// ```
/// assert_eq!(chainrule::argmax(&[0.1f32, 0.7, 0.2]), 1);
/// ```
pub fn argmax<T: Float>(v: &[T]) -> usize {
    // A value that does not compare with itself is NaN.
    let is_nan = |x: &T| x.partial_cmp(x).is_none();
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        // Replace the best when beaten, or when it is NaN and this is not, so NaN loses.
        if *x > v[best] || (is_nan(&v[best]) && !is_nan(x)) {
            best = i;
        }
    }
    best
}

/// A one-hot vector: `1` at `class`, `0` elsewhere.
///
/// # Panics
/// If `class >= K`.
///
/// ```
/// assert_eq!(chainrule::one_hot::<f32, 3>(2), [0.0, 0.0, 1.0]);
/// ```
pub fn one_hot<T: Float, const K: usize>(class: usize) -> [T; K] {
    assert!(
        class < K,
        "one_hot: class {class} out of range for {K} classes"
    );
    let mut v = [T::ZERO; K];
    v[class] = T::ONE;
    v
}

/// True when the output's largest element is where the target's is: the accuracy of a
/// classifier with one-hot targets (outputs may be logits or probabilities).
///
/// Pass it to [`Trainer::accuracy`](crate::Trainer::accuracy).
pub fn argmax_accuracy<T: Float, const K: usize>(output: &[T; K], target: &[T; K]) -> bool {
    argmax(output) == argmax(target)
}

/// True when a probability output and a `0`/`1` target fall on the same side of `0.5`:
/// the accuracy of a binary classifier with a sigmoid output. For a logit output use a
/// closure comparing with `0` instead.
pub fn binary_accuracy<T: Float>(output: &[T; 1], target: &[T; 1]) -> bool {
    let half = T::from_f64(0.5);
    (output[0] > half) == (target[0] > half)
}

/// The mean loss of `net` over a data set, accumulated in `f64`; `0` for an empty set.
/// Runs [`Network::loss_batch`], so a generated net computes it through its matrix–matrix
/// kernels.
///
/// # Panics
/// If `xs` and `ts` differ in length.
pub fn mean_loss<N: Network>(net: &N, xs: &[N::Input], ts: &[N::Target]) -> f64 {
    assert_eq!(
        xs.len(),
        ts.len(),
        "mean_loss: {} inputs but {} targets",
        xs.len(),
        ts.len()
    );
    net.loss_batch(xs, ts).to_f64()
}

/// The fraction of samples for which `correct(output, target)` holds, e.g. with
/// [`argmax_accuracy`]; `0` for an empty set. With the `alloc` feature the outputs come
/// from [`Network::forward_batch`], a chunk of samples at a time.
///
/// # Panics
/// If `xs` and `ts` differ in length.
pub fn accuracy<N: Network>(
    net: &N,
    xs: &[N::Input],
    ts: &[N::Target],
    mut correct: impl FnMut(&N::Output, &N::Target) -> bool,
) -> f64 {
    assert_eq!(
        xs.len(),
        ts.len(),
        "accuracy: {} inputs but {} targets",
        xs.len(),
        ts.len()
    );
    let Some(first) = xs.first() else {
        return 0.0;
    };
    #[cfg(feature = "alloc")]
    let hits = {
        // Outputs for this many samples at a time, in one buffer.
        const AT_ONCE: usize = 256;
        let mut ys = alloc::vec![net.forward(first); xs.len().min(AT_ONCE)];
        let mut hits = 0;
        for (xc, tc) in xs.chunks(AT_ONCE).zip(ts.chunks(AT_ONCE)) {
            let ys = &mut ys[..xc.len()];
            net.forward_batch(xc, ys);
            hits += ys.iter().zip(tc).filter(|(y, t)| correct(y, t)).count();
        }
        hits
    };
    #[cfg(not(feature = "alloc"))]
    let hits = {
        let _ = first;
        xs.iter()
            .zip(ts)
            .filter(|(x, t)| correct(&net.forward(x), t))
            .count()
    };
    hits as f64 / xs.len() as f64
}

/// A uniform integer in `0..n` (`n > 0`) by Lemire's multiply-and-reject, so no draw is
/// biased towards small values.
pub(crate) fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    debug_assert!(n > 0);
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// Fisher–Yates with draws from `rng`.
pub(crate) fn shuffle_with<T>(items: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// Puts `items` in a uniformly random order determined by `seed`; the same seed gives the
/// same order on every platform.
///
/// ```
/// let mut a = [1, 2, 3, 4, 5];
/// let mut b = a;
/// chainrule::shuffle(&mut a, 7);
/// chainrule::shuffle(&mut b, 7);
/// assert_eq!(a, b);
/// ```
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    shuffle_with(items, &mut rng);
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn argmax_cases() {
        assert_eq!(argmax::<f32>(&[]), 0);
        assert_eq!(argmax(&[1.0f32, 3.0, 3.0, 2.0]), 1, "first of a tie");
        assert_eq!(argmax(&[f32::NAN, -1.0, -2.0]), 1, "NaN loses");
        assert_eq!(argmax(&[-1.0f64, f64::NAN, 5.0]), 2);
        assert_eq!(argmax(&[f64::NAN, f64::NAN]), 0);
        assert_eq!(argmax(&[-f64::INFINITY, -1e300]), 1);
    }

    #[test]
    fn accuracy_helpers() {
        let t = one_hot::<f32, 3>(1);
        assert_eq!(t, [0.0, 1.0, 0.0]);
        assert!(argmax_accuracy(&[-1.0, 2.0, 0.5], &t));
        assert!(!argmax_accuracy(&[3.0, 2.0, 0.5], &t));
        assert!(binary_accuracy(&[0.7f64], &[1.0]));
        assert!(binary_accuracy(&[0.2f64], &[0.0]));
        assert!(!binary_accuracy(&[0.2f64], &[1.0]));
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut a: [u32; 50] = core::array::from_fn(|i| i as u32);
        let original = a;
        shuffle(&mut a, 3);
        assert_ne!(a, original);
        let mut sorted = a;
        sorted.sort_unstable();
        assert_eq!(sorted, original, "a permutation");
        let mut b = original;
        shuffle(&mut b, 3);
        assert_eq!(a, b, "same seed, same order");
        let mut c = original;
        shuffle(&mut c, 4);
        assert_ne!(a, c, "another seed, another order");
        // Pinned, so the order of a seeded split never changes silently.
        let mut d = [0, 1, 2, 3, 4, 5, 6, 7];
        shuffle(&mut d, 42);
        assert_eq!(d, [4, 7, 0, 1, 3, 2, 6, 5]);
    }

    #[test]
    fn below_is_uniform() {
        // 60 000 draws in 0..3: each count within 5 standard deviations of 20 000.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0u32; 3];
        for _ in 0..60_000 {
            counts[below(&mut rng, 3) as usize] += 1;
        }
        let sd = (60_000.0f64 * (1.0 / 3.0) * (2.0 / 3.0)).sqrt();
        for c in counts {
            assert!((f64::from(c) - 20_000.0).abs() < 5.0 * sd, "{counts:?}");
        }
    }

    #[test]
    #[should_panic(expected = "class 3 out of range for 3 classes")]
    fn one_hot_out_of_range() {
        let _ = one_hot::<f32, 3>(3);
    }
}
