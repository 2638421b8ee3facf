use chainrule::network;

network! {
    net Leaky {
        input x: [2];
        param w: [2, 2] = xavier;
        param a: [];
        let y = leaky_relu(w @ x, a);
        output y;
        loss sum(y);
    }
}

fn main() {}
