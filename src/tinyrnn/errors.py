"""The exceptions tinyrnn raises for bad input. The CLI prints them as one line and exits
with the error's exit_status (2: bad input; 3: training diverged)."""
import signal


class TinyRNNError(ValueError):
    """Base class: something the user gave us (data, options, a file) is wrong. The message
    states the facts (file, value, limit); remedy names what would help, as an idea the
    caller words in its own terms (the command line: with its flags, commands/remedies.py)."""

    exit_status = 2

    def __init__(self, message, remedy=None):
        super().__init__(message)
        self.remedy = remedy


class DataError(TinyRNNError):
    """A dataset file is unreadable or malformed; the message names file:line."""


class ModelFileError(TinyRNNError):
    """A model file is missing, malformed, or does not describe a tinyrnn model."""


class TrainingError(TinyRNNError):
    """Training cannot go on (for example the loss became NaN or infinite)."""


class DivergenceError(TrainingError):
    """The loss, gradients or weights stopped being sane numbers; nothing is saved."""

    exit_status = 3


class NotFiniteError(TinyRNNError):
    """A model's outputs are NaN or infinite (its weights are huge): refused, not printed; in
    training, the run has diverged."""


class ConfigError(TinyRNNError):
    """A setting (learning rate, sizes, ...) cannot work."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP (the terminal closed), raised wherever the program is (like
    KeyboardInterrupt for Ctrl-C), so that cleanup runs; not an error in the input."""

    def __init__(self, signum=signal.SIGTERM):
        super().__init__(signum)
        self.signum = int(signum)

    @classmethod
    def stop(cls, signum):
        """The exception that signal signum stops a run with: KeyboardInterrupt for SIGINT."""
        return KeyboardInterrupt() if signum == signal.SIGINT else cls(signum)
