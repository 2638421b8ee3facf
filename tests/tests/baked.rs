//! `#[weights("..")]`: parameters read from a safetensors file when the crate compiles
//! (files written by Python's `safetensors`, `tests/reference/weights.py`), against the
//! same file loaded at run time, bit for bit.

use chainrule::{Network, from_safetensors, network};

network! {
    #[weights("reference/weights/small.safetensors")]
    net Small {
        input x: [2];
        param w: [3, 2];
        param b: [3];
        let y = sum(w @ x + b);
        output y;
        loss y;
    }

    #[scalar(f64)]
    #[weights("reference/weights/small_f64.safetensors")]
    net Small64 {
        input x: [2];
        param w: [3, 2];
        param b: [3];
        let y = sum(w @ x + b);
        output y;
        loss y;
    }

    /// f16 and bf16 in the file, widened exactly.
    #[weights("reference/weights/small_half.safetensors")]
    net Half {
        input x: [2];
        param w: [3, 2];
        param b: [3];
        let y = sum(w @ x + b);
        output y;
        loss y;
    }

    /// NaNs (one signalling, with a payload), −0, infinities, the least subnormal and
    /// the largest f32.
    #[weights("reference/weights/special.safetensors")]
    net Special {
        input x: [7];
        param w: [7];
        let y = sum(w * x);
        output y;
        loss y;
    }
}

/// Weights in read-only memory, as on a microcontroller.
static SMALL: Small = Small::WEIGHTS;

fn bits<N: Network<Scalar = f32>>(n: &N) -> Vec<u32> {
    n.as_slice().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn baked_weights_are_the_files_bit_for_bit() {
    let loaded: Small =
        from_safetensors(include_bytes!("../reference/weights/small.safetensors")).unwrap();
    assert_eq!(bits(&SMALL), bits(&loaded));
    // The script's ramp: w from −0.5 by 1/8, b from 1 by 1/8.
    assert_eq!(SMALL.w, [[-0.5, -0.375], [-0.25, -0.125], [0.0, 0.125]]);
    assert_eq!(SMALL.b, [1.0, 1.125, 1.25]);
    assert_eq!(SMALL.forward(&[1.0, 2.0]), loaded.forward(&[1.0, 2.0]));

    let loaded: Small64 =
        from_safetensors(include_bytes!("../reference/weights/small_f64.safetensors")).unwrap();
    assert_eq!(Small64::WEIGHTS, loaded);
    assert_eq!(Small64::WEIGHTS.w[2], [0.0, 0.125]);

    assert_eq!(Half::WEIGHTS.w, SMALL.w);
    assert_eq!(Half::WEIGHTS.b, SMALL.b);
}

#[test]
fn values_no_literal_holds_keep_their_bits() {
    let loaded: Special =
        from_safetensors(include_bytes!("../reference/weights/special.safetensors")).unwrap();
    assert_eq!(bits(&Special::WEIGHTS), bits(&loaded));
    let w = Special::WEIGHTS.w.map(f32::to_bits);
    assert_eq!(w[0] & 0x7fc0_0000, 0x7fc0_0000, "a quiet NaN");
    assert_eq!(w[1], 0x8000_0000, "−0");
    assert_eq!(w[2..6], [0x7f80_0000, 0xff80_0000, 1, 0x7f7f_ffff]);
    assert_eq!(w[6], 0x7fa0_0001, "the signalling NaN's payload");
}
