"""French -> English with attention: the PyTorch reference for `tinyrnn train --task seq2seq`.

The setup of PyTorch's tutorial "NLP From Scratch: Translation with a Sequence to Sequence
Network and Attention", written by us with padded batches:

Data (tutorial_pairs). Tatoeba's eng-fra.txt (English TAB French [TAB attribution]). Both
sides normalised as the tutorial's normalizeString: lowercase, accents stripped (NFD, marks
of category Mn dropped), ".", "!" and "?" split off with a space before, every other run of
non-letters one space. Kept: pairs under 10 words on both sides (len(s.split(" ")) < 10)
whose English starts with one of ENGLISH_PREFIXES. Split by French sentence (every pair of
one source on the same side), seeded: 10 % of the distinct sources test, 10 % validation.
Vocabularies come from the training pairs only, words in sorted order after the special
tokens, as tinyrnn's Vocab.build lays them out: source <pad> 0, <unk> 1; target <pad> 0,
<unk> 1, <bos> 2, <eos> 3. Every target ends with <eos>. The tutorial also ends each
source with <eos>; here that is tutorial_pairs(source_eos=True), whose source vocabulary
then starts with the four target specials (default off: tinyrnn's source vocabulary has no
<eos>).

Network (torch_model), H = hidden size, B batch, S source and T target length:
    keys, _ = GRU(dropout(E_src[x]))                  (B, S, H); the encoder's state after
    state_0 = keys[b, len_b - 1]                      the last real word starts the decoder
    score_s = Va^T tanh(Wa state_{t-1} + Ua key_s)    Bahdanau attention, -inf at padding
    context = sum_s softmax(score)_s key_s            (B, H)
    state_t = GRUCell([dropout(E_tgt[y_{t-1}]); context], state_{t-1})   input 2H
    log p(y_t) = log_softmax(W_out state_t + b_out)   (B, V_tgt)
Dropout 0.1 on both embeddings (as the tutorial), teacher forcing, Adam lr 1e-3, batches of
32 padded to their longest; loss: mean negative log-likelihood over the real target tokens
(<eos> included). PyTorch's default initialisation. float32, 2 threads, OMP_WAIT_POLICY=PASSIVE.

Decoding: greedy, and beam search (beam 5; a hypothesis's score is its mean log-probability
per token, <eos> counted; a beam ends with 5 finished hypotheses or at MAX_DECODE tokens).

BLEU (bleu): sacrebleu's corpus BLEU with its defaults (13a tokenizer, exponential
smoothing; the standard signature), one hypothesis and one reference per test pair, as
space-joined normalised words. The text is already lowercase and tokenised: 13a leaves every
sentence of these pairs as it is (all 18,108 checked), so the score is the one of
tokenize="none", and it stays the standard BLEU on text that is not tokenised yet.

Timing (torch_step_seconds, `speed`): OMP_WAIT_POLICY=PASSIVE (set here unless the
environment sets it) lets PyTorch's idle threads sleep, so that they do not take the cores
from NumPy in side-by-side runs; waking them costs PyTorch about 0.1 ms per small product,
so this network's step takes about twice as long as with OMP_WAIT_POLICY=ACTIVE when the
cores are free (while ACTIVE is several times slower when other work keeps the cores
busy). The JSON names the policy in force.

    python benchmarks/seq2seq_reference.py train [--seed 0] [--hidden 128] [--epochs 80] [--minutes M]
    python benchmarks/seq2seq_reference.py speed [--hidden 128] [--repeats 30]

`train` prints a line per epoch and then one JSON line: the test BLEU (greedy, beam 5) of
the epoch with the lowest validation loss (--keep-best bleu: the highest validation BLEU)
and the training seconds to it. `speed` prints one JSON line.
"""
import argparse
import json
import math
import os
import re
import sys
import time
import unicodedata
from typing import NamedTuple

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")     # read when PyTorch's OpenMP starts
sys.path.insert(0, os.path.dirname(__file__))
from common import THREADS, load_torch, median  # noqa: E402

