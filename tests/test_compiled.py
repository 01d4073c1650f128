"""The compiled engine (nn/compiled.py, numba) against the NumPy engine, the reference: the
walkthrough's model's loss, every gradient, final state, dL/dh_0 and predictions equal to
1e-12 in float64 (masks anywhere, an initial state, tanh and relu, one bias and two), its
gradients against finite differences, whole training runs, and how the engine is chosen."""
import os
import subprocess
import sys

import numpy as np
import pytest

from tinyrnn.data import default_dataset
from tinyrnn.gradcheck import check_gradients, random_classifier
from tinyrnn.models import Classifier, StepResult
from tinyrnn.nn import compiled
from tinyrnn.tasks import encode_examples, train
from tinyrnn.training import TrainConfig
from tinyrnn.vocab import Vocab, tokenize

pytest.importorskip("numba", reason="the compiled engine's extra (numba) is part of the test install")


def twins(monkeypatch, seed=0, **architecture):
    """The same random classifier on each engine: (NumPy's, compiled)."""
    models = []
    for engine in ("numpy", "compiled"):
        monkeypatch.setenv("TINYRNN_ENGINE", engine)
        model = random_classifier(np.random.default_rng(seed), 9, 6, 3, **architecture)
        model.compiled_step = model._uses_compiled_step()        # (chosen now, under this engine)
        models.append(model)
    return models


def batch(rng, B=5, T=7, words=11):
    ids = rng.integers(2, words, size=(B, T))
    mask = np.ones((B, T), bool)
    if B > 3:
        mask[1, 4:] = False               # right padding
        mask[2, :3] = False               # left padding (as a reversed sequence has)
        mask[3, 2] = False                # a hole
    return ids, mask, rng.integers(0, 3, size=B), rng.normal(0, 0.5, size=(1, B, 6))


def kernel_step(model, ids, mask, targets, h0):
    """The kernel on a whole batch (Classifier calls it for one sequence at a time)."""
    loss, logits, final, d_initial = compiled.elman_classifier_step(model, ids, mask, targets, h0[0])
    return StepResult(loss, final[None], d_initial[None], logits.argmax(axis=1))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])     # relu: PyTorch's names, two biases
@pytest.mark.parametrize("masked", [False, True])
def test_the_kernel_equals_the_numpy_engine_to_1e_12(monkeypatch, nonlinearity, masked):
    reference, fast = twins(monkeypatch, nonlinearity=nonlinearity)
    assert ("bh" in fast.params) == (nonlinearity == "tanh")
    ids, mask, targets, h0 = batch(np.random.default_rng(1))
    mask = mask if masked else None
    expected = reference.loss_and_gradients(ids, mask, targets, h0)
    got = kernel_step(fast, ids, mask, targets, h0)
    assert got.loss == pytest.approx(expected.loss, abs=1e-12)
    for name in reference.grads:
        assert np.abs(reference.grads[name]).max() > 1e-3, name           # every gradient is exercised
        np.testing.assert_allclose(fast.grads[name], reference.grads[name], rtol=0, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(got.final_state, expected.final_state, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.initial_state_grad, expected.initial_state_grad, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got.predicted, expected.predicted)


def test_one_sequence_runs_compiled_and_equals_the_numpy_engine(monkeypatch):
    reference, fast = twins(monkeypatch)
    ids, _, targets, h0 = batch(np.random.default_rng(2), B=1)
    expected, got = reference.loss_and_gradients(ids, None, targets, h0), fast.loss_and_gradients(ids, None, targets, h0)
    assert fast.compiled_step and not reference.compiled_step
    assert got.loss == pytest.approx(expected.loss, abs=1e-12)
    np.testing.assert_allclose(fast.flat_grads, reference.flat_grads, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.initial_state_grad, expected.initial_state_grad, rtol=0, atol=1e-12)


def test_batches_and_large_layers_run_on_numpy(monkeypatch):
    """The kernel is the faster only for one small sequence at a time."""
    calls = []
    real = compiled.elman_classifier_step
    monkeypatch.setattr(compiled, "elman_classifier_step", lambda *args: calls.append(len(args[1])) or real(*args))
    _, fast = twins(monkeypatch)
    ids, mask, targets, h0 = batch(np.random.default_rng(3))
    fast.loss_and_gradients(ids, mask, targets, h0)
    fast.loss_and_gradients(ids[:1], None, targets[:1], h0[:, :1])
    assert calls == [1]
    monkeypatch.setenv("TINYRNN_ENGINE", "compiled")
    large = random_classifier(np.random.default_rng(0), 9, compiled.MAX_HIDDEN + 1, 3)
    large.loss_and_gradients(ids[:1], None, targets[:1])
    assert large.compiled_step is False and calls == [1]


def test_float32_agrees_to_float32_rounding(monkeypatch):
    reference, fast = twins(monkeypatch, dtype="float32")
    ids, mask, targets, h0 = batch(np.random.default_rng(2))
    expected, got = reference.loss_and_gradients(ids, mask, targets, h0), kernel_step(fast, ids, mask, targets, h0)
    assert fast.flat_grads.dtype == np.float32
    assert got.loss == pytest.approx(expected.loss, rel=1e-5)
    np.testing.assert_allclose(fast.flat_grads, reference.flat_grads, rtol=0, atol=1e-5)


def test_a_masked_batch_equals_each_sequence_alone(monkeypatch):
    _, fast = twins(monkeypatch)
    ids, mask, targets, _ = batch(np.random.default_rng(3))
    mask[:, 0] = True                                       # (right padding only, as pad_batch gives)
    mask[2], mask[3] = True, True
    zeros = np.zeros((1, len(ids), 6))
    kernel_step(fast, ids, mask, targets, zeros)
    together = fast.flat_grads.copy()
    alone = np.zeros_like(together)
    for row in range(len(ids)):
        length = int(mask[row].sum())
        fast.loss_and_gradients(ids[row:row + 1, :length], None, targets[row:row + 1])
        alone += fast.flat_grads / len(ids)
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-13)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_gradients_match_finite_differences(monkeypatch, nonlinearity):
    _, fast = twins(monkeypatch, nonlinearity=nonlinearity)
    ids, _, targets, h0 = batch(np.random.default_rng(4), B=1)
    results = check_gradients(fast, ids, None, targets, h0)
    assert fast.compiled_step
    assert [r.name for r in results] == [*fast.params, "h0"]
    assert all(r.passed for r in results), [(r.name, r.relative_error) for r in results if not r.passed]


