"""The training loop: history and configuration checks (divergence: test_reliability.py)."""
import numpy as np
import pytest

from conftest import small_model
from tinyrnn.tasks import ClassifyTask, LabelledSequences, evaluate, train
from tinyrnn.training import TrainConfig, Trainer

DATA = LabelledSequences([np.array([2, 3]), np.array([4, 5, 6]), np.array([7])], np.array([0, 1, 2]))


def test_history_logs_every_n_epochs_and_the_last():
    history = train(small_model(), DATA, TrainConfig(epochs=7, log_every=3), np.random.default_rng(0))
    assert [s.epoch for s in history if s.logged] == [3, 6, 7]
    assert all(s.test_loss is None for s in history)
    assert 0 <= history[-1].train_accuracy <= 1 and history[-1].train_seconds > 0


def test_training_lowers_the_loss():
    model = small_model(scale=0.1)
    history = train(model, DATA, TrainConfig(epochs=200, lr=0.1), np.random.default_rng(0))
    assert history[-1].train_loss < 0.5 * history[0].train_loss
    assert history[-1].train_accuracy == 1.0


@pytest.mark.parametrize("change,message", [
    ({"epochs": -1}, "epochs"), ({"batch_size": 0}, "batch size"), ({"lr": 0.0}, "learning rate"),
    ({"lr": float("nan")}, "learning rate"), ({"clip_value": -1.0}, "clip value"),
    ({"optimizer": "magic"}, "unknown optimizer"), ({"target_accuracy": 2.0}, "target accuracy"),
    ({"ema": 1.0}, "decay"), ({"ema": 0.0}, "decay"), ({"epochs": None}, "length of training"),
    ({"log_every": None, "log_every_seconds": None}, "log points"), ({"minutes": 0.0}, "minutes")])
def test_bad_configs_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        train(small_model(), DATA, TrainConfig(**change), np.random.default_rng(0))


@pytest.mark.parametrize("rate", [1.0, -0.1])
def test_bad_word_dropout_is_refused(rate):
    with pytest.raises(ValueError, match="word dropout"):
        train(small_model(), DATA, TrainConfig(), np.random.default_rng(0), word_dropout=rate)


def test_word_dropout_reads_only_real_words_as_unk_at_its_rate():
    from tinyrnn.tasks.classify import drop_words
    from tinyrnn.vocab import PAD_ID, UNK_ID, pad_batch
    rng = np.random.default_rng(0)
    ids, mask = pad_batch([rng.integers(2, 50, size=n) for n in rng.integers(1, 40, size=400)])
    dropped = drop_words(ids, mask, 0.25, np.random.default_rng(1))
    changed = dropped != ids
    assert (dropped[changed] == UNK_ID).all() and not changed[~mask].any()     # padding stays padding
    assert (dropped[~mask] == PAD_ID).all()
    assert abs(changed.sum() / mask.sum() - 0.25) < 0.02
    again = drop_words(ids, mask, 0.25, np.random.default_rng(1))
    assert np.array_equal(dropped, again)                                       # from the rng: reproducible
    assert drop_words(ids[:1, :int(mask[0].sum())], None, 0.25, np.random.default_rng(1)).shape == (1, mask[0].sum())


def test_word_dropout_changes_training_and_is_reproducible():
    def trained(rate, seed=0):
        model = small_model()
        train(model, DATA, TrainConfig(epochs=20, lr=0.1), np.random.default_rng(seed), word_dropout=rate)
        return model.flat.copy()
    assert np.array_equal(trained(0.3), trained(0.3))
    assert not np.array_equal(trained(0.3), trained(0.0))


@pytest.mark.parametrize("keep_best", [False, True])
def test_with_ema_the_average_is_validated_kept_and_left_in_the_model(keep_best):
    config = TrainConfig(epochs=12, lr=0.05, optimizer="adam", ema=0.9, keep_best=keep_best)
    model = small_model()
    trainer = Trainer(model, ClassifyTask(DATA, valid=DATA), config, np.random.default_rng(0))
    history, optimizer = trainer.run(), trainer.optimizer
    raw = model.flat.copy()
    loss, accuracy, _ = evaluate(model, DATA)
    if keep_best:                                         # the best epoch's average, measured as such
        best = next(stats for stats in reversed(history) if stats.best)
        assert (loss, accuracy) == (best.valid_loss, best.valid_accuracy)
    else:                                                 # the last average, measured as such
        np.testing.assert_array_equal(model.flat, optimizer.average)
        assert (loss, accuracy) == (history[-1].valid_loss, history[-1].valid_accuracy)
    plain = small_model()
    train(plain, DATA, TrainConfig(epochs=12, lr=0.05, optimizer="adam"), np.random.default_rng(0))
    assert not np.array_equal(raw, plain.flat)            # the same steps, another result


