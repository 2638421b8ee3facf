//! The differential check behind `random_nets_1.rs` to `random_nets_4.rs`: one compiled
//! net against the f64 reference interpreter (run here on the same source text) and, for
//! f64 nets, against central differences of its own `loss`.
//!
//! Everything but a thin adapter is non-generic, over flat `f64` slices, so each of the
//! hundreds of nets instantiates only a few small functions.

use chainrule::{Float, Network, ParamInfo};
use chainrule_codegen::diff::{differentiate, sum_terms};
use chainrule_codegen::eval::{Leaves, Value, eval};
use chainrule_codegen::ir::Id;
use chainrule_codegen::lower::{Lowered, lower};
use chainrule_grammar::model::Shape;
use std::fmt::Write;

/// What `build.rs` knows about one net.
#[derive(Debug)]
pub struct Spec {
    /// The `network!` body, as compiled.
    pub source: &'static str,
    /// The net's index in the sample.
    pub index: u64,
    /// `CHAINRULE_NET_SEED` of the sample.
    pub base: u64,
    /// The generator seed, which also seeds the test points.
    pub seed: u64,
    /// Targets in `[0, 1)` rather than `[-1, 1)`.
    pub unit_targets: bool,
}

/// Inputs, targets and outputs viewed as flat row-major `f64` slices.
pub trait Flat: Sized {
    fn from_flat(v: &[f64]) -> Self;
    fn to_flat(&self) -> Vec<f64>;
}

macro_rules! flat {
    ($t:ty) => {
        impl Flat for $t {
            fn from_flat(v: &[f64]) -> Self {
                assert_eq!(v.len(), 1, "a scalar from {} values", v.len());
                v[0] as $t
            }
            fn to_flat(&self) -> Vec<f64> {
                vec![f64::from(*self)]
            }
        }
        impl<const N: usize> Flat for [$t; N] {
            fn from_flat(v: &[f64]) -> Self {
                assert_eq!(v.len(), N, "a vector of {N} from {} values", v.len());
                core::array::from_fn(|i| v[i] as $t)
            }
            fn to_flat(&self) -> Vec<f64> {
                self.iter().map(|e| f64::from(*e)).collect()
            }
        }
        impl<const R: usize, const C: usize> Flat for [[$t; C]; R] {
            fn from_flat(v: &[f64]) -> Self {
                assert_eq!(
                    v.len(),
                    R * C,
                    "an [{R}, {C}] matrix from {} values",
                    v.len()
                );
                core::array::from_fn(|i| core::array::from_fn(|j| v[i * C + j] as $t))
            }
            fn to_flat(&self) -> Vec<f64> {
                self.iter().flatten().map(|e| f64::from(*e)).collect()
            }
        }
    };
}
flat!(f32);
flat!(f64);

impl Flat for () {
    fn from_flat(v: &[f64]) -> Self {
        assert!(v.is_empty(), "no target, but {} values", v.len());
    }
    fn to_flat(&self) -> Vec<f64> {
        Vec::new()
    }
}

/// The inherent methods, whose signatures differ between nets with and without a target;
/// `build.rs` writes the impl for each net.
pub trait Inherent: Network {
    fn inherent_forward(&self, x: &Self::Input) -> Self::Output;
    fn inherent_loss(&self, x: &Self::Input, t: &Self::Target) -> Self::Scalar;
    fn inherent_backward(&self, x: &Self::Input, t: &Self::Target, g: &mut Self) -> Self::Scalar;
    fn inherent_input_gradient(&self, x: &Self::Input, t: &Self::Target) -> Self::Input;
    fn inherent_backward_batch(
        &self,
        xs: &[Self::Input],
        ts: &[Self::Target],
        g: &mut Self,
    ) -> Self::Scalar;
    fn inherent_forward_batch(&self, xs: &[Self::Input], ys: &mut [Self::Output]);
    fn inherent_loss_batch(&self, xs: &[Self::Input], ts: &[Self::Target]) -> Self::Scalar;
}

