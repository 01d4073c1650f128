"""Saving and restoring a run: the model, the optimizer's buffers, the random generators
and the RunState, in the checkpoint files of checkpoint.py, so that a resumed run goes on
exactly as if it had never stopped."""
import dataclasses
import math

from ..checkpoint import CheckpointFolder, restore_rng, rng_state
from ..errors import ModelFileError, TinyRNNError
from ..io import stored_config
from .state import Record, RunState, possible_figure


class RunMismatch(TinyRNNError):
    """A checkpoint's run differs from the one asked for: differences [(name, saved, now)]."""

    def __init__(self, path, differences):
        shown = "; ".join(f"{name} {saved!r} -> {now!r}" for name, saved, now in differences[:3])
        more = f" (and {len(differences) - 3} more)" if len(differences) > 3 else ""
        super().__init__(f"this run differs from {path}: {shown}{more}", remedy="resume anyway")
        self.path, self.differences = path, differences


STATE_FORMAT = 2                         # the RunState's JSON form (1: before one loop served every task)


class RunCheckpoints:
    """A run's checkpoint folder. signature: what must match for a resume to continue this
    run (model, recipe, seed, data fingerprint), a flat {name: JSON value}; more_rngs: random
    generators besides the trainer's own that are saved and restored with it (such as the
    one that draws printed samples), {name: numpy Generator}."""

    def __init__(self, folder, signature, more_rngs=None):
        self.folder, self.signature, self.more_rngs = CheckpointFolder(folder), signature, more_rngs or {}
        self.after_first_save = None         # called once, after the first checkpoint is written

    def _rngs(self, trainer):
        return {**({"train": trainer.rng} if trainer.rng is not None else {}), **self.more_rngs}

    def save(self, trainer):
        """Write a checkpoint of everything the trainer's run needs to go on; its path."""
        buffers = trainer.optimizer.state_dict()["buffers"]
        tensors = {**{f"optimizer.{name}": array for name, array in buffers.items()}, **trainer.state.tensors()}
        run = {"signature": self.signature, "state_format": STATE_FORMAT, "state": trainer.state.to_json(),
               "optimizer_steps": trainer.optimizer.steps,
               "rngs": {name: rng_state(rng) for name, rng in self._rngs(trainer).items()}}
        path = self.folder.save(trainer.model, tensors, run)
        if self.after_first_save is not None:
            self.after_first_save, after = None, self.after_first_save
            after()
        return path

    def restore(self, trainer, allow_differences=False, warn=print):
        """Load the latest checkpoint into the trainer's model, optimizer and generators (in
        place); returns (RunState, path, differences), or None when the folder has none. A
        checkpoint of another run is a RunMismatch unless allow_differences; one of another
        model (task, dtype, vocabulary, shapes) is an error whatever it allows. Use
        Trainer.restore, which also puts the state in place."""
        model, optimizer = trainer.model, trainer.optimizer
        found = self.folder.latest(warn)
        if found is None:
            return None
        path, saved_model, tensors, run = found
        if not (isinstance(run.get("signature"), dict) and isinstance(run.get("rngs"), dict)
                and isinstance(run.get("state"), dict)):
            raise ModelFileError(f"{path}: the run metadata is malformed")
        found_format = run.get("state_format")
        if found_format is not None and type(found_format) is not int:     # (None: before the format had a number)
            raise ModelFileError(f"{path}: the run metadata's state_format is {str(found_format)[:20]!r}, "
                                 f"not a version number")
        if found_format != STATE_FORMAT:
            later = found_format is not None and found_format > STATE_FORMAT
            raise ModelFileError(f"{path}: a checkpoint of {'a later' if later else 'an earlier'} version of "
                                 f"tinyrnn (run format {str(found_format)[:20]}, this version reads "
                                 f"{STATE_FORMAT}), whose run cannot continue here"
                                 + ("; upgrade tinyrnn" if later else "; train it anew"))
        try:
            _check_same_model(saved_model, model, path)
            differences = _differences(run["signature"], self.signature)
            if differences and not allow_differences:
                raise RunMismatch(path, differences)
            model.flat[...] = saved_model.flat
            buffers = {name[len("optimizer."):]: array for name, array in tensors.items()
                       if name.startswith("optimizer.")}
            if any(array.shape != model.flat.shape for array in buffers.values()):
                raise ModelFileError(f"{path}: optimizer state does not fit the model")
            optimizer.load_state_dict({"steps": run["optimizer_steps"], "buffers": buffers})
            rngs = self._rngs(trainer)
            if set(run["rngs"]) != set(rngs):
                raise ModelFileError(f"{path}: the run metadata is incomplete or malformed (random generators "
                                     f"{', '.join(sorted(map(str, run['rngs'])))[:100]}; this run has "
                                     f"{', '.join(sorted(rngs))})")
            for name, rng in rngs.items():
                rng.bit_generator.state = restore_rng(run["rngs"][name], path).bit_generator.state
            _check_possible(run, tensors, model, path)
            return RunState.from_json(run["state"], tensors), path, differences
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
            if isinstance(error, TinyRNNError):
                raise
            raise ModelFileError(f"{path}: the run metadata is incomplete or malformed ({error})") from None


