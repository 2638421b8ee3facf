//! Batched methods that run chunks of samples through the matrix–matrix kernels (issue
//! 10): equal to the per-sample methods up to rounding (SPEC §3: f32 1e-5, f64 1e-12,
//! relative to the largest entry) at every batch size around the chunk, for both `@`
//! layouts, with and without a target, in f32 and f64.

use chainrule::{Float, Network, boxed_new};
use chainrule_tests::nets::{Gen64Cols, Gen64Rows, Gen281, Gen784};

chainrule::network! {
    /// No target: the loss is a function of the input and the parameters only.
    #[scalar(f64)]
    #[chainrule(unroll = 0)]
    net Energy {
        input x: [12];
        let h = dense(x, 20, tanh);
        let e = 0.5 * sum(h * h) + 0.01 * sum(h_w * h_w);
        output h;
        loss e;
    }

    /// A large net forced to run its batches one sample at a time.
    #[chainrule(chunk = 1)]
    net PerSample {
        input x: [64];
        target t: [4];
        let h = dense(x, 64, relu);
        let z = dense(h, 4);
        output z;
        loss mse(z, t);
    }

    /// A chunk that is not a multiple of the kernels' 4-row tiles.
    #[scalar(f64)]
    #[chainrule(chunk = 7)]
    net Odd {
        input x: [9];
        target t: [3];
        param w: [9, 5] = xavier;
        let h = sigmoid(x @ w);
        let z = dense(h, 3);
        output z;
        loss softmax_cross_entropy(z, t) + 0.1 * sum(w * w);
    }
}

fn sample<const N: usize>(k: usize, salt: f64) -> [f64; N] {
    core::array::from_fn(|i| ((k * N + i) as f64 * 0.61 + salt).sin())
}

fn max_abs(v: impl IntoIterator<Item = f64>) -> f64 {
    v.into_iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Every entry of `got` within `tol` of `want`, relative to the largest entry of `want`.
fn close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = max_abs(want.iter().copied()).max(1e-30);
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}: entry {k} is {g}, expected {w} (largest entry {scale})"
        );
    }
}

/// The batch sizes where chunking can go wrong.
fn sizes(chunk: usize, most: usize) -> Vec<usize> {
    let mut s = vec![0, 1, 3, chunk - 1, chunk, chunk + 1, most];
    s.sort_unstable();
    s.dedup();
    s
}

/// `forward_batch`, `loss_batch`, `backward_batch` and `backward_batch_scaled` against
/// the per-sample methods, summed in f64.
fn check<N: Network>(
    net: &N,
    xs: &[N::Input],
    ts: &[N::Target],
    flat: impl Fn(&N::Output) -> Vec<f64>,
) where
    N::Output: Default,
{
    let tol = if <N::Scalar as Float>::NAME == "f64" {
        1e-12
    } else {
        1e-5
    };
    let n = xs.len();
    let mut ys = vec![N::Output::default(); n];
    net.forward_batch(xs, &mut ys);
    let each: Vec<f64> = xs.iter().flat_map(|x| flat(&net.forward(x))).collect();
    let got: Vec<f64> = ys.iter().flat_map(&flat).collect();
    close(
        &format!("{} forward_batch of {n}", N::NAME),
        &got,
        &each,
        tol,
    );

    let mut sum = vec![0.0; N::PARAMS];
    let mut losses = 0.0;
    for (x, t) in xs.iter().zip(ts) {
        let mut g = N::zeros();
        losses += net.backward(x, t, &mut g).to_f64();
        for (s, v) in sum.iter_mut().zip(g.as_slice()) {
            *s += v.to_f64();
        }
    }
    let mean = if n == 0 { 0.0 } else { losses / n as f64 };
    let l = net.loss_batch(xs, ts).to_f64();
    close(
        &format!("{} loss_batch of {n}", N::NAME),
        &[l],
        &[mean],
        tol,
    );

    let mut grad = N::zeros();
    let l = net.backward_batch(xs, ts, &mut grad).to_f64();
    close(
        &format!("{} backward_batch of {n} (loss)", N::NAME),
        &[l],
        &[mean],
        tol,
    );
    let got: Vec<f64> = grad.as_slice().iter().map(|v| v.to_f64()).collect();
    let want: Vec<f64> = sum
        .iter()
        .map(|s| if n == 0 { 0.0 } else { s / n as f64 })
        .collect();
    close(
        &format!("{} backward_batch of {n}", N::NAME),
        &got,
        &want,
        tol,
    );

    let scale = 0.25;
    let mut grad = N::zeros();
    let l = net
        .backward_batch_scaled(xs, ts, N::Scalar::from_f64(scale), &mut grad)
        .to_f64();
    close(
        &format!("{} backward_batch_scaled of {n} (loss)", N::NAME),
        &[l],
        &[losses],
        tol,
    );
    let got: Vec<f64> = grad.as_slice().iter().map(|v| v.to_f64()).collect();
    let want: Vec<f64> = sum.iter().map(|s| s * scale).collect();
    close(
        &format!("{} backward_batch_scaled of {n}", N::NAME),
        &got,
        &want,
        tol,
    );
}

