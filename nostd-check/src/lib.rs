//! Proof that generated code builds without `std`: see `Cargo.toml`.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use core::panic::PanicInfo;

chainrule::network! {
    /// Unrolled form, with the math `libm` provides without `std`.
    pub net Xor {
        input x: [2];
        target t: [1];
        param w1: [2, 2] = xavier;
        param b1: [2];
        param w2: [1, 2] = xavier;
        param b2: [1];
        let h = tanh(w1 @ x + b1);
        let y = sigmoid(w2 @ h + b2);
        output y;
        loss bce(y, t);
    }

    /// Loop form, softmax, every elementwise function.
    #[scalar(f64)]
    pub net Wide {
        input x: [32];
        target t: [4];
        let h = dense(x, 32, softplus);
        let u = exp(-abs(h)) + sqrt(h * h + 1) + sin(h) * cos(h) + ln(1 + h * h) + max(h, 0.5);
        let z = dense(u, 4, leaky_relu);
        output z;
        loss softmax_cross_entropy(z, t) + 0.001 * sum(h_w * h_w);
    }
}

chainrule::network! {
    /// A GRU trained through time and stepped in real time, without `std`.
    pub net Gru {
        input xs: [32, 1];
        target ts: [32, 1];
        param wo: [1, 8] = xavier;
        param bo: [1];
        let h = gru(xs, 8);
        let ys = for r in h { wo @ r + bo };
        output ys;
        loss mse(ys, ts);
    }
}

chainrule::network! {
    /// Weights baked in from a safetensors file when this crate compiles.
    #[weights("../tests/reference/weights/small.safetensors")]
    pub net Baked {
        input x: [2];
        param w: [3, 2];
        param b: [3];
        let y = sum(w @ x + b);
        output y;
        loss y;
    }
}

/// The baked net, in read-only memory: no file, no heap.
pub static BAKED: Baked = Baked::WEIGHTS;

/// The baked net's output.
pub fn baked_forward(x: &[f32; 2]) -> f32 {
    BAKED.forward(x)
}

/// One SGD step of the GRU over a sequence: backpropagation through 32 steps.
pub fn gru_train_step(net: &mut Gru, xs: &[[f32; 1]; 32], ts: &[[f32; 1]; 32], lr: f32) -> f32 {
    let mut grad = Gru::zeros();
    let loss = net.backward(xs, ts, &mut grad);
    for (p, g) in net.as_mut_slice().iter_mut().zip(grad.as_slice()) {
        *p -= lr * g;
    }
    loss
}

/// One real-time step of the GRU: a sample in, a sample out.
pub fn gru_step(net: &Gru, state: &mut GruState, x: f32) -> f32 {
    net.step(state, &[x])[0]
}

/// One SGD step on the XOR net, by hand, to use every generated method without `std`.
pub fn xor_step(net: &mut Xor, x: &[f32; 2], t: &[f32; 1], lr: f32) -> f32 {
    let mut grad = Xor::zeros();
    let loss = net.backward(x, t, &mut grad);
    for (p, g) in net.as_mut_slice().iter_mut().zip(grad.as_slice()) {
        *p -= lr * g;
    }
    loss
}

/// A batch gradient of the wide net, through the matrix–matrix kernels and their SIMD
/// dispatch (the CPU's features read without `std`).
pub fn wide_batch_step(net: &Wide, xs: &[[f64; 32]], ts: &[[f64; 4]], grad: &mut Wide) -> f64 {
    const { assert!(Wide::CHUNK > 1) };
    net.backward_batch(xs, ts, grad)
}

/// The input gradient of the wide net.
pub fn wide_saliency(net: &Wide, x: &[f64; 32], t: &[f64; 4]) -> [f64; 32] {
    net.input_gradient(x, t)
}

/// The XOR net's safetensors file in a stack buffer, written without an allocator: the
/// buffer and the file's length, or the error for a buffer too short.
pub fn xor_safetensors(net: &Xor) -> Result<([u8; 512], usize), chainrule::IoError> {
    let mut buffer = [0; 512];
    let len = chainrule::write_safetensors(net, &mut buffer)?;
    Ok((buffer, len))
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {}
}
