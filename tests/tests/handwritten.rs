//! The hand-written baselines compute what the generated nets compute: same outputs, same
//! losses, same gradients (to f32 rounding). The generated side is itself checked in f64
//! against finite differences (`gradients.rs`), so this checks the baselines.

use chainrule::Network;
use chainrule_tests::handwritten::{MlpCols, MlpRows, Net4_16_16_3, Net281, Net784};
use chainrule_tests::nets::{Gen4_16_16_3, Gen64Cols, Gen64Rows, Gen281, Gen784};

fn close(a: &[f32], b: &[f32], what: &str) {
    let scale = a.iter().chain(b).fold(1e-3f32, |m, v| m.max(v.abs()));
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 2e-5 * scale,
            "{what}[{k}]: hand-written {x} vs generated {y}"
        );
    }
}

fn one_hot<const N: usize>(k: usize) -> [f32; N] {
    let mut t = [0.0; N];
    t[k % N] = 1.0;
    t
}

fn input<const N: usize>(seed: f32) -> [f32; N] {
    core::array::from_fn(|i| ((i as f32 + 1.0) * seed).sin())
}

macro_rules! compare {
    ($test:ident: $gen:ty, $hand:ty, $n:literal, $o:literal, $target:expr) => {
        #[test]
        fn $test() {
            for seed in 0..3u64 {
                let g = <$gen>::new(seed);
                let h = <$hand>::from(&g);
                let x: [f32; $n] = input(0.3 + seed as f32);
                let t: [f32; $o] = $target(seed as usize);
                close(&h.forward(&x), &g.forward(&x), "output");
                let mut gg = <$gen as Network>::zeros();
                let lg = g.backward(&x, &t, &mut gg);
                let mut hg = <$hand>::from(&<$gen as Network>::zeros());
                let lh = h.backward(&x, &t, &mut hg);
                close(&[lh], &[lg], "loss");
                let hg = <$gen>::from(&hg);
                close(hg.as_slice(), gg.as_slice(), "gradient");
            }
        }
    };
}

compare!(net_2_8_1: Gen281, Net281, 2, 1, |s: usize| [(s % 2) as f32]);
compare!(net_4_16_16_3: Gen4_16_16_3, Net4_16_16_3, 4, 3, one_hot::<3>);
compare!(net_64_rows: Gen64Rows, MlpRows<64, 64, 64, 10>, 64, 10, one_hot::<10>);
compare!(net_64_cols: Gen64Cols, MlpCols<64, 64, 64, 10>, 64, 10, one_hot::<10>);

#[test]
fn net_784_128_10() {
    // Generated nets come straight from the heap; the hand-written side is boxed by
    // conversion, in a thread with room for its temporaries in a debug build.
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            let g: Box<Gen784> = chainrule::boxed_new(5);
            let h = Box::new(Net784::from(&*g));
            let x: [f32; 784] = input(0.01);
            let t: [f32; 10] = one_hot(3);
            close(&h.forward(&x), &g.forward(&x), "output");
            let mut gg: Box<Gen784> = chainrule::boxed_zeros();
            let mut hg = Box::new(Net784::from(&*gg));
            let lg = g.backward(&x, &t, &mut gg);
            let lh = h.backward(&x, &t, &mut hg);
            close(&[lh], &[lg], "loss");
            close(Gen784::from(&*hg).as_slice(), gg.as_slice(), "gradient");
        })
        .expect("spawn")
        .join()
        .expect("the 784 comparison passed");
}

#[test]
fn boxed_new_matches_new_without_touching_the_stack() {
    // 784-128-10 is 400 KB: `boxed_new` must give the very parameters `new` gives.
    let boxed: Box<Gen784> = chainrule::boxed_new(9);
    let mut again: Box<Gen784> = chainrule::boxed_zeros();
    again.reinit(9);
    assert_eq!(boxed.as_slice(), again.as_slice());
    let small = Gen281::new(9);
    let small_boxed: Box<Gen281> = chainrule::boxed_new(9);
    assert_eq!(&small, &*small_boxed);
    assert_ne!(Gen281::new(9), Gen281::new(10));
}

/// The hand-written real-time steps compute the generated `step`, over 200 samples.
#[test]
fn hand_written_recurrent_steps_match_generated_step() {
    use chainrule_tests::sequences::{Gru16, HandGru16, HandLstm24, Lstm24, LstmState24};
    let xs: Vec<f32> = (0..200).map(|t| (t as f32 * 0.21).sin() * 0.8).collect();

    let gru = Gru16::new(3);
    let hand = HandGru16::from(&gru);
    let (mut state, mut h) = (gru.initial_state(), [0.0f32; 16]);
    let generated: Vec<f32> = xs.iter().map(|x| gru.step(&mut state, &[*x])[0]).collect();
    let written: Vec<f32> = xs.iter().map(|x| hand.step(&mut h, *x)).collect();
    close(&written, &generated, "GRU-16 step");
    close(&h, &state.h_h, "GRU-16 hidden state");

    let lstm = Lstm24::new(4);
    let hand = HandLstm24::from(&lstm);
    let (mut state, mut s) = (lstm.initial_state(), LstmState24::default());
    let generated: Vec<f32> = xs.iter().map(|x| lstm.step(&mut state, &[*x])[0]).collect();
    let written: Vec<f32> = xs.iter().map(|x| hand.step(&mut s, *x)).collect();
    close(&written, &generated, "LSTM-24 step");
    close(&s.c, &state.h_c, "LSTM-24 cell state");
}