fn to_f32<const N: usize>(v: [f64; N]) -> [f32; N] {
    v.map(|e| e as f32)
}

fn one_hot<const N: usize>(k: usize) -> [f32; N] {
    core::array::from_fn(|i| if i == k % N { 1.0 } else { 0.0 })
}

macro_rules! classifier {
    ($test:ident, $net:ty, $n_in:literal, $most:literal) => {
        #[test]
        fn $test() {
            let net: Box<$net> = boxed_new(5);
            const { assert!(<$net>::CHUNK > 1) };
            for n in sizes(<$net>::CHUNK, $most) {
                let xs: Vec<[f32; $n_in]> = (0..n).map(|k| to_f32(sample(k, 0.3))).collect();
                let ts: Vec<_> = (0..n).map(one_hot).collect();
                check(&*net, &xs, &ts, |y| {
                    y.iter().map(|v| f64::from(*v)).collect()
                });
            }
        }
    };
}

classifier!(rows_layout_64_64_64_10, Gen64Rows, 64, 1000);
classifier!(columns_layout_64_64_64_10, Gen64Cols, 64, 1000);
classifier!(mnist_shaped_784_128_10, Gen784, 784, 200);

#[test]
fn unrolled_nets_and_chunk_1_run_the_per_sample_code() {
    // 2-8-1 is unrolled by the default budget, so its batches run per sample.
    const { assert!(Gen281::CHUNK == 1 && PerSample::CHUNK == 1) };
    let net = PerSample::new(2);
    let xs: Vec<[f32; 64]> = (0..9).map(|k| to_f32(sample(k, 0.1))).collect();
    let ts: Vec<[f32; 4]> = (0..9).map(|k| to_f32(sample(k, 0.9))).collect();
    check(&net, &xs, &ts, |y| {
        y.iter().map(|v| f64::from(*v)).collect()
    });
}

#[test]
fn a_net_without_target_runs_chunks() {
    let net = Energy::new(1);
    const { assert!(Energy::CHUNK > 1) };
    for n in sizes(Energy::CHUNK, 300) {
        let xs: Vec<[f64; 12]> = (0..n).map(|k| sample(k, 0.5)).collect();
        let ts = vec![(); n];
        check(&net, &xs, &ts, |y| y.to_vec());
        // The inherent methods take no targets and agree with the trait's.
        let mut g1 = Energy::zeros();
        let mut g2 = Energy::zeros();
        assert_eq!(
            net.backward_batch(&xs, &mut g1),
            Network::backward_batch(&net, &xs, &ts, &mut g2)
        );
        assert_eq!(g1, g2);
        assert_eq!(net.loss_batch(&xs), Network::loss_batch(&net, &xs, &ts));
    }
}

#[test]
fn an_odd_chunk_with_a_weight_penalty() {
    let net = Odd::new(4);
    const { assert!(Odd::CHUNK == 7) };
    for n in sizes(7, 100) {
        let xs: Vec<[f64; 9]> = (0..n).map(|k| sample(k, 0.2)).collect();
        let ts: Vec<[f64; 3]> = (0..n).map(|k| sample(k, 1.7).map(f64::abs)).collect();
        check(&net, &xs, &ts, |y| y.to_vec());
    }
}

#[test]
#[should_panic(expected = "backward_batch: 3 inputs but 2 targets")]
fn a_chunked_backward_batch_panics_on_a_length_mismatch() {
    let net: Box<Gen784> = boxed_new(0);
    let xs = vec![[0.0f32; 784]; 3];
    let ts = vec![one_hot::<10>(0); 2];
    net.backward_batch(&xs, &ts, &mut Gen784::zeros());
}

#[test]
#[should_panic(expected = "backward_batch: 2 inputs but 3 targets")]
fn a_chunked_net_without_target_checks_the_trait_s_targets() {
    let net = Energy::new(0);
    let xs = vec![[0.0f64; 12]; 2];
    Network::backward_batch_scaled(&net, &xs, &[(); 3], 1.0, &mut Energy::zeros());
}
