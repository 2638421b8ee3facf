use chainrule::network;

network! {
    net Empty {
        input x: [0];
        param w: [2, 0];
        output x;
        loss sum(x) + sum(w);
    }
}

fn main() {}
