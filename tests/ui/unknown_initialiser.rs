use chainrule::network;

network! {
    net Init {
        input x: [2];
        param w: [2, 2] = glorot;
        param b: [2] = uniform(0.1);
        let y = w @ x + b;
        output y;
        loss sum(y);
    }
}

fn main() {}
