//! The examples' data sets load offline from the bundled crate, and the run plot is a PNG.
#![forbid(unsafe_code)]

#[path = "../examples/common/mod.rs"]
mod common;
mod support;

use chainrule::{Adam, EpochRecord, History, Progress, Trainer, accuracy, argmax_accuracy};
use support::{DigitsNet, IrisNet};

#[test]
fn digits_are_the_uci_set() {
    let d = common::digits();
    assert_eq!(d.len(), 1797);
    assert_eq!(d.targets.len(), 1797);
    let mut counts = [0usize; 10];
    for &c in &d.classes {
        counts[c] += 1;
    }
    // The UCI counts of each digit 0..=9 in the 1797-image set.
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    assert!(d.inputs.iter().flatten().all(|p| (0.0..=1.0).contains(p)));
    // Pixels were whole numbers 0..=16.
    assert!(d.inputs.iter().flatten().all(|p| (p * 16.0).fract() == 0.0));
    // The first image is a zero, with its familiar top row.
    assert_eq!(d.classes[0], 0);
    let top_row: Vec<f32> = d.inputs[0][..8].iter().map(|p| p * 16.0).collect();
    assert_eq!(top_row, [0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]);
    for (t, &c) in d.targets.iter().zip(&d.classes) {
        assert_eq!(chainrule::argmax(t), c);
    }
}

#[test]
fn iris_is_fishers_set() {
    let d = common::iris();
    assert_eq!(d.len(), 150);
    let mut counts = [0usize; 3];
    for &c in &d.classes {
        counts[c] += 1;
    }
    assert_eq!(counts, [50, 50, 50]);
    assert_eq!(d.inputs[0], [5.1, 3.5, 1.4, 0.2]);
    assert_eq!(common::IRIS_SPECIES[d.classes[0]], "setosa");
}

#[test]
fn diabetes_is_efrons_set() {
    let d = common::diabetes();
    assert_eq!(d.len(), 442);
    let ys: Vec<f64> = d.targets.iter().map(|t| t[0]).collect();
    // Disease progression: whole numbers from 25 to 346, mean 152.13.
    assert!(ys.iter().all(|y| y.fract() == 0.0));
    assert_eq!(ys.iter().copied().fold(f64::MAX, f64::min), 25.0);
    assert_eq!(ys.iter().copied().fold(0.0, f64::max), 346.0);
    let mean = ys.iter().sum::<f64>() / 442.0;
    assert!((mean - 152.13).abs() < 0.01, "{mean}");
    assert_eq!(ys[0], 151.0);
}

#[test]
fn regression_splits_standardize_inputs_and_target_with_training_statistics() {
    let d = common::diabetes();
    let (mut train, mut test) = d.split(0.2, 1);
    assert_eq!((train.len(), test.len()), (354, 88));
    let raw: Vec<f64> = test.targets.iter().map(|t| t[0]).collect();
    let s = train.standardize(&mut [&mut test]);
    let columns = (0..10).map(|j| train.inputs.iter().map(|x| x[j]).collect::<Vec<_>>());
    for col in columns.chain(std::iter::once(
        train.targets.iter().map(|t| t[0]).collect(),
    )) {
        let mean = col.iter().sum::<f64>() / 354.0;
        let var = col.iter().map(|v| v * v).sum::<f64>() / 354.0;
        assert!(
            mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12,
            "{mean} {var}"
        );
    }
    for (t, r) in test.targets.iter().zip(&raw) {
        assert!((s.undo(t[0]) - r).abs() < 1e-9);
    }
}

#[test]
fn splits_are_seeded_and_standardising_uses_training_statistics() {
    let d = common::iris();
    let (mut train, mut test) = d.split(0.2, 7);
    assert_eq!((train.len(), test.len()), (120, 30));
    let (again, _) = d.split(0.2, 7);
    assert_eq!(train.inputs, again.inputs);
    let (other, _) = d.split(0.2, 8);
    assert_ne!(train.inputs, other.inputs);
    train.standardize(&mut [&mut test]);
    for j in 0..4 {
        let mean: f32 = train.inputs.iter().map(|x| x[j]).sum::<f32>() / 120.0;
        let var: f32 = train.inputs.iter().map(|x| x[j] * x[j]).sum::<f32>() / 120.0;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "{j}: {mean} {var}"
        );
    }
    assert!(test.inputs.iter().flatten().all(|v| v.abs() < 5.0));
}

#[test]
fn the_run_plot_is_a_png_of_the_right_size() {
    let d = common::digits();
    let history = History {
        epochs: (1..=12)
            .map(|e| EpochRecord {
                epoch: e,
                learning_rate: 1e-3,
                train_loss: 2.0 / e as f64,
                valid_loss: Some(2.2 / e as f64 + 0.05),
                train_accuracy: None,
                valid_accuracy: None,
            })
            .collect(),
        ..History::default()
    };
    let shown: Vec<common::Shown> = (0..8)
        .map(|i| common::Shown {
            pixels: &d.inputs[i],
            class: d.classes[i],
            predicted: if i == 3 { 8 } else { d.classes[i] },
        })
        .collect();
    let path = std::env::temp_dir().join(format!("chainrule-plot-{}.png", std::process::id()));
    common::plot_run(&path, "digits: loss per epoch", &history, &shown).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    if let Ok(keep) = std::env::var("CHAINRULE_KEEP_PLOT") {
        std::fs::copy(&path, keep).unwrap();
    }
    std::fs::remove_file(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // The IHDR chunk holds the width and height, big-endian.
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1100, 520));
}

#[test]
fn a_hand_written_64_32_10_net_reaches_95_percent_on_held_out_digits() {
    // The bar the digits example must clear, with the net it will generate written by
    // hand: so the runtime side (data, split, trainer, Adam) is known to get there.
    let (train, test) = common::digits().split(0.2, 42);
    let mut net: DigitsNet = chainrule::Network::new(1);
    // No validation set: the held-out images must not pick the epoch that is kept.
    let history = Trainer::new(&mut net, &mut Adam::new(3e-3))
        .epochs(20)
        .batch_size(32)
        .accuracy(argmax_accuracy)
        .progress(Progress::Hidden)
        .fit(&train.inputs, &train.targets)
        .unwrap();
    let held_out = accuracy(&net, &test.inputs, &test.targets, argmax_accuracy);
    assert!(held_out >= 0.95, "{held_out}: {:?}", history.last());
    assert_eq!(test.len(), 359);
}

#[test]
fn a_hand_written_4_16_3_net_learns_iris() {
    let (mut train, mut test) = common::iris().split(0.2, 1);
    train.standardize(&mut [&mut test]);
    let mut net: IrisNet = chainrule::Network::new(3);
    Trainer::new(&mut net, &mut Adam::new(1e-2))
        .epochs(60)
        .batch_size(16)
        .progress(Progress::Hidden)
        .fit(&train.inputs, &train.targets)
        .unwrap();
    let held_out = accuracy(&net, &test.inputs, &test.targets, argmax_accuracy);
    assert!(held_out >= 0.9, "{held_out}");
}
