//! Batch gradients over all cores (needs the `rayon` feature).
//!
//! The generated [`Network::backward_batch`] is serial and allocates nothing. Here the
//! batch is cut into one contiguous chunk per worker thread; each chunk's gradient goes to
//! its own buffer (one net-sized buffer per chunk, on the heap), and the buffers are then
//! added into the caller's gradient in chunk order. The result equals the serial one up to
//! rounding (the sums are grouped differently), and for a given number of threads it is
//! the same on every run.

use crate::{Float, Network};
use rayon::prelude::*;
use std::boxed::Box;
use std::vec::Vec;

/// Reusable buffers for parallel batch gradients: allocates one gradient per chunk the
/// first time it sees a batch that needs it, and reuses them for every later batch.
/// [`Trainer`](crate::Trainer) keeps one for a whole run.
pub struct ParBackward<N: Network> {
    chunks: Vec<(Box<N>, N::Scalar)>,
}

impl<N: Network> core::fmt::Debug for ParBackward<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ParBackward")
            .field("net", &N::NAME)
            .field("buffers", &self.chunks.len())
            .finish()
    }
}

impl<N: Network> Default for ParBackward<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N: Network> ParBackward<N> {
    /// No buffers yet; they are allocated by the first call that needs them.
    pub fn new() -> Self {
        Self { chunks: Vec::new() }
    }

    /// As [`Network::backward_batch`]: adds the gradient of the mean loss over the batch to
    /// `grad` and returns that mean, computed on rayon's thread pool. A batch too small to
    /// split runs serially.
    ///
    /// # Panics
    /// If `xs` and `ts` differ in length.
    pub fn backward_batch(
        &mut self,
        net: &N,
        xs: &[N::Input],
        ts: &[N::Target],
        grad: &mut N,
    ) -> N::Scalar {
        assert_eq!(
            xs.len(),
            ts.len(),
            "par_backward_batch: {} inputs but {} targets",
            xs.len(),
            ts.len()
        );
        let n = xs.len();
        let workers = rayon::current_num_threads().max(1);
        let chunk_len = n.div_ceil(workers).max(1);
        let chunks = n.div_ceil(chunk_len);
        if chunks <= 1 {
            return net.backward_batch(xs, ts, grad);
        }
        while self.chunks.len() < chunks {
            self.chunks.push((Box::new(N::zeros()), N::Scalar::ZERO));
        }
        // The same scale as the serial version, so each sample contributes the same terms.
        let scale = N::Scalar::ONE / N::Scalar::from_f64(n as f64);
        self.chunks[..chunks]
            .par_iter_mut()
            .zip(xs.par_chunks(chunk_len).zip(ts.par_chunks(chunk_len)))
            .for_each(|((buf, total), (xc, tc))| {
                buf.as_mut_slice().fill(N::Scalar::ZERO);
                *total = net.backward_batch_scaled(xc, tc, scale, buf);
            });
        let mut total = N::Scalar::ZERO;
        let dst = grad.as_mut_slice();
        for (buf, sum) in &self.chunks[..chunks] {
            for (g, b) in dst.iter_mut().zip(buf.as_slice()) {
                *g += *b;
            }
            total += *sum;
        }
        total * scale
    }
}

/// [`Network::backward_batch`] on all cores: the same result up to rounding. Allocates one
/// gradient buffer per worker chunk on each call; keep a [`ParBackward`] to reuse them.
///
/// # Panics
/// If `xs` and `ts` differ in length.
pub fn par_backward_batch<N: Network>(
    net: &N,
    xs: &[N::Input],
    ts: &[N::Target],
    grad: &mut N,
) -> N::Scalar {
    ParBackward::new().backward_batch(net, xs, ts, grad)
}
