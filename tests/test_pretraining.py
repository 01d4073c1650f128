"""Learning from unlabelled text: a pretrained language model (or autoencoder's encoder) is
copied exactly into a classifier, frozen layers take no step until unfrozen, per-layer rates
and schedules follow their formulas, a resume in the middle of unfreezing is exact, and on
a task whose labelled data is too small, pretraining on unlabelled text is what makes it
learnable."""
import json
import math
import random

import numpy as np
import pytest
from test_cli import run

from tinyrnn.commands.classifier_setup import pretrained_classifier
from tinyrnn.commands.common import ModelOptions
from tinyrnn.io import load_model, save_model
from tinyrnn.model_config import ModelConfig
from tinyrnn.models import build_model
from tinyrnn.tasks import ClassifyTask, LabelledSequences
from tinyrnn.training import Listener, RunCheckpoints, TrainConfig, Trainer
from tinyrnn.training.schedule import LayerRates, layer_groups, schedule_factor

NO_OPTIONS = ModelOptions(None, None, None, None, None, None, None, None, None, None)
WORDS = ["<pad>", "<unk>", "a", "b", "c", "d", "e"]


def language_model(cell="gru", layers=2, embed=4, seed=0):
    config = ModelConfig("lm", 5, cell=cell, num_layers=layers, embed_size=embed, tokenizer="words")
    return build_model(config, WORDS).initialize(np.random.default_rng(seed), "xavier")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_language_models_body_and_vocabulary_are_copied_exactly_with_a_new_output_layer(folder, cell):
    source = language_model(cell)
    save_model(source, "lm.safetensors")
    options = ModelOptions(None, None, False, None, 0.3, None, "max", None, None, None)
    model = pretrained_classifier("lm.safetensors", ["neg", "pos"], options, None, None, np.random.default_rng(1),
                                  "orthogonal")
    assert model.vocab.tokens == WORDS and model.tokenizer.kind == "words" and model.classes == ["neg", "pos"]
    assert (model.config.cell, model.config.num_layers, model.config.embed_size, model.config.pool,
            model.config.dropout) == (cell, 2, 4, "max", 0.3)
    body = [name for name in model.params if not name.startswith("fc.")]
    assert body == [name for name in source.params if not name.startswith("fc.")]
    for name in body:
        np.testing.assert_array_equal(model.params[name], source.params[name])
    assert model.params["fc.weight"].shape == (2, 5) and np.abs(model.params["fc.weight"]).sum() > 0
    assert model.origin["pretrained"] == "lm.safetensors" and model.origin["task"] == "lm"
    assert len(model.origin["sha256"]) == 64
    save_model(model, "c.safetensors")
    assert load_model("c.safetensors").origin == model.origin          # the file keeps where it came from


def test_an_autoencoders_encoder_gives_a_bidirectional_body(folder):
    config = ModelConfig("seq2seq", 5, cell="gru", bidirectional=True, embed_size=3, tokenizer="words")
    source = build_model(config, (WORDS, ["<pad>", "<unk>", "<bos>", "<eos>", "a"])).initialize(
        np.random.default_rng(0), "xavier")
    save_model(source, "ae.safetensors")
    model = pretrained_classifier("ae.safetensors", ["x", "y"], NO_OPTIONS, None, None, np.random.default_rng(1),
                                  "orthogonal")
    assert model.config.bidirectional and "rnn.weight_hh_l0_reverse" in model.params
    for name in model.params:
        if not name.startswith("fc."):
            np.testing.assert_array_equal(model.params[name], source.params["encoder." + name])


def test_what_cannot_start_from_a_pretrained_model_is_one_line(folder, capsys):
    save_model(language_model(), "lm.safetensors")
    (folder / "t.csv").write_text("text,label\na b,x\nc d,y\na c,x\nd e,y\n")
    base = ["train", "--train", "t.csv", "--epochs", "1"]
    for extra, message in ((["--hidden", "7"], "--hidden 7 disagrees with lm.safetensors (5)"),
                           (["--cell", "lstm"], "--cell lstm disagrees with lm.safetensors (gru)"),
                           (["--min-count", "2"], "--pretrained keeps the pretrained model's"),
                           (["--pretrain-text", "train"], "it cannot go with --pretrain-text"),
                           (["--init-from", "lm.safetensors"], "it cannot go with --init-from")):
        status, _, err = run(capsys, *base, "--pretrained", "lm.safetensors", *extra)
        assert status == 2 and message in err and err.count("\n") == 1, err
    status, _, err = run(capsys, *base, "--out", "c.safetensors", "--pretrained", "lm.safetensors")
    assert status == 0, err
    status, _, err = run(capsys, *base, "--pretrained", "c.safetensors", "--out", "d.safetensors")
    assert status == 2 and "c.safetensors is a classifier; it takes a language model" in err
    status, _, err = run(capsys, "train", "--task", "lm", "--pretrained", "lm.safetensors")
    assert status == 2 and "--pretrained applies to --task classify" in err
    status, out, _ = run(capsys, "info", "c.safetensors")
    assert "pretrained as a language model on lm.safetensors (sha256 " in out
    assert json.loads(run(capsys, "info", "--json", "c.safetensors")[1])["origin"]["pretrained"] == "lm.safetensors"


