//! Large nets do not overflow the stack: 784-128-10 (400 KB) builds with `new` and `zeros`
//! on a 2 MiB thread (Rust's default for tests) even in a debug build, where every move is
//! a copy; a 2.7 MB net builds on the same stack with `boxed_new`, and computes.

use chainrule::network;
use chainrule_tests::nets::Gen784;

network! {
    /// 784-512-512-10: 2.7 MB of parameters, far more than a test thread's stack.
    #[chainrule(max_size = 2000000)]
    pub net Huge {
        input x: [784];
        target t: [10];
        let h1 = dense(x, 512, relu);
        let h2 = dense(h1, 512, relu);
        let z = dense(h2, 10);
        output z;
        loss softmax_cross_entropy(z, t);
    }
}

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no stack overflow");
}

#[test]
fn a_784_128_10_net_builds_on_a_2_mib_stack() {
    on_small_stack(|| {
        let net = Gen784::new(3);
        assert!(net.as_slice().iter().any(|w| *w != 0.0));
        let zeros = Gen784::zeros();
        assert!(zeros.as_slice().iter().all(|w| *w == 0.0));
    });
}

#[test]
fn larger_nets_build_on_the_heap_and_train() {
    on_small_stack(|| {
        let net: Box<Huge> = chainrule::boxed_new(7);
        let mut grad: Box<Huge> = chainrule::boxed_zeros();
        assert_eq!(
            Huge::PARAMS,
            784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10
        );
        let x = [0.5f32; 784];
        let mut t = [0.0f32; 10];
        t[4] = 1.0;
        let loss = net.backward(&x, &t, &mut grad);
        assert!(loss.is_finite() && loss > 0.0);
        assert!(grad.as_slice().iter().any(|g| *g != 0.0));
        // The same parameters as `new` would give, without ever building one on the stack.
        let mut again: Box<Huge> = chainrule::boxed_zeros();
        again.reinit(7);
        assert_eq!(net.as_slice(), again.as_slice());
    });
}
