use chainrule::network;

network! {
    fn even(z) = odd(z - 1);
    fn odd(z) = even(z - 1);
    net Rec {
        input x: [2];
        param w: [2, 2] = xavier;
        let y = even(w @ x);
        output y;
        loss sum(y);
    }
}

fn main() {}
