"""The LSTM cell (Hochreiter & Schmidhuber, 1997), PyTorch's formulation and gate order.

Equations, one row per sequence, gates in the order i, f, g, o:

    [a_i a_f a_g a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          (B, 4H)
    i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

The state is s_t = [h_t | c_t], (B, 2H); the layer holds the whole of it over padding.
The input side W_ih x_t + b_ih + b_hh is computed for all steps outside the time loop.

Backpropagation through time, with dh and dc the gradients reaching h_t and c_t:

    dc    += dh * o * (1 - tanh(c_t)^2)            through h_t = o tanh(c_t)
    da_i   = dc * g * i (1 - i)       da_f = dc * c_{t-1} * f (1 - f)
    da_g   = dc * i * (1 - g^2)       da_o = dh * tanh(c_t) * o (1 - o)
    dc_{t-1} = dc * f                 dh_{t-1} = W_hh^T da

Every factor that does not involve dh or dc ("local" derivatives) is computed for all
steps at once before the loop, so a step of BPTT is six array operations.

reference_step is the equations above as plain NumPy; LSTMCell is the fast step the layer
loops (recurrent.py), which computes the gates with one tanh (functional.gate_scale) and is
held equal to reference_step by tests/test_reference_steps.py.
"""
from dataclasses import dataclass

import numpy as np

from .functional import by_gate, gate_scale, product_into, sigmoid

GATES = ("i", "f", "g", "o")          # the blocks of H rows of W_ih, W_hh, b_ih, b_hh, in order


