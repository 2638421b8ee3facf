use chainrule::network;

network! {
    fn mix(a, b) = a * b;

    net Direct {
        input x: [1];
        target t: [1];
        param w: [1];
        let y = w * x;
        output t;
        loss mse(y, t);
    }

    net ThroughLet {
        input x: [1];
        target t: [1];
        param w: [1];
        let y = w * x + t;
        output y;
        loss mse(y, t);
    }

    net ThroughFn {
        input x: [1];
        target t: [1];
        param w: [1];
        let y = mix(w * x, t);
        output y;
        loss mse(y, t);
    }
}

fn main() {
    let _ = Direct::zeros().forward(&[1.0]);
}
