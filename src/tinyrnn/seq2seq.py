"""Seq2Seq: an encoder-decoder with attention (translation; the walkthrough's own first
example of a many-to-many RNN).

    encoder:  o_s, s_S = stack_enc(x_1 .. x_S)              any cell, layers, bidirectional
    bridge:   s_0 = s_S                                     same sizes and one direction
              s_0 = tanh(W_b [s_S; s'_1] + b_b)             bidirectional encoder (each layer;
                                                            an LSTM's whole state [h | c], so
                                                            its c_0 starts in (-1, 1))
    decoder:  d_t = stack_dec(y_0 .. y_{T-1}) from s_0      y_0 = <bos>, teacher forcing
    ~h_t = attention(d_t, o_1 .. o_S)                       nn/attention.py (or d_t: "none")
    p_t = softmax(W ~h_t + b),  L = mean over real target steps of -ln p_t[y_t]   (y_T = <eos>)

The decoder reads the target shifted right, so its recurrence is the engine's one time loop
(nn/recurrent.py) over all steps at once, and attention is one batched computation after it
(Luong et al., 2015, without input feeding). Translating runs the same decoder one step at
a time (decoding.py). Tensors use the state_dict names of the PyTorch module that
`export --format torch` builds: encoder.embedding.weight, encoder.rnn.weight_ih_l0, ...,
decoder.*, bridge.*, attention.*, combine.weight, fc.weight, fc.bias.
"""
from dataclasses import dataclass, replace

import numpy as np

from .data.pairs import normalize
from .model_config import ModelConfig
from .models import RecurrentModel, StepResult
from .nn.attention import attend, attend_backward, attention_keys, attention_shapes
from .nn.functional import log_softmax
from .nn.losses import softmax_cross_entropy
from .nn.params import flat_views, initialize
from .nn.stack import RecurrentStack
from .vocab import BOS_ID, EOS_ID, PAD_ID, Vocab, pad_batch, tokenizer_of


def seq2seq_shapes(config, source_size, target_size):
    """((encoder, decoder), {name: shape}) of a seq2seq model of config with vocabularies of
    source_size and target_size tokens; allocates no parameters."""
    encoder = RecurrentStack(config, source_size, prefix="encoder.")
    decoder = RecurrentStack(replace(config, bidirectional=False), target_size, prefix="decoder.")   # one direction
    H, S = config.hidden_size, encoder.state_size
    shapes = {**encoder.param_shapes(), **decoder.param_shapes()}
    if encoder.directions == 2:
        shapes.update({"bridge.weight": (S, 2 * S), "bridge.bias": (S,)})
    if config.attention != "none":
        shapes.update(attention_shapes(config.attention, H, H * encoder.directions, config.attention_size))
    shapes.update({"fc.weight": (target_size, H), "fc.bias": (target_size,)})
    return (encoder, decoder), shapes


@dataclass
class Seq2SeqRun:
    """What a teacher-forced forward pass keeps for backward."""

    encoder: object                      # the encoder's StackRun
    bridge_in: np.ndarray | None         # [s; s'] (L, B, 2S) of a bidirectional encoder
    encoded: "Encoded"
    decoder: object                      # the decoder's StackRun
    attention: object                    # nn.attention.AttentionRun, or None
    features: np.ndarray                 # ~h_t (B*T, H) as the output layer read it (after dropout)
    keep: np.ndarray | None              # the dropout multiplier of features
    target_mask: np.ndarray              # (B, T) real target tokens


@dataclass
class Encoded:
    """A source batch as the decoder reads it: the attention's keys (None without attention)
    and the decoder's initial states (L, B, S)."""

    keys: object
    initial_states: np.ndarray

    def take(self, rows):
        """The rows of a beam (or any selection of the batch)."""
        return Encoded(None if self.keys is None else self.keys.take(rows), self.initial_states[:, rows])


