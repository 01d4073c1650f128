"""Pure NumPy math: cells, the shared time loop, the layer stack, losses. No I/O, no printing."""
from .gru import GRUCell
from .lstm import LSTMCell
from .rnn import NONLINEARITIES, RNNCell

CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def make_cell(kind, hidden_size, nonlinearity="tanh"):
    """A cell by name; nonlinearity (tanh or relu) applies to the vanilla rnn only."""
    if kind not in CELLS:
        raise ValueError(f"unknown cell {kind!r}; expected one of {sorted(CELLS)}")
    if kind == "rnn":
        return RNNCell(hidden_size, nonlinearity)
    if nonlinearity != "tanh":
        raise ValueError(f"nonlinearity {nonlinearity!r} applies to the rnn cell, not {kind}")
    return CELLS[kind](hidden_size)
