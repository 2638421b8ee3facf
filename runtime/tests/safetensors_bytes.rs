//! safetensors in byte slices, under every feature set: the allocation-free writer gives
//! the `safetensors` crate's file byte for byte, and with `alloc` the byte-vector functions
//! give the same file and read it back bit-exactly. CI also runs this file with
//! `--no-default-features --features alloc`.
#![forbid(unsafe_code)]

mod support;

use chainrule::{IoError, Network, init, network, safetensors_len, write_safetensors};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use support::{Centroid, HugeName32, LinReg64, Mlp32, Mlp64, Renamed64};

network! {
    /// Two dense layers: layout `h_w, h_b, z_w, z_b`, file order `h_b, h_w, z_b, z_w`.
    net Dense {
        input x: [3];
        target t: [2];
        let h = dense(x, 4, tanh);
        let z = dense(h, 2);
        output z;
        loss softmax_cross_entropy(z, t);
    }

    /// f64, a scalar parameter, and more than ten parameters, so `p10` sorts before `p2`.
    #[scalar(f64)]
    net Many {
        input x: [2];
        param s: [];
        param p1: [2]; param p2: [2]; param p3: [2]; param p4: [2]; param p5: [2];
        param p6: [2]; param p7: [2]; param p8: [2]; param p9: [2]; param p10: [2];
        param m: [2, 2];
        let y = s * (m @ x) + p1 + p2 + p3 + p4 + p5 + p6 + p7 + p8 + p9 + p10;
        output y;
        loss sum(y * y);
    }
}

/// A net with random values and the awkward ones: −0, a subnormal, ±inf and a NaN with a
/// payload, which only a bit-exact copy keeps.
fn awkward<N: Network>(seed: u64) -> N {
    let mut net = N::zeros();
    let normal = init::Init::Normal {
        mean: 0.0,
        std: 3.0,
    };
    init::fill(net.as_mut_slice(), normal, seed, 0);
    let special = [-0.0, 1e-310, f64::INFINITY, f64::NEG_INFINITY, f64::NAN];
    for (v, s) in net.as_mut_slice().iter_mut().zip(special) {
        *v = <N::Scalar as chainrule::Float>::from_f64(s);
    }
    let values = net.as_mut_slice();
    let last = values.len() - 1;
    values[last] = nan_with_payload();
    net
}

/// A quiet NaN with a payload in its lowest mantissa bits.
fn nan_with_payload<T: chainrule::Float>() -> T {
    let mut v = T::from_f64(f64::NAN);
    let bytes = chainrule::__private::bytemuck::bytes_of_mut(&mut v);
    let low = if cfg!(target_endian = "little") {
        0
    } else {
        bytes.len() - 1
    };
    bytes[low] ^= 0x5a;
    v
}

fn bits<N: Network>(net: &N) -> Vec<u8> {
    chainrule::__private::bytemuck::cast_slice(net.as_slice()).to_vec()
}

