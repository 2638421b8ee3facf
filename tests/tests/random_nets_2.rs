//! Part 2 of 4 of the compiled random-net suite (see `random_nets_1.rs`).

mod random_nets_harness;
use random_nets_harness as harness;

include!(concat!(env!("OUT_DIR"), "/random_nets_2.rs"));