def test_layers_are_grouped_from_the_input_to_the_output():
    names = ["embedding.weight", "rnn.weight_ih_l0", "rnn.bias_hh_l0_reverse", "rnn.weight_hh_l1", "fc.weight",
             "fc.bias"]
    assert layer_groups(names) == {"embedding.weight": 0, "rnn.weight_ih_l0": 1, "rnn.bias_hh_l0_reverse": 1,
                                   "rnn.weight_hh_l1": 2, "fc.weight": 3, "fc.bias": 3}
    assert layer_groups(["Wxh", "Whh", "bh", "Why", "by"]) == {"Wxh": 0, "Whh": 0, "bh": 0, "Why": 1, "by": 1}
    assert layer_groups(["encoder.embedding.weight", "encoder.rnn.weight_ih_l0", "decoder.rnn.weight_ih_l0",
                         "attention.weight"]) == {"encoder.embedding.weight": 0, "encoder.rnn.weight_ih_l0": 1,
                                                  "decoder.rnn.weight_ih_l0": 1, "attention.weight": 2}


def test_the_schedules_follow_their_formulas():
    total, warmup = 200, 0.1
    cut = 20
    for t in range(total):
        p = t / cut if t < cut else 1 - (t - cut) / (total - cut)
        assert schedule_factor("slanted", t, total, warmup) == pytest.approx((1 + p * 31) / 32, abs=1e-15)
        cosine = (1 + 31 * t / cut) / 32 if t < cut else (1 + math.cos(math.pi * (t - cut) / (total - cut))) / 2
        assert schedule_factor("onecycle", t, total, warmup) == pytest.approx(cosine, abs=1e-15)
        assert schedule_factor("constant", t, total, warmup) == 1.0
    assert schedule_factor("slanted", cut, total, warmup) == 1.0 and schedule_factor("onecycle", cut, total, warmup) == 1.0


class Rates(Listener):
    """The learning rate of every update, as the optimizer used it."""

    def __init__(self, trainer):
        self.trainer, self.rates = trainer, []

    def on_update(self, progress):
        self.rates.append(self.trainer.optimizer.lr)


def sequences(count=12, seed=0):
    rng = np.random.default_rng(seed)
    return LabelledSequences([rng.integers(2, 7, size=rng.integers(2, 6)) for _ in range(count)],
                             rng.integers(0, 2, size=count))


def classifier(seed=0):
    options = ModelOptions("gru", 2, False, 4, None, None, None, None, None, None)
    return options.build({"task": "classify", "hidden_size": 5, "tokenizer": {"kind": "words"}}, WORDS,
                         ["x", "y"], np.random.default_rng(seed), "orthogonal")


