"""Learning rates that change within a run: the schedule over updates (every task), and the
rate and the freezing of each layer (fine-tuning a pretrained model; Howard & Ruder, 2018).

The rate of update t (t = 0, 1, ..., T - 1 of the T updates the run plans, lr the peak):

    constant:  lr_t = lr
    slanted:   slanted triangular: a short linear rise, then a long linear fall
               cut = floor(T * warmup),  p = t / cut  if t < cut  else  1 - (t - cut) / (T - cut)
               lr_t = lr * (1 + p * (ratio - 1)) / ratio                              (ratio = 32)
    onecycle:  a linear rise from lr / ratio over the warm-up, then half a cosine down to 0
               lr_t = lr * (1 + (ratio - 1) * t / cut) / ratio            t < cut
               lr_t = lr * (1 + cos(pi * (t - cut) / (T - cut))) / 2       t >= cut

both times lr_decay ** (epoch - 1). Layers are counted from the input: group 0 is the
embedding (a model without one starts at its first recurrent layer), group k + 1 the
recurrent layer k (both directions, encoder and decoder alike), the last group everything
else (the output layer and what a seq2seq model adds). With G groups:

    per-layer rates:     group g learns at lr_t * layer_decay ** (G - 1 - g)
    gradual unfreezing:  in the run's unit u (epoch 1, 2, ... or the update count of a task
                         counted in steps) the top  min(G, 1 + floor(u' / every))  groups
                         learn, u' = u - 1 for epochs, u for steps; the others are frozen
                         (no gradient, so no step under any optimizer)
"""
import functools
import math
import re

SCHEDULES = ("constant", "slanted", "onecycle")
RATIO = 32                                  # the lowest rate of slanted and onecycle: lr / 32


def schedule_factor(schedule, t, total, warmup):
    """lr_t / lr for update t (0-based) of total under schedule, warm-up fraction warmup."""
    if schedule == "constant":
        return 1.0
    t = min(t, total - 1)
    cut = math.floor(total * warmup)
    if t < cut:
        return (1 + (RATIO - 1) * t / cut) / RATIO
    fall = (t - cut) / max(total - cut, 1)
    if schedule == "slanted":
        return (1 + (1 - fall) * (RATIO - 1)) / RATIO
    return (1 + math.cos(math.pi * fall)) / 2


def layer_groups(names):
    """{parameter name: group} as the module docstring counts them (0 at the input)."""
    depth = {name: _depth(name) for name in names}
    embedded = any(value == -1 for value in depth.values())
    top = max((value for value in depth.values() if value is not None), default=-1) + 1 + embedded
    return {name: top if value is None else value + embedded for name, value in depth.items()}


def _depth(name):
    """-1 for an embedding, k for recurrent layer k, None for the rest."""
    if re.search(r"(^|\.)embedding\.", name):
        return -1
    if name in ("Wxh", "Whh", "bh"):                    # the walkthrough's one layer
        return 0
    found = re.search(r"_l(\d+)(_reverse)?$", name)
    return int(found.group(1)) if found else None


class LayerRates:
    """The per-layer rates and the unfrozen groups of a model's flat parameters. slices:
    for each group, the (start, stop) ranges of its parameters in model.flat."""

    def __init__(self, model, layer_decay=1.0, unfreeze_every=None):
        groups = layer_groups(model.params)
        self.count = max(groups.values()) + 1
        self.layer_decay, self.unfreeze_every = layer_decay, unfreeze_every
        base = model.flat.__array_interface__["data"][0]
        self.slices = [[] for _ in range(self.count)]
        for name, array in model.params.items():
            start = (array.__array_interface__["data"][0] - base) // array.itemsize
            self.slices[groups[name]].append(slice(start, start + array.size))

    def unfrozen(self, unit, counted_in_steps):
        """How many groups, from the top, learn in this unit (an epoch number, or updates done)."""
        if not self.unfreeze_every:
            return self.count
        done = unit if counted_in_steps else unit - 1
        return min(self.count, 1 + done // self.unfreeze_every)

    @functools.lru_cache(maxsize=None)
    def plan(self, unfrozen):
        """(frozen slices, [(slice, factor)] of the learning groups whose rate is scaled) when
        the top `unfrozen` groups learn (worked out once for each count)."""
        frozen, scaled = [], []
        for group, slices in enumerate(self.slices):
            depth = self.count - 1 - group                   # 0: the output layer's group
            if depth >= unfrozen:
                frozen.extend(slices)
            elif self.layer_decay ** depth != 1.0:
                scaled.extend((part, self.layer_decay ** depth) for part in slices)
        return frozen, scaled
