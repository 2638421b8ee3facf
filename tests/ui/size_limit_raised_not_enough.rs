use chainrule::network;

network! {
    #[chainrule(max_size = 100)]
    net Small {
        input x: [8];
        param w: [8, 8] = xavier;
        let y = w @ x;
        output y;
        loss sum(y);
    }
}

fn main() {}
