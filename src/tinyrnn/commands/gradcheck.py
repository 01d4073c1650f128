"""`tinyrnn gradcheck`: compare a random classifier's gradients with finite differences."""
import numpy as np

from ..gradcheck import check_gradients, random_problem


def run(args):
    """Print one row per tensor; exit status 1 when any gradient disagrees."""
    seed, vocab, hidden, classes = args.seed, args.vocab, args.hidden, args.classes
    batch, max_length, eps = args.batch, args.max_length, args.eps

    rng = np.random.default_rng(seed)
    problem = random_problem(rng, vocab, hidden, classes, batch, max_length)
    results = check_gradients(*problem, eps=eps)
    print(f"{'tensor':<8}{'max abs error':>16}{'relative error':>16}  result")
    for result in results:
        print(f"{result.name:<8}{result.max_abs_error:>16.3e}{result.relative_error:>16.3e}  "
              f"{'ok' if result.passed else 'FAIL'}")
    failed = [result.name for result in results if not result.passed]
    print("gradients match finite differences" if not failed else f"mismatch in {', '.join(failed)}")
    return 1 if failed else 0
