"""Models that read numbers: gradients, masking, standardisation, and learning small generated
tasks (classification that needs memory, regression, a forecaster against seasonal naive)."""
import numpy as np
import pytest

from tinyrnn.gradcheck import check_gradients, random_problem
from tinyrnn.io import load_model, save_model
from tinyrnn.model_config import ModelConfig
from tinyrnn.models import build_model
from tinyrnn.numeric import pad_values
from tinyrnn.tasks.classify import ClassifyTask, LabelledSequences, evaluate
from tinyrnn.tasks.regress import (RealTargets, RegressTask, evaluate_regression, forecast_figures, make_windows,
                                   seasonal_scale, split_windows)
from tinyrnn.training import TrainConfig, Trainer

CELLS = ("rnn", "lstm", "gru")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("task, architecture", [
    ("classify", {"features": 2}), ("classify", {"features": 3, "bidirectional": True, "pool": "max"}),
    ("classify", {"features": 2, "num_layers": 2, "pool": "mean"}),
    ("regress", {}), ("regress", {"bidirectional": True, "pool": "mean"}),
    ("forecast", {"scaling": "window"}), ("forecast", {"scaling": "global", "num_layers": 2})])
def test_every_parameter_matches_finite_differences(cell, task, architecture):
    problem = random_problem(np.random.default_rng(3), hidden=3, classes=2, batch=3, max_length=4, task=task,
                             cell=cell, **architecture)
    for result in check_gradients(*problem):
        assert result.passed and result.relative_error < 1e-5, result


def test_the_gradient_check_sees_a_wrong_regression_gradient(monkeypatch):
    import tinyrnn.regression as regression
    real = regression.regression_loss
    monkeypatch.setattr(regression, "regression_loss", lambda *a, **k: (real(*a, **k)[0], 1.5 * real(*a, **k)[1]))
    problem = random_problem(np.random.default_rng(0), hidden=3, classes=2, batch=3, max_length=4, task="regress")
    assert not all(result.passed for result in check_gradients(*problem))


def numeric_model(task, rng, features=2, outputs=("a", "b"), **settings):
    names = [f"f{i}" for i in range(features)]
    model = build_model(ModelConfig(task, 6, features=features, **settings), names,
                        names if task == "forecast" else list(outputs))
    model.initialize(rng, "orthogonal")
    model.buffers["input_mean"][...] = rng.normal(size=features)
    model.buffers["input_std"][...] = rng.uniform(0.5, 2.0, size=features)
    return model


