//! Writes a fixed sample of random nets, each with a finite-difference test, for
//! `tests/random_nets.rs` to compile through the real `network!` macro. The sample is
//! chosen by `CHAINRULE_NET_SEED` (default 0), so another seed explores other nets.

use std::fmt::Write;

include!("src/netgen.rs");

/// How many nets to compile; each is a few dozen lines of generated code.
const NETS: u64 = 24;

fn main() {
    println!("cargo:rerun-if-changed=src/netgen.rs");
    println!("cargo:rerun-if-env-changed=CHAINRULE_NET_SEED");
    let base: u64 = std::env::var("CHAINRULE_NET_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut out = String::new();
    for k in 0..NETS {
        let seed = base.wrapping_mul(1000).wrapping_add(k);
        let name = format!("RandomNet{k}");
        let net = random_net(seed, &name, ALL);
        let (tlo, thi) = if net.unit_targets {
            ("0.0", "1.0")
        } else {
            ("-1.0", "1.0")
        };
        let n = net.inputs;
        let (t_decl, t_arg) = match net.targets {
            Some(k) => (
                format!("let t: [f64; {k}] = rng.array({tlo}, {thi});"),
                "&t",
            ),
            None => ("let t = ();".to_string(), "&t"),
        };
        let _ = writeln!(
            out,
            "chainrule::network! {{\n{src}}}\n\
             /// Net {k} of seed {base}:\n/// ```text\n{doc}/// ```\n\
             #[test]\nfn random_net_{k}() {{\n\
             let mut rng = common::Rng({rng_seed});\n\
             for _ in 0..3 {{\n\
             let mut net = {name}::zeros();\n\
             common::randomize(&mut net, &mut rng, -1.0, 1.0);\n\
             let x: [f64; {n}] = rng.array(-1.0, 1.0);\n\
             {t_decl}\n\
             common::check_params(&net, &x, {t_arg});\n\
             common::check_input(&net, &x, {t_arg}, |v| v.to_vec(), |v| <[f64; {n}]>::try_from(v).expect(\"length\"));\n\
             }}\n}}\n",
            src = net.source,
            doc = net
                .source
                .lines()
                .map(|l| format!("/// {l}\n"))
                .collect::<String>(),
            rng_seed = seed.wrapping_mul(31).wrapping_add(7) | 1,
        );
    }
    let path =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("random_nets.rs");
    std::fs::write(path, out).expect("write random_nets.rs");
}
