// Random valid nets as `network!` source text, shared by the build script (which compiles
// a fixed sample through the real macro) and the IR-level property test (which checks
// thousands through the reference interpreter). Included with `include!`, so it has no
// module-level attributes and depends on nothing.

/// A small deterministic generator (xorshift64), so a seed reproduces a net exactly.
#[derive(Debug)]
pub struct NetRng(pub u64);

impl NetRng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform on `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A generated net: its source and what a test needs to feed it.
#[derive(Debug)]
pub struct RandomNet {
    /// The `network!` body, one `net` item named as asked.
    pub source: String,
    /// The input length.
    pub inputs: usize,
    /// The target length, if the net has a target.
    pub targets: Option<usize>,
    /// Targets must lie in `[0, 1)` (probability losses) rather than `[-1, 1)`.
    pub unit_targets: bool,
}

/// Activations with a derivative everywhere, for probes that must not straddle a kink.
pub const SMOOTH: &[&str] = &["sigmoid", "tanh", "softplus", "sin", "swish", "identity"];
/// Every activation, kinks included.
pub const ALL: &[&str] = &[
    "sigmoid", "tanh", "softplus", "sin", "swish", "identity", "relu", "leaky_relu", "abs",
];

/// A random valid f64 net of 1 to 3 hidden layers with both matrix layouts, any of the
/// given activations, any loss of the language, an optional weight penalty and an
/// optional missing target.
pub fn random_net(seed: u64, name: &str, activations: &[&str]) -> RandomNet {
    let mut rng = NetRng::new(seed);
    let inputs = 1 + rng.below(5);
    let layers = 1 + rng.below(3);
    let mut body = String::new();
    let mut width = inputs;
    let mut prev = "x".to_string();
    let mut weights = Vec::new();
    for l in 0..layers {
        let out = 1 + rng.below(6);
        let act = rng.pick(activations);
        let apply = |z: &str| match act {
            "identity" => z.to_string(),
            "leaky_relu" => format!("leaky_relu({z}, 0.1)"),
            other => format!("{other}({z})"),
        };
        let h = format!("h{l}");
        match rng.below(3) {
            0 => {
                // PyTorch layout, `[out, in]`.
                body += &format!("param w{l}: [{out}, {width}] = xavier;\nparam b{l}: [{out}] = uniform(-0.5, 0.5);\n");
                body += &format!("let {h} = {};\n", apply(&format!("w{l} @ {prev} + b{l}")));
                weights.push(format!("w{l}"));
            }
            1 => {
                // Flax layout, `[in, out]`.
                body += &format!("param w{l}: [{width}, {out}] = xavier;\nparam b{l}: [{out}] = uniform(-0.5, 0.5);\n");
                body += &format!("let {h} = {};\n", apply(&format!("{prev} @ w{l} + b{l}")));
                weights.push(format!("w{l}"));
            }
            _ => {
                let act = if act == "identity" { String::new() } else { format!(", {act}") };
                body += &format!("let {h} = dense({prev}, {out}{act});\n");
                weights.push(format!("{h}_w"));
            }
        }
        prev = h;
        width = out;
    }
    let decay = if rng.below(3) == 0 {
        format!(" + 0.01 * sum({} * {})", weights[0], weights[0])
    } else {
        String::new()
    };
    let (target, loss, unit, output) = match rng.below(8) {
        0 => (true, format!("mse({prev}, t)"), false, prev.clone()),
        1 => (true, format!("bce(sigmoid({prev}), t)"), true, prev.clone()),
        2 => {
            body += &format!("let y = sigmoid({prev});\n");
            (true, "bce(y, t)".to_string(), true, "y".to_string())
        }
        3 => (true, format!("bce_with_logits({prev}, t)"), true, prev.clone()),
        4 => (true, format!("softmax_cross_entropy({prev}, t)"), true, prev.clone()),
        5 => {
            body += &format!("let p = softmax({prev});\n");
            (true, "cross_entropy(p, t)".to_string(), true, "p".to_string())
        }
        6 => (false, format!("mean(softplus({prev}))"), false, prev.clone()),
        _ => (true, format!("sum(({prev} - t) ^ 2) / 2"), false, prev.clone()),
    };
    let target_decl = if target { format!("target t: [{width}];\n") } else { String::new() };
    let source = format!(
        "fn swish(z) = z * sigmoid(z);\n#[scalar(f64)]\nnet {name} {{\ninput x: [{inputs}];\n{target_decl}{body}output {output};\nloss {loss}{decay};\n}}\n"
    );
    RandomNet {
        source,
        inputs,
        targets: target.then_some(width),
        unit_targets: unit,
    }
}
