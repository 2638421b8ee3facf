use chainrule::network;

network! {
    // Two parameters under one tensor name.
    net Twice {
        input x: [2];
        #[tensor("fc.weight")] param w: [2, 2];
        #[tensor("fc")] let h = dense(x, 2);
        let y = sum(w @ h);
        output y;
        loss y;
    }

    // A `let` that declares no parameter has no tensor to name.
    net Plain {
        input x: [2];
        param w: [2];
        #[tensor("y")] let y = sum(w * x);
        output y;
        loss y;
    }

    // An empty name, and a second attribute.
    net Empty {
        input x: [2];
        #[tensor("")] param w: [2];
        #[tensor("a")] #[tensor("b")] param v: [2];
        let y = sum(w * v * x);
        output y;
        loss y;
    }

    #[tensor("net")]
    net OnTheNet {
        input x: [2];
        param w: [2];
        let y = sum(w * x);
        output y;
        loss y;
    }
}

fn main() {}
