"""The compiled engine: the walkthrough's model (one one-hot, one-direction vanilla RNN
layer read at h_n, with an output layer and softmax cross-entropy) as one compiled call per
batch, for the optional `fast` extra (numba).

At batch size 1 a training step of that model is about forty small NumPy calls, each
costing more in call overhead than in arithmetic (docs/benchmarks.md): compiled, the whole
forward pass, loss and backward pass through time is one call. Classifier uses it for one
sequence at a time with at most MAX_HIDDEN units, the walkthrough's per-sample recipe: with
batches or larger layers NumPy's matrix products are the faster (they run over all rows and
steps at once). The equations are the NumPy engine's (rnn.py, recurrent.py, models.py,
losses.py), which stays the readable reference and the default without numba;
tests/test_compiled.py holds the two equal to 1e-12 (float64) for any batch, padding
anywhere, relu and two biases included.

    h_t = tanh(Wxh x_t + bias + Whh h_{t-1})    (held over padding: h_t = h_{t-1})
    y   = Why h_n + by,   p = softmax(y),   L_b = -ln p_c
    dy  = (p - onehot(c)) / B
    dh  = Why^T dy,  then for t = T .. 1 (real steps):
        dpre = (1 - h_t^2) dh,  dWxh[:, x_t] += dpre,  dbias += dpre,
        dWhh += dpre h_{t-1}^T,  dh = Whh^T dpre

The loops run in the order that lets the compiler use vector instructions: a product
W h is accumulated column by column of W^T, so every inner loop is over contiguous memory.

TINYRNN_ENGINE=numpy chooses the NumPy engine even where numba is installed;
TINYRNN_ENGINE=compiled requires numba. Each engine is bit-for-bit reproducible on its own;
the two differ by rounding (about 1e-16 per operation: their sums run in another order).
"""
import importlib
import os

import numpy as np

ENGINES = ("auto", "numpy", "compiled")
MAX_HIDDEN = 128        # the largest hidden size the kernel runs (it is the faster one only for small models)


class EngineError(RuntimeError):
    """TINYRNN_ENGINE names no engine, or the compiled one without numba installed."""


def engine_choice():
    """The engine TINYRNN_ENGINE asks for: auto (the default), numpy or compiled."""
    choice = os.environ.get("TINYRNN_ENGINE", "auto") or "auto"
    if choice not in ENGINES:
        raise EngineError(f"TINYRNN_ENGINE={choice!r} names no engine; expected one of {list(ENGINES)}")
    return choice


_kernels = None


def check_engine():
    """Raise EngineError if TINYRNN_ENGINE names no engine, or asks for the compiled one
    where numba is not installed (without importing numba otherwise)."""
    if engine_choice() == "compiled":
        kernels()


def kernels():
    """The compiled kernels (a module-like namespace), or None for the NumPy engine: when
    TINYRNN_ENGINE=numpy, or when numba is not installed and the choice is auto."""
    global _kernels
    choice = engine_choice()
    if choice == "numpy":
        return None
    if _kernels is None:
        try:
            compiled_kernels = importlib.import_module(f"{__package__}.compiled_kernels")   # numba's: compiled
        except ImportError:                                 # once, then read from its cache
            if choice == "compiled":
                raise EngineError("TINYRNN_ENGINE=compiled needs numba: pip install 'tinyrnn[fast]'") from None
            return None
        _kernels = compiled_kernels
    return _kernels


def engine_name():
    """"compiled" or "numpy": the engine the walkthrough's model trains with here."""
    return "numpy" if kernels() is None else "compiled"


NO_MASK = np.zeros((0, 0), bool)


def elman_layout(model):
    """The kernel's layout of model's parameters: offsets in model.flat of W_xh, W_hh,
    bias_ih, bias_hh (-1: the walkthrough's one bh), W_hy, b_y, then H, V, C."""
    names = model.stack.layers[0][0].names
    offsets = {}
    for name, array in model.params.items():
        offsets[name] = (array.__array_interface__["data"][0] - model.flat.__array_interface__["data"][0]) \
            // model.flat.itemsize
    roles = [names["weight_ih"], names["weight_hh"], names["bias_ih"], names["bias_hh"],
             model.output_weight, model.output_bias]
    return np.array([offsets[name] if name else -1 for name in roles]
                    + [model.hidden_size, len(model.vocab), len(model.classes)], np.int64)


def elman_classifier_step(model, ids, mask, targets, h0):
    """Classifier.loss_and_gradients of the walkthrough's model through the compiled kernel:
    (mean loss, logits (B, C), final h (B, H), dL/dh_0 (B, H)); fills model.flat_grads."""
    if model.kernel_layout is None:
        model.kernel_layout = elman_layout(model)
    C, H = len(model.classes), model.hidden_size
    result = _kernels.elman_classifier(ids, NO_MASK if mask is None else mask, targets, h0,
                                       model.config.nonlinearity == "relu", model.flat, model.flat_grads,
                                       model.kernel_layout)
    return float(np.add.reduce(result[:, 0])) / len(ids), result[:, 1:1 + C], \
        result[:, 1 + C:1 + C + H], result[:, 1 + C + H:]

