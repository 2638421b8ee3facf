"""Reference values for tests/tests/activations.rs, computed with JAX in f64.

For every activation of the operator table added for issue 8, the values and first
derivatives at the same points for all of them: many ordinary points, the kinks and points
2^-20 either side of them, and large |x| where the function is defined there. Every point
is exactly representable in f32, so the f32 nets are checked against the same values.
Derivatives come from JAX's autodiff (`jax.grad`), except at a kink where JAX's autodiff
takes another side than PyTorch's backward kernel: there the reference is PyTorch's value,
from `torch_at_kink` below, and the output says where that happened. The two activation
nets (`dense(x, 4, gelu)` and a deeper one) follow the closed formulas of issue7.py for
parameters, input and target. Run from the repository root:

    pip install "jax[cpu]"
    python3 tests/reference/activations.py > tests/reference/activations_values.rs

The output goes through rustfmt when it is on the PATH, so it is the file as committed.
"""
import math
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import jax.scipy.special

jax.config.update("jax_enable_x64", True)

TINY = 2.0**-20
KINKS = [-3.0, -2.0, -1.0, 0.0, 0.5, 1.0, 3.0]
ORDINARY = [-8.0, -5.5, -4.0, -3.25, -2.75, -1.5, -0.75, -0.5, -0.25, -0.125,
            0.125, 0.25, 0.75, 1.5, 2.0, 2.75, 3.25, 4.0, 5.5, 8.0]
LARGE = [-1000.0, -100.0, -30.0, 30.0, 100.0, 1000.0]
COMMON = sorted(set(ORDINARY + LARGE + [k + d for k in KINKS for d in (-TINY, 0.0, TINY)]))
N = len(COMMON)


def points_in(lo, hi):
    """`N` points in the open interval (lo, hi): the common ones inside it, then a grid of
    multiples of 1/64 filling the rest, all exact in f32."""
    pts = [p for p in COMMON if lo < p < hi]
    k = 1
    while len(pts) < N:
        for p in (lo + k / 64.0, hi - k / 64.0):
            if lo < p < hi and p not in pts and len(pts) < N:
                pts.append(p)
        k += 1
    return sorted(pts)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def hardtanh(lo, hi):
    # jax.nn.hard_tanh for any bounds, written the way JAX writes it.
    return lambda x: jnp.where(x > hi, hi, jnp.where(x < lo, lo, x))


# name (as the Rust constant), JAX function, table parameters, domain
FUNCTIONS = [
    ("gelu", lambda x: jax.nn.gelu(x, approximate=False), (), None),
    ("gelu_tanh", lambda x: jax.nn.gelu(x, approximate=True), (), None),
    ("elu", jax.nn.elu, (1.0,), None),
    ("elu_half", lambda x: jax.nn.elu(x, 0.5), (0.5,), None),
    ("selu", jax.nn.selu, (), None),
    ("silu", jax.nn.silu, (), None),
    ("mish", jax.nn.mish, (), None),
    ("softsign", jax.nn.soft_sign, (), None),
    ("hardtanh", jax.nn.hard_tanh, (-1.0, 1.0), None),
    ("hardtanh_wide", hardtanh(-2.0, 0.5), (-2.0, 0.5), None),
    ("hardsigmoid", jax.nn.hard_sigmoid, (), None),
    ("hardswish", jax.nn.hard_swish, (), None),
    ("log1p", jnp.log1p, (), (-1.0, math.inf)),
    ("expm1", jnp.expm1, (), (-math.inf, 31.0)),
    ("tan", jnp.tan, (), (-1.5, 1.5)),
    ("atan", jnp.arctan, (), None),
    ("asinh", jnp.arcsinh, (), None),
    ("erf", jax.scipy.special.erf, (), None),
    ("log_sigmoid", jax.nn.log_sigmoid, (), None),
]


# The functions the table had before issue 8, for the constant-folding check: the folder
# (each row's `value`) and the derivative rows against JAX.
FOLDED = [
    ("exp", jnp.exp, (), (-math.inf, 80.0)),
    ("ln", jnp.log, (), (0.0, math.inf)),
    ("sqrt", jnp.sqrt, (), (0.0, math.inf)),
    ("abs", jnp.abs, (), None),
    ("sin", jnp.sin, (), None),
    ("cos", jnp.cos, (), None),
    ("tanh", jnp.tanh, (), None),
    ("sigmoid", jax.nn.sigmoid, (), None),
    ("relu", jax.nn.relu, (), None),
    ("softplus", jax.nn.softplus, (), None),
    ("leaky_relu", lambda x: jax.nn.leaky_relu(x, 0.01), (0.01,), None),
    ("leaky_relu_fifth", lambda x: jax.nn.leaky_relu(x, 0.2), (0.2,), None),
]

# Constants whose table row has another name.
ROWS = {"elu_half": "elu", "hardtanh_wide": "hardtanh", "leaky_relu_fifth": "leaky_relu"}