from tinyrnn.errors import DataError  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "tatoeba-eng-fra", "eng-fra.txt")
MAX_WORDS = 10                               # both sides: fewer words than this
ENGLISH_PREFIXES = ("i am ", "i m ", "he is", "he s ", "she is", "she s ", "you are", "you re ",
                    "we are", "we re ", "they are", "they re ")
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SOURCE_SPECIALS, TARGET_SPECIALS = (PAD, UNK), (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
MAX_DECODE = 12                              # tokens a translation may take, <eos> included


# ---------------------------------------------------------------- data

def normalize(text):
    """The tutorial's normalizeString: lowercase ASCII letters, ". ! ?" as words of their own."""
    text = "".join(c for c in unicodedata.normalize("NFD", text.lower().strip())
                   if unicodedata.category(c) != "Mn")
    text = re.sub(r"([.!?])", r" \1", text)
    return re.sub(r"[^a-zA-Z.!?]+", " ", text).strip()


def read_pairs(path=DATA):
    """The tutorial's filtered (french, english) pairs, normalised, in file order."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot be read as UTF-8 text ({error})") from None
    pairs = []
    for number, line in enumerate(lines, 1):
        fields = line.split("\t")
        if len(fields) < 2:
            raise DataError(f"{path}:{number}: expected English<TAB>French, found no tab")
        english, french = normalize(fields[0]), normalize(fields[1])
        if (len(french.split(" ")) < MAX_WORDS and len(english.split(" ")) < MAX_WORDS
                and english.startswith(ENGLISH_PREFIXES)):
            pairs.append((french, english))
    return pairs


def build_vocab(sentences, specials):
    """word -> id: the special tokens, then every word of sentences in sorted order."""
    words = sorted({word for sentence in sentences for word in sentence.split(" ")} - set(specials))
    return {token: i for i, token in enumerate([*specials, *words])}


class TutorialData(NamedTuple):
    train: list                  # [(french, english)] normalised strings
    valid: list
    test: list
    source_vocab: dict           # French word -> id (SOURCE_SPECIALS first, TARGET_SPECIALS with source_eos)
    target_vocab: dict           # English word -> id (TARGET_SPECIALS first)
    source_eos: bool             # does every source end with <eos> (as in the tutorial)?


def tutorial_pairs(path=DATA, seed=0, valid_fraction=0.1, test_fraction=0.1, source_eos=False):
    """The tutorial's pairs split by French sentence: a seeded share of the distinct sources
    (rounded) goes to test, the next to validation. Vocabularies from the training pairs."""
    pairs = read_pairs(path)
    sources = np.random.default_rng(seed).permutation(sorted({french for french, _ in pairs}))
    n_test, n_valid = round(test_fraction * len(sources)), round(valid_fraction * len(sources))
    side = {french: "test" for french in sources[:n_test]}
    side.update({french: "valid" for french in sources[n_test:n_test + n_valid]})
    splits = {"train": [], "valid": [], "test": []}
    for pair in pairs:
        splits[side.get(pair[0], "train")].append(pair)
    train, source_specials = splits["train"], TARGET_SPECIALS if source_eos else SOURCE_SPECIALS
    return TutorialData(train, splits["valid"], splits["test"],
                        build_vocab((french for french, _ in train), source_specials),
                        build_vocab((english for _, english in train), TARGET_SPECIALS), source_eos)


def encode(sentence, vocab, eos):
    """Words -> int64 ids (<unk> for unknown words), <eos> appended when eos."""
    ids = [vocab.get(word, UNK_ID) for word in sentence.split(" ")]
    return np.array(ids + [vocab[EOS]] if eos else ids, dtype=np.int64)


def encode_pairs(pairs, data):
    """[(source ids, target ids ending with <eos>)] for pairs, in data's vocabularies."""
    return [(encode(french, data.source_vocab, data.source_eos), encode(english, data.target_vocab, True))
            for french, english in pairs]


def padded(sequences):
    """Id arrays -> ids (B, T) int64 padded with <pad>, mask (B, T) bool, T the longest."""
    ids = np.full((len(sequences), max(map(len, sequences))), PAD_ID, dtype=np.int64)
    mask = np.zeros(ids.shape, dtype=bool)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)], mask[row, :len(sequence)] = sequence, True
    return ids, mask


def bleu(hypotheses, references):
    """Corpus BLEU (0-100) of hypothesis strings against one reference string each, with
    sacrebleu's defaults (13a tokenizer, exp smoothing): see the module docstring."""
    import sacrebleu
    # force: the text is tokenised on purpose (sacrebleu would warn of it)
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)], force=True).score