_COUNTS = ("epoch", "batch", "steps", "seen", "records_without_improvement")
_RUN_KEYS = {"signature", "state_format", "state", "optimizer_steps", "rngs"}
_RECORD_FIELDS = {field.name for field in dataclasses.fields(Record)}


def _check_possible(run, tensors, model, path):
    """A run record that could not have been written (edited by hand: a negative epoch, more
    updates in the pass than in the run, best weights of another size) is refused in one line
    (a ModelFileError) instead of failing later in training. Types are RunState.from_json's."""
    state = run["state"]

    def refuse(what):
        raise ModelFileError(f"{path}: the run metadata is incomplete or malformed ({what})")
    extra = sorted(set(run) - _RUN_KEYS) + sorted(set(state) - set(RunState._SAVED))
    if extra:
        refuse(f"{str(extra[0])[:40]!r} is not a run's")
    for name in _COUNTS:
        if type(state.get(name)) is int and state[name] < 0:
            refuse(f"{name} is {state[name]}")
    if type(run.get("optimizer_steps")) is not int or run["optimizer_steps"] < 0:
        refuse(f"optimizer_steps is {run.get('optimizer_steps')!r}")
    if type(state.get("steps")) is int and run["optimizer_steps"] != state["steps"]:   # one step an update
        refuse(f"optimizer_steps {run['optimizer_steps']} of {state['steps']} updates")
    if type(state.get("steps")) is int and state["steps"] > 2 ** 53:
        refuse(f"steps is {state['steps']}")
    if isinstance(state.get("best_score"), list) and not state["best_score"]:
        refuse("best_score is empty")
    counts = [state.get(name) for name in ("epoch", "batch", "steps")]
    if all(type(count) is int for count in counts):
        epoch, batch, steps = counts
        if batch > steps or epoch > steps + 1 or (epoch == 0 and batch):
            refuse(f"epoch {epoch}, update {batch} of its pass, {steps} updates in all")
    for name in ("train_seconds", "wall_seconds"):
        value = state.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not (math.isfinite(value) and value >= 0):
            refuse(f"{name} is {value!r}")
    first_loss = state.get("first_loss")
    if isinstance(first_loss, (int, float)) and not isinstance(first_loss, bool) \
            and not (math.isfinite(first_loss) and first_loss > 0):
        refuse(f"first_loss is {first_loss!r}")             # the divergence guard's reference
    best_score = state.get("best_score")
    if isinstance(best_score, list) and not all(_score(value) for value in best_score):
        refuse(f"best_score is {best_score!r}")
    running = state.get("running")
    if isinstance(running, dict) and not all(isinstance(value, (int, float)) and not isinstance(value, bool)
                                             and math.isfinite(value) for value in running.values()):
        refuse("the running sums are not finite numbers")
    sums = {"loss", "count", "correct"} if model.task in ("classify", "seq2seq") else {"loss", "count"}
    if isinstance(running, dict) and running and not (set(running) == sums and running["count"] > 0):
        refuse(f"the running sums are not {', '.join(sorted(sums))} with a positive count")
    history = state.get("history")
    if isinstance(history, list):
        for stats in history:
            _check_record(stats, refuse)
        points = [(stats["epoch"], stats["step"]) for stats in history]
        if any(not (a[0] <= b[0] and a[1] <= b[1] and a != b) for a, b in zip(points, points[1:])) or \
                (points and type(state.get("steps")) is int and points[-1][1] > state["steps"]) or \
                (points and type(state.get("epoch")) is int and points[-1][0] > state["epoch"]):
            refuse("the history's records are not in the order a run makes them")
        waited = state.get("records_without_improvement")
        if type(waited) is int and waited > len(history):
            refuse(f"records_without_improvement is {waited} of {len(history)} records")
        best = state.get("best_record")
        if type(best) is int and not 0 <= best < len(history):
            refuse(f"best_record is {best} of {len(history)} records")
        if len({stats["valid"] is None for stats in history}) > 1 or \
                any(stats["best"] and stats["valid"] is None for stats in history):
            refuse("some history records have validation figures and others not")
    if state.get("epoch_rng") is not None:
        restore_rng(state["epoch_rng"], path)
    best_weights = tensors.get("best.weights")
    if best_weights is not None and best_weights.shape != model.flat.shape:
        refuse(f"best.weights holds {best_weights.size} numbers, the model {model.flat.size}")


