use chainrule::network;

network! {
    net Huge {
        input x: [100000];
        param w: [100000, 100000] = xavier;
        let y = w @ x;
        output y;
        loss sum(y);
    }
}

fn main() {}
