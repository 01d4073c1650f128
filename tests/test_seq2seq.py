"""Seq2Seq: hand-written backward against float64 central differences for every attention,
cell and encoder; padding changes nothing; decoding (greedy, beam) against decode_step by
hand; reproducible training; model files."""
import json
import struct

import numpy as np
import pytest

from tinyrnn import seq2seq
from tinyrnn.data.pairs import Pairs
from tinyrnn.decoding import default_max_length, search, translate
from tinyrnn.errors import ModelFileError
from tinyrnn.gradcheck import check_gradients, check_loss_gradients, random_problem, random_seq2seq
from tinyrnn.io import load_model, save_model
from tinyrnn.seq2seq import Seq2Seq
from tinyrnn.tasks.seq2seq import encode_pairs, train_seq2seq
from tinyrnn.training import TrainConfig
from tinyrnn.vocab import BOS_ID, EOS_ID, PAD_ID, TARGET_SPECIALS, Vocab, pad_batch

ATTENTIONS = ["dot", "general", "additive", "none"]
CELLS = ["rnn", "lstm", "gru"]
ENCODERS = {"bidirectional": dict(bidirectional=True),
            "2 layers, embedding": dict(num_layers=2, embed_size=3),
            "2 bidirectional layers, embedding": dict(num_layers=2, bidirectional=True, embed_size=3)}
GRADIENT_CASES = [(attention, cell, {}) for attention in ATTENTIONS for cell in CELLS] + [
    ("general", "lstm", ENCODERS["bidirectional"]), ("additive", "gru", ENCODERS["bidirectional"]),
    ("general", "rnn", ENCODERS["2 layers, embedding"]),
    ("additive", "gru", ENCODERS["2 bidirectional layers, embedding"])]

SOURCES = [np.array([2, 3, 4, 5, 6]), np.array([3]), np.array([6, 2, 4])]
TARGETS = [np.array([5, 6, EOS_ID]), np.array([4, 5, 6, 7, 8, EOS_ID]), np.array([7, EOS_ID])]


def gradient_problem(attention, cell, architecture):
    """3 padded pairs; weights N(0, 1) so that every tensor's gradient is large enough
    (>= 1e-3) for a relative error to mean something."""
    return random_problem(np.random.default_rng(4), 4, 4, 4, 3, 3, cell=cell, task="seq2seq",
                          attention=attention, scale=1.0, **architecture)


@pytest.mark.parametrize("attention,cell,architecture", GRADIENT_CASES,
                         ids=[f"{a}-{c}-{'-'.join(map(str, e.items())) or 'plain'}" for a, c, e in GRADIENT_CASES])
def test_every_parameter_matches_central_differences(attention, cell, architecture):
    model, ids, mask, targets, initial_state = gradient_problem(attention, cell, architecture)
    assert initial_state is None and not mask.all() and (targets == PAD_ID).any(), "padded sources and targets"
    results = check_gradients(model, ids, mask, targets)
    assert [result.name for result in results] == list(model.params)
    for result in results:
        assert float(np.abs(model.grads[result.name]).max()) > 1e-3, f"{result.name}: too small to check"
        assert result.passed and result.relative_error < 1e-6, f"mine vs finite differences: {result}"


def test_the_check_fails_on_a_perturbed_gradient_and_on_a_lost_path():
    model, ids, mask, targets, _ = gradient_problem("additive", "gru", {})

    def perturbed(initial_state):
        result = model.loss_and_gradients(ids, mask, targets)
        model.grads["attention.v.weight"][0, 1] *= 1.01              # one element 1% off
        return result.loss, None
    failed = {result.name for result in check_loss_gradients(model, perturbed) if not result.passed}
    assert failed == {"attention.v.weight"}

    def attend_backward_without_encoder_path(params, grads, run, d_attentional):
        d_decoder, d_outputs = attend_backward(params, grads, run, d_attentional)
        return d_decoder, np.zeros_like(d_outputs)       # forgets dL/do_s: the encoder learns from s_0 only
    attend_backward = seq2seq.attend_backward
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seq2seq, "attend_backward", attend_backward_without_encoder_path)
        results = check_gradients(model, ids, mask, targets)
    failed = {result.name for result in results if not result.passed}
    assert failed and all(name.startswith("encoder.") for name in failed)
    assert "encoder.rnn.weight_ih_l0" in failed


def small_model(attention="general", cell="gru", seed=0, **architecture):
    """Source words w0..w4 (ids 2..6), target words t0..t4 (ids 4..8)."""
    return random_seq2seq(np.random.default_rng(seed), 5, 4, 5, 1.0, cell=cell, attention=attention, **architecture)


