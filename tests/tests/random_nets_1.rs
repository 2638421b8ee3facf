//! Differential testing of compiled code: random valid nets (every operator, function and
//! loss; 1, 2, many, scalar and matrix outputs; both `@` layouts; no target; user `fn`s;
//! loop and unrolled forms; f32 and f64), written by `build.rs` with `src/netgen.rs`,
//! each compiled through the real `network!`. Each net's test (`random_nets_harness`)
//! checks `forward`, `loss`, `backward` (from zero and onto a non-zero gradient),
//! `backward_scaled`, `backward_batch` and `input_gradient` at three random points
//! against the f64 IR interpreter run on the same source, and f64 nets against central
//! differences of their compiled `loss`. The sample is dealt over `random_nets_1.rs` to
//! `random_nets_4.rs`, so cargo builds four crates in parallel.
//!
//! CI compiles the default sample. Thousands, from another sample:
//!
//! ```text
//! CHAINRULE_NETS=3000 CHAINRULE_NET_SEED=1 cargo test -p chainrule-tests --test 'random_nets_*'
//! ```

mod random_nets_harness;
use random_nets_harness as harness;

include!(concat!(env!("OUT_DIR"), "/random_nets_1.rs"));
