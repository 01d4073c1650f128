"""Attention of a decoder's states over an encoder's outputs (Luong et al., 2015), for every
target step at once, forward and backward.

Shapes: B batch, T target steps, S source steps, H the decoder's hidden size, K the width
of an encoder output (H x its directions), A the additive score's width.

    d_t  (B, T, H)   the decoder's top-layer h_t (teacher forcing: every step is known)
    o_s  (B, S, K)   the encoder's top-layer outputs
    e_ts = d_t . o_s                                   dot       (K = H)
         = d_t . (W_a o_s)                             general   attention.weight W_a [H, K]
         = v . tanh(W_q d_t + W_k o_s + b_k)           additive  attention.query.weight W_q [A, H],
                                                       attention.key.weight W_k [A, K],
                                                       attention.key.bias b_k [A], attention.v.weight v [1, A]
    a_t  = softmax_s(e_ts), padded source steps left out
    c_t  = sum_s a_ts o_s                              the context (B, T, K)
    ~h_t = tanh(W_c [c_t; d_t])                        the attentional state, combine.weight W_c [H, K + H]

Nothing here depends on the recurrence, so each line is one batched array operation over
all T steps; the decoder's own time loop stays the engine's (nn/recurrent.py).
"""
from dataclasses import dataclass

import numpy as np

def attention_shapes(kind, hidden_size, key_size, attention_size=None):
    """{name: shape} of the attention's parameters (kind dot, general or additive) and W_c."""
    H, K, A = hidden_size, key_size, attention_size or hidden_size
    scores = {"dot": {},
              "general": {"attention.weight": (H, K)},
              "additive": {"attention.query.weight": (A, H), "attention.key.weight": (A, K),
                           "attention.key.bias": (A,), "attention.v.weight": (1, A)}}[kind]
    return {**scores, "combine.weight": (H, K + H)}


@dataclass
class Keys:
    """What attention reads of the encoder, computed once per source batch: its outputs
    O (B, S, K), the padding mask (B, S) (None: none), and O as each score reads it
    (general: W_a o_s (B, S, H); additive: W_k o_s + b_k (B, S, A); dot: O itself)."""

    outputs: np.ndarray
    mask: np.ndarray | None
    projected: np.ndarray

    def take(self, rows):
        """The keys of the given batch rows (beam search follows its hypotheses)."""
        return Keys(self.outputs[rows], None if self.mask is None else self.mask[rows], self.projected[rows])


@dataclass
class AttentionRun:
    """The forward pass's arrays that the backward pass reads."""

    kind: str
    keys: Keys
    decoder: np.ndarray                  # d_t (B, T, H)
    weights: np.ndarray                  # a_ts (B, T, S)
    joined: np.ndarray                   # [c_t; d_t] (B, T, K + H)
    attentional: np.ndarray              # ~h_t (B, T, H)
    scores_tanh: np.ndarray | None       # additive: tanh(W_q d_t + W_k o_s + b_k) (B, T, S, A)


def attention_keys(params, kind, outputs, mask):
    """Keys of encoder outputs (B, S, K) with their mask (B, S) or None."""
    if kind == "general":
        projected = outputs @ params["attention.weight"].T                           # W_a o_s (B, S, H)
    elif kind == "additive":
        projected = outputs @ params["attention.key.weight"].T + params["attention.key.bias"]   # (B, S, A)
    else:
        projected = outputs
    return Keys(outputs, mask, projected)


