use chainrule::network;

network! {
    net Two {
        input x: [2];
        input z: [2];
        output x;
        loss sum(x);
    }
}

fn main() {}
