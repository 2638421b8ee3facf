use chainrule::network;

network! {
    net Xor {
        input x: [2];
        target t: [2];
        param w1: [2, 3] = xavier;
        param b1: [2];
        let h = sigmoid(w1 @ x + b1);
        output h;
        loss bce(h, t);
    }
}

fn main() {}
