//! Hand-written nets shaped the way `network!` generates them, so the runtime is tested
//! before the macro lands: a `#[repr(C)]` struct of parameter arrays, `Pod` for the flat
//! view, and an implementation of `Network` with hand-derived gradients.
#![allow(dead_code)]

use chainrule::__private::{flat, flat_mut, kernels};
use chainrule::{Float, Network, ParamInfo};

/// Linear regression `y = w @ x + b` with `loss mse(y, t)`, in the given scalar type;
/// `names` gives the tensor names of `w` and `b` in safetensors files.
macro_rules! linreg {
    ($name:ident, $t:ty, $n:literal $(, names = $names:expr)?) => {
        #[repr(C)]
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            ::chainrule::__private::bytemuck::Pod,
            ::chainrule::__private::bytemuck::Zeroable,
        )]
        #[bytemuck(crate = "::chainrule::__private::bytemuck")]
        pub struct $name {
            pub w: [[$t; $n]; 1],
            pub b: [$t; 1],
        }

        impl Network for $name {
            type Scalar = $t;
            type Input = [$t; $n];
            type Target = [$t; 1];
            type Output = [$t; 1];

            const NAME: &'static str = stringify!($name);
            const PARAMS: usize = $n + 1;
            const LAYOUT: &'static [ParamInfo] = &[
                ParamInfo {
                    name: "w",
                    shape: &[1, $n],
                },
                ParamInfo {
                    name: "b",
                    shape: &[1],
                },
            ];

            $(
                fn tensor_name(index: usize) -> &'static str {
                    $names[index]
                }
            )?

            fn zeros() -> Self {
                Self {
                    w: [[0.0; $n]; 1],
                    b: [0.0; 1],
                }
            }
            fn new(seed: u64) -> Self {
                let mut net = Self::zeros();
                ::chainrule::__private::init_fill(
                    net.w.as_flattened_mut(),
                    ::chainrule::__private::Init::Xavier {
                        fan_in: $n,
                        fan_out: 1,
                    },
                    seed,
                    0,
                );
                net
            }
            fn as_slice(&self) -> &[$t] {
                flat(self)
            }
            fn as_mut_slice(&mut self) -> &mut [$t] {
                flat_mut(self)
            }
            fn forward(&self, x: &[$t; $n]) -> [$t; 1] {
                let mut y = self.b;
                kernels::matvec_acc(&self.w, x, &mut y);
                y
            }
            fn loss(&self, x: &[$t; $n], t: &[$t; 1]) -> $t {
                let y = self.forward(x);
                let d = y[0] - t[0];
                d * d
            }
            fn backward_scaled(&self, x: &[$t; $n], t: &[$t; 1], scale: $t, grad: &mut Self) -> $t {
                let y = self.forward(x);
                let d = y[0] - t[0];
                // dL/dy = 2 (y - t); dL/dw = dL/dy ⊗ x; dL/db = dL/dy.
                let dy = [2.0 * d * scale];
                kernels::outer_acc(&dy, x, &mut grad.w);
                grad.b[0] += dy[0];
                d * d
            }
            fn input_gradient(&self, x: &[$t; $n], t: &[$t; 1]) -> [$t; $n] {
                let d = self.forward(x)[0] - t[0];
                let mut g = [0.0; $n];
                for (gi, wi) in g.iter_mut().zip(&self.w[0]) {
                    *gi = 2.0 * d * wi;
                }
                g
            }
        }
    };
}

linreg!(LinReg32, f32, 3);
linreg!(LinReg64, f64, 3);
// Names a JSON encoder must escape (quote, backslash, control characters), non-ASCII
// text, and an order unlike the layout's.
linreg!(Renamed64, f64, 3, names = ["z\"w\\\n\t\u{1}\u{7f}", "b.é"]);
linreg!(HugeName32, f32, 3, names = [huge_name(), "b"]);

/// A name of 100,000,000 bytes, which puts a header past what safetensors readers accept.
fn huge_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| "x".repeat(100_000_000))
}