def test_a_wrong_kernel_is_caught_by_the_finite_differences(monkeypatch):
    """The check above can fail: with dL/dh_0 halved, the h0 row fails."""
    _, fast = twins(monkeypatch)
    ids, _, targets, h0 = batch(np.random.default_rng(4), B=1)
    real = compiled.elman_classifier_step

    def halved(*args):
        loss, logits, final, d_initial = real(*args)
        return loss, logits, final, d_initial * 0.5
    monkeypatch.setattr(compiled, "elman_classifier_step", halved)
    failed = [r.name for r in check_gradients(fast, ids, None, targets, h0) if not r.passed]
    assert failed == ["h0"]


def test_a_training_epoch_equals_the_numpy_engine(monkeypatch):
    """The walkthrough's recipe (per-sample SGD, clipping) for one epoch on the embedded data."""
    train_set, _ = default_dataset()
    vocab = Vocab.build(tokenize(text) for text in train_set.texts)
    weights = []
    for engine in ("numpy", "compiled"):
        monkeypatch.setenv("TINYRNN_ENGINE", engine)
        model = Classifier(vocab, sorted(set(train_set.labels)), 16).initialize(np.random.default_rng(7))
        model.flat[...] = np.random.default_rng(8).normal(0, 0.3, model.flat.shape)
        data, _ = encode_examples(model, train_set)
        train(model, data, TrainConfig(epochs=2), np.random.default_rng(99))
        assert model.compiled_step == (engine == "compiled")
        weights.append(model.flat.copy())
    np.testing.assert_allclose(weights[1], weights[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("architecture", [{"cell": "gru"}, {"num_layers": 2}, {"embed_size": 4},
                                          {"bidirectional": True}, {"pool": "mean"}, {"dropout": 0.2}])
def test_other_models_run_on_the_numpy_engine(monkeypatch, architecture):
    monkeypatch.setenv("TINYRNN_ENGINE", "compiled")
    model = random_classifier(np.random.default_rng(0), **architecture)
    ids, _, targets, _ = batch(np.random.default_rng(5), B=1, words=9)
    model.loss_and_gradients(ids, None, targets, rng=np.random.default_rng(0))
    assert model.compiled_step is False


def test_a_cell_replaced_by_hand_runs_on_the_numpy_engine(monkeypatch):
    """The tutorial replaces the rnn cell's backward step to show the walkthrough's slip: the
    model then runs the NumPy engine, whose cell it is."""
    from tinyrnn.nn.rnn import RNNCell

    class Slipped(RNNCell):
        def backward_step(self, W_hh):
            def step(s):
                np.multiply(s.local, s.d_hidden, out=s.d_pre)
                np.dot(s.d_pre, W_hh.T, out=s.d_hidden_prev)
            return step
    _, fast = twins(monkeypatch)
    layer = fast.stack.layers[0][0]
    layer.cell = Slipped(layer.cell.hidden_size)                      # as the tutorial does
    ids, _, targets, h0 = batch(np.random.default_rng(6), B=1)
    assert "Whh" in [r.name for r in check_gradients(fast, ids, None, targets, h0) if not r.passed]


def test_the_default_run_on_each_engine(tmp_path):
    """`tinyrnn train` (the walkthrough's recipe, 1000 epochs) on both engines: the same
    accuracy and weights equal to 1e-12, and gradcheck says which engine it checked."""
    from safetensors.numpy import load_file
    outputs = {}
    for engine in ("numpy", "compiled"):
        env = {**os.environ, "TINYRNN_ENGINE": engine}
        done = subprocess.run([sys.executable, "-m", "tinyrnn", "train", "--out", f"{engine}.safetensors"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "Test:\tLoss 0.002 | Accuracy: 1.000" in done.stdout
        outputs[engine] = load_file(str(tmp_path / f"{engine}.safetensors"))
        for batch in ("1", "4"):                      # (batches of several sentences run on NumPy)
            check = subprocess.run([sys.executable, "-m", "tinyrnn", "gradcheck", "--batch", batch], env=env,
                                   capture_output=True, text=True, timeout=300)
            assert check.returncode == 0 and "gradients match finite differences" in check.stdout
            assert ("checked: the compiled engine" in check.stdout) == (engine == "compiled" and batch == "1")
    for name, array in outputs["numpy"].items():
        np.testing.assert_allclose(outputs["compiled"][name], array, rtol=0, atol=1e-12, err_msg=name)


def test_the_engine_variable_is_checked(monkeypatch, tmp_path):
    env = {**os.environ, "TINYRNN_ENGINE": "fastest"}
    done = subprocess.run([sys.executable, "-m", "tinyrnn", "train"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "TINYRNN_ENGINE='fastest' names no engine" in done.stderr
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("TINYRNN_ENGINE", "compiled")
    monkeypatch.setattr(compiled, "_kernels", None)
    monkeypatch.setitem(sys.modules, "numba", None)                      # as if not installed
    monkeypatch.delitem(sys.modules, "tinyrnn.nn.compiled_kernels", raising=False)
    with pytest.raises(compiled.EngineError, match=r"needs numba: pip install 'tinyrnn\[fast\]'"):
        compiled.check_engine()
    monkeypatch.setenv("TINYRNN_ENGINE", "auto")
    assert compiled.kernels() is None and compiled.engine_name() == "numpy"


def test_a_run_resumes_exactly_on_its_own_engine_and_refuses_the_other(tmp_path):
    """The engine is part of a run's signature where it changes the numbers: a checkpoint of a
    compiled run resumes bit for bit on the compiled engine; on NumPy it needs --force."""
    from tinyrnn.io import load_model

    def train(engine, name, *extra):
        return subprocess.run([sys.executable, "-m", "tinyrnn", "train", "--epochs", "4", "--checkpoint-every", "1",
                               "--checkpoint-dir", f"{name}.d", "--out", f"{name}.safetensors", *extra],
                              cwd=tmp_path, env={**os.environ, "TINYRNN_ENGINE": engine}, capture_output=True,
                              text=True, timeout=120)
    assert train("compiled", "whole").returncode == 0
    assert train("compiled", "part", "--epochs", "2").returncode == 0
    refused = train("numpy", "part", "--resume")
    assert refused.returncode == 2 and "engine 'compiled' -> 'numpy'" in refused.stderr, refused.stderr
    assert "add --force" in refused.stderr
    resumed = train("compiled", "part", "--resume", "--force")      # (--force: the 2 -> 4 epochs)
    assert resumed.returncode == 0, resumed.stderr
    assert "engine" not in resumed.stderr
    np.testing.assert_array_equal(load_model(str(tmp_path / "part.safetensors")).flat,
                                  load_model(str(tmp_path / "whole.safetensors")).flat)


def test_without_a_folder_to_cache_in_the_kernel_is_compiled_each_run(monkeypatch):
    """numba cannot cache (an installation it cannot write beside, no home folder): the kernel
    is compiled for the process instead of failing."""
    import numba
    real = numba.njit

    def njit(*args, **options):
        if options.get("cache"):
            def refuse(function):
                raise RuntimeError("cannot cache function: no locator available")
            return refuse
        return real(*args, **options)
    monkeypatch.setattr(numba, "njit", njit)
    monkeypatch.setattr(compiled, "_kernels", None)
    monkeypatch.delitem(sys.modules, "tinyrnn.nn.compiled_kernels", raising=False)   # decorated anew
    monkeypatch.setenv("TINYRNN_ENGINE", "compiled")
    reference, fast = twins(monkeypatch)
    ids, _, targets, h0 = batch(np.random.default_rng(7), B=1)
    expected, got = reference.loss_and_gradients(ids, None, targets, h0), fast.loss_and_gradients(ids, None, targets, h0)
    assert fast.compiled_step and got.loss == pytest.approx(expected.loss, abs=1e-12)


def test_the_kernels_are_compiled_once_and_then_read_from_numbas_cache(tmp_path):
    """The second run reads the first's compiled code: no new cache file, no compiling again
    (kernels in a closure were cached anew by every run, seconds each and a file more)."""
    cache = tmp_path / "cache"
    env = {**os.environ, "TINYRNN_ENGINE": "compiled", "NUMBA_CACHE_DIR": str(cache), "NUMBA_DEBUG_CACHE": "1"}
    runs = [subprocess.run([sys.executable, "-m", "tinyrnn", "train", "--epochs", "1", "--out", f"{k}.safetensors"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300) for k in range(2)]
    assert all(run.returncode == 0 for run in runs), runs[-1].stderr
    assert "data saved" in runs[0].stdout + runs[0].stderr
    second = runs[1].stdout + runs[1].stderr
    assert "data saved" not in second and "data loaded" in second