@pytest.mark.parametrize("task", ["classify", "regress"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_padded_batch_equals_each_sequence_alone(task, bidirectional):
    rng = np.random.default_rng(1)
    model = numeric_model(task, rng, cell="gru", bidirectional=bidirectional, pool="mean" if bidirectional else "last")
    sequences = [rng.normal(size=(length, 2)) for length in (5, 2, 7, 1)]
    batch = model.predict_proba(sequences) if task == "classify" else model.predict(sequences)
    alone = [model.predict_proba([seq]) if task == "classify" else model.predict([seq]) for seq in sequences]
    np.testing.assert_allclose(batch, np.concatenate(alone), rtol=0, atol=1e-12)


def test_standardisation_is_applied_stored_and_reapplied(tmp_path):
    rng = np.random.default_rng(2)
    model = numeric_model("regress", rng, cell="lstm")
    sequences = [rng.normal(5.0, 3.0, size=(4, 2)) for _ in range(3)]
    model.standardize_inputs(sequences)
    model.standardize_targets(rng.normal(100.0, 10.0, size=(3, 2)))
    stacked = np.concatenate(sequences)
    np.testing.assert_allclose(model.buffers["input_mean"], stacked.mean(axis=0))
    np.testing.assert_allclose(model.buffers["input_std"], stacked.std(axis=0))
    # the same network on standardised numbers, with unit statistics, predicts the same (standardised) outputs
    plain = build_model(model.config, model.feature_names, model.classes)
    plain.flat[...] = model.flat
    scaled = [(seq - model.buffers["input_mean"]) / model.buffers["input_std"] for seq in sequences]
    z = (model.predict(sequences) - model.buffers["target_mean"]) / model.buffers["target_std"]
    np.testing.assert_allclose(plain.predict(scaled), z, atol=1e-12)
    save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors")
    for name in ("input_mean", "input_std", "target_mean", "target_std"):
        np.testing.assert_array_equal(loaded.buffers[name], model.buffers[name])
    np.testing.assert_array_equal(loaded.predict(sequences), model.predict(sequences))


def test_a_constant_feature_is_kept_with_unit_spread():
    from tinyrnn.numeric import fit_standardization
    mean, std = fit_standardization([np.column_stack([np.arange(5.0), np.full(5, 7.0)])])
    assert std[1] == 1.0 and mean[1] == 7.0 and std[0] == pytest.approx(np.arange(5.0).std())


def test_model_refuses_non_finite_or_misshapen_numbers():
    model = numeric_model("classify", np.random.default_rng(0))
    values, mask = pad_values([np.ones((3, 2))])
    values[0, 1, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        model.forward(values, mask)
    with pytest.raises(ValueError, match=r"\(B, T, 2\)"):
        model.forward(np.ones((1, 3, 5)), None)


def test_window_scaling_forecasts_move_with_the_level_of_the_series():
    """Each window is read relative to its own mean: the same series shifted by c is forecast shifted by c."""
    rng = np.random.default_rng(4)
    model = numeric_model("forecast", rng, features=2, horizon=3, window=5, cell="gru")
    history = rng.normal(size=(8, 2))
    np.testing.assert_allclose(model.forecast(history + 1000.0), model.forecast(history) + 1000.0, atol=1e-9)
    glob = numeric_model("forecast", rng, features=2, horizon=3, window=5, cell="gru", scaling="global")
    assert not np.allclose(glob.forecast(history + 1000.0), glob.forecast(history) + 1000.0, atol=1e-3)


def test_windows_in_time_order_and_validation_never_trained_on():
    values = np.arange(30.0)[:, None]
    inputs, targets = make_windows(values, window=5, horizon=3)
    assert inputs.shape == (23, 5, 1) and targets.shape == (23, 3)
    np.testing.assert_array_equal(targets[4], [9.0, 10.0, 11.0])
    train, valid = split_windows(inputs, targets, horizon=3, valid_fraction=0.2)
    first_valid_target = valid.sequences[0][-1, 0] + 1
    assert max(train.targets.max(axis=1)) < first_valid_target       # no validation value trained on
    assert valid.targets[-1, -1] == 29.0


def fit(model, task, epochs, rng, lr=0.01, batch_size=16):
    config = TrainConfig(epochs=epochs, batch_size=batch_size, optimizer="adam", lr=lr, clip_value=None,
                         clip_norm=5.0, log_every=epochs)
    return Trainer(model, task, config, rng).run()


def memory_data(rng, count):
    """Class = the sign of feature 0 at the first step; the other steps are noise of every length."""
    sequences, labels = [], []
    for _ in range(count):
        seq = rng.normal(size=(int(rng.integers(5, 10)), 2))
        sequences.append(seq)
        labels.append(int(seq[0, 0] > 0))
    return LabelledSequences(sequences, np.array(labels))


def test_a_numeric_classifier_learns_a_task_that_needs_memory():
    rng = np.random.default_rng(5)
    model = build_model(ModelConfig("classify", 16, cell="gru", features=2), ["a", "b"], ["neg", "pos"])
    model.initialize(rng, "orthogonal")
    train, test = memory_data(rng, 300), memory_data(rng, 200)
    model.standardize_inputs(train.sequences)
    before = evaluate(model, test)[1]
    fit(model, ClassifyTask(train), 25, rng)
    assert evaluate(model, test)[1] >= 0.9 > before + 0.2


def test_a_regressor_learns_the_mean_of_its_sequence():
    rng = np.random.default_rng(6)
    def data(count):
        sequences = [rng.normal(3.0, 2.0, size=(int(rng.integers(3, 8)), 1)) for _ in range(count)]
        return RealTargets(sequences, np.array([[10 * seq.mean()] for seq in sequences]))
    train, test = data(300), data(100)
    model = build_model(ModelConfig("regress", 16, cell="gru", features=1, pool="mean"), ["x"], ["mean"])
    model.initialize(rng, "orthogonal")
    model.standardize_inputs(train.sequences)
    model.standardize_targets(train.targets)
    fit(model, RegressTask(train), 30, rng)
    figures = evaluate_regression(model, test)
    assert figures["r2"] > 0.95 and figures["rmse"] < 0.25 * test.targets.std()


def test_a_sine_forecaster_beats_seasonal_naive():
    rng = np.random.default_rng(7)
    steps = np.arange(200)
    series = (10 + 0.05 * steps + 3 * np.sin(2 * np.pi * steps / 12) + rng.normal(0, 0.2, size=200))[:, None]
    history, held_out = series[:-12], series[-12:]
    inputs, targets = make_windows(history, window=24, horizon=12)
    model = build_model(ModelConfig("forecast", 16, cell="gru", features=1, horizon=12, window=24), ["y"], ["y"])
    model.initialize(rng, "orthogonal")
    model.standardize_inputs([history])
    fit(model, RegressTask(RealTargets(list(inputs), targets)), 40, rng, lr=0.005)
    scale = seasonal_scale(history, 12)
    mine = forecast_figures(model.forecast(history), held_out, scale)
    naive = forecast_figures(history[-12:], held_out, scale)
    assert mine["mae"] < 0.5 * naive["mae"] and mine["smape"] < naive["smape"]


def test_huber_gradients_match_finite_differences():
    from tinyrnn.gradcheck import check_loss_gradients
    model, values, mask, targets, h0 = random_problem(np.random.default_rng(8), hidden=3, classes=2, batch=3,
                                                      max_length=4, task="regress", cell="gru")
    targets = targets * 4.0                                      # errors on both sides of delta = 1

    def loss(initial):
        result = model.loss_and_gradients(values, mask, targets, initial, loss="huber")
        return result.loss, result.initial_state_grad
    for result in check_loss_gradients(model, loss, h0):
        assert result.passed, result


def test_figures_by_hand():
    from tinyrnn.tasks.regress import regression_figures
    actual, predicted = np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [2.0], [5.0]])
    figures = regression_figures(predicted, actual)
    assert figures["rmse"] == pytest.approx(np.sqrt(4 / 3)) and figures["mae"] == pytest.approx(2 / 3)
    assert figures["r2"] == pytest.approx(1 - 4 / 2) and regression_figures(actual[:1], actual[:1])["r2"] is None
    history = np.array([[1.0, 100.0], [2.0, 300.0], [4.0, 200.0]])               # two series, other scales
    scale = seasonal_scale(history, 1)
    np.testing.assert_allclose(scale, [1.5, 150.0])
    forecast, truth = np.array([[5.0, 200.0], [6.0, 200.0]]), np.array([[4.0, 260.0], [8.0, 200.0]])
    figures = forecast_figures(forecast, truth, scale)
    assert figures["mase"] == pytest.approx(((1 + 2) / 2 / 1.5 + (60 + 0) / 2 / 150.0) / 2)   # mean of the series'
    expected_smape = np.mean([200 * 1 / 9, 200 * 60 / 460, 200 * 2 / 14, 0.0])
    assert figures["smape"] == pytest.approx(expected_smape) and figures["mae"] == pytest.approx(63 / 4)
    assert forecast_figures(forecast, truth, np.array([0.0, 1.0]))["mase"] is None
    with pytest.raises(Exception, match="season of 3 steps"):
        seasonal_scale(history, 3)


def test_held_out_values_are_forecast_from_rolling_origins():
    from tinyrnn.tasks.regress import holdout_windows
    values = np.arange(20.0)[:, None]
    data = holdout_windows(values[:14], values[14:], window=4, horizon=3, scale=np.ones(1))
    np.testing.assert_array_equal(data.targets, [[14, 15, 16], [17, 18, 19]])
    np.testing.assert_array_equal(data.sequences[1][:, 0], [13, 14, 15, 16])     # the second origin sees 14-16
    with pytest.raises(Exception, match="multiple of 3"):
        holdout_windows(values[:13], values[13:], window=4, horizon=3, scale=np.ones(1))


def test_a_flat_window_before_a_step_stays_within_a_few_units():
    """The window scaling's floor (WINDOW_FLOOR of the series' std) keeps a flat window's targets bounded."""
    from tinyrnn.numeric import WINDOW_FLOOR
    model = numeric_model("forecast", np.random.default_rng(9), features=1, horizon=2, window=4, cell="gru")
    model.buffers["input_mean"][...], model.buffers["input_std"][...] = 0.0, 1.0
    windows, targets = np.zeros((1, 4, 1)), np.array([[1.0, 1.0]])              # flat, then a step of one std
    result = model.loss_and_gradients(windows, None, targets)
    assert result.loss < 2 * (1 / WINDOW_FLOOR) ** 2 and np.isfinite(model.flat_grads).all()
    with pytest.raises(ValueError, match="windows of 4 steps"):
        model.predict([np.zeros((3, 1))])