/// `h = tanh(w1 @ x + b1); z = w2 @ h + b2; loss softmax_cross_entropy(z, t)`.
///
/// `$bug` set to `true` drops the `tanh'` factor from the backward pass, a deliberately
/// wrong gradient for gradcheck to catch.
macro_rules! mlp {
    ($name:ident, $t:ty, $i:literal, $h:literal, $o:literal, $bug:literal) => {
        #[repr(C)]
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            ::chainrule::__private::bytemuck::Pod,
            ::chainrule::__private::bytemuck::Zeroable,
        )]
        #[bytemuck(crate = "::chainrule::__private::bytemuck")]
        pub struct $name {
            pub w1: [[$t; $i]; $h],
            pub b1: [$t; $h],
            pub w2: [[$t; $h]; $o],
            pub b2: [$t; $o],
        }

        impl $name {
            fn hidden(&self, x: &[$t; $i]) -> [$t; $h] {
                let mut a = self.b1;
                kernels::matvec_acc(&self.w1, x, &mut a);
                a.map(<$t as Float>::tanh)
            }
            fn logits(&self, h: &[$t; $h]) -> [$t; $o] {
                let mut z = self.b2;
                kernels::matvec_acc(&self.w2, h, &mut z);
                z
            }
        }

        impl Network for $name {
            type Scalar = $t;
            type Input = [$t; $i];
            type Target = [$t; $o];
            type Output = [$t; $o];

            const NAME: &'static str = stringify!($name);
            const PARAMS: usize = $h * $i + $h + $o * $h + $o;
            const LAYOUT: &'static [ParamInfo] = &[
                ParamInfo {
                    name: "w1",
                    shape: &[$h, $i],
                },
                ParamInfo {
                    name: "b1",
                    shape: &[$h],
                },
                ParamInfo {
                    name: "w2",
                    shape: &[$o, $h],
                },
                ParamInfo {
                    name: "b2",
                    shape: &[$o],
                },
            ];

            fn zeros() -> Self {
                Self {
                    w1: [[0.0; $i]; $h],
                    b1: [0.0; $h],
                    w2: [[0.0; $h]; $o],
                    b2: [0.0; $o],
                }
            }
            fn new(seed: u64) -> Self {
                use ::chainrule::__private::{Init, init_fill};
                let mut net = Self::zeros();
                let w1 = Init::Xavier {
                    fan_in: $i,
                    fan_out: $h,
                };
                let w2 = Init::Xavier {
                    fan_in: $h,
                    fan_out: $o,
                };
                init_fill(net.w1.as_flattened_mut(), w1, seed, 0);
                init_fill(net.w2.as_flattened_mut(), w2, seed, 2);
                net
            }
            fn as_slice(&self) -> &[$t] {
                flat(self)
            }
            fn as_mut_slice(&mut self) -> &mut [$t] {
                flat_mut(self)
            }
            fn forward(&self, x: &[$t; $i]) -> [$t; $o] {
                self.logits(&self.hidden(x))
            }
            fn loss(&self, x: &[$t; $i], t: &[$t; $o]) -> $t {
                let z = self.forward(x);
                let mut ls = [0.0; $o];
                kernels::log_softmax(&z, &mut ls);
                -ls.iter().zip(t).map(|(l, t)| l * t).sum::<$t>()
            }
            fn backward_scaled(&self, x: &[$t; $i], t: &[$t; $o], scale: $t, grad: &mut Self) -> $t {
                let h = self.hidden(x);
                let z = self.logits(&h);
                let mut ls = [0.0; $o];
                kernels::log_softmax(&z, &mut ls);
                let loss = -ls.iter().zip(t).map(|(l, t)| l * t).sum::<$t>();
                // dL/dz = softmax(z) Σt − t.
                let tsum: $t = t.iter().sum();
                let mut dz = [0.0; $o];
                for k in 0..$o {
                    dz[k] = scale * (ls[k].exp() * tsum - t[k]);
                }
                kernels::outer_acc(&dz, &h, &mut grad.w2);
                for k in 0..$o {
                    grad.b2[k] += dz[k];
                }
                // dL/dh = w2ᵀ dz; dL/da = dL/dh ⊙ (1 − h²).
                let mut dh = [0.0; $h];
                kernels::vecmat_acc(&dz, &self.w2, &mut dh);
                let mut da = dh;
                if !$bug {
                    for j in 0..$h {
                        da[j] *= 1.0 - h[j] * h[j];
                    }
                }
                kernels::outer_acc(&da, x, &mut grad.w1);
                for j in 0..$h {
                    grad.b1[j] += da[j];
                }
                loss
            }
            fn input_gradient(&self, x: &[$t; $i], t: &[$t; $o]) -> [$t; $i] {
                let h = self.hidden(x);
                let z = self.logits(&h);
                let mut p = [0.0; $o];
                kernels::softmax(&z, &mut p);
                let tsum: $t = t.iter().sum();
                let mut dz = [0.0; $o];
                for k in 0..$o {
                    dz[k] = p[k] * tsum - t[k];
                }
                let mut dh = [0.0; $h];
                kernels::vecmat_acc(&dz, &self.w2, &mut dh);
                for j in 0..$h {
                    dh[j] *= 1.0 - h[j] * h[j];
                }
                let mut dx = [0.0; $i];
                kernels::vecmat_acc(&dh, &self.w1, &mut dx);
                dx
            }
        }
    };
}

