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
reference_step below is the equation as plain NumPy; the class is the fast step the layer
loops (recurrent.py), held equal to it by tests/test_reference_steps.py.
"""
from dataclasses import dataclass

import numpy as np

NONLINEARITIES = ("tanh", "relu")


def reference_step(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh=0.0, nonlinearity="tanh"):
    """h_t (B, H) from x_t (B, in) and h_{t-1} (B, H): one row per sequence, PyTorch's names
    (the walkthrough's Wxh, Whh, bh: bias_ih = bh, bias_hh = 0)."""
    pre = x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    return np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0.0)


@dataclass(slots=True)
class RNNStep:
    """One forward step's arrays, views into the layer's workspace."""
    gx: np.ndarray              # (B, H) Wxh x_t + bh
    hidden_prev: np.ndarray     # (B, H) h_{t-1}
    hidden: np.ndarray          # (B, H) h_t


@dataclass(slots=True)
class RNNBackStep:
    """One BPTT step's arrays, views into the layer's workspace."""
    local: np.ndarray           # (B, H) d h_t / d pre_t
    d_hidden: np.ndarray        # (B, H) dL/dh_t
    d_pre: np.ndarray           # (B, H) dL/d pre_t (d gx = d gh)
    d_hidden_prev: np.ndarray   # (B, H) dL/dh_{t-1}


class RNNCell:
    """h_t = tanh(Wxh x_t + Whh h_{t-1} + bh), or relu; state h (B, H)."""

    kind, GATES = "rnn", ("h",)              # one block: the pre-activation of h
    state_factor, cache_factor, local_factor = 1, 0, 1
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
        return None                                          # no gates: gx and Whh as they are

    def step_arrays(self, gx, state_prev, state, cache):
        return RNNStep(gx=gx, hidden_prev=state_prev, hidden=state)

    def forward_step(self, Whh_T, bias_hh):
        """step(s: RNNStep): h_t = tanh(gx_t + Whh h_{t-1}), in place; Whh_T (H, H) laid out
        by the layer.

        np.dot and ufuncs with out= because on small arrays their call overhead is about
        half that of np.matmul and in-place operators."""
        dot, add, tanh, maximum = np.dot, np.add, np.tanh, np.maximum
        relu = self.nonlinearity == "relu"

        def step(s):
            dot(s.hidden_prev, Whh_T, out=s.hidden)                 # Whh h_{t-1}
            add(s.hidden, s.gx, out=s.hidden)                       # + Wxh x_t + bh
            if relu:
                maximum(s.hidden, 0.0, out=s.hidden)
            else:
                tanh(s.hidden, out=s.hidden)
        return step

    def local_gradients(self, cache, states, out):
        """out (T, B, H) = d h_t / d pre_t for all steps at once: 1 - h_t^2 (relu: h_t > 0)."""
        hidden = states[1:]
        if self.nonlinearity == "relu":
            np.greater(hidden, 0.0, out=out)
        else:
            np.multiply(hidden, hidden, out=out)
            np.subtract(1.0, out, out=out)

    def back_step_arrays(self, local, d_state, d_gx, d_gh, d_state_prev, cache):
        return RNNBackStep(local=local, d_hidden=d_state, d_pre=d_gx, d_hidden_prev=d_state_prev)

    def backward_step(self, Whh):
        """step(s: RNNBackStep): dpre = local * dh, dh_{t-1} = Whh^T dpre."""
        dot, multiply = np.dot, np.multiply

        def step(s):
            multiply(s.local, s.d_hidden, out=s.d_pre)              # backprop through tanh
            dot(s.d_pre, Whh, out=s.d_hidden_prev)                  # Whh^T dpre, row form
        return step
