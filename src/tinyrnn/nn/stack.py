"""The recurrent body of every model: an input (one-hot or a learned embedding), then
L layers of one or two directions, with dropout between layers.

    x_t^0 = onehot(id_t)  or  E[id_t]  or  the F numbers of step t      embedding.weight E [V, E]
    layer k, forward:   s_t  = cell(x_t^k, s_{t-1}),  t = 1 .. T
    layer k, reverse:   s'_t = cell(x_t^k, s'_{t+1}), t = T .. 1     (bidirectional)
    x_t^{k+1} = dropout([h_t | h'_t])                          training only (and dropout of
                                                               the embedded x_t^0, embed_dropout)
    weight drop: each layer and direction steps with W_hh * keep, training only, one mask per
    batch (DropConnect on the recurrent weights, as in AWD-LSTM)

The reverse direction runs the same layer code on the reversed sequence (ids[:, ::-1],
mask[:, ::-1]): right padding becomes leading padding, over which the state holds s_0,
so its final state is the one after the first real token. States are numbered like
PyTorch's h_n: index k * D + d for layer k, direction d (0 forward, 1 reverse).
"""
from dataclasses import dataclass, field

import numpy as np

from . import make_cell
from .layers import dropout_mask, embedding_backward
from .recurrent import RecurrentLayer

LEGACY_NAMES = {"weight_ih": "Wxh", "weight_hh": "Whh", "bias_ih": "bh", "bias_hh": None}


@dataclass
class StackRun:
    """What a forward pass keeps for backward: ids (T, B) or numbers (T, B, F) and mask
    (time-major), each layer's
    LayerRun (its workspace, checked for reuse), and the dropout multipliers applied to
    each layer's input."""

    ids: np.ndarray
    mask: np.ndarray | None
    layer_runs: list = field(default_factory=list)   # layer_runs[k][d]
    keeps: list = field(default_factory=list)        # keeps[k]: dropout multiplier or None
    pooled: np.ndarray | None = None                  # a classifier's features, and what the
    pool_cache: object = None                         # pooling's backward needs
    scale: object = None                              # numbers: the (mean, std) they were read with