def test_steps_end_a_classifier_run_within_an_epoch_with_a_last_record():
    model = small_model()
    history = train(model, DATA, TrainConfig(epochs=None, steps=7), np.random.default_rng(0))
    assert [(s.epoch, s.step, s.seen) for s in history] == [(1, 3, 3), (2, 6, 6), (3, 7, 7)]
    assert history[-1].logged and history[-1].train_accuracy in (0.0, 1.0)    # the one example of epoch 3


def test_a_language_model_and_a_classifier_share_one_loop(monkeypatch):
    """Both tasks train through Trainer.run: one place calls loss_and_gradients to train."""
    from tinyrnn.models import LanguageModel
    from tinyrnn.tasks import train_language_model
    from tinyrnn.training import loop
    runs = []
    real = loop.Trainer.run
    monkeypatch.setattr(loop.Trainer, "run", lambda self: runs.append(type(self.task).__name__) or real(self))
    train(small_model(), DATA, TrainConfig(epochs=1), np.random.default_rng(0))
    lm = LanguageModel(["<pad>", "<unk>", "a", "b"], 4).initialize(np.random.default_rng(0), "xavier")
    train_language_model(lm, np.array([2, 3] * 20), TrainConfig(epochs=1, batch_size=2), seq_length=5)
    assert runs == ["ClassifyTask", "LanguageModelTask"]


def test_a_run_resumed_past_the_end_of_a_shorter_pass_closes_the_pass():
    from tinyrnn.training import RunState
    rng = np.random.default_rng(0)
    state = RunState(epoch=1, batch=5, steps=5, seen=5, epoch_rng=rng.bit_generator.state,   # 5 of 3 batches
                     running={"loss": 3.5, "count": 5, "correct": 2})
    trainer = Trainer(small_model(), ClassifyTask(DATA), TrainConfig(epochs=2), rng, state=state)
    history = trainer.run()
    assert [(record.epoch, record.step) for record in history] == [(1, 5), (2, 8)]


def test_python_resume_from_a_checkpoint_equals_the_uninterrupted_run(tmp_path):
    """Stop a run after 5 updates, restore it into a fresh Trainer, finish: the same weights,
    history and optimizer state as one run from start to end."""
    from tinyrnn.training import RunCheckpoints, Listener

    def trainer(model):
        config = TrainConfig(epochs=4, optimizer="adam", lr=0.05, batch_size=2, ema=0.9, log_every=1)
        return Trainer(model, ClassifyTask(DATA, valid=DATA), config, np.random.default_rng(3))
    whole = trainer(small_model())
    whole.run()

    class StopAfterFive(Listener):
        def on_update(self, progress):
            if progress.step == 5:
                raise KeyboardInterrupt
    first = trainer(small_model())
    first.checkpoints, first.listener = RunCheckpoints(tmp_path / "run", {"recipe": 1}), StopAfterFive()
    with pytest.raises(KeyboardInterrupt):
        first.run()
    first.checkpoints.save(first)                               # where it stopped: epoch 3, batch 1 of 2
    second = trainer(small_model(seed=9))                       # other weights: all come from the file
    path, differences = second.restore(RunCheckpoints(tmp_path / "run", {"recipe": 1}))
    assert differences == [] and second.state.steps == 5 and second.state.batch == 1
    second.run()
    np.testing.assert_array_equal(second.model.flat, whole.model.flat)
    assert [r.train for r in second.state.history] == [r.train for r in whole.state.history]
    with pytest.raises(ValueError, match="this run differs"):
        trainer(small_model()).restore(RunCheckpoints(tmp_path / "run", {"recipe": 2}))


def test_a_language_model_needs_validation_text_to_stop_early():
    from tinyrnn.models import LanguageModel
    from tinyrnn.tasks import train_language_model
    lm = LanguageModel(["<pad>", "<unk>", "a", "b"], 4).initialize(np.random.default_rng(0), "xavier")
    with pytest.raises(ValueError, match="early stopping need validation text"):
        train_language_model(lm, np.array([2, 3] * 20), TrainConfig(epochs=1, batch_size=2, early_stop=2),
                             seq_length=5)
