"""Building blocks around the recurrent layers: one-hot and embedding gradients, dropout."""
import numpy as np


def onehot_backward(ids, rows, grad):
    """grad = sum_i rows[i] onehot(ids[i])^T: the gradient of W for the product W x, x one-hot.

    ids (N,) int, rows (N, E) the gradients of the products W x_i, grad (E, V) written in
    place (column v sums the rows whose id is v). Two exact methods, picked by cost: a
    one-hot matrix product (BLAS; best up to about a million N*V, or E much larger than V), or a
    sort that groups rows by id and one reduceat per group (best for large vocabularies).
    """
    N, (E, V) = len(ids), grad.shape
    if N * V <= 1 << 20 or 4 * V <= E:
        onehot = np.zeros((N, V), dtype=grad.dtype)
        onehot[np.arange(N), ids] = 1.0
        np.dot(rows.T, onehot, out=grad)
        return
    grad[...] = 0.0
    present, sums = _sums_by_id(ids, rows)
    grad[:, present] = sums.T


def embedding_backward(ids, rows, grad):
    """grad (V, E) = sum_i onehot(ids[i]) rows[i]^T: row v of an embedding table's gradient
    sums the gradients of the positions that looked it up."""
    grad[...] = 0.0
    present, sums = _sums_by_id(ids, rows)
    grad[present] = sums


def _sums_by_id(ids, rows):
    """(distinct ids, (K, E) sum of the rows of each), by one sort and one reduceat."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
    return sorted_ids[starts], np.add.reduceat(rows[order], starts, axis=0)


def dropout_mask(rng, shape, rate, dtype):
    """Inverted dropout's multiplier: keep / (1 - rate), keep ~ Bernoulli(1 - rate) drawn
    from rng, so the expected activation is unchanged and evaluation needs no scaling."""
    keep = rng.random(shape) >= rate
    return keep.astype(dtype) * (1.0 / (1.0 - rate))
