use chainrule::network;

network! {
    net Xor {
        input x: [2];
        param w1: [2, 2] = xavier;
        let h = log(w1 @ x);
        let g = sigmod(h);
        output g;
        loss sum(g);
    }
}

fn main() {}
