use chainrule::network;

network! {
    net Xor {
        input x: [2];
        param w: [2, 2] = xavier;
        let y = w ** x;
        output y;
        loss sum(y);
    }
}

fn main() {}