def summed(model, sources, targets):
    """(loss summed over real target tokens, gradients of that sum) of one padded batch."""
    ids, mask = pad_batch(sources)
    padded, target_mask = pad_batch(targets)
    tokens = int(target_mask.sum())
    loss = model.loss_and_gradients(ids, None if mask.all() else mask, padded).loss * tokens
    return loss, {name: grad * tokens for name, grad in model.grads.items()}


@pytest.mark.parametrize("attention,cell,architecture", [
    ("dot", "lstm", {}), ("general", "gru", ENCODERS["2 layers, embedding"]),
    ("additive", "lstm", ENCODERS["2 bidirectional layers, embedding"]), ("none", "rnn", ENCODERS["bidirectional"])])
def test_a_padded_batch_sums_what_each_pair_gives_alone(attention, cell, architecture):
    model = small_model(attention, cell, **architecture)
    batch_loss, batch_grads = summed(model, SOURCES, TARGETS)
    alone = [summed(model, [source], [target]) for source, target in zip(SOURCES, TARGETS)]
    assert batch_loss == pytest.approx(sum(loss for loss, _ in alone), rel=1e-13)
    for name, grad in batch_grads.items():
        np.testing.assert_allclose(grad, sum(grads[name] for _, grads in alone), rtol=1e-10, atol=1e-13,
                                   err_msg=name)
    ids, mask = pad_batch(SOURCES)
    padded, _ = pad_batch(TARGETS)
    loss_sum, tokens, predicted = model.loss_sum(ids, mask, padded)
    assert tokens == sum(len(target) for target in TARGETS) and loss_sum == pytest.approx(batch_loss, rel=1e-13)
    scrambled = np.where(mask, ids, 5)                   # real words where the mask says padding
    model.loss_and_gradients(scrambled, mask, padded)
    for name, grad in model.grads.items():
        np.testing.assert_allclose(grad * tokens, batch_grads[name], rtol=1e-13, atol=1e-15, err_msg=name)


def test_teacher_forced_loss_equals_stepping_the_decoder():
    """The all-steps-at-once forward (training) and decode_step (translation) are one network."""
    model = small_model("additive", "lstm", **ENCODERS["2 bidirectional layers, embedding"])
    ids, mask = pad_batch(SOURCES)
    padded, target_mask = pad_batch(TARGETS)
    encoded = model.encode_sources(SOURCES)
    states, previous = encoded.initial_states, np.full(len(SOURCES), BOS_ID)
    by_steps = 0.0
    for t in range(padded.shape[1]):
        log_p, states, _ = model.decode_step(encoded, previous, states)
        by_steps -= (log_p[np.arange(len(SOURCES)), padded[:, t]] * target_mask[:, t]).sum()
        previous = padded[:, t]
    loss = model.loss_and_gradients(ids, mask, padded).loss
    assert loss == pytest.approx(by_steps / target_mask.sum(), rel=1e-13)


# -- decoding ---------------------------------------------------------------------------


def greedy_by_hand(model, source, max_length):
    """(ids, score, finished, attention rows) of the argmax at every step, <pad> and <bos> never chosen."""
    encoded = model.encode_sources([source])
    states, previous = encoded.initial_states, np.array([BOS_ID])
    ids, score, rows = [], 0.0, []
    for _ in range(max_length):
        log_p, states, weights = model.decode_step(encoded, previous, states)
        log_p = log_p[0].copy()
        log_p[[PAD_ID, BOS_ID]] = -np.inf
        token = int(np.argmax(log_p))
        score += log_p[token]
        rows.append(None if weights is None else weights[0])
        if token == EOS_ID:
            return ids, score, True, rows
        ids.append(token)
        previous = np.array([token])
    return ids, score, False, rows


def decoding_models():
    """Models of every attention whose translations end with <eos> or run to the maximum length."""
    models = []
    for seed, attention in enumerate(ATTENTIONS):
        model = small_model(attention, CELLS[seed % 3], seed, embed_size=3,
                            **(ENCODERS["bidirectional"] if attention == "additive" else {}))
        model.params["fc.bias"][EOS_ID] += 1.0           # some translations finish
        models.append(model)
    return models


def test_greedy_search_is_the_argmax_path_and_a_beam_of_one():
    finished = set()
    for model in decoding_models():
        for source in SOURCES:
            ids, score, done, rows = greedy_by_hand(model, source, 8)
            found = search(model, [source], beam=1, max_length=8)[0]
            finished.add(found.finished)
            assert (found.ids, found.finished) == (ids, done)
            assert found.score == pytest.approx(score, abs=1e-12)
            assert found.normalized_score == pytest.approx(score / (len(ids) + done), abs=1e-12)
            assert found.text == model.detokenize(ids)
            if model.attention == "none":
                assert found.attention is None
            else:
                np.testing.assert_allclose(found.attention, np.array(rows), rtol=0, atol=1e-15)
    assert finished == {True, False}, "both ends are exercised"


