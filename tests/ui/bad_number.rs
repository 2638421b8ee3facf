use chainrule::network;

network! {
    net Numbers {
        input x: [2];
        output x;
        loss sum(x) * 1.5u8 + 300u8 + 2foo;
    }
}

fn main() {}
