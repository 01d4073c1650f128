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

Speed: sigmoid(a) = 0.5 tanh(a / 2) + 0.5, so the i, f, o rows of W_ih, b and W_hh are
used halved (gate_scale) and one tanh and one affine map give all four gates.
"""
import numpy as np

from .functional import laid_out_for, product_into


class LSTMCell:
    """Gates i, f, g, o; state [h | c] (B, 2H); caches the gate values [i f g o] per step."""

    kind, gates, state_factor, cache_factor, local_factor = "lstm", 4, 2, 4, 5
    separate_recurrent_grad = False

    def __init__(self, hidden_size):
        self.hidden_size = hidden_size

    def __repr__(self):
        return f"LSTMCell(hidden_size={self.hidden_size})"

    def folded_bias(self, bias_ih, bias_hh):
        return bias_ih if bias_hh is None else bias_ih + bias_hh

    def gate_scale(self, dtype):
        """sigmoid(a) = 0.5 tanh(a / 2) + 0.5: the layer halves the i, f, o pre-activations of
        gx, and forward_step those of W_hh h, so that one tanh serves all four gates."""
        return np.repeat(np.array([0.5, 0.5, 1.0, 0.5], dtype), self.hidden_size)

    def forward_views(self, gx, state_prev, state_new, gates):
        """The arrays one forward step touches, made once per workspace (see recurrent.py),
        and the affine map's constants at full size (B, 4H): NumPy is about twice as fast
        with them as with a broadcast (4H,) row."""
        H, B = self.hidden_size, len(gx)
        scale = np.tile(self.gate_scale(gx.dtype), (B, 1))
        shift = np.where(scale == 1.0, 0.0, 0.5).astype(gx.dtype)     # 0.5 on i, f, o; 0 on g
        return (gx, state_prev[:, :H], state_prev[:, H:], state_new[:, :H], state_new[:, H:], gates,
                *(gates[:, k * H:(k + 1) * H] for k in range(4)), scale, shift)

    def forward_step(self, W_hh, bias_hh, batch):
        """step(*forward_views): the gates into the cache, then c_t and h_t into the state."""
        dot, multiply, add, tanh = np.dot, np.multiply, np.add, np.tanh
        W_hh_T = laid_out_for(W_hh.T * self.gate_scale(W_hh.dtype), batch)   # (H, 4H)

        def step(gx, hidden_prev, cell_prev, hidden_new, cell_new, gates, i, f, g, o, scale, shift):
            dot(hidden_prev, W_hh_T, out=gates)                       # W_hh h_{t-1} (i, f, o halved)
            add(gates, gx, out=gates)                                 # + W_ih x_t + b
            tanh(gates, out=gates)
            multiply(gates, scale, out=gates)
            add(gates, shift, out=gates)                              # i, f, o: sigmoid; g: tanh
            multiply(i, g, out=hidden_new)                            # (h_new as scratch)
            multiply(f, cell_prev, out=cell_new)
            add(cell_new, hidden_new, out=cell_new)                   # c_t = f c_{t-1} + i g
            tanh(cell_new, out=hidden_new)
            multiply(hidden_new, o, out=hidden_new)                   # h_t = o tanh(c_t)
        return step

    def local_gradients(self, gates, states, out):
        """out (T, B, 5H) = [g i(1-i), c_{t-1} f(1-f), i(1-g^2), tanh(c) o(1-o), o(1-tanh(c)^2)]."""
        H = self.hidden_size
        i, f, g, o = (gates[..., k * H:(k + 1) * H] for k in range(4))
        cell_prev, tanh_cell = states[:-1, :, H:], np.tanh(states[1:, :, H:])
        blocks = [out[..., k * H:(k + 1) * H] for k in range(5)]
        for block, gate, factor in ((blocks[0], i, g), (blocks[1], f, cell_prev), (blocks[3], o, tanh_cell)):
            np.subtract(1.0, gate, out=block)
            block *= gate
            block *= factor                                           # factor * sigmoid'
        np.multiply(g, g, out=blocks[2])
        np.subtract(1.0, blocks[2], out=blocks[2])
        blocks[2] *= i                                                # i * tanh'(a_g)
        np.multiply(tanh_cell, tanh_cell, out=blocks[4])
        np.subtract(1.0, blocks[4], out=blocks[4])
        blocks[4] *= o                                                # o * tanh'(c_t)

    def backward_views(self, local, d_state, d_gates, d_gh, d_state_prev, gates):
        """The arrays one BPTT step touches, made once per workspace."""
        H, B = self.hidden_size, len(local)
        d_hidden_prev = d_state_prev[:, :H]
        return (local.reshape(B, 5, H)[:, :3], local[:, 3 * H:4 * H], local[:, 4 * H:], gates[:, H:2 * H],
                d_state[:, :H], d_state[:, H:], d_state[:, None, H:], d_gates, d_gates.reshape(B, 4, H)[:, :3], d_gates[:, 3 * H:],
                d_hidden_prev, d_state_prev[:, H:], product_into(d_hidden_prev))

    def backward_step(self, W_hh):
        """step(*backward_views). The dc half of ds_t is overwritten with the total dc
        (the layer has no further use for it; at padding it stays dc, as the local
        derivatives are zero there)."""
        multiply, add = np.multiply, np.add

        def step(local_ifg, local_o, local_c, forget, d_hidden, d_cell, d_cell_3d, d_gates, d_ifg, d_o,
                 d_hidden_prev, d_cell_prev, product):
            multiply(d_hidden, local_c, out=d_o)                      # (d_o as scratch)
            add(d_cell, d_o, out=d_cell)                              # dc += dh o tanh'(c)
            multiply(d_cell_3d, local_ifg, out=d_ifg)                 # da_i, da_f, da_g
            multiply(d_hidden, local_o, out=d_o)                      # da_o
            multiply(d_cell, forget, out=d_cell_prev)                 # dc_{t-1} = dc f
            product(d_gates, W_hh, out=d_hidden_prev)                 # dh_{t-1} = W_hh^T da
        return step
