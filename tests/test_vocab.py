"""Tokenizer normalisation and the sorted vocabulary."""
import subprocess
import sys

import numpy as np

from tinyrnn.vocab import PAD_ID, UNK_ID, Vocab, pad_batch, tokenize


def test_tokenize_normalises_case_unicode_and_punctuation():
    assert tokenize("I am NOT happy!") == ["i", "am", "not", "happy", "!"]
    assert tokenize("don't  stop") == ["don't", "stop"]
    assert tokenize("cafe\u0301") == tokenize("caf\u00e9") == ["caf\u00e9"]    # combining accent
    assert tokenize("ｈａｐｐｙ") == ["happy"]                                  # NFKC width folding
    assert tokenize("good\x00bad\rsad") == ["good", "bad", "sad"]              # control chars split
    assert tokenize("so good 😀") == ["so", "good", "😀"]
    assert tokenize(" \t\n") == []


def test_vocab_is_sorted_with_specials_first():
    vocab = Vocab.build([["very", "good"], ["not", "good", "at", "all"]])
    assert vocab.tokens == ["<pad>", "<unk>", "all", "at", "good", "not", "very"]
    ids, unknown = vocab.encode(["not", "very", "awful"])
    assert ids.tolist() == [5, 6, UNK_ID] and unknown == ["awful"]
    assert vocab.decode(ids) == ["not", "very", "<unk>"]


def test_vocab_order_does_not_depend_on_hash_seed():
    code = ("from tinyrnn.vocab import Vocab, tokenize;"
            "print(Vocab.build([tokenize('i am not at all happy this was good or bad')]).tokens)")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={"PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outputs) == 1 and "happy" in outputs.pop()


def test_pad_batch():
    ids, mask = pad_batch([np.array([4, 5, 6]), np.array([7])])
    assert ids.tolist() == [[4, 5, 6], [7, PAD_ID, PAD_ID]]
    assert mask.tolist() == [[True, True, True], [True, False, False]]
