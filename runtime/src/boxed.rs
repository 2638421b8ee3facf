//! Large nets on the heap. A 784-128-10 net is 400 KB; building one on the stack and
//! moving it into a `Box` can overflow a thread's stack in a debug build, where moves are
//! copies. These build the net where it will live.

use alloc::boxed::Box;

use crate::Network;

/// A net with every parameter zero, allocated directly on the heap.
///
/// ```
/// chainrule::network! {
///     pub net Big {
///         input x: [784];
///         target t: [10];
///         let h = dense(x, 128, relu);
///         let z = dense(h, 10);
///         output z;
///         loss softmax_cross_entropy(z, t);
///     }
/// }
/// let grad: Box<Big> = chainrule::boxed_zeros();
/// assert!(grad.as_slice().iter().all(|g| *g == 0.0));
/// ```
pub fn boxed_zeros<N: Network + bytemuck::Zeroable>() -> Box<N> {
    bytemuck::zeroed_box()
}

/// [`Network::new`] on the heap: the same parameters for the same seed, never on the
/// stack.
pub fn boxed_new<N: Network + bytemuck::Zeroable>(seed: u64) -> Box<N> {
    let mut net: Box<N> = bytemuck::zeroed_box();
    net.reinit(seed);
    net
}
