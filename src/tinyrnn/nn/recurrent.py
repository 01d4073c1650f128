"""One recurrent layer in one direction: the masked time loop and backpropagation through
time, written once for every cell (rnn.py, lstm.py, gru.py).

A cell declares its gate blocks GATES (G = len(GATES) * H), its state width S (H, or 2H for
the LSTM's [h | c]), what its step caches C, and the local derivatives L its backward step
uses. It supplies folded_bias and gate_scale (what gx_t is built with), forward_step,
local_gradients and backward_step, and step_arrays / back_step_arrays: the arrays each
step touches, bound by name (LSTMStep, ...) once per workspace, so that a step is only its
array operations.
Everything that does not depend on the previous state is done here, before or after the
loop, as one large array operation:

    gx_t   = W_ih x_t + bias                   all steps at once (x one-hot: a column lookup)
    s_t    = cell step (gx_t, s_{t-1})         the loop: W_hh h_{t-1} and the gate maths
    dW_hh  = sum_t d gh_t h_{t-1}^T,  db_hh = sum_t d gh_t      one product each, after BPTT
    dW_ih  = sum_t d gx_t x_t^T,      db_ih = sum_t d gx_t,  dx_t = W_ih^T d gx_t

Weight drop (training only): the step may use W_hh * keep, a dropout mask drawn once per
batch (the same dropped connections at every step); then dW_hh is masked the same way.

Masking: a padded step (mask 0) keeps the whole state, s_t = s_{t-1} (h and c), so the
final state of a row is its last real one; padded steps get zero gradient and pass the
state gradient through unchanged. Arrays are time-major, (T, B, ...): one step's rows are
contiguous.
"""
from dataclasses import dataclass

import numpy as np

from .functional import laid_out_for
from .layers import onehot_backward


class StaleRunError(RuntimeError):
    """A layer run's arrays were overwritten by a later forward pass of the same shape."""


class Workspace:
    """Buffers for one (T, B) shape, and their per-step views, reused across calls. The
    backward buffers are made on the first backward pass (evaluation never needs them).
    generation counts the forward passes that wrote it: a LayerRun remembers the one it
    wrote, and reading the run after a later pass raises StaleRunError."""

    def __init__(self, cell, steps, batch, dtype):
        H = cell.hidden_size
        T, B = self.steps, self.batch = steps, batch
        self.widths = {"G": len(cell.GATES) * H, "S": cell.state_factor * H, "L": cell.local_factor * H}
        self.gx = np.empty((T, B, self.widths["G"]), dtype)           # W_ih x_t + bias
        self.states = np.empty((T + 1, B, self.widths["S"]), dtype)   # s_0 .. s_T
        self.cache = np.empty((T, B, cell.cache_factor * H), dtype)   # what the cell's step keeps
        self.cell, self.separate = cell, cell.separate_recurrent_grad
        self.generation, self.gradients_of = 0, None    # the forward passes that wrote it; whose backward
        self.steps_arrays = [cell.step_arrays(*arrays)
                             for arrays in zip(self.gx, self.states[:-1], self.states[1:], self.cache)]
        self.back_steps_arrays = None

    def make_backward_buffers(self):
        if self.back_steps_arrays is None:
            T, B, dtype = self.steps, self.batch, self.states.dtype
            self.local = np.empty((T, B, self.widths["L"]), dtype)    # the cell's local derivatives
            self.d_gx = np.empty((T, B, self.widths["G"]), dtype)     # dL/d gx_t
            self.d_gh = np.empty_like(self.d_gx) if self.separate else self.d_gx   # dL/d gh_t
            self.d_states = np.empty((T + 1, B, self.widths["S"]), dtype)            # dL/ds_t
            self.back_steps_arrays = [self.cell.back_step_arrays(*arrays) for arrays in zip(
                self.local, self.d_states[1:], self.d_gx, self.d_gh, self.d_states[:-1], self.cache)]
            self.d_hidden = list(self.d_states[1:, :, :self.cell.hidden_size])       # dL/dh_t views
        return self


