"""The compiled engine's kernels (nn/compiled.py says what they compute and when they run):
module-level functions, so that numba's cache keeps them from run to run. Imported only when
the compiled engine is used; numba is the optional `fast` extra."""
import numba
import numpy as np


def _jit(function):
    """numba.njit, cached in __pycache__ (or NUMBA_CACHE_DIR) from run to run; where numba has
    no folder it can cache in (an installation it cannot write beside, no home folder), compiled
    for this process only."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:
        return numba.njit(nogil=True)(function)


@_jit
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


@_jit
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


@_jit
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


@_jit
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


@_jit
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


@_jit
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
