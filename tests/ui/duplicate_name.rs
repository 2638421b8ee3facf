use chainrule::network;

network! {
    net Xor {
        input x: [2];
        param w: [2, 2] = xavier;
        let h = w @ x;
        let h = sigmoid(h);
        output h;
        loss sum(h);
    }
}

fn main() {}
