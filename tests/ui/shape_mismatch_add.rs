use chainrule::network;

network! {
    net Xor {
        input x: [2];
        param w: [3, 2] = xavier;
        param b: [2];
        let h = w @ x + b;
        output h;
        loss sum(h);
    }
}

fn main() {}
