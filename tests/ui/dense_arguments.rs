use chainrule::network;

network! {
    net Mlp {
        input x: [4];
        let a = dense(x, n, tanh);
        let b = dense(x, 0);
        let c = dense(x, 3, softmax);
        let d = dense(x, 3, max);
        output a;
        loss sum(a) + sum(b) + sum(c) + sum(d);
    }
}

fn main() {}
