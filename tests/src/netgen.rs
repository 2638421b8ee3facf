// Random valid nets as `network!` source text, shared by the build script (which writes
// a sample compiled through the real macro) and the IR-level tests (which check nets
// through the reference interpreter). Included with `include!`, so it has no
// module-level attributes and depends on nothing.
//
// Values are kept in safe domains: `ln` and `sqrt` see positive arguments, divisors are
// at least one, `exp` and powers only see small values (a rough magnitude is tracked for
// every value), and probabilities come from `sigmoid`, `softmax` or `0.5 + 0.4 * tanh`.

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
    /// Uniform on `lo..=hi`.
    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// How the net's code is laid out, chosen by attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// No `unroll` attribute: the default budget decides.
    Default,
    /// `#[chainrule(unroll = 0)]` or `unroll = 1`: loops wherever the emitter has them.
    Loops,
    /// `#[chainrule(unroll = 65536)]`, the largest budget: fully unrolled.
    Unrolled,
}

/// The functions whose derivative jumps somewhere.
const KINKED: &[&str] = &[
    "relu",
    "abs",
    "leaky_relu",
    "max",
    "min",
    "elu",
    "selu",
    "hardtanh",
    "hardsigmoid",
    "hardswish",
];
/// The kinked functions a net may use: all of them (`relu`, `abs`, `leaky_relu`, `max`,
/// `min`, `elu`, `selu`, `hardtanh`, `hardsigmoid`, `hardswish`).
pub const ALL: &[&str] = KINKED;
/// No kinked function, so a finite-difference probe never straddles a kink.
pub const SMOOTH: &[&str] = &[];

/// A generated net: its source and what a test needs to feed it.
#[derive(Clone, Debug)]
pub struct RandomNet {
    /// The `network!` body: `fn` items and one `net` item named as asked.
    pub source: String,
    /// The net's name.
    pub name: String,
    /// `#[scalar(f64)]`; otherwise the net computes in `f32`.
    pub f64: bool,
    /// The layout forced by attribute, if any.
    pub form: Form,
    /// The input's shape: `[]`, `[n]` or `[r, c]`.
    pub input: Vec<usize>,
    /// The target's shape, if the net has a target.
    pub target: Option<Vec<usize>>,
    /// The output's shape.
    pub output: Vec<usize>,
    /// Targets must lie in `[0, 1)` (probability losses) rather than `[-1, 1)`.
    pub unit_targets: bool,
    /// Which parts of the language the net uses (see [`FEATURES`]).
    pub features: Vec<&'static str>,
}

impl RandomNet {
    /// The number of scalars in one input.
    pub fn input_len(&self) -> usize {
        self.input.iter().product()
    }
    /// The number of scalars in one target, if there is a target.
    pub fn target_len(&self) -> Option<usize> {
        self.target.as_ref().map(|t| t.iter().product())
    }
}

/// Every feature tag the generator can produce; the coverage test asserts each appears.
pub const FEATURES: &[&str] = &[
    // Operators.
    "op_add",
    "op_sub",
    "op_mul",
    "op_div",
    "op_neg",
    "pow_2",
    "pow_3",
    "pow_abs_1_5",
    "pow_param",
    "pow_half",
    "literal",
    "broadcast",
    "index_v",
    "index_m",
    "transpose",
    // `@` shapes and layouts.
    "matmul_mv",
    "matmul_vm",
    "matmul_mm",
    "layout_pytorch",
    "layout_flax",
    // Elementwise functions.
    "exp",
    "ln",
    "sqrt",
    "abs",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "softplus",
    "leaky_relu_a",
    "leaky_relu_default",
    "max",
    "min",
    "gelu",
    "gelu_tanh",
    "elu",
    "selu",
    "silu",
    "mish",
    "softsign",
    "hardtanh",
    "hardsigmoid",
    "hardswish",
    "log1p",
    "expm1",
    "tan",
    "atan",
    "asinh",
    "erf",
    "log_sigmoid",
    "fn_1",
    "fn_2",
    "fn_in_net",
    "fn_calls_fn",
    // Reductions and vector functions.
    "sum",
    "mean",
    "dot",
    "softmax",
    "log_softmax",
    // Layers.
    "dense_act",
    "dense_affine",
    // Losses.
    "mse",
    "bce",
    "bce_fused",
    "bce_with_logits",
    "cross_entropy",
    "cross_entropy_fused",
    "softmax_cross_entropy",
    "loss_half_sum_sq",
    "loss_half_sum_sq_prefix",
    "loss_sum_yt",
    "loss_sum_y_tanh",
    "loss_sum_yc",
    "loss_is_output",
    "penalty",
    // Shapes and kinds of nets.
    "in_scalar",
    "in_vector",
    "in_matrix",
    "out_scalar",
    "out_1",
    "out_2",
    "out_small",
    "out_many",
    "out_matrix",
    "out_hidden",
    "no_target",
    "scalar_param",
    "matrix_param",
    "regression_affine_mse",
    "regression_elementwise_mse",
    "regression_elementwise",
    "tricky_names",
    // Code layout and scalar type.
    "form_default",
    "form_loops",
    "form_unrolled",
    "chunked",
    "f32",
    "f64",
];

/// The language's elementwise functions the generator writes, each also a feature tag
/// (`leaky_relu` as `leaky_relu_a` and `leaky_relu_default`). A test holds this to the
/// grammar's table, so a new function fails it until the generator writes that function
/// too, on a domain where it is defined.
pub const FUNCTIONS: &[&str] = &[
    "exp",
    "ln",
    "sqrt",
    "abs",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "softplus",
    "leaky_relu",
    "max",
    "min",
    "gelu",
    "gelu_tanh",
    "elu",
    "selu",
    "silu",
    "mish",
    "softsign",
    "hardtanh",
    "hardsigmoid",
    "hardswish",
    "log1p",
    "expm1",
    "tan",
    "atan",
    "asinh",
    "erf",
    "log_sigmoid",
];

/// The functions of the activations table (README, "Activations").
const ACTIVATIONS: &[&str] = &[
    "gelu",
    "gelu_tanh",
    "elu",
    "selu",
    "silu",
    "mish",
    "softsign",
    "hardtanh",
    "hardsigmoid",
    "hardswish",
    "log1p",
    "expm1",
    "tan",
    "atan",
    "asinh",
    "erf",
    "log_sigmoid",
];

/// User-chosen names that look like the generated code's own, to catch clashes.
const TRICKY: &[&str] = &[
    "x",
    "t",
    "y",
    "h",
    "z",
    "w",
    "b",
    "i",
    "j",
    "k",
    "n",
    "grad",
    "scale",
    "seed",
    "xs",
    "ts",
    "ys",
    "d_h",
    "v_h",
    "d_y",
    "v_y",
    "d_x",
    "self_",
    "f32",
    "f64",
    "usize",
    "core",
    "loss_1",
    "out",
    "new",
    "forward",
    "zeros",
    "__i",
    "__loss_1",
    "__dloss_1",
    "d_d_y",
];

