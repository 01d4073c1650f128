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


INIT_SCHEMES = ("walkthrough", "minchar", "xavier", "orthogonal")


def initialize(params, rng, scheme, recurrent=("Whh",)):
    """Fill weights in place; biases (1-d) stay zero.

    walkthrough: standard normal / 1000 (the walkthrough's init).
    minchar:     standard normal * 0.01 (the classic min-char-rnn's init).
    xavier:      uniform in +-sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010).
    orthogonal:  recurrent weights (names in `recurrent`) a random orthogonal matrix
                 (Saxe et al., 2014), the others as xavier.
    Weights are drawn in the order of the dict, from the given numpy Generator.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; expected one of {list(INIT_SCHEMES)}")
    for name, array in params.items():
        if array.ndim == 1:
            array[...] = 0.0
        elif scheme in ("walkthrough", "minchar"):
            scale = 1e-3 if scheme == "walkthrough" else 1e-2
            array[...] = rng.standard_normal(array.shape) * scale
        elif scheme == "orthogonal" and name in recurrent:
            q, r = np.linalg.qr(rng.standard_normal(array.shape))
            array[...] = q * np.sign(np.diag(r))             # sign fix: uniform over rotations
        else:
            limit = np.sqrt(6.0 / (array.shape[0] + array.shape[1]))
            array[...] = rng.uniform(-limit, limit, size=array.shape)
