//! Times chainrule and its peers on the same nets in one process, interleaved, after
//! checking that they agree. `cargo run --release --bin peers -- --help` for the options.
#![forbid(unsafe_code)]

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use chainrule_peers::check::{TOLERANCE, check};
use chainrule_peers::peak::fma_peak;
use chainrule_peers::spec::{Batch, Pass};
use chainrule_peers::{BATCHES, Contender, Net, Peer};

/// Variables that make every library run on one thread: rayon's pool (dfdx's gemm asks
/// it), candle's matmul (reads `RAYON_NUM_THREADS` itself) and its other kernels, and
/// matrixmultiply (built without its threading feature; this only makes sure).
const ONE_THREAD: [(&str, &str); 3] = [
    ("RAYON_NUM_THREADS", "1"),
    ("CANDLE_NUM_THREADS", "1"),
    ("MATMUL_NUM_THREADS", "1"),
];

const HELP: &str = "\
peers: chainrule against ndarray, candle, burn (ndarray, flex) and dfdx, one thread.

options (each may repeat; a value is a comma-separated list of substrings):
  --net NETS      2-8-1, 4-16-16-3, 64-rows, 64-cols, 784-128-10
  --peer PEERS    ndarray, candle, burn-ndarray, burn-flex, dfdx (chainrule always runs)
  --pass PASSES   forward, backward (forward+backward), whole names
  --batch SIZES   1, 64, whole numbers
  --rounds N      rounds of interleaved timings (default 31; PEERS_QUICK=1: 5)
  --ms MS         the length of one timing (default 3; PEERS_QUICK=1: 1)";

struct Options {
    nets: Vec<Net>,
    peers: Vec<Peer>,
    passes: Vec<Pass>,
    batches: Vec<usize>,
    rounds: usize,
    timing: Duration,
}

fn matches(filters: &[String], name: &str) -> bool {
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

fn parse() -> Result<Options, String> {
    let quick = std::env::var("PEERS_QUICK").is_ok_and(|v| v == "1");
    let (mut rounds, mut ms) = if quick { (5, 1.0) } else { (31, 3.0) };
    let (mut nets, mut peers, mut passes, mut batches) = (vec![], vec![], vec![], vec![]);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(HELP.into());
        }
        let value = args
            .next()
            .ok_or(format!("{flag} needs a value\n\n{HELP}"))?;
        let list = value.split(',').map(str::to_owned);
        match flag.as_str() {
            "--net" => nets.extend(list),
            "--peer" => peers.extend(list),
            "--pass" => passes.extend(list),
            "--batch" => batches.extend(list),
            "--rounds" => rounds = value.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--ms" => ms = value.parse().map_err(|e| format!("--ms: {e}"))?,
            _ => return Err(format!("unknown option {flag}\n\n{HELP}")),
        }
    }
    let options = Options {
        nets: Net::ALL
            .into_iter()
            .filter(|n| matches(&nets, n.key()))
            .collect(),
        peers: Peer::ALL
            .into_iter()
            .filter(|&p| p == Peer::Chainrule || matches(&peers, p.name()))
            .collect(),
        passes: Pass::ALL
            .into_iter()
            .filter(|p| passes.is_empty() || passes.iter().any(|k| k == p.key()))
            .collect(),
        batches: BATCHES
            .into_iter()
            .filter(|b| batches.is_empty() || batches.contains(&b.to_string()))
            .collect(),
        rounds: rounds.max(1),
        timing: Duration::from_secs_f64(ms / 1e3),
    };
    if options.nets.is_empty() || options.passes.is_empty() || options.batches.is_empty() {
        return Err(format!("the filters leave nothing to run\n\n{HELP}"));
    }
    Ok(options)
}

/// Runs this program again with the one-thread variables set, unless they already are:
/// they must be in place before any library reads them, and setting them in-process
/// would need `unsafe`.
fn one_thread() -> Option<ExitCode> {
    if ONE_THREAD
        .iter()
        .all(|(k, v)| std::env::var(k).is_ok_and(|x| x == *v))
    {
        return None;
    }
    let exe = std::env::current_exe().expect("the path of this program");
    let status = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .envs(ONE_THREAD)
        .status()
        .expect("running this program again with one thread");
    Some(ExitCode::from(
        u8::try_from(status.code().unwrap_or(1)).unwrap_or(1),
    ))
}

