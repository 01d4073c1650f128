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

reference_step is the equations above as plain NumPy; GRUCell is the fast step the layer
loops (recurrent.py), which computes r and z with one tanh (functional.gate_scale) and is
held equal to reference_step by tests/test_reference_steps.py.
"""
from dataclasses import dataclass

import numpy as np

from .functional import by_gate, gate_scale, product_into, sigmoid

GATES = ("r", "z", "n")               # the blocks of H rows of W_ih, W_hh, b_ih, b_hh, in order


def reference_step(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """h_t (B, H) from x_t (B, in) and h_{t-1} (B, H): one row per sequence, PyTorch's
    parameters (weight_ih [3H, in] = [W_ir; W_iz; W_in], ...)."""
    W_i, W_h, b_i, b_h = (by_gate(p, GATES) for p in (weight_ih, weight_hh, bias_ih, bias_hh))
    r = sigmoid(x @ W_i["r"].T + b_i["r"] + h_prev @ W_h["r"].T + b_h["r"])            # reset gate
    z = sigmoid(x @ W_i["z"].T + b_i["z"] + h_prev @ W_h["z"].T + b_h["z"])            # update gate
    n = np.tanh(x @ W_i["n"].T + b_i["n"] + r * (h_prev @ W_h["n"].T + b_h["n"]))      # candidate
    return (1 - z) * n + z * h_prev


@dataclass(slots=True)
class GRUStep:
    """One forward step's arrays, views into the layer's workspace."""
    gx_rz: np.ndarray           # (B, 2H) W_ir x_t + b_ir + b_hr, W_iz x_t + ..., halved
    gx_n: np.ndarray            # (B, H) W_in x_t + b_in
    hidden_prev: np.ndarray     # (B, H) h_{t-1}
    hidden: np.ndarray          # (B, H) h_t
    gh: np.ndarray              # (B, 3H) W_hh h_{t-1} (r, z halved), the cache's first 3H
    rz: np.ndarray              # (B, 2H) [r z], a view of gh
    r: np.ndarray               # (B, H) views of the cache: r, z, gh_n, n
    z: np.ndarray
    gh_n: np.ndarray
    n: np.ndarray
    product: object             # np.dot or np.matmul into gh (functional.product_into)
    half: np.ndarray            # (B, 2H) 0.5 (s and 1 - s of r and z); full size: faster than a scalar


@dataclass(slots=True)
class GRUBackStep:
    """One BPTT step's arrays, views into the layer's workspace."""
    local_rzn: np.ndarray       # (B, 3, H) da_r, da_z, da_n per unit dh
    local_gh_n: np.ndarray      # (B, H) d gh_n per unit dh
    z: np.ndarray               # (B, H) the update gate: dh_{t-1} gets dh z directly
    d_hidden: np.ndarray        # (B, H) dL/dh_t
    d_hidden_3d: np.ndarray     # (B, 1, H) the same, to multiply three blocks at once
    d_gx_3d: np.ndarray         # (B, 3, H) [da_r da_z da_n]
    d_gx_rz: np.ndarray         # (B, 2H)
    d_gh: np.ndarray            # (B, 3H) [da_r da_z d gh_n]
    d_gh_rz: np.ndarray         # (B, 2H)
    d_gh_n: np.ndarray          # (B, H)
    d_hidden_prev: np.ndarray   # (B, H) dL/dh_{t-1}
    direct: np.ndarray          # (B, H) scratch: dh z


class GRUCell:
    """Gates r, z, n; state h (B, H); caches [r z gh_n n] per step."""

    kind, GATES, SIGMOID_GATES = "gru", GATES, ("r", "z")
    state_factor, cache_factor, local_factor = 1, 4, 4
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
        return gate_scale(GATES, self.SIGMOID_GATES, self.hidden_size, dtype)

    def step_arrays(self, gx, state_prev, state, cache):
        H, B = self.hidden_size, len(gx)
        gh = cache[:, :3 * H]                                         # [W_hr h, W_hz h, W_hn h] first
        return GRUStep(gx_rz=gx[:, :2 * H], gx_n=gx[:, 2 * H:], hidden_prev=state_prev, hidden=state, gh=gh,
                       rz=cache[:, :2 * H], **by_gate(cache, ("r", "z", "gh_n", "n"), axis=1),
                       product=product_into(gh), half=np.full((B, 2 * H), 0.5, gx.dtype))

    def forward_step(self, W_hh_T, bias_hh):
        """step(s: GRUStep): r, z, gh_n and n into the cache, h_t into the state; W_hh_T
        (H, 3H) laid out and scaled by the layer."""
        bias_hn = by_gate(bias_hh, GATES)["n"]
        multiply, add, subtract, tanh = np.multiply, np.add, np.subtract, np.tanh

        def step(s):
            rz, n, hidden = s.rz, s.n, s.hidden                       # (each used several times)
            s.product(s.hidden_prev, W_hh_T, out=s.gh)                # W_hh h_{t-1} (r, z halved)
            add(rz, s.gx_rz, out=rz)
            tanh(rz, out=rz)
            multiply(rz, s.half, out=rz)
            add(rz, s.half, out=rz)                                   # r, z = 0.5 tanh(a / 2) + 0.5 = sigmoid(a)
            add(s.gh_n, bias_hn, out=s.gh_n)                          # gh_n = W_hn h_{t-1} + b_hn
            multiply(s.r, s.gh_n, out=n)
            add(n, s.gx_n, out=n)
            tanh(n, out=n)                                            # n = tanh(gx_n + r * gh_n)
            subtract(s.hidden_prev, n, out=hidden)
            multiply(hidden, s.z, out=hidden)
            add(hidden, n, out=hidden)                                # h = n + z * (h_prev - n)
        return step

    def local_gradients(self, cache, states, out):
        """out (T, B, 4H) = [(1-z)(1-n^2) gh_n r(1-r), (h_prev - n) z(1-z), (1-z)(1-n^2),
        (1-z)(1-n^2) r]: da_r, da_z, da_n and d gh_n per unit dh."""
        r, z, gh_n, n = by_gate(cache, ("r", "z", "gh_n", "n"), axis=-1).values()
        l_r, l_z, l_n, l_gh_n = by_gate(out, ("r", "z", "n", "gh_n"), axis=-1).values()
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

    def back_step_arrays(self, local, d_state, d_gx, d_gh, d_state_prev, cache):
        H, B = self.hidden_size, len(local)
        return GRUBackStep(
            local_rzn=local.reshape(B, 4, H)[:, :3], local_gh_n=local[:, 3 * H:], z=cache[:, H:2 * H],
            d_hidden=d_state, d_hidden_3d=d_state[:, None, :], d_gx_3d=d_gx.reshape(B, 3, H),
            d_gx_rz=d_gx[:, :2 * H], d_gh=d_gh, d_gh_rz=d_gh[:, :2 * H], d_gh_n=d_gh[:, 2 * H:],
            d_hidden_prev=d_state_prev, direct=np.empty_like(d_state))

    def backward_step(self, W_hh):
        """step(s: GRUBackStep)."""
        dot, multiply, add, copyto = np.dot, np.multiply, np.add, np.copyto

        def step(s):
            multiply(s.d_hidden_3d, s.local_rzn, out=s.d_gx_3d)          # da_r, da_z, da_n
            copyto(s.d_gh_rz, s.d_gx_rz)
            multiply(s.d_hidden, s.local_gh_n, out=s.d_gh_n)             # d gh_n = da_n r
            dot(s.d_gh, W_hh, out=s.d_hidden_prev)                       # W_hh^T d gh
            multiply(s.d_hidden, s.z, out=s.direct)
            add(s.d_hidden_prev, s.direct, out=s.d_hidden_prev)          # + dh z
        return step
