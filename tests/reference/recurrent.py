"""Reference values for tests/tests/recurrent.rs, computed with JAX autodiff in f64.

The GRU and LSTM below are PyTorch's equations as its documentation states them for
nn.GRU and nn.LSTM (gate order r, z, n and i, f, g, o; weight_ih, weight_hh, bias_ih,
bias_hh), written here independently of chainrule. Parameters, inputs and targets follow
the same closed formulas as the Rust test. Run from the repository root:

    pip install "jax[cpu]"
    python3 tests/reference/recurrent.py > tests/reference/recurrent_values.rs
"""
import math

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

T, N, H = 5, 3, 4


def param(k):
    return 0.5 * math.sin(1.3 * k + 0.7)


def inp(k):
    return math.cos(0.9 * k + 0.2)


def tgt(k):
    return 0.8 * math.sin(2.1 * k + 0.4)


def matrix(f, rows, cols):
    return jnp.array([[f(i * cols + j) for j in range(cols)] for i in range(rows)])


def sigmoid(v):
    return 1.0 / (1.0 + jnp.exp(-v))


def gru(xs, w_ih, w_hh, b_ih, b_hh):
    """nn.GRU, one layer, h0 = 0: every hidden state, one row per step."""
    h = jnp.zeros(w_hh.shape[1])
    rows = []
    for x in xs:
        gi = w_ih @ x + b_ih
        gh = w_hh @ h + b_hh
        r = sigmoid(gi[0:H] + gh[0:H])
        z = sigmoid(gi[H:2 * H] + gh[H:2 * H])
        n = jnp.tanh(gi[2 * H:3 * H] + r * gh[2 * H:3 * H])
        h = (1 - z) * n + z * h
        rows.append(h)
    return jnp.stack(rows)


def lstm(xs, w_ih, w_hh, b_ih, b_hh):
    """nn.LSTM, one layer, h0 = c0 = 0: every hidden state, one row per step."""
    h = jnp.zeros(w_hh.shape[1])
    c = jnp.zeros(w_hh.shape[1])
    rows = []
    for x in xs:
        g = w_ih @ x + b_ih + w_hh @ h + b_hh
        i = sigmoid(g[0:H])
        f = sigmoid(g[H:2 * H])
        u = jnp.tanh(g[2 * H:3 * H])
        o = sigmoid(g[3 * H:4 * H])
        c = f * c + i * u
        h = o * jnp.tanh(c)
        rows.append(h)
    return jnp.stack(rows)


def layer_shapes(gates, n):
    return [(gates * H, n), (gates * H, H), (gates * H,), (gates * H,)]


def gru_net(flat, xs, ts):
    p, _ = unflatten(flat, layer_shapes(3, N))
    return jnp.mean((gru(xs, *p) - ts) ** 2)


def lstm_net(flat, xs, ts):
    p, _ = unflatten(flat, layer_shapes(4, N))
    return jnp.mean((lstm(xs, *p) - ts) ** 2)


def stacked_net(flat, xs, t):
    """lstm(xs, H), then gru over its rows, then the last row."""
    p, k = unflatten(flat, layer_shapes(4, N))
    q, _ = unflatten(flat, layer_shapes(3, H), k)
    h2 = gru(lstm(xs, *p), *q)
    return jnp.mean((h2[T - 1] - t) ** 2)


def unflatten(flat, shapes, start=0):
    out, k = [], start
    for shape in shapes:
        n = math.prod(shape)
        out.append(flat[k:k + n].reshape(shape))
        k += n
    return out, k


def count(shapes):
    return sum(math.prod(s) for s in shapes)


def emit(name, doc, f, n_params, ts):
    flat = jnp.array([param(k) for k in range(n_params)])
    xs = matrix(inp, T, N)
    loss, (g_p, g_x) = jax.value_and_grad(f, argnums=(0, 1))(flat, xs, ts)
    print(f"/// {doc}")
    print(f"pub const {name}: Reference = Reference {{")
    print(f"    loss: {float(loss)!r},")
    print("    params: &[")
    for v in g_p:
        print(f"        {float(v)!r},")
    print("    ],")
    print("    input: &[")
    for v in g_x.reshape(-1):
        print(f"        {float(v)!r},")
    print("    ],")
    print("};")


print(f"// Written by tests/reference/recurrent.py with JAX {jax.__version__}; do not edit.")
print("#![allow(clippy::excessive_precision, clippy::unreadable_literal)]")
print("use super::Reference;")
emit("GRU", "`gru(xs, 4)` over 5 steps of 3, mse against every row.", gru_net,
     count(layer_shapes(3, N)), matrix(tgt, T, H))
emit("LSTM", "`lstm(xs, 4)` over 5 steps of 3, mse against every row.", lstm_net,
     count(layer_shapes(4, N)), matrix(tgt, T, H))
emit("STACKED", "`lstm(xs, 4)` then `gru(.., 4)`, mse of the last row.", stacked_net,
     count(layer_shapes(4, N)) + count(layer_shapes(3, H)), jnp.array([tgt(k) for k in range(H)]))
