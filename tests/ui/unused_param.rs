use chainrule::network;

network! {
    net Xor {
        input x: [2];
        param w1: [2, 2] = xavier;
        param w2: [2, 2] = xavier;
        let h = w1 @ x;
        output h;
        loss sum(h);
    }
}

fn main() {}
