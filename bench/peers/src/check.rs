//! Correctness before speed: every peer's outputs, mean loss and gradient against
//! chainrule's, for one net at one batch size.

use crate::spec::Batch;
use crate::{Contender, Net, Peer};

/// The largest difference allowed, relative to the largest entry of chainrule's
/// outputs or gradient, or to its loss. Summing up to 784 products in another order, with
/// or without FMA, and other `exp`/`tanh` implementations stay below 5e-7 on these nets.
pub const TOLERANCE: f32 = 1e-5;

/// How far one peer is from chainrule on one net and batch.
#[derive(Clone, Debug)]
pub struct Agreement {
    pub net: Net,
    pub peer: Peer,
    pub batch: usize,
    pub outputs: f32,
    pub loss: f32,
    pub gradient: f32,
}

impl Agreement {
    pub fn worst(&self) -> f32 {
        self.outputs.max(self.loss).max(self.gradient)
    }

    pub fn passes(&self) -> bool {
        self.worst() <= TOLERANCE
    }
}

/// `max |a − b| / max |b|`: the difference relative to the reference's largest entry.
/// A length mismatch is infinitely far.
pub fn relative(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    // `f32::max` drops NaN, so a NaN anywhere is caught first.
    if a.iter().chain(b).any(|v| v.is_nan()) {
        return f32::INFINITY;
    }
    let scale = b
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()))
        .max(f32::MIN_POSITIVE);
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

/// Each of `peers` (chainrule itself is skipped) against chainrule on `net` with a batch
/// of `n` samples.
pub fn check(net: Net, n: usize, peers: &[Peer]) -> Vec<Agreement> {
    let spec = net.spec();
    let batch = Batch::new(&spec, n, n as u64);
    let mut reference = Peer::Chainrule.prepare(net, &spec, &batch);
    peers
        .iter()
        .filter(|&&p| p != Peer::Chainrule)
        .map(|&peer| {
            let mut c = peer.prepare(net, &spec, &batch);
            let [outputs, loss, gradient] = compare(&mut *c, &mut *reference);
            Agreement {
                net,
                peer,
                batch: n,
                outputs,
                loss,
                gradient,
            }
        })
        .collect()
}

/// The relative differences of outputs, loss and gradient of `c` from `reference`.
pub fn compare(c: &mut dyn Contender, reference: &mut dyn Contender) -> [f32; 3] {
    let (l, g) = c.gradient();
    let (loss, gradient) = reference.gradient();
    [
        relative(&c.outputs(), &reference.outputs()),
        relative(&[l], &[loss]),
        relative(&g, &gradient),
    ]
}
