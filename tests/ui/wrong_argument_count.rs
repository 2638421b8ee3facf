use chainrule::network;

network! {
    net Xor {
        input x: [2];
        target t: [2];
        param w: [2, 2] = xavier;
        let y = sigmoid(w @ x, t);
        output y;
        loss mse(y);
    }
}

fn main() {}