def attend(params, kind, keys, decoder):
    """decoder states d_t (B, T, H) attending to keys -> AttentionRun (its .attentional ~h_t
    (B, T, H) feeds the output layer; .weights a_ts (B, T, S))."""
    scores_tanh = None
    if kind == "additive":
        query = decoder @ params["attention.query.weight"].T                         # W_q d_t (B, T, A)
        scores_tanh = np.add(query[:, :, None, :], keys.projected[:, None, :, :])     # (B, T, S, A)
        np.tanh(scores_tanh, out=scores_tanh)
        scores = scores_tanh @ params["attention.v.weight"][0]                       # e_ts = v . tanh(.)
    else:
        scores = decoder @ keys.projected.transpose(0, 2, 1)                         # e_ts (B, T, S)
    weights = masked_softmax(scores, keys.mask)                                      # a_ts
    context = weights @ keys.outputs                                                 # c_t (B, T, K)
    joined = np.concatenate([context, decoder], axis=2)                              # [c_t; d_t]
    attentional = np.tanh(joined @ params["combine.weight"].T)                      # ~h_t = tanh(W_c [c; d])
    return AttentionRun(kind, keys, decoder, weights, joined, attentional, scores_tanh)


def masked_softmax(scores, mask):
    """softmax over the last axis of scores (B, T, S), source steps where mask (B, S) is
    False left out (weight 0)."""
    if mask is not None:
        scores = np.where(mask[:, None, :], scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights


def attend_backward(params, grads, run, d_attentional):
    """From dL/d~h_t (B, T, H): writes the gradients of the attention's parameters and W_c
    into grads; returns (dL/dd_t (B, T, H), dL/do_s (B, S, K))."""
    keys, H = run.keys, run.decoder.shape[2]
    K = keys.outputs.shape[2]
    d_pre = d_attentional * (1.0 - run.attentional ** 2)                            # through tanh
    W_c = params["combine.weight"]
    np.dot(d_pre.reshape(-1, H).T, run.joined.reshape(-1, K + H), out=grads["combine.weight"])
    d_joined = d_pre @ W_c                                                           # (B, T, K + H)
    d_context, d_decoder = d_joined[:, :, :K], d_joined[:, :, K:]
    d_weights = d_context @ keys.outputs.transpose(0, 2, 1)                          # dL/da_ts = dc_t . o_s
    d_outputs = run.weights.transpose(0, 2, 1) @ d_context                          # sum_t a_ts dc_t
    a = run.weights
    d_scores = a * (d_weights - (a * d_weights).sum(axis=-1, keepdims=True))         # through softmax
    B, T, S = d_scores.shape
    if run.kind == "additive":
        v = params["attention.v.weight"]
        U = run.scores_tanh                                                          # (B, T, S, A)
        np.dot(d_scores.reshape(1, -1), U.reshape(B * T * S, -1), out=grads["attention.v.weight"])
        d_u = np.multiply(U, U)                                                      # (B, T, S, A)
        np.subtract(1.0, d_u, out=d_u)
        d_u *= v[0]
        d_u *= d_scores[..., None]                                                   # dE v (1 - U^2)
        d_query, d_key = d_u.sum(axis=2), d_u.sum(axis=1)                            # (B, T, A), (B, S, A)
        A = d_query.shape[2]
        W_q, W_k = params["attention.query.weight"], params["attention.key.weight"]
        np.dot(d_query.reshape(-1, A).T, run.decoder.reshape(-1, H), out=grads["attention.query.weight"])
        np.dot(d_key.reshape(-1, A).T, keys.outputs.reshape(-1, K), out=grads["attention.key.weight"])
        np.add.reduce(d_key.reshape(-1, A), axis=0, out=grads["attention.key.bias"])
        d_decoder = d_decoder + d_query @ W_q
        d_outputs += d_key @ W_k
    else:
        d_decoder = d_decoder + d_scores @ keys.projected                            # e = d . k
        d_keys = d_scores.transpose(0, 2, 1) @ run.decoder                           # (B, S, H)
        if run.kind == "general":
            W_a = params["attention.weight"]
            np.dot(d_keys.reshape(-1, H).T, keys.outputs.reshape(-1, K), out=grads["attention.weight"])
            d_outputs += d_keys @ W_a
        else:
            d_outputs += d_keys
    return d_decoder, d_outputs
