"""The one training loop, for every task:

    for each pass (epoch) over the task's batches:
        batch -> model.loss_and_gradients -> clip -> update (-> weight average)
        -> progress -> [an evaluation point: validation, keep-best, early stop, test, log]
        -> checkpoint when due -> stop when asked (Ctrl-C / SIGTERM) or when a limit is reached
    the divergence guard watches every loss and the weights before anything is saved.

A task (tasks/) supplies only what differs: how its data is cut into batches, how a batch
is read, what validation measures and which value is better. Evaluation points come at each
epoch's end for tasks counted in epochs, at log points for those counted in steps (a
language model's stream). The library prints nothing: a listener hears of each update
(on_update(Progress)), each evaluation point (on_record(Record)) and each checkpoint.
"""
import time

import numpy as np

from ..errors import NotFiniteError, Terminated
from ..guard import DivergenceGuard, guarded
from .config import make_optimizer, make_update
from .schedule import LayerRates, schedule_factor
from .state import Progress, Record, RunState

LIMITS = ("epochs", "steps", "minutes", "target_accuracy", "early_stop")   # what ends a run


class Listener:
    """What a caller hears of a run; every method may be left out."""

    def on_update(self, progress):
        pass

    def on_record(self, record):
        pass

    def on_checkpoint(self, path):
        pass


