//! The parallel batch gradient equals the serial one up to rounding.
#![forbid(unsafe_code)]
#![cfg(feature = "rayon")]

mod support;

use chainrule::{Adam, Network, ParBackward, Progress, Trainer, par_backward_batch};
use support::{Centroid, Mlp64};

fn data(n: usize) -> (Vec<[f64; 4]>, Vec<[f64; 3]>) {
    let xs = (0..n)
        .map(|i| core::array::from_fn(|j| ((i * 5 + j * 3) % 11) as f64 / 5.0 - 1.0))
        .collect();
    let ts = (0..n).map(|i| chainrule::one_hot(i % 3)).collect();
    (xs, ts)
}

fn assert_close(a: &[f64], b: &[f64]) {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-12 * x.abs().max(1.0),
            "[{i}]: {x} vs {y}"
        );
    }
}

#[test]
fn parallel_equals_serial_for_many_batch_sizes() {
    let net = Mlp64::new(4);
    for n in [0, 1, 2, 3, 7, 64, 257] {
        let (xs, ts) = data(n);
        let mut serial = Mlp64::zeros();
        let mut parallel = Mlp64::zeros();
        let ls = net.backward_batch(&xs, &ts, &mut serial);
        let lp = par_backward_batch(&net, &xs, &ts, &mut parallel);
        assert!((ls - lp).abs() <= 1e-12, "n = {n}: {ls} vs {lp}");
        assert_close(serial.as_slice(), parallel.as_slice());
    }
}

#[test]
fn uneven_chunks_on_pools_of_other_sizes() {
    // 3 and 5 workers cut 100 samples into chunks of 34 and 20 (the last ones shorter).
    let net = Mlp64::new(2);
    let (xs, ts) = data(100);
    let mut serial = Mlp64::zeros();
    let ls = net.backward_batch(&xs, &ts, &mut serial);
    for threads in [3, 5] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut parallel = Mlp64::zeros();
        let lp = pool.install(|| par_backward_batch(&net, &xs, &ts, &mut parallel));
        assert!((ls - lp).abs() <= 1e-12, "{threads} threads: {ls} vs {lp}");
        assert_close(serial.as_slice(), parallel.as_slice());
    }
}

#[test]
fn it_adds_to_the_gradient_and_reuses_its_buffers() {
    let net = Mlp64::new(1);
    let (xs, ts) = data(100);
    let mut par = ParBackward::new();
    let mut grad = Mlp64::zeros();
    par.backward_batch(&net, &xs, &ts, &mut grad);
    par.backward_batch(&net, &xs, &ts, &mut grad);
    let mut serial = Mlp64::zeros();
    net.backward_batch(&xs, &ts, &mut serial);
    let doubled: Vec<f64> = serial.as_slice().iter().map(|g| 2.0 * g).collect();
    assert_close(grad.as_slice(), &doubled);
}

#[test]
fn a_net_without_target_works_too() {
    let net = Centroid {
        w: [0.5, 0.5],
        s: 2.0,
    };
    let xs: Vec<[f64; 2]> = (0..50).map(|i| [i as f64, -(i as f64)]).collect();
    let ts = vec![(); 50];
    let mut a = Centroid::zeros();
    let mut b = Centroid::zeros();
    let la = net.backward_batch(&xs, &ts, &mut a);
    let lb = par_backward_batch(&net, &xs, &ts, &mut b);
    assert!((la - lb).abs() <= 1e-12 * la);
    assert_close(a.as_slice(), b.as_slice());
}

#[test]
fn training_in_parallel_tracks_serial_training() {
    let (xs, ts) = data(120);
    let mut serial = Mlp64::new(3);
    let mut parallel = serial;
    let run = |net: &mut Mlp64, par: bool| {
        Trainer::new(net, &mut Adam::new(0.01))
            .epochs(5)
            .batch_size(40)
            .parallel(par)
            .progress(Progress::Hidden)
            .fit(&xs, &ts)
            .unwrap()
    };
    let hs = run(&mut serial, false);
    let hp = run(&mut parallel, true);
    assert_close(&hs.train_losses(), &hp.train_losses());
    let diff = serial
        .as_slice()
        .iter()
        .zip(parallel.as_slice())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(diff < 1e-9, "{diff}");
}
