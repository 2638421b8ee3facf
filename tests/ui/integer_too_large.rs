use chainrule::network;

network! {
    net Big {
        input x: [99999999999999999999999];
        output x;
        loss sum(x);
    }
}

fn main() {}
