use chainrule::network;

network! {
    /// Nothing but a parameter.
    pub net Empty {
        param w: [2];
    }
}

fn main() {}
