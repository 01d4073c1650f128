"""The batched, masked engine: padding changes nothing, and batch size 1 is the walkthrough."""
import numpy as np

from conftest import small_model
from tinyrnn.tasks import LabelledSequences, train
from tinyrnn.training import TrainConfig
from tinyrnn.vocab import PAD_ID, pad_batch

SEQUENCES = [np.array([2, 3, 4, 5, 6]), np.array([7, 2]), np.array([4]), np.array([6, 6, 3])]
TARGETS = np.array([0, 2, 1, 2])


def test_masked_batch_equals_each_sequence_alone():
    model = small_model()
    ids, mask = pad_batch(SEQUENCES)
    batch_logits = model.forward(ids, mask)[0].copy()
    batch_loss = model.loss_and_gradients(ids, mask, TARGETS).loss
    batch_grads = {name: grad.copy() for name, grad in model.grads.items()}
    summed = {name: np.zeros_like(grad) for name, grad in batch_grads.items()}
    losses = []
    for row, sequence in enumerate(SEQUENCES):
        alone = sequence[None, :], np.ones((1, len(sequence)), bool)
        np.testing.assert_allclose(batch_logits[row], model.forward(*alone)[0][0], rtol=0, atol=1e-14)
        loss = model.loss_and_gradients(*alone, TARGETS[row:row + 1]).loss
        losses.append(loss)
        for name in summed:
            summed[name] += model.grads[name]
    assert abs(batch_loss - np.mean(losses)) < 1e-14
    for name, grad in batch_grads.items():       # the batch gradient is the mean over rows
        np.testing.assert_allclose(grad, summed[name] / len(SEQUENCES), rtol=1e-12, atol=1e-15,
                                   err_msg=name)


def test_padded_steps_get_zero_gradient_and_do_not_matter():
    model = small_model()
    ids, mask = pad_batch(SEQUENCES)
    model.loss_and_gradients(ids, mask, TARGETS)
    reference = {name: grad.copy() for name, grad in model.grads.items()}
    assert not model.grads["Wxh"][:, PAD_ID].any(), "the <pad> column must get no gradient"
    scrambled = ids.copy()
    scrambled[~mask] = 5                          # real words where the mask says padding
    model.loss_and_gradients(scrambled, mask, TARGETS)
    for name, grad in model.grads.items():
        np.testing.assert_array_equal(grad, reference[name], err_msg=name)
    _, final = model.forward(ids, mask)                                 # (1, B, H)
    _, alone = model.forward(ids[1:2, :2], None)                        # row 1 has two real words
    np.testing.assert_allclose(final[0, 1], alone[0, 0], rtol=0, atol=1e-14, err_msg="state held over padding")


def test_predictions_do_not_depend_on_batch_composition():
    model = small_model()
    together = model.predict_proba(SEQUENCES)
    apart = np.vstack([model.predict_proba([sequence]) for sequence in SEQUENCES])
    np.testing.assert_allclose(together, apart, rtol=0, atol=1e-15)


def test_minibatch_of_full_batch_size_is_one_mean_gradient_step():
    model, copy = small_model(), small_model()
    data = LabelledSequences(list(SEQUENCES), TARGETS)
    config = TrainConfig(epochs=1, lr=0.1, batch_size=len(SEQUENCES), clip_value=None)
    train(model, data, config, np.random.default_rng(0), shuffle=False)
    ids, mask = pad_batch(SEQUENCES)
    copy.loss_and_gradients(ids, mask, TARGETS)
    np.testing.assert_allclose(model.flat, copy.flat - 0.1 * copy.flat_grads, rtol=0, atol=1e-15)


def test_float32_model_computes_in_float32():
    model = small_model(dtype="float32")
    ids, mask = pad_batch(SEQUENCES)
    loss = model.loss_and_gradients(ids, mask, TARGETS).loss
    assert model.forward(ids, mask)[0].dtype == np.float32 and model.flat_grads.dtype == np.float32
    reference = small_model(dtype="float64")
    ref_loss = reference.loss_and_gradients(ids, mask, TARGETS).loss
    assert abs(loss - ref_loss) < 1e-5