class Trainer:
    """A run of `task` on `model` (trained in place) under `config`, drawing from `rng`
    (batch order, dropout). state, optimizer: a run to continue (restored from a checkpoint,
    with rng); checkpoints: a training.checkpoints.RunCheckpoints, or None."""

    def __init__(self, model, task, config, rng, *, state=None, optimizer=None, listener=None, checkpoints=None):
        config.validate()
        task.prepare(config)
        self.model, self.task, self.config, self.rng = model, task, config, rng
        self.state = state if state is not None else RunState()
        self.optimizer = optimizer or make_optimizer(config)
        self.update = make_update(model, config, self.optimizer)
        self.layers = LayerRates(model, config.lr_layer_decay, config.unfreeze_every) \
            if config.lr_layer_decay != 1.0 or config.unfreeze_every else None
        self.guard = DivergenceGuard(model, self.state, task.loss_reference(model))
        self.listener = listener or Listener()
        self.checkpoints = checkpoints
        self.stop_signal = None              # set by a signal handler: checkpoint and stop
        self.eval_seconds = 0.0

    @guarded
    def run(self):
        """Train until a limit or a stop rule; returns the history of Records. The model ends
        with the final weights (see final_weights)."""
        state, config = self.state, self.config
        finished_before = state.finished
        self.started = time.perf_counter() - state.wall_seconds
        self.checkpoint_clock = time.perf_counter()
        while not state.finished and not self._done():
            if state.batch == 0:
                if config.epochs is not None and state.epoch >= config.epochs:
                    break
                state.epoch, state.carry = state.epoch + 1, None
                state.epoch_rng = self.rng.bit_generator.state if self.rng is not None else None
                batches = self.task.epoch_batches(config, self.rng)
            else:                                # resumed within a pass: its order drawn again
                if config.epochs is not None and state.epoch > config.epochs:
                    break                        # (a forced resume with fewer epochs than it had begun)
                batches = self.task.epoch_batches(config, _generator(state.epoch_rng))
            planned = self._planned_updates(len(batches))
            for item in batches[state.batch:]:
                self._set_rates(planned)
                self._step(item, len(batches))
                if self._done():
                    break
            if state.batch >= len(batches):        # (beyond: a resumed run whose batches are now fewer)
                state.batch = 0
                if self.task.unit == "epoch" and state.running.get("count"):
                    self._evaluation_point()
        if state.running.get("count"):           # stopped between two evaluation points
            self._evaluation_point(last=True)
        elif state.history and not state.history[-1].logged and not finished_before:
            self._log_last_record()              # the limit came while an epoch's end was evaluated
        state.finished = True
        if self.checkpoints is not None and not finished_before:
            self._checkpoint()
        self.model.flat[...] = self.final_weights()
        return state.history

    def restore(self, checkpoints, allow_differences=False, warn=print):
        """Continue the run saved in checkpoints (a RunCheckpoints, which then keeps saving
        this run): its model, optimizer, generators and state. Returns (path, differences),
        or None when there is no checkpoint. With differences allowed, a run that had finished
        goes on when one of its LIMITS changed (such as more epochs)."""
        restored = checkpoints.restore(self, allow_differences, warn)
        self.checkpoints = checkpoints
        if restored is None:
            return None
        state, path, differences = restored
        state.finished &= not any(name in LIMITS for name, _, _ in differences)   # goes on past a new limit
        self.state = self.guard.state = state
        return path, differences

    def final_weights(self):
        """The weights a run ends with: the best validation's (keep_best), else the weight
        average (ema), else the last."""
        if self.config.keep_best and self.state.best_weights is not None:
            return self.state.best_weights
        return self.optimizer.average if self.optimizer.average is not None else self.model.flat

    def _planned_updates(self, batches):
        """T, the updates the run plans (a schedule's length): its steps, or its epochs of
        `batches` updates, whichever ends first (None when only minutes bound it)."""
        config = self.config
        totals = [n for n in (config.steps, config.epochs and config.epochs * batches) if n]
        return min(totals, default=None)

    def _set_rates(self, planned):
        """The learning rate of the next update (decay per epoch, schedule per update) and the
        rate and freezing of each layer (schedule.py)."""
        config, state = self.config, self.state
        self.optimizer.lr = config.base_lr * config.lr_decay ** (state.epoch - 1) * \
            schedule_factor(config.schedule, state.steps, planned, config.warmup)
        if self.layers is not None:
            unit = state.steps if self.task.unit == "step" else state.epoch
            self.update.frozen, self.optimizer.scales = self.layers.plan(self.layers.unfrozen(unit, self.task.unit == "step"))

    def _step(self, item, batches):
        """One update on the task's batch `item`."""
        state, task = self.state, self.task
        started = time.perf_counter()
        batch = task.batch(item, self.rng)
        carry = state.carry if task.carries_state else None
        result = self.model.loss_and_gradients(batch.ids, batch.mask, batch.targets, carry, self.rng,
                                               **batch.options)
        self.guard.check_step(result.loss, self._where, self.optimizer.lr)
        self.update()
        if task.carries_state:
            state.carry = result.final_state         # a constant for the next batch
        running = state.running
        task.tally(running, batch, result)
        state.batch, state.steps, state.seen = state.batch + 1, state.steps + 1, state.seen + batch.count
        self.guard.check_running_mean(running["loss"] / running["count"], self._where_mean, self.optimizer.lr)
        now = time.perf_counter()
        state.train_seconds += now - started         # the step, evaluation and listener excluded
        state.wall_seconds = now - self.started
        progress = Progress(state.epoch, state.batch, batches, state.steps, state.train_seconds, running, task)
        if task.unit == "step" and self._log_point_due():
            self._evaluation_point()
            state.wall_seconds = time.perf_counter() - self.started
        progress.due = task.unit == "epoch" and state.batch < batches and state.log_due(self.config.log_every_seconds)
        self.listener.on_update(progress)
        if self.stop_signal is not None:
            self._interrupt()
        if task.unit == "step" and self._checkpoint_due(state.steps) and not self._done():
            self._checkpoint()

    def _log_point_due(self):
        every = self.config.log_every
        return bool(every and self.state.steps % every == 0) or self._done() \
            or self.state.log_due(self.config.log_every_seconds)

    def _evaluation_point(self, last=False):
        """Validation, keep-best and early stop; the test set where it is reported; a Record."""
        state, config, task = self.state, self.config, self.task
        train = task.means(state.running)
        self.guard.check_mean(train["loss"], self._where(mean=True), self.optimizer.lr)
        record = Record(state.epoch, state.steps, state.seen, state.train_seconds, train)
        count = state.epoch if task.unit == "epoch" else state.steps
        final = last or self._done() or (task.unit == "epoch" and count == config.epochs)   # no more after it
        logged = bool(config.log_every and count % config.log_every == 0) or final or task.unit == "step"
        timed = state.log_due(config.log_every_seconds)      # (restarts the clock when due)
        logged = logged or timed
        with self.optimizer.averaged(self.model.flat):       # what is measured and heard: the average
            started = time.perf_counter()
            if task.valid is not None:
                record.valid = self._evaluate(task.valid)
                record.best = state.observe(task.score(record.valid), self.model.flat if config.keep_best else None)
                if config.early_stop and state.records_without_improvement >= config.early_stop:
                    logged = record.stopped_early = True
            if task.test is not None and (logged or config.target_accuracy is not None):
                record.test = self._evaluate(task.test)
                if config.target_accuracy is not None and task.reaches(record.test, config.target_accuracy):
                    logged = record.target_reached = True
            self.eval_seconds = time.perf_counter() - started
            if logged:
                state.last_log = time.perf_counter()     # the next timed log point counts from here
            record.logged = logged
            state.history.append(record)
            state.running = {}
            state.finished = record.stopped_early or record.target_reached
            self.listener.on_record(record)
        if task.unit == "epoch" and self._checkpoint_due(count) and not (final or self._done()):
            self._checkpoint()

    def _evaluate(self, data):
        """The task's figures on data; outputs that are not finite numbers mean the run diverged."""
        try:
            return self.task.evaluate(self.model, data)
        except NotFiniteError:
            self.guard.outputs_not_finite(self._where(mean=True), self.optimizer.lr)

    def _log_last_record(self):
        """Log the last evaluation point, which was not due when it came: the run stopped right
        after it (a limit of minutes reached during its evaluation), so its weights are the ones
        saved and its figures the run's last word (the test set measured as at any log point)."""
        record, task = self.state.history[-1], self.task
        with self.optimizer.averaged(self.model.flat):
            if task.test is not None and record.test is None:
                record.test = self._evaluate(task.test)
            record.logged = True
            self.listener.on_record(record)

    def _done(self):
        """A limit of steps or wall-clock minutes (keeping room for one more evaluation), or a
        stop rule."""
        config, state = self.config, self.state
        return state.finished or (config.steps is not None and state.steps >= config.steps) or \
            (config.minutes is not None and time.perf_counter() - self.started + self.eval_seconds >= config.minutes * 60)

    def _where_mean(self):
        return self._where(mean=True)

    def _where(self, mean=False):
        state = self.state
        if self.task.unit == "step":
            return f"step {state.steps + (not mean)} (epoch {state.epoch})"
        return f"epoch {state.epoch}" if mean else f"epoch {state.epoch}, step {state.batch + 1}"

    def _checkpoint_due(self, count):
        if self.checkpoints is None:
            return False
        if self.config.checkpoint_minutes is not None:
            if time.perf_counter() - self.checkpoint_clock < 60 * self.config.checkpoint_minutes:
                return False
            self.checkpoint_clock = time.perf_counter()
            return True
        return bool(self.config.checkpoint_every) and count % self.config.checkpoint_every == 0

    def _checkpoint(self):
        """Save the run, after the guard has seen that nothing in it has gone wrong."""
        if self.state.running.get("count"):
            self.guard.check_mean(self.task.means(self.state.running)["loss"], self._where(mean=True),
                                  self.optimizer.lr)
        path = self.checkpoints.save(self)
        self.listener.on_checkpoint(path)
        return path

    def _interrupt(self):
        """After Ctrl-C, SIGTERM or SIGHUP (between two updates): checkpoint, then stop."""
        signum, self.stop_signal = self.stop_signal, None
        if self.checkpoints is not None:
            self._checkpoint()
        raise Terminated.stop(signum)


def _generator(saved_state):
    """A numpy Generator continuing from a saved bit-generator state (None: no generator)."""
    if saved_state is None:
        return None
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = saved_state
    return rng
