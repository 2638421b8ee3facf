use chainrule::network;

network! {
    #[scalar(f64)]
    net Wide {
        input x: [784];
        target t: [10];
        let h = dense(x, 1024, relu);
        let z = dense(h, 10);
        output z;
        loss softmax_cross_entropy(z, t);
    }
}

fn main() {}