@dataclass(slots=True, eq=False)
class LayerRun:
    """One forward pass of a layer: the workspace it wrote and that workspace's generation
    then, and what backward needs besides: the inputs, the padding (T, B, 1) or None, W_hh
    as the steps used it (times the weight drop's keep) and that keep (None: no weight drop)."""

    work: Workspace
    generation: int
    inputs: np.ndarray
    padding: np.ndarray | None
    weight_hh: np.ndarray
    weight_keep: np.ndarray | None

    def current(self):
        """The workspace, if no later forward pass has overwritten it; else StaleRunError."""
        if self.work.generation != self.generation:
            T, B = self.work.steps, self.work.batch
            raise StaleRunError(f"this run's activations (T={T}, B={B}) were overwritten by a later forward "
                                f"pass of the same shape: run backward before the next forward, or give "
                                f"each concurrent user its own model (model.replica())")
        return self.work

    def gradients(self):
        """The workspace after this run's backward (its d_gx, d_states); else StaleRunError."""
        work = self.current()
        if work.gradients_of != self.generation:
            raise StaleRunError("this run has no backward pass yet: its workspace holds no gradients of it")
        return work

    @property
    def states(self):
        """s_0 .. s_T, (T + 1, B, S): a view into the workspace."""
        return self.current().states


