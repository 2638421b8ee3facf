use chainrule::network;

network! {
    net Reuse {
        input x: [2];
        target t: [1];
        param ww: [1, 2];
        let t = ww @ x;
        output t;
        loss mse(t, t);
    }
}

fn main() {}
