use chainrule::network;

network! {
    net Attrs {
        input x: [2];
        #[allow(unused)]
        param w: [2, 2] = xavier;
        let y = w @ x;
        output y;
        loss sum(y);
    }
}

fn main() {}
