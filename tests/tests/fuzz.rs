//! chainrule's own fuzzer (issue 9), on stable Rust: random valid nets from
//! `src/netgen.rs`, mutated at the token and statement level by `src/fuzz.rs`, driven
//! through `chainrule_codegen::expand` under `catch_unwind`. The oracles are listed at the
//! top of `src/fuzz.rs`: no panic, the output parses as a file, every error is spanned
//! inside the invocation, a valid net is accepted and (for a sample) has the interpreter's
//! gradients equal to finite differences; every case is timed and the slowest reported.
//!
//! CI runs a short campaign, deterministic by seed (about 30–60 s in a debug build). A
//! long campaign:
//!
//! ```text
//! CHAINRULE_FUZZ_CASES=200000 CHAINRULE_FUZZ_SEED=1 \
//!     cargo test --release -p chainrule-tests --test fuzz -- --nocapture
//! ```
//!
//! A long campaign (`CHAINRULE_FUZZ_CASES` set) also prints every case over 2 s, writes
//! the case it is running to `target/chainrule-fuzz/current-<pid>.txt` (so a stack
//! overflow or an allocation failure, which abort the process, leave their reproducer), and runs the compile oracle: a sample
//! of accepted expansions (`CHAINRULE_FUZZ_COMPILE` nets, default 1000; 0 turns it off)
//! is written into a temporary `#![no_std]` crate under `target/chainrule-fuzz/` that
//! depends on `chainrule` by path without default features, and built with
//! `cargo build --offline`; every net must compile. That build takes minutes, so CI does
//! not run it.
//!
//! `CHAINRULE_FUZZ_ONE=<seed>` reruns one case of a campaign and prints it, its time and
//! its errors; `CHAINRULE_FUZZ_FILE=<path>` runs a file's text instead.
//!
//! Failures of known, not yet fixed defects are counted apart, not failed: see [`KNOWN`].
//! When a defect is fixed, its predicate stops matching and can be deleted.

use std::path::{Path, PathBuf};
use std::process::Command;

include!("../src/netgen.rs");
include!("../src/interpreter_check.rs");
include!("../src/fuzz.rs");

/// Cases CI runs: about 45 s in a debug build on two cores (56 s for 3000, measured).
const CI_CASES: u64 = 2500;

/// A case over this is reported as slow in the long campaign (issue 9: 0 hangs over 2 s).
const SLOW: Duration = Duration::from_secs(2);

/// A known, documented defect that the oracles still find, and how to recognize it
/// from the case and the failure's text. Each names its defect; fixing the defect makes
/// its predicate match nothing, which the summary shows (a count of 0).
type Known = (&'static str, fn(&Case, &str) -> bool);

/// The known, not-yet-fixed defects that the oracles can see: none. Issue 9's defects 2,
/// 3, 5, 9, 10, 11 and 12 had predicates here until their fixes landed (cc360dd, 713c79f,
/// a68c8ed, fe529d2, and the parser without expression limits); the fuzzer now fails on
/// any of them.
const KNOWN: &[Known] = &[];

/// A net accepted with an attribute the macro does not know goes on the struct (SPEC §2),
/// and rustc refuses it there, at the user's attribute (`#[inline]` on a struct, an
/// attribute `#[zeros]` that does not exist, a derive macro `#[Clone(..)]` used as an
/// attribute): a user error spanned inside the invocation,
/// not a failure of the macro.
fn rustc_refuses_an_attribute(case: &Case, failure: &str) -> bool {
    let foreign = token_texts(&case.source).is_some_and(|ts| {
        ts.windows(3).any(|w| {
            w[0] == "#" && w[1] == "[" && !["scalar", "chainrule", "doc"].contains(&w[2].as_str())
        })
    });
    let errors: Vec<&str> = failure.lines().filter(|l| l.contains("error")).collect();
    foreign
        && !errors.is_empty()
        && errors.iter().all(|l| {
            // Line 3 of a net's file is the invocation's text (see `compile_oracle`).
            l.contains(".rs:3:")
                && (l.contains("cannot find attribute")
                    || l.contains("attribute cannot be used on")
                    || l.contains("expected attribute, found"))
        })
}

fn known(case: &Case, failure: &str) -> Option<usize> {
    KNOWN.iter().position(|(_, p)| p(case, failure))
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
    )
}

