"""Reference values for tests/tests/regression_nets.rs, computed with JAX autodiff in f64.

The nets are issue 7's: regression nets whose gradients the generated code once got wrong.
Parameters, inputs and targets follow the same closed formulas as the Rust test, so the
values here are independent of chainrule. Run from the repository root:

    pip install "jax[cpu]"
    python3 tests/reference/issue7.py > tests/reference/issue7_values.rs
"""
import math

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)


def param(k):
    return 0.5 * math.sin(1.3 * k + 0.7)


def inp(i):
    return math.cos(0.9 * i + 0.2)


def tgt(i):
    return 0.8 * math.sin(2.1 * i + 0.4)


def mse(y, t):
    return jnp.mean((y - t) ** 2)


def flat_params(shapes):
    """Consecutive values of `param`, cut into arrays of the given shapes, row-major."""
    out, k = [], 0
    for shape in shapes:
        n = math.prod(shape)
        out.append(jnp.array([param(k + j) for j in range(n)]).reshape(shape))
        k += n
    return out


def min1(p, x, t):
    w, b = p
    return mse(w * x + b, t)


def unr2(p, x, t):
    w, b, q, r = p
    return jnp.sum((w * x + b) * jnp.tanh(q * x + r))


def half(p, x, t):
    (w,) = p
    return 0.5 * jnp.sum((w * x - t) ** 2)


def lin(p, x, t):
    (w,) = p
    return jnp.sum(w * x * t)


def reg(p, x, t):
    hw, hb, yw, yb = p
    h = jnp.tanh(hw @ x + hb)
    return mse(yw @ h + yb, t)


NETS = [
    ("MIN1", min1, [(2,), (2,)], 2, 2),
    ("UNR2", unr2, [(3,), (3,), (3,), (3,)], 3, None),
    ("HALF", half, [(3,)], 3, 3),
    ("LIN", lin, [(3,)], 3, 3),
    ("REG", reg, [(32, 16), (32,), (2, 32), (2,)], 16, 2),
]


def rust_floats(values):
    return ", ".join(repr(float(v)) for v in values)


print("// Written by tests/reference/issue7.py with JAX " + jax.__version__ + "; do not edit.")
print("#![allow(clippy::excessive_precision, clippy::unreadable_literal)]")
print("use super::Reference;")
for name, f, shapes, n_in, n_t in NETS:
    p = flat_params(shapes)
    x = jnp.array([inp(i) for i in range(n_in)])
    t = jnp.array([tgt(i) for i in range(n_t)]) if n_t else None
    loss = f(p, x, t)
    dp, dx = jax.grad(f, argnums=(0, 1))(p, x, t)
    dp = jnp.concatenate([g.reshape(-1) for g in dp])
    print(f"/// `{name.lower()}` at the test's point.")
    print(f"pub const {name}: Reference = Reference {{")
    print(f"    loss: {float(loss)!r},")
    print(f"    params: &[{rust_floats(dp)}],")
    print(f"    input: &[{rust_floats(dx)}],")
    print("};")