class RecurrentLayer:
    """A cell looped over time, with its input projection and workspaces cached by shape.

    names maps the roles weight_ih, weight_hh, bias_ih, bias_hh to parameter names (bias_hh
    may be None: the walkthrough's cell has the one bias bh). onehot: the inputs are ids
    and W_ih is [G, V]; otherwise inputs are vectors (T, B, input_size), W_ih [G, input_size].
    """

    def __init__(self, cell, input_size, onehot, names, dtype, max_workspaces=64, max_cached_bytes=128 << 20):
        self.cell, self.input_size, self.onehot, self.names = cell, input_size, onehot, names
        self.dtype, self.max_workspaces, self.max_cached_bytes = np.dtype(dtype), max_workspaces, max_cached_bytes
        self._workspaces, self._cached_bytes = {}, 0
        self._laid_out = {}                              # W_hh^T as the steps read it (laid_out_for)

    def param_shapes(self):
        G, H = len(self.cell.GATES) * self.cell.hidden_size, self.cell.hidden_size
        shapes = {"weight_ih": (G, self.input_size), "weight_hh": (G, H), "bias_ih": (G,), "bias_hh": (G,)}
        return {self.names[role]: shape for role, shape in shapes.items() if self.names.get(role)}

    def _param(self, tensors, role):
        name = self.names.get(role)
        return None if name is None else tensors[name]

    def workspace(self, steps, batch):
        key = (steps, batch)
        work = self._workspaces.get(key)
        if work is None:
            H = self.cell.hidden_size
            widths = (2 * len(self.cell.GATES) + 2 * self.cell.state_factor + self.cell.cache_factor
                      + self.cell.local_factor) * H                      # forward and backward buffers
            size = (steps + 1) * batch * widths * self.dtype.itemsize
            if len(self._workspaces) >= self.max_workspaces or self._cached_bytes + size > self.max_cached_bytes:
                self._workspaces.clear()                 # many shapes (bucketed batches): start over
                self._cached_bytes = 0
            work = self._workspaces[key] = Workspace(self.cell, steps, batch, self.dtype)
            self._cached_bytes += size
        return work

    def forward(self, params, inputs, mask, initial_state, weight_keep=None):
        """Run over inputs (T, B) ids or (T, B, in) vectors, time-major, with mask (T, B)
        bool or None, from initial_state (B, S) (or a scalar such as 0.0); weight_keep (G, H):
        the weight drop's multiplier of W_hh (None: W_hh as it is).

        Returns a LayerRun; run.states (T + 1, B, S) holds s_0 .. s_T. Its arrays live in
        a workspace that the next call of the same shape overwrites; reading the run (or
        its backward) after that raises StaleRunError."""
        T, B = inputs.shape[:2]
        work = self.workspace(T, B)
        work.generation += 1
        W_hh = params[self.names["weight_hh"]]
        W_hh = W_hh if weight_keep is None else W_hh * weight_keep
        scale = self._pre_activations(params, inputs, work.gx)
        work.states[0] = initial_state
        step = self.cell.forward_step(laid_out_for(W_hh, B, scale, self._laid_out), self._param(params, "bias_hh"))
        padding = None if mask is None or mask.all() else ~mask[:, :, None]      # (T, B, 1)
        states = work.states
        for t, arrays in enumerate(work.steps_arrays):
            step(arrays)
            if padding is not None and padding[t].any():
                np.copyto(states[t + 1], states[t], where=padding[t])   # s_t = s_{t-1} at padding
        return LayerRun(work, work.generation, inputs, padding, W_hh, weight_keep)

    def _pre_activations(self, params, inputs, gx):
        """The input part of every step's pre-activations a_t = gx_t + W_hh h_{t-1}: fills
        gx (T, B, G) with W_ih x_t + bias for all steps, times the cell's gate scale
        (functional.gate_scale), which it returns for W_hh^T (laid_out_for; None: the rnn
        cell has none). The scale is applied to these two parts only, each where it costs
        least."""
        W_ih_T = params[self.names["weight_ih"]].T                               # (in, G)
        bias = self.cell.folded_bias(self._param(params, "bias_ih"), self._param(params, "bias_hh"))
        scale = self.cell.gate_scale(gx.dtype)
        if self.onehot and len(W_ih_T) <= inputs.size:  # fewer words than steps: one table, one lookup
            table = W_ih_T + bias if scale is None else (W_ih_T + bias) * scale  # (V, G)
            table.take(inputs, axis=0, out=gx)
        elif self.onehot:                                # row x_t of W_ih^T, then the bias
            np.add(W_ih_T[inputs], bias, out=gx)
            if scale is not None:
                gx *= scale
        else:
            T, B, G = gx.shape
            np.dot(inputs.reshape(T * B, -1), W_ih_T if scale is None else W_ih_T * scale,
                   out=gx.reshape(T * B, G))
            gx += bias if scale is None else bias * scale
        return scale

    def backward(self, params, run, grads, d_final=None, d_outputs=None, input_grad=False):
        """BPTT of a LayerRun from dL/dh_T (B, H), or dL/ds_T (B, S) of the whole final state,
        and optional per-step dL/dh_t (T, B, H) (None: zero). Raises StaleRunError if a later forward pass overwrote the run.

        Weight gradients are written into grads. Returns (dL/ds_0 (B, S), a view into the
        workspace; dL/dx (T, B, in) when input_grad, else None)."""
        work, cell, padding = run.current(), self.cell, run.padding
        work.make_backward_buffers()
        cell.local_gradients(work.cache, work.states, work.local)
        if padding is not None:
            np.copyto(work.local, 0.0, where=padding)               # padded steps: no gradient
        work.d_states[-1] = 0.0
        if d_final is not None:
            work.d_states[-1, :, :d_final.shape[-1]] = d_final
        step, add, copyto = cell.backward_step(run.weight_hh), np.add, np.copyto
        d_states, d_hidden = work.d_states, work.d_hidden
        for t in range(work.steps - 1, -1, -1):
            if d_outputs is not None:
                add(d_hidden[t], d_outputs[t], out=d_hidden[t])      # + the step's own output
            step(work.back_steps_arrays[t])
            if padding is not None and padding[t].any():
                copyto(d_states[t], d_states[t + 1], where=padding[t])   # padded rows pass it on
        work.gradients_of = run.generation
        return work.d_states[0], self._weight_gradients(params, run, grads, input_grad)

    def _weight_gradients(self, params, run, grads, input_grad):
        work = run.work
        T, B, G = work.d_gx.shape
        H = self.cell.hidden_size
        rows_gx, rows_gh = work.d_gx.reshape(T * B, G), work.d_gh.reshape(T * B, G)
        hidden_prev = work.states[:-1, :, :H].reshape(T * B, H)                  # h_{t-1}, all steps
        np.dot(rows_gh.T, hidden_prev, out=grads[self.names["weight_hh"]])      # sum_t d gh h_{t-1}^T
        if run.weight_keep is not None:
            grads[self.names["weight_hh"]] *= run.weight_keep                    # through the weight drop
        if self.names.get("bias_hh"):
            np.add.reduce(rows_gh, axis=0, out=grads[self.names["bias_hh"]])     # sum_t d gh
        np.add.reduce(rows_gx, axis=0, out=grads[self.names["bias_ih"]])         # sum_t d gx
        W_ih_grad = grads[self.names["weight_ih"]]
        if self.onehot:
            onehot_backward(run.inputs.reshape(-1), rows_gx, W_ih_grad)          # sum_t d gx x_t^T
            return None
        inputs = run.inputs.reshape(T * B, -1)
        np.dot(rows_gx.T, inputs, out=W_ih_grad)                                 # sum_t d gx x_t^T
        if not input_grad:
            return None
        return np.dot(rows_gx, params[self.names["weight_ih"]]).reshape(T, B, -1)   # W_ih^T d gx