#[derive(Default)]
struct Tally {
    cases: u64,
    valid: u64,
    accepted: u64,
    accepted_mutated: u64,
    rejected: u64,
    gradient_checks: u64,
    slow: Vec<(Duration, u64)>,
    slowest: (Duration, u64),
    total: Duration,
    failures: Vec<(Case, String)>,
    known: Vec<u64>,
    /// Accepted nets whose attribute rustc refuses on the struct.
    attribute_errors: u64,
    /// Accepted nets sampled for the compile oracle.
    to_compile: Vec<Case>,
}

impl Tally {
    fn fail(&mut self, case: &Case, failure: String, long: bool) {
        if long {
            println!(
                "failure, seed {} (mutations {:?}): {failure}\nnetwork! {{ {} }}",
                case.seed, case.mutations, case.source
            );
        }
        match known(case, &failure) {
            Some(k) => self.known[k] += 1,
            None => self.failures.push((case.clone(), failure)),
        }
    }
}

fn campaign(first_seed: u64, cases: u64, long: bool, compile_budget: usize) -> Tally {
    let mut t = Tally {
        known: vec![0; KNOWN.len()],
        ..Tally::default()
    };
    let dir = fuzz_dir();
    if long {
        std::fs::create_dir_all(&dir).expect("target/chainrule-fuzz");
    }
    for k in 0..cases {
        let seed = first_seed.wrapping_add(k);
        let case = make_case(seed);
        if long {
            let note = format!(
                "seed {seed}, mutations {:?}\n{}\n",
                case.mutations, case.source
            );
            let current = dir.join(format!("current-{}.txt", std::process::id()));
            std::fs::write(current, note).expect("current-<pid>.txt");
        }
        let valid = case.mutations.is_empty();
        t.cases += 1;
        t.valid += u64::from(valid);
        match run_case(&case.source, valid) {
            Ok(out) => {
                t.total += out.elapsed;
                // A slow case is timed again, to tell a hang from a busy machine.
                let elapsed = if out.elapsed > SLOW {
                    let again = run_case(&case.source, valid).map_or(out.elapsed, |o| o.elapsed);
                    again.min(out.elapsed)
                } else {
                    out.elapsed
                };
                if elapsed > t.slowest.0 {
                    t.slowest = (elapsed, seed);
                }
                if elapsed > SLOW {
                    t.slow.push((elapsed, seed));
                    if long {
                        println!(
                            "slow case, {:.1} s: seed {seed}\n{}",
                            elapsed.as_secs_f64(),
                            case.source
                        );
                    }
                }
                if out.accepted {
                    t.accepted += 1;
                    t.accepted_mutated += u64::from(!valid);
                    // Every accepted mutated net, and one valid net in 50, up to the budget.
                    if t.to_compile.len() < compile_budget && (!valid || seed % 50 == 0) {
                        t.to_compile.push(case.clone());
                    }
                } else {
                    t.rejected += 1;
                    debug_assert!(out.errors > 0);
                }
            }
            Err(failure) => t.fail(&case, failure, long),
        }
        // The interpreter's gradients, for one valid net in 20.
        if valid && seed % 20 == 0 {
            t.gradient_checks += 1;
            if let Err(failure) = gradients_match(seed) {
                t.fail(&case, format!("gradients: {failure}"), long);
            }
        }
        if long && (k + 1) % 10_000 == 0 {
            println!(
                "{} cases, {} accepted, {} rejected, {} failures, slowest {:.2} s",
                k + 1,
                t.accepted,
                t.rejected,
                t.failures.len(),
                t.slowest.0.as_secs_f64()
            );
        }
    }
    t
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/chainrule-fuzz")
}

