use chainrule::{Streaming, network};

network! {
    net Echo {
        input xs: [8, 1];
        target ts: [8, 1];
        param wx: [4, 1] = xavier;
        param wh: [4, 4] = xavier;
        param wo: [1, 4] = xavier;
        state h: [4];
        let ys = for x in xs {
            h = tanh(wx @ x + wh @ h + bias);
            wo @ h
        };
        output ys;
        loss mse(ys, ts);
    }

    net Stacked {
        input xs: [8, 2];
        target t: [8, 3];
        let a = gru(xs, 4);
        let b = lstm(a, 3);
        output b;
        loss mse(b, t) + penalty;
    }
}

// One mistake in each net, one error each: their stubs still stream, with the states'
// fields, so the uses below add nothing.
fn main() {
    let net = Echo::new(0);
    let mut state = net.initial_state();
    let y: [f32; 1] = net.step(&mut state, &[0.5]);
    let h: [f32; 4] = state.h;
    let stacked = Stacked::new(0);
    let mut s = <Stacked as Streaming>::initial_state(&stacked);
    let z: [f32; 3] = stacked.step(&mut s, &[0.5, 0.1]);
    let (a, c): ([f32; 4], [f32; 3]) = (s.a_h, s.b_c);
    let _ = (y, h, z, a, c);
}