mlp!(Mlp32, f32, 4, 5, 3, false);
mlp!(Mlp64, f64, 4, 5, 3, false);
mlp!(BuggyMlp64, f64, 4, 5, 3, true);
mlp!(BuggyMlp32, f32, 4, 5, 3, true);
mlp!(IrisNet, f32, 4, 16, 3, false);
mlp!(DigitsNet, f32, 64, 32, 10, false);
mlp!(DigitsNet64, f64, 64, 32, 10, false);

/// The lecture's XOR net: `h = sigmoid(w1 @ x + b1); y = sigmoid(w2 @ h + b2);
/// loss bce(y, t)`.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    ::chainrule::__private::bytemuck::Pod,
    ::chainrule::__private::bytemuck::Zeroable,
)]
#[bytemuck(crate = "::chainrule::__private::bytemuck")]
pub struct Xor {
    pub w1: [[f32; 2]; 2],
    pub b1: [f32; 2],
    pub w2: [[f32; 2]; 1],
    pub b2: [f32; 1],
}

impl Xor {
    fn hidden(&self, x: &[f32; 2]) -> [f32; 2] {
        let mut a = self.b1;
        kernels::matvec_acc(&self.w1, x, &mut a);
        a.map(Float::sigmoid)
    }
}

impl Network for Xor {
    type Scalar = f32;
    type Input = [f32; 2];
    type Target = [f32; 1];
    type Output = [f32; 1];

