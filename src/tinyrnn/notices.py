"""What `train` says on standard error while it sets up (warnings about the data and options,
what was left out): held back until the training starts, so that a run refused during its
set-up prints only its one line of error; said at once everywhere else."""
import sys

_held = None                     # the notices held back, while a command's set-up holds them


def say(message):
    """message on standard error, now or when the held notices are released."""
    if _held is None:
        print(message, file=sys.stderr)
    else:
        _held.append(message)


def hold():
    """From now on hold notices back (until release or discard)."""
    global _held
    _held = []


def release():
    """Say the notices held back, and say the next ones at once."""
    global _held
    held, _held = _held or [], None
    for message in held:
        print(message, file=sys.stderr)


def discard():
    """Forget the notices held back (the command was refused), and say the next ones at once."""
    global _held
    _held = None
