"""Training a SASRec over a catalogue of a million items: step time and memory of each loss.

A SASRec module (dim 64, 2 blocks, max_len 50) over ``--items`` items (default 1M) is trained on
random sequences, ``--rows`` predicted positions per step (default 800: 16 sequences of 50),
with AdamW. Each loss runs in a fresh process: full cross-entropy unchunked (the whole
``rows × items`` logits matrix at once), full cross-entropy chunked (equirec's default: at most
2^26 logits at once, recomputed in the backward pass), sampled softmax (256 uniform negatives)
and gBCE (256 negatives). Reported: the process's peak resident memory, the memory of the model,
its gradients and Adam's state (measured before the first step), the loss's own share (the
difference), seconds per step, and the epoch time this gives for an ML-20M-sized log (20M
positions).

    .venv/bin/python benchmarks/large_catalogue.py --out benchmarks/results/large_catalogue.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

LOSSES = ("ce-unchunked", "ce-chunked", "sampled", "gbce")


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(loss: str, items: int, rows: int, steps: int) -> None:
    import torch
    import torch.nn.functional as F

    from equirec.models.transformer import SequenceTransformer
    from equirec.training.losses import full_cross_entropy, gbce, sampled_cross_entropy

    torch.set_num_threads(1)
    torch.manual_seed(0)
    module = SequenceTransformer(
        n_items=items, max_len=50, dim=64, layers=2, heads=1, ffn_dim=256, dropout=0.1, causal=True
    )
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3)
    for p in module.parameters():  # gradients and Adam's state exist before the first step
        p.grad = torch.zeros_like(p)
    optimizer.step()
    base = rss_mib()
    length = 50
    batch = max(1, rows // length)
    seconds = []
    for _ in range(steps):
        tokens = torch.randint(1, items + 1, (batch, length))
        targets = torch.randint(0, items, (batch * length,))
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=False)
        hidden = module(tokens).reshape(-1, 64)
        table = module.output_embeddings()
        if loss == "ce-unchunked":
            losses = F.cross_entropy(hidden @ table.T, targets, reduction="none")
        elif loss == "ce-chunked":
            losses = full_cross_entropy(hidden, table, targets)
        elif loss == "sampled":
            losses = sampled_cross_entropy(hidden, table, targets, n_negatives=256)
        else:
            losses = gbce(hidden, table, targets, n_negatives=256)
        losses.mean().backward()
        optimizer.step()
        seconds.append(time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "loss": loss,
                "items": items,
                "rows_per_step": batch * length,
                "model_mib": base,
                "peak_mib": rss_mib(),
                "step_seconds": seconds,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=800)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--losses", nargs="+", default=list(LOSSES))
    parser.add_argument("--positions", type=float, default=20e6, help="positions per epoch")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/large_catalogue.json"))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        loss, items, rows, steps = args.child
        child(loss, int(items), int(rows), int(steps))
        return
    rows = []
    for loss in args.losses:
        got = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                loss,
                str(args.items),
                str(args.rows),
                str(args.steps),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(got.stdout.strip().splitlines()[-1])
        step = sorted(row["step_seconds"][1:] or row["step_seconds"])[0]  # first step warms up
        row |= {
            "loss_mib": row["peak_mib"] - row["model_mib"],
            "best_step_seconds": step,
            "epoch_hours_20M_positions": step * args.positions / row["rows_per_step"] / 3600,
        }
        rows.append(row)
        print(row, flush=True)
    from cold_start import write_result

    write_result(
        args,
        rows,
        protocol="SASRec module (dim 64, 2 blocks, max_len 50), random sequences, AdamW, "
        "1 thread; peak RSS per fresh process",
        models={},
        summary={
            r["loss"]: {
                k: r[k]
                for k in ("loss_mib", "peak_mib", "best_step_seconds", "epoch_hours_20M_positions")
            }
            for r in rows
        },
    )


if __name__ == "__main__":
    main()
