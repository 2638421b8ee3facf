use chainrule::network;

network! {
    net Ranks {
        input x: [3];
        param w: [3, 3] = xavier;
        let p = softmax(w);
        let q = transpose(x);
        output p;
        loss sum(p) + sum(q);
    }
}

fn main() {}
