use chainrule::network;

network! {
    net Mlp {
        input x: [4];
        let y = sigmoid(dense(x, 3));
        output y;
        loss sum(y);
    }
}

fn main() {}
