"""The vanilla (Elman) RNN cell of the walkthrough.

Equations, for one sequence with column vectors (the walkthrough's notation):

    h_t = tanh(Wxh x_t + Whh h_{t-1} + bh)          x_t one-hot over the vocabulary

(PyTorch's names: Wxh = weight_ih, Whh = weight_hh, bh = bias_ih + bias_hh; with
nonlinearity relu, tanh is replaced by max(0, .).) tinyrnn works with one row per
sequence: H_t (B, H) = tanh(X_t Wxh^T + H_{t-1} Whh^T + bh), the same numbers transposed.
The input side gx_t = Wxh x_t + bh does not depend on the state, so the layer computes it
for all steps at once outside the time loop (recurrent.py); the step adds Whh h_{t-1}.

Backpropagation through time, with dh the gradient reaching h_t:

    dpre      = (1 - h_t^2) * dh                     backprop through tanh (relu: [h_t > 0] * dh)
    dh_{t-1}  = Whh^T dpre                           (the walkthrough used Whh dpre: wrong)
    dWhh      = sum_t dpre h_{t-1}^T                 one product over all steps (recurrent.py)
    dWxh      = sum_t dpre x_t^T,  dbh = sum_t dpre

Widths: state S = H, gates G = H, nothing cached (d tanh comes from the states).
"""
import numpy as np

from .functional import laid_out_for

NONLINEARITIES = ("tanh", "relu")


class RNNCell:
    """h_t = tanh(Wxh x_t + Whh h_{t-1} + bh), or relu; state h (B, H)."""

    kind, gates, state_factor, cache_factor, local_factor = "rnn", 1, 1, 0, 1
    separate_recurrent_grad = False          # d gx = d gh: one buffer (recurrent.py)

    def __init__(self, hidden_size, nonlinearity="tanh"):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"unknown nonlinearity {nonlinearity!r}; expected one of {list(NONLINEARITIES)}")
        self.hidden_size, self.nonlinearity = hidden_size, nonlinearity

    def __repr__(self):
        return f"RNNCell(hidden_size={self.hidden_size}, nonlinearity={self.nonlinearity!r})"

    def folded_bias(self, bias_ih, bias_hh):
        """The bias added to gx outside the loop: bh, or bias_ih + bias_hh."""
        return bias_ih if bias_hh is None else bias_ih + bias_hh

    def gate_scale(self, dtype):
        return None                                          # gx is used as it is

    def forward_views(self, gx, hidden_prev, hidden_new, cache):
        """The arrays one forward step touches, made once per workspace (see recurrent.py)."""
        return gx, hidden_prev, hidden_new

    def forward_step(self, Whh, bias_hh, batch):
        """step(gx_t, h_prev, h_new): h_new = tanh(gx_t + Whh h_prev), in place.

        np.dot and ufuncs with out= because on small arrays their call overhead is about
        half that of np.matmul and in-place operators."""
        Whh_T, dot, add = laid_out_for(Whh.T, batch), np.dot, np.add
        relu = self.nonlinearity == "relu"
        tanh, maximum = np.tanh, np.maximum

        def step(gx, hidden_prev, hidden_new):
            dot(hidden_prev, Whh_T, out=hidden_new)                 # Whh h_{t-1}
            add(hidden_new, gx, out=hidden_new)                     # + Wxh x_t + bh
            if relu:
                maximum(hidden_new, 0.0, out=hidden_new)
            else:
                tanh(hidden_new, out=hidden_new)
        return step

    def local_gradients(self, cache, states, out):
        """out (T, B, H) = d h_t / d pre_t for all steps at once: 1 - h_t^2 (relu: h_t > 0)."""
        hidden = states[1:]
        if self.nonlinearity == "relu":
            np.greater(hidden, 0.0, out=out)
        else:
            np.multiply(hidden, hidden, out=out)
            np.subtract(1.0, out, out=out)

    def backward_views(self, local, d_hidden, d_gx, d_gh, d_hidden_prev, cache):
        return local, d_hidden, d_gx, d_hidden_prev

    def backward_step(self, Whh):
        """step(local_t, dh, dpre, dh_prev): dpre = local * dh, dh_{t-1} = Whh^T dpre."""
        dot, multiply = np.dot, np.multiply

        def step(local, d_hidden, dpre, d_hidden_prev):
            multiply(local, d_hidden, out=dpre)                     # backprop through tanh
            dot(dpre, Whh, out=d_hidden_prev)                       # Whh^T dpre, row form
        return step
