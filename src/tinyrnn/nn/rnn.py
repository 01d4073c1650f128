"""The vanilla (Elman) RNN cell of the walkthrough.

Equations, for one sequence with column vectors (the walkthrough's notation):

    h_t = tanh(Wxh x_t + Whh h_{t-1} + bh)          x_t one-hot over the vocabulary

tinyrnn works with one row per sequence: with H_t (B, H), H_t = tanh(X_t Wxh^T +
H_{t-1} Whh^T + bh), the same numbers transposed. Because x_t is one-hot, Wxh x_t is
column x_t of Wxh: the input projection is a lookup, done for all steps at once outside
the time loop (see recurrent.py).

Backpropagation through time, with dh the gradient reaching h_t:

    dpre      = (1 - h_t^2) * dh                     backprop through tanh
    dh_{t-1}  = Whh^T dpre                           (the walkthrough used Whh dpre: wrong)
    dWhh      = sum_t dpre h_{t-1}^T                 one product over all steps
    dWxh      = sum_t dpre x_t^T,  dbh = sum_t dpre

Parameters, in the walkthrough's shapes: Wxh [H, V], Whh [H, H], bh [H].
Arrays inside the time loop are time-major, (T, B, H), so each step's rows are contiguous.
"""
import numpy as np

from .layers import onehot_backward


class RNNCell:
    """h_t = tanh(Wxh x_t + Whh h_{t-1} + bh); state is h, shape (B, H)."""

    kind = "rnn"

    def __init__(self, input_size, hidden_size):
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"RNNCell sizes must be positive, got input {input_size}, hidden {hidden_size}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.state_size = hidden_size

    def __repr__(self):
        return f"RNNCell(input_size={self.input_size}, hidden_size={self.hidden_size})"

    def param_shapes(self):
        H, V = self.hidden_size, self.input_size
        return {"Wxh": (H, V), "Whh": (H, H), "bh": (H,)}

    def input_projection(self, params, ids, out):
        """out (T, B, H) = Wxh x_t + bh for every step; ids (T, B) time-major."""
        np.add(params["Wxh"].T[ids], params["bh"], out=out)       # column x_t of Wxh, + bh

    def forward_step(self, params):
        """The step function h_new = tanh(projected + Whh h_prev), in place; projected = Wxh x_t + bh.

        np.dot and ufuncs with out= are used because on small arrays their call overhead
        is about half that of np.matmul and in-place operators.
        """
        Whh_T, dot, add, tanh = params["Whh"].T, np.dot, np.add, np.tanh

        def step(projected, hidden_prev, hidden_new):
            dot(hidden_prev, Whh_T, out=hidden_new)                 # Whh h_{t-1}
            add(hidden_new, projected, out=hidden_new)              # + Wxh x_t + bh
            tanh(hidden_new, out=hidden_new)
        return step

    def local_gradients(self, states, out):
        """out (T, B, H) = 1 - h_t^2 for all steps at once: d tanh at each step."""
        np.multiply(states[1:], states[1:], out=out)
        np.subtract(1.0, out, out=out)

    def backward_step(self, params):
        """The step function of BPTT: dpre = (1 - h_t^2) * dh, dh_{t-1} = Whh^T dpre."""
        Whh, dot, multiply = params["Whh"], np.dot, np.multiply

        def step(local, d_hidden, dpre, d_hidden_prev):
            multiply(local, d_hidden, out=dpre)                     # backprop through tanh
            dot(dpre, Whh, out=d_hidden_prev)                       # Whh^T dpre, row form
        return step

    def param_grads(self, ids, dpre, states, grads):
        """Weight gradients from all steps at once, written into grads.

        ids (T, B); dpre (T, B, H), zero at padding; states (T + 1, B, H).
        """
        H = self.hidden_size
        rows = dpre.reshape(-1, H)                                              # (T*B, H)
        np.dot(rows.T, states[:-1].reshape(-1, H), out=grads["Whh"])           # sum_t dpre h_{t-1}^T
        np.add.reduce(rows, axis=0, out=grads["bh"])                            # sum_t dpre
        onehot_backward(ids.reshape(-1), rows, grads["Wxh"])                    # sum_t dpre x_t^T