def test_the_trainer_uses_the_schedule_at_every_update_with_the_epoch_decay():
    config = TrainConfig(epochs=5, batch_size=4, optimizer="adam", lr=0.01, lr_decay=0.5, schedule="slanted",
                         warmup=0.2, log_every=1)
    trainer = Trainer(classifier(), ClassifyTask(sequences()), config, np.random.default_rng(0))
    trainer.listener = listener = Rates(trainer)
    trainer.run()
    assert len(listener.rates) == 15                                # 3 updates per epoch
    expected = [0.01 * 0.5 ** (t // 3) * schedule_factor("slanted", t, 15, 0.2) for t in range(15)]
    assert listener.rates == pytest.approx(expected, rel=1e-15)
    with pytest.raises(ValueError, match="needs the run's length in epochs or steps"):
        Trainer(classifier(), ClassifyTask(sequences()),
                TrainConfig(epochs=None, minutes=1, schedule="onecycle"), None)


def test_per_layer_rates_scale_each_groups_step_by_its_depth():
    """Plain SGD, no clipping: each parameter moves by lr * decay ** depth * its gradient."""
    model, twin = classifier(), classifier()
    data = sequences(4)
    ids, mask = model.pad(data.sequences)
    twin.loss_and_gradients(ids, mask, data.targets)
    config = TrainConfig(epochs=1, batch_size=4, lr=0.1, clip_value=None, lr_layer_decay=0.5, log_every=1,
                         frozen=())
    trainer = Trainer(model, ClassifyTask(data, shuffle=False, bucket=False), config, np.random.default_rng(0))
    trainer.run()
    depth = {name: 3 - group for name, group in layer_groups(model.params).items()}   # fc 0 ... embedding 3
    for name in model.params:
        expected = twin.params[name] - 0.1 * 0.5 ** depth[name] * twin.grads[name]
        np.testing.assert_allclose(model.params[name], expected, rtol=0, atol=1e-15)


def test_frozen_layers_take_no_step_until_their_epoch_comes():
    model = classifier()
    config = TrainConfig(epochs=4, batch_size=4, optimizer="adam", lr=0.01, unfreeze_every=1, log_every=1)
    trainer = Trainer(model, ClassifyTask(sequences()), config, np.random.default_rng(0))
    groups = layer_groups(model.params)                              # embedding 0, layers 1 and 2, fc 3
    before, moved = model.flat.copy(), {}

    class Watch(Listener):
        def on_record(self, record):
            moved[record.epoch] = {group for name, group in groups.items()
                                   if not np.array_equal(model.params[name], before_params[name])}
    before_params = {name: array.copy() for name, array in model.params.items()}
    trainer.listener = Watch()
    trainer.run()
    assert moved == {1: {3}, 2: {2, 3}, 3: {1, 2, 3}, 4: {0, 1, 2, 3}}
    assert not np.array_equal(model.flat, before)
    rates = LayerRates(model, 1.0, 2)
    assert [rates.unfrozen(epoch, False) for epoch in range(1, 9)] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert [rates.unfrozen(step, True) for step in (0, 1, 2, 5, 100)] == [1, 1, 2, 3, 4]


def test_a_run_resumed_in_the_middle_of_unfreezing_is_exact(tmp_path):
    def trainer(seed=0):
        config = TrainConfig(epochs=5, batch_size=3, optimizer="adam", lr=0.02, unfreeze_every=2,
                             lr_layer_decay=0.4, schedule="onecycle", warmup=0.3, ema=0.9, log_every=1)
        return Trainer(classifier(seed), ClassifyTask(sequences(), valid=sequences(6, 1)), config,
                       np.random.default_rng(3))
    whole = trainer()
    whole.run()

    class StopAtSeven(Listener):
        def on_update(self, progress):
            if progress.step == 7:                           # epoch 2 of 5, one layer unfrozen
                raise KeyboardInterrupt
    first = trainer()
    first.checkpoints, first.listener = RunCheckpoints(tmp_path / "run", {"recipe": 1}), StopAtSeven()
    with pytest.raises(KeyboardInterrupt):
        first.run()
    first.checkpoints.save(first)
    second = trainer(seed=9)
    second.restore(RunCheckpoints(tmp_path / "run", {"recipe": 1}))
    second.run()
    np.testing.assert_array_equal(second.model.flat, whole.model.flat)
    assert [r.valid for r in second.state.history] == [r.valid for r in whole.state.history]


def clusters_task(folder, seed=1):
    """Words a0..a299 and b0..b299; a sentence is six words of one cluster, its label the
    cluster. 50 labelled sentences see a fraction of the words; unlabelled text shows which
    words go together."""
    rng = random.Random(seed)
    clusters = [[f"a{i}" for i in range(300)], [f"b{i}" for i in range(300)]]

    def sentence(label):
        return " ".join(rng.choice(clusters[label]) for _ in range(6))
    (folder / "unlabelled.txt").write_text("".join(sentence(i % 2) + "\n" for i in range(3000)))
    for name, count in (("train.csv", 50), ("test.csv", 400)):
        (folder / name).write_text("text,label\n" + "".join(f"{sentence(i % 2)},{'xy'[i % 2]}\n" for i in range(count)))


def test_pretraining_on_unlabelled_text_makes_a_50_example_task_learnable(folder, capsys):
    clusters_task(folder)
    common = ["train", "--train", "train.csv", "--test", "test.csv", "--preset", "fast", "--epochs", "30",
              "--cell", "gru", "--embed", "16", "--hidden", "32", "--dtype", "float32", "--json-log"]
    status, _, err = run(capsys, *common, "scratch.jsonl", "--out", "scratch.safetensors")
    assert status == 0, err
    status, out, err = run(capsys, *common, "pretrained.jsonl", "--out", "pretrained.safetensors",
                           "--pretrain-text", "unlabelled.txt", "--pretrain-epochs", "30")
    assert status == 0, err
    assert "pretraining pass 30" in out and "weights of the embedding and recurrent layers from" in out

    def accuracy(log):
        return [json.loads(line) for line in open(log)][-1]["test_accuracy"]
    scratch, pretrained = accuracy("scratch.jsonl"), accuracy("pretrained.jsonl")
    assert pretrained > 0.9 and pretrained > scratch + 0.1, (scratch, pretrained)
    assert load_model("pretrained.safetensors").origin["pretrained"] == "the training texts and unlabelled.txt"


def test_pretraining_on_the_training_texts_runs_per_fold(folder, capsys):
    clusters_task(folder)
    status, out, err = run(capsys, "train", "--train", "train.csv", "--folds", "2", "--preset", "fast", "--epochs",
                           "2", "--cell", "gru", "--embed", "4", "--hidden", "4", "--pretrain-text", "train",
                           "--pretrain-epochs", "1")
    assert status == 0, err
    assert out.count("pretraining a word language model") == 2
    counts = [int(line.split("tokens)")[0].split(", ")[-1].replace(",", "")) for line in out.splitlines()
              if line.startswith("pretraining a word")]
    assert counts == [150, 150]                  # each fold's own 25 training sentences of 6 words


def test_a_bidirectional_classifier_takes_a_forward_and_a_backward_model_over_one_embedding(capsys):
    from tinyrnn.commands.classifier_setup import classifier_from
    from tinyrnn.commands.pretraining import pretrain_language_models
    rng = random.Random(0)
    text = [" ".join(rng.choice("abcdefgh") for _ in range(8)) for i in range(200)]
    options = ModelOptions("gru", 1, True, 4, None, None, "mean", None, None, None)
    forward, backward, _ = pretrain_language_models(text, options, 5, "float64", {"min_count": 1, "max_size": None},
                                                 2, 0)
    np.testing.assert_array_equal(backward.params["embedding.weight"], forward.params["embedding.weight"])
    assert not np.array_equal(backward.params["rnn.weight_hh_l0"], forward.params["rnn.weight_hh_l0"])
    model = classifier_from(forward, "text", ["x", "y"], options, None, None, np.random.default_rng(0),
                            "orthogonal", {"pretrained": "text", "task": "lm"}, backward)
    assert model.config.bidirectional and model.config.pool == "mean"
    for name in ("rnn.weight_ih_l0", "rnn.bias_hh_l0"):
        np.testing.assert_array_equal(model.params[name], forward.params[name])
        np.testing.assert_array_equal(model.params[name + "_reverse"], backward.params[name])
    np.testing.assert_array_equal(model.params["embedding.weight"], forward.params["embedding.weight"])
    assert "pretraining it backwards" in capsys.readouterr().out
    with pytest.raises(Exception, match="bidirectional classifier of one layer"):
        pretrain_language_models(text, ModelOptions("gru", 2, True, 4, None, None, None, None, None, None), 5,
                                 "float64", {"min_count": 1, "max_size": None}, 1, 0)


def test_options_that_cannot_go_with_fine_tuning_and_a_changed_pretrained_model_on_resume(folder, capsys):
    save_model(language_model(), "lm.safetensors")
    (folder / "t.csv").write_text("text,label\na b,x\nc d,y\na c,x\nd e,y\n")
    base = ["train", "--train", "t.csv", "--epochs", "2", "--pretrained", "lm.safetensors"]
    for extra, message in ((["--warmup", "0.3"], "--warmup is the rise of --schedule slanted or onecycle"),
                           (["--tokenizer", "chars"], "--tokenizer applies to --task lm and seq2seq"),
                           (["--bidirectional"], "--bidirectional true disagrees with lm.safetensors (false)")):
        status, _, err = run(capsys, *base, *extra)
        assert status == 2 and message in err and err.count("\n") == 1, err
    status, _, err = run(capsys, *base, "--freeze-embeddings", "--out", "frozen.safetensors")
    assert status == 0, err
    frozen = load_model("frozen.safetensors")
    np.testing.assert_array_equal(frozen.params["embedding.weight"], load_model("lm.safetensors").params["embedding.weight"])
    assert run(capsys, *base, "--checkpoint-dir", "run.d", "--out", "c.safetensors")[0] == 0
    save_model(language_model(seed=5), "lm.safetensors")                       # another pretrained model
    status, _, err = run(capsys, *base, "--checkpoint-dir", "run.d", "--out", "c.safetensors", "--resume")
    assert status == 2 and "model.origin" in err and err.count("\n") == 1, err