/// The compile oracle: every sampled net in its own module of one `#![no_std]` crate,
/// built in batches; returns (nets compiled, failures as (case, rustc's errors)).
fn compile_oracle(cases: &[Case]) -> (usize, Vec<(Case, String)>) {
    let root = fuzz_dir().join("crate");
    let src = root.join("src");
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime");
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    let mut failures = Vec::new();
    let mut compiled = 0;
    for batch in cases.chunks(100) {
        let _ = std::fs::remove_dir_all(&src);
        std::fs::create_dir_all(&src).expect("fuzz crate");
        std::fs::write(
            root.join("Cargo.toml"),
            format!(
                "[package]\nname = \"chainrule-fuzz-compile\"\nversion = \"0.0.0\"\n\
                 edition = \"2024\"\npublish = false\n\n[dependencies]\n\
                 chainrule = {{ path = {:?}, default-features = false }}\n\n[workspace]\n",
                runtime.canonicalize().expect("runtime/")
            ),
        )
        .expect("Cargo.toml");
        if !root.join("Cargo.lock").exists() {
            std::fs::copy(&lock, root.join("Cargo.lock")).expect("Cargo.lock");
        }
        let mut lib = String::from("#![no_std]\n#![forbid(unsafe_code)]\n#![allow(warnings)]\n");
        for (i, case) in batch.iter().enumerate() {
            lib.push_str(&format!("mod n{i};\n"));
            std::fs::write(
                src.join(format!("n{i}.rs")),
                format!(
                    "// seed {}\nchainrule::network! {{\n{}\n}}\n",
                    case.seed, case.source
                ),
            )
            .expect("net module");
        }
        std::fs::write(src.join("lib.rs"), lib).expect("lib.rs");
        let out = Command::new(env!("CARGO"))
            .args(["build", "--offline", "--quiet", "--message-format=short"])
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", fuzz_dir().join("target"))
            .output()
            .expect("cargo runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut blamed = vec![String::new(); batch.len()];
        let mut unblamed = String::new();
        for line in stderr.lines().filter(|l| l.contains("error")) {
            let file = line
                .strip_prefix("src/n")
                .and_then(|r| r.split('.').next())
                .and_then(|n| n.parse::<usize>().ok());
            match file {
                Some(i) if i < batch.len() => {
                    blamed[i].push_str(line);
                    blamed[i].push('\n');
                }
                _ => {
                    unblamed.push_str(line);
                    unblamed.push('\n');
                }
            }
        }
        for (case, errors) in batch.iter().zip(blamed) {
            if errors.is_empty() {
                compiled += 1;
            } else {
                failures.push((case.clone(), errors));
            }
        }
        if !out.status.success() && failures.is_empty() {
            panic!("the fuzz crate failed to build, blaming no net:\n{unblamed}{stderr}");
        }
    }
    (compiled, failures)
}

/// `CHAINRULE_FUZZ_ONE=<seed>` runs only that case and prints it, its time and its
/// outcome: the way to reproduce what a campaign reports.
/// `CHAINRULE_FUZZ_FILE=<path>` runs the text of that file as a mutated case.
fn one_case(seed: u64) {
    let case = match std::env::var("CHAINRULE_FUZZ_FILE") {
        Ok(path) => Case {
            seed,
            source: std::fs::read_to_string(path).expect("CHAINRULE_FUZZ_FILE is readable"),
            mutations: vec!["from a file"],
        },
        Err(_) => make_case(seed),
    };
    println!(
        "seed {seed}, mutations {:?}\nnetwork! {{ {} }}",
        case.mutations, case.source
    );
    let start = Instant::now();
    let result = run_case(&case.source, case.mutations.is_empty());
    println!("{:.3} s: {result:?}", start.elapsed().as_secs_f64());
    for (message, text) in chainrule_grammar::check_str_located(&case.source) {
        println!("error: {message}\n  at: {text}");
    }
}

#[test]
fn fuzz_expand() {
    if let Some(seed) = env_u64("CHAINRULE_FUZZ_ONE")
        .or_else(|| std::env::var("CHAINRULE_FUZZ_FILE").is_ok().then_some(0))
    {
        return one_case(seed);
    }
    let cases = env_u64("CHAINRULE_FUZZ_CASES");
    let long = cases.is_some();
    let cases = cases.unwrap_or(CI_CASES);
    let seed = env_u64("CHAINRULE_FUZZ_SEED").unwrap_or(0);
    let budget = if long {
        env_u64("CHAINRULE_FUZZ_COMPILE").unwrap_or(1000) as usize
    } else {
        0
    };
    let start = Instant::now();
    // rustc runs a proc macro on a thread with an 8 MiB stack; so does the campaign.
    let mut t = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || campaign(seed, cases, long, budget))
        .expect("spawn")
        .join()
        .expect("the campaign itself does not panic");
    let wall = start.elapsed();
    let mut compiled = 0;
    if budget > 0 {
        let to_compile = std::mem::take(&mut t.to_compile);
        let compile_start = Instant::now();
        let (ok, failures) = compile_oracle(&to_compile);
        compiled = ok;
        println!(
            "compile oracle: {ok} of {} sampled accepted nets compiled in a no_std crate ({:.0} s)",
            to_compile.len(),
            compile_start.elapsed().as_secs_f64()
        );
        for (case, errors) in failures {
            if rustc_refuses_an_attribute(&case, &errors) {
                t.attribute_errors += 1;
            } else {
                t.fail(&case, format!("does not compile:\n{errors}"), true);
            }
        }
        println!(
            "compile oracle: {} nets refused by rustc for an attribute the struct cannot take, \
             at the user's attribute (not a failure)",
            t.attribute_errors
        );
    }
    println!(
        "fuzz: {} cases from seed {seed} in {:.1} s ({} valid; {} accepted, {} of them mutated; \
         {} rejected; {} gradient checks; {} compiled)",
        t.cases,
        wall.as_secs_f64(),
        t.valid,
        t.accepted,
        t.accepted_mutated,
        t.rejected,
        t.gradient_checks,
        compiled
    );
    println!(
        "fuzz: slowest case {:.3} s (seed {}; a case over 2 s is timed twice, the faster kept), mean {:.2} ms, {} over {} s",
        t.slowest.0.as_secs_f64(),
        t.slowest.1,
        t.total.as_secs_f64() * 1e3 / t.cases.max(1) as f64,
        t.slow.len(),
        SLOW.as_secs()
    );
    for ((name, _), n) in KNOWN.iter().zip(&t.known) {
        println!("fuzz: known defect, {n} cases: {name}");
    }
    let report: Vec<String> = t
        .failures
        .iter()
        .take(10)
        .map(|(case, failure)| {
            format!(
                "seed {} (mutations {:?}): {failure}\nnetwork! {{ {} }}",
                case.seed, case.mutations, case.source
            )
        })
        .collect();
    assert!(
        t.failures.is_empty(),
        "{} failures; the first:\n\n{}",
        t.failures.len(),
        report.join("\n\n")
    );
}

