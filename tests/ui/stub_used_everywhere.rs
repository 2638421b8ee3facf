// A net with one mistake, used through every method of its API: the only error is the
// mistake itself, because the stub has the whole API with the real signatures.
use chainrule::{Network, network};

network! {
    /// A classifier with a typo in its loss.
    pub net Bad {
        input x: [2];
        target t: [1];
        let h = dense(x, 3, tanh);
        let z = dense(h, 1);
        let y = sigmoid(z);
        output y;
        loss bce(y, tt);
    }
}

fn main() {
    let mut net = Bad::new(0);
    net.reinit(1);
    let mut grad = Bad::zeros();
    let x = [0.5f32, -0.5];
    let t = [1.0f32];
    let y: [f32; 1] = net.forward(&x);
    let l: f32 = net.loss(&x, &t) + net.backward(&x, &t, &mut grad);
    let dx: [f32; 2] = net.input_gradient(&x, &t);
    let mut ys = [[0.0f32; 1]; 2];
    net.forward_batch(&[x, x], &mut ys);
    let lb: f32 = net.loss_batch(&[x, x], &[t, t]) + net.backward_batch(&[x], &[t], &mut grad);
    let n: usize = Bad::PARAMS + Bad::LAYOUT.len() + net.as_slice().len();
    net.as_mut_slice()[0] = 1.0;
    let w: [[f32; 2]; 3] = net.h_w;
    let generic = <Bad as Network>::backward_scaled(&net, &x, &t, 0.5, &mut grad);
    println!("{y:?} {l} {dx:?} {lb} {n} {w:?} {generic} {}", grad.h_b[0]);
}
