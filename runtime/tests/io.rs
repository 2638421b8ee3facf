//! safetensors round trips are bit-exact, and every kind of bad file is a typed error.
#![forbid(unsafe_code)]

mod support;

use chainrule::{IoError, Network, from_safetensors, load_safetensors, save_safetensors};
use chainrule::{init, to_safetensors};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::path::PathBuf;
use support::{Centroid, LinReg32, LinReg64, Mlp32, Mlp64};

/// A net with every value drawn at random, plus the awkward ones: −0, a subnormal, ±inf,
/// and a NaN with a payload, which only a bit-exact copy keeps.
fn awkward<N: Network>(seed: u64) -> N {
    let mut net = N::zeros();
    init::fill(
        net.as_mut_slice(),
        init::Init::Normal {
            mean: 0.0,
            std: 3.0,
        },
        seed,
        0,
    );
    let special = [-0.0, 1e-310, f64::INFINITY, f64::NEG_INFINITY];
    for (v, s) in net.as_mut_slice().iter_mut().zip(special) {
        *v = <N::Scalar as chainrule::Float>::from_f64(s);
    }
    net
}

fn bits<N: Network>(net: &N) -> Vec<u8> {
    chainrule::__private::bytemuck::cast_slice(net.as_slice()).to_vec()
}

/// A path in the system's temporary folder, unique to this test process and `name`.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("chainrule-io-{}-{name}", std::process::id()))
}

#[test]
fn bytes_round_trip_bit_exactly() {
    let mut net = awkward::<Mlp32>(1);
    net.b2[2] = f32::from_bits(0x7fc0_1234); // NaN with a payload
    let back: Mlp32 = from_safetensors(&to_safetensors(&net).unwrap()).unwrap();
    assert_eq!(bits(&back), bits(&net));

    let mut net = awkward::<Mlp64>(2);
    net.b1[0] = f64::from_bits(0x7ff8_0000_dead_beef);
    let back: Mlp64 = from_safetensors(&to_safetensors(&net).unwrap()).unwrap();
    assert_eq!(bits(&back), bits(&net));
}

#[test]
fn file_round_trip_replaces_an_existing_file() {
    let path = temp_path("round-trip.safetensors");
    let first = Mlp32::new(1);
    save_safetensors(&first, &path).unwrap();
    let second = Mlp32::new(2);
    save_safetensors(&second, &path).unwrap();
    let back: Mlp32 = load_safetensors(&path).unwrap();
    assert_eq!(back, second);
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    assert!(
        !PathBuf::from(tmp).exists(),
        "the temporary file is renamed away"
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn the_file_has_the_layout_names_shapes_and_dtype() {
    let net = Mlp32::new(3);
    let bytes = to_safetensors(&net).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort();
    assert_eq!(names, ["b1", "b2", "w1", "w2"]);
    for info in Mlp32::LAYOUT {
        let t = file.tensor(info.name).unwrap();
        assert_eq!(t.shape(), info.shape);
        assert_eq!(t.dtype(), Dtype::F32);
    }
    // Row-major: w1[1][2] is element 1·4 + 2 of the tensor.
    let w1 = file.tensor("w1").unwrap();
    let bytes = &w1.data()[4 * 6..4 * 7];
    assert_eq!(f32::from_le_bytes(bytes.try_into().unwrap()), net.w1[1][2]);
    let (_, meta) = SafeTensors::read_metadata(&to_safetensors(&net).unwrap()).unwrap();
    let meta = meta.metadata().as_ref().unwrap();
    assert_eq!(meta.get("format").map(String::as_str), Some("pt"));
    assert_eq!(meta.get("chainrule_net").map(String::as_str), Some("Mlp32"));

    let f64_file = to_safetensors(&Mlp64::new(3)).unwrap();
    let f64_file = SafeTensors::deserialize(&f64_file).unwrap();
    assert_eq!(f64_file.tensor("w2").unwrap().dtype(), Dtype::F64);
}

#[test]
fn a_scalar_parameter_has_shape_empty() {
    let net = Centroid {
        w: [1.0, 2.0],
        s: -3.5,
    };
    let bytes = to_safetensors(&net).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.tensor("s").unwrap().shape(), &[] as &[usize]);
    assert_eq!(from_safetensors::<Centroid>(&bytes).unwrap(), net);
}

/// A file with the given tensors, each `(name, dtype, shape, values as f64)`.
fn craft(tensors: &[(&str, Dtype, Vec<usize>, Vec<f64>)]) -> Vec<u8> {
    let data: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, dtype, _, values)| match dtype {
            Dtype::F64 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Dtype::F32 => values
                .iter()
                .flat_map(|v| (*v as f32).to_le_bytes())
                .collect(),
            Dtype::I32 => values
                .iter()
                .flat_map(|v| (*v as i32).to_le_bytes())
                .collect(),
            other => panic!("not used: {other:?}"),
        })
        .collect();
    let views = tensors
        .iter()
        .zip(&data)
        .map(|((name, dtype, shape, _), bytes)| {
            (
                *name,
                TensorView::new(*dtype, shape.clone(), bytes).unwrap(),
            )
        });
    safetensors::serialize(views, None).unwrap()
}

#[test]
fn a_file_written_elsewhere_loads_and_extra_tensors_are_ignored() {
    let bytes = craft(&[
        ("w", Dtype::F64, vec![1, 3], vec![1.0, 2.0, 3.0]),
        ("b", Dtype::F64, vec![1], vec![-1.0]),
        ("optimizer.step", Dtype::I32, vec![], vec![7.0]),
    ]);
    let net: LinReg64 = from_safetensors(&bytes).unwrap();
    assert_eq!(net.w, [[1.0, 2.0, 3.0]]);
    assert_eq!(net.b, [-1.0]);
}

