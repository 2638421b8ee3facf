use chainrule::network;

network! {
    net OfScalar {
        input x: [3];
        target t: [];
        param w: [3];
        let s = sum(w * x);
        output s;
        loss softmax_cross_entropy(s, t);
    }

    net OfMatrix {
        input x: [2, 3];
        target t: [2, 3];
        param w: [2, 3];
        let z = w * x;
        output z;
        loss softmax_cross_entropy(z, t);
    }
}

fn main() {}
