"""A large batch on several cores: the rows of a batch never meet inside a recurrent layer,
so its time loop can run as independent loops over blocks of rows, one per thread. NumPy
lets go of the GIL inside its products and element-wise loops, and each block's products
are smaller ones of the same kind, so the blocks run side by side.

A block's rows give the numbers of the same rows in the whole batch (a row of a product
does not depend on the other rows; BLAS may round a product of fewer rows differently in
the last bit); the split depends only on the batch's shape and the number of threads, so a
run repeats bit for bit on the same machine.

TINYRNN_THREADS=N caps the threads (1: one loop, as written in recurrent.py); the default
is the cores this process may use.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

# One step's recurrent product must have at least this many multiply-adds per block, and a
# block at least MIN_ROWS rows: below that, handing work to a thread costs more than it saves
# (benchmarks/throughput.py, docs/benchmarks.md "Rows of a batch on two cores").
MIN_WORK = 1 << 20
MIN_ROWS = 8

_pool, _pool_pid, _lock = None, None, threading.Lock()


class ThreadsError(ValueError):
    """TINYRNN_THREADS is not a whole number of threads."""


def threads():
    """How many threads a layer's loop may use: TINYRNN_THREADS, else this process's cores."""
    given = os.environ.get("TINYRNN_THREADS", "").strip()
    if given:
        if not (given.isascii() and given.isdigit() and 1 <= int(given) <= 1024):
            raise ThreadsError(f"TINYRNN_THREADS={given[:20]!r}: give a whole number of threads from 1 to 1024")
        return int(given)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                              # (not on every platform)
        return os.cpu_count() or 1


def row_blocks(batch, work_per_row):
    """[slice, ...]: the batch's rows in contiguous blocks, one per thread; one block when the
    batch or a step's work (work_per_row multiply-adds a row) is too small to share."""
    count = min(threads(), batch // MIN_ROWS, batch * work_per_row // MIN_WORK)
    if count <= 1:
        return [slice(0, batch)]
    edges = [batch * k // count for k in range(count + 1)]
    return [slice(start, stop) for start, stop in zip(edges[:-1], edges[1:])]


def run_blocks(work, count):
    """work(k) for k in range(count): k = 0 on this thread, the others on the pool's threads;
    returns when all have finished (also when one raises, or on Ctrl-C: no thread is left
    writing into the arrays). An exception of any block is raised here."""
    if count == 1:
        work(0)
        return
    pool = _the_pool(count - 1)
    others = [pool.submit(work, k) for k in range(1, count)]
    try:
        work(0)
    finally:
        wait(others)
    for future in others:
        future.result()


def _the_pool(size):
    """The process's worker threads (made anew after a fork, which keeps no threads)."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < size:
            _pool, _pool_pid = ThreadPoolExecutor(size, thread_name_prefix="tinyrnn-rows"), os.getpid()
        return _pool
