use chainrule::network;

network! {
    net Mlp {
        input m: [2, 2];
        let h = dense(m, 3, tanhh);
        output h;
        loss sum(h);
    }
}

fn main() {}
