use chainrule::network;

network! {
    net Keywords {
        input x: [2];
        param type: [2, 2] = xavier;
        let y = type @ x;
        output y;
        loss sum(y);
    }
}

fn main() {}
