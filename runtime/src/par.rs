//! Batch gradients over all cores (needs the `rayon` feature).
//!
//! The generated [`Network::backward_batch`] is serial and allocates nothing. Here the
//! batch is cut into one contiguous chunk per worker thread, each run through
//! [`Network::backward_batch_scaled`] (the matrix–matrix kernels of a generated net). The
//! first chunk's gradient goes straight into the caller's; each other chunk's goes to a
//! buffer of its own (one net-sized buffer per chunk, on the heap), and the buffers are
//! then added into the caller's gradient, every thread adding its share of the
//! parameters. The result equals the serial one up to rounding (the sums are grouped
//! differently), and for a given number of threads it is the same on every run.

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
        while self.chunks.len() < chunks - 1 {
            self.chunks.push((Box::new(N::zeros()), N::Scalar::ZERO));
        }
        // The same scale as the serial version, so each sample contributes the same terms.
        let scale = N::Scalar::ONE / N::Scalar::from_f64(n as f64);
        // The first chunk adds straight into `grad`; the others into buffers of their own.
        let (first_x, rest_x) = xs.split_at(chunk_len);
        let (first_t, rest_t) = ts.split_at(chunk_len);
        let bufs = &mut self.chunks[..chunks - 1];
        let (first, ()) = rayon::join(
            || net.backward_batch_scaled(first_x, first_t, scale, grad),
            || {
                bufs.par_iter_mut()
                    .zip(
                        rest_x
                            .par_chunks(chunk_len)
                            .zip(rest_t.par_chunks(chunk_len)),
                    )
                    .for_each(|((buf, total), (xc, tc))| {
                        buf.as_mut_slice().fill(N::Scalar::ZERO);
                        *total = net.backward_batch_scaled(xc, tc, scale, buf);
                    });
            },
        );
        // The buffers are added into `grad` by all threads, each over its own part.
        let dst = grad.as_mut_slice();
        let part = dst.len().div_ceil(workers).max(1);
        dst.par_chunks_mut(part).enumerate().for_each(|(i, d)| {
            for (buf, _) in bufs.iter() {
                for (g, b) in d.iter_mut().zip(&buf.as_slice()[i * part..]) {
                    *g += *b;
                }
            }
        });
        let total = bufs.iter().fold(first, |t, (_, sum)| t + *sum);
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
