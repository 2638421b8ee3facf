use chainrule::network;

network! {
    net Last {
        input xs: [50, 1];
        target t: [4];
        let h = gru(xs, 4);
        let last = h[50];
        output last;
        loss mse(last, t);
    }
}

fn main() {}