/// A compiled net behind flat slices. `inherent` picks the inherent method over the
/// trait's where both exist.
trait Erased {
    fn layout(&self) -> &'static [ParamInfo];
    fn chunk(&self) -> usize;
    fn is_f64(&self) -> bool;
    fn set_params(&mut self, p: &[f64]);
    fn forward(&self, x: &[f64]) -> Vec<f64>;
    fn loss(&self, x: &[f64], t: &[f64], inherent: bool) -> f64;
    fn backward(&self, x: &[f64], t: &[f64], g: &mut [f64], inherent: bool) -> f64;
    fn backward_scaled(&self, x: &[f64], t: &[f64], scale: f64, g: &mut [f64]) -> f64;
    fn backward_batch_scaled(
        &self,
        xs: &[Vec<f64>],
        ts: &[Vec<f64>],
        scale: f64,
        g: &mut [f64],
    ) -> f64;
    fn backward_batch(
        &self,
        xs: &[Vec<f64>],
        ts: &[Vec<f64>],
        g: &mut [f64],
        inherent: bool,
    ) -> f64;
    fn input_gradient(&self, x: &[f64], t: &[f64], inherent: bool) -> Vec<f64>;
    fn forward_batch(&self, xs: &[Vec<f64>], inherent: bool) -> Vec<Vec<f64>>;
    fn loss_batch(&self, xs: &[Vec<f64>], ts: &[Vec<f64>], inherent: bool) -> f64;
}

struct Typed<N>(N);

impl<N: Inherent> Typed<N> {
    fn to_net(g: &[f64]) -> N {
        let mut n = N::zeros();
        for (d, s) in n.as_mut_slice().iter_mut().zip(g) {
            *d = N::Scalar::from_f64(*s);
        }
        n
    }
    fn from_net(n: &N, g: &mut [f64]) {
        for (d, s) in g.iter_mut().zip(n.as_slice()) {
            *d = s.to_f64();
        }
    }
}

