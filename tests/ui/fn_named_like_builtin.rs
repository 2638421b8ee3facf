use chainrule::network;

network! {
    fn relu(z) = max(z, 0);
    net Fns {
        input x: [2];
        param w: [2, 2] = xavier;
        let y = relu(w @ x);
        output y;
        loss sum(y);
    }
}

fn main() {}
