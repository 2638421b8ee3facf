use chainrule::network;

network! {
    #[chainrule(unrol = 64, max_size = 0)]
    #[scalar(f16)]
    net Settings {
        input x: [2];
        output x;
        loss sum(x);
    }
}

fn main() {}
