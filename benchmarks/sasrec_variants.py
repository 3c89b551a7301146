"""SASRec on ML-100K with training variants that are not in the library (measured, not adopted).

Each variant patches one piece of equirec for this process only, then trains and tests like
``benchmarks/sasrec_curve.py`` (leave-one-out, full ranking, training + validation items
excluded at test time) and appends one JSON line with the test NDCG@10, the training time and
the validation curve to ``--out``:

- ``--window random``: every epoch, a user whose history is longer than ``max_len`` trains on a
  window ending at a random position instead of on their last ``max_len`` items, so that every
  training target is a target in some epoch.
- ``--pos-std S``: position embeddings initialised with standard deviation ``S`` (0.02 in the
  library; the items' embeddings enter at 1 after their ``sqrt(dim)`` scale).
- ``--ema D``: validation (and the restored best model) use an exponential moving average of
  the weights, updated after every optimiser step with decay ``D``; training continues from
  the raw weights.

Example (BENCHMARKS.md, "Issue 17, session 13")::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sasrec_variants.py \\
        '{"epochs": 60, "min_epochs": 60}' --ema 0.99 --out benchmarks/results/variants.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from equirec.models import sequence_tasks, transformer
from equirec.workflows.run import run
from sasrec_curve import ml100k_config


def random_windows() -> None:
    """Train long histories on a window ending at a random position of each epoch."""

    def make_batch(self, users, rng):  # type: ignore[no-untyped-def]
        length = self.model.max_len
        tokens = np.zeros((len(users), length), dtype=np.int64)
        targets = np.full((len(users), length), -1, dtype=np.int64)
        weights = np.zeros((len(users), length), dtype=np.float32)
        for row, u in enumerate(users):
            lo, hi = self.train.indptr[u], self.train.indptr[u + 1]
            seq, w = self.train.items[lo:hi], self.train.weights[lo:hi]
            pairs = len(seq) - 1
            end = int(rng.integers(length, pairs + 1)) if pairs > length else pairs
            begin = max(0, end - length)
            k = end - begin
            tokens[row, length - k :] = seq[begin:end] + 1
            targets[row, length - k :] = seq[begin + 1 : end + 1]
            weights[row, length - k :] = w[begin + 1 : end + 1]
        return self._to_device(users, tokens, targets, weights)

    sequence_tasks.NextItemTask.make_batch = make_batch  # type: ignore[method-assign]


def position_init(std: float) -> None:
    """Initialise position embeddings with standard deviation ``std``."""
    init = transformer.SequenceTransformer.__init__

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        init(self, *args, **kwargs)
        torch.nn.init.normal_(self.pos_emb.weight, std=std)

    transformer.SequenceTransformer.__init__ = __init__  # type: ignore[method-assign]


def weight_average(decay: float) -> None:
    """Validate (and keep as the best model) an exponential moving average of the weights."""
    state: dict[str, list[torch.Tensor] | None] = {"ema": None, "raw": None, "params": None}
    step = torch.optim.AdamW.step

    def averaged_step(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        out = step(self, *args, **kwargs)
        params = [p for group in self.param_groups for p in group["params"]]
        with torch.no_grad():
            if state["ema"] is None:
                state["ema"] = [p.detach().clone() for p in params]
                state["params"] = params
            else:
                torch._foreach_lerp_(state["ema"], [p.detach() for p in params], 1 - decay)
        return out

    validate = sequence_tasks.SequenceTask.validate

    def averaged_validate(self, module):  # type: ignore[no-untyped-def]
        # The average stays in the module until the next step, so the trainer's copy of the
        # best state is the average.
        with torch.no_grad():
            state["raw"] = [p.detach().clone() for p in state["params"]]
            for p, e in zip(state["params"], state["ema"], strict=True):
                p.copy_(e)
        return validate(self, module)

    loss = sequence_tasks.SequenceTask.loss

    def raw_loss(self, module, batch):  # type: ignore[no-untyped-def]
        if state["raw"] is not None:
            with torch.no_grad():
                for p, r in zip(state["params"], state["raw"], strict=True):
                    p.copy_(r)
            state["raw"] = None
        return loss(self, module, batch)

    torch.optim.AdamW.step = averaged_step  # type: ignore[method-assign]
    sequence_tasks.SequenceTask.validate = averaged_validate  # type: ignore[method-assign]
    sequence_tasks.SequenceTask.loss = raw_loss  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("params", help="SASRec parameters as a JSON object")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default="../shared/datasets/ml-100k")
    parser.add_argument("--window", choices=["last", "random"], default="last")
    parser.add_argument("--pos-std", type=float, default=None)
    parser.add_argument("--ema", type=float, default=None)
    parser.add_argument("--out", type=Path, required=True, help="JSON lines file to append to")
    args = parser.parse_args()
    if args.window == "random":
        random_windows()
    if args.pos_std is not None:
        position_init(args.pos_std)
    if args.ema is not None:
        weight_average(args.ema)
    params = json.loads(args.params)
    result = run(ml100k_config(params, seed=args.seed, data_dir=args.data_dir), write=False)
    log = result.metrics["training"]
    line = {
        "params": params,
        "window": args.window,
        "pos_std": args.pos_std,
        "ema": args.ema,
        "seed": args.seed,
        "ndcg@10": result.metrics["overall"]["ndcg@10"],
        "train_s": result.metrics["train_seconds"],
        "epochs": log["epochs"],
        "best_epoch": log["best_epoch"],
        "best_valid": log["best_score"],
        "valid": [round(h.get("valid", float("nan")), 4) for h in log["history"]],
    }
    with args.out.open("a") as f:
        f.write(json.dumps(line) + "\n")
    print(json.dumps(line))


if __name__ == "__main__":
    main()
