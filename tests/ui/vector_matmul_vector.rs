use chainrule::network;

network! {
    net Dot {
        input x: [3];
        param w: [3];
        let s = w @ x;
        output s;
        loss s;
    }
}

fn main() {}
