use chainrule::network;

network! {
    net Echo {
        input xs: [50, 1];
        target ts: [40, 1];
        param wx: [4, 1] = xavier;
        param wo: [1, 4] = xavier;
        state h: [4];
        let ys = for x in xs {
            h = tanh(wx @ x + h);
            wo @ h
        };
        output ys;
        loss mse(ys, ts);
    }
}

fn main() {}
