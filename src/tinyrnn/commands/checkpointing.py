"""--checkpoint-dir, --checkpoint-every, --resume, --force: the command line's side of a run's
checkpoints (training/checkpoints.py saves and restores them). Shared by every training task."""
import signal
import sys
import threading
from contextlib import contextmanager

from ..checkpoint import CheckpointFolder
from ..errors import Terminated, TinyRNNError
from ..files import OutputLock
from ..training import RunCheckpoints, RunMismatch

DEFAULT_MINUTES = 10.0                   # cheap for small epochs, little lost for large runs


class CommandCheckpoints:
    """train's checkpoint options: the folder checked and locked for the run, --resume and
    --force, Ctrl-C and SIGTERM turned into a checkpoint and a stop."""

    def __init__(self, folder, resume, force):
        self.folder, self.resume, self.force = CheckpointFolder(folder), resume, force
        self.earlier = False                 # the folder holds an earlier run's checkpoints

    @contextmanager
    def held(self):
        """The folder checked and locked (one run at a time; the lock file is beside it)."""
        self.folder.check()
        with OutputLock(self.folder.folder, "--checkpoint-dir"):
            self.earlier = bool(self.folder.paths())
            if self.resume and not self.earlier:       # said before any work (pretraining, reading data)
                raise TinyRNNError(f"--resume: {self.folder.folder} has no checkpoint; run without --resume to start")
            if self.earlier and not self.resume and not self.force:
                raise TinyRNNError(f"--checkpoint-dir {self.folder.folder} holds the checkpoints of an "
                                   f"earlier run; add --resume to continue it, or --force to start "
                                   f"over (they will be replaced)")
            yield self

    def start(self, trainer, signature, more_rngs, where):
        """Give trainer the run's checkpoints; with --resume, continue from the latest one
        (where(state) says where a run stands). False if that run had finished."""
        checkpoints = RunCheckpoints(self.folder.folder, signature, more_rngs)
        checkpoints.replace_earlier = self.earlier and not self.resume      # --force: start over
        if not self.resume:
            trainer.checkpoints = checkpoints
            return True
        try:
            restored = trainer.restore(checkpoints, self.force, lambda message: print(message, file=sys.stderr))
        except RunMismatch as error:
            raise TinyRNNError(f"--resume: {error}", remedy=error.remedy) from None
        if restored is None:
            raise TinyRNNError(f"--resume: {self.folder.folder} has no checkpoint; run without --resume to start")
        path, differences = restored
        for name, saved, now in differences:
            print(f"warning: resuming despite a difference (--force): {name} {saved!r} -> {now!r}",
                  file=sys.stderr)
        if trainer.state.finished:
            print(f"nothing to train: the run checkpointed in {path} finished ({where(trainer.state)})")
            return False
        print(f"resuming from {path} ({where(trainer.state)})")
        return True


def command_checkpoints(args):
    """The CommandCheckpoints of train's options (None without --checkpoint-dir)."""
    if not args.checkpoint_dir:
        for option in ("resume", "checkpoint_every"):
            if getattr(args, option):
                raise TinyRNNError(f"--{option.replace('_', '-')} needs --checkpoint-dir")
        return None
    return CommandCheckpoints(args.checkpoint_dir, args.resume, args.force)


def checkpoint_settings(args):
    """{checkpoint_every, checkpoint_minutes} of --checkpoint-every: N units, or "Nm" minutes."""
    every, minutes = args.checkpoint_every or (None, DEFAULT_MINUTES)
    return {"checkpoint_every": every, "checkpoint_minutes": minutes}


@contextmanager
def deferred_signals(trainer):
    """While training: the first Ctrl-C, SIGTERM or SIGHUP asks the trainer to checkpoint and stop at
    the end of the update under way (so the checkpoint is consistent); a second one stops at
    once. One that came after the last update stops the run when training returns."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ask(signum, frame):
        if trainer.stop_signal is not None:
            raise Terminated.stop(signum)
        trainer.stop_signal = signum
    previous = {signum: signal.signal(signum, ask) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if trainer.stop_signal is not None:
        raise Terminated.stop(trainer.stop_signal)