impl<N> Erased for Typed<N>
where
    N: Inherent,
    N::Input: Flat,
    N::Target: Flat,
    N::Output: Flat,
{
    fn layout(&self) -> &'static [ParamInfo] {
        N::LAYOUT
    }
    fn chunk(&self) -> usize {
        N::CHUNK
    }
    fn is_f64(&self) -> bool {
        <N::Scalar as Float>::NAME == "f64"
    }
    fn set_params(&mut self, p: &[f64]) {
        assert_eq!(p.len(), N::PARAMS);
        self.0 = Self::to_net(p);
    }
    fn forward(&self, x: &[f64]) -> Vec<f64> {
        self.0.inherent_forward(&Flat::from_flat(x)).to_flat()
    }
    fn loss(&self, x: &[f64], t: &[f64], inherent: bool) -> f64 {
        let (x, t) = (Flat::from_flat(x), Flat::from_flat(t));
        let l = if inherent {
            self.0.inherent_loss(&x, &t)
        } else {
            Network::loss(&self.0, &x, &t)
        };
        l.to_f64()
    }
    fn backward(&self, x: &[f64], t: &[f64], g: &mut [f64], inherent: bool) -> f64 {
        let (x, t) = (Flat::from_flat(x), Flat::from_flat(t));
        let mut grad = Self::to_net(g);
        let l = if inherent {
            self.0.inherent_backward(&x, &t, &mut grad)
        } else {
            Network::backward(&self.0, &x, &t, &mut grad)
        };
        Self::from_net(&grad, g);
        l.to_f64()
    }
    fn backward_scaled(&self, x: &[f64], t: &[f64], scale: f64, g: &mut [f64]) -> f64 {
        let (x, t) = (Flat::from_flat(x), Flat::from_flat(t));
        let mut grad = Self::to_net(g);
        let l = self
            .0
            .backward_scaled(&x, &t, N::Scalar::from_f64(scale), &mut grad);
        Self::from_net(&grad, g);
        l.to_f64()
    }
    fn backward_batch_scaled(
        &self,
        xs: &[Vec<f64>],
        ts: &[Vec<f64>],
        scale: f64,
        g: &mut [f64],
    ) -> f64 {
        let xs: Vec<N::Input> = xs.iter().map(|x| Flat::from_flat(x)).collect();
        let ts: Vec<N::Target> = ts.iter().map(|t| Flat::from_flat(t)).collect();
        let mut grad = Self::to_net(g);
        let l = self
            .0
            .backward_batch_scaled(&xs, &ts, N::Scalar::from_f64(scale), &mut grad);
        Self::from_net(&grad, g);
        l.to_f64()
    }
    fn backward_batch(
        &self,
        xs: &[Vec<f64>],
        ts: &[Vec<f64>],
        g: &mut [f64],
        inherent: bool,
    ) -> f64 {
        let xs: Vec<N::Input> = xs.iter().map(|x| Flat::from_flat(x)).collect();
        let ts: Vec<N::Target> = ts.iter().map(|t| Flat::from_flat(t)).collect();
        let mut grad = Self::to_net(g);
        let l = if inherent {
            self.0.inherent_backward_batch(&xs, &ts, &mut grad)
        } else {
            Network::backward_batch(&self.0, &xs, &ts, &mut grad)
        };
        Self::from_net(&grad, g);
        l.to_f64()
    }
    fn input_gradient(&self, x: &[f64], t: &[f64], inherent: bool) -> Vec<f64> {
        let (x, t) = (Flat::from_flat(x), Flat::from_flat(t));
        let d = if inherent {
            self.0.inherent_input_gradient(&x, &t)
        } else {
            Network::input_gradient(&self.0, &x, &t)
        };
        d.to_flat()
    }
    fn forward_batch(&self, xs: &[Vec<f64>], inherent: bool) -> Vec<Vec<f64>> {
        let xs: Vec<N::Input> = xs.iter().map(|x| Flat::from_flat(x)).collect();
        // NaN slots, so an output the method does not write fails.
        let Some(x0) = xs.first() else {
            let mut ys: Vec<N::Output> = Vec::new();
            if inherent {
                self.0.inherent_forward_batch(&xs, &mut ys);
            } else {
                Network::forward_batch(&self.0, &xs, &mut ys);
            }
            return Vec::new();
        };
        let width = self.0.inherent_forward(x0).to_flat().len();
        let mut ys: Vec<N::Output> = vec![Flat::from_flat(&vec![f64::NAN; width]); xs.len()];
        if inherent {
            self.0.inherent_forward_batch(&xs, &mut ys);
        } else {
            Network::forward_batch(&self.0, &xs, &mut ys);
        }
        ys.iter().map(Flat::to_flat).collect()
    }
    fn loss_batch(&self, xs: &[Vec<f64>], ts: &[Vec<f64>], inherent: bool) -> f64 {
        let xs: Vec<N::Input> = xs.iter().map(|x| Flat::from_flat(x)).collect();
        let ts: Vec<N::Target> = ts.iter().map(|t| Flat::from_flat(t)).collect();
        let l = if inherent {
            self.0.inherent_loss_batch(&xs, &ts)
        } else {
            Network::loss_batch(&self.0, &xs, &ts)
        };
        l.to_f64()
    }
}

/// Checks one compiled net; panics with every mismatch found, the net's source and the
/// values of the first failing point.
pub fn check<N>(spec: &Spec)
where
    N: Inherent,
    N::Input: Flat,
    N::Target: Flat,
    N::Output: Flat,
{
    run(&mut Typed(N::zeros()), N::NAME, spec);
}

/// The reference: the net lowered and differentiated by `chainrule-codegen` and run by
/// its f64 interpreter, with none of the emitter in the loop.
struct Reference {
    low: Lowered,
    pgrads: Vec<Option<Id>>,
    xgrad: Option<Id>,
    shapes: Vec<Shape>,
    input: Shape,
    target: Option<Shape>,
}

/// The reference's values at one point.
struct Expected {
    loss: f64,
    output: Vec<f64>,
    grad: Vec<f64>,
    xgrad: Vec<f64>,
}

