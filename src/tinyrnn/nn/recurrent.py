"""The masked time loop and backpropagation through time, written once for every cell.

A cell supplies input_projection (all steps at once), forward_step, local_gradients,
backward_step and param_grads. Only the recurrent step stays inside the loop;
everything that does not depend on the previous state is done before or after it as
one large array operation, and every step writes into preallocated buffers.

Masking: a padded step (mask 0) keeps the state, h_t = h_{t-1}, so the final state of a
row is its last real one, and padded steps receive zero gradient.

Arrays here are time-major, (T, B, ...): one step's rows are contiguous.
"""
import numpy as np


class Workspace:
    """Buffers for one (T, B) shape, and their per-step views, reused across calls. The
    backward buffers are made on the first backward pass (evaluation never needs them)."""

    def __init__(self, cell, steps, batch, dtype):
        self.shape = (steps, batch, cell.state_size)
        T, B, S = self.shape
        self.projected = np.empty((T, B, S), dtype)        # Wxh x_t + bh
        self.states = np.empty((T + 1, B, S), dtype)       # h_0 .. h_T
        self.step_views = list(zip(self.projected, self.states[:-1], self.states[1:]))
        self.back_views = None

    def make_backward_buffers(self):
        if self.back_views is None:
            T, B, S = self.shape
            dtype = self.states.dtype
            self.local = np.empty((T, B, S), dtype)            # d tanh per step
            self.dpre = np.empty((T, B, S), dtype)
            self.d_states = np.empty((T + 1, B, S), dtype)     # dL/dh_t
            self.d_outputs = np.empty((T, B, S), dtype)        # gradient from each step's own output
            self.back_views = list(zip(self.local, self.d_states[1:], self.dpre, self.d_states[:-1],
                                       self.d_outputs))
        return self


class RecurrentLayer:
    """A cell looped over time, with workspaces cached by shape."""

    def __init__(self, cell, dtype, max_workspaces=64):
        self.cell, self.dtype = cell, np.dtype(dtype)
        self.max_workspaces = max_workspaces
        self._workspaces = {}

    def workspace(self, steps, batch):
        key = (steps, batch)
        work = self._workspaces.get(key)
        if work is None:
            if len(self._workspaces) >= self.max_workspaces:
                self._workspaces.clear()
            work = self._workspaces[key] = Workspace(self.cell, steps, batch, self.dtype)
        return work

    def forward(self, params, ids, mask, initial_state):
        """Run the cell over ids (B, T) with mask (B, T) bool or None (no padding).

        Returns (states (T + 1, B, S) time-major, workspace). states[0] is h_0; where step
        t is padding, states[t + 1] equals states[t]. The arrays live in the workspace
        and are overwritten by the next call of the same shape.
        """
        B, T = ids.shape
        work = self.workspace(T, B)
        ids_tm = ids.T
        self.cell.input_projection(params, ids_tm, work.projected)
        work.states[0] = initial_state
        step = self.cell.forward_step(params)
        padding = None if mask is None or mask.all() else ~mask.T[:, :, None]   # (T, B, 1)
        for t, (projected, state_prev, state_new) in enumerate(work.step_views):
            step(projected, state_prev, state_new)
            if padding is not None and padding[t].any():
                np.copyto(state_new, state_prev, where=padding[t])   # h_t = h_{t-1} at padding
        work.ids_tm, work.padding = ids_tm, padding
        return work.states, work

    def backward(self, params, work, d_final, grads, d_outputs=None):
        """BPTT from dL/dh_T (B, S) and optional per-step dL/dh_t (T, B, S).

        Weight gradients are written into grads; returns dL/dh_0 (B, S), a view into the
        workspace. Writing d_outputs straight into work.d_outputs saves a copy.
        """
        cell, padding = self.cell, work.padding
        work.make_backward_buffers()
        cell.local_gradients(work.states, work.local)
        if padding is not None:
            np.copyto(work.local, 0.0, where=padding)               # padded steps: no gradient
        work.d_states[-1] = d_final
        if d_outputs is not None and d_outputs is not work.d_outputs:
            work.d_outputs[...] = d_outputs
        step, add = cell.backward_step(params), np.add
        for t in range(len(work.back_views) - 1, -1, -1):
            local, d_state, dpre, d_prev, d_output = work.back_views[t]
            if d_outputs is not None:
                add(d_state, d_output, out=d_state)                  # + the step's own output
            step(local, d_state, dpre, d_prev)
            if padding is not None and padding[t].any():
                np.copyto(d_prev, d_state, where=padding[t])         # padded rows pass it on
        cell.param_grads(work.ids_tm, work.dpre, work.states, grads)
        return work.d_states[0]
