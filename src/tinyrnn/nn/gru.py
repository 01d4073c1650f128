"""The GRU cell (Cho et al., 2014), PyTorch's formulation and gate order r, z, n.

Equations, one row per sequence:

    r = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z) * n + z * h_{t-1}

The input side W_i. x_t + b_i. (+ b_hr, b_hz) is computed for all steps outside the time
loop; b_hn stays inside, since r multiplies it.

Backpropagation through time, with dh the gradient reaching h_t and gh_n = W_hn h_{t-1} + b_hn:

    da_n = dh * (1 - z) * (1 - n^2)                 gradient of n's pre-activation
    da_z = dh * (h_{t-1} - n) * z (1 - z)
    da_r = da_n * gh_n * r (1 - r)
    d gh_n = da_n * r                               the recurrent side of the n gate
    dh_{t-1} = dh * z + W_hh^T [da_r, da_z, d gh_n]

The input side's gate gradients d gx = [da_r, da_z, da_n] and the recurrent side's
d gh = [da_r, da_z, da_n * r] differ in the n block: the layer keeps two buffers.
"""
import numpy as np

from .functional import laid_out_for, product_into


class GRUCell:
    """Gates r, z, n; state h (B, H); caches [r z gh_n n] per step."""

    kind, gates, state_factor, cache_factor, local_factor = "gru", 3, 1, 4, 4
    separate_recurrent_grad = True

    def __init__(self, hidden_size):
        self.hidden_size = hidden_size

    def __repr__(self):
        return f"GRUCell(hidden_size={self.hidden_size})"

    def folded_bias(self, bias_ih, bias_hh):
        """b_ih + [b_hr, b_hz, 0]: b_hn is added inside the step."""
        bias = bias_ih.copy()
        bias[:2 * self.hidden_size] += bias_hh[:2 * self.hidden_size]
        return bias

    def gate_scale(self, dtype):
        """sigmoid(a) = 0.5 tanh(a / 2) + 0.5: the layer halves the r, z pre-activations of gx,
        and forward_step those of W_hh h (n's are used as they are)."""
        return np.repeat(np.array([0.5, 0.5, 1.0], dtype), self.hidden_size)

    def forward_views(self, gx, hidden_prev, hidden_new, cache):
        """The arrays one forward step touches, made once per workspace (see recurrent.py)."""
        H, B = self.hidden_size, len(gx)
        gh = cache[:, :3 * H]                                         # [W_hr h, W_hz h, W_hn h] first
        half = np.full((B, 2 * H), 0.5, gx.dtype)                     # full size: faster than a scalar
        return (gx[:, :2 * H], gx[:, 2 * H:], hidden_prev, hidden_new, gh, cache[:, :2 * H], cache[:, :H],
                cache[:, H:2 * H], cache[:, 2 * H:3 * H], cache[:, 3 * H:], product_into(gh), half)

    def forward_step(self, W_hh, bias_hh, batch):
        """step(*forward_views): r, z, gh_n and n into the cache, h_t into the state."""
        H = self.hidden_size
        W_hh_T = laid_out_for(W_hh.T * self.gate_scale(W_hh.dtype), batch)   # (H, 3H), r, z halved
        bias_hn = bias_hh[2 * H:]
        multiply, add, subtract, tanh = np.multiply, np.add, np.subtract, np.tanh

        def step(gx_rz, gx_n, hidden_prev, hidden_new, gh, reset_update, r, z, gh_n, n, product, half):
            product(hidden_prev, W_hh_T, out=gh)                      # W_hh h_{t-1} (r, z halved)
            add(reset_update, gx_rz, out=reset_update)
            tanh(reset_update, out=reset_update)
            multiply(reset_update, half, out=reset_update)
            add(reset_update, half, out=reset_update)                 # r, z = sigmoid(.)
            add(gh_n, bias_hn, out=gh_n)                              # gh_n = W_hn h + b_hn
            multiply(r, gh_n, out=n)
            add(n, gx_n, out=n)
            tanh(n, out=n)                                            # n = tanh(gx_n + r gh_n)
            subtract(hidden_prev, n, out=hidden_new)
            multiply(hidden_new, z, out=hidden_new)
            add(hidden_new, n, out=hidden_new)                        # h = n + z (h_prev - n)
        return step

    def local_gradients(self, cache, states, out):
        """out (T, B, 4H) = [(1-z)(1-n^2) gh_n r(1-r), (h_prev - n) z(1-z), (1-z)(1-n^2),
        (1-z)(1-n^2) r]: da_r, da_z, da_n and d gh_n per unit dh."""
        H = self.hidden_size
        r, z, gh_n, n = (cache[..., k * H:(k + 1) * H] for k in range(4))
        l_r, l_z, l_n, l_gh_n = (out[..., k * H:(k + 1) * H] for k in range(4))
        np.multiply(n, n, out=l_n)
        np.subtract(1.0, l_n, out=l_n)
        np.subtract(1.0, z, out=l_z)
        l_n *= l_z                                                    # (1 - z)(1 - n^2)
        l_z *= z
        np.subtract(states[:-1], n, out=l_gh_n)                       # (scratch: h_prev - n)
        l_z *= l_gh_n                                                 # (h_prev - n) z (1 - z)
        np.multiply(l_n, r, out=l_gh_n)                               # (1 - z)(1 - n^2) r
        np.subtract(1.0, r, out=l_r)
        l_r *= l_gh_n
        l_r *= gh_n                                                   # ... gh_n r (1 - r)

    def backward_views(self, local, d_hidden, d_gx, d_gh, d_hidden_prev, cache):
        """The arrays one BPTT step touches, made once per workspace."""
        H, B = self.hidden_size, len(local)
        return (local.reshape(B, 4, H)[:, :3], local[:, 3 * H:], cache[:, H:2 * H], d_hidden,
                d_hidden[:, None, :], d_gx.reshape(B, 3, H), d_gx[:, :2 * H], d_gh, d_gh[:, :2 * H],
                d_gh[:, 2 * H:], d_hidden_prev, np.empty_like(d_hidden))

    def backward_step(self, W_hh):
        """step(*backward_views)."""
        dot, multiply, add, copyto = np.dot, np.multiply, np.add, np.copyto

        def step(local_rzn, local_gh_n, local_direct, d_hidden, d_hidden_3d, d_gx_3d, d_gx_rz, d_gh,
                 d_gh_rz, d_gh_n, d_hidden_prev, direct):
            multiply(d_hidden_3d, local_rzn, out=d_gx_3d)                # da_r, da_z, da_n
            copyto(d_gh_rz, d_gx_rz)
            multiply(d_hidden, local_gh_n, out=d_gh_n)                   # d gh_n
            dot(d_gh, W_hh, out=d_hidden_prev)                           # W_hh^T d gh
            multiply(d_hidden, local_direct, out=direct)
            add(d_hidden_prev, direct, out=d_hidden_prev)                # + dh z
        return step