/// The user `fn`s the generator may define: name, arity, definition.
const USER_FNS: &[(&str, usize, &str)] = &[
    ("swish", 1, "fn swish(z) = z * sigmoid(z);"),
    ("bump", 1, "fn bump(z) = 1 / (1 + z * z);"),
    (
        "soft_sign",
        1,
        "fn soft_sign(z) = z / (1 + sqrt(1 + z * z));",
    ),
    ("swish2", 1, "fn swish2(z) = swish(z) + 0.1 * z;"),
    ("gate", 2, "fn gate(a, b) = a * sigmoid(b);"),
    ("mix", 2, "fn mix(a, b) = a * b + a - 0.5 * b;"),
    ("hyp", 2, "fn hyp(a, b) = sqrt(a * a + b * b + 1);"),
];

/// How many nets `build.rs` compiles when `CHAINRULE_NETS` is not set.
pub const DEFAULT_NETS: u64 = 320;

/// The generator seed of net `k` of the sample chosen by `CHAINRULE_NET_SEED = base`.
pub fn sample_seed(base: u64, k: u64) -> u64 {
    base.wrapping_mul(1_000_003).wrapping_add(k)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sh {
    S,
    V(usize),
    M(usize, usize),
}

impl Sh {
    fn dims(self) -> Vec<usize> {
        match self {
            Sh::S => vec![],
            Sh::V(n) => vec![n],
            Sh::M(r, c) => vec![r, c],
        }
    }
    fn decl(self) -> String {
        match self {
            Sh::S => "[]".to_string(),
            Sh::V(n) => format!("[{n}]"),
            Sh::M(r, c) => format!("[{r}, {c}]"),
        }
    }
}

/// An expression with its shape and a rough bound on the size of its elements.
#[derive(Clone, Debug)]
struct Val {
    e: String,
    sh: Sh,
    mag: f64,
    /// A plain name, safe to repeat and needing no parentheses.
    atom: bool,
}

impl Val {
    fn with(&self, e: String, mag: f64) -> Val {
        Val {
            e,
            sh: self.sh,
            mag,
            atom: false,
        }
    }
    /// The expression, parenthesized unless it is a name.
    fn p(&self) -> String {
        if self.atom {
            self.e.clone()
        } else {
            format!("({})", self.e)
        }
    }
}

struct Builder {
    rng: NetRng,
    kinked: Vec<String>,
    stmts: Vec<String>,
    top_fns: Vec<String>,
    net_fns: Vec<String>,
    fns: Vec<&'static str>,
    taken: Vec<String>,
    params: Vec<(String, Sh)>,
    features: Vec<&'static str>,
    counter: usize,
    tricky: f64,
}

impl Builder {
    fn tag(&mut self, f: &'static str) {
        debug_assert!(FEATURES.contains(&f), "unknown feature {f}");
        if !self.features.contains(&f) {
            self.features.push(f);
        }
    }

    /// Smooth functions always, kinked ones when listed.
    fn allows(&self, f: &str) -> bool {
        !KINKED.contains(&f) || self.kinked.iter().any(|k| k == f)
    }

    fn free(&self, n: &str) -> bool {
        !self.taken.iter().any(|t| t == n)
    }

    /// A fresh name: sometimes one that looks like a generated name, else `stem` numbered.
    fn name(&mut self, stem: &str) -> String {
        if self.rng.chance(self.tricky) {
            let n = self.rng.pick(TRICKY);
            if self.free(n) {
                self.tag("tricky_names");
                self.taken.push(n.to_string());
                return n.to_string();
            }
        }
        loop {
            self.counter += 1;
            let n = format!("{stem}{}", self.counter);
            if self.free(&n) {
                self.taken.push(n.clone());
                return n;
            }
        }
    }

    /// A name `h` for a `dense` layer, with `h_w` and `h_b` free too.
    fn dense_name(&mut self) -> String {
        loop {
            let n = self.name("layer");
            let (w, b) = (format!("{n}_w"), format!("{n}_b"));
            if self.free(&w) && self.free(&b) {
                self.taken.push(w);
                self.taken.push(b);
                return n;
            }
        }
    }

    fn param(&mut self, stem: &str, sh: Sh) -> Val {
        let n = self.name(stem);
        let init = match self.rng.below(8) {
            0 => String::new(),
            1 => " = xavier".to_string(),
            2 => " = he".to_string(),
            3 => " = ones".to_string(),
            4 => " = constant(0.1)".to_string(),
            5 => " = uniform(-0.5, 0.5)".to_string(),
            6 => " = normal(0, 0.3)".to_string(),
            _ => " = zeros".to_string(),
        };
        match sh {
            Sh::S => self.tag("scalar_param"),
            Sh::M(..) => self.tag("matrix_param"),
            Sh::V(_) => {}
        }
        self.stmts.push(format!("param {n}: {}{init};", sh.decl()));
        self.params.push((n.clone(), sh));
        Val {
            e: n,
            sh,
            mag: 1.0,
            atom: true,
        }
    }

    /// Binds `v` to a new `let` and returns the name.
    fn bind(&mut self, v: Val, stem: &str) -> Val {
        let n = self.name(stem);
        self.stmts.push(format!("let {n} = {};", v.e));
        Val {
            e: n,
            sh: v.sh,
            mag: v.mag,
            atom: true,
        }
    }

    /// `v` as a name, binding it first unless it already is one.
    fn atom(&mut self, v: Val) -> Val {
        if v.atom { v } else { self.bind(v, "z") }
    }

    /// Defines a user `fn` (at the top level or inside the net) the first time it is used.
    fn use_fn(&mut self, name: &'static str) {
        if self.fns.contains(&name) {
            return;
        }
        let def = USER_FNS
            .iter()
            .find(|f| f.0 == name)
            .map(|f| f.2)
            .expect("a known fn");
        let in_net = if name == "swish2" {
            // It calls `swish`, so it goes where `swish` is.
            self.use_fn("swish");
            self.tag("fn_calls_fn");
            self.net_fns.iter().any(|f| f.starts_with("fn swish("))
        } else {
            self.rng.chance(0.3)
        };
        if in_net {
            self.tag("fn_in_net");
            self.net_fns.push(def.to_string());
        } else {
            self.top_fns.push(def.to_string());
        }
        self.fns.push(name);
    }

    /// A scalar operand: a literal or a scalar parameter.
    fn scalar_operand(&mut self) -> Val {
        if self.rng.chance(0.5) {
            self.tag("literal");
            let e = self.rng.pick(&["0.5", "2", "0.25", "1.5", "1e-1", "3.0"]);
            Val {
                e: e.to_string(),
                sh: Sh::S,
                mag: 3.0,
                atom: true,
            }
        } else {
            self.param("s", Sh::S)
        }
    }

    /// A random elementwise function of `z`, chosen so the result stays moderate.
    fn activation(&mut self, z: Val, identity: bool) -> Val {
        let m = z.mag;
        loop {
            // Powers get four slots (several of their forms need small inputs),
            // `max`/`min` and user `fn`s two, as each has several forms, and the
            // activations table ten, as it has seventeen functions.
            let k = match self.rng.below(36) {
                21..=23 => 15,
                24 => 12,
                25 => 13,
                26 => 14,
                27..=35 => 21,
                k => k,
            };
            let kink = match k {
                4 => Some("abs"),
                9 => Some("relu"),
                11 => Some("leaky_relu"),
                _ => None,
            };
            if kink.is_some_and(|f| !self.allows(f)) {
                continue;
            }
            let out = match k {
                0 if identity => z.clone(),
                1 if m <= 2.5 => {
                    self.tag("exp");
                    z.with(format!("exp({})", z.e), m.exp())
                }
                1 => {
                    self.tag("exp");
                    self.tag("tanh");
                    z.with(format!("exp(tanh({}))", z.e), 2.8)
                }
                2 => {
                    self.tag("ln");
                    match self.rng.below(3) {
                        0 => {
                            let z = self.atom(z.clone());
                            self.tag("op_add");
                            self.tag("op_mul");
                            z.with(format!("ln(1 + {0} * {0})", z.e), (1.0 + m * m).ln())
                        }
                        1 => {
                            self.tag("sigmoid");
                            z.with(format!("ln(sigmoid({}))", z.e), m + 1.0)
                        }
                        _ => {
                            self.tag("softplus");
                            z.with(format!("ln(softplus({}) + 0.5)", z.e), m.max(1.0))
                        }
                    }
                }
                3 => {
                    self.tag("sqrt");
                    if self.rng.chance(0.6) {
                        let z = self.atom(z.clone());
                        z.with(format!("sqrt(1 + {0} * {0})", z.e), m + 1.0)
                    } else {
                        self.tag("sigmoid");
                        z.with(format!("sqrt(sigmoid({}))", z.e), 1.0)
                    }
                }
                4 => {
                    self.tag("abs");
                    z.with(format!("abs({})", z.e), m)
                }
                5 => {
                    self.tag("sin");
                    z.with(format!("sin({})", z.e), 1.0)
                }
                6 => {
                    self.tag("cos");
                    z.with(format!("cos({})", z.e), 1.0)
                }
                7 => {
                    self.tag("tanh");
                    z.with(format!("tanh({})", z.e), 1.0)
                }
                8 => {
                    self.tag("sigmoid");
                    z.with(format!("sigmoid({})", z.e), 1.0)
                }
                9 => {
                    self.tag("relu");
                    z.with(format!("relu({})", z.e), m)
                }
                10 => {
                    self.tag("softplus");
                    z.with(format!("softplus({})", z.e), m + 0.7)
                }
                11 => {
                    if self.rng.chance(0.5) {
                        self.tag("leaky_relu_a");
                        z.with(format!("leaky_relu({}, 0.2)", z.e), m)
                    } else {
                        self.tag("leaky_relu_default");
                        z.with(format!("leaky_relu({})", z.e), m)
                    }
                }
                12 => {
                    let f = if self.rng.chance(0.5) { "max" } else { "min" };
                    if !self.allows(f) {
                        continue;
                    }
                    self.tag(f);
                    let other = match self.rng.below(3) {
                        0 => self.scalar_operand(),
                        1 => self.param("c", z.sh),
                        _ => {
                            let z2 = self.atom(z.clone());
                            self.tag("op_mul");
                            let e = format!("0.3 * {}", z2.e);
                            return z2.with(format!("{f}({}, {e})", z2.e), m);
                        }
                    };
                    if other.sh == Sh::S && z.sh != Sh::S {
                        self.tag("broadcast");
                    }
                    z.with(format!("{f}({}, {})", z.e, other.e), m.max(other.mag))
                }
                13 => {
                    self.tag("fn_1");
                    let f = self
                        .rng
                        .pick(&["swish", "bump", "soft_sign", "swish2", "swish2"]);
                    self.use_fn(f);
                    let mag = if f == "bump" || f == "soft_sign" {
                        1.0
                    } else {
                        m + 0.5
                    };
                    z.with(format!("{f}({})", z.e), mag)
                }
                14 => {
                    self.tag("fn_2");
                    let f = self.rng.pick(&["gate", "mix", "hyp"]);
                    if f == "mix" && m > 4.0 {
                        continue;
                    }
                    self.use_fn(f);
                    let other = match self.rng.below(3) {
                        0 => self.scalar_operand(),
                        1 => self.param("c", z.sh),
                        _ => {
                            let z2 = self.atom(z.clone());
                            return z2.with(format!("{f}({0}, {0})", z2.e), m * m + 1.0);
                        }
                    };
                    if other.sh == Sh::S && z.sh != Sh::S {
                        self.tag("broadcast");
                    }
                    z.with(
                        format!("{f}({}, {})", z.e, other.e),
                        m * other.mag + m + 1.0,
                    )
                }
                15 => match self.rng.below(5) {
                    0 if m <= 8.0 => {
                        self.tag("pow_abs_1_5");
                        self.tag("abs");
                        z.with(format!("abs({}) ^ 1.5", z.e), m.powf(1.5))
                    }
                    1 if m <= 4.0 => {
                        self.tag("pow_2");
                        z.with(format!("{} ^ 2", z.p()), m * m)
                    }
                    2 if m <= 2.5 => {
                        self.tag("pow_3");
                        z.with(format!("{} ^ 3", z.p()), m * m * m)
                    }
                    3 => {
                        self.tag("pow_param");
                        self.tag("sigmoid");
                        let p = self.param("p", Sh::S);
                        z.with(format!("sigmoid({}) ^ {}", z.e, p.e), 3.0)
                    }
                    4 => {
                        self.tag("pow_half");
                        let z = self.atom(z.clone());
                        z.with(format!("(1 + {0} * {0}) ^ 0.5", z.e), m + 1.0)
                    }
                    _ => continue,
                },
                16 => {
                    self.tag("op_div");
                    match self.rng.below(3) {
                        0 => {
                            let z = self.atom(z.clone());
                            z.with(format!("{0} / (1 + {0} * {0})", z.e), 0.5)
                        }
                        1 => {
                            let z = self.atom(z.clone());
                            z.with(format!("1 / (1 + {0} * {0})", z.e), 1.0)
                        }
                        _ => {
                            self.tag("literal");
                            z.with(format!("{} / 2", z.p()), m / 2.0)
                        }
                    }
                }
                17 => {
                    self.tag("op_neg");
                    if self.rng.chance(0.5) {
                        self.tag("tanh");
                        z.with(format!("-tanh({})", z.e), 1.0)
                    } else {
                        z.with(format!("-{}", z.p()), m)
                    }
                }
                18 => {
                    self.tag("literal");
                    match self.rng.below(3) {
                        0 => {
                            self.tag("tanh");
                            self.tag("op_sub");
                            z.with(format!("2 * tanh({}) - 1", z.e), 3.0)
                        }
                        1 => {
                            self.tag("op_add");
                            z.with(format!("0.5 * {} + 0.25", z.p()), m / 2.0 + 0.25)
                        }
                        _ => {
                            self.tag("sigmoid");
                            self.tag("op_sub");
                            z.with(format!("1 - sigmoid({})", z.e), 1.0)
                        }
                    }
                }
                19 => {
                    self.tag("op_mul");
                    self.tag("tanh");
                    self.tag("sigmoid");
                    let z = self.atom(z.clone());
                    z.with(format!("tanh({0}) * sigmoid({0})", z.e), 1.0)
                }
                20 if z.sh != Sh::S => {
                    // A scalar that is a function of the whole value, broadcast back.
                    self.tag("broadcast");
                    let z = self.atom(z.clone());
                    match self.rng.below(3) {
                        0 => {
                            self.tag("mean");
                            self.tag("op_sub");
                            z.with(format!("{0} - mean({0})", z.e), 2.0 * m)
                        }
                        1 => {
                            self.tag("dot");
                            self.tag("sqrt");
                            z.with(format!("{0} / sqrt(1 + dot({0}, {0}))", z.e), 1.0)
                        }
                        _ => {
                            self.tag("sum");
                            self.tag("tanh");
                            z.with(format!("{0} * tanh(0.1 * sum({0}))", z.e), m)
                        }
                    }
                }
                21 => {
                    let f = self.rng.pick(ACTIVATIONS);
                    if !self.allows(f) {
                        continue;
                    }
                    match self.table_activation(f, &z) {
                        Some(v) => v,
                        None => continue,
                    }
                }
                _ => continue,
            };
            return out;
        }
    }

    /// `f(z)` for a function of the activations table, kept in its domain.
    fn table_activation(&mut self, f: &'static str, z: &Val) -> Option<Val> {
        let m = z.mag;
        let tag = FEATURES.iter().find(|t| **t == f).copied().expect("a tag");
        self.tag(tag);
        let out = match f {
            "gelu" | "gelu_tanh" | "silu" | "mish" | "hardswish" => {
                z.with(format!("{f}({})", z.e), m + 0.5)
            }
            "softsign" | "erf" | "hardsigmoid" => z.with(format!("{f}({})", z.e), 1.0),
            "atan" => z.with(format!("atan({})", z.e), 1.6),
            "asinh" => z.with(format!("asinh({})", z.e), (2.0 * m + 1.0).ln() + 1.0),
            "log_sigmoid" => z.with(format!("log_sigmoid({})", z.e), m + 1.0),
            "selu" => z.with(format!("selu({})", z.e), 1.8 * m + 1.8),
            "elu" => {
                if self.rng.chance(0.5) {
                    z.with(format!("elu({})", z.e), m + 1.0)
                } else {
                    self.tag("literal");
                    z.with(format!("elu({}, 0.5)", z.e), m + 1.0)
                }
            }
            "hardtanh" => {
                if self.rng.chance(0.5) {
                    z.with(format!("hardtanh({})", z.e), 1.0)
                } else {
                    self.tag("literal");
                    z.with(format!("hardtanh({}, -0.5, 2)", z.e), 2.0)
                }
            }
            // `ln(1 + x)` needs `x > -1`.
            "log1p" => match self.rng.below(3) {
                0 => {
                    let z = self.atom(z.clone());
                    z.with(format!("log1p({0} * {0})", z.e), (1.0 + m * m).ln())
                }
                1 => z.with(format!("log1p(sigmoid({}))", z.e), 0.7),
                _ => z.with(format!("log1p(0.5 * tanh({}))", z.e), 0.7),
            },
            "expm1" if m <= 2.5 => z.with(format!("expm1({})", z.e), m.exp()),
            "expm1" => z.with(format!("expm1(tanh({}))", z.e), 1.8),
            // Poles at ±π/2: the argument stays within ±1.
            "tan" => {
                if self.rng.chance(0.5) {
                    z.with(format!("tan(tanh({}))", z.e), 1.6)
                } else {
                    z.with(format!("tan(0.5 * sin({}))", z.e), 0.6)
                }
            }
            _ => return None,
        };
        Some(out)
    }

    /// Activations `dense` accepts by name, filtered for the input's size.
    fn dense_activation(&mut self, m: f64) -> &'static str {
        loop {
            let a = self.rng.pick(&[
                "tanh",
                "sigmoid",
                "relu",
                "softplus",
                "sin",
                "cos",
                "abs",
                "leaky_relu",
                "exp",
                "swish",
                "bump",
                "gelu",
                "gelu_tanh",
                "silu",
                "mish",
                "softsign",
                "erf",
                "atan",
                "asinh",
                "log_sigmoid",
                "elu",
                "selu",
                "hardtanh",
                "hardsigmoid",
                "hardswish",
            ]);
            if !self.allows(a) {
                continue;
            }
            if a == "exp" && m > 1.5 {
                continue;
            }
            match a {
                "leaky_relu" => self.tag("leaky_relu_default"),
                "swish" | "bump" => {
                    self.tag("fn_1");
                    let f: &'static str = if a == "swish" { "swish" } else { "bump" };
                    self.use_fn(f);
                }
                other => {
                    let t = FEATURES
                        .iter()
                        .find(|f| **f == other)
                        .copied()
                        .expect("tag");
                    self.tag(t);
                }
            }
            return a;
        }
    }

    /// The magnitude of an activation's output for `dense`.
    fn dense_mag(a: &str, m: f64) -> f64 {
        match a {
            "tanh" | "sigmoid" | "sin" | "cos" | "bump" | "softsign" | "erf" | "hardtanh"
            | "hardsigmoid" | "atan" => 2.0,
            "exp" => m.exp(),
            "selu" => 1.8 * m + 1.8,
            _ => m + 1.0,
        }
    }

    /// A layer from a vector to a vector of `out` elements: an affine map (one of
    /// several spellings) or, when the sizes agree, an elementwise one. With `act`, an
    /// activation follows.
    fn vector_layer(&mut self, h: Val, out: usize, act: bool) -> Val {
        let Sh::V(n) = h.sh else {
            panic!("vector_layer of {:?}", h.sh)
        };
        let h = self.atom(h);
        let lin = (0.6 * (n as f64).sqrt() * h.mag + 0.6).max(1.0);
        let kind = self.rng.below(if out == n { 7 } else { 5 });
        let bias = self.rng.chance(0.85);
        let z = match kind {
            0 => {
                let name = self.dense_name();
                if act && self.rng.chance(0.7) {
                    self.tag("dense_act");
                    let a = self.dense_activation(lin);
                    self.stmts
                        .push(format!("let {name} = dense({}, {out}, {a});", h.e));
                    self.params.push((format!("{name}_w"), Sh::M(out, n)));
                    self.params.push((format!("{name}_b"), Sh::V(out)));
                    return Val {
                        e: name,
                        sh: Sh::V(out),
                        mag: Self::dense_mag(a, lin),
                        atom: true,
                    };
                }
                self.tag("dense_affine");
                self.stmts
                    .push(format!("let {name} = dense({}, {out});", h.e));
                self.params.push((format!("{name}_w"), Sh::M(out, n)));
                self.params.push((format!("{name}_b"), Sh::V(out)));
                Val {
                    e: name,
                    sh: Sh::V(out),
                    mag: lin,
                    atom: true,
                }
            }
            1 => {
                self.tag("matmul_mv");
                self.tag("layout_pytorch");
                let w = self.param("w", Sh::M(out, n));
                self.affine(format!("{} @ {}", w.e, h.e), out, bias, lin)
            }
            2 => {
                self.tag("matmul_vm");
                self.tag("layout_flax");
                let w = self.param("w", Sh::M(n, out));
                self.affine(format!("{} @ {}", h.e, w.e), out, bias, lin)
            }
            3 => {
                // A low-rank product: `[out, r] @ [r, n]` is a matrix-matrix product.
                self.tag("matmul_mm");
                self.tag("matmul_mv");
                let r = self.rng.between(1, 3);
                let u = self.param("u", Sh::M(out, r));
                let v = self.param("v", Sh::M(r, n));
                let lin = lin * (r as f64).sqrt();
                self.affine(format!("({} @ {}) @ {}", u.e, v.e, h.e), out, bias, lin)
            }
            4 => {
                self.tag("transpose");
                self.tag("matmul_mv");
                let w = self.param("w", Sh::M(n, out));
                self.affine(format!("transpose({}) @ {}", w.e, h.e), out, bias, lin)
            }
            5 => {
                self.tag("op_mul");
                let a = self.param("a", Sh::V(n));
                self.affine(format!("{} * {}", a.e, h.e), out, bias, h.mag + 1.0)
            }
            _ => {
                self.tag("op_mul");
                self.tag("broadcast");
                let s = self.scalar_operand();
                self.affine(format!("{} * {}", s.e, h.e), out, bias, s.mag * h.mag + 1.0)
            }
        };
        if act { self.activation(z, true) } else { z }
    }

    /// `e + b` with a fresh bias of `out` elements, or `e` alone.
    fn affine(&mut self, e: String, out: usize, bias: bool, mag: f64) -> Val {
        let e = if bias {
            self.tag("op_add");
            let b = self.param("b", Sh::V(out));
            format!("{e} + {}", b.e)
        } else {
            e
        };
        Val {
            e,
            sh: Sh::V(out),
            mag,
            atom: false,
        }
    }

    /// Turns a matrix `x: [r, c]` into a matrix or a vector.
    fn matrix_layer(&mut self, x: Val, want_matrix: bool) -> Val {
        let Sh::M(r, c) = x.sh else {
            panic!("matrix_layer of {:?}", x.sh)
        };
        let x = self.atom(x);
        let m = x.mag;
        if want_matrix {
            let z = match self.rng.below(3) {
                0 => {
                    self.tag("matmul_mm");
                    self.tag("layout_pytorch");
                    let k = self.rng.between(1, 4);
                    let w = self.param("w", Sh::M(k, r));
                    Val {
                        e: format!("{} @ {}", w.e, x.e),
                        sh: Sh::M(k, c),
                        mag: 0.6 * (r as f64).sqrt() * m + 0.5,
                        atom: false,
                    }
                }
                1 => {
                    self.tag("matmul_mm");
                    self.tag("layout_flax");
                    let k = self.rng.between(1, 4);
                    let w = self.param("w", Sh::M(c, k));
                    Val {
                        e: format!("{} @ {}", x.e, w.e),
                        sh: Sh::M(r, k),
                        mag: 0.6 * (c as f64).sqrt() * m + 0.5,
                        atom: false,
                    }
                }
                _ => {
                    self.tag("op_mul");
                    self.tag("op_add");
                    let a = self.param("a", Sh::M(r, c));
                    let b = self.param("b", Sh::M(r, c));
                    Val {
                        e: format!("{} * {} + {}", a.e, x.e, b.e),
                        sh: Sh::M(r, c),
                        mag: m + 1.0,
                        atom: false,
                    }
                }
            };
            if self.rng.chance(0.3) {
                self.tag("transpose");
                let z = self.atom(z);
                let Sh::M(r, c) = z.sh else { unreachable!() };
                return Val {
                    e: format!("transpose({})", z.e),
                    sh: Sh::M(c, r),
                    mag: z.mag,
                    atom: false,
                };
            }
            return self.activation(z, true);
        }
        let z = match self.rng.below(4) {
            0 => {
                self.tag("matmul_mv");
                let v = self.param("v", Sh::V(c));
                Val {
                    e: format!("{} @ {}", x.e, v.e),
                    sh: Sh::V(r),
                    mag: 0.6 * (c as f64).sqrt() * m + 0.5,
                    atom: false,
                }
            }
            1 => {
                self.tag("matmul_vm");
                let v = self.param("v", Sh::V(r));
                Val {
                    e: format!("{} @ {}", v.e, x.e),
                    sh: Sh::V(c),
                    mag: 0.6 * (r as f64).sqrt() * m + 0.5,
                    atom: false,
                }
            }
            2 => {
                self.tag("transpose");
                self.tag("matmul_mv");
                let v = self.param("v", Sh::V(r));
                Val {
                    e: format!("transpose({}) @ {}", x.e, v.e),
                    sh: Sh::V(c),
                    mag: 0.6 * (r as f64).sqrt() * m + 0.5,
                    atom: false,
                }
            }
            _ => {
                // Single elements, broadcast into vectors.
                self.tag("index_m");
                self.tag("broadcast");
                self.tag("op_mul");
                self.tag("op_add");
                let n = self.rng.between(1, 4);
                let u = self.param("u", Sh::V(n));
                let v = self.param("v", Sh::V(n));
                let (i, j) = (self.rng.below(r), self.rng.below(c));
                let (k, l) = (self.rng.below(r), self.rng.below(c));
                Val {
                    e: format!(
                        "{x}[{i}, {j}] * {u} + {x}[{k}, {l}] * {v}",
                        x = x.e,
                        u = u.e,
                        v = v.e
                    ),
                    sh: Sh::V(n),
                    mag: 2.0 * m,
                    atom: false,
                }
            }
        };
        self.activation(z, true)
    }

    /// Something between layers that keeps the size: a vector function or an index.
    fn vector_extra(&mut self, h: Val) -> Val {
        let Sh::V(n) = h.sh else { return h };
        match self.rng.below(4) {
            0 => {
                self.tag("softmax");
                h.with(format!("softmax({})", h.e), 1.0)
            }
            1 => {
                self.tag("log_softmax");
                h.with(
                    format!("log_softmax({})", h.e),
                    2.0 * h.mag + (n as f64).ln() + 1.0,
                )
            }
            2 => {
                self.tag("index_v");
                self.tag("op_mul");
                self.tag("broadcast");
                let h = self.atom(h);
                let i = self.rng.below(n);
                h.with(format!("{0} * tanh({0}[{i}])", h.e), h.mag)
            }
            _ => {
                self.tag("dot");
                self.tag("broadcast");
                let h = self.atom(h);
                let u = self.param("u", Sh::V(n));
                h.with(
                    format!("{} + 0.5 * tanh(dot({}, {}))", h.e, u.e, h.e),
                    h.mag + 0.5,
                )
            }
        }
    }

    /// An output width: 1, 2, a few, or many (5–9).
    fn out_width(&mut self) -> usize {
        match self.rng.below(20) {
            0..=4 => 1,
            5..=9 => 2,
            10..=12 => self.rng.between(3, 4),
            _ => self.rng.between(5, 9),
        }
    }

    fn tag_width(&mut self, sh: Sh) {
        match sh {
            Sh::S => self.tag("out_scalar"),
            Sh::V(1) => self.tag("out_1"),
            Sh::V(2) => self.tag("out_2"),
            Sh::V(3 | 4) => self.tag("out_small"),
            Sh::V(_) => self.tag("out_many"),
            Sh::M(..) => self.tag("out_matrix"),
        }
    }

    /// A penalty on a random parameter, or nothing.
    fn penalty(&mut self) -> String {
        if self.params.is_empty() || !self.rng.chance(0.35) {
            return String::new();
        }
        self.tag("penalty");
        let (p, sh) = self.params[self.rng.below(self.params.len())].clone();
        match (sh, self.rng.below(3)) {
            (Sh::S, _) => format!(" + 0.01 * {p} * {p}"),
            (Sh::V(_), 0) => {
                self.tag("dot");
                format!(" + 1e-3 * dot({p}, {p})")
            }
            (_, 1) => {
                self.tag("mean");
                self.tag("pow_2");
                format!(" + 0.05 * mean({p} ^ 2)")
            }
            _ => {
                self.tag("sum");
                format!(" + 0.01 * sum({p} * {p})")
            }
        }
    }
}

