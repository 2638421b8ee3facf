use chainrule::network;

network! {
    net Pow {
        input x: [3];
        param p: [3] = ones;
        let y = x ^ p;
        output y;
        loss sum(y);
    }
}

fn main() {}
