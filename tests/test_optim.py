"""Clipping and optimizers: hand-computed values, and continuing from a state_dict."""
import numpy as np
import pytest

from tinyrnn.optim import OPTIMIZERS, SGD, clip_by_norm, clip_by_value


def test_clip_by_value_is_elementwise():
    grads = np.array([-3.0, -0.5, 0.0, 0.7, 2.0])
    clip_by_value(grads, 1.0)
    assert grads.tolist() == [-1.0, -0.5, 0.0, 0.7, 1.0]


def test_clip_by_norm_scales_only_when_needed():
    grads = np.array([3.0, 4.0])
    assert clip_by_norm(grads, 1.0) == 5.0
    np.testing.assert_allclose(grads, [0.6, 0.8])
    small = np.array([0.3, 0.4])
    clip_by_norm(small, 1.0)
    assert small.tolist() == [0.3, 0.4]


def test_sgd_step_in_place():
    params, grads = np.array([1.0, -2.0]), np.array([0.5, -1.0])
    view = params
    SGD(lr=0.1).step(params, grads)
    assert view is params and params.tolist() == [0.95, -1.9]


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_sgd_rejects_bad_learning_rates(lr):
    with pytest.raises(ValueError, match="learning rate"):
        SGD(lr)


from tinyrnn.optim import Adagrad, Adam, RMSprop

PARAMS = [0.5, -1.0, 2.0]
GRADS = [[0.1, -0.2, 0.3], [-0.4, 0.5, 0.0]]


def run_steps(optimizer):
    params = np.array(PARAMS)
    for grads in GRADS:
        optimizer.step(params, np.array(grads))
    return params


def test_sgd_momentum_and_nesterov_by_hand():
    lr, mu = 0.1, 0.9
    p, v = np.array(PARAMS), np.zeros(3)
    q, w = np.array(PARAMS), np.zeros(3)
    for g in map(np.array, GRADS):
        v = mu * v + g
        p = p - lr * v
        w = mu * w + g
        q = q - lr * (g + mu * w)
    np.testing.assert_allclose(run_steps(SGD(lr, momentum=mu)), p, rtol=1e-15)
    np.testing.assert_allclose(run_steps(SGD(lr, momentum=mu, nesterov=True)), q, rtol=1e-15)


def test_adagrad_by_hand():
    p, m = np.array(PARAMS), np.zeros(3)
    for g in map(np.array, GRADS):
        m += g * g
        p = p - 0.1 * g / np.sqrt(m + 1e-8)
    np.testing.assert_allclose(run_steps(Adagrad(0.1)), p, rtol=1e-14)


def test_rmsprop_by_hand():
    p, s = np.array(PARAMS), np.zeros(3)
    for g in map(np.array, GRADS):
        s = 0.99 * s + 0.01 * g * g
        p = p - 0.01 * g / (np.sqrt(s) + 1e-8)
    np.testing.assert_allclose(run_steps(RMSprop(0.01)), p, rtol=1e-14)


def test_adam_by_hand():
    p, m, v = np.array(PARAMS), np.zeros(3), np.zeros(3)
    for t, g in enumerate(map(np.array, GRADS), start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        m_hat, v_hat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
        p = p - 0.03 * m_hat / (np.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(run_steps(Adam(0.03)), p, rtol=1e-13)


def test_adam_first_step_moves_each_parameter_by_lr():
    params = np.array(PARAMS)
    Adam(0.01).step(params, np.array([3.0, -0.001, 0.5]))
    np.testing.assert_allclose(params - np.array(PARAMS), [-0.01, 0.01, -0.01], rtol=1e-5)


def test_default_learning_rates():
    assert [cls().lr for cls in (SGD, Adagrad, RMSprop, Adam)] == [0.02, 0.1, 0.01, 0.001]


def test_weight_average_by_hand():
    """a_0 = w_0, a_t = d_t a_{t-1} + (1 - d_t) w_t with d_t = min(d, (1 + t) / (10 + t))."""
    optimizer = SGD(0.1, average=0.2)
    params = run_steps(optimizer)
    w0 = np.array(PARAMS)
    w1 = w0 - 0.1 * np.array(GRADS[0])
    w2 = w1 - 0.1 * np.array(GRADS[1])
    a1 = 2 / 11 * w0 + 9 / 11 * w1                        # d_1 = 2/11 (below 0.2)
    a2 = 0.2 * a1 + 0.8 * w2                              # d_2 = min(0.2, 3/12)
    np.testing.assert_allclose(params, w2, rtol=0, atol=1e-15)   # the steps themselves are unchanged
    np.testing.assert_allclose(optimizer.average, a2, rtol=0, atol=1e-15)
    assert SGD(0.1).average is None and SGD(0.1, average=0.5).average is None    # none kept / no step yet


def test_averaged_swaps_the_average_in_for_the_block_only():
    optimizer = Adam(0.1, average=0.9)
    params = run_steps(optimizer)
    own = params.copy()
    with optimizer.averaged(params):
        np.testing.assert_array_equal(params, optimizer.average)
    np.testing.assert_array_equal(params, own)
    with pytest.raises(KeyError), optimizer.averaged(params):
        raise KeyError("an evaluation that fails")
    np.testing.assert_array_equal(params, own)            # restored all the same
    plain = run_steps(Adam(0.1))
    with Adam(0.1).averaged(plain):                       # no average: nothing changes
        np.testing.assert_array_equal(plain, run_steps(Adam(0.1)))


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, float("nan")])
def test_weight_average_decays_outside_0_1_are_refused(decay):
    with pytest.raises(ValueError, match="decay"):
        Adam(0.1, average=decay)


@pytest.mark.parametrize("average", [None, 0.9], ids=["plain", "averaged"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_an_optimizer_continued_from_its_state_dict_takes_the_same_steps(name, average):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=6) for _ in range(8)]
    options = {"momentum": 0.9, "average": average} if name == "sgd" else {"average": average}
    whole, first = OPTIMIZERS[name](0.1, **options), OPTIMIZERS[name](0.1, **options)
    params_whole, params_split = np.ones(6), np.ones(6)
    for grad in grads:
        whole.step(params_whole, grad.copy())
    for grad in grads[:3]:
        first.step(params_split, grad.copy())
    state = first.state_dict()
    second = OPTIMIZERS[name](0.1, **options)
    second.load_state_dict(state)
    state["buffers"].clear()                       # the loaded state is a copy
    for grad in grads[3:]:
        second.step(params_split, grad.copy())
    assert second.steps == whole.steps == 8
    np.testing.assert_array_equal(params_split, params_whole)
    if average:
        np.testing.assert_array_equal(second.average, whole.average)