    const NAME: &'static str = "Xor";
    const PARAMS: usize = 9;
    const LAYOUT: &'static [ParamInfo] = &[
        ParamInfo {
            name: "w1",
            shape: &[2, 2],
        },
        ParamInfo {
            name: "b1",
            shape: &[2],
        },
        ParamInfo {
            name: "w2",
            shape: &[1, 2],
        },
        ParamInfo {
            name: "b2",
            shape: &[1],
        },
    ];

    fn zeros() -> Self {
        Self {
            w1: [[0.0; 2]; 2],
            b1: [0.0; 2],
            w2: [[0.0; 2]; 1],
            b2: [0.0; 1],
        }
    }
    fn new(seed: u64) -> Self {
        use chainrule::__private::{Init, init_fill};
        let mut net = Self::zeros();
        let xavier = Init::Xavier {
            fan_in: 2,
            fan_out: 2,
        };
        init_fill(net.w1.as_flattened_mut(), xavier, seed, 0);
        let xavier = Init::Xavier {
            fan_in: 2,
            fan_out: 1,
        };
        init_fill(net.w2.as_flattened_mut(), xavier, seed, 2);
        net
    }
    fn as_slice(&self) -> &[f32] {
        flat(self)
    }
    fn as_mut_slice(&mut self) -> &mut [f32] {
        flat_mut(self)
    }
    fn forward(&self, x: &[f32; 2]) -> [f32; 1] {
        let h = self.hidden(x);
        let mut z = self.b2;
        kernels::matvec_acc(&self.w2, &h, &mut z);
        z.map(Float::sigmoid)
    }
    fn loss(&self, x: &[f32; 2], t: &[f32; 1]) -> f32 {
        let y = self.forward(x)[0];
        -(t[0] * y.ln() + (1.0 - t[0]) * (1.0 - y).ln())
    }
    fn backward_scaled(&self, x: &[f32; 2], t: &[f32; 1], scale: f32, grad: &mut Self) -> f32 {
        let h = self.hidden(x);
        let mut z = self.b2;
        kernels::matvec_acc(&self.w2, &h, &mut z);
        let y = z[0].sigmoid();
        let loss = -(t[0] * y.ln() + (1.0 - t[0]) * (1.0 - y).ln());
        // bce through a sigmoid: dL/dz₂ = y − t.
        let dz2 = [scale * (y - t[0])];
        kernels::outer_acc(&dz2, &h, &mut grad.w2);
        grad.b2[0] += dz2[0];
        let mut dh = [0.0; 2];
        kernels::vecmat_acc(&dz2, &self.w2, &mut dh);
        let dz1 = [dh[0] * h[0] * (1.0 - h[0]), dh[1] * h[1] * (1.0 - h[1])];
        kernels::outer_acc(&dz1, x, &mut grad.w1);
        grad.b1[0] += dz1[0];
        grad.b1[1] += dz1[1];
        loss
    }
    fn input_gradient(&self, x: &[f32; 2], t: &[f32; 1]) -> [f32; 2] {
        let h = self.hidden(x);
        let y = self.forward(x)[0];
        let dz2 = [y - t[0]];
        let mut dh = [0.0; 2];
        kernels::vecmat_acc(&dz2, &self.w2, &mut dh);
        let dz1 = [dh[0] * h[0] * (1.0 - h[0]), dh[1] * h[1] * (1.0 - h[1])];
        let mut dx = [0.0; 2];
        kernels::vecmat_acc(&dz1, &self.w1, &mut dx);
        dx
    }
}

/// A net without a target: `loss sum((w - x)^2) + (s - x[0])^2`, smallest at `w` the
/// mean of the inputs and `s` the mean of their first element. `s` has shape `[]`, so a
/// scalar parameter is covered too.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    ::chainrule::__private::bytemuck::Pod,
    ::chainrule::__private::bytemuck::Zeroable,
)]
#[bytemuck(crate = "::chainrule::__private::bytemuck")]
pub struct Centroid {
    pub w: [f64; 2],
    pub s: f64,
}

impl Network for Centroid {
    type Scalar = f64;
    type Input = [f64; 2];
    type Target = ();
    type Output = [f64; 2];

    const NAME: &'static str = "Centroid";
    const PARAMS: usize = 3;
    const LAYOUT: &'static [ParamInfo] = &[
        ParamInfo {
            name: "w",
            shape: &[2],
        },
        ParamInfo {
            name: "s",
            shape: &[],
        },
    ];

    fn zeros() -> Self {
        Self {
            w: [0.0; 2],
            s: 0.0,
        }
    }
    fn new(_seed: u64) -> Self {
        Self {
            w: [0.0; 2],
            s: 1.0,
        }
    }
    fn as_slice(&self) -> &[f64] {
        flat(self)
    }
    fn as_mut_slice(&mut self) -> &mut [f64] {
        flat_mut(self)
    }
    fn forward(&self, x: &[f64; 2]) -> [f64; 2] {
        [self.w[0] - x[0], self.w[1] - x[1]]
    }
    fn loss(&self, x: &[f64; 2], _t: &()) -> f64 {
        let d = self.forward(x);
        let e = self.s - x[0];
        d[0] * d[0] + d[1] * d[1] + e * e
    }
    fn backward_scaled(&self, x: &[f64; 2], t: &(), scale: f64, grad: &mut Self) -> f64 {
        let d = self.forward(x);
        grad.w[0] += scale * 2.0 * d[0];
        grad.w[1] += scale * 2.0 * d[1];
        grad.s += scale * 2.0 * (self.s - x[0]);
        self.loss(x, t)
    }
    fn input_gradient(&self, x: &[f64; 2], _t: &()) -> [f64; 2] {
        let d = self.forward(x);
        [-2.0 * d[0] - 2.0 * (self.s - x[0]), -2.0 * d[1]]
    }
}
