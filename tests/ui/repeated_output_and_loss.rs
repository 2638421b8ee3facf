use chainrule::network;

network! {
    net Two {
        input x: [2];
        target t: [2];
        param w: [2, 2] = xavier;
        let y = w @ x;
        output y;
        output x;
        loss mse(y, t);
        loss sum(y);
    }
}

fn main() {}