impl Reference {
    fn new(source: &str) -> Result<(Reference, Vec<String>), String> {
        let front = chainrule_grammar::check_str(source);
        if !front.errors.is_empty() || front.nets.len() != 1 {
            let errors: Vec<String> = front.errors.iter().map(|e| e.to_string()).collect();
            return Err(format!("the front end rejects the net: {errors:?}"));
        }
        let net = &front.nets[0];
        let mut low = lower(net);
        let adj = differentiate(&mut low.graph, low.loss, low.seed);
        let mut grad_of = |leaf: Id| {
            let terms = adj.terms[leaf.index()].clone();
            (!terms.is_empty()).then(|| sum_terms(&mut low.graph, &terms))
        };
        let pgrads: Vec<Option<Id>> = low.params.clone().into_iter().map(&mut grad_of).collect();
        let xgrad = grad_of(low.input);
        let names = net.params.iter().map(|p| p.name.clone()).collect();
        let reference = Reference {
            shapes: net.params.iter().map(|p| p.shape).collect(),
            input: net.input.shape,
            target: net.target.as_ref().map(|t| t.shape),
            low,
            pgrads,
            xgrad,
        };
        Ok((reference, names))
    }

    fn eval(&self, params: &[f64], x: &[f64], t: &[f64]) -> Expected {
        let mut at = 0;
        let params = self
            .shapes
            .iter()
            .map(|s| {
                at += s.len();
                Value::new(*s, params[at - s.len()..at].to_vec())
            })
            .collect();
        let leaves = Leaves {
            input: Value::new(self.input, x.to_vec()),
            target: self.target.map(|s| Value::new(s, t.to_vec())),
            params,
            seed: 1.0,
        };
        let vals = eval(&self.low.graph, &leaves);
        let of = |id: Option<Id>, shape: Shape| match id {
            Some(id) => vals[id.index()].data.clone(),
            None => vec![0.0; shape.len()],
        };
        Expected {
            loss: vals[self.low.loss.index()].data[0],
            output: vals[self.low.output.index()].data.clone(),
            grad: self
                .pgrads
                .iter()
                .zip(&self.shapes)
                .flat_map(|(g, s)| of(*g, *s))
                .collect(),
            xgrad: of(self.xgrad, self.input),
        }
    }
}

