use chainrule::network;

network! {
    net Index {
        input x: [3];
        param w: [3, 3] = xavier;
        let y = w @ x;
        output y;
        loss y[3] + sum(w[3]) + w[0, 1, 2];
    }
}

fn main() {}
