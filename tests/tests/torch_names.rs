//! PyTorch's parameter names: a state dict written by Python's `safetensors` package
//! (`tests/reference/torch_names.py` wrote `torch_names.safetensors`) loads into a net
//! whose parameters carry those names through `#[tensor(..)]`, value for value, and the
//! net writes the same tensors back.

use chainrule::{Network, from_safetensors, network, to_safetensors};
use safetensors::SafeTensors;

network! {
    /// The script's model: `fc1` per step, a GRU, `head` on the last step, a gain.
    net Model {
        input xs: [6, 3];
        target t: [2];
        #[tensor("fc1.weight")] param w1: [4, 3];
        #[tensor("fc1.bias")] param b1: [4];
        #[tensor("scale")] param gain: [2];
        let a = for x in xs { tanh(w1 @ x + b1) };
        #[tensor("rnn")] let h = gru(a, 5);
        #[tensor("head")] let y = dense(h[5], 2);
        let z = gain * y;
        output z;
        loss mse(z, t);
    }
}

const FILE: &[u8] = include_bytes!("../reference/torch_names.safetensors");

/// The script's closed formula: tensor `k` in its order of declaration, element `i`.
fn value(k: usize, i: usize) -> f32 {
    (k as f32 + 1.0) / 8.0 + i as f32 / 64.0 - 0.5
}

/// The tensors in the script's order, which names `k`.
const SCRIPT_ORDER: [&str; 9] = [
    "fc1.weight",
    "fc1.bias",
    "rnn.weight_ih_l0",
    "rnn.weight_hh_l0",
    "rnn.bias_ih_l0",
    "rnn.bias_hh_l0",
    "head.weight",
    "head.bias",
    "scale",
];

#[test]
fn tensor_names_follow_pytorch() {
    assert_eq!(
        Model::TENSOR_NAMES,
        [
            "fc1.weight",
            "fc1.bias",
            "scale",
            "rnn.weight_ih_l0",
            "rnn.weight_hh_l0",
            "rnn.bias_ih_l0",
            "rnn.bias_hh_l0",
            "head.weight",
            "head.bias",
        ]
    );
    let layout: Vec<&str> = Model::LAYOUT.iter().map(|p| p.name).collect();
    assert_eq!(
        layout,
        [
            "w1",
            "b1",
            "gain",
            "h_weight_ih",
            "h_weight_hh",
            "h_bias_ih",
            "h_bias_hh",
            "y_w",
            "y_b"
        ]
    );
    for (i, name) in Model::TENSOR_NAMES.iter().enumerate() {
        assert_eq!(<Model as Network>::tensor_name(i), *name);
    }
}

#[test]
fn a_file_written_by_python_loads_bit_for_bit() {
    let net: Model = from_safetensors(FILE).expect("the Python-written file loads");
    let flat = net.as_slice();
    let mut start = 0;
    for (p, name) in Model::LAYOUT.iter().zip(Model::TENSOR_NAMES) {
        let k = SCRIPT_ORDER
            .iter()
            .position(|n| n == name)
            .expect("in the script");
        for (i, got) in flat[start..start + p.len()].iter().enumerate() {
            assert_eq!(got.to_bits(), value(k, i).to_bits(), "{name}[{i}]");
        }
        start += p.len();
    }
    assert_eq!(start, Model::PARAMS);
}

#[test]
fn the_net_writes_the_same_tensors_back() {
    let net: Model = from_safetensors(FILE).unwrap();
    let ours = to_safetensors(&net).unwrap();
    let (theirs, ours) = (
        SafeTensors::deserialize(FILE).unwrap(),
        SafeTensors::deserialize(&ours).unwrap(),
    );
    let mut names = ours.names();
    names.sort();
    let mut expected = theirs.names();
    expected.sort();
    assert_eq!(names, expected);
    for name in expected {
        let (a, b) = (theirs.tensor(name).unwrap(), ours.tensor(name).unwrap());
        assert_eq!(a.shape(), b.shape(), "{name}");
        assert_eq!(a.dtype(), b.dtype(), "{name}");
        assert_eq!(a.data(), b.data(), "{name}");
    }
    // And back again, bit for bit.
    let again: Model = from_safetensors(&to_safetensors(&net).unwrap()).unwrap();
    assert!(
        again
            .as_slice()
            .iter()
            .zip(net.as_slice())
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
}
