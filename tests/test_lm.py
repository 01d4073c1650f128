"""Language models: truncated BPTT, carried state, sampling, corpus encoding, CLI."""
import json

import numpy as np
import pytest

from test_cli import run
from tinyrnn.data.corpus import build_vocab, default_corpus, encode_text, streams
from tinyrnn.io import load_model, save_model
from tinyrnn.models import LanguageModel
from tinyrnn.sampling import generate, pick
from tinyrnn.tasks import evaluate_lm, train_language_model
from tinyrnn.training import TrainConfig

TEXT = "the cat sat on the mat. the dog sat on the log. "



def lm_config(**settings):
    """A TrainConfig as a language model's training wants it: no limit of epochs, log points by
    steps only, clipping at 5."""
    return TrainConfig(**{"epochs": None, "clip_value": 5.0, "log_every_seconds": None, **settings})

def small_lm(seed=0, hidden=6, text=TEXT):
    vocab = build_vocab(text, "chars")
    model = LanguageModel(vocab, hidden)
    rng = np.random.default_rng(seed)
    for array in model.params.values():
        array[...] = rng.normal(0, 0.3, size=array.shape)
    return model, encode_text(text, vocab, "chars")[0]


def test_truncated_bptt_equals_full_bptt_when_the_text_fits_one_chunk():
    model, ids = small_lm()
    reference = LanguageModel(model.vocab, 6)
    reference.flat[...] = model.flat
    config = lm_config(batch_size=1, steps=1, optimizer="sgd", lr=0.1, clip_value=None)
    train_language_model(model, ids, config, seq_length=len(ids))
    inputs, targets = streams(ids, 1)
    reference.loss_and_gradients(inputs, None, targets)
    np.testing.assert_allclose(model.flat, reference.flat - 0.1 * reference.flat_grads, rtol=0, atol=1e-15)


def test_state_is_carried_across_chunks_but_gradients_stop_at_the_boundary():
    model, ids = small_lm()
    inputs, targets = streams(ids, 2)                                   # (2, L)
    whole, _ = model.loss_sum(inputs, targets)
    first, state = model.loss_sum(inputs[:, :10], targets[:, :10])
    second, _ = model.loss_sum(inputs[:, 10:], targets[:, 10:], state)
    assert abs(whole - (first + second)) < 1e-10, "carrying the state = one long forward pass"
    # One training step on the second chunk sees the carried state as a constant:
    model.loss_and_gradients(inputs[:, 10:], None, targets[:, 10:], state)
    truncated = model.flat_grads.copy()
    model.loss_and_gradients(inputs, None, targets)
    assert not np.allclose(truncated, model.flat_grads), "full BPTT differs from truncated"


def test_evaluation_does_not_depend_on_chunk_size():
    model, ids = small_lm()
    assert abs(evaluate_lm(model, ids, batch_size=1, chunk=7) - evaluate_lm(model, ids, 1, chunk=500)) < 1e-12


def test_generation_is_deterministic_and_temperature_zero_is_argmax():
    model, _ = small_lm()
    first = list(generate(model, np.random.default_rng(5), 40, "the "))
    again = list(generate(model, np.random.default_rng(5), 40, "the "))
    assert first == again
    greedy = list(generate(model, np.random.default_rng(1), 30, "the ", temperature=0))
    cold = list(generate(model, np.random.default_rng(2), 30, "the ", temperature=1e-8))
    assert greedy == cold
    ids, _ = model.vocab.encode(list("the "))                       # the argmax path, by hand
    logits, states = model.forward(ids[None, :])
    state, expected = states[-1].copy(), []
    token = int(np.argmax(logits[-1, 0][2:])) + 2
    for _ in range(30):
        expected.append(model.vocab.tokens[token])
        logits, states = model.forward(np.array([[token]]), None, state)
        state = states[-1].copy()
        token = int(np.argmax(logits[0, 0][2:])) + 2
    assert greedy == expected


def test_top_k_and_specials():
    rng = np.random.default_rng(0)
    logits = np.array([50.0, 50.0, 1.0, 3.0, 2.0])                     # <pad>, <unk> never drawn
    draws = {pick(logits, rng, 1.0, top_k=2) for _ in range(200)}
    assert draws == {3, 4}


def test_a_short_pattern_is_learned_and_generated():
    text = "abcde" * 200
    vocab = build_vocab(text, "chars")
    model = LanguageModel(vocab, 16).initialize(np.random.default_rng(0), "xavier")
    ids, _ = encode_text(text, vocab, "chars")
    train_language_model(model, ids, lm_config(batch_size=8, steps=300, optimizer="adam", lr=0.01),
                         seq_length=10)
    assert "".join(generate(model, np.random.default_rng(0), 12, "ab", temperature=0)) == "cdeabcdeabcd"
    assert "".join(generate(model, np.random.default_rng(0), 10, "c", temperature=0.5)) == "deabcdeabc"


