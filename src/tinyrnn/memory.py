"""Will a training run fit in memory? Checked before it starts: on Linux a run that does not
fit is not refused by the allocator (it promises more than it has) but killed by the kernel,
without a word, once it touches the memory. Training holds several copies of the weights:

    the weights, their gradients, the optimizer's buffers (SGD 1, with momentum 2; Adagrad and
    RMSprop 2; Adam 3), the weight average and the best weights when kept, and the file being
    saved (its bytes are made in memory before they are written)
"""
from .errors import ConfigError

_OPTIMIZER_BUFFERS = {"sgd": 1, "adagrad": 2, "rmsprop": 2, "adam": 3}


def available_bytes():
    """The memory a new allocation can have without swapping (MemAvailable, and the control
    group's limit less its use, where there is one), or None where neither can be read."""
    figures = []
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    figures.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit) as limit_file, open(usage) as usage_file:
                figures.append(int(limit_file.read()) - int(usage_file.read()))
        except (OSError, ValueError):                    # (none, or "max": no limit)
            pass
    return min(figures) if figures else None


def training_copies(optimizer_name, momentum=0.0, average=False, keep_best=False):
    """How many arrays the size of the weights a run holds besides the weights themselves."""
    buffers = _OPTIMIZER_BUFFERS.get(optimizer_name, 3) + (optimizer_name == "sgd" and momentum > 0)
    return 1 + buffers + bool(average) + bool(keep_best) + 1     # gradients, optimizer, average, best, file


LEAST_COPIES = training_copies("sgd")   # any run: gradients, one optimizer buffer, the saved file (each
                                        # batch's work, small beside them for a model this large, is not counted)


def check_fits(weight_bytes, copies, resident, available=None):
    """A ConfigError, naming the sizes, if the weights (weight_bytes; resident: already in
    memory, so counted in the memory used) and copies more arrays of their size cannot fit in
    the memory available."""
    available = available_bytes() if available is None else available
    needed = weight_bytes * (copies if resident else copies + 1)
    if available is not None and needed > available:
        held = weight_bytes if resident else 0
        raise ConfigError(f"training this model needs about {_gigabytes(weight_bytes * (copies + 1))} of memory "
                          f"({_gigabytes(weight_bytes)} of weights, {copies + 1} times over: gradients, optimizer, "
                          f"saved file); {_gigabytes(available + held)} is free", remedy="smaller model")


def _gigabytes(count):
    return f"{count / 2 ** 30:.1f} GB" if count >= 2 ** 30 else f"{count / 2 ** 20:.0f} MB"
