"""The vanilla (Elman) RNN cell of the walkthrough.

Equations, for one sequence with column vectors (the walkthrough's notation):

    h_t = tanh(Wxh x_t + Whh h_{t-1} + bh)          x_t one-hot over the vocabulary

tinyrnn works batch-major, one row per sequence: with X_t (B, V) and H_t (B, H),
H_t = tanh(X_t Wxh^T + H_{t-1} Whh^T + bh), the same numbers transposed. Because x_t is
one-hot, Wxh x_t is column x_t of Wxh: the input projection is a lookup, done for all
steps at once outside the time loop (see recurrent.py).

Backpropagation through time, with dh the gradient reaching h_t:

    dpre      = (1 - h_t^2) * dh                     backprop through tanh
    dWhh     += dpre h_{t-1}^T                       summed over steps (one product, below)
    dWxh     += dpre x_t^T,  dbh += dpre
    dh_{t-1}  = Whh^T dpre                           (the walkthrough used Whh dpre: wrong)

Parameters, in the walkthrough's shapes: Wxh [H, V], Whh [H, H], bh [H].
"""
import numpy as np

from .functional import tanh_grad


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

    def input_projection(self, params, ids):
        """Wxh x_t + bh for every step at once: ids (B, T) -> (B, T, H)."""
        return params["Wxh"].T[ids] + params["bh"]

    def step(self, params, projected_input, hidden):
        """One step: projected_input (B, H) = Wxh x_t + bh, hidden (B, H) = h_{t-1}."""
        return np.tanh(projected_input + hidden @ params["Whh"].T)

    def step_backward(self, params, d_hidden, hidden, hidden_prev):
        """Gradients of one step: returns (dpre, dh_{t-1}), both (B, H)."""
        dpre = tanh_grad(hidden) * d_hidden                # backprop through tanh
        return dpre, dpre @ params["Whh"]                   # dh_{t-1} = Whh^T dpre

    def param_grads(self, ids, dpre, hidden_prev, grads):
        """Weight gradients from all steps at once, written into grads.

        ids (B, T); dpre (B, T, H) gradients of the pre-activations (zero at padding);
        hidden_prev (B, T, H) = h_{t-1} at every step.
        """
        H = self.hidden_size
        rows = dpre.reshape(-1, H)                                          # (B*T, H)
        np.matmul(rows.T, hidden_prev.reshape(-1, H), out=grads["Whh"])     # sum_t dpre h_{t-1}^T
        np.sum(rows, axis=0, out=grads["bh"])                               # sum_t dpre
        grads["Wxh"][...] = 0.0
        np.add.at(grads["Wxh"].T, ids.reshape(-1), rows)                    # sum_t dpre x_t^T
