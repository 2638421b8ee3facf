"""Writes the safetensors files of tests/tests/baked.rs and of the ui cases of
`#[weights(..)]` (tests/ui/weights_errors.rs), with Python's `safetensors` package, so
the files the macro reads at compile time are written independently of chainrule. Run
from the repository root:

    pip install safetensors numpy
    python3 tests/reference/weights.py
"""
import json
import struct

import numpy as np
from safetensors.numpy import save_file

OUT = "tests/reference/weights/"


def ramp(shape, start, dtype=np.float32):
    """start, start + 1/8, ... in the given shape: exact in every dtype used here."""
    n = int(np.prod(shape))
    return (start + np.arange(n, dtype=np.float64) / 8).astype(dtype).reshape(shape)


# The net `Small { param w: [3, 2]; param b: [3]; }` of the tests.
save_file({"w": ramp((3, 2), -0.5), "b": ramp((3,), 1.0)}, OUT + "small.safetensors")
# The same values as f64, for `#[scalar(f64)]`.
save_file({"w": ramp((3, 2), -0.5, np.float64), "b": ramp((3,), 1.0, np.float64)},
          OUT + "small_f64.safetensors")
# As f16 (w) and bf16 (b), widened exactly. numpy has no bf16, so this file's header is
# written here as the format specifies: an 8-byte little-endian length, the JSON header,
# then the data; a bf16's bits are the top half of an f32's.
w16 = ramp((3, 2), -0.5, np.float16).tobytes()
b16 = (np.frombuffer(ramp((3,), 1.0).tobytes(), dtype=np.uint32) >> 16).astype("<u2").tobytes()
header = json.dumps({
    "b": {"dtype": "BF16", "shape": [3], "data_offsets": [0, len(b16)]},
    "w": {"dtype": "F16", "shape": [3, 2], "data_offsets": [len(b16), len(b16) + len(w16)]},
}, separators=(",", ":")).encode()
header += b" " * (-len(header) % 8)
with open(OUT + "small_half.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header + b16 + w16)
# Values no literal can hold, and the edge cases of those that can.
special = np.array([np.float32("nan"), -0.0, np.inf, -np.inf, np.float32(1e-45), 3.4028235e38],
                   dtype=np.float32)
payload = np.frombuffer(struct.pack("<I", 0x7FA00001), dtype=np.float32)  # a signalling NaN
save_file({"w": np.concatenate([special, payload]).reshape((7,))}, OUT + "special.safetensors")
# What the ui cases refuse.
save_file({"w": ramp((3, 2), 0.0)}, OUT + "missing.safetensors")
save_file({"w": ramp((3, 2), 0.0), "b": ramp((3,), 0.0), "c": ramp((1,), 0.0)},
          OUT + "extra.safetensors")
save_file({"w": ramp((2, 3), 0.0), "b": ramp((3,), 0.0)}, OUT + "shape.safetensors")
save_file({"w": ramp((3, 2), 0.0, np.float64), "b": ramp((3,), 0.0)}, OUT + "dtype.safetensors")
save_file({"w": ramp((3, 2), 0.0).astype(np.int32), "b": ramp((3,), 0.0)},
          OUT + "int.safetensors")
with open(OUT + "garbage.safetensors", "wb") as f:
    f.write(b"not a safetensors file")