def _score(value):
    """A validation score as to_json writes it: a finite number, or "-inf" (none yet)."""
    if isinstance(value, str):
        return value == "-inf"
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_record(stats, refuse):
    """One Record of the history, as to_json wrote it."""
    if not (isinstance(stats, dict) and set(stats) == _RECORD_FIELDS):
        refuse("a history record has other fields than a record's")
    for name in ("epoch", "step", "seen"):
        if type(stats[name]) is not int or stats[name] < 0:
            refuse(f"a history record's {name} is {stats[name]!r}")
    if not (isinstance(stats["train"], dict) and all(isinstance(stats[name], (dict, type(None)))
                                                     for name in ("valid", "test"))):
        refuse("a history record's figures are not objects")
    for name in ("train", "valid", "test"):          # the training's figures (numbers) and maybe more
        figures = stats[name]
        if figures is not None and not ("loss" in figures and set(stats["train"]) <= set(figures) and all(
                (isinstance(value, (int, float)) and not isinstance(value, bool) and possible_figure(key, value))
                or (value is None and key not in stats["train"]) for key, value in figures.items())):
            refuse(f"a history record's {name} figures are not a run's")
    if not all(type(stats[name]) is bool for name in ("best", "logged", "target_reached", "stopped_early")):
        refuse("a history record's flags are not true or false")


LATER = {"schedule": "constant", "warmup": 0.1, "lr_layer_decay": 1.0, "unfreeze_every": None,   # settings
         "engine": "numpy", "forget_bias": 0.0, "season": 1}
# added after the first checkpoints: left out at their defaults, so those checkpoints still resume


def run_signature(model, config, task, seed, data_fingerprint):
    """The flat {name: value} that a resume must match: model config, recipe, the task's
    settings, seed, data."""
    fields = {f"model.{key}": value for key, value in stored_config(model).items()}
    skip = ("log_every_seconds", "checkpoint_every", "checkpoint_minutes")      # they change no number
    fields.update({key: _plain(value) for key, value in vars(config).items()
                   if key not in skip and not (key in LATER and value == LATER[key])})
    fields.update({key: _plain(value) for key, value in task.settings().items()})
    if getattr(model, "origin", None):                  # where a fine-tuned model's body came from
        fields["model.origin"] = dict(model.origin)
    for key, value in (getattr(model, "initialized", None) or {}).items():   # how new weights were drawn
        if not (key in LATER and value == LATER[key]):
            fields[key] = value
    if model._uses_compiled_step():                  # (a batch of one sentence runs compiled, rounding
        fields["engine"] = "compiled"                   # otherwise than NumPy: nn/compiled.py)
    fields.update(seed=seed, data=data_fingerprint)
    return fields


def _differences(saved, current):
    """[(name, saved value, current value)] where the signatures differ ("(none)": missing)."""
    differences = [(key, saved.get(key, LATER.get(key)), value) for key, value in current.items()
                   if saved.get(key, LATER.get(key)) != value]
    return differences + [(key, value, LATER.get(key, "(none)")) for key, value in saved.items() if key not in current]


def _check_same_model(saved, model, path):
    """The weights can only continue in a model of the same task and shapes."""
    if saved.task != model.task or saved.dtype != model.dtype or _inputs(saved) != _inputs(model) \
            or {name: a.shape for name, a in saved.params.items()} != {name: a.shape for name, a in model.params.items()}:
        raise TinyRNNError(f"{path} holds another model ({saved!r}) than this run's ({model!r}); it cannot "
                           f"continue with these options or data")


def _plain(value):
    """JSON's view of a value (tuples are lists), so saved and current compare equal."""
    return list(value) if isinstance(value, tuple) else value


def _inputs(model):
    """What a model reads: its vocabulary's tokens, or its numeric features' names."""
    return model.feature_names if model.config.features else model.vocab.tokens
