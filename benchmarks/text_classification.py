"""Real-text classification side by side: tinyrnn's `--preset text` model and the same
network in PyTorch, on one stratified split of a labelled dataset (default: MR).

Both get the same data, vocabulary (words seen twice or more), architecture (embedding 128
with dropout 0.3, bidirectional GRU with hidden 64, mean of the states over the words,
dropout 0.5, linear layer), optimizer (Adam lr 0.001, batches of 50, gradient norm clipped
to 5) and number of epochs; no early stopping, so the per-epoch test accuracy and the
seconds per epoch compare directly. Both use 2 threads.

    python benchmarks/text_classification.py --data-dir ../shared/data/mr-polarity [--epochs 10] [--json]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import emit, load_torch  # noqa: E402

import tinyrnn  # noqa: E402
from tinyrnn.data.split import stratified_split  # noqa: E402
from tinyrnn.tasks import encode_examples, train  # noqa: E402
from tinyrnn.training import TrainConfig  # noqa: E402
from tinyrnn.vocab import pad_batch  # noqa: E402

E, H, BATCH, LR = 128, 64, 50, 0.001


def load(data_dir):
    specs = [f"pos={os.path.join(data_dir, 'rt-polarity.pos')}", f"neg={os.path.join(data_dir, 'rt-polarity.neg')}"]
    dataset = tinyrnn.load_dataset(specs, encoding="latin-1")
    train_rows, test_rows = stratified_split(dataset.labels, 0.1, np.random.default_rng(0))
    return dataset.subset(train_rows), dataset.subset(test_rows)


def tinyrnn_run(train_set, test_set, epochs):
    """(per-epoch rows, the encoded data for PyTorch): tinyrnn's run."""
    vocab = tinyrnn.Vocab.build((tinyrnn.tokenize(t) for t in train_set.texts), min_count=2)
    model = tinyrnn.Classifier(vocab, sorted(set(train_set.labels)), H, "gru", "float32", bidirectional=True,
                               embed_size=E, embed_dropout=0.3, dropout=0.5, pool="mean")
    rng = np.random.default_rng(0)
    model.initialize(rng, "orthogonal")
    train_data, _ = encode_examples(model, train_set)
    test_data, _ = encode_examples(model, test_set)
    config = TrainConfig(epochs=epochs, lr=LR, optimizer="adam", batch_size=BATCH, clip_value=None,
                         clip_norm=5.0, log_every=1, log_every_seconds=None)
    history = train(model, train_data, config, rng, test_data)
    seconds = np.diff([0.0] + [stats.train_seconds for stats in history])
    rows = [{"epoch": s.epoch, "tinyrnn_accuracy": s.test_accuracy, "tinyrnn_seconds": float(t)}
            for s, t in zip(history, seconds)]
    return rows, train_data, test_data, len(vocab)


def torch_run(torch, train_data, test_data, vocab_size, epochs):
    """Per-epoch (test accuracy, training seconds) of the same network in PyTorch."""
    torch.manual_seed(0)
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding, self.rnn = nn.Embedding(vocab_size, E), nn.GRU(E, H, batch_first=True, bidirectional=True)
            self.fc, self.drop_in, self.drop_out = nn.Linear(2 * H, 2), nn.Dropout(0.3), nn.Dropout(0.5)

        def forward(self, ids, mask):
            lengths = mask.sum(1)
            packed = nn.utils.rnn.pack_padded_sequence(self.drop_in(self.embedding(ids)), lengths,
                                                       batch_first=True, enforce_sorted=False)
            outputs, _ = nn.utils.rnn.pad_packed_sequence(self.rnn(packed)[0], batch_first=True)
            pooled = outputs.sum(1) / lengths.unsqueeze(1).float()      # padding comes back as zeros
            return self.fc(self.drop_out(pooled))

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    rng, results = np.random.default_rng(0), []

    def batch(data, rows):
        ids, mask = pad_batch([data.sequences[i] for i in rows])
        return torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(data.targets[rows])
    for _ in range(epochs):
        net.train()
        started = time.perf_counter()
        for rows in np.array_split(rng.permutation(len(train_data)), -(-len(train_data) // BATCH)):
            ids, mask, targets = batch(train_data, rows)
            loss = nn.functional.cross_entropy(net(ids, mask), targets)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            optimizer.step()
        seconds = time.perf_counter() - started
        net.eval()
        with torch.no_grad():
            ids, mask, targets = batch(test_data, np.arange(len(test_data)))
            accuracy = float((net(ids, mask).argmax(1) == targets).float().mean())
        results.append((accuracy, seconds))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                                           "data", "mr-polarity"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch = load_torch()
    train_set, test_set = load(args.data_dir)
    rows, train_data, test_data, vocab_size = tinyrnn_run(train_set, test_set, args.epochs)
    if torch is not None:
        for row, (accuracy, seconds) in zip(rows, torch_run(torch, train_data, test_data, vocab_size, args.epochs)):
            row.update(torch_accuracy=accuracy, torch_seconds=seconds)
    emit(rows, [("epoch", "epoch", "d"), ("tinyrnn_accuracy", "tinyrnn acc", ".3f"),
                ("tinyrnn_seconds", "tinyrnn s", ".1f"), ("torch_accuracy", "torch acc", ".3f"),
                ("torch_seconds", "torch s", ".1f")], args.json)


if __name__ == "__main__":
    main()