class RecurrentStack:
    """Input, L layers x D directions, as config says (a tinyrnn.ModelConfig: cell, hidden_size,
    num_layers, bidirectional, nonlinearity, embed_size, dropout, embed_dropout, weight_drop,
    dtype, features), over a vocabulary of vocab_size (numeric input: config.features numbers
    per step, and vocab_size is None). legacy_names: the walkthrough's Wxh, Whh, bh
    (only for one one-hot, one-direction vanilla layer). prefix: before every parameter name
    (a seq2seq model's "encoder." and "decoder.")."""

    def __init__(self, config, vocab_size, legacy_names=False, prefix=""):
        cell, hidden_size, num_layers = config.cell, config.hidden_size, config.num_layers
        embed_size, nonlinearity, dtype = config.embed_size, config.nonlinearity, config.dtype
        self.directions = 2 if config.bidirectional else 1
        self.num_layers, self.hidden_size, self.dropout = num_layers, hidden_size, config.dropout
        self.embed_dropout, self.weight_drop = config.embed_dropout, config.weight_drop
        self.embed_size, self.vocab_size, self.features = embed_size, vocab_size, config.features
        self.embedding_name = f"{prefix}embedding.weight" if embed_size else None
        self.layers = []
        for k in range(num_layers):
            input_size = (self.features or embed_size or vocab_size) if k == 0 else hidden_size * self.directions
            onehot = k == 0 and not (embed_size or self.features)
            directions = []
            for d in range(self.directions):
                suffix = f"_l{k}" + ("_reverse" if d else "")
                names = LEGACY_NAMES if legacy_names else {role: f"{prefix}rnn.{role}{suffix}" for role in LEGACY_NAMES}
                directions.append(RecurrentLayer(make_cell(cell, hidden_size, nonlinearity), input_size,
                                                 onehot, names, dtype))
            self.layers.append(directions)
        self.cell = self.layers[0][0].cell
        self.state_size = self.cell.state_factor * hidden_size

    @property
    def num_states(self):
        return self.num_layers * self.directions

    def param_shapes(self):
        """{name: shape} in PyTorch's state_dict order: embedding, then each layer and direction."""
        shapes = {self.embedding_name: (self.vocab_size, self.embed_size)} if self.embed_size else {}
        for directions in self.layers:
            for layer in directions:
                shapes.update(layer.param_shapes())
        return shapes

    def param_roles(self):
        """{name: role} with roles embedding, weight_ih, weight_hh, bias_ih, bias_hh."""
        roles = {self.embedding_name: "embedding"} if self.embed_size else {}
        for directions in self.layers:
            for layer in directions:
                roles.update({name: role for role, name in layer.names.items() if name})
        return roles

    def forward(self, params, ids, mask, initial_state=None, rng=None):
        """ids (B, T) (numeric input: numbers (B, T, F)), mask (B, T) bool or None, initial_state
        (L*D, B, S) or None (zeros); rng: a numpy Generator to draw dropout from (training), or
        None. Returns a StackRun."""
        ids_tm = ids.T if not self.features else np.ascontiguousarray(ids.transpose(1, 0, 2))  # (T, B[, F])
        run = StackRun(ids_tm, None if mask is None else mask.T)
        inputs = ids_tm if not self.embed_size else params[self.embedding_name][ids_tm]   # (T, B, E)
        for k, directions in enumerate(self.layers):
            keep, rate = None, self.dropout if k > 0 else self.embed_dropout
            if k > 0:
                inputs = self.layer_outputs(run, k - 1)                   # (T, B, D*H)
            if rng is not None and rate > 0:
                keep = dropout_mask(rng, inputs.shape, rate, inputs.dtype)
                inputs = inputs * keep
            run.keeps.append(keep)
            run.layer_runs.append([self._run_direction(params, layer, d, inputs, run.mask,
                                                  initial_state, k, rng) for d, layer in enumerate(directions)])
        return run

    def _run_direction(self, params, layer, d, inputs, mask, initial_state, k, rng):
        if d == 1:
            inputs = inputs[::-1] if inputs.ndim == 2 else np.ascontiguousarray(inputs[::-1])
            mask = None if mask is None else mask[::-1]
        h0 = 0.0 if initial_state is None else initial_state[k * self.directions + d]
        weight_keep = None
        if rng is not None and self.weight_drop > 0:
            W_hh = params[layer.names["weight_hh"]]
            weight_keep = dropout_mask(rng, W_hh.shape, self.weight_drop, W_hh.dtype)
        return layer.forward(params, inputs, mask, h0, weight_keep)

    def layer_outputs(self, run, k):
        """h_t of layer k for every step in original time order, (T, B, D*H) (a view for D = 1)."""
        H = self.hidden_size
        outputs = [layer_run.states[1:, :, :H] for layer_run in run.layer_runs[k]]
        if self.directions == 1:
            return outputs[0]
        return np.concatenate([outputs[0], outputs[1][::-1]], axis=2)    # reverse back to time order

    def final_hidden(self, run):
        """The top layer's final h of each direction, concatenated: (B, D*H)."""
        H = self.hidden_size
        if self.directions == 1:
            return run.layer_runs[-1][0].states[-1, :, :H]
        return np.concatenate([layer_run.states[-1, :, :H] for layer_run in run.layer_runs[-1]], axis=1)

    def final_states(self, run):
        """Every layer's and direction's final state, (L*D, B, S), a copy."""
        if self.num_states == 1:
            return run.layer_runs[0][0].states[-1:].copy()
        return np.stack([layer_run.states[-1] for directions in run.layer_runs for layer_run in directions])

    def backward(self, params, grads, run, d_outputs=None, d_final_hidden=None, d_final_states=None):
        """BPTT through the stack. d_outputs (T, B, D*H): gradients of the top layer's h_t;
        d_final_hidden (B, D*H): of its final h; d_final_states (L*D, B, S): of every layer's
        and direction's final state (as final_states gives them). Writes grads; returns
        dL/ds_0 (L*D, B, S)."""
        H, D = self.hidden_size, self.directions
        d_initial = np.empty((self.num_states, run.ids.shape[1], self.state_size), grads_dtype(grads))
        for k in range(self.num_layers - 1, -1, -1):
            d_inputs = None
            want_inputs = k > 0 or bool(self.embed_size)          # (numbers need no gradient)
            for d, layer in enumerate(self.layers[k]):
                d_out = None if d_outputs is None else d_outputs[:, :, d * H:(d + 1) * H]
                d_out = d_out[::-1] if d == 1 and d_out is not None else d_out
                d_fin = d_final_hidden[:, d * H:(d + 1) * H] if k == self.num_layers - 1 and \
                    d_final_hidden is not None else None
                if d_final_states is not None:
                    d_state = d_final_states[k * D + d]
                    d_fin = d_state if d_fin is None else d_state + np.pad(d_fin, ((0, 0), (0, d_state.shape[1] - H)))
                d_s0, d_x = layer.backward(params, run.layer_runs[k][d], grads, d_fin, d_out, want_inputs)
                d_initial[k * D + d] = d_s0
                if d_x is not None:
                    d_x = d_x[::-1] if d == 1 else d_x                    # back to time order
                    d_inputs = d_x if d_inputs is None else d_inputs + d_x
            if run.keeps[k] is not None:
                d_inputs *= run.keeps[k]                                  # through dropout
            d_outputs, d_final_hidden = d_inputs, None
        if self.embed_size:
            E = self.embed_size
            embedding_backward(run.ids.reshape(-1), d_outputs.reshape(-1, E), grads[self.embedding_name])
        return d_initial

    def input_relevance(self, params, run, per_feature=False):
        """Gradient x input at the network's input, after the run's backward: x_t^0 . dL/dx_t^0
        for every step, (T, B); per_feature (numeric input): x_t,f dL/dx_t,f, (T, B, F). With
        dL/dx_t = W_ih^T d gx_t of each direction of layer 0, x_t . dL/dx_t = (W_ih x_t) . d gx_t: W_ih x_t is column id_t of W_ih for one-hot input,
        E[id_t] W_ih^T for an embedding (x_t as layer 0 read it, after any dropout). Raises
        StaleRunError if the run has had no backward or a later pass overwrote it."""
        relevance = 0.0
        for d, (layer, layer_run) in enumerate(zip(self.layers[0], run.layer_runs[0])):
            d_gx = layer_run.gradients().d_gx                                     # (T, B, G)
            W_ih = params[layer.names["weight_ih"]]
            if per_feature:                                               # x * (W_ih^T d gx), (T, B, F)
                per_step = layer_run.inputs * (d_gx @ W_ih)
                relevance = relevance + (per_step[::-1] if d == 1 else per_step)
                continue
            projected = W_ih.T[layer_run.inputs] if layer.onehot else layer_run.inputs @ W_ih.T   # (T, B, G)
            per_step = np.einsum("tbg,tbg->tb", projected, d_gx)
            relevance = relevance + (per_step[::-1] if d == 1 else per_step)      # time order
        return relevance


def grads_dtype(grads):
    return next(iter(grads.values())).dtype