def rescored(model, source, ids, finished):
    """(score, attention rows) of forcing ids (then <eos> when finished) through decode_step."""
    encoded = model.encode_sources([source])
    states, previous, score, rows = encoded.initial_states, BOS_ID, 0.0, []
    for token in ids + [EOS_ID] * finished:
        log_p, states, weights = model.decode_step(encoded, np.array([previous]), states)
        score, previous = score + log_p[0, token], token
        rows.append(None if weights is None else weights[0])
    return score, rows


def test_every_beam_returns_its_hypothesis_with_that_hypothesis_own_score_and_attention():
    for model in decoding_models():
        for beam in (2, 3, 5):
            for source, found in zip(SOURCES, search(model, SOURCES, beam=beam, max_length=6)):
                score, rows = rescored(model, source, found.ids, found.finished)
                assert found.score == pytest.approx(score, abs=1e-12)
                assert found.normalized_score == pytest.approx(score / (len(found.ids) + found.finished), abs=1e-12)
                if found.attention is not None:
                    np.testing.assert_allclose(found.attention, np.array(rows), rtol=0, atol=1e-13)


def exhaustive_best(model, source, max_length):
    """The best (normalized score, ids, finished) over every hypothesis a search can end with:
    each sequence of producible tokens (not <pad>, <bos> or <eos>) of 0 .. max_length - 1 tokens
    then <eos>, and each of max_length tokens without it."""
    import itertools
    words = [token for token in range(len(model.target_vocab)) if token not in (PAD_ID, BOS_ID, EOS_ID)]
    best = (-np.inf, None, None)
    for length in range(max_length + 1):
        finished = length < max_length
        for ids in itertools.product(words, repeat=length):
            score = rescored(model, source, list(ids), finished)[0]
            best = max(best, (score / (length + finished), list(ids), finished), key=lambda item: item[0])
    return best


def test_a_beam_wide_enough_to_keep_every_hypothesis_finds_the_best_one():
    """With 2 target words (4 producible tokens with <unk> and <eos>) and 3 steps there are 40
    hypotheses: a beam of 40 prunes none, so it must end with the exhaustive best, whose
    normalized score is at least greedy's. (A narrower beam can end below greedy: it may prune
    greedy's prefix for prefixes that later turn out worse.)"""
    for seed, attention in enumerate(ATTENTIONS):
        model = random_seq2seq(np.random.default_rng(seed), 5, 4, 2, 1.0, cell="gru", attention=attention)
        model.params["fc.bias"][EOS_ID] += 0.5 * seed                  # short and long best hypotheses
        for source in SOURCES:
            normalized, ids, finished = exhaustive_best(model, source, 3)
            found = search(model, [source], beam=40, max_length=3)[0]
            assert (found.ids, found.finished) == (ids, finished)
            assert found.normalized_score == pytest.approx(normalized, abs=1e-12)
            assert found.normalized_score >= search(model, [source], beam=1, max_length=3)[0].normalized_score - 1e-12


def test_a_batch_translates_as_each_source_alone():
    for model in decoding_models():
        for beam in (1, 3):
            together = search(model, SOURCES, beam=beam, max_length=8)
            for source, found in zip(SOURCES, together):
                alone = search(model, [source], beam=beam, max_length=8)[0]
                assert (found.ids, found.finished) == (alone.ids, alone.finished)
                assert found.score == pytest.approx(alone.score, abs=1e-12)
                if found.attention is not None:
                    np.testing.assert_allclose(found.attention, alone.attention, rtol=0, atol=1e-13)


def test_the_maximum_length_is_respected():
    for model in decoding_models():
        for beam in (1, 3):
            for found in search(model, SOURCES, beam=beam, max_length=3):
                assert len(found.ids) <= 3 and (found.finished or len(found.ids) == 3)
                if found.attention is not None:
                    assert found.attention.shape[0] == len(found.ids) + found.finished
    endless = small_model("general")
    endless.params["fc.bias"][EOS_ID] = -1e3                # never ends: runs to each source's default length
    for beam in (1, 2):
        found = search(endless, SOURCES, beam=beam)
        assert [len(t.ids) for t in found] == [default_max_length(len(source)) for source in SOURCES]
        assert not any(t.finished for t in found)
        assert [t.ids for t in found] == [search(endless, [source], beam=beam)[0].ids for source in SOURCES]


