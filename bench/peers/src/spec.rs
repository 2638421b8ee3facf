//! What every contender computes: a stack of dense layers read from a chainrule net's
//! parameters, a batch of inputs and targets, and the FLOP count of a pass.

use chainrule::Network;

/// The activation after a layer's affine map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Sigmoid,
    Tanh,
    Relu,
    /// The last layer of a softmax cross-entropy net: the logits go to the loss as they are.
    Identity,
}

/// The loss of the last layer's activated output against the target, per sample; every
/// contender takes the mean over the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// `(1/n) Σ (y_i − t_i)²`.
    Mse,
    /// `−Σ t_i log_softmax(z)_i`.
    SoftmaxCe,
}

/// How a layer's weight matrix is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `[out, in]`, as PyTorch stores it; the net computes `w @ x`, a batch `X Wᵀ`.
    OutIn,
    /// `[in, out]`, as Flax stores it; the net computes `x @ w`, a batch `X W`.
    InOut,
}

/// One dense layer: `act(w x + b)` or `act(x w + b)` depending on the net's layout.
#[derive(Clone, Debug)]
pub struct Layer {
    pub inputs: usize,
    pub outputs: usize,
    pub act: Act,
    /// Row-major in the net's layout.
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

/// A whole net, with the weights of one chainrule net.
#[derive(Clone, Debug)]
pub struct Spec {
    pub layout: Layout,
    pub loss: Loss,
    pub layers: Vec<Layer>,
}

impl Spec {
    /// Reads the layers of `net`, whose `LAYOUT` must be `w1, b1, w2, b2, …` with the
    /// given activations; panics when the shapes do not chain in `layout`.
    pub fn from_net<N: Network<Scalar = f32>>(
        net: &N,
        layout: Layout,
        acts: &[Act],
        loss: Loss,
    ) -> Self {
        assert_eq!(
            N::LAYOUT.len(),
            2 * acts.len(),
            "{}: one (w, b) per act",
            N::NAME
        );
        let mut flat = net.as_slice();
        let mut layers = Vec::new();
        for (pair, &act) in N::LAYOUT.chunks_exact(2).zip(acts) {
            let (w, b) = (&pair[0], &pair[1]);
            let [rows, cols] = *w.shape else {
                panic!("{}: `{}` is not a matrix", N::NAME, w.name)
            };
            let (inputs, outputs) = match layout {
                Layout::OutIn => (cols, rows),
                Layout::InOut => (rows, cols),
            };
            assert_eq!(b.shape, [outputs], "{}: `{}` does not fit", N::NAME, b.name);
            if let Some(prev) = layers.last() {
                let prev: &Layer = prev;
                assert_eq!(
                    prev.outputs,
                    inputs,
                    "{}: `{}` does not chain",
                    N::NAME,
                    w.name
                );
            }
            let (wv, rest) = flat.split_at(w.len());
            let (bv, rest) = rest.split_at(b.len());
            flat = rest;
            layers.push(Layer {
                inputs,
                outputs,
                act,
                w: wv.to_vec(),
                b: bv.to_vec(),
            });
        }
        assert!(flat.is_empty(), "{}: parameters left over", N::NAME);
        Self {
            layout,
            loss,
            layers,
        }
    }

    pub fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }

    /// The FLOPs of one sample: 2·m·n per matrix–vector product. Forward has one product
    /// per layer; forward and backward add `∂L/∂W` and `∂L/∂x` for every layer, except
    /// the first layer's `∂L/∂x`, which no one needs. Activations, biases and the loss
    /// are not counted.
    pub fn flops(&self, pass: Pass) -> f64 {
        let products: usize = self.layers.iter().map(|l| 2 * l.inputs * l.outputs).sum();
        match pass {
            Pass::Forward => products as f64,
            Pass::Train => {
                (3 * products - 2 * self.layers[0].inputs * self.layers[0].outputs) as f64
            }
        }
    }
}

/// What a timing measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// The outputs of the batch, without recording anything for a backward pass.
    Forward,
    /// The mean loss over the batch and its gradient with respect to every parameter.
    Train,
}

impl Pass {
    pub const ALL: [Pass; 2] = [Pass::Forward, Pass::Train];

    /// The name `--pass` takes.
    pub fn key(self) -> &'static str {
        match self {
            Pass::Forward => "forward",
            Pass::Train => "backward",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Pass::Forward => "forward",
            Pass::Train => "forward+backward",
        }
    }
}

/// Inputs and targets, row-major `[n, inputs]` and `[n, outputs]`.
#[derive(Clone, Debug)]
pub struct Batch {
    pub n: usize,
    pub x: Vec<f32>,
    pub t: Vec<f32>,
}

impl Batch {
    /// `n` deterministic samples for `spec`: inputs in `[-1, 1)`; for mean squared error
    /// a target of 0 or 1 (the XOR of the first two inputs' signs), otherwise a one-hot
    /// class.
    pub fn new(spec: &Spec, n: usize, seed: u64) -> Self {
        let (inputs, outputs) = (spec.inputs(), spec.outputs());
        let mut rng = SplitMix(seed);
        let x: Vec<f32> = (0..n * inputs).map(|_| rng.unit()).collect();
        let mut t = vec![0.0; n * outputs];
        for (s, row) in t.chunks_exact_mut(outputs).enumerate() {
            match spec.loss {
                Loss::Mse => {
                    let xs = &x[s * inputs..];
                    let on = (xs[0] > 0.0) != (inputs > 1 && xs[1] > 0.0);
                    row.fill(f32::from(u8::from(on)));
                }
                Loss::SoftmaxCe => row[(rng.next() % outputs as u64) as usize] = 1.0,
            }
        }
        Self { n, x, t }
    }
}

/// splitmix64: a few lines, the same numbers everywhere, no dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1)`, from the top 24 bits.
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}
