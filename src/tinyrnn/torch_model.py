"""A tinyrnn model as a PyTorch nn.Module, for training at scale or deploying with PyTorch.

This file needs only torch (not tinyrnn, not NumPy): copy it into a project that has left
tinyrnn. Build it from the "config" metadata of a file written by
`tinyrnn export --format torch` and load that file's tensors into it:

    import json
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open("model.torch.safetensors", "pt") as f:
        config = json.loads(f.metadata()["config"])
    model = build(config).double()                    # .double() for a float64 model
    model.load_state_dict(load_file("model.torch.safetensors"))

build(config) is TorchRNN(config) for a classifier or language model and TorchSeq2Seq(config)
for a seq2seq model (config["task"] == "seq2seq"); a model that reads numbers (config["features"])
is built by torch_numeric.py (a classifier, regressor or forecaster).

The tensors load as they are: each tinyrnn cell declares PyTorch's gate order as its own
(GATES in tinyrnn/nn/lstm.py and gru.py: i, f, g, o and r, z, n), which tinyrnn's tests hold
equal to nn.LSTM's and nn.GRU's (tests/test_torch_parity.py).

It computes what tinyrnn computes (dropout, which tinyrnn uses only in training, is not
part of the module: add it where you train):

    x_t = E[id_t]  or  onehot(id_t)                  (one-hot models hold no embedding tensor)
    outputs, h_n = RNN / LSTM / GRU (x, packed by length)
    classifier:      p = softmax(fc(h_n of the top layer, both directions; or the mean / max
                     of the top layer's outputs over the real steps))           (B, C)
    language model:  p_t = softmax(fc(h_t)) at every step                      (B, T, V)
    seq2seq:         see TorchSeq2Seq
"""
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class TorchRNN(nn.Module):
    """[nn.Embedding] + nn.RNN / nn.LSTM / nn.GRU (batch_first) + nn.Linear, named embedding, rnn, fc."""

    def __init__(self, config):
        super().__init__()
        V, H, E = config["vocab_size"], config["hidden_size"], config.get("embed_size")
        self.task, self.pool = config["task"], config.get("pool", "last")
        self.vocab_size, self.directions = V, 2 if config.get("bidirectional") else 1
        if E:
            self.embedding = nn.Embedding(V, E)
        extra = {"nonlinearity": config.get("nonlinearity", "tanh")} if config["cell"] == "rnn" else {}
        self.rnn = CELLS[config["cell"]](E or V, H, num_layers=config.get("num_layers", 1), batch_first=True,
                                         bidirectional=self.directions == 2, **extra)
        outputs = config["num_classes"] if self.task == "classify" else V
        self.fc = nn.Linear(self.directions * H, outputs)

    def inputs(self, ids):
        """x_t for every step: (B, T, E), or one-hot (B, T, V)."""
        if hasattr(self, "embedding"):
            return self.embedding(ids)
        return nn.functional.one_hot(ids, self.vocab_size).to(self.fc.weight.dtype)

    def logits(self, ids, lengths):
        """ids (B, T) int64 (padding: any id, e.g. 0), lengths (B,) >= 1 -> fc's outputs:
        (B, C) for a classifier, (B, T, V) for a language model."""
        packed = pack_padded_sequence(self.inputs(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, state = self.rnn(packed)
        if self.task == "lm":
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=ids.shape[1])
            return self.fc(outputs)
        if self.pool == "last":
            h_n = state[0] if isinstance(state, tuple) else state          # the LSTM's (h_n, c_n)
            features = torch.cat(list(h_n[-self.directions:]), dim=1)      # top layer, both directions
        else:
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=ids.shape[1])
            lengths = lengths.to(outputs.device)
            real = (torch.arange(ids.shape[1], device=outputs.device)[None, :] < lengths[:, None]).unsqueeze(2)
            if self.pool == "mean":
                features = (outputs * real).sum(dim=1) / lengths[:, None].to(outputs.dtype)
            else:
                features = outputs.masked_fill(~real, float("-inf")).amax(dim=1)
        return self.fc(features)

    def forward(self, ids, lengths):
        """Probabilities: (B, C) for a classifier, (B, T, V) for a language model."""
        return torch.softmax(self.logits(ids, lengths), dim=-1)

    def log_probabilities(self, ids, lengths):
        """ln of forward's probabilities, computed stably (for a loss such as nll_loss)."""
        return torch.log_softmax(self.logits(ids, lengths), dim=-1)


# ---- sequence to sequence --------------------------------------------------------------------

PAD_ID, BOS_ID, EOS_ID = 0, 2, 3                       # a target vocabulary: <pad>, <unk>, <bos>, <eos>, ...


def build(config):
    """The module of a tinyrnn file's config: TorchSeq2Seq for task "seq2seq", a module of
    torch_numeric.py for a model that reads numbers (config "features"), else TorchRNN."""
    if config.get("features"):
        from .torch_numeric import build as build_numeric     # copy that file too for these
        return build_numeric(config)
    return TorchSeq2Seq(config) if config["task"] == "seq2seq" else TorchRNN(config)


