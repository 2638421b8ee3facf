//! A property test compiled through the real macro: random valid nets (1–3 layers, both
//! matrix layouts and `dense`, every activation, every loss, optional weight penalty,
//! optional target), written by `build.rs`, each checking `backward` and
//! `input_gradient` in f64 against central finite differences. Set
//! `CHAINRULE_NET_SEED` to compile another sample.

mod common;

include!(concat!(env!("OUT_DIR"), "/random_nets.rs"));