# ---------------------------------------------------------------- the network in PyTorch

def _torch():
    torch = load_torch()
    if torch is None:
        raise SystemExit("PyTorch is not installed: python -m pip install '.[bench]'")
    return torch


def torch_model(source_size, target_size, hidden=128, dropout=0.1):
    """The tutorial's encoder-decoder with Bahdanau attention (module docstring), float32."""
    torch = _torch()
    nn = torch.nn

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.source_embedding = nn.Embedding(source_size, hidden)
            self.target_embedding = nn.Embedding(target_size, hidden)
            self.encoder = nn.GRU(hidden, hidden, batch_first=True)
            self.Wa, self.Ua, self.Va = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 1)
            self.decoder = nn.GRUCell(2 * hidden, hidden)
            self.out = nn.Linear(hidden, target_size)
            self.dropout = nn.Dropout(dropout)

        def encode(self, source, source_mask):
            """source (B, S) ids, mask (B, S) -> keys (B, S, H), Ua keys (B, S, H), state (B, H)."""
            keys, _ = self.encoder(self.dropout(self.source_embedding(source)))
            last = source_mask.sum(1) - 1              # padding comes after: outputs before it are exact
            return keys, self.Ua(keys), keys[torch.arange(len(source)), last]

        def step(self, embedded, state, keys, projected, source_mask):
            """One decoder step: embedded (B, H) previous word, state (B, H) -> state (B, H)."""
            scores = self.Va(torch.tanh(self.Wa(state).unsqueeze(1) + projected)).squeeze(2)   # (B, S)
            weights = scores.masked_fill(~source_mask, float("-inf")).softmax(1)
            context = torch.bmm(weights.unsqueeze(1), keys).squeeze(1)                          # (B, H)
            return self.decoder(torch.cat([embedded, context], 1), state)

        def forward(self, source, source_mask, target, target_mask):
            """Teacher forcing: mean negative log-likelihood per real target token."""
            keys, projected, state = self.encode(source, source_mask)
            previous = torch.cat([torch.full_like(target[:, :1], BOS_ID), target[:, :-1]], 1)
            embedded = self.dropout(self.target_embedding(previous))                           # (B, T, H)
            states = []
            for t in range(target.shape[1]):
                state = self.step(embedded[:, t], state, keys, projected, source_mask)
                states.append(state)
            log_probs = self.out(torch.stack(states, 1)).log_softmax(2)                         # (B, T, V)
            nll = -log_probs.gather(2, target.unsqueeze(2)).squeeze(2)                          # (B, T)
            return (nll * target_mask).sum() / target_mask.sum()

    return Seq2Seq()


def _tensors(encoded):
    torch = _torch()
    source, source_mask = padded([s for s, _ in encoded])
    target, target_mask = padded([t for _, t in encoded])
    return (torch.from_numpy(source), torch.from_numpy(source_mask), torch.from_numpy(target),
            torch.from_numpy(target_mask).float())


def mean_loss(model, encoded, batch=256):
    """Mean negative log-likelihood per real target token over encoded pairs (eval mode)."""
    torch, model_was_training = _torch(), model.training
    model.eval()
    total, tokens = 0.0, 0.0
    with torch.no_grad():
        for start in range(0, len(encoded), batch):
            source, source_mask, target, target_mask = _tensors(encoded[start:start + batch])
            count = float(target_mask.sum())
            total, tokens = total + float(model(source, source_mask, target, target_mask)) * count, tokens + count
    model.train(model_was_training)
    return total / tokens


def greedy(model, sources, max_length=MAX_DECODE, batch=256):
    """Source id arrays -> the most probable next word at each step, as id lists without
    <eos> (leaves the model in eval mode, as beam_search does)."""
    torch, results = _torch(), []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(sources), batch):
            source, source_mask = map(torch.from_numpy, padded(sources[start:start + batch]))
            keys, projected, state = model.encode(source, source_mask)
            word, words = torch.full((len(source),), BOS_ID), []
            for _ in range(max_length):
                state = model.step(model.target_embedding(word), state, keys, projected, source_mask)
                word = model.out(state).argmax(1)
                words.append(word)
                if bool((torch.stack(words, 1) == EOS_ID).any(1).all()):
                    break
            for row in torch.stack(words, 1).tolist():
                results.append(row[:row.index(EOS_ID)] if EOS_ID in row else row)
    return results


