//! One core's FP32 fused multiply–add peak, measured with pulp's run-time dispatch to the
//! widest vector set the CPU has. Twelve independent accumulators keep both FMA ports
//! busy through the FMA latency, so the loop is bound by throughput, not by a chain.

use std::hint::black_box;
use std::time::Instant;

use pulp::{Arch, Simd, WithSimd};

/// Independent accumulators: FMA latency (4 cycles) × FMA ports (2), with margin, and
/// few enough to stay in 16 vector registers with the two operands.
const ACCUMULATORS: usize = 12;

struct FmaLoop {
    iters: u64,
}

/// What one run did: its FLOPs, its vector width and its result, so the loop cannot be
/// dropped.
struct Done {
    flops: f64,
    lanes: usize,
    sum: f32,
}

impl WithSimd for FmaLoop {
    type Output = Done;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Done {
        // acc ← acc·m + c converges to c / (1 − m): no overflow, no subnormals.
        let m = simd.splat_f32s(black_box(0.999_9));
        let c = simd.splat_f32s(black_box(1e-3));
        let mut acc = [simd.splat_f32s(0.0); ACCUMULATORS];
        for _ in 0..self.iters {
            for a in &mut acc {
                *a = simd.mul_add_f32s(*a, m, c);
            }
        }
        let total = acc
            .iter()
            .fold(simd.splat_f32s(0.0), |s, a| simd.add_f32s(s, *a));
        Done {
            flops: (self.iters * (ACCUMULATORS * S::F32_LANES * 2) as u64) as f64,
            lanes: S::F32_LANES,
            sum: simd.reduce_sum_f32s(total),
        }
    }
}

/// The measured peak.
#[derive(Clone, Copy, Debug)]
pub struct Peak {
    pub gflops: f64,
    /// f32 lanes per vector of the instruction set pulp picked.
    pub lanes: usize,
}

/// The best of seven runs of 2,000,000 iterations (tens of milliseconds each).
pub fn fma_peak() -> Peak {
    let arch = Arch::new();
    let mut best = Peak {
        gflops: 0.0,
        lanes: 1,
    };
    for _ in 0..7 {
        let start = Instant::now();
        let done = arch.dispatch(FmaLoop {
            iters: black_box(2_000_000),
        });
        let secs = start.elapsed().as_secs_f64();
        black_box(done.sum);
        let gflops = done.flops / secs / 1e9;
        if gflops > best.gflops {
            best = Peak {
                gflops,
                lanes: done.lanes,
            };
        }
    }
    best
}