/// The batched methods against the per-sample ones (SPEC §3), at the batch sizes where
/// chunking can go wrong: empty, one sample, a few, one chunk and either side of it, and
/// many chunks.
#[allow(clippy::too_many_arguments)]
fn batch_sizes(
    net: &mut dyn Erased,
    r: &mut Report,
    rng: &mut Rng,
    round: impl Fn(f64) -> f64,
    n_in: usize,
    n_t: usize,
    (tlo, thi): (f64, f64),
    f64: bool,
) {
    let chunk = net.chunk();
    let mut sizes = vec![0, 1, 3, chunk.saturating_sub(1), chunk, chunk + 1, 1000];
    sizes.sort_unstable();
    sizes.dedup();
    (r.tol, r.against) = (
        if f64 { TOL_BATCH_F64 } else { TOL_BATCH_F32 },
        "per-sample methods",
    );
    r.point = POINTS;
    let n_params = net.layout().iter().map(ParamInfo::len).sum();
    let mut draw = |n: usize, lo: f64, hi: f64| -> Vec<f64> {
        (0..n).map(|_| round(rng.range(lo, hi))).collect()
    };
    net.set_params(&draw(n_params, -1.0, 1.0));
    // From a zero gradient: a thousand f32 terms added onto values near 1 would round by
    // more than the batch tolerance in either form (the points above add small batches
    // onto non-zero gradients).
    let start = vec![0.0; n_params];
    for n in sizes {
        let xs: Vec<Vec<f64>> = (0..n).map(|_| draw(n_in, -1.0, 1.0)).collect();
        let ts: Vec<Vec<f64>> = (0..n).map(|_| draw(n_t, tlo, thi)).collect();
        // The per-sample methods, summed in f64.
        let mut losses = 0.0;
        let mut grads = vec![0.0; n_params];
        let mut top = 0.0f64;
        let mut each = Vec::new();
        for (x, t) in xs.iter().zip(&ts) {
            let mut g = vec![0.0; n_params];
            losses += net.backward(x, t, &mut g, true);
            top = top.max(max_abs(&g));
            for (s, v) in grads.iter_mut().zip(&g) {
                *s += v;
            }
            each.push(net.forward(x));
        }
        let mean = if n == 0 { 0.0 } else { losses / n as f64 };
        let out_top = each.iter().map(|y| max_abs(y)).fold(0.0, f64::max);
        for inherent in [true, false] {
            let what = if inherent { "" } else { "Network::" };
            let ys = net.forward_batch(&xs, inherent);
            let flat = |v: &[Vec<f64>]| v.concat();
            r.values(
                &format!("{what}forward_batch of {n}"),
                &flat(&ys),
                &flat(&each),
                out_top,
            );
            let l = net.loss_batch(&xs, &ts, inherent);
            r.values(&format!("{what}loss_batch of {n}"), &[l], &[mean], 1.0);
            let mut g = start.clone();
            let l = net.backward_batch(&xs, &ts, &mut g, inherent);
            let want = plus(&start, if n == 0 { 0.0 } else { 1.0 / n as f64 }, &[&grads]);
            r.values(
                &format!("{what}backward_batch of {n} (mean loss)"),
                &[l],
                &[mean],
                1.0,
            );
            r.params(&format!("{what}backward_batch of {n}"), &g, &want, top);
        }
        let mut g = start.clone();
        let l = net.backward_batch_scaled(&xs, &ts, SCALE, &mut g);
        r.values(
            &format!("backward_batch_scaled of {n} (sum of losses)"),
            &[l],
            &[losses],
            losses.abs(),
        );
        r.params(
            &format!("backward_batch_scaled({SCALE}) of {n}"),
            &g,
            &plus(&start, SCALE, &[&grads]),
            top * n.max(1) as f64,
        );
    }
}

/// xorshift64 for test points.
struct Rng(u64);

