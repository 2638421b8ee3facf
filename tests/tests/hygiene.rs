//! Names the user picks never clash with the generated code's own, and items in scope
//! around the invocation (a `struct f64`, a `fn sigmoid`, a `mod core`) change nothing.
//! The file denies warnings, so generated code must also be lint-clean.
#![deny(warnings)]
#![forbid(unsafe_code)]

mod common;

mod hostile {
    #![allow(dead_code, non_camel_case_types)]

    use ::chainrule::network;

    // Items a careless expansion would pick up instead of its own.
    struct f64;
    struct f32;
    struct Vec;
    struct Network;
    type Option = ();
    fn sigmoid() {}
    fn exp() {}
    fn max() {}
    fn matvec_acc() {}
    mod core {}
    mod chainrule {}

    network! {
        /// Every name here is one the generated code also uses internally.
        #[scalar(f64)]
        pub net Hostile {
            input grad: [2];
            target x: [1];
            param i: [1, 2] = xavier;
            param self_: [1];
            param f32: [1];
            param scale: [];
            param t: [2] = ones;
            param __i: [2, 2] = xavier;
            let v_i = i @ (grad * t) + self_;
            let d_i = tanh(v_i) * scale + f32;
            let __t_1 = d_i;
            let __v_d_i_1 = __i @ grad;
            let seed = sigmoid(__t_1 + max(sum(__v_d_i_1), 0.5) * exp(-1));
            output seed;
            loss mse(seed, x) + 0.1 * sum(t * t) + scale * scale;
        }

        /// A net called like a generated local, without a target.
        #[scalar(f64)]
        pub net xs {
            input t: [3];
            param x: [3] = uniform(0.5, 1.5);
            let grad = sum(x * t * t);
            output grad;
            loss grad;
        }
    }
}

use common::{Rng, check_input, check_params, randomize};
use hostile::{Hostile, xs};

#[test]
fn hostile_names_compute_the_right_gradients() {
    let mut rng = Rng(5);
    for _ in 0..5 {
        let mut net = Hostile::zeros();
        randomize(&mut net, &mut rng, -1.0, 1.0);
        let x = rng.array::<2>(-1.0, 1.0);
        let t = [rng.range(0.0, 1.0)];
        check_params(&net, &x, &t);
        check_input(&net, &x, &t, |v| v.to_vec(), |v| [v[0], v[1]]);
    }
    let net = xs::new(1);
    check_params(&net, &[0.5, -1.0, 2.0], &());
    assert_eq!(Hostile::LAYOUT[3].name, "scale");
    assert_eq!(Hostile::LAYOUT[5].shape, [2, 2]);
    assert_eq!(Hostile::LAYOUT[5].name, "__i");
}
