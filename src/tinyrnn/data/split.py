"""Held-out examples chosen by class: a stratified, seeded validation split and K folds."""
import numpy as np


def stratified_split(labels, fraction, rng):
    """(training indices, validation indices), both sorted and disjoint, covering every example.

    From each class, round(fraction * n) of its n examples go to validation (at least one
    when the class has two or more, never all of them), drawn with rng (a numpy Generator),
    so every class keeps its share in both parts."""
    if not 0 < fraction < 1:
        raise ValueError(f"the validation fraction must be between 0 and 1, got {fraction}")
    labels = np.asarray(labels)
    held_out = []
    for label in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == label)
        count = min(max(int(round(fraction * len(members))), 1 if len(members) > 1 else 0), len(members) - 1)
        held_out.append(rng.permutation(members)[:count])
    valid = np.sort(np.concatenate(held_out)).astype(np.int64)
    train = np.setdiff1d(np.arange(len(labels)), valid)
    return train, valid


def stratified_folds(labels, count, rng):
    """`count` disjoint index arrays (sorted) that cover every example: each class's examples,
    shuffled with rng, are dealt round the folds in turn, so every fold has its share of each."""
    labels = np.asarray(labels)
    if not 2 <= count <= len(labels):
        raise ValueError(f"cannot make {count} folds of {len(labels)} examples")
    folds, start = [[] for _ in range(count)], 0
    for label in sorted(set(labels.tolist())):
        for position, index in enumerate(rng.permutation(np.flatnonzero(labels == label))):
            folds[(start + position) % count].append(index)
        start += len(np.flatnonzero(labels == label))               # the next class continues the deal
    return [np.sort(np.array(fold, dtype=np.int64)) for fold in folds]