def reference_step(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """(h_t, c_t), each (B, H), from x_t (B, in), h_{t-1} and c_{t-1} (B, H): one row per
    sequence, PyTorch's parameters (weight_ih [4H, in] = [W_ii; W_if; W_ig; W_io], ...)."""
    W_i, W_h, b_i, b_h = (by_gate(p, GATES) for p in (weight_ih, weight_hh, bias_ih, bias_hh))
    i = sigmoid(x @ W_i["i"].T + b_i["i"] + h_prev @ W_h["i"].T + b_h["i"])     # input gate
    f = sigmoid(x @ W_i["f"].T + b_i["f"] + h_prev @ W_h["f"].T + b_h["f"])     # forget gate
    g = np.tanh(x @ W_i["g"].T + b_i["g"] + h_prev @ W_h["g"].T + b_h["g"])     # candidate
    o = sigmoid(x @ W_i["o"].T + b_i["o"] + h_prev @ W_h["o"].T + b_h["o"])     # output gate
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c


@dataclass(slots=True)
class LSTMStep:
    """One forward step's arrays, views into the layer's workspace."""
    gx: np.ndarray              # (B, 4H) W_ih x_t + b, times the gate scale
    hidden_prev: np.ndarray     # (B, H) h_{t-1}
    cell_prev: np.ndarray       # (B, H) c_{t-1}
    hidden: np.ndarray          # (B, H) h_t
    cell: np.ndarray            # (B, H) c_t
    gates: np.ndarray           # (B, 4H) [i f g o], kept for backward
    i: np.ndarray               # (B, H) each a view of gates
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    scale: np.ndarray           # (B, 4H) s and 1 - s of the gate scale; full size: NumPy is
    shift: np.ndarray           # about twice as fast with them as with a broadcast (4H,) row


@dataclass(slots=True)
class LSTMBackStep:
    """One BPTT step's arrays, views into the layer's workspace."""
    local_ifg: np.ndarray       # (B, 3, H) [g i(1-i), c_{t-1} f(1-f), i(1-g^2)]
    local_o: np.ndarray         # (B, H) tanh(c_t) o(1-o)
    local_c: np.ndarray         # (B, H) o (1 - tanh(c_t)^2)
    f: np.ndarray               # (B, H) the forget gate
    d_hidden: np.ndarray        # (B, H) dL/dh_t
    d_cell: np.ndarray          # (B, H) dL/dc_t, made the total in place
    d_cell_3d: np.ndarray       # (B, 1, H) the same, to multiply three gates at once
    d_gates: np.ndarray         # (B, 4H) [da_i da_f da_g da_o]
    d_ifg: np.ndarray           # (B, 3, H) and its views
    d_o: np.ndarray             # (B, H)
    d_hidden_prev: np.ndarray   # (B, H) dL/dh_{t-1}
    d_cell_prev: np.ndarray     # (B, H) dL/dc_{t-1}
    product: object             # np.dot or np.matmul into d_hidden_prev (functional.product_into)


class LSTMCell:
    """Gates i, f, g, o; state [h | c] (B, 2H); caches the gate values [i f g o] per step."""

    kind, GATES, SIGMOID_GATES = "lstm", GATES, ("i", "f", "o")
    state_factor, cache_factor, local_factor = 2, 4, 5
    separate_recurrent_grad = False

    def __init__(self, hidden_size):
        self.hidden_size = hidden_size

    def __repr__(self):
        return f"LSTMCell(hidden_size={self.hidden_size})"

    def folded_bias(self, bias_ih, bias_hh):
        return bias_ih if bias_hh is None else bias_ih + bias_hh

    def gate_scale(self, dtype):
        return gate_scale(GATES, self.SIGMOID_GATES, self.hidden_size, dtype)

    def step_arrays(self, gx, state_prev, state, gates):
        H, B = self.hidden_size, len(gx)
        scale = np.tile(self.gate_scale(gx.dtype), (B, 1))
        return LSTMStep(gx=gx, hidden_prev=state_prev[:, :H], cell_prev=state_prev[:, H:],
                        hidden=state[:, :H], cell=state[:, H:], gates=gates, **by_gate(gates, GATES, axis=1),
                        scale=scale, shift=1.0 - scale)

    def forward_step(self, W_hh_T, bias_hh):
        """step(s: LSTMStep): the gates into the cache, then c_t and h_t into the state;
        W_hh_T (H, 4H) laid out and scaled by the layer."""
        dot, multiply, add, tanh = np.dot, np.multiply, np.add, np.tanh

        def step(s):
            gates, hidden, cell = s.gates, s.hidden, s.cell           # (each used several times)
            dot(s.hidden_prev, W_hh_T, out=gates)                     # s a = s W_hh h_{t-1}
            add(gates, s.gx, out=gates)                               #     + s (W_ih x_t + b)
            tanh(gates, out=gates)
            multiply(gates, s.scale, out=gates)
            add(gates, s.shift, out=gates)                            # s tanh(s a) + 1 - s: i, f, o sigmoid, g tanh
            multiply(s.i, s.g, out=hidden)                            # (h_t as scratch)
            multiply(s.f, s.cell_prev, out=cell)
            add(cell, hidden, out=cell)                               # c = f * c_prev + i * g
            tanh(cell, out=hidden)
            multiply(hidden, s.o, out=hidden)                         # h = o * tanh(c)
        return step

    def local_gradients(self, gates, states, out):
        """out (T, B, 5H) = [g i(1-i), c_{t-1} f(1-f), i(1-g^2), tanh(c) o(1-o), o(1-tanh(c)^2)]:
        da_i, da_f, da_g per unit dc, da_o per unit dh, and dc per unit dh."""
        H = self.hidden_size
        gate, local = by_gate(gates, GATES, axis=-1), by_gate(out, (*GATES, "c"), axis=-1)
        cell_prev, tanh_cell = states[:-1, :, H:], np.tanh(states[1:, :, H:])
        for name, factor in (("i", gate["g"]), ("f", cell_prev), ("o", tanh_cell)):
            np.subtract(1.0, gate[name], out=local[name])
            local[name] *= gate[name]
            local[name] *= factor                                     # factor * sigmoid'
        np.multiply(gate["g"], gate["g"], out=local["g"])
        np.subtract(1.0, local["g"], out=local["g"])
        local["g"] *= gate["i"]                                       # i * tanh'(a_g)
        np.multiply(tanh_cell, tanh_cell, out=local["c"])
        np.subtract(1.0, local["c"], out=local["c"])
        local["c"] *= gate["o"]                                       # o * tanh'(c_t)

    def back_step_arrays(self, local, d_state, d_gates, d_gh, d_state_prev, gates):
        H, B = self.hidden_size, len(local)
        return LSTMBackStep(
            local_ifg=local.reshape(B, 5, H)[:, :3], local_o=local[:, 3 * H:4 * H], local_c=local[:, 4 * H:],
            f=gates[:, H:2 * H], d_hidden=d_state[:, :H], d_cell=d_state[:, H:], d_cell_3d=d_state[:, None, H:],
            d_gates=d_gates, d_ifg=d_gates.reshape(B, 4, H)[:, :3], d_o=d_gates[:, 3 * H:],
            d_hidden_prev=d_state_prev[:, :H], d_cell_prev=d_state_prev[:, H:],
            product=product_into(d_state_prev[:, :H]))

    def backward_step(self, W_hh):
        """step(s: LSTMBackStep). The dc half of ds_t is overwritten with the total dc
        (the layer has no further use for it; at padding it stays dc, as the local
        derivatives are zero there)."""
        multiply, add = np.multiply, np.add

        def step(s):
            multiply(s.d_hidden, s.local_c, out=s.d_o)                # (d_o as scratch)
            add(s.d_cell, s.d_o, out=s.d_cell)                        # dc += dh o tanh'(c)
            multiply(s.d_cell_3d, s.local_ifg, out=s.d_ifg)           # da_i, da_f, da_g
            multiply(s.d_hidden, s.local_o, out=s.d_o)                # da_o
            multiply(s.d_cell, s.f, out=s.d_cell_prev)                # dc_{t-1} = dc f
            s.product(s.d_gates, W_hh, out=s.d_hidden_prev)           # dh_{t-1} = W_hh^T da
        return step
