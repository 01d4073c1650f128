"""Clipping and SGD against hand-computed values."""
import numpy as np
import pytest

from tinyrnn.optim import SGD, clip_by_norm, clip_by_value


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
