"""Numerically stable softmax and log-softmax, the gated cells' gate scale, and the choice of
matrix product. Pure NumPy."""
import functools

import numpy as np


def softmax(logits, axis=-1):
    """p_i = exp(y_i - max y) / sum_j exp(y_j - max y); shifting by the max cannot overflow."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=axis, keepdims=True)


def log_softmax(logits, axis=-1):
    """log p_i = (y_i - max y) - log sum_j exp(y_j - max y), stable for any finite logits."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def laid_out_for(matrix, rows, scale=None, buffers=None):
    """matrix^T (in, out), times scale (out,) if given, laid out for `h @ matrix^T` over
    `rows` rows: for one row (a matrix-vector product, W h as the equations write it) in
    matrix's own memory order (the transposed view, when there is no scale); for several a
    row-major copy, which BLAS multiplies 1.2 to 1.9 times faster (B = 32 to 50, H = 64 to
    1024). The copy is made a block of rows of matrix at a time, each block small enough to
    stay in cache while it is turned and scaled: 2.5x faster than
    np.ascontiguousarray(matrix.T * scale) at H = 1024. buffers: a dict to keep the result's
    memory in from call to call (a new array of megabytes costs its page faults every call)."""
    if rows == 1 and scale is None:
        return matrix.T
    key = (rows == 1, matrix.shape, matrix.dtype.str)
    out = None if buffers is None else buffers.get(key)
    if out is None:
        out = np.empty(matrix.shape, matrix.dtype).T if rows == 1 else np.empty(matrix.shape[::-1], matrix.dtype)
        if buffers is not None:
            buffers.clear()                                      # (one shape at a time)
            buffers[key] = out
    if rows == 1:
        return np.multiply(matrix.T, scale, out=out)             # memory order kept: one contiguous pass
    height = max(1, (1 << 15) // matrix.shape[1])                # about 32,768 numbers a block
    for start in range(0, len(matrix), height):
        block = slice(start, start + height)
        if scale is None:
            out[:, block] = matrix[block].T
        else:
            np.multiply(matrix[block].T, scale[block], out=out[:, block])
    return out


def product_into(out):
    """np.dot where out is contiguous (lowest call overhead), else np.matmul (any strides)."""
    return np.dot if out.flags.c_contiguous else np.matmul


def sigmoid(a):
    """sigmoid(a) = 1 / (1 + exp(-a)), as the equations write it (the cells' reference_step)."""
    return 1.0 / (1.0 + np.exp(-a))


@functools.lru_cache(maxsize=64)
def gate_scale(gates, sigmoid_gates, hidden_size, dtype):
    """The gate-scale trick of the gated cells' fast step, (G*H,): s = 1/2 on the columns of
    a sigmoid gate, 1 on those of a tanh gate, so that one formula gives every gate,

        gate(a) = s * tanh(s * a) + (1 - s)      s = 1/2: sigmoid(a) = 0.5 tanh(a / 2) + 0.5
                                                 s = 1:   tanh(a)

    with one tanh over all the gates' pre-activations at once (a sigmoid is otherwise
    four array operations). The inner s * a costs nothing at run time: a = W_ih x + b +
    W_hh h is linear in the weights, so the layer multiplies W_ih, b and W_hh by s once per
    pass (recurrent.py: _pre_activations and laid_out_for) and the step applies tanh, * s and + (1 - s).
    gates: the cell's GATES; sigmoid_gates: those of them that are sigmoids."""
    scale = np.repeat(np.array([0.5 if gate in sigmoid_gates else 1.0 for gate in gates], dtype), hidden_size)
    scale.flags.writeable = False                           # shared: every call returns this one
    return scale


def by_gate(array, gates, axis=0):
    """{gate: block (a view)} of an array whose blocks of H along axis follow gates (the cell's
    GATES): by_gate(weight_ih, ("i", "f", "g", "o"))["f"] is W_if, rows H .. 2H."""
    width, before = array.shape[axis] // len(gates), (slice(None),) * (axis % array.ndim)
    return {gate: array[(*before, slice(k * width, (k + 1) * width))] for k, gate in enumerate(gates)}
