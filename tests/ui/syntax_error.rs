use chainrule::network;

network! {
    pub net Xor {
        input x [2];
        output x;
        loss sum(x);
    }
}

fn main() {}
