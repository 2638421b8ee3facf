use chainrule::network;

network! {
    net Mlp {
        input x: [2];
        param h_w: [3];
        let h = dense(x, 3, tanh);
        output h;
        loss sum(h) + sum(h_w);
    }
}

fn main() {}
