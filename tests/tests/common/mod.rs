//! Finite-difference checks shared by the end-to-end tests. Written here, independent of
//! the runtime's `gradcheck`, so the two check each other.
#![allow(dead_code)]

use chainrule::Network;

/// Central differences of `f` around `v[k]`, with a step scaled to the value.
pub fn central(v: &mut [f64], k: usize, f: &mut dyn FnMut(&[f64]) -> f64) -> f64 {
    let h = 1e-6 * v[k].abs().max(1.0);
    let orig = v[k];
    v[k] = orig + h;
    let plus = f(v);
    v[k] = orig - h;
    let minus = f(v);
    v[k] = orig;
    (plus - minus) / (2.0 * h)
}

/// `|a − b| / max(|a|, |b|, 1)`.
pub fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1.0)
}

/// Asserts `backward` agrees with central differences of `loss` for every parameter, to a
/// relative error of 1e-6, and returns the gradient.
pub fn check_params<N>(net: &N, x: &N::Input, t: &N::Target) -> N
where
    N: Network<Scalar = f64>,
{
    let mut grad = N::zeros();
    let loss = net.backward(x, t, &mut grad);
    assert!(
        rel_err(loss, net.loss(x, t)) < 1e-12,
        "backward returns the loss: {loss} vs {}",
        net.loss(x, t)
    );
    let mut probe = net.clone();
    for k in 0..N::PARAMS {
        let mut params = net.as_slice().to_vec();
        let fd = central(&mut params, k, &mut |p| {
            probe.as_mut_slice().copy_from_slice(p);
            probe.loss(x, t)
        });
        let got = grad.as_slice()[k];
        assert!(
            rel_err(got, fd) <= 1e-6,
            "{}: parameter {k} ({}): backward {got} vs finite difference {fd}",
            N::NAME,
            param_name::<N>(k)
        );
    }
    grad
}

/// The `LAYOUT` name and index of flat parameter `k`.
pub fn param_name<N: Network>(k: usize) -> String {
    let mut start = 0;
    for p in N::LAYOUT {
        if k < start + p.len() {
            return format!("{}[{}]", p.name, k - start);
        }
        start += p.len();
    }
    "?".into()
}

/// Asserts `input_gradient` agrees with central differences, given the input as a flat
/// slice view and a way to rebuild an input from one.
pub fn check_input<N>(
    net: &N,
    x: &N::Input,
    t: &N::Target,
    flat: impl Fn(&N::Input) -> Vec<f64>,
    unflat: impl Fn(&[f64]) -> N::Input,
) where
    N: Network<Scalar = f64>,
{
    let got = flat(&net.input_gradient(x, t));
    let mut xs = flat(x);
    for (k, analytic) in got.iter().enumerate() {
        let fd = central(&mut xs, k, &mut |v| net.loss(&unflat(v), t));
        assert!(
            rel_err(*analytic, fd) <= 1e-6,
            "{}: input {k}: input_gradient {analytic} vs finite difference {fd}",
            N::NAME,
        );
    }
}

/// A deterministic generator for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
    pub fn array<const N: usize>(&mut self, lo: f64, hi: f64) -> [f64; N] {
        core::array::from_fn(|_| self.range(lo, hi))
    }
}

/// Fills every parameter uniformly on `[lo, hi)`.
pub fn randomize<N: Network<Scalar = f64>>(net: &mut N, rng: &mut Rng, lo: f64, hi: f64) {
    for p in net.as_mut_slice() {
        *p = rng.range(lo, hi);
    }
}
