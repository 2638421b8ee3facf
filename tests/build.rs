//! Writes the compiled random-net suites: `CHAINRULE_NETS` random valid nets (default
//! `DEFAULT_NETS`) from the sample `CHAINRULE_NET_SEED` (default 0), dealt round-robin
//! into one file per test target `tests/random_nets_1.rs` to `tests/random_nets_4.rs`,
//! so cargo compiles the four in parallel. Each net goes through the real `network!` and
//! gets one test, which `tests/random_nets_harness` runs against the IR interpreter and
//! finite differences.

use std::fmt::Write;

include!("src/netgen.rs");

/// Test targets sharing the sample; each includes `random_nets_<k>.rs` from `OUT_DIR`.
const TARGETS: u64 = 4;

fn env_u64(key: &str) -> Option<u64> {
    println!("cargo:rerun-if-env-changed={key}");
    let v = std::env::var(key).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{key} must be a number, not {v:?}")),
    )
}

fn main() {
    println!("cargo:rerun-if-changed=src/netgen.rs");
    println!("cargo:rerun-if-changed=build.rs");
    let base = env_u64("CHAINRULE_NET_SEED").unwrap_or(0);
    let nets = env_u64("CHAINRULE_NETS").unwrap_or(DEFAULT_NETS);
    let mut files = vec![String::new(); TARGETS as usize];
    for k in 0..nets {
        let seed = sample_seed(base, k);
        let name = format!("RandomNet{k}");
        let net = random_net(seed, &name);
        let out = &mut files[(k % TARGETS) as usize];
        // The inherent methods take no target argument when the net has none.
        let (t, tb) = if net.target.is_some() {
            ("x, t", "xs, ts")
        } else {
            ("x", "xs")
        };
        let unit = if net.target.is_some() {
            ""
        } else {
            "let () = *t;\n"
        };
        let batch_len = if net.target.is_some() {
            ""
        } else {
            "assert_eq!(xs.len(), ts.len());\n"
        };
        let _ = writeln!(
            out,
            "chainrule::network! {{\n{src}}}\n\
             impl harness::Inherent for {name} {{\n\
             fn inherent_forward(&self, x: &Self::Input) -> Self::Output {{ self.forward(x) }}\n\
             fn inherent_loss(&self, x: &Self::Input, t: &Self::Target) -> Self::Scalar {{ {unit}self.loss({t}) }}\n\
             fn inherent_backward(&self, x: &Self::Input, t: &Self::Target, g: &mut Self) -> Self::Scalar {{ {unit}self.backward({t}, g) }}\n\
             fn inherent_input_gradient(&self, x: &Self::Input, t: &Self::Target) -> Self::Input {{ {unit}self.input_gradient({t}) }}\n\
             fn inherent_backward_batch(&self, xs: &[Self::Input], ts: &[Self::Target], g: &mut Self) -> Self::Scalar {{ {batch_len}self.backward_batch({tb}, g) }}\n\
             fn inherent_forward_batch(&self, xs: &[Self::Input], ys: &mut [Self::Output]) {{ self.forward_batch(xs, ys) }}\n\
             fn inherent_loss_batch(&self, xs: &[Self::Input], ts: &[Self::Target]) -> Self::Scalar {{ {batch_len}self.loss_batch({tb}) }}\n\
             }}\n\
             #[test]\nfn random_net_{k}() {{\n\
             harness::check::<{name}>(&harness::Spec {{ source: {lit:?}, index: {k}, base: {base}, seed: {seed}, unit_targets: {unit_t} }});\n\
             }}\n",
            src = net.source,
            lit = net.source,
            unit_t = net.unit_targets,
        );
    }
    let dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    for (i, body) in files.iter().enumerate() {
        let path = dir.join(format!("random_nets_{}.rs", i + 1));
        std::fs::write(&path, body).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    write_cli_nets(&dir);
}

/// The definition `tests/cli_expand.rs` compiles twice, written as `chainrule-expand`
/// writes it (`cli_nets.rs`, as a user's build script would) and inside `network!`
/// (`cli_nets_macro.rs`), so both come from the same text.
fn write_cli_nets(dir: &std::path::Path) {
    const DEFINITION: &str = "definitions/cli_nets.txt";
    println!("cargo:rerun-if-changed={DEFINITION}");
    let src = std::fs::read_to_string(DEFINITION).unwrap_or_else(|e| panic!("{DEFINITION}: {e}"));
    let code = chainrule_cli::expand_source(&src, DEFINITION).unwrap_or_else(|diagnostics| {
        let lines: Vec<String> = diagnostics.iter().map(|d| d.render(DEFINITION)).collect();
        panic!("{}", lines.join("\n"))
    });
    for (name, text) in [
        ("cli_nets.rs", code),
        (
            "cli_nets_macro.rs",
            format!("chainrule::network! {{\n{src}}}\n"),
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}