/// The file the `safetensors` crate writes for `net`. It writes the two metadata entries in
/// the order of a `HashMap`, which changes from run to run; chainrule writes `format`
/// first, so the other order is swapped back here and everything else is compared as is.
fn reference<N: Network>(net: &N) -> Vec<u8> {
    let le: Vec<u8> = net
        .as_slice()
        .iter()
        .flat_map(|v| {
            let mut b = chainrule::__private::bytemuck::bytes_of(v).to_vec();
            if cfg!(target_endian = "big") {
                b.reverse();
            }
            b
        })
        .collect();
    let (dtype, size) = match <N::Scalar as chainrule::Float>::NAME {
        "f64" => (Dtype::F64, 8),
        _ => (Dtype::F32, 4),
    };
    let mut start = 0;
    let views: Vec<_> = N::LAYOUT
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let end = start + info.len() * size;
            let view = TensorView::new(dtype, info.shape.to_vec(), &le[start..end]).unwrap();
            start = end;
            (N::tensor_name(i), view)
        })
        .collect();
    let metadata = [("format", "pt"), ("chainrule_net", N::NAME)]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into_iter()
        .collect();
    let mut file = safetensors::serialize(views, Some(metadata)).unwrap();
    let theirs = format!(r#"{{"chainrule_net":"{}","format":"pt"}}"#, N::NAME);
    let ours = format!(r#"{{"format":"pt","chainrule_net":"{}"}}"#, N::NAME);
    let header_end = 8 + u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    if let Some(at) = file[..header_end]
        .windows(theirs.len())
        .position(|w| w == theirs.as_bytes())
    {
        file[at..at + ours.len()].copy_from_slice(ours.as_bytes());
    }
    file
}

/// `write_safetensors` into a buffer with room to spare, which it must leave alone.
fn written<N: Network>(net: &N) -> Vec<u8> {
    let len = safetensors_len::<N>();
    let mut buffer = vec![0xa5; len + 13];
    assert_eq!(write_safetensors(net, &mut buffer).unwrap(), len);
    assert!(
        buffer[len..].iter().all(|&b| b == 0xa5),
        "wrote past the file"
    );
    buffer.truncate(len);
    buffer
}

/// Checks the writer against the `safetensors` crate and reads its file back with that
/// crate, bit-exactly, by the net's tensor names.
fn check_writer<N: Network>(net: &N) {
    let file = written(net);
    assert_eq!(file, reference(net), "{}", N::NAME);
    let parsed = SafeTensors::deserialize(&file).unwrap();
    let mut back = N::zeros();
    let mut start = 0;
    for (i, info) in N::LAYOUT.iter().enumerate() {
        let tensor = parsed.tensor(N::tensor_name(i)).unwrap();
        assert_eq!(tensor.shape(), info.shape);
        let end = start + info.len();
        let dst: &mut [u8] =
            chainrule::__private::bytemuck::cast_slice_mut(&mut back.as_mut_slice()[start..end]);
        dst.copy_from_slice(tensor.data());
        if cfg!(target_endian = "big") {
            for v in dst.chunks_exact_mut(core::mem::size_of::<N::Scalar>()) {
                v.reverse();
            }
        }
        start = end;
    }
    assert_eq!(bits(&back), bits(net), "{}", N::NAME);
}

#[test]
fn the_writer_gives_the_safetensors_crates_file_byte_for_byte() {
    check_writer(&awkward::<Mlp32>(1));
    check_writer(&awkward::<Mlp64>(2));
    check_writer(&awkward::<LinReg64>(3));
    check_writer(&awkward::<Dense>(4));
    check_writer(&awkward::<Many>(5));
    check_writer(&Centroid {
        w: [1.0, 2.0],
        s: -3.5,
    });
}

#[test]
fn tensor_names_come_from_the_net_and_are_escaped_as_json() {
    check_writer(&awkward::<Renamed64>(6));
    let file = written(&Renamed64::new(1));
    let parsed = SafeTensors::deserialize(&file).unwrap();
    let mut names = parsed.names();
    names.sort();
    assert_eq!(names, ["b.é", "z\"w\\\n\t\u{1}\u{7f}"]);
    let header = String::from_utf8_lossy(&file[8..]);
    assert!(
        header.contains(r#""z\"w\\\n\t\u0001"#),
        "serde_json's escapes: {header}"
    );
}

#[test]
fn a_small_file_is_exactly_as_expected() {
    let net = Centroid {
        w: [1.0, 2.0],
        s: -3.5,
    };
    let header = concat!(
        r#"{"__metadata__":{"format":"pt","chainrule_net":"Centroid"},"#,
        r#""s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"#,
        r#""w":{"dtype":"F64","shape":[2],"data_offsets":[8,24]}}"#,
    );
    let padded = header.len().next_multiple_of(8);
    let mut expected = (padded as u64).to_le_bytes().to_vec();
    expected.extend_from_slice(header.as_bytes());
    expected.resize(8 + padded, b' ');
    for v in [-3.5f64, 1.0, 2.0] {
        expected.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(safetensors_len::<Centroid>(), expected.len());
    assert_eq!(written(&net), expected);
}

#[test]
fn a_short_buffer_is_an_error_and_stays_untouched() {
    let net = Dense::new(3);
    let len = safetensors_len::<Dense>();
    for available in 0..len {
        let mut buffer = vec![0x3c; available];
        match write_safetensors(&net, &mut buffer) {
            Err(IoError::BufferTooSmall {
                needed,
                available: a,
            }) => assert_eq!((needed, a), (len, available)),
            other => panic!("a buffer of {available} bytes: {other:?}"),
        }
        assert!(buffer.iter().all(|&b| b == 0x3c), "{available} bytes");
    }
    let err = write_safetensors(&net, &mut [0; 10]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("the file takes {len} bytes, but the buffer holds 10")
    );
}

#[test]
fn a_header_no_reader_accepts_is_an_error() {
    let err = write_safetensors(&HugeName32::zeros(), &mut []).unwrap_err();
    match err {
        IoError::HeaderTooLarge { len } => assert!(len > 100_000_000 && len % 8 == 0),
        other => panic!("{other:?}"),
    }
    #[cfg(feature = "alloc")]
    {
        let err = chainrule::to_safetensors(&HugeName32::zeros()).unwrap_err();
        assert!(matches!(&err, IoError::Encode { reason } if reason.contains("100000000")));
    }
}

#[cfg(feature = "alloc")]
mod with_alloc {
    use super::*;
    use chainrule::{from_safetensors, to_safetensors};

    #[test]
    fn the_vector_is_the_written_file_and_reads_back_bit_exactly() {
        fn check<N: Network>(net: N) {
            let bytes = to_safetensors(&net).unwrap();
            assert_eq!(bytes, written(&net), "{}", N::NAME);
            let back: N = from_safetensors(&bytes).unwrap();
            assert_eq!(bits(&back), bits(&net), "{}", N::NAME);
        }
        check(awkward::<Mlp32>(7));
        check(awkward::<Mlp64>(8));
        check(awkward::<Dense>(9));
        check(awkward::<Many>(10));
        check(awkward::<Renamed64>(11));
    }

    #[test]
    fn loading_looks_tensors_up_by_the_nets_names() {
        let bytes = to_safetensors(&LinReg64::new(1)).unwrap();
        match from_safetensors::<Renamed64>(&bytes) {
            Err(IoError::MissingTensor {
                name, available, ..
            }) => {
                assert_eq!(name, "z\"w\\\n\t\u{1}\u{7f}");
                assert_eq!(available, ["b", "w"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn damage_is_an_error_never_a_panic() {
        let good = to_safetensors(&Many::new(1)).unwrap();
        for len in 0..good.len() {
            assert!(matches!(
                from_safetensors::<Many>(&good[..len]),
                Err(IoError::Corrupt { .. })
            ));
        }
        let mut flipped = good.clone();
        for at in 0..good.len() {
            flipped[at] ^= 0x10;
            // It may load: a flip in the data is just another value.
            let _ = from_safetensors::<Many>(&flipped);
            flipped[at] ^= 0x10;
        }
    }
}
