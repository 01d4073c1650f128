"""Pure NumPy math: cells, the shared time loop, losses. No I/O, no printing."""
from .rnn import RNNCell

CELLS = {"rnn": RNNCell}
