use chainrule::network;

network! {
    net Two {
        input x: [2];
        target t: [2];
        target u: [2];
        output x;
        loss mse(x, t);
    }
}

fn main() {}