def test_save_load_gives_the_same_samples(tmp_path):
    model, _ = small_lm()
    save_model(model, str(tmp_path / "lm.safetensors"))
    loaded = load_model(str(tmp_path / "lm.safetensors"))
    assert isinstance(loaded, LanguageModel) and loaded.tokenizer.kind == "chars"
    assert list(generate(model, np.random.default_rng(3), 50)) == list(generate(loaded, np.random.default_rng(3), 50))


def test_corpus_encoding():
    vocab = build_vocab("baca", "chars")
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b", "c"]
    ids, unknown = encode_text("cab\u00e9a", vocab, "chars")
    assert ids.tolist() == [4, 2, 3, 1, 2] and unknown == ["\u00e9"]
    inputs, targets = streams(np.arange(11), 3)
    assert inputs.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert targets.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    words = build_vocab("The cat, the hat.", "words")
    assert encode_text("the bat", words, "words")[1] == ["bat"]
    assert len(default_corpus()) > 100_000


def test_cli_train_and_generate(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello world\n" * 300)
    model, log = tmp_path / "lm.safetensors", tmp_path / "log.jsonl"
    status, out, err = run(capsys, "train", "--task", "lm", "--text", corpus, "--steps", "60",
                           "--log-every", "20", "--sample-every", "30", "--out", model, "--json-log", log,
                           "--seq-length", "12", "--batch-size", "4")
    assert status == 0, err
    assert out.startswith("9 unique characters found") and "--- Sample at step 30" in out
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["step"] for r in records] == [20, 40, 60]
    assert set(records[0]) >= {"step", "chars_seen", "train_loss", "val_loss", "train_seconds"}
    assert records[-1]["chars_seen"] == 60 * 4 * 12
    assert abs(records[-1]["val_bits_per_char"] * np.log(2) - records[-1]["val_loss"]) < 1e-12
    status, first, _ = run(capsys, "generate", "--model", model, "--prime", "hel", "--length", "30", "--seed", "2")
    status2, second, _ = run(capsys, "generate", "--model", model, "--prime", "hel", "--length", "30", "--seed", "2")
    assert status == status2 == 0 and first == second and first.startswith("hel") and len(first) == 34