def test_attention_rows_sum_to_one_and_are_zero_at_padding():
    for model in decoding_models()[:3]:                  # the three with attention
        encoded = model.encode_sources(SOURCES)
        _, _, weights = model.decode_step(encoded, np.full(len(SOURCES), BOS_ID), encoded.initial_states)
        _, mask = pad_batch(SOURCES)
        assert weights.shape == mask.shape and (weights[~mask] == 0).all() and (weights[mask] > 0).all()
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-14)
        for source, found in zip(SOURCES, search(model, SOURCES, beam=2, max_length=6)):
            assert found.attention.shape[1] == len(source)
            np.testing.assert_allclose(found.attention.sum(axis=1), 1.0, rtol=0, atol=1e-14)


def test_translations_are_deterministic():
    model = decoding_models()[2]
    texts = ["w0 w1 w2", "w4", "w3 w3 w0 w1"]
    first, unknown = translate(model, texts, beam=3, max_length=7)
    again, _ = translate(model, texts, beam=3, max_length=7)
    assert unknown == [[], [], []]
    assert [t.as_json() for t in first] == [t.as_json() for t in again]


# -- training and files -----------------------------------------------------------------


def tiny_pairs():
    words = "one two three four five".split()
    numbers = "un deux trois quatre cinq".split()
    sources = [f"{words[i]} {words[j]}" for i in range(5) for j in range(5)]
    targets = [f"{numbers[i]} {numbers[j]}" for i in range(5) for j in range(5)]
    return Pairs(sources, targets, [f"pairs.tsv:{line}" for line in range(1, 26)])


def new_translator(pairs, seed=0, **settings):
    source = Vocab.build([text.split() for text in pairs.sources])
    target = Vocab.build([text.split() for text in pairs.targets], specials=TARGET_SPECIALS)
    model = Seq2Seq(source, target, 6, "gru", **{"attention": "additive", "embed_size": 4, "dropout": 0.2,
                                                 **settings})
    return model.initialize(np.random.default_rng(seed))


def test_training_with_a_fixed_seed_is_reproducible_bit_for_bit():
    pairs = tiny_pairs()
    runs = []
    for _ in range(2):
        model = new_translator(pairs)
        initial = model.flat.copy()
        data, _, _ = encode_pairs(model, pairs)
        config = TrainConfig(epochs=3, batch_size=4, optimizer="adam", lr=0.01, log_every=1)
        history = train_seq2seq(model, data, config, np.random.default_rng(7), valid_data=data)
        runs.append((model.flat.copy(), [(record.train_loss, record.valid) for record in history]))
        assert not np.array_equal(model.flat, initial)
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1] and len(runs[0][1]) == 3


def test_a_saved_model_loads_with_its_weights_vocabularies_settings_and_translations(tmp_path):
    model = new_translator(tiny_pairs(), seed=3, normalize="accents", attention="general",
                           bidirectional=True, num_layers=2)
    path = str(tmp_path / "m.safetensors")
    save_model(model, path)
    loaded = load_model(path)
    assert type(loaded) is Seq2Seq and loaded.config == model.config
    assert (loaded.attention, loaded.config.normalize) == ("general", "accents")
    assert loaded.vocab.tokens == model.vocab.tokens and loaded.target_vocab.tokens == model.target_vocab.tokens
    assert list(loaded.params) == list(model.params)
    np.testing.assert_array_equal(loaded.flat, model.flat)
    texts = ["One TWO", "fîve three four"]             # read lower-cased without accents
    assert [t.as_json() for t in translate(loaded, texts, beam=2)[0]] == \
        [t.as_json() for t in translate(model, texts, beam=2)[0]]
    assert translate(loaded, ["five three four"])[0][0].ids == translate(loaded, ["fîve three four"])[0][0].ids


def rewrite_metadata(path, change):
    """Rewrite a model file's metadata with change(metadata) (the checksum covers tensors only)."""
    raw = open(path, "rb").read()
    length = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + length])
    change(header["__metadata__"])
    text = json.dumps(header).encode()
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + length:])


@pytest.mark.parametrize("change", [
    lambda metadata: metadata.pop("target_vocab"),
    lambda metadata: metadata.update(target_vocab="[not json"),
    lambda metadata: metadata.update(target_vocab=json.dumps(["<pad>", "<unk>", "un", "deux"])),
    lambda metadata: metadata.update(target_vocab=json.dumps([*TARGET_SPECIALS, "un", "un"])),
    lambda metadata: metadata.update(target_vocab=json.dumps([*json.loads(metadata["target_vocab"]), "six"])),
    lambda metadata: metadata.update(target_vocab=json.dumps({"<pad>": 0})),
], ids=["missing", "not json", "no <bos> and <eos>", "duplicate", "size disagrees", "an object"])
def test_a_broken_target_vocabulary_is_a_model_file_error_naming_the_file(tmp_path, change):
    path = str(tmp_path / "broken.safetensors")
    save_model(new_translator(tiny_pairs()), path)
    rewrite_metadata(path, change)
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "target_vocab" in message and "\n" not in message
