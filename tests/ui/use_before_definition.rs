use chainrule::network;

network! {
    net Xor {
        input x: [2];
        let h = sigmoid(w1 @ x);
        param w1: [2, 2] = xavier;
        output h;
        loss sum(h);
    }
}

fn main() {}
