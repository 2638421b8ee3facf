//! The nets the benchmarks time, written with `network!`, each matching one hand-written
//! net of [`crate::handwritten`] field for field.

use chainrule::network;

network! {
    /// 2-8-1, sigmoid, mean squared error (unrolled form).
    pub net Gen281 {
        input x: [2];
        target t: [1];
        param w1: [8, 2] = xavier;
        param b1: [8];
        param w2: [1, 8] = xavier;
        param b2: [1];
        let h = sigmoid(w1 @ x + b1);
        let y = sigmoid(w2 @ h + b2);
        output y;
        loss mse(y, t);
    }

    /// 2-8-1 again, forced into loop form, to measure the unroll policy.
    #[chainrule(unroll = 0)]
    pub net Gen281Loops {
        input x: [2];
        target t: [1];
        param w1: [8, 2] = xavier;
        param b1: [8];
        param w2: [1, 8] = xavier;
        param b2: [1];
        let h = sigmoid(w1 @ x + b1);
        let y = sigmoid(w2 @ h + b2);
        output y;
        loss mse(y, t);
    }

    /// 4-16-16-3, tanh, softmax cross-entropy.
    pub net Gen4_16_16_3 {
        input x: [4];
        target t: [3];
        param w1: [16, 4] = xavier;
        param b1: [16];
        param w2: [16, 16] = xavier;
        param b2: [16];
        param w3: [3, 16] = xavier;
        param b3: [3];
        let h1 = tanh(w1 @ x + b1);
        let h2 = tanh(w2 @ h1 + b2);
        let z = w3 @ h2 + b3;
        output z;
        loss softmax_cross_entropy(z, t);
    }

    /// 64-64-64-10, relu, softmax cross-entropy, weights `[out, in]` (`w @ x`).
    pub net Gen64Rows {
        input x: [64];
        target t: [10];
        param w1: [64, 64] = he;
        param b1: [64];
        param w2: [64, 64] = he;
        param b2: [64];
        param w3: [10, 64] = xavier;
        param b3: [10];
        let h1 = relu(w1 @ x + b1);
        let h2 = relu(w2 @ h1 + b2);
        let z = w3 @ h2 + b3;
        output z;
        loss softmax_cross_entropy(z, t);
    }

    /// 64-64-64-10, relu, softmax cross-entropy, weights `[in, out]` (`x @ w`).
    pub net Gen64Cols {
        input x: [64];
        target t: [10];
        param w1: [64, 64] = he;
        param b1: [64];
        param w2: [64, 64] = he;
        param b2: [64];
        param w3: [64, 10] = xavier;
        param b3: [10];
        let h1 = relu(x @ w1 + b1);
        let h2 = relu(h1 @ w2 + b2);
        let z = h2 @ w3 + b3;
        output z;
        loss softmax_cross_entropy(z, t);
    }

    /// 784-128-10, relu, softmax cross-entropy.
    pub net Gen784 {
        input x: [784];
        target t: [10];
        param w1: [128, 784] = he;
        param b1: [128];
        param w2: [10, 128] = xavier;
        param b2: [10];
        let h = relu(w1 @ x + b1);
        let z = w2 @ h + b2;
        output z;
        loss softmax_cross_entropy(z, t);
    }
}

macro_rules! to_handwritten {
    ($gen:ty => $hand:ty { $($field:ident),* }) => {
        impl From<&$gen> for $hand {
            fn from(g: &$gen) -> Self {
                Self { $($field: g.$field),* }
            }
        }
        impl From<&$hand> for $gen {
            fn from(h: &$hand) -> Self {
                Self { $($field: h.$field),* }
            }
        }
    };
}

use crate::handwritten::{MlpCols, MlpRows, Net4_16_16_3, Net281, Net784};

to_handwritten!(Gen281 => Net281 { w1, b1, w2, b2 });
to_handwritten!(Gen281Loops => Net281 { w1, b1, w2, b2 });
to_handwritten!(Gen4_16_16_3 => Net4_16_16_3 { w1, b1, w2, b2, w3, b3 });
to_handwritten!(Gen64Rows => MlpRows<64, 64, 64, 10> { w1, b1, w2, b2, w3, b3 });
to_handwritten!(Gen64Cols => MlpCols<64, 64, 64, 10> { w1, b1, w2, b2, w3, b3 });
to_handwritten!(Gen784 => Net784 { w1, b1, w2, b2 });
