use chainrule::network;

network! {
    net Huge {
        input x: [2048];
        param w: [2048, 2048] = xavier;
        let y = w @ x;
        output y;
        loss sum(y);
    }
}

fn main() {}
