use chainrule::network;

network! {
    fn total(z) = sum(z);
    fn proj(z, w) = z @ w;
    fn scaled(z) = z * w;
    net Fns {
        input x: [2];
        param w: [2, 2] = xavier;
        let y = w @ x;
        output y;
        loss sum(y);
    }
}

fn main() {}