def beam_search(model, source, beam=5, max_length=MAX_DECODE):
    """One source id array -> the id list (without <eos>) of the best finished hypothesis by
    mean log-probability per token (<eos> counted). Each step keeps the `beam` best
    unfinished ones; a hypothesis ending with <eos> among the step's `beam` best finishes."""
    torch = _torch()
    model.eval()
    with torch.no_grad():
        source = torch.from_numpy(source).unsqueeze(0)
        mask = torch.ones_like(source, dtype=torch.bool)
        keys, projected, state = model.encode(source, mask)
        alive, finished = [([], 0.0)], []                     # (words, summed log-probability)
        for _ in range(max_length):
            k = len(alive)
            previous = torch.tensor([words[-1] if words else BOS_ID for words, _ in alive])
            state = model.step(model.target_embedding(previous), state, keys.expand(k, -1, -1),
                               projected.expand(k, -1, -1), mask.expand(k, -1))
            totals = model.out(state).log_softmax(1) + torch.tensor([s for _, s in alive]).unsqueeze(1)   # (k, V)
            values, flat = totals.view(-1).topk(min(2 * beam, totals.numel()))
            next_alive, rows = [], []
            for rank, (value, index) in enumerate(zip(values.tolist(), flat.tolist())):
                row, word = divmod(index, totals.shape[1])
                if word == EOS_ID:
                    if rank < beam:
                        finished.append((alive[row][0], value / (len(alive[row][0]) + 1)))
                elif len(next_alive) < beam:
                    next_alive.append((alive[row][0] + [word], value))
                    rows.append(row)
            if len(finished) >= beam or not next_alive:
                break
            alive, state = next_alive, state[rows]
        if not finished:
            finished = [(words, total / len(words)) for words, total in alive]
    return max(finished, key=lambda hypothesis: hypothesis[1])[0]


def translate(model, sources, target_vocab, beam=1):
    """Source id arrays -> English strings (greedy when beam is 1)."""
    words = {i: word for word, i in target_vocab.items()}
    ids = greedy(model, sources) if beam == 1 else [beam_search(model, s, beam) for s in sources]
    return [" ".join(words[i] for i in row) for row in ids]


# ---------------------------------------------------------------- training, timing, CLI

