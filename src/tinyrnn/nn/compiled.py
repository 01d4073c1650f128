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
            import numba
        except ImportError:
            if choice == "compiled":
                raise EngineError("TINYRNN_ENGINE=compiled needs numba: pip install 'tinyrnn[fast]'") from None
            return None
        try:
            _kernels = _compile(numba, cache=True)           # compiled once, then read from numba's cache
        except RuntimeError:                                 # no folder numba can cache in: compile each run
            _kernels = _compile(numba, cache=False)
    return _kernels


def engine_name():
    """"compiled" or "numpy": the engine the walkthrough's model trains with here."""
    return "numpy" if kernels() is None else "compiled"


def _compile(numba, cache):
    jit = numba.njit(cache=cache, nogil=True)

    @jit
    def views(flat, layout):
        """W_xh (H, V), W_hh (H, H), W_hy (C, H), b_y (C,) in flat, and the folded bias (a copy)."""
        H, V, C = layout[6], layout[7], layout[8]
        W_xh = flat[layout[0]:layout[0] + H * V].reshape(H, V)
        W_hh = flat[layout[1]:layout[1] + H * H].reshape(H, H)
        W_hy, b_y = flat[layout[4]:layout[4] + C * H].reshape(C, H), flat[layout[5]:layout[5] + C]
        bias = flat[layout[2]:layout[2] + H].copy()
        if layout[3] >= 0:
            bias += flat[layout[3]:layout[3] + H]                   # bias_ih + bias_hh, folded
        return W_xh, W_hh, W_hy, b_y, bias

    @jit
    def zeroed_gradients(flat_grads, layout):
        """The gradients' views (d W_xh, d W_hh, d bias, d W_hy, d b_y), set to zero."""
        H, V, C = layout[6], layout[7], layout[8]
        d_W_xh = flat_grads[layout[0]:layout[0] + H * V].reshape(H, V)
        d_W_hh = flat_grads[layout[1]:layout[1] + H * H].reshape(H, H)
        d_bias = flat_grads[layout[2]:layout[2] + H]
        d_W_hy, d_b_y = flat_grads[layout[4]:layout[4] + C * H].reshape(C, H), flat_grads[layout[5]:layout[5] + C]
        d_W_xh[...] = 0.0
        d_W_hh[...] = 0.0
        d_bias[...] = 0.0
        d_W_hy[...] = 0.0
        d_b_y[...] = 0.0
        return d_W_xh, d_W_hh, d_bias, d_W_hy, d_b_y

    @jit
    def recur(states, ids, mask, masked, W_xh, W_hh_T, bias, relu):
        """states[1:] of one row: h_t = tanh(Whh h_{t-1} + Wxh x_t + bias), held at padding."""
        H = W_hh_T.shape[0]
        for t in range(len(ids)):
            h, h_prev = states[t + 1], states[t]
            if masked and not mask[t]:
                h[:] = h_prev
                continue
            h[:] = 0.0
            for k in range(H):                                     # Whh h_{t-1}, column by column
                x = h_prev[k]
                for j in range(H):
                    h[j] += W_hh_T[k, j] * x
            word = ids[t]
            for j in range(H):
                a = h[j] + (W_xh[j, word] + bias[j])
                h[j] = max(a, 0.0) if relu else np.tanh(a)

    @jit
    def output_layer(h, target, weight, W_hy, b_y, y, d_y, d_W_hy, d_b_y, d_h):
        """y = Why h + by, -ln softmax(y)[target] (returned), dy = weight (p - onehot): adds
        dy h^T to d_W_hy, dy to d_b_y, Why^T dy to d_h."""
        C, H = W_hy.shape
        for c in range(C):
            s = 0.0
            for j in range(H):
                s += W_hy[c, j] * h[j]
            y[c] = s + b_y[c]
        top = y.max()
        total = 0.0
        for c in range(C):
            d_y[c] = np.exp(y[c] - top)
            total += d_y[c]
        loss = -(y[target] - top) + np.log(total)
        for c in range(C):
            d_y[c] /= total                                        # p
        d_y[target] -= 1.0                                         # p - onehot(c)
        for c in range(C):
            g = d_y[c] * weight
            d_b_y[c] += g
            for j in range(H):
                d_W_hy[c, j] += g * h[j]
                d_h[j] += W_hy[c, j] * g                           # Why^T dy
        return loss

    @jit
    def backprop(states, ids, mask, masked, d_h, d_outputs, W_hh, relu, d_pre, d_W_xh, d_W_hh, d_bias):
        """BPTT of one row from dL/dh_T in d_h (left holding dL/dh_0); d_outputs (T, H) adds
        each step's own dL/dh_t (or (0, H): none)."""
        H = W_hh.shape[0]
        outputs = d_outputs.shape[0] > 0
        for t in range(len(ids) - 1, -1, -1):
            if outputs:
                d_h += d_outputs[t]
            if masked and not mask[t]:
                continue                                           # padding passes dh on
            h, h_prev = states[t + 1], states[t]
            for j in range(H):
                local = (1.0 if h[j] > 0.0 else 0.0) if relu else 1.0 - h[j] * h[j]
                d_pre[j] = local * d_h[j]
            word = ids[t]
            d_h[:] = 0.0
            for j in range(H):
                g = d_pre[j]
                d_bias[j] += g
                d_W_xh[j, word] += g
                for k in range(H):
                    d_W_hh[j, k] += g * h_prev[k]                   # dpre h_{t-1}^T
                    d_h[k] += W_hh[j, k] * g                       # Whh^T dpre

    @jit
    def elman_classifier(ids, mask, targets, h0, relu, flat, flat_grads, layout):
        """One batch: forward, mean softmax cross-entropy, BPTT. Writes the gradients into
        flat_grads (the model's, zeroed first) and returns (B, 1 + C + 2H): each row's loss,
        logits, final h and dL/dh_0. layout: the parameters' offsets in flat (W_xh, W_hh,
        bias_ih, bias_hh or -1, W_hy, b_y), then H, V, C. mask: (B, T) bool, or (0, 0)."""
        B, T = ids.shape
        H, C = layout[6], layout[8]
        W_xh, W_hh, W_hy, b_y, bias = views(flat, layout)
        d_W_xh, d_W_hh, d_bias, d_W_hy, d_b_y = zeroed_gradients(flat_grads, layout)
        masked = mask.shape[0] > 0
        W_hh_T = np.ascontiguousarray(W_hh.T)
        result = np.empty((B, 1 + C + 2 * H), flat.dtype)
        states = np.empty((T + 1, H), flat.dtype)                 # h_0 .. h_T of one row
        d_pre, d_h, d_y = np.empty(H, flat.dtype), np.empty(H, flat.dtype), np.empty(C, flat.dtype)
        no_outputs = np.empty((0, H), flat.dtype)
        for b in range(B):
            states[0] = h0[b]
            row_mask = mask[b] if masked else mask.ravel()
            recur(states, ids[b], row_mask, masked, W_xh, W_hh_T, bias, relu)
            d_h[:] = 0.0
            result[b, 0] = output_layer(states[T], targets[b], 1.0 / B, W_hy, b_y, result[b, 1:1 + C], d_y,
                                        d_W_hy, d_b_y, d_h)
            result[b, 1 + C:1 + C + H] = states[T]
            backprop(states, ids[b], row_mask, masked, d_h, no_outputs, W_hh, relu, d_pre, d_W_xh, d_W_hh, d_bias)
            result[b, 1 + C + H:] = d_h
        if layout[3] >= 0:
            flat_grads[layout[3]:layout[3] + H] = d_bias            # d bias_hh = d bias_ih
        return result

    class Kernels:
        pass

    kernels_ = Kernels()
    kernels_.elman_classifier = elman_classifier
    return kernels_


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