/// What a loss needs: its text, whether it reads a target and which range targets have.
struct Loss {
    e: String,
    target: bool,
    unit: bool,
}

/// The loss of a general net for the final value `z`, with the output chosen to suit it;
/// returns the loss and the output.
fn general_loss(b: &mut Builder, z: Val, input: &Val) -> (Loss, Val) {
    let vector = matches!(z.sh, Sh::V(_));
    let scalar = z.sh == Sh::S;
    loop {
        let k = if scalar && b.rng.chance(0.15) {
            20
        } else {
            b.rng.below(22)
        };
        let t = "TARGET";
        let loss = |e: String, target: bool, unit: bool| Loss { e, target, unit };
        return match k {
            0 | 1 => {
                b.tag("mse");
                let z = b.atom(z);
                (loss(format!("mse({}, {t})", z.e), true, false), z)
            }
            2 => {
                b.tag("loss_half_sum_sq");
                b.tag("pow_2");
                b.tag("sum");
                let z = b.atom(z);
                let e = if scalar {
                    format!("({} - {t}) ^ 2 / 2", z.e)
                } else {
                    format!("sum(({} - {t}) ^ 2) / 2", z.e)
                };
                (loss(e, true, false), z)
            }
            3 => {
                b.tag("loss_half_sum_sq_prefix");
                b.tag("pow_2");
                let z = b.atom(z);
                let e = if scalar {
                    format!("0.5 * ({} - {t}) ^ 2", z.e)
                } else {
                    format!("0.5 * sum(({} - {t}) ^ 2)", z.e)
                };
                (loss(e, true, false), z)
            }
            4 => {
                b.tag("loss_sum_yt");
                let z = b.atom(z);
                let e = if scalar {
                    format!("{} * {t}", z.e)
                } else {
                    format!("sum({} * {t})", z.e)
                };
                (loss(e, true, false), z)
            }
            5 | 6 => {
                b.tag("bce_with_logits");
                let z = b.atom(z);
                (
                    loss(format!("bce_with_logits({}, {t})", z.e), true, true),
                    z,
                )
            }
            7 => {
                b.tag("bce");
                b.tag("bce_fused");
                b.tag("sigmoid");
                let z = b.atom(z);
                (loss(format!("bce(sigmoid({}), {t})", z.e), true, true), z)
            }
            8 => {
                b.tag("bce");
                b.tag("bce_fused");
                b.tag("sigmoid");
                let p = b.bind(z.with(format!("sigmoid({})", z.e), 1.0), "p");
                (loss(format!("bce({}, {t})", p.e), true, true), p)
            }
            9 => {
                b.tag("bce");
                b.tag("tanh");
                let p = b.bind(z.with(format!("0.5 + 0.4 * tanh({})", z.e), 1.0), "p");
                (loss(format!("bce({}, {t})", p.e), true, true), p)
            }
            10 | 11 if vector => {
                b.tag("softmax_cross_entropy");
                let z = b.atom(z);
                (
                    loss(format!("softmax_cross_entropy({}, {t})", z.e), true, true),
                    z,
                )
            }
            12 if vector => {
                b.tag("cross_entropy");
                b.tag("cross_entropy_fused");
                b.tag("softmax");
                if b.rng.chance(0.5) {
                    let z = b.atom(z);
                    (
                        loss(format!("cross_entropy(softmax({}), {t})", z.e), true, true),
                        z,
                    )
                } else {
                    let p = b.bind(z.with(format!("softmax({})", z.e), 1.0), "p");
                    (loss(format!("cross_entropy({}, {t})", p.e), true, true), p)
                }
            }
            13 => {
                b.tag("cross_entropy");
                b.tag("sigmoid");
                let z = b.atom(z);
                (
                    loss(format!("cross_entropy(sigmoid({}), {t})", z.e), true, true),
                    z,
                )
            }
            14 => {
                b.tag("softplus");
                b.tag("mean");
                let z = b.atom(z);
                let e = if scalar {
                    format!("softplus({})", z.e)
                } else {
                    format!("mean(softplus({}))", z.e)
                };
                (loss(e, false, false), z)
            }
            15 => {
                b.tag("sum");
                b.tag("op_mul");
                let z = b.atom(z);
                let e = if scalar {
                    format!("{0} * {0}", z.e)
                } else {
                    format!("sum({0} * {0})", z.e)
                };
                (loss(e, false, false), z)
            }
            16 if !scalar => {
                b.tag("sum");
                let z = b.atom(z);
                (loss(format!("sum({})", z.e), false, false), z)
            }
            17 if vector => {
                b.tag("dot");
                let z = b.atom(z);
                if b.rng.chance(0.5) {
                    b.tag("op_sub");
                    (
                        loss(format!("dot({0} - {t}, {0} - {t})", z.e), true, false),
                        z,
                    )
                } else {
                    (loss(format!("dot({0}, {0})", z.e), false, false), z)
                }
            }
            18 => {
                b.tag("loss_sum_yc");
                let z = b.atom(z);
                let c = b.param("c", z.sh);
                let e = if scalar {
                    format!("{} * {}", z.e, c.e)
                } else {
                    format!("sum({} * {})", z.e, c.e)
                };
                (loss(e, false, false), z)
            }
            19 if z.sh == input.sh && !scalar => {
                b.tag("loss_sum_y_tanh");
                let z = b.atom(z);
                let q = b.param("q", input.sh);
                let r = b.param("r", input.sh);
                let e = format!("sum({} * tanh({} * {} + {}))", z.e, q.e, input.e, r.e);
                (loss(e, false, false), z)
            }
            20 if scalar => {
                b.tag("loss_is_output");
                let z = b.atom(z);
                (loss(z.e.clone(), false, false), z)
            }
            21 => {
                b.tag("ln");
                b.tag("sum");
                let z = b.atom(z);
                let e = if scalar {
                    format!("ln(1 + {0} * {0})", z.e)
                } else {
                    format!("ln(1 + sum({0} * {0}))", z.e)
                };
                (loss(e, false, false), z)
            }
            _ => continue,
        };
    }
}

