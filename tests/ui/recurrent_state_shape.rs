use chainrule::network;

network! {
    net Echo {
        input xs: [8, 2];
        target ts: [8, 1];
        param wx: [3, 2] = xavier;
        param wo: [1, 4] = xavier;
        state h: [4];
        let ys = for x in xs {
            h = tanh(wx @ x);
            wo @ h
        };
        output ys;
        loss mse(ys, ts);
    }
}

fn main() {}