fn main() -> ExitCode {
    if let Some(code) = one_thread() {
        return code;
    }
    let options = match parse() {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    assert_eq!(rayon::current_num_threads(), 1, "rayon must run one thread");

    eprintln!("checking against chainrule (tolerance {TOLERANCE:e} of the largest entry)");
    let mut failed = false;
    for &net in &options.nets {
        for &n in &options.batches {
            for a in check(net, n, &options.peers) {
                if !a.passes() {
                    failed = true;
                    eprintln!("  FAILED {a:?}");
                }
            }
        }
    }
    if failed {
        eprintln!("a peer computes something else than chainrule; nothing is timed");
        return ExitCode::FAILURE;
    }

    let peak = fma_peak();
    let mut rows = Vec::new();
    for &net in &options.nets {
        for &pass in &options.passes {
            for &n in &options.batches {
                let medians = time_case(net, pass, n, &options);
                let flops = net.spec().flops(pass);
                eprintln!("{} {} batch {n}: done", net.key(), pass.label());
                rows.push(row(net, pass, n, &medians, flops, peak.gflops));
            }
        }
    }
    println!(
        "FP32 FMA peak of one core: {:.1} GFLOP/s ({} f32 lanes); each cell: median per \
         sample, ×time relative to chainrule, (share of the peak).\n",
        peak.gflops, peak.lanes
    );
    println!("{}", header(&options.peers));
    for r in rows {
        println!("{r}");
    }
    ExitCode::SUCCESS
}

/// One contender of a case, with its calibrated iteration count and its timings.
struct Entry {
    peer: Peer,
    contender: Box<dyn Contender>,
    iters: usize,
    ns_per_sample: Vec<f64>,
}

/// The median ns per sample of each contender, in `options.peers` order.
fn time_case(net: Net, pass: Pass, n: usize, options: &Options) -> Vec<(Peer, f64)> {
    let spec = net.spec();
    let batch = Batch::new(&spec, n, n as u64);
    let mut entries: Vec<Entry> = options
        .peers
        .iter()
        .map(|&peer| {
            let mut contender = peer.prepare(net, &spec, &batch);
            // Calibration doubles as warm-up: caches, allocator pools, lazy set-up.
            let iters = calibrate(&mut *contender, pass, options.timing);
            Entry {
                peer,
                contender,
                iters,
                ns_per_sample: Vec::with_capacity(options.rounds),
            }
        })
        .collect();
    let k = entries.len();
    for round in 0..options.rounds {
        // Each round starts with another contender, so none always runs first.
        for i in 0..k {
            let e = &mut entries[(round + i) % k];
            let t = run(&mut *e.contender, pass, e.iters);
            e.ns_per_sample
                .push(t.as_nanos() as f64 / (e.iters * n) as f64);
        }
    }
    entries
        .into_iter()
        .map(|mut e| {
            e.ns_per_sample.sort_by(f64::total_cmp);
            (e.peer, e.ns_per_sample[e.ns_per_sample.len() / 2])
        })
        .collect()
}

fn run(c: &mut dyn Contender, pass: Pass, iters: usize) -> Duration {
    let start = Instant::now();
    match pass {
        Pass::Forward => c.forward(iters),
        Pass::Train => c.train(iters),
    }
    start.elapsed()
}

/// Iterations that take about `target`, found by growing the count until one run does.
fn calibrate(c: &mut dyn Contender, pass: Pass, target: Duration) -> usize {
    let mut iters = 1;
    loop {
        let t = run(c, pass, iters);
        if t >= target {
            return iters;
        }
        let scale = target.as_secs_f64() / t.as_secs_f64().max(1e-9);
        iters = ((iters as f64 * scale.min(10.0)).ceil() as usize).max(iters + 1);
    }
}

fn header(peers: &[Peer]) -> String {
    let names: Vec<&str> = peers.iter().map(|p| p.name()).collect();
    format!(
        "| net | pass | batch | {} |\n| --- | --- | ---: | {} |",
        names.join(" | "),
        vec!["---:"; names.len()].join(" | ")
    )
}

/// One table row: each contender's time, its ratio to chainrule's and its share of the
/// peak.
fn row(net: Net, pass: Pass, n: usize, medians: &[(Peer, f64)], flops: f64, peak: f64) -> String {
    let base = medians
        .iter()
        .find(|(p, _)| *p == Peer::Chainrule)
        .map(|m| m.1)
        .expect("chainrule is always timed");
    let cells: Vec<String> = medians
        .iter()
        .map(|&(p, ns)| {
            let share = percent(100.0 * flops / ns / peak);
            if p == Peer::Chainrule {
                format!("{} ({share})", duration(ns))
            } else {
                format!("{} ×{:.2} ({share})", duration(ns), ns / base)
            }
        })
        .collect();
    format!(
        "| {} | {} | {n} | {} |",
        net.title(),
        pass.label(),
        cells.join(" | ")
    )
}

/// Two significant digits below 10 %, so small shares do not all read 0.0 %.
fn percent(p: f64) -> String {
    let digits = if p >= 10.0 {
        0
    } else if p >= 1.0 {
        1
    } else {
        2
    };
    format!("{p:.digits$} %")
}

/// Three significant digits in ns, µs or ms.
fn duration(ns: f64) -> String {
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else {
        (ns / 1e6, "ms")
    };
    let digits = if v < 10.0 {
        2
    } else if v < 100.0 {
        1
    } else {
        0
    };
    format!("{v:.digits$} {unit}")
}