def train_torch(data, hidden=128, seed=0, epochs=80, minutes=None, patience=10, keep_best="loss",
                lr=1e-3, batch=32, dropout=0.1, log=None):
    """Train on data.train (each epoch shuffled and cut into ceil(N / batch) batches of equal
    size, 31 or 32 pairs here), validate each epoch (loss and greedy BLEU), keep the weights of the
    best epoch (lowest validation loss, or highest BLEU with keep_best="bleu"); stop after
    `epochs`, `patience` epochs without a better one, or `minutes` of training time.
    Returns (model with the best weights, [one dict per epoch], the best epoch's dict)."""
    torch = _torch()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = torch_model(len(data.source_vocab), len(data.target_vocab), hidden, dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train, valid = encode_pairs(data.train, data), encode_pairs(data.valid, data)
    history, best, best_state, train_seconds, wall_started = [], None, None, 0.0, time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        started, losses = time.perf_counter(), []
        for rows in np.array_split(rng.permutation(len(train)), math.ceil(len(train) / batch)):
            loss = model(*_tensors([train[i] for i in rows]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        train_seconds += time.perf_counter() - started
        hypotheses = translate(model, [s for s, _ in valid], data.target_vocab)
        record = {"epoch": epoch, "train_loss": float(np.mean(losses)), "valid_loss": mean_loss(model, valid),
                  "valid_bleu": bleu(hypotheses, [english for _, english in data.valid]),
                  "epoch_seconds": time.perf_counter() - started, "train_seconds": train_seconds,
                  "wall_seconds": time.perf_counter() - wall_started}
        history.append(record)
        if log:
            log(record)
        if best is None or (record["valid_bleu"] > best["valid_bleu"] if keep_best == "bleu"
                            else record["valid_loss"] < best["valid_loss"]):
            best, best_state = record, {k: v.clone() for k, v in model.state_dict().items()}
        if epoch - best["epoch"] >= patience or (minutes is not None and train_seconds >= 60 * minutes):
            break
    model.load_state_dict(best_state)
    return model, history, best


def test_bleu(model, data, beam=1):
    """Test BLEU of model's translations of data.test (greedy when beam is 1)."""
    sources = [s for s, _ in encode_pairs(data.test, data)]
    return bleu(translate(model, sources, data.target_vocab, beam), [english for _, english in data.test])


def torch_step(batch=32, length=10, hidden=128, src_vocab=3333, tgt_vocab=2143, seed=0):
    """One training step (forward, backward, Adam update) of the network on random ids, every
    source and target `length` long, as a function to time. The vocabulary sizes default to
    those of tutorial_pairs(seed=0)."""
    torch = _torch()
    torch.manual_seed(seed)
    model = torch_model(src_vocab, tgt_vocab, hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = np.random.default_rng(seed)
    source = torch.from_numpy(generator.integers(len(SOURCE_SPECIALS), src_vocab, (batch, length)))
    target = torch.from_numpy(generator.integers(len(TARGET_SPECIALS), tgt_vocab, (batch, length)))
    source_mask, target_mask = torch.ones_like(source, dtype=torch.bool), torch.ones(batch, length)

    def step():
        loss = model(source, source_mask, target, target_mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step


def torch_step_seconds(batch=32, length=10, hidden=128, src_vocab=3333, tgt_vocab=2143, repeats=30, seed=0):
    """Median seconds of one torch_step, and target tokens (B * T) per second."""
    step = torch_step(batch, length, hidden, src_vocab, tgt_vocab, seed)
    times = []
    for _ in range(repeats + 3):                    # the first three warm up
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    seconds = median(times[3:])
    return {"seconds": seconds, "tokens_per_s": batch * length / seconds}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["train", "speed"])
    parser.add_argument("--data", default=DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--minutes", type=float, help="stop after this much training time")
    parser.add_argument("--patience", type=int, default=10, help="epochs without a better validation figure")
    parser.add_argument("--keep-best", choices=["loss", "bleu"], default="loss")
    parser.add_argument("--source-eos", action="store_true", help="end each source with <eos> (the tutorial)")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    machine = {"cpu": cpu_name(), "threads": THREADS, "torch": _torch().__version__,
               "omp_wait_policy": os.environ["OMP_WAIT_POLICY"]}
    try:
        data = tutorial_pairs(args.data, args.seed, source_eos=args.source_eos)
    except DataError as error:
        raise SystemExit(f"error: {error}") from None
    if args.command == "speed":
        timing = torch_step_seconds(hidden=args.hidden, src_vocab=len(data.source_vocab),
                                    tgt_vocab=len(data.target_vocab), repeats=args.repeats)
        print(json.dumps({"batch": 32, "length": 10, "hidden": args.hidden, **timing, **machine}))
        return
    print(f"pairs: {len(data.train)} train, {len(data.valid)} valid, {len(data.test)} test; vocabularies: "
          f"{len(data.source_vocab)} French, {len(data.target_vocab)} English ({machine['cpu']}, {THREADS} threads)")
    print(f"{'epoch':>5} {'train loss':>10} {'valid loss':>10} {'valid BLEU':>10} {'seconds':>8}")
    model, history, best = train_torch(
        data, args.hidden, args.seed, args.epochs, args.minutes, args.patience, args.keep_best,
        log=lambda r: print(f"{r['epoch']:>5} {r['train_loss']:>10.4f} {r['valid_loss']:>10.4f} "
                            f"{r['valid_bleu']:>10.2f} {r['epoch_seconds']:>8.1f}", flush=True))
    print(json.dumps({
        "seed": args.seed, "hidden": args.hidden, "source_eos": args.source_eos, "keep_best": args.keep_best,
        "pairs": {"total": sum(map(len, data[:3])), "train": len(data.train), "valid": len(data.valid),
                  "test": len(data.test)},
        "vocab": {"source": len(data.source_vocab), "target": len(data.target_vocab)},
        "epochs_run": len(history), "best_epoch": best["epoch"], "valid_loss": best["valid_loss"],
        "valid_bleu": best["valid_bleu"], "train_seconds_to_best": best["train_seconds"],
        "wall_seconds_to_best": best["wall_seconds"],
        "test_bleu_greedy": test_bleu(model, data, 1), "test_bleu_beam5": test_bleu(model, data, 5), **machine}))


if __name__ == "__main__":
    main()