class RecurrentBody(nn.Module):
    """[nn.Embedding] + nn.RNN / nn.LSTM / nn.GRU (batch_first), named embedding, rnn."""

    def __init__(self, config, vocab_size, bidirectional):
        super().__init__()
        H, E = config["hidden_size"], config.get("embed_size")
        self.vocab_size = vocab_size
        if E:
            self.embedding = nn.Embedding(vocab_size, E)
        extra = {"nonlinearity": config.get("nonlinearity", "tanh")} if config["cell"] == "rnn" else {}
        self.rnn = CELLS[config["cell"]](E or vocab_size, H, num_layers=config.get("num_layers", 1),
                                         batch_first=True, bidirectional=bidirectional, **extra)

    def inputs(self, ids):
        """x_t for every step: (B, T, E), or one-hot (B, T, V)."""
        if hasattr(self, "embedding"):
            return self.embedding(ids)
        return nn.functional.one_hot(ids, self.vocab_size).to(self.rnn.weight_hh_l0.dtype)


class TorchSeq2Seq(nn.Module):
    """Source ids -> target ids, as tinyrnn's Seq2Seq (tinyrnn/seq2seq.py, nn/attention.py):

        o_s, s_S = encoder(x_1 .. x_S)                 packed by length; s = [h | c] for an LSTM
        s_0 = s_S, or tanh(bridge([s_S; s'_1]))        each layer; bidirectional encoder
        d_t = decoder(y_0 .. y_{T-1}) from s_0         y_0 = <bos>
        e_ts = d_t . o_s | d_t . attention(o_s) | attention.v(tanh(attention.query(d_t) + attention.key(o_s)))
        a_t = softmax_s(e_ts) over the real source steps,  c_t = sum_s a_ts o_s
        ~h_t = tanh(combine([c_t; d_t]))               (d_t itself without attention)
        p_t = softmax(fc(~h_t))

    Submodules: encoder and decoder (RecurrentBody: embedding, rnn), bridge, attention,
    combine, fc; their state_dict names are the tinyrnn file's tensor names."""

    def __init__(self, config):
        super().__init__()
        H, self.cell = config["hidden_size"], config["cell"]
        self.hidden_size, self.kind = H, config.get("attention") or "general"
        self.directions = D = 2 if config.get("bidirectional") else 1
        self.encoder = RecurrentBody(config, config["vocab_size"], D == 2)
        self.decoder = RecurrentBody(config, config["target_vocab_size"], False)
        S, K = (2 if self.cell == "lstm" else 1) * H, D * H     # a state's width, an encoder output's
        if D == 2:
            self.bridge = nn.Linear(2 * S, S)
        if self.kind == "general":
            self.attention = nn.Linear(K, H, bias=False)
        elif self.kind == "additive":
            A = config.get("attention_size") or H
            self.attention = nn.Module()
            self.attention.query = nn.Linear(H, A, bias=False)
            self.attention.key = nn.Linear(K, A)
            self.attention.v = nn.Linear(A, 1, bias=False)
        if self.kind != "none":
            self.combine = nn.Linear(K + H, H, bias=False)
        self.fc = nn.Linear(H, config["target_vocab_size"])

    def encode(self, source, source_lengths):
        """source (B, S) int64 (padding: any id), source_lengths (B,) >= 1 -> (outputs o_s
        (B, S, K), mask (B, S) of the real steps, keys as the scores read them, the decoder's
        initial state: h_0 (L, B, H), or (h_0, c_0) for an LSTM)."""
        packed = pack_padded_sequence(self.encoder.inputs(source), source_lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        outputs, state = self.encoder.rnn(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=source.shape[1])
        finals = torch.cat(state, dim=2) if self.cell == "lstm" else state     # s = [h | c]  (L*D, B, S)
        if self.directions == 2:                                                # [s; s'] of each layer
            LD, B, S = finals.shape
            joined = finals.reshape(LD // 2, 2, B, S).transpose(1, 2).reshape(LD // 2, B, 2 * S)
            finals = torch.tanh(self.bridge(joined))                            # (L, B, S)
        H = self.hidden_size
        initial = (finals[..., :H].contiguous(), finals[..., H:].contiguous()) if self.cell == "lstm" else finals
        lengths = source_lengths.to(source.device)
        mask = torch.arange(source.shape[1], device=source.device)[None, :] < lengths[:, None]
        if self.kind == "general":
            keys = self.attention(outputs)                                      # W_a o_s (B, S, H)
        elif self.kind == "additive":
            keys = self.attention.key(outputs)                                  # W_k o_s + b_k (B, S, A)
        else:
            keys = outputs
        return outputs, mask, keys, initial

    def attend(self, encoded, decoded):
        """The attentional states ~h_t (B, T, H) of decoder states d_t (B, T, H)."""
        outputs, mask, keys, _ = encoded
        if self.kind == "none":
            return decoded
        if self.kind == "additive":
            query = self.attention.query(decoded)                               # (B, T, A)
            scores = self.attention.v(torch.tanh(query[:, :, None] + keys[:, None])).squeeze(3)   # (B, T, S)
        else:
            scores = decoded @ keys.transpose(1, 2)                             # (B, T, S)
        weights = torch.softmax(scores.masked_fill(~mask[:, None, :], float("-inf")), dim=2)
        context = weights @ outputs                                             # c_t (B, T, K)
        return torch.tanh(self.combine(torch.cat([context, decoded], dim=2)))

    def forward(self, source, source_lengths, target_in):
        """Teacher-forced logits (B, T, V_t) of target_in (B, T) = <bos>, y_1 .. y_{T-1} (the
        target shifted right; padding after a row's end changes no earlier step)."""
        encoded = self.encode(source, source_lengths)
        decoded, _ = self.decoder.rnn(self.decoder.inputs(target_in), encoded[3])   # d_t (B, T, H)
        return self.fc(self.attend(encoded, decoded))

    def step(self, encoded, previous, state):
        """One decoder step: previous ids (B,), state -> (log p of the next token (B, V_t), state)."""
        decoded, state = self.decoder.rnn(self.decoder.inputs(previous[:, None]), state)
        return torch.log_softmax(self.fc(self.attend(encoded, decoded))[:, 0], dim=1), state

    @torch.no_grad()
    def translate(self, source, source_lengths, beam=1, max_length=None):
        """The best hypothesis's target ids (without <eos>) for each source, a list of lists.
        Beam search as tinyrnn's decoding.py: a hypothesis's score is the sum of ln p of its
        tokens (<eos> included), ranked by score / tokens; a finished hypothesis stays in the
        beam until better ones push it out; a source's search ends when every kept hypothesis
        is finished or has max_length tokens (None: 2 x the source's length + 10, so a source
        translates alike alone or in a batch). beam 1: greedy."""
        if type(beam) is not int or beam < 1:
            raise ValueError(f"a beam must be a positive integer, got {beam!r}")
        N, K = source.shape[0], beam
        limits = 2 * source_lengths.to(source.device) + 10 if not max_length else \
            torch.full((N,), max_length, device=source.device)                 # (N,)
        outputs, mask, keys, state = self.encode(source, source_lengths)
        rows = torch.arange(N, device=source.device).repeat_interleave(K)
        encoded, state = (outputs[rows], mask[rows], keys[rows], None), _rows(state, rows)
        previous = torch.full((N * K,), BOS_ID, dtype=torch.long, device=source.device)
        score = torch.full((N, K), float("-inf"), dtype=outputs.dtype, device=source.device)
        score[:, 0] = 0.0                                                       # one hypothesis to start from
        length = torch.zeros((N, K), dtype=torch.long, device=source.device)
        finished = torch.zeros((N, K), dtype=torch.bool, device=source.device)
        tokens = torch.zeros((N, K, 0), dtype=torch.long, device=source.device)
        hypotheses = torch.arange(N, device=source.device)[:, None]
        for step in range(int(limits.max())):
            log_p, new_state = self.step(encoded, previous, state)
            V = log_p.shape[1]
            total = score[..., None] + log_p.reshape(N, K, V)                   # (N, K, V)
            total[..., PAD_ID] = total[..., BOS_ID] = float("-inf")             # never produced
            total[finished] = float("-inf")
            total[..., PAD_ID] = torch.where(finished, score, total[..., PAD_ID])   # a finished one carries on
            new_length = length + (~finished).long()
            ranked = (total / new_length.clamp(min=1)[..., None]).reshape(N, K * V)
            chosen = torch.sort(-ranked, dim=1, stable=True).indices[:, :K]     # (N, K)
            parent, token = chosen // V, chosen % V
            score = total.reshape(N, K * V).gather(1, chosen)
            length, finished = new_length.gather(1, parent), finished.gather(1, parent) | (token == EOS_ID)
            finished |= (step + 1 >= limits)[:, None]                           # at its maximum length
            tokens = torch.cat([tokens[hypotheses, parent], token[..., None]], dim=2)
            state, previous = _rows(new_state, (hypotheses * K + parent).reshape(-1)), token.reshape(-1)
            if finished.all():
                break
        best = torch.argmax(score / length.clamp(min=1), dim=1)
        return [[int(t) for t in tokens[n, best[n], :length[n, best[n]]] if t != EOS_ID] for n in range(N)]


def _rows(state, rows):
    """A decoder state (h, or the LSTM's (h, c)), (L, B, H) each, at the given batch rows."""
    return tuple(part[:, rows] for part in state) if isinstance(state, tuple) else state[:, rows]
