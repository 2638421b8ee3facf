use chainrule::network;

network! {
    /// Compiled out with everything it generates: no error of its own.
    #[cfg(any())]
    net Absent {
        input x: [2];
        param w: [2];
        let y = w * x;
        output y;
        loss sum(y);
    }

    /// Present, struct and impls alike.
    #[cfg(all())]
    #[derive(Default)]
    #[allow(dead_code)]
    net Present {
        input x: [2];
        param w: [2];
        let y = w * x;
        output y;
        loss sum(y);
    }

    #[repr(packed)]
    net Packed { input x: [1]; param w: [1]; let y = w * x; output y; loss sum(y); }

    #[derive(Hash, Clone)]
    net Derived { input x: [1]; param w: [1]; let y = w * x; output y; loss sum(y); }

    #[cfg]
    net NoPredicate { input x: [1]; param w: [1]; let y = w * x; output y; loss sum(y); }

    #[allow = ]
    net Malformed { input x: [1]; param w: [1]; let y = w * x; output y; loss sum(y); }
}

fn main() {
    let net = Present::default();
    let _ = net.forward(&[1.0, 2.0]);
    let _ = Packed::zeros().forward(&[1.0]);
}
