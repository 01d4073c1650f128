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


PHASES = ("pretraining", "pretraining-backward")   # runs before the run itself, in sub-folders


class CommandCheckpoints:
    """train's checkpoint options: the folder checked and locked for the run, --resume and
    --force, Ctrl-C and SIGTERM turned into a checkpoint and a stop. A run that first trains
    another model (train --pretrain-text) checkpoints that phase in a sub-folder of its
    own (PHASES), so that a resume goes on from wherever the run stopped."""

    def __init__(self, folder, resume, force):
        self.folder, self.resume, self.force = CheckpointFolder(folder), resume, force
        self.earlier = False                 # the folder holds an earlier run's checkpoints
        self.phases_run = []                 # the phases this run went through (start_phase)
        self.phase_went_on = False           # a resumed phase trained further: what follows it starts over
        self.replacing = []                  # folders whose earlier checkpoints the first new one replaces

    def _folders(self):
        return [self.folder, *(CheckpointFolder(os.path.join(self.folder.folder, name)) for name in PHASES)]

    @contextmanager
    def held(self):
        """The folder checked and locked (one run at a time; the lock file is beside it)."""
        self.folder.check()
        for folder in self._folders()[1:]:
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
        """start() for a phase before the run (one of PHASES: a pretraining), checkpointed in
        its sub-folder. False if that phase had finished: the trainer's model then holds the
        weights it ended with."""
        self.phases_run.append(name)
        folder = CheckpointFolder(os.path.join(self.folder.folder, name))
        return self._start(folder, trainer, signature, {}, where, f"the {name.replace('-', ' ')}")

    def _start(self, folder, trainer, signature, more_rngs, where, what):
        """start() in folder; what: the phase's name in messages (None: the run itself)."""
        checkpoints = RunCheckpoints(folder.folder, signature, more_rngs)
        checkpoints.after_first_save = lambda: self._replace_earlier(folder)
        if not self.resume:
            trainer.checkpoints = checkpoints
            return True
        if self.phase_went_on and folder.paths():          # (what follows a phase read its weights)
            print(f"the pretraining went on (--force), so {what or 'the fine-tuning'} starts over from its "
                  f"weights; the earlier checkpoints in {folder.folder} are replaced", file=sys.stderr)
            self.replacing = [folder]
            trainer.checkpoints = checkpoints
            return True
        try:
            restored = trainer.restore(checkpoints, self.force, lambda message: print(message, file=sys.stderr))
        except RunMismatch as error:
            raise TinyRNNError(f"--resume: {error}", remedy=error.remedy) from None
        if restored is None:
            if what is None and not self.phases_run:       # (held() saw checkpoints: a phase's)
                raise TinyRNNError(f"--resume: {self.folder.folder} holds only the checkpoints of a pretraining, "
                                   f"and this run pretrains nothing; give the run's --pretrain-text again")
            self.phase_went_on |= what is not None
            return True                      # stopped before this part began: it starts here
        path, differences = restored
        for name, saved, now in differences:
            print(f"warning: resuming despite a difference (--force): {name} {saved!r} -> {now!r}",
                  file=sys.stderr)
        if trainer.state.finished:
            print(f"nothing to train: the run checkpointed in {path} finished ({where(trainer.state)})"
                  if what is None else
                  f"{what} checkpointed in {path} had finished ({where(trainer.state)}): its weights are read back")
            return False
        print(f"resuming {what + ' ' if what else ''}from {path} ({where(trainer.state)})")
        self.phase_went_on |= what is not None
        return True

    def _replace_earlier(self, saved_in):
        """After a run that starts over (--force) writes its first checkpoint: the earlier
        checkpoints in the folders it replaces are removed (not before: a run refused at once
        loses nothing)."""
        replacing, self.replacing = self.replacing, []
        for folder in replacing:
            folder.remove_all(keep_newest=1 if folder.folder == saved_in.folder else 0)
            if folder is not self.folder and os.path.isdir(folder.folder) and not os.listdir(folder.folder):
                os.rmdir(folder.folder)


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