class Seq2Seq(RecurrentModel):
    """Source token ids -> target token ids. self.vocab is the source vocabulary,
    self.target_vocab the target's (with <bos> and <eos>); built by build_model from a
    ModelConfig of task "seq2seq" and the pair (vocab, target_vocab)."""

    task = "seq2seq"
    classes = None

    def __init__(self, vocab, target_vocab, hidden_size=128, cell="gru", dtype="float64", **settings):
        """Seq2Seq(vocab, target_vocab, 128, "gru", attention="additive", embed_size=64) is
        build_model(ModelConfig("seq2seq", 128, cell="gru", ...), (vocab, target_vocab))."""
        self._build(ModelConfig(self.task, hidden_size, cell, dtype=dtype, **settings), (vocab, target_vocab), None)

    def _build(self, config, vocab, classes, layout=None):
        source, target = vocab
        if classes is not None:
            raise ValueError(f"a seq2seq model predicts its target vocabulary; it has no classes, got {classes}")
        self.config, self.vocab = config, source if isinstance(source, Vocab) else Vocab(source)
        self.target_vocab = target if isinstance(target, Vocab) else Vocab(target)
        if not self.target_vocab.is_target:
            raise ValueError("a seq2seq target vocabulary must start with <pad>, <unk>, <bos>, <eos>")
        self.dtype, self.tokenizer = np.dtype(config.dtype), tokenizer_of(config.tokenizer)
        layers, shapes = layout or seq2seq_shapes(config, len(self.vocab), len(self.target_vocab))
        self._use_layers(layers)
        self.output_weight, self.output_bias = "fc.weight", "fc.bias"
        self.flat, self.params = flat_views(shapes, self.dtype)
        self.flat_grads, self.grads = flat_views(shapes, self.dtype)
        self.buffers = {}                                # no statistics: it reads tokens

    @property
    def attention(self):
        return self.config.attention

    def initialize(self, rng, scheme="uniform", forget_bias=0.0):
        """Draw the weights from rng (nn/params.py); forget_bias starts an LSTM's f gate bias."""
        if forget_bias and self.config.cell != "lstm":
            raise ValueError(f"a forget-gate bias applies to the lstm cell, not {self.config.cell}")
        roles = {**self.encoder.param_roles(), **self.decoder.param_roles(), "fc.weight": "output_weight",
                 "fc.bias": "output_bias"}
        roles.update({name: "dense_bias" if name.endswith("bias") else "dense_weight"
                      for name in self.params if name not in roles})
        initialize(self.params, roles, rng, scheme, self.hidden_size, forget_bias)
        self.initialized = {"init": scheme, "forget_bias": float(forget_bias)}
        return self

    def _use_layers(self, layers):
        self.encoder, self.decoder = layers
        self.stack = self.encoder                    # what reads the source (describe, explain)

    # -- texts -------------------------------------------------------------------------

    def normalize(self, text):
        """text as the model reads it (config.normalize: none, accents or letters)."""
        return normalize(text, self.config.normalize)

    def tokenize(self, text):
        return self.tokenizer.split(self.normalize(text))

    def encode(self, texts):
        """Source texts -> (list of id arrays, list of unknown-token lists)."""
        encoded = [self.vocab.encode(self.tokenize(text)) for text in texts]
        return [ids for ids, _ in encoded], [unknown for _, unknown in encoded]

    def encode_targets(self, texts):
        """Target texts -> (list of id arrays ending in <eos>, list of unknown-token lists)."""
        encoded = [self.target_vocab.encode(self.tokenize(text)) for text in texts]
        return [np.append(ids, EOS_ID) for ids, _ in encoded], [unknown for _, unknown in encoded]

    def detokenize(self, ids):
        """Target ids (without <eos>) -> text."""
        return "".join(self.tokenizer.pieces(self.target_vocab.decode(ids)))

    # -- the network -------------------------------------------------------------------

    def _check_pair(self, ids, mask, targets):
        self._check_batch(ids, mask)
        if mask is not None and not mask.any(axis=1).all():
            raise ValueError("every source needs at least one token")
        if not (isinstance(targets, np.ndarray) and targets.ndim == 2 and targets.shape[0] == ids.shape[0]
                and targets.dtype.kind in "iu" and targets.size):
            raise ValueError(f"targets must be a (B, T) integer array with B = {ids.shape[0]}, got "
                             f"{getattr(targets, 'shape', type(targets).__name__)}")
        if targets.min() < 0 or targets.max() >= len(self.target_vocab):
            raise ValueError(f"targets must be in [0, {len(self.target_vocab)}), got {targets.min()} .. {targets.max()}")

    def _encode(self, ids, mask, rng):
        """(encoder StackRun, the bridge's input [s; s'] (L, B, 2S) or None, Encoded) of a
        source batch ids (B, S), mask (B, S) or None."""
        run = self.encoder.forward(self.params, ids, mask, None, rng)
        finals = self.encoder.final_states(run)                                # (L*D, B, S)
        bridge_in = None
        if self.encoder.directions == 2:                                       # s_0 = tanh(W_b [s; s'] + b_b)
            L, B, S = self.config.num_layers, ids.shape[0], self.encoder.state_size
            bridge_in = finals.reshape(L, 2, B, S).transpose(0, 2, 1, 3).reshape(L, B, 2 * S)
            initial = np.tanh(bridge_in @ self.params["bridge.weight"].T + self.params["bridge.bias"])
        else:
            initial = finals
        keys = None
        if self.attention != "none":
            outputs = self.encoder.layer_outputs(run, -1).transpose(1, 0, 2)  # o_s (B, S, K)
            keys = attention_keys(self.params, self.attention, outputs, mask)
        return run, bridge_in, Encoded(keys, initial)

    def _forward(self, ids, mask, targets, rng):
        """Teacher-forced forward pass: logits (B*T, V_t) of every target step, and the
        Seq2SeqRun that backward reads."""
        self._check_pair(ids, mask, targets)
        B, T = targets.shape
        enc_run, bridge_in, encoded = self._encode(ids, mask, rng)
        inputs = np.empty_like(targets)                                        # y_0 .. y_{T-1}
        inputs[:, 0], inputs[:, 1:] = BOS_ID, targets[:, :-1]
        target_mask = targets != PAD_ID
        dec_mask = None if target_mask.all() else target_mask
        dec_run = self.decoder.forward(self.params, inputs, dec_mask, encoded.initial_states, rng)
        states = self.decoder.layer_outputs(dec_run, -1).transpose(1, 0, 2)   # d_t (B, T, H)
        att = None if encoded.keys is None else attend(self.params, self.attention, encoded.keys, states)
        features = states if att is None else att.attentional                  # ~h_t (B, T, H)
        features, keep = self._dropout(features.reshape(B * T, -1), rng)
        logits = features @ self.params["fc.weight"].T                        # y_t = W ~h_t + b
        logits += self.params["fc.bias"]
        return logits, Seq2SeqRun(enc_run, bridge_in, encoded, dec_run, att, features, keep, target_mask)

    def loss_and_gradients(self, ids, mask, targets, initial_state=None, rng=None):
        """Mean cross-entropy per real target token of source ids (B, S) with mask (B, S) or
        None and targets (B, T) (each row its tokens, <eos>, then <pad>); fills self.grads.
        rng: draw dropout from it (training). Returns a StepResult (predicted: (B, T) ids)."""
        if initial_state is not None:
            raise ValueError("a seq2seq model starts its decoder from the encoder; it takes no initial state")
        logits, run = self._forward(ids, mask, targets, rng)
        B, T = targets.shape
        weights = run.target_mask.reshape(-1).astype(self.dtype)
        loss, dlogits = softmax_cross_entropy(logits, targets.reshape(-1), weights)
        d_features = self._output_backward(dlogits, run.features)              # W^T dy_t
        if run.keep is not None:
            d_features *= run.keep
        d_features = d_features.reshape(B, T, -1)
        d_outputs = None
        if run.attention is not None:
            d_states, d_outputs = attend_backward(self.params, self.grads, run.attention, d_features)
        else:
            d_states = d_features
        d_initial = self.decoder.backward(self.params, self.grads, run.decoder, d_states.transpose(1, 0, 2))
        d_finals = d_initial if run.bridge_in is None else self._bridge_backward(run, d_initial)
        self.encoder.backward(self.params, self.grads, run.encoder,
                              None if d_outputs is None else d_outputs.transpose(1, 0, 2), d_final_states=d_finals)
        predicted = logits.argmax(axis=1).reshape(B, T)
        return StepResult(loss, None, None, predicted)

    def _bridge_backward(self, run, d_initial):
        """From dL/ds_0 (L, B, S) of the decoder: the bridge's gradients, and dL/d(final
        states) of the encoder (L*2, B, S), numbered as final_states numbers them."""
        L, B, S = d_initial.shape
        d_pre = d_initial * (1.0 - run.encoded.initial_states ** 2)            # through tanh
        np.dot(d_pre.reshape(-1, S).T, run.bridge_in.reshape(-1, 2 * S), out=self.grads["bridge.weight"])
        np.add.reduce(d_pre.reshape(-1, S), axis=0, out=self.grads["bridge.bias"])
        d_in = d_pre @ self.params["bridge.weight"]                            # (L, B, 2S): [ds; ds']
        return d_in.reshape(L, B, 2, S).transpose(0, 2, 1, 3).reshape(2 * L, B, S)

    def loss_sum(self, ids, mask, targets):
        """Forward only: (summed cross-entropy over real target tokens, tokens, predicted (B, T))."""
        logits, run = self._forward(ids, mask, targets, None)
        target_mask = run.target_mask
        B, T = targets.shape
        log_probs = log_softmax(logits)
        picked = log_probs[np.arange(B * T), targets.reshape(-1)]
        return float(-(picked * target_mask.reshape(-1)).sum()), int(target_mask.sum()), \
            logits.argmax(axis=1).reshape(B, T)

    # -- one step at a time (decoding.py) ----------------------------------------------

    def encode_sources(self, sequences):
        """Id arrays -> Encoded (evaluation: no dropout)."""
        ids, mask = pad_batch(sequences)
        self._check_batch(ids, mask)
        if not mask.any(axis=1).all():
            raise ValueError("every source needs at least one token")
        return self._encode(ids, None if mask.all() else mask, None)[2]

    def decode_step(self, encoded, previous, states):
        """One decoder step for every row: previous target ids (B,), states (L, B, S) ->
        (log p of the next token (B, V_t), the new states (L, B, S), attention weights
        (B, S) or None)."""
        run = self.decoder.forward(self.params, previous[:, None], None, states, None)
        new_states = self.decoder.final_states(run)
        hidden = self.decoder.layer_outputs(run, -1).transpose(1, 0, 2)        # d_t (B, 1, H)
        weights = None
        if encoded.keys is not None:
            att = attend(self.params, self.attention, encoded.keys, hidden)
            hidden, weights = att.attentional, att.weights[:, 0]
        logits = hidden[:, 0] @ self.params["fc.weight"].T + self.params["fc.bias"]
        return log_softmax(logits), new_states, weights
