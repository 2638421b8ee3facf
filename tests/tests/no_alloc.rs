//! Generated methods allocate nothing: each runs under a counting global allocator
//! (`allocation-counter`, which only counts this thread) and must make zero allocations.

use chainrule::{Network, network};

network! {
    /// Unrolled form.
    net Xor {
        input x: [2];
        target t: [1];
        param w1: [2, 2] = xavier;
        param b1: [2];
        param w2: [1, 2] = xavier;
        param b2: [1];
        let h = sigmoid(w1 @ x + b1);
        let y = sigmoid(w2 @ h + b2);
        output y;
        loss bce(y, t);
    }

    /// Loop form, both layouts, softmax, a regularizer and a matrix product.
    net Deep {
        input x: [64];
        target t: [10];
        param w1: [64, 64] = he;
        param b1: [64];
        param w2: [64, 64] = he;
        param b2: [64];
        param w3: [64, 10] = xavier;
        param b3: [10];
        param m: [4, 4] = xavier;
        let h1 = relu(w1 @ x + b1);
        let h2 = tanh(h1 @ w2 + b2);
        let z = h2 @ w3 + b3;
        let mm = m @ transpose(m);
        output z;
        loss softmax_cross_entropy(z, t) + 0.001 * sum(w1 * w1) + 0.01 * sum(mm);
    }

    /// A stacked GRU and LSTM over 64 steps, read out per step: loops, tapes, streaming.
    net Seq {
        input xs: [64, 2];
        target ts: [64, 1];
        param wo: [1, 8] = xavier;
        param bo: [1];
        let a = gru(xs, 8);
        let b = lstm(a, 8);
        let ys = for r in b { wo @ r + bo };
        output ys;
        loss mse(ys, ts);
    }

    /// No target.
    #[scalar(f64)]
    net Energy {
        input x: [3];
        param a: [3] = ones;
        let e = sum(softplus(a * x));
        output e;
        loss e;
    }
}

fn assert_no_alloc(what: &str, f: impl FnOnce()) {
    let info = allocation_counter::measure(f);
    assert_eq!(
        info.count_total, 0,
        "{what} allocated {} times",
        info.count_total
    );
}

#[test]
fn generated_methods_allocate_nothing() {
    // A counting allocator that sees nothing proves nothing: check it sees a Box first.
    let info = allocation_counter::measure(|| {
        std::hint::black_box(Box::new(1u8));
    });
    assert_eq!(info.count_total, 1, "the counting allocator is active");

    let xor = Xor::new(1);
    let (x, t) = ([1.0f32, 0.0], [1.0f32]);
    let mut g = Xor::zeros();
    let xs = [[0.0f32, 0.0], [1.0, 1.0]];
    let ts = [[0.0f32], [0.0]];
    assert_no_alloc("Xor::forward", || {
        std::hint::black_box(xor.forward(&x));
    });
    assert_no_alloc("Xor::loss", || {
        std::hint::black_box(xor.loss(&x, &t));
    });
    assert_no_alloc("Xor::backward", || {
        std::hint::black_box(xor.backward(&x, &t, &mut g));
    });
    assert_no_alloc("Xor::input_gradient", || {
        std::hint::black_box(xor.input_gradient(&x, &t));
    });
    assert_no_alloc("Xor::backward_batch", || {
        std::hint::black_box(xor.backward_batch(&xs, &ts, &mut g));
    });
    let mut ys = [[0.0f32]; 2];
    assert_no_alloc("Xor::forward_batch and loss_batch", || {
        xor.forward_batch(&xs, &mut ys);
        std::hint::black_box(&ys);
        std::hint::black_box(xor.loss_batch(&xs, &ts));
    });
    assert_no_alloc("Xor::new and zeros", || {
        std::hint::black_box(Xor::new(7));
        std::hint::black_box(Xor::zeros());
    });
    assert_no_alloc("Xor through the Network trait", || {
        std::hint::black_box(<Xor as Network>::backward(&xor, &x, &t, &mut g));
        std::hint::black_box(xor.as_slice().len());
    });

    let deep = Deep::new(2);
    let x: [f32; 64] = core::array::from_fn(|i| (i as f32 * 0.37).sin());
    let mut t = [0.0f32; 10];
    t[3] = 1.0;
    let mut g = Deep::zeros();
    let xs = [x; 3];
    let ts = [t; 3];
    assert_no_alloc("Deep::forward", || {
        std::hint::black_box(deep.forward(&x));
    });
    assert_no_alloc("Deep::loss", || {
        std::hint::black_box(deep.loss(&x, &t));
    });
    assert_no_alloc("Deep::backward", || {
        std::hint::black_box(deep.backward(&x, &t, &mut g));
    });
    assert_no_alloc("Deep::input_gradient", || {
        std::hint::black_box(deep.input_gradient(&x, &t));
    });
    assert_no_alloc("Deep::backward_batch", || {
        std::hint::black_box(deep.backward_batch(&xs, &ts, &mut g));
    });
    let mut ys = [[0.0f32; 10]; 3];
    assert_no_alloc("Deep::forward_batch and loss_batch", || {
        deep.forward_batch(&xs, &mut ys);
        std::hint::black_box(&ys);
        std::hint::black_box(deep.loss_batch(&xs, &ts));
    });

    let seq = Seq::new(4);
    let xs: [[f32; 2]; 64] = core::array::from_fn(|i| [(i as f32 * 0.3).sin(), 1.0]);
    let ts: [[f32; 1]; 64] = core::array::from_fn(|i| [(i as f32 * 0.2).cos()]);
    let mut g = Seq::zeros();
    assert_no_alloc("Seq methods", || {
        std::hint::black_box(seq.forward(&xs));
        std::hint::black_box(seq.loss(&xs, &ts));
        std::hint::black_box(seq.backward(&xs, &ts, &mut g));
        std::hint::black_box(seq.input_gradient(&xs, &ts));
        std::hint::black_box(seq.backward_batch(&[xs, xs], &[ts, ts], &mut g));
    });
    assert_no_alloc("Seq::initial_state and step", || {
        let mut state = seq.initial_state();
        for x in &xs {
            std::hint::black_box(seq.step(&mut state, x));
        }
    });

    let energy = Energy::new(3);
    let mut g = Energy::zeros();
    let x = [0.5f64, -1.0, 2.0];
    assert_no_alloc("Energy methods", || {
        std::hint::black_box(energy.forward(&x));
        std::hint::black_box(energy.loss(&x));
        std::hint::black_box(energy.backward(&x, &mut g));
        std::hint::black_box(energy.input_gradient(&x));
        std::hint::black_box(energy.backward_batch(&[x, x], &mut g));
        std::hint::black_box(energy.loss_batch(&[x, x]));
    });
}
