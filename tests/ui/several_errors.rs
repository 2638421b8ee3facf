use chainrule::network;

network! {
    net Xor {
        input x: [2];
        target t: [1];
        param w1: [2, 3] = xavier;
        param w2: [1, 2] = xavier;
        let h = sigmoid(w1 @ x);
        let y = sigmod(w2 @ h);
        output y;
        loss bce(y, t);
    }

    net Broken {
        input x [2];
        output x;
        loss sum(x);
    }
}

fn main() {}