impl Rng {
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (hi - lo) * ((self.0 >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// Relative tolerances against the interpreter: f64 tightly, f32 for its rounding (the
/// largest error seen over thousands of f32 nets is about 1e-6).
const TOL_F64: f64 = 1e-9;
const TOL_F32: f64 = 1e-4;
/// Against central differences (f64 only), as in `common::check_params`.
const TOL_FD: f64 = 1e-6;
/// Batched `forward` and `loss` against the per-sample methods (SPEC §3).
const TOL_BATCH_F64: f64 = 1e-12;
const TOL_BATCH_F32: f64 = 1e-5;
/// Points per net, each checking every method.
const POINTS: usize = 3;
/// The scale `backward_scaled` is called with.
const SCALE: f64 = 0.37;

/// Mismatches found so far, one line per method and point.
struct Report {
    layout: &'static [ParamInfo],
    lines: Vec<String>,
    /// Mismatching values in all.
    count: usize,
    /// The point being checked, the tolerance and what the values are compared with.
    point: usize,
    tol: f64,
    against: &'static str,
}

impl Report {
    /// The name of flat parameter `k`, e.g. `w1[3]`.
    fn param_name(&self, k: usize) -> String {
        let mut start = 0;
        for p in self.layout {
            if k < start + p.len() {
                return format!("{}[{}]", p.name, k - start);
            }
            start += p.len();
        }
        "?".into()
    }

    /// Records one line for a method's mismatches `(index, got, expected)`, showing the
    /// first few.
    fn fail(&mut self, what: &str, param: bool, total: usize, bad: &[(usize, f64, f64)]) {
        if bad.is_empty() {
            return;
        }
        self.count += bad.len();
        let noun = if param { "parameters" } else { "values" };
        let mut line = format!(
            "point {}: {what}: {} of {total} {noun} differ from the {}",
            self.point,
            bad.len(),
            self.against
        );
        for (k, got, want) in bad.iter().take(4) {
            let which = if param {
                format!("parameter {k} (`{}`)", self.param_name(*k))
            } else {
                format!("[{k}]")
            };
            let _ = write!(line, "; {which}: got {got:e}, expected {want:e}");
        }
        if bad.len() > 4 {
            line += "; ...";
        }
        self.lines.push(line);
    }

    /// Compares element by element, each error relative to the larger of the two values,
    /// `scale` and 1.
    fn compare(&mut self, what: &str, param: bool, got: &[f64], want: &[f64], scale: f64) {
        if got.len() != want.len() {
            self.count += 1;
            let (g, w) = (got.len(), want.len());
            self.lines.push(format!(
                "point {}: {what}: {g} values, expected {w}",
                self.point
            ));
            return;
        }
        let tol = self.tol;
        let bad: Vec<(usize, f64, f64)> = got
            .iter()
            .zip(want)
            .enumerate()
            .filter(|(_, (g, w))| {
                !within(
                    (*g - *w).abs(),
                    tol * g.abs().max(w.abs()).max(scale).max(1.0),
                )
            })
            .map(|(k, (g, w))| (k, *g, *w))
            .collect();
        self.fail(what, param, got.len(), &bad);
    }

    fn params(&mut self, what: &str, got: &[f64], want: &[f64], scale: f64) {
        self.compare(what, true, got, want, scale);
    }

    fn values(&mut self, what: &str, got: &[f64], want: &[f64], scale: f64) {
        self.compare(what, false, got, want, scale);
    }
}

/// The central difference from `f(v + h)`, `f(v − h)` and `f(v)`, with a bound on its
/// rounding noise; `None` when the one-sided differences disagree, i.e. the probe
/// straddles a kink (or sharp curvature) where no difference quotient is the derivative.
fn central(plus: f64, minus: f64, f0: f64, h: f64) -> Option<(f64, f64)> {
    let c = (plus - minus) / (2.0 * h);
    let second = ((plus - f0) - (f0 - minus)) / h;
    if !within(second.abs(), 1e-3 * c.abs().max(1.0)) {
        return None;
    }
    let noise = 8.0 * f64::EPSILON * plus.abs().max(minus.abs()).max(f0.abs()) / (2.0 * h);
    Some((c, noise))
}

/// Compares `analytic` with central differences of `f` around `base`; returns the
/// mismatches and counts probes and probes skipped at kinks.
fn differences(
    f: &mut dyn FnMut(&[f64]) -> f64,
    base: &[f64],
    analytic: &[f64],
    probes: &mut usize,
    skipped: &mut usize,
) -> Vec<(usize, f64, f64)> {
    let f0 = f(base);
    let mut bad = Vec::new();
    let mut v = base.to_vec();
    for k in 0..base.len() {
        let h = 1e-6 * base[k].abs().max(1.0);
        v[k] = base[k] + h;
        let plus = f(&v);
        v[k] = base[k] - h;
        let minus = f(&v);
        v[k] = base[k];
        *probes += 1;
        match central(plus, minus, f0, h) {
            None => *skipped += 1,
            Some((c, noise)) => {
                let a = analytic[k];
                if !within(
                    (a - c).abs(),
                    TOL_FD * a.abs().max(c.abs()).max(1.0) + noise,
                ) {
                    bad.push((k, a, c));
                }
            }
        }
    }
    bad
}

/// `err <= bound`, false when either is NaN, so a NaN fails a check.
fn within(err: f64, bound: f64) -> bool {
    err <= bound
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// `start + factor · Σ grads`.
fn plus(start: &[f64], factor: f64, grads: &[&[f64]]) -> Vec<f64> {
    let mut out = start.to_vec();
    for g in grads {
        for (o, d) in out.iter_mut().zip(*g) {
            *o += factor * d;
        }
    }
    out
}

fn run(net: &mut dyn Erased, name: &str, spec: &Spec) {
    let src = spec.source;
    let (reference, names) =
        Reference::new(src).unwrap_or_else(|e| panic!("{name}: {e}\nsource:\n{src}"));
    let layout = net.layout();
    let layout_names: Vec<&str> = layout.iter().map(|p| p.name).collect();
    assert_eq!(layout_names, names, "{name}: LAYOUT names\nsource:\n{src}");
    let lens: Vec<usize> = layout.iter().map(|p| p.len()).collect();
    let sizes: Vec<usize> = reference.shapes.iter().map(|s| s.len()).collect();
    assert_eq!(lens, sizes, "{name}: LAYOUT sizes\nsource:\n{src}");

    let n_params: usize = lens.iter().sum();
    let n_in = reference.input.len();
    let n_t = reference.target.map_or(0, |s| s.len());
    let f64 = net.is_f64();
    let (tlo, thi) = if spec.unit_targets {
        (0.0, 1.0)
    } else {
        (-1.0, 1.0)
    };
    let mut rng = Rng(spec.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
    // Test values are exactly representable in the net's scalar type.
    let round = |v: f64| if f64 { v } else { f64::from(v as f32) };
    // f32 rounding is judged against the size of the values around it.
    let scale = |s: f64| if f64 { 1.0 } else { s };
    let tol = if f64 { TOL_F64 } else { TOL_F32 };
    let ir = "IR interpreter";
    let mut r = Report {
        layout,
        lines: Vec::new(),
        count: 0,
        point: 0,
        tol,
        against: ir,
    };
    let (mut probes, mut skipped) = (0, 0);
    let mut first_failure = None;

    for point in 0..POINTS {
        let before = r.count;
        r.point = point;
        let mut draw = |n: usize, lo: f64, hi: f64| -> Vec<f64> {
            (0..n).map(|_| round(rng.range(lo, hi))).collect()
        };
        let params = draw(n_params, -1.0, 1.0);
        let x = draw(n_in, -1.0, 1.0);
        let t = draw(n_t, tlo, thi);
        let start = draw(n_params, -1.0, 1.0);
        let batch = 2 + point % 2;
        let xs: Vec<Vec<f64>> = (0..batch).map(|_| draw(n_in, -1.0, 1.0)).collect();
        let ts: Vec<Vec<f64>> = (0..batch).map(|_| draw(n_t, tlo, thi)).collect();
        net.set_params(&params);
        let want = reference.eval(&params, &x, &t);
        let gscale = scale(max_abs(&want.grad).max(1.0));

        (r.tol, r.against) = (tol, ir);
        r.values(
            "forward",
            &net.forward(&x),
            &want.output,
            scale(max_abs(&want.output)),
        );
        for (inherent, what) in [(true, "loss"), (false, "Network::loss")] {
            r.values(what, &[net.loss(&x, &t, inherent)], &[want.loss], 1.0);
        }

        // From a zero gradient, and added to a non-zero one.
        let mut from_zero = vec![0.0; n_params];
        let l = net.backward(&x, &t, &mut from_zero, true);
        r.values("backward (returned loss)", &[l], &[want.loss], 1.0);
        r.params("backward", &from_zero, &want.grad, gscale);
        let expect = plus(&start, 1.0, &[&want.grad]);
        for (inherent, what) in [
            (true, "backward onto a non-zero grad"),
            (false, "Network::backward onto a non-zero grad"),
        ] {
            let mut g = start.clone();
            net.backward(&x, &t, &mut g, inherent);
            r.params(what, &g, &expect, gscale);
        }

        let mut g = start.clone();
        let l = net.backward_scaled(&x, &t, SCALE, &mut g);
        let what = format!("backward_scaled(scale = {SCALE}) onto a non-zero grad");
        r.values(&format!("{what} (returned loss)"), &[l], &[want.loss], 1.0);
        r.params(&what, &g, &plus(&start, SCALE, &[&want.grad]), gscale);

        // The batch gradient is the mean of the per-sample gradients.
        let per: Vec<Expected> = xs
            .iter()
            .zip(&ts)
            .map(|(x, t)| reference.eval(&params, x, t))
            .collect();
        let mean_loss = per.iter().map(|e| e.loss).sum::<f64>() / batch as f64;
        let grads: Vec<&[f64]> = per.iter().map(|e| e.grad.as_slice()).collect();
        let expect = plus(&start, 1.0 / batch as f64, &grads);
        let bscale = scale(grads.iter().map(|g| max_abs(g)).fold(1.0, f64::max));
        for (inherent, what) in [(true, "backward_batch"), (false, "Network::backward_batch")] {
            let mut g = start.clone();
            let l = net.backward_batch(&xs, &ts, &mut g, inherent);
            let what = format!("{what} of {batch} samples onto a non-zero grad");
            r.values(
                &format!("{what} (returned mean loss)"),
                &[l],
                &[mean_loss],
                1.0,
            );
            r.params(&what, &g, &expect, bscale);
        }

        let xscale = scale(max_abs(&want.xgrad));
        for (inherent, what) in [(true, "input_gradient"), (false, "Network::input_gradient")] {
            r.values(
                what,
                &net.input_gradient(&x, &t, inherent),
                &want.xgrad,
                xscale,
            );
        }

        // Batched `forward` and `loss` equal the per-sample methods up to rounding.
        (r.tol, r.against) = (
            if f64 { TOL_BATCH_F64 } else { TOL_BATCH_F32 },
            "per-sample methods",
        );
        let each: Vec<Vec<f64>> = xs.iter().map(|x| net.forward(x)).collect();
        let top = each.iter().map(|y| max_abs(y)).fold(0.0, f64::max);
        let mean = xs
            .iter()
            .zip(&ts)
            .map(|(x, t)| net.loss(x, t, true))
            .sum::<f64>()
            / batch as f64;
        for (inherent, what) in [(true, "forward_batch"), (false, "Network::forward_batch")] {
            let ys = net.forward_batch(&xs, inherent);
            for (b, (y, e)) in ys.iter().zip(&each).enumerate() {
                r.values(&format!("{what}, sample {b} of {batch}"), y, e, top);
            }
        }
        for (inherent, what) in [(true, "loss_batch"), (false, "Network::loss_batch")] {
            let l = net.loss_batch(&xs, &ts, inherent);
            r.values(&format!("{what} of {batch} samples"), &[l], &[mean], 1.0);
        }

        if f64 {
            // Central differences of the compiled `loss`, in the parameters and the input.
            r.against = "central differences of `loss`";
            let bad = differences(
                &mut |p| {
                    net.set_params(p);
                    net.loss(&x, &t, true)
                },
                &params,
                &from_zero,
                &mut probes,
                &mut skipped,
            );
            r.fail("backward", true, n_params, &bad);
            net.set_params(&params);
            let dx = net.input_gradient(&x, &t, true);
            let bad = differences(
                &mut |v| net.loss(v, &t, true),
                &x,
                &dx,
                &mut probes,
                &mut skipped,
            );
            r.fail("input_gradient", false, n_in, &bad);
        }

        if r.count > before && first_failure.is_none() {
            first_failure = Some(format!(
                "point {point}:\n  x = {x:?}\n  t = {t:?}\n  params = {params:?}\n  \
                 grad before = {start:?}\n  batch xs = {xs:?}\n  batch ts = {ts:?}"
            ));
        }
    }

    batch_sizes(net, &mut r, &mut rng, round, n_in, n_t, (tlo, thi), f64);

    // Skipping is for the rare probe at a kink, not a way to pass.
    assert!(
        skipped * 10 <= probes.max(10),
        "{name}: {skipped} of {probes} finite-difference probes straddle kinks\nsource:\n{src}"
    );
    if r.count > 0 {
        let mut msg = format!(
            "random net {name} (net {} of CHAINRULE_NET_SEED={}, generator seed {}, {}): \
             {} mismatching values\n",
            spec.index,
            spec.base,
            spec.seed,
            if f64 { "f64" } else { "f32" },
            r.count
        );
        for l in r.lines.iter().take(30) {
            let _ = writeln!(msg, "  {l}");
        }
        if r.lines.len() > 30 {
            let _ = writeln!(msg, "  ... and {} more lines", r.lines.len() - 30);
        }
        let first = first_failure.unwrap_or_default();
        let _ = write!(msg, "source:\n{src}values at the first failing {first}");
        panic!("{msg}");
    }
}
