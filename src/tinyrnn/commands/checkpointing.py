"""--checkpoint-dir, --checkpoint-every, --resume, --force: the command line's side of a run's
checkpoints (training/checkpoints.py saves and restores them). Shared by every training task."""
import os
import signal
import sys
import threading
from contextlib import contextmanager

from ..checkpoint import CheckpointFolder
from ..errors import Terminated, TinyRNNError
from ..files import OutputLock
from ..training import RunCheckpoints, RunMismatch

DEFAULT_MINUTES = 10.0                   # cheap for small epochs, little lost for large runs


PHASES = ("pretraining", "pretraining-backward")   # train --pretrain-text: before the run, in sub-folders


class CommandCheckpoints:
    """train's checkpoint options: the folder checked and locked for the run, --resume and
    --force, Ctrl-C and SIGTERM turned into a checkpoint and a stop. phases: the sub-folders
    in which a run that first trains other models (train --pretrain-text: PHASES)
    checkpoints them, so that a resume goes on from wherever the run stopped."""

    def __init__(self, folder, resume, force, phases=()):
        self.folder, self.resume, self.force = CheckpointFolder(folder), resume, force
        self.phases = {name: CheckpointFolder(os.path.join(folder, name)) for name in phases}
        self.earlier = False                 # the folders hold an earlier run's checkpoints
        self.replacing = []                  # folders whose earlier checkpoints the first new one replaces

    def _folders(self):
        """The run's folders in the order the run goes through them: its phases', then its own."""
        return [*self.phases.values(), self.folder]

    @contextmanager
    def held(self):
        """The folder checked and locked (one run at a time; the lock file is beside it)."""
        self.folder.check()
        for folder in self.phases.values():
            if os.path.lexists(folder.folder) and not os.path.isdir(folder.folder):
                raise TinyRNNError(f"{folder.folder} is a file, where a pretraining's checkpoints go; move it, or "
                                   f"choose another --checkpoint-dir")
        with OutputLock(self.folder.folder, "--checkpoint-dir"):
            self.earlier = any(folder.paths() for folder in self._folders())
            self.replacing = self._folders() if self.earlier and not self.resume else []   # --force: start over
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
        return self._start(self.folder, trainer, signature, more_rngs, where, None)

    def start_phase(self, name, trainer, signature, where):
        """start() for a phase before the run (one of its phases: a pretraining), checkpointed
        in its sub-folder. False if that phase had finished: the trainer's model then holds
        the weights it ended with."""
        return self._start(self.phases[name], trainer, signature, {}, where, f"the {name.replace('-', ' ')}")

    def _start(self, folder, trainer, signature, more_rngs, where, what):
        """start() in folder; what: the phase's name in messages (None: the run itself)."""
        checkpoints = RunCheckpoints(folder.folder, signature, more_rngs)
        checkpoints.after_first_save = lambda: self._replace(self.replacing, folder)
        if not self.resume:
            trainer.checkpoints = checkpoints
            return True
        try:
            restored = trainer.restore(checkpoints, self.force, lambda message: print(message, file=sys.stderr))
        except RunMismatch as error:
            raise TinyRNNError(f"--resume: {error}", remedy=error.remedy) from None
        if restored is None:
            return True                      # (a phase's checkpoints only: stopped before this part began)
        path, differences = restored
        state = trainer.state
        if any(name == "keep_best" and now and not saved for name, saved, now in differences):
            raise TinyRNNError(f"--resume: the run checkpointed in {path} kept no best weights (it ran without "
                               f"--keep-best), so --keep-best cannot start in its resume: resume without it, or "
                               f"start over with --force and without --resume")
        if what is not None and trainer.config.epochs is not None and state.epoch > trainer.config.epochs:
            raise TinyRNNError(f"--resume: {what} checkpointed in {path} has made {state.epoch} passes, more "
                               f"than {trainer.config.epochs}; it cannot go back: run without --resume (and with "
                               f"--force) to start over")
        for name, saved, now in differences:
            print(f"warning: resuming despite a difference (--force): {name} {saved!r} -> {now!r}",
                  file=sys.stderr)
        if state.finished:
            print(f"nothing to train: the run checkpointed in {path} finished ({where(state)})" if what is None else
                  f"{what} checkpointed in {path} had finished ({where(state)}): its weights are read back")
            return False
        print(f"resuming {what + ' ' if what else ''}from {path} ({where(state)})")
        later = self._folders()[self._folders().index(folder) + 1:]
        void = [other for other in later if other.paths()]
        if what is not None and void:        # what follows a phase that goes on read its old weights
            print(f"{what} goes on (--force), so what followed it starts over: the checkpoints in "
                  f"{', '.join(other.folder for other in void)} are removed at its first update's checkpoint",
                  file=sys.stderr)
            steps = state.steps
            checkpoints.after_first_save = lambda: self._replace(void) if trainer.state.steps > steps else None
        return True

    def _replace(self, folders, saved_in=None):
        """Remove the earlier checkpoints in folders, once a run that replaces them has written
        its first one (in saved_in: kept), not before: a run refused at once loses nothing."""
        self.replacing = [folder for folder in self.replacing if folder not in folders]
        for folder in folders:
            folder.remove_all(keep_newest=1 if folder is saved_in else 0)
            path = folder.folder
            if folder is not self.folder and os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path):
                os.rmdir(path)


def command_checkpoints(args):
    """The CommandCheckpoints of train's options (None without --checkpoint-dir)."""
    if not args.checkpoint_dir:
        for option in ("resume", "checkpoint_every"):
            if getattr(args, option):
                raise TinyRNNError(f"--{option.replace('_', '-')} needs --checkpoint-dir")
        return None
    return CommandCheckpoints(args.checkpoint_dir, args.resume, args.force,
                              PHASES if getattr(args, "pretrain_text", None) else ())


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
