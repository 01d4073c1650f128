"""The walkthrough's sentiment task written in PyTorch, for side-by-side benchmarks.

Same model as tinyrnn's Classifier: one-hot words -> nn.RNN (tanh) -> nn.Linear on the
last real state; cross-entropy loss.
"""
from tinyrnn.data import default_dataset, load_dataset
from tinyrnn.models import Classifier
from tinyrnn.tasks import encode_examples
from tinyrnn.vocab import Vocab, tokenize


def task(train_path=None, test_path=None):
    """(vocab, classes, train Dataset, test Dataset): the embedded data unless paths are given."""
    if train_path:
        train_set, test_set = load_dataset(train_path), load_dataset(test_path)
    else:
        train_set, test_set = default_dataset()
    vocab = Vocab.build(tokenize(text) for text in train_set.texts)
    return vocab, sorted(set(train_set.labels)), train_set, test_set


def encoded(vocab, classes, dataset, hidden=8):
    """LabelledSequences of a dataset for a model with this vocab and classes."""
    return encode_examples(Classifier(vocab, classes, hidden), dataset)[0]


class TorchClassifier:
    """nn.RNN over one-hot inputs, Linear on the final real state."""

    def __init__(self, torch, vocab_size, classes, hidden, dtype, init_scale=None):
        self.torch, self.V = torch, vocab_size
        tdtype = getattr(torch, dtype)
        self.rnn = torch.nn.RNN(vocab_size, hidden, batch_first=True).to(tdtype)
        self.head = torch.nn.Linear(hidden, classes).to(tdtype)
        self.dtype = tdtype
        if init_scale is not None:               # the walkthrough's normal / 1000, zero biases
            with torch.no_grad():
                for name, p in [*self.rnn.named_parameters(), *self.head.named_parameters()]:
                    p.copy_(torch.randn_like(p) * init_scale if "weight" in name else torch.zeros_like(p))

    def parameters(self):
        return [*self.rnn.parameters(), *self.head.parameters()]

    def batch(self, data, rows):
        """(one-hot inputs (B, T, V), last positions (B,), targets (B,)) for rows of data."""
        torch = self.torch
        lengths = [len(data.sequences[i]) for i in rows]
        onehot = torch.zeros(len(rows), max(lengths), self.V, dtype=self.dtype)
        for b, i in enumerate(rows):
            onehot[b, torch.arange(lengths[b]), torch.from_numpy(data.sequences[i])] = 1
        last = torch.tensor(lengths) - 1
        return onehot, last, torch.from_numpy(data.targets[list(rows)])

    def logits(self, onehot, last):
        outputs, _ = self.rnn(onehot)                                   # (B, T, H)
        return self.head(outputs[self.torch.arange(len(last)), last])   # padding comes after

    def accuracy(self, batch):
        with self.torch.no_grad():
            onehot, last, targets = batch
            return float((self.logits(onehot, last).argmax(1) == targets).double().mean())
