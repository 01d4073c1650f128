"""The masked time loop and backpropagation through time, written once for every cell.

A cell supplies input_projection (all steps at once), step, step_backward and
param_grads. Only the recurrent step stays inside the loop; everything that does not
depend on the previous state is done before or after it as one large array operation.

Masking: a padded step (mask 0) keeps the state, h_t = h_{t-1}, so the final state of a
row is its last real one, and padded steps receive zero gradient.
"""
import numpy as np


def recurrent_forward(cell, params, ids, mask, initial_state):
    """Run the cell over a batch.

    ids (B, T) int, mask (B, T) bool, initial_state (B, S).
    Returns states (B, T + 1, S): states[:, 0] is the initial state, states[:, t + 1] the
    state after step t (equal to states[:, t] where step t is padding).
    """
    B, T = ids.shape
    projected = cell.input_projection(params, ids)                      # (B, T, H)
    states = np.empty((B, T + 1, cell.state_size), dtype=projected.dtype)
    states[:, 0] = initial_state
    full_steps = mask.all(axis=0)                                       # (T,) no padding at t
    for t in range(T):
        new_state = cell.step(params, projected[:, t], states[:, t])
        if full_steps[t]:
            states[:, t + 1] = new_state
        else:                                                           # h_t = m h_new + (1 - m) h_{t-1}
            states[:, t + 1] = np.where(mask[:, t, None], new_state, states[:, t])
    return states


def recurrent_backward(cell, params, ids, mask, states, d_final, grads):
    """BPTT from a gradient on the final state; weight gradients are written into grads.

    d_final (B, S) = dL/dh_T. Returns dL/dh_0 (B, S), the gradient of the initial state.
    """
    B, T = ids.shape
    dpre = np.zeros((B, T, cell.state_size), dtype=states.dtype)       # (B, T, H)
    d_state = d_final
    full_steps = mask.all(axis=0)
    for t in reversed(range(T)):
        if full_steps[t]:
            dpre[:, t], d_state = cell.step_backward(params, d_state, states[:, t + 1], states[:, t])
        else:
            step_mask = mask[:, t, None]
            d_new = np.where(step_mask, d_state, 0.0)                   # padded rows: no gradient
            dpre[:, t], d_prev = cell.step_backward(params, d_new, states[:, t + 1], states[:, t])
            d_state = np.where(step_mask, d_prev, d_state)              # padded rows pass it through
    cell.param_grads(ids, dpre, states[:, :T], grads)
    return d_state
