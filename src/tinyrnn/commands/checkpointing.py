"""--checkpoint-dir, --checkpoint-every, --resume: the command line's side of checkpoints
(checkpoint.py has the files). Shared by both training commands."""
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from ..checkpoint import CheckpointFolder, restore_rng, rng_state
from ..errors import ModelFileError, Terminated, TinyRNNError
from ..files import OutputLock
from ..io import stored_config


class RunCheckpoints:
    """A run's checkpoint folder: saving every `every` epochs or steps (or every_minutes),
    restoring with --resume, and checkpointing at Ctrl-C / SIGTERM (asked for between two
    updates).

    signature: what must match for a resume to continue this run (model, recipe, seed,
    data fingerprint), a flat {name: JSON value}."""

    def __init__(self, folder, every, resume, force, signature):
        self.folder, self.resume, self.force = CheckpointFolder(folder), resume, force
        self.every, self.every_minutes = every                 # (N, None): every N epochs or steps
        self.signature, self.stop_signal = signature, None
        self.forced = False                  # --force let a resume go on despite differences
        self.replace_earlier = False         # --force without --resume: the first save removes them
        self.clock = time.perf_counter()

    @contextmanager
    def held(self):
        """The folder checked and locked (one run at a time; the lock file is beside it)."""
        self.folder.check()
        with OutputLock(self.folder.folder, "--checkpoint-dir"):
            if self.folder.paths() and not self.resume:
                if not self.force:
                    raise TinyRNNError(f"--checkpoint-dir {self.folder.folder} holds the checkpoints of an "
                                       f"earlier run; add --resume to continue it, or --force to start "
                                       f"over (they will be replaced)")
                self.replace_earlier = True
            yield self

    def save(self, model, optimizer, state, rngs):
        """Write a checkpoint of everything the run needs to go on."""
        tensors = {f"optimizer.{name}": array for name, array in optimizer.state_dict()["buffers"].items()}
        if getattr(state, "best_weights", None) is not None:
            tensors["best.weights"] = state.best_weights
        if getattr(state, "carry", None) is not None:
            tensors["carry.state"] = state.carry
        run = {"signature": self.signature, "state": state.to_json(), "optimizer_steps": optimizer.steps,
               "rngs": {name: rng_state(rng) for name, rng in rngs.items()}}
        path = self.folder.save(model, tensors, run, keep=1 if self.replace_earlier else None)
        self.replace_earlier = False
        return path

    def restore(self, model, optimizer, rngs, build_state):
        """With --resume: load the latest checkpoint into model, optimizer and rngs (in place);
        returns (build_state(state record, extra tensors), path), or None without --resume."""
        if not self.resume:
            return None
        found = self.folder.latest(lambda message: print(message, file=sys.stderr))
        if found is None:
            raise TinyRNNError(f"--resume: {self.folder.folder} has no checkpoint; run without "
                               f"--resume to start")
        path, saved_model, tensors, run = found
        if not (isinstance(run.get("signature"), dict) and isinstance(run.get("rngs"), dict)
                and isinstance(run.get("state"), dict)):
            raise ModelFileError(f"{path}: the run metadata is malformed")
        try:
            _check_same_model(saved_model, model, path)
            self._check_signature(run["signature"], path)
            model.flat[...] = saved_model.flat
            buffers = {name[len("optimizer."):]: array for name, array in tensors.items()
                       if name.startswith("optimizer.")}
            if any(array.shape != model.flat.shape for array in buffers.values()):
                raise ModelFileError(f"{path}: optimizer state does not fit the model")
            optimizer.load_state_dict({"steps": run["optimizer_steps"], "buffers": buffers})
            for name, rng in rngs.items():
                rng.bit_generator.state = restore_rng(run["rngs"][name], path).bit_generator.state
            return build_state(run["state"], tensors), path
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, TinyRNNError):
                raise
            raise ModelFileError(f"{path}: the run metadata is incomplete or malformed ({error})") from None

    def _check_signature(self, saved, path):
        differences = [f"{key} {saved.get(key)!r} -> {value!r}" for key, value in self.signature.items()
                       if saved.get(key) != value]
        differences += [f"{key} {value!r} -> (none)" for key, value in saved.items() if key not in self.signature]
        if differences and not self.force:
            raise TinyRNNError(f"--resume: this run differs from {path}: {'; '.join(differences[:3])}"
                               + (f" (and {len(differences) - 3} more)" if len(differences) > 3 else "")
                               + "; add --force to resume anyway")
        for difference in differences:
            print(f"warning: resuming despite a difference (--force): {difference}", file=sys.stderr)
        self.forced = bool(differences)

    def due(self, count):
        """After epoch or step `count`: is a checkpoint due (by count, or by the clock)?"""
        if self.every_minutes is not None:
            if time.perf_counter() - self.clock < 60 * self.every_minutes:
                return False
            self.clock = time.perf_counter()
            return True
        return count % self.every == 0

    def interrupt_if_asked(self, save):
        """Between two updates: after Ctrl-C or SIGTERM, save() a checkpoint and stop."""
        if self.stop_signal is None:
            return
        save()
        self._stop()

    def _stop(self):
        signum, self.stop_signal = self.stop_signal, None
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated()

    @contextmanager
    def deferred_signals(self):
        """While training: the first Ctrl-C or SIGTERM asks for a stop at the end of the update
        under way (so the checkpoint is consistent); a second one stops at once. One that came
        after the last update stops the run when training returns."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def ask(signum, frame):
            if self.stop_signal is not None:
                raise KeyboardInterrupt if signum == signal.SIGINT else Terminated()
            self.stop_signal = signum
        previous = {signum: signal.signal(signum, ask) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if self.stop_signal is not None:
            self._stop()


def _check_same_model(saved, model, path):
    """Even with --force, the weights can only continue in a model of the same task and shapes."""
    if saved.task != model.task or saved.dtype != model.dtype or saved.vocab.tokens != model.vocab.tokens \
            or {name: a.shape for name, a in saved.params.items()} != {name: a.shape for name, a in model.params.items()}:
        raise TinyRNNError(f"--resume: {path} holds another model ({saved!r}) than this run's "
                           f"({model!r}); it cannot continue with these options or data")


def signature(model, config, seed, data_fingerprint):
    """The flat {name: value} that a resume must match: model config, recipe, seed, data."""
    fields = {f"model.{key}": value for key, value in stored_config(model).items()}
    skip = ("log_every_seconds",)                         # changes no number
    fields.update({key: _plain(value) for key, value in vars(config).items() if key not in skip})
    fields.update(seed=seed, data=data_fingerprint)
    return fields


def _plain(value):
    """JSON's view of a value (tuples are lists), so saved and current compare equal."""
    return list(value) if isinstance(value, tuple) else value