/// The compile oracle's attribute filter takes rustc's attribute errors and nothing else.
#[test]
fn attribute_errors_are_users() {
    let case = |source: &str| Case {
        seed: 0,
        source: source.to_string(),
        mutations: vec!["add attribute"],
    };
    let inline = case("#[inline] net A { input x: [1]; output x; loss sum(x); }");
    let plain = case("net A { input x: [1]; output x; loss sum(x); }");
    let refused = "src/n1.rs:3:1: error: `#[inline]` attribute cannot be used on structs\n";
    assert!(rustc_refuses_an_attribute(&inline, refused));
    assert!(!rustc_refuses_an_attribute(&plain, refused));
    let derive =
        "src/n1.rs:3:5: error: expected attribute, found derive macro `Clone`: not an attribute\n";
    assert!(rustc_refuses_an_attribute(&inline, derive));
    let other = "src/n1.rs:3:1: error[E0425]: cannot find value `t` in this scope\n";
    assert!(!rustc_refuses_an_attribute(&inline, other));
    assert!(!rustc_refuses_an_attribute(
        &inline,
        &format!("{refused}{other}")
    ));
}

/// The mutations reach every kind the fuzzer has, so a change that breaks one (say the
/// statement splitter) is seen.
#[test]
fn mutations_cover_every_kind() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..2000 {
        seen.extend(make_case(seed).mutations);
    }
    for kind in [
        "delete token",
        "duplicate token",
        "swap tokens",
        "extreme number",
        "name to another name",
        "name to keyword or builtin",
        "insert punctuation",
        "drop statement",
        "duplicate statement",
        "swap statements",
        "output another name",
        "exchange declared names",
        "change shape",
        "add attribute",
        "rename net",
        "add fn",
        "second net",
        "stress a bound",
    ] {
        assert!(seen.contains(kind), "no case uses {kind:?}: {seen:?}");
    }
}
