"""Parameters as a {name: array} dict whose arrays are views into one flat buffer.

The dict reads like the math (params["Whh"]); the flat buffer lets clipping and
optimizer updates touch every parameter in a single call.
"""
import numpy as np


def flat_views(shapes, dtype):
    """Allocate one zeroed buffer for all shapes. Returns (flat, {name: view})."""
    sizes = {name: int(np.prod(shape, dtype=np.int64)) for name, shape in shapes.items()}
    flat = np.zeros(sum(sizes.values()), dtype=dtype)
    views, offset = {}, 0
    for name, shape in shapes.items():
        views[name] = flat[offset:offset + sizes[name]].reshape(shape)
        offset += sizes[name]
    return flat, views


INIT_SCHEMES = ("walkthrough", "minchar", "xavier", "orthogonal", "uniform")
BIASES = ("bias_ih", "bias_hh", "output_bias", "dense_bias")


def initialize(params, roles, rng, scheme, hidden_size, forget_bias=0.0):
    """Fill every parameter in place, in the order of the dict, from the numpy Generator rng.

    roles[name] is one of embedding, weight_ih, weight_hh, bias_ih, bias_hh, output_weight,
    output_bias, dense_weight, dense_bias (the other layers of a model: a seq2seq model's
    attention, bridge and combination; their biases start at zero). Gated weights [G*H, in] are initialised block by block, one block of H
    rows per gate. Biases start at zero, except bias_ih's forget-gate block (rows H..2H of
    an LSTM) when forget_bias is given.

    walkthrough: every weight standard normal / 1000 (the walkthrough's init).
    minchar:     every weight standard normal * 0.01 (the classic min-char-rnn's init).
    xavier:      uniform in +-sqrt(6 / (fan_in + fan_out)) per block (Glorot & Bengio, 2010);
                 an embedding table standard normal.
    orthogonal:  each gate block of weight_hh a random orthogonal matrix (Saxe et al.,
                 2014), the rest as xavier.
    uniform:     every recurrent weight and bias uniform in +-1/sqrt(H), the output layer's
                 in +-1/sqrt(its inputs), the embedding standard normal (PyTorch's defaults
                 for nn.RNN/LSTM/GRU, nn.Linear and nn.Embedding).
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; expected one of {list(INIT_SCHEMES)}")
    for name, array in params.items():
        role = roles[name]
        if scheme == "uniform" and role == "dense_weight":
            array[...] = rng.uniform(-1 / np.sqrt(array.shape[1]), 1 / np.sqrt(array.shape[1]), size=array.shape)
            continue
        if scheme == "uniform" and role != "embedding" and role != "dense_bias":
            fan_in = hidden_size if role not in ("output_weight", "output_bias") else roles_fan_in(params, roles)
            array[...] = rng.uniform(-1 / np.sqrt(fan_in), 1 / np.sqrt(fan_in), size=array.shape)
            if role == "bias_ih" and forget_bias:
                array[hidden_size:2 * hidden_size] = forget_bias
            continue
        if role in BIASES:
            array[...] = 0.0
            if role == "bias_ih" and forget_bias:
                array[hidden_size:2 * hidden_size] = forget_bias
        elif scheme in ("walkthrough", "minchar"):
            scale = 1e-3 if scheme == "walkthrough" else 1e-2
            array[...] = rng.standard_normal(array.shape) * scale
        elif role == "embedding":
            array[...] = rng.standard_normal(array.shape)         # as nn.Embedding
        else:
            rows = hidden_size if role in ("weight_ih", "weight_hh") else len(array)
            for block in np.split(array, len(array) // rows):
                if scheme == "orthogonal" and role == "weight_hh":
                    q, r = np.linalg.qr(rng.standard_normal(block.shape))
                    block[...] = q * np.sign(np.diag(r))        # sign fix: uniform over rotations
                else:
                    limit = np.sqrt(6.0 / (block.shape[0] + block.shape[1]))
                    block[...] = rng.uniform(-limit, limit, size=block.shape)


def roles_fan_in(params, roles):
    """The output layer's number of inputs (columns of its weight)."""
    return next(array.shape[1] for name, array in params.items() if roles[name] == "output_weight")