def torch_at_kink(name, x, params):
    """PyTorch's derivative at a kink, transcribed from its backward kernels
    (aten/src/ATen/native/cpu/Activation.cpp; CUDA and torch/_decomp agree), or None
    away from kinks.

    - hardtanh_backward: 0 where x <= min_val or x >= max_val.
    - hardsigmoid_backward: 1/6 where -3 < x < 3, else 0.
    - hardswish_backward: 0 where x <= -3, x/3 + 1/2 where x < 3, else 1 (since
      pytorch/pytorch#148049; before it -1/2 at -3 and 3/2 at 3).
    - elu_backward (elu, selu): alpha * scale * exp(x) where x <= 0, so alpha * scale at 0.
    - leaky_relu_backward: the slope where x <= 0; relu and abs: 0 at 0.
    """
    if name.startswith("hardtanh") and x in params:
        return 0.0
    if name == "hardsigmoid" and x in (-3.0, 3.0):
        return 0.0
    if name == "hardswish" and x in (-3.0, 3.0):
        return 0.0 if x == -3.0 else 1.0
    if name.startswith("elu") and x == 0.0:
        return params[0]
    if name == "selu" and x == 0.0:
        return SELU_ALPHA * SELU_SCALE
    if name.startswith("leaky_relu") and x == 0.0:
        return params[0]
    if name in ("relu", "abs") and x == 0.0:
        return 0.0
    return None


LINES = []


def out(text):
    LINES.append(text)


def rust_floats(values):
    return ", ".join(repr(float(v)) for v in values)


def param(k):
    return 0.5 * math.sin(1.3 * k + 0.7)


def inp(i):
    return math.cos(0.9 * i + 0.2)


def tgt(i):
    return 0.8 * math.sin(2.1 * i + 0.4)


def flat_params(shapes):
    out, k = [], 0
    for shape in shapes:
        n = math.prod(shape)
        out.append(jnp.array([param(k + j) for j in range(n)]).reshape(shape))
        k += n
    return out


def mse(y, t):
    return jnp.mean((y - t) ** 2)


def gelu_mlp(p, x, t):
    hw, hb, yw, yb = p
    h = jax.nn.gelu(hw @ x + hb, approximate=False)
    return mse(yw @ h + yb, t)


def mixed_mlp(p, x, t):
    hw, hb, gw, gb, yw, yb = p
    h = jax.nn.hard_swish(hw @ x + hb)
    g = jax.nn.mish(gw @ h + gb)
    y = jax.nn.elu(yw @ g + yb)
    return mse(y, t) + jnp.sum(jax.nn.log_sigmoid(g))


NETS = [
    ("GELU_MLP", gelu_mlp, [(4, 3), (4,), (2, 4), (2,)], 3, 2),
    ("MIXED_MLP", mixed_mlp, [(5, 3), (5,), (4, 5), (4,), (2, 4), (2,)], 3, 2),
]

out("// Written by tests/reference/activations.py with JAX " + jax.__version__ + "; do not edit.")
out("#![allow(clippy::approx_constant, clippy::excessive_precision, clippy::unreadable_literal)]")
out("use super::{Activation, NetReference};")
out("/// Every reference with its table row and parameters, for the folding check.")
table = ", ".join(f'("{ROWS.get(n, n)}", &[{rust_floats(p)}], &{n.upper()})' for n, _, p, _ in FUNCTIONS + FOLDED)
out(f"pub static TABLE: &[(&str, &[f64], &Activation)] = &[{table}];")
out(f"/// The number of points of every activation.\npub const N: usize = {N};")
for name, f, params, domain in FUNCTIONS + FOLDED:
    pts = COMMON if domain is None else points_in(*domain)
    assert len(pts) == N
    xs = jnp.array(pts)
    ys = f(xs)
    ds = jax.vmap(jax.grad(f))(xs)
    derivs, notes = [], []
    for x, d in zip(pts, ds):
        torch = torch_at_kink(name, x, params)
        if torch is None:
            derivs.append(float(d))
        else:
            derivs.append(torch)
            agree = "agrees" if float(d) == torch else f"differs: JAX's autodiff gives {float(d)!r}"
            notes.append(f"at {x!r} PyTorch's derivative {torch!r} ({agree})")
    out(f"/// `{name}` with parameters {list(params)}.")
    for n in notes:
        out(f"/// - {n}")
    out(f"pub const {name.upper()}: Activation = Activation {{")
    out(f"    points: &[{rust_floats(pts)}],")
    out(f"    values: &[{rust_floats(ys)}],")
    out(f"    derivatives: &[{rust_floats(derivs)}],")
    out("};")
for name, f, shapes, n_in, n_t in NETS:
    p = flat_params(shapes)
    x = jnp.array([inp(i) for i in range(n_in)])
    t = jnp.array([tgt(i) for i in range(n_t)])
    loss = f(p, x, t)
    dp, dx = jax.grad(f, argnums=(0, 1))(p, x, t)
    dp = jnp.concatenate([g.reshape(-1) for g in dp])
    out(f"/// `{name.lower()}` at the test's point.")
    out(f"pub const {name}: NetReference = NetReference {{")
    out(f"    loss: {float(loss)!r},")
    out(f"    params: &[{rust_floats(dp)}],")
    out(f"    input: &[{rust_floats(dx)}],")
    out("};")

text = "\n".join(LINES) + "\n"
if shutil.which("rustfmt"):
    text = subprocess.run(["rustfmt", "--edition", "2024", "--emit", "stdout"], input=text,
                          capture_output=True, text=True, check=True).stdout
else:
    print("rustfmt not found: the output is not formatted", file=sys.stderr)
sys.stdout.write(text)