#[test]
fn a_missing_tensor_is_named() {
    let bytes = craft(&[("w", Dtype::F64, vec![1, 3], vec![1.0, 2.0, 3.0])]);
    match from_safetensors::<LinReg64>(&bytes) {
        Err(IoError::MissingTensor {
            net,
            name,
            available,
        }) => {
            assert_eq!(
                (net, name, available),
                ("LinReg64", "b", vec!["w".to_string()])
            );
        }
        other => panic!("{other:?}"),
    }
    let message = from_safetensors::<LinReg64>(&bytes)
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "the file has no tensor `b`, a parameter of LinReg64 (it has: w)"
    );
}

#[test]
fn a_wrong_shape_is_reported() {
    // The same number of values, transposed: still wrong.
    let bytes = craft(&[
        ("w", Dtype::F64, vec![3, 1], vec![1.0, 2.0, 3.0]),
        ("b", Dtype::F64, vec![1], vec![0.0]),
    ]);
    match from_safetensors::<LinReg64>(&bytes) {
        Err(IoError::WrongShape {
            name,
            expected,
            found,
            ..
        }) => assert_eq!((name, expected, found), ("w", &[1usize, 3][..], vec![3, 1])),
        other => panic!("{other:?}"),
    }
    // A scalar where a one-element vector belongs.
    let bytes = craft(&[
        ("w", Dtype::F64, vec![1, 3], vec![1.0, 2.0, 3.0]),
        ("b", Dtype::F64, vec![], vec![0.0]),
    ]);
    let err = from_safetensors::<LinReg64>(&bytes).unwrap_err();
    assert!(
        matches!(err, IoError::WrongShape { name: "b", .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "tensor `b` has shape [], but LinReg64's `b` is [1]"
    );
}

#[test]
fn a_wrong_dtype_is_reported() {
    let bytes = to_safetensors(&LinReg64::new(1)).unwrap();
    let err = from_safetensors::<LinReg32>(&bytes).unwrap_err();
    match &err {
        IoError::WrongDtype {
            expected, found, ..
        } => assert_eq!((*expected, found.as_str()), ("F32", "F64")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "tensor `w` holds F64, but LinReg32 computes in F32"
    );
    let bytes = to_safetensors(&LinReg32::new(1)).unwrap();
    assert!(matches!(
        from_safetensors::<LinReg64>(&bytes),
        Err(IoError::WrongDtype {
            expected: "F64",
            ..
        })
    ));
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = to_safetensors(&Mlp32::new(1)).unwrap();
    for len in 0..bytes.len() {
        let result = from_safetensors::<Mlp32>(&bytes[..len]);
        assert!(
            matches!(result, Err(IoError::Corrupt { .. })),
            "a file cut at {len} of {} bytes: {result:?}",
            bytes.len()
        );
    }
    // Trailing garbage is as wrong as missing bytes.
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 4]);
    assert!(matches!(
        from_safetensors::<Mlp32>(&longer),
        Err(IoError::Corrupt { .. })
    ));
}

#[test]
fn corrupt_headers_are_errors() {
    let good = to_safetensors(&LinReg32::new(1)).unwrap();
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;

    let mut huge = good.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut not_json = good.clone();
    not_json[8] = b'#';
    let mut not_utf8 = good.clone();
    not_utf8[9] = 0xff;
    let mut bad_offsets = good.clone();
    let header = String::from_utf8(good[8..8 + header_len].to_vec()).unwrap();
    // Swap the digits of the first offset pair for other digits of the same width.
    let pos = header.find("\"data_offsets\":[").unwrap() + "\"data_offsets\":[".len();
    bad_offsets[8 + pos] = if header.as_bytes()[pos] == b'9' {
        b'8'
    } else {
        b'9'
    };

    for (what, bytes) in [
        ("empty", Vec::new()),
        ("huge header length", huge),
        ("not JSON", not_json),
        ("not UTF-8", not_utf8),
        ("offsets off", bad_offsets),
        ("text", b"this is not a safetensors file at all".to_vec()),
    ] {
        let result = from_safetensors::<LinReg32>(&bytes);
        assert!(
            matches!(result, Err(IoError::Corrupt { .. })),
            "{what}: {result:?}"
        );
    }
}

#[test]
fn random_damage_never_panics() {
    // Whatever a flipped byte does, the loader returns; it may even succeed, since the
    // format has no checksum and a flip in the data is just another value.
    let good = to_safetensors(&Mlp32::new(5)).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut errors = 0;
    for _ in 0..3000 {
        let mut bytes = good.clone();
        for _ in 0..1 + next() % 3 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] ^= 1 << (next() % 8);
        }
        if from_safetensors::<Mlp32>(&bytes).is_err() {
            errors += 1;
        }
    }
    assert!(errors > 0, "some damage lands in the header");
}

#[test]
fn a_missing_file_names_the_path() {
    let path = temp_path("does-not-exist.safetensors");
    match load_safetensors::<Mlp32>(&path) {
        Err(IoError::File { path: p, source }) => {
            assert_eq!(p, path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    // A directory that does not exist cannot be written to.
    let err = save_safetensors(&Mlp32::new(1), path.join("sub/dir/x.safetensors")).unwrap_err();
    assert!(matches!(err, IoError::File { .. }), "{err:?}");
    assert!(err.to_string().starts_with("cannot access `"), "{err}");
}