@dataclass
class Run:
    """One training run: what the training loop updates in place (the model, the random
    generators, the state, the optimizer) and where it is checkpointed (or None)."""

    model: object
    rngs: dict                           # name -> numpy Generator
    state: object                        # train.TrainState or train_lm.LMState
    optimizer: object
    checkpoints: RunCheckpoints | None

    def resume(self, state_type, where):
        """With --resume, continue from the latest checkpoint (state_type.from_json rebuilds
        the state; where(state) says where it stands). False if that run had finished."""
        restored = self.checkpoints.restore(self.model, self.optimizer, self.rngs, state_type.from_json)
        if restored is None:
            return True
        self.state, path = restored
        self.state.finished &= not self.checkpoints.forced        # e.g. more epochs, by --force
        if self.state.finished:
            print(f"nothing to train: the run checkpointed in {path} finished ({where(self.state)})")
            return False
        print(f"resuming from {path} ({where(self.state)})")
        return True

    def checkpoint(self):
        return self.checkpoints.save(self.model, self.optimizer, self.state, self.rngs)


DEFAULT_EVERY = (None, 10.0)             # minutes: cheap for small epochs, little lost for large runs


def run_checkpoints(args):
    """The RunCheckpoints of train's options (None without --checkpoint-dir): --checkpoint-every
    N counts epochs (classifiers) or steps (language models); "Nm" means N minutes."""
    if not args.checkpoint_dir:
        for option in ("resume", "checkpoint_every"):
            if getattr(args, option):
                raise TinyRNNError(f"--{option.replace('_', '-')} needs --checkpoint-dir")
        return None
    every = args.checkpoint_every or DEFAULT_EVERY
    return RunCheckpoints(args.checkpoint_dir, every, args.resume, args.force, signature=None)
