//! Running a recurrent net one step at a time.

/// A net whose output is a per-step sequence computed causally from its input's rows,
/// run one row at a time: the real-time form of `forward`.
///
/// `network!` implements it, and the same methods as inherent methods, for a net whose
/// output is the rows of a `for` loop over the input's rows, or over the rows of such a
/// loop (stacked recurrent layers). Fed a sequence row by row from
/// [`Streaming::initial_state`], [`Streaming::step`] returns exactly the rows `forward`
/// returns, bit for bit.
///
/// ```
/// use chainrule::{Streaming, network};
///
/// network! {
///     net Smooth {
///         input xs: [8, 1];
///         param a: [1] = constant(0.5);
///         state h: [1];
///         let ys = for x in xs {
///             h = a * h + (1 - a) * x;
///             h
///         };
///         output ys;
///         loss sum(ys);
///     }
/// }
///
/// let net = Smooth::new(0);
/// let xs = [[1.0f32]; 8];
/// let mut state = net.initial_state();
/// let rows: Vec<[f32; 1]> = xs.iter().map(|x| net.step(&mut state, x)).collect();
/// assert_eq!(rows, net.forward(&xs));
/// ```
pub trait Streaming: crate::Network {
    /// The carried states of every loop on the way from input to output, one public field
    /// each.
    type State: Clone + core::fmt::Debug + PartialEq + Send + Sync + 'static;
    /// One row of the input: one step's input.
    type Row: Clone + core::fmt::Debug + Send + Sync + 'static;
    /// One row of the output: what one step gives.
    type Out: Clone + core::fmt::Debug + Send + Sync + 'static;

    /// The states before the first step, as `forward` starts them.
    fn initial_state(&self) -> Self::State;
    /// One step: updates `state` from one input row and returns the output row.
    fn step(&self, state: &mut Self::State, x: &Self::Row) -> Self::Out;
}
