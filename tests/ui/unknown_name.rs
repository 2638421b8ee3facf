use chainrule::network;

network! {
    net Xor {
        input x: [2];
        param w1: [2, 2] = xavier;
        let h = sigmoid(w1 @ xx);
        output h;
        loss sum(h);
    }
}

fn main() {}
