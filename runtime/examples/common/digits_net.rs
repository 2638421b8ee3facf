// The digits net, defined once for `digits` (which trains it) and `digits_baked` (which
// bakes the trained weights into its binary): `digits_net!(pub net Name)`, with any
// attributes before `pub`.
//
// 64 pixels in, 10 class scores (logits) out, one hidden layer of 32 units.
//
// - `fn swish` defines an activation, z·σ(z) (also called SiLU); `network!` derives its
//   derivative like any built-in's.
// - `dense(x, 32, swish)` is the layer shorthand: it declares `h_w: [32, 64]` (xavier)
//   and `h_b: [32]` (zeros) and binds `h = swish(h_w @ x + h_b)`.
// - The output layer is written out by hand, the same thing without the shorthand.
// - The loss is the softmax cross-entropy of the logits (stable for any logits) plus a
//   small L2 penalty on both weight matrices: weight decay, written into the loss.
#[allow(unused_macros)] // Only the digits examples use it.
macro_rules! digits_net {
    ($(#[$($attr:tt)*])* pub net $name:ident) => {
        chainrule::network! {
            fn swish(z) = z * sigmoid(z);

            /// Reads an 8×8 digit, pixels 0 (paper) to 1 (ink), and scores the classes 0
            /// to 9.
            $(#[$($attr)*])*
            pub net $name {
                input  x: [64];
                target t: [10];

                let h = dense(x, 32, swish);

                param w: [10, 32] = xavier;
                param b: [10];
                let z = w @ h + b;

                output z;
                loss softmax_cross_entropy(z, t) + 0.0001 * (sum(h_w * h_w) + sum(w * w));
            }
        }
    };
}
