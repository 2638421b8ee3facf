"""Writes tests/reference/torch_names.safetensors: the state dict a PyTorch model

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(3, 4)
            self.rnn = nn.GRU(4, 5, batch_first=True)
            self.head = nn.Linear(5, 2)
            self.scale = nn.Parameter(torch.zeros(2))

would save, with values from a closed formula, through the `safetensors` package's numpy
API (no torch needed). tests/tests/torch_names.rs loads it into a net whose parameters
carry these names with `#[tensor(..)]`, checks every value bit for bit, and writes it
back. Run from the repository root:

    pip install safetensors numpy
    python3 tests/reference/torch_names.py
"""
import numpy as np
from safetensors.numpy import save_file

SHAPES = {
    "fc1.weight": (4, 3),
    "fc1.bias": (4,),
    "rnn.weight_ih_l0": (15, 4),
    "rnn.weight_hh_l0": (15, 5),
    "rnn.bias_ih_l0": (15,),
    "rnn.bias_hh_l0": (15,),
    "head.weight": (2, 5),
    "head.bias": (2,),
    "scale": (2,),
}


def values(k, shape):
    """Tensor k's values: (k + 1) / 8 + i / 64 - 0.5 for element i, exact in f32."""
    n = int(np.prod(shape))
    return (np.float32((k + 1) / 8) + np.arange(n, dtype=np.float32) / np.float32(64)
            - np.float32(0.5)).reshape(shape)


tensors = {name: values(k, shape) for k, (name, shape) in enumerate(SHAPES.items())}
save_file(tensors, "tests/reference/torch_names.safetensors", metadata={"format": "pt"})