@pytest.mark.parametrize("argv,message", [
    (["train", "--task", "lm", "--text", "missing.txt"], "missing.txt: no such file"),
    (["train", "--task", "lm", "--train", "x.csv"], "--train applies to --task classify"),
    (["train", "--seq-length", "3"], "--seq-length applies to --task lm"),
    (["train", "--task", "lm", "--preset", "fast"], "preset 'fast' is for another task"),
    (["generate", "--model", "missing.safetensors"], "no such model file"),
    (["train", "--task", "lm", "--no-shuffle"], "--no-shuffle applies to --task classify"),
    (["generate", "--temperature", "-1"], "argument --temperature"),
])
def test_lm_bad_input(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    status, _, err = run(capsys, *argv)
    assert status == 2 and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_generate_refuses_a_classifier(tmp_path, capsys):
    from conftest import small_model
    save_model(small_model(), str(tmp_path / "c.safetensors"))
    status, out, err = run(capsys, "generate", "--model", tmp_path / "c.safetensors")
    assert status == 2 and out == "" and "is a classifier" in err and err.count("\n") == 1


def test_missing_default_corpus_is_a_clear_error(monkeypatch, tmp_path, capsys):
    import sys
    monkeypatch.setitem(sys.modules, "pydoc_data.topics", None)         # import now fails
    monkeypatch.chdir(tmp_path)
    status, _, err = run(capsys, "train", "--task", "lm", "--steps", "1")
    assert status == 2 and "default corpus" in err and "--text" in err and err.count("\n") == 1


def test_keep_best_saves_the_lowest_validation_loss(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abcd" * 450 + "dcba" * 50)          # validation: the training order reversed
    model_path, log = tmp_path / "lm.safetensors", tmp_path / "log.jsonl"
    status, _, err = run(capsys, "train", "--task", "lm", "--text", corpus, "--steps", "40", "--log-every", "5",
                         "--sample-every", "0", "--lr", "0.05", "--keep-best", "--out", model_path,
                         "--json-log", log, "--dtype", "float64", "--batch-size", "4")
    assert status == 0 and "lowest validation loss" in err
    records = [json.loads(line) for line in log.read_text().splitlines()]
    best = min(r["val_loss"] for r in records)
    assert best < records[-1]["val_loss"], "learning the training order hurts validation, so best is not last"
    from tinyrnn.data.corpus import encode_text
    model = load_model(str(model_path))
    text = corpus.read_text()
    val_ids, _ = encode_text(text[int(round(len(text) * 0.9)):], model.vocab, "chars")
    assert abs(evaluate_lm(model, val_ids) - best) < 1e-9


def test_classifier_commands_refuse_a_language_model(tmp_path, capsys):
    model, _ = small_lm()
    path = str(tmp_path / "lm.safetensors")
    save_model(model, path)
    for argv in (["predict", "--model", path, "the cat"], ["eval", "--model", path],
                 ["train", "--init-from", path, "--out", str(tmp_path / "x.safetensors")]):
        status, out, err = run(capsys, *argv)
        assert status == 2 and out == "" and "is a language model" in err and err.count("\n") == 1


def test_same_seed_same_language_model_bit_for_bit(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("to be or not to be\n" * 50)
    files = []
    for name in ("a", "b"):
        files.append(tmp_path / f"{name}.safetensors")
        status, _, err = run(capsys, "train", "--task", "lm", "--text", corpus, "--steps", "20",
                             "--sample-every", "0", "--out", files[-1], "--seed", "7", "--batch-size", "4")
        assert status == 0, err
    assert files[0].read_bytes() == files[1].read_bytes()


def test_early_stop_after_n_log_points_without_a_lower_validation_loss(monkeypatch):
    import importlib
    module = importlib.import_module("tinyrnn.tasks.language_model")
    scripted = iter([3.0, 2.5, 2.6, 2.5, 2.4, 2.45, 2.7, 2.6, 1.0])
    monkeypatch.setattr(module, "evaluate_lm", lambda model, ids: next(scripted))
    model, ids = small_lm()
    config = lm_config(batch_size=2, steps=100, log_every=1, early_stop=3, optimizer="sgd", lr=0.01)
    history = train_language_model(model, ids, config, ids, seq_length=5)
    assert [stats.step for stats in history] == [1, 2, 3, 4, 5, 6, 7, 8]    # best at 5; 6, 7, 8 are not
    assert history[-1].stopped_early and not any(stats.stopped_early for stats in history[:-1])


def test_minutes_bound_wall_time_including_evaluation(monkeypatch):
    import importlib
    import time
    module = importlib.import_module("tinyrnn.tasks.language_model")
    real = module.evaluate_lm

    def slow_evaluation(model, ids):
        time.sleep(0.2)
        return real(model, ids)
    monkeypatch.setattr(module, "evaluate_lm", slow_evaluation)
    model, ids = small_lm()
    config = lm_config(batch_size=2, minutes=0.02, log_every=1, optimizer="sgd", lr=0.01)
    started = time.perf_counter()
    history = train_language_model(model, ids, config, ids, seq_length=5)
    elapsed = time.perf_counter() - started
    assert 0.8 <= elapsed < 1.7 and len(history) < 10, (elapsed, len(history))   # budget: 1.2 s


def test_default_log_points_come_by_time_not_every_hundred_steps(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog\n" * 200)
    status, out, _ = run(capsys, "train", "--task", "lm", "--text", corpus, "--steps", "250",
                         "--batch-size", "4", "--hidden", "8", "--out", tmp_path / "m.safetensors")
    assert status == 0 and out.count("--- Step") == 1 and "--- Step 250" in out   # one, at the end
    assert out.count("--- Sample at step") == 1, "a sample at each log point"


def test_with_ema_log_points_measure_the_average_and_the_model_ends_with_it():
    text = "abcde" * 100
    vocab = build_vocab(text, "chars")
    ids, _ = encode_text(text, vocab, "chars")
    config = lm_config(batch_size=4, steps=30, optimizer="adam", lr=0.02, log_every=10, ema=0.8)
    model = LanguageModel(vocab, 8).initialize(np.random.default_rng(0), "xavier")
    history = train_language_model(model, ids[:400], config, ids[400:], seq_length=10)
    assert [stats.step for stats in history] == [10, 20, 30]
    assert evaluate_lm(model, ids[400:]) == history[-1].valid_loss      # the average, measured as such
    plain = LanguageModel(vocab, 8).initialize(np.random.default_rng(0), "xavier")
    plain_history = train_language_model(plain, ids[:400], lm_config(**{**config.__dict__, "ema": None}), ids[400:],
                                         seq_length=10)
    assert [s.train_loss for s in plain_history] == [s.train_loss for s in history]   # the same steps
    assert plain_history[-1].valid_loss != history[-1].valid_loss


@pytest.mark.parametrize("option", ["--valid-split", "--val-fraction"])
def test_valid_split_holds_out_the_end_of_the_text(tmp_path, capsys, option):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abcdefghij" * 100)
    status, out, _ = run(capsys, "train", "--task", "lm", "--text", corpus, "--steps", "2", option, "0.25",
                         "--batch-size", "2", "--hidden", "4", "--out", tmp_path / "m.safetensors")
    assert status == 0 and "(750 for training, 250 for validation)" in out
