"""A batch's rows in blocks on several threads (nn/parallel.py): the same numbers as one loop,
exact gradients, and no thread left running."""
import threading
import time

import numpy as np
import pytest
from test_cli import run

from tinyrnn.gradcheck import check_gradients, random_problem
from tinyrnn.nn import parallel

PROBLEMS = [dict(cell="rnn"), dict(cell="lstm", bidirectional=True), dict(cell="gru", num_layers=2, embed_size=3),
            dict(cell="lstm", task="lm"), dict(cell="gru", task="regress", features=2),
            dict(cell="lstm", task="seq2seq")]


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks for any batch, however small (the real thresholds keep them for large ones)."""
    monkeypatch.setattr(parallel, "MIN_WORK", 1)
    monkeypatch.setattr(parallel, "MIN_ROWS", 1)


def _loss_and_gradients(problem, threads, monkeypatch):
    """(loss, gradients, the block counts of the layers' loops) of one problem."""
    from tinyrnn.nn import recurrent
    counts = []

    def counted(work, count):
        counts.append(count)
        parallel.run_blocks(work, count)
    monkeypatch.setattr(recurrent, "run_blocks", counted)
    monkeypatch.setenv("TINYRNN_THREADS", str(threads))
    model, ids, mask, targets, h0 = random_problem(np.random.default_rng(3), batch=7, max_length=6, **problem)
    loss = model.loss_and_gradients(ids, mask, targets, h0) if h0 is not None else \
        model.loss_and_gradients(ids, mask, targets)
    return loss.loss, model.flat_grads.copy(), counts


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: "-".join(map(str, p.values())))
def test_blocks_of_rows_give_the_numbers_of_one_loop(small_blocks, monkeypatch, problem):
    loss_one, grads_one, blocks_one = _loss_and_gradients(problem, 1, monkeypatch)
    loss_three, grads_three, blocks_three = _loss_and_gradients(problem, 3, monkeypatch)
    assert blocks_one and set(blocks_one) == {1} and set(blocks_three) == {3}    # 7 rows: 2, 2 and 3
    assert abs(loss_one - loss_three) <= 1e-13 * abs(loss_one)
    np.testing.assert_allclose(grads_three, grads_one, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradients_in_blocks_match_finite_differences(small_blocks, monkeypatch, cell):
    monkeypatch.setenv("TINYRNN_THREADS", "2")
    model, ids, mask, targets, h0 = random_problem(np.random.default_rng(5), batch=6, max_length=5, cell=cell)
    assert not mask.all()
    for result in check_gradients(model, ids, mask, targets, h0):
        assert result.passed and result.relative_error < 1e-6, result


def test_blocks_split_a_batch_evenly_and_only_when_it_pays(monkeypatch):
    monkeypatch.setenv("TINYRNN_THREADS", "2")
    assert parallel.row_blocks(32, 4 * 256 * 256) == [slice(0, 16), slice(16, 32)]      # LSTM, H 256
    assert parallel.row_blocks(32, 64 * 64) == [slice(0, 32)]                         # rnn, H 64: too little
    assert parallel.row_blocks(1, 4 * 1024 * 1024) == [slice(0, 1)]                   # one row
    monkeypatch.setenv("TINYRNN_THREADS", "1")
    assert parallel.row_blocks(32, 4 * 1024 * 1024) == [slice(0, 32)]


def test_a_block_that_raises_is_raised_after_every_block_has_finished():
    finished = []

    def work(k):
        if k == 1:
            raise ValueError("block 1")
        time.sleep(0.05)
        finished.append(k)
    with pytest.raises(ValueError, match="block 1"):
        parallel.run_blocks(work, 3)
    assert sorted(finished) == [0, 2]

    def slow(k):
        time.sleep(0.1 if k else 0.0)
        finished.append(("slow", k))
    finished.clear()
    parallel.run_blocks(slow, 2)                           # block 0 returns at once; block 1 is waited for
    assert sorted(finished) == [("slow", 0), ("slow", 1)]
    assert all(thread.name.startswith("tinyrnn-rows") or thread is threading.main_thread()
               or not thread.name.startswith("tinyrnn") for thread in threading.enumerate())


@pytest.mark.parametrize("value", ["0", "x", "2.5", "-1", "99999"])
def test_a_bad_thread_count_is_one_line(tmp_path, capsys, monkeypatch, value):
    monkeypatch.setenv("TINYRNN_THREADS", value)
    status, out, err = run(capsys, "train", "--epochs", "1", "--out", tmp_path / "m.safetensors")
    assert status == 2 and err.count("\n") == 1 and "TINYRNN_THREADS" in err and out == ""
    assert not (tmp_path / "m.safetensors").exists()