/// A random valid net named `name`, using everything the language has.
pub fn random_net(seed: u64, name: &str) -> RandomNet {
    random_net_with(seed, name, ALL)
}

/// A random valid net. `kinked` lists the functions with kinks it may use: [`ALL`] or
/// [`SMOOTH`]; every smooth function, operator and loss of the language is always
/// available.
pub fn random_net_with(seed: u64, name: &str, kinked: &[&str]) -> RandomNet {
    let mut rng = NetRng::new(seed);
    let tricky = if rng.chance(0.3) { 0.4 } else { 0.0 };
    let mut b = Builder {
        rng,
        kinked: kinked.iter().map(|k| k.to_string()).collect(),
        stmts: Vec::new(),
        top_fns: Vec::new(),
        net_fns: Vec::new(),
        fns: Vec::new(),
        taken: Vec::new(),
        params: Vec::new(),
        features: Vec::new(),
        counter: 0,
        tricky,
    };
    let f64 = b.rng.chance(0.6);
    b.tag(if f64 { "f64" } else { "f32" });
    let form = match b.rng.below(3) {
        0 => Form::Default,
        1 => Form::Loops,
        _ => Form::Unrolled,
    };
    b.tag(match form {
        Form::Default => "form_default",
        Form::Loops => "form_loops",
        Form::Unrolled => "form_unrolled",
    });
    // Half the nets run their batched methods through the matrix–matrix kernels, in
    // chunks small enough that the batches of the checks span several.
    let chunk = b.rng.chance(0.5).then(|| [2, 3, 4, 5, 8][b.rng.below(5)]);
    if chunk.is_some() {
        b.tag("chunked");
    }

    // The input and target names are taken first so nothing else can use them.
    let x_name = if b.rng.chance(0.7) {
        b.taken.push("x".into());
        "x".to_string()
    } else {
        b.name("inp")
    };
    let t_name = if b.free("t") && b.rng.chance(0.7) {
        b.taken.push("t".into());
        "t".to_string()
    } else {
        b.name("tgt")
    };

    let class = b.rng.below(20);
    let in_sh = match class {
        // Plain regression, elementwise: `let y = w * x + b;`.
        0..=2 => Sh::V(b.out_width()),
        // Plain regression through affine layers.
        3..=6 => Sh::V(b.rng.between(1, 6)),
        _ => match b.rng.below(10) {
            0 => Sh::S,
            1 | 2 => Sh::M(b.rng.between(2, 4), b.rng.between(2, 4)),
            _ => Sh::V(b.rng.between(1, 6)),
        },
    };
    b.tag(match in_sh {
        Sh::S => "in_scalar",
        Sh::V(_) => "in_vector",
        Sh::M(..) => "in_matrix",
    });
    let x = Val {
        e: x_name.clone(),
        sh: in_sh,
        mag: 1.0,
        atom: true,
    };

    let (loss, output, loss_sh) = match class {
        0..=2 => {
            b.tag("regression_elementwise");
            b.tag("op_mul");
            b.tag("op_add");
            b.tag_width(in_sh);
            let w = b.param("w", in_sh);
            let bias = b.param("b", in_sh);
            let y = b.bind(
                Val {
                    e: format!("{} * {} + {}", w.e, x.e, bias.e),
                    sh: in_sh,
                    mag: 2.0,
                    atom: false,
                },
                "y",
            );
            let l = match b.rng.below(7) {
                0..=2 => {
                    b.tag("mse");
                    b.tag("regression_elementwise_mse");
                    Loss {
                        e: format!("mse({}, TARGET)", y.e),
                        target: true,
                        unit: false,
                    }
                }
                3 => {
                    b.tag("loss_half_sum_sq_prefix");
                    b.tag("pow_2");
                    Loss {
                        e: format!("0.5 * sum(({} - TARGET) ^ 2)", y.e),
                        target: true,
                        unit: false,
                    }
                }
                4 => {
                    b.tag("loss_half_sum_sq");
                    b.tag("pow_2");
                    Loss {
                        e: format!("sum(({} - TARGET) ^ 2) / 2", y.e),
                        target: true,
                        unit: false,
                    }
                }
                5 => {
                    b.tag("loss_sum_y_tanh");
                    b.tag("tanh");
                    let q = b.param("q", in_sh);
                    let r = b.param("r", in_sh);
                    Loss {
                        e: format!("sum({} * tanh({} * {} + {}))", y.e, q.e, x.e, r.e),
                        target: false,
                        unit: false,
                    }
                }
                _ => {
                    b.tag("loss_sum_yc");
                    let c = b.param("c", in_sh);
                    Loss {
                        e: format!("sum({} * {})", y.e, c.e),
                        target: false,
                        unit: false,
                    }
                }
            };
            let sh = y.sh;
            (l, y, sh)
        }
        3..=6 => {
            let hidden = b.rng.below(3);
            let mut h = x.clone();
            for _ in 0..hidden {
                let w = b.rng.between(1, 6);
                let v = b.vector_layer(h, w, true);
                h = b.bind(v, "h");
            }
            let out = b.out_width();
            b.tag_width(Sh::V(out));
            let z = b.vector_layer(h, out, false);
            let y = b.atom(z);
            let l = if b.rng.chance(0.75) {
                b.tag("mse");
                b.tag("regression_affine_mse");
                format!("mse({}, TARGET)", y.e)
            } else if b.rng.chance(0.5) {
                b.tag("loss_half_sum_sq");
                b.tag("pow_2");
                format!("sum(({} - TARGET) ^ 2) / 2", y.e)
            } else {
                b.tag("loss_half_sum_sq_prefix");
                b.tag("pow_2");
                format!("0.5 * sum(({} - TARGET) ^ 2)", y.e)
            };
            let sh = y.sh;
            (
                Loss {
                    e: l,
                    target: true,
                    unit: false,
                },
                y,
                sh,
            )
        }
        _ => {
            let mut lets: Vec<Val> = Vec::new();
            let mut h = x.clone();
            let out_matrix = matches!(in_sh, Sh::M(..)) && b.rng.chance(0.4);
            let scalar_out = !out_matrix && b.rng.chance(0.15);
            match in_sh {
                Sh::S => {
                    if scalar_out {
                        b.tag("op_mul");
                        b.tag("op_add");
                        let a = b.param("a", Sh::S);
                        let c = b.param("c", Sh::S);
                        let z = Val {
                            e: format!("{} * {} + {}", a.e, x.e, c.e),
                            sh: Sh::S,
                            mag: 2.0,
                            atom: false,
                        };
                        let z = b.activation(z, true);
                        h = b.bind(z, "h");
                    } else {
                        b.tag("broadcast");
                        b.tag("op_mul");
                        let n = b.rng.between(1, 5);
                        let w = b.param("w", Sh::V(n));
                        let src = if b.rng.chance(0.5) {
                            b.tag("sin");
                            format!("sin({})", x.e)
                        } else {
                            x.e.clone()
                        };
                        let z = b.affine(format!("{} * {src}", w.e), n, true, 2.0);
                        let z = b.activation(z, true);
                        h = b.bind(z, "h");
                    }
                    lets.push(h.clone());
                }
                Sh::M(..) => {
                    let z = b.matrix_layer(h, out_matrix);
                    h = b.bind(z, "h");
                    lets.push(h.clone());
                }
                Sh::V(_) => {}
            }
            if let Sh::V(_) = h.sh {
                let layers = b.rng.below(3);
                for _ in 0..layers {
                    let w = b.rng.between(1, 6);
                    let v = b.vector_layer(h, w, true);
                    h = b.bind(v, "h");
                    lets.push(h.clone());
                    if b.rng.chance(0.25) {
                        let v = b.vector_extra(h);
                        h = b.bind(v, "h");
                        lets.push(h.clone());
                    }
                }
            }
            let z = match h.sh {
                Sh::V(n) if scalar_out => {
                    let hh = b.atom(h);
                    match b.rng.below(3) {
                        0 => {
                            b.tag("dot");
                            let u = b.param("u", Sh::V(n));
                            let c = b.param("c", Sh::S);
                            Val {
                                e: format!("dot({}, {}) + {}", u.e, hh.e, c.e),
                                sh: Sh::S,
                                mag: hh.mag * (n as f64).sqrt() + 1.0,
                                atom: false,
                            }
                        }
                        1 => {
                            b.tag("index_v");
                            let i = b.rng.below(n);
                            let s = b.scalar_operand();
                            Val {
                                e: format!("{}[{i}] * {} + mean({})", hh.e, s.e, hh.e),
                                sh: Sh::S,
                                mag: hh.mag * s.mag + hh.mag,
                                atom: false,
                            }
                        }
                        _ => {
                            b.tag("matmul_mv");
                            b.tag("index_v");
                            let w = b.param("w", Sh::M(1, n));
                            Val {
                                e: format!("({} @ {})[0]", w.e, hh.e),
                                sh: Sh::S,
                                mag: hh.mag * (n as f64).sqrt(),
                                atom: false,
                            }
                        }
                    }
                }
                Sh::V(_) => {
                    let out = b.out_width();
                    let act = b.rng.chance(0.3);
                    b.vector_layer(h, out, act)
                }
                _ => h,
            };
            b.tag_width(z.sh);
            let (l, mut y) = general_loss(&mut b, z, &x);
            // The target has the shape of the value the loss compares it with.
            let sh = y.sh;
            if !lets.is_empty() && b.rng.chance(0.12) {
                b.tag("out_hidden");
                y = lets[b.rng.below(lets.len())].clone();
            }
            (l, y, sh)
        }
    };
    let penalty = if class <= 6 {
        String::new()
    } else {
        b.penalty()
    };
    if !loss.target {
        b.tag("no_target");
    }
    let target_sh = loss.target.then_some(loss_sh);
    let loss_text = loss.e.replace("TARGET", &t_name);

    let mut src = String::new();
    for f in &b.top_fns {
        src += f;
        src += "\n";
    }
    if f64 {
        src += "#[scalar(f64)]\n";
    }
    match form {
        Form::Default => {}
        Form::Loops => {
            let n = if b.rng.chance(0.5) { 0 } else { 1 };
            src += &format!("#[chainrule(unroll = {n})]\n");
        }
        Form::Unrolled => src += "#[chainrule(unroll = 65536)]\n",
    }
    if let Some(c) = chunk {
        src += &format!("#[chainrule(chunk = {c})]\n");
    }
    src += &format!("pub net {name} {{\n");
    for f in &b.net_fns {
        src += &format!("    {f}\n");
    }
    src += &format!("    input {x_name}: {};\n", in_sh.decl());
    if let Some(sh) = target_sh {
        src += &format!("    target {t_name}: {};\n", sh.decl());
    }
    for s in &b.stmts {
        src += &format!("    {s}\n");
    }
    src += &format!("    output {};\n", output.e);
    src += &format!("    loss {loss_text}{penalty};\n}}\n");
    RandomNet {
        source: src,
        name: name.to_string(),
        f64,
        form,
        input: in_sh.dims(),
        target: target_sh.map(Sh::dims),
        output: output.sh.dims(),
        unit_targets: loss.unit,
        features: b.features,
    }
}
